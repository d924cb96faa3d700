"""One plain line per event: for logs, pipes and CI (no spinners; colour only with FORCE_COLOR)."""

from __future__ import annotations

import time
from typing import TextIO

from migrator.lexer import Statement
from migrator.report import colour_wanted, safe_write
from migrator.report.units import duration
from migrator.runner import BatchProgress, PreparedFile


def describe_file(pf: PreparedFile) -> str:
    mode = "transaction" if pf.transactional else "no transaction"
    n = pf.statement_count
    if n is None:  # a big file is not read ahead just to count its statements
        return f"{pf.file.rel}, {mode}, {pf.file.size / 1e6:.1f} MB streamed"
    return f"{pf.file.rel}, {mode}, {n} statement{'s' if n != 1 else ''}"


def one_line(sql: str, width: int = 100) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


_GREEN, _YELLOW, _BOLD, _DIM = "32", "33", "1", "2"
_BATCH_LINE_EVERY_S = 5.0


class PlainReporter:
    """The same lines with or without colour: a log is grepped, so colour never changes the text."""

    def __init__(self, stream: TextIO, *, verbose: bool = False, color: bool | None = None) -> None:
        self.out = stream
        self.verbose = verbose
        self.times_statements = verbose  # -v shows real per-statement durations
        self.color = colour_wanted(tty=False) if color is None else color
        self._batches: BatchProgress | None = None  # the running batch file's progress
        self._batch_said = 0.0  # when a progress line last went out

    def _say(self, text: str) -> None:
        safe_write(self.out, text + "\n")

    def _paint(self, text: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if self.color else text

    def plan_ready(self, command: str, files: list[PreparedFile], current: int | None = None) -> None:
        if not files:
            return
        versions = ", ".join(str(pf.version) for pf in files)
        verb = "applying" if command == "up" else "rolling back"
        self._say(
            self._paint(f"{verb} {len(files)} version{'s' if len(files) != 1 else ''}", _BOLD)
            + f": {versions}"
        )

    def file_started(self, pf: PreparedFile) -> None:
        verb = "up" if pf.direction == "up" else "down"
        self._say(
            f"{verb} {self._paint(pf.migration.name, _BOLD)} " + self._paint(f"({describe_file(pf)})", _DIM)
        )

    def statement_done(self, pf: PreparedFile, index: int, statement: Statement, elapsed_ms: float) -> None:
        if self.verbose:
            of = pf.statement_count if pf.statement_count is not None else "?"  # big: not yet counted
            where = self._paint(f"[{index}/{of}] {pf.file.rel}:{statement.line}", _DIM)
            self._say(f"  {where} {one_line(statement.text)} " + self._paint(f"({elapsed_ms:.1f} ms)", _DIM))

    def batch_done(self, pf: PreparedFile, progress: BatchProgress) -> None:
        """A line per batch with -v; otherwise one every few seconds, so a log shows a long
        backfill moving without a line per batch."""
        self._batches = progress
        now = time.monotonic()
        if self.verbose or now - self._batch_said >= _BATCH_LINE_EVERY_S:
            self._batch_said = now
            self._say(f"  {self._paint(pf.file.rel, _DIM)}: {progress.describe()} so far")

    def file_done(self, pf: PreparedFile, elapsed_ms: float) -> None:
        verb = "applied" if pf.direction == "up" else "rolled back"
        batches, self._batches = self._batches, None
        self._say(
            f"{self._paint(verb, _GREEN if pf.direction == 'up' else _YELLOW)} "
            f"{self._paint(pf.migration.name, _BOLD)} in {duration(elapsed_ms)}"
            + (f" ({batches.describe()})" if batches else "")
        )

    def warning(self, text: str) -> None:
        self._say(f"{self._paint('warning:', _YELLOW)} {text}")

    def info(self, text: str) -> None:
        self._say(text)
