"""One plain line per event: for logs, pipes and CI (no colour, no spinners)."""

from __future__ import annotations

from typing import TextIO

from migrator.lexer import Statement
from migrator.report import safe_write
from migrator.runner import PreparedFile


def describe_file(pf: PreparedFile) -> str:
    mode = "transaction" if pf.transactional else "no transaction"
    n = len(pf.statements)
    return f"{pf.file.rel}, {mode}, {n} statement{'s' if n != 1 else ''}"


def one_line(sql: str, width: int = 100) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


class PlainReporter:
    def __init__(self, stream: TextIO, *, verbose: bool = False) -> None:
        self.out = stream
        self.verbose = verbose
        self.times_statements = verbose  # -v shows real per-statement durations

    def _say(self, text: str) -> None:
        safe_write(self.out, text + "\n")

    def plan_ready(self, command: str, files: list[PreparedFile]) -> None:
        if not files:
            return
        versions = ", ".join(str(pf.version) for pf in files)
        verb = "applying" if command == "up" else "rolling back"
        self._say(f"{verb} {len(files)} version{'s' if len(files) != 1 else ''}: {versions}")

    def file_started(self, pf: PreparedFile) -> None:
        verb = "up" if pf.direction == "up" else "down"
        self._say(f"{verb} {pf.migration.name} ({describe_file(pf)})")

    def statement_done(self, pf: PreparedFile, index: int, statement: Statement,
                       elapsed_ms: float) -> None:
        if self.verbose:
            self._say(f"  [{index}/{len(pf.statements)}] {pf.file.rel}:{statement.line} "
                      f"{one_line(statement.text)} ({elapsed_ms:.1f} ms)")

    def file_done(self, pf: PreparedFile, elapsed_ms: float) -> None:
        verb = "applied" if pf.direction == "up" else "rolled back"
        self._say(f"{verb} {pf.migration.name} in {elapsed_ms:.0f} ms")


    def warning(self, text: str) -> None:
        self._say(f"warning: {text}")

    def info(self, text: str) -> None:
        self._say(text)
