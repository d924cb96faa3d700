"""Output of a run on many targets (SPEC §10): a live table on a terminal, one line per target
otherwise, nothing under --json (the command prints its one document itself), and under -q the
line of each target that failed, on stderr (errors only, never silence).

Each target's runner reports to its own small reporter; on a terminal those update one shared
table under a lock, and rich's Live redraws it on its own timer. Only LiveBoard imports rich.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from migrator.lexer import Statement
from migrator.report import redraws, safe_write
from migrator.runner import BatchProgress, PreparedFile
from migrator.targets import Target, TargetResult

_FULL_TABLE_UP_TO = 50  # targets: beyond this the final table lists only those not ok


def make_board(targets: list[Target], *, json_mode: bool, quiet: bool, stream: TextIO) -> Any:
    if json_mode:
        return SilentBoard()
    if quiet:
        return FailuresBoard(sys.stderr)
    if redraws(stream):
        return LiveBoard(targets)
    return PlainBoard(stream)


def outcome_word(r: TargetResult) -> str:
    return "ok" if r.exit_code == 0 else f"exit {r.exit_code}"


class SilentBoard:
    def reporter(self, index: int) -> Any:
        from migrator.api import SilentReporter

        return SilentReporter()

    def started(self, index: int) -> None: ...
    def done(self, index: int, result: TargetResult) -> None: ...
    def close(self) -> None: ...


class PlainBoard(SilentBoard):
    """One line per target as it finishes: for logs, pipes and CI."""

    def __init__(self, stream: TextIO) -> None:
        self.out = stream

    def done(self, index: int, result: TargetResult) -> None:
        safe_write(self.out, f"{result.target.label}: {outcome_word(result)}: {result.summary}\n")


class FailuresBoard(SilentBoard):
    """-q: the line of each target that failed, on stderr; exit 5 (versions pending, from
    `status --exit-code`) is a report, not an error, as it is on one database."""

    def __init__(self, stream: TextIO) -> None:
        self.err = stream

    def done(self, index: int, result: TargetResult) -> None:
        if result.exit_code not in (0, 5):
            safe_write(self.err, f"{result.target.label}: {outcome_word(result)}: {result.summary}\n")


@dataclass
class Row:
    """What the table shows for one target; written by its worker thread under the board lock."""

    label: str
    state: str = "pending"  # pending, running, ok, failed, stopped, not started
    command: str = ""
    last_planned: int | None = None
    version_before: int | None = None
    files_total: int = 0
    files_done: int = 0
    current: str = ""
    statement: tuple[int, int] = (0, 0)
    started: float | None = None
    ended: float | None = None
    versions: str = ""  # "from -> to" once the result is known
    summary: str = ""
    exit_code: int | None = None
    warnings: tuple[str, ...] = ()


class RowReporter:
    """The runner's reporter for one target: each event updates that target's row."""

    times_statements = False  # keep the one-round-trip path: the table shows files, not timings

    def __init__(self, board: LiveBoard, index: int) -> None:
        self.board, self.index = board, index

    def _update(self, **fields: Any) -> None:
        self.board.update(self.index, **fields)

    def plan_ready(self, command: str, files: list[PreparedFile], current: int | None = None) -> None:
        self._update(
            command=command,
            files_total=len(files),
            version_before=current,
            last_planned=files[-1].version if files else None,
        )

    def file_started(self, pf: PreparedFile) -> None:
        self._update(current=pf.migration.name, statement=(0, pf.statement_count or 0))

    def statement_done(self, pf: PreparedFile, index: int, statement: Statement, elapsed_ms: float) -> None:
        self._update(statement=(index, pf.statement_count or 0))

    def batch_done(self, pf: PreparedFile, progress: BatchProgress) -> None:
        rows = f"{progress.rows:,} row{'s' if progress.rows != 1 else ''}"
        self._update(current=f"{pf.migration.name} ({rows})")

    def file_done(self, pf: PreparedFile, elapsed_ms: float) -> None:
        self.board.file_done(self.index)

    def warning(self, text: str) -> None:
        self.board.add_warning(self.index, text)

    def info(self, text: str) -> None:
        self.board.add_warning(self.index, text)


_STYLE = {
    "ok": "green",
    "pending": "yellow",
    "running": "yellow",
    "failed": "red",
    "stopped": "red",
    "not started": "red",
}


class LiveBoard:
    """One row per target: target, from -> to, current file, elapsed, outcome."""

    def __init__(self, targets: list[Target]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.rows = [Row(t.label) for t in targets]
        self.lock = threading.Lock()
        self.console = Console()
        self.live = Live(
            console=self.console, get_renderable=self._render, transient=True, refresh_per_second=4
        )
        self.live.start()

    # -- updates from worker threads ----------------------------------------------------------
    def reporter(self, index: int) -> RowReporter:
        return RowReporter(self, index)

    def update(self, index: int, **fields: Any) -> None:
        with self.lock:
            for name, value in fields.items():
                setattr(self.rows[index], name, value)

    def file_done(self, index: int) -> None:
        with self.lock:
            row = self.rows[index]
            row.files_done += 1
            row.current = ""

    def add_warning(self, index: int, text: str) -> None:
        with self.lock:
            self.rows[index].warnings += (text,)

    def started(self, index: int) -> None:
        self.update(index, state="running", started=time.monotonic())

    def done(self, index: int, result: TargetResult) -> None:
        doc = result.document
        before, after = doc.get("version_before"), doc.get("version_after")
        versions = f"{_v(before)} → {_v(after)}" if "version_before" in doc else ""
        state = "ok" if result.exit_code == 0 else _failed_state(result)
        self.update(
            index,
            state=state,
            ended=time.monotonic(),
            current="",
            versions=versions,
            summary=result.summary,
            exit_code=result.exit_code,
        )

    # -- drawing ----------------------------------------------------------------------------------
    def _render(self) -> Any:
        with self.lock:
            rows = [Row(**vars(r)) for r in self.rows]
        room = max(5, self.console.size.height - 6)
        if len(rows) <= room:
            return self._table(rows, title=None)
        # Too many for the screen: the ones running or not ok, and a count of the rest.
        shown = [r for r in rows if r.state not in ("ok", "pending")][:room]
        counts = _counts(rows)
        return self._table(shown, title=counts)

    def _table(self, rows: list[Row], *, title: str | None) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left", expand=False, show_edge=False)
        table.add_column("target", overflow="fold")
        table.add_column("from → to", no_wrap=True)
        table.add_column("current file", overflow="ellipsis", no_wrap=True, max_width=40)
        table.add_column("elapsed", justify="right", no_wrap=True)
        table.add_column("outcome", overflow="fold")
        now = time.monotonic()
        for r in rows:
            elapsed = "" if r.started is None else f"{(r.ended or now) - r.started:.1f}s"
            table.add_row(
                Text(r.label),
                Text(r.versions or _plan(r)),
                Text(_current(r)),
                Text(elapsed),
                Text(_outcome(r), style=_STYLE.get(r.state, "")),
            )
        return table

    def close(self) -> None:
        """Stop redrawing and leave the final table (all targets, or those not ok when many)
        and each problem target's message on the screen."""
        self.live.stop()
        with self.lock:
            rows = list(self.rows)
        if len(rows) <= _FULL_TABLE_UP_TO:
            self.console.print(self._table(rows, title=None))
        else:
            bad = [r for r in rows if r.state != "ok"]
            self.console.print(self._table(bad, title=_counts(rows)) if bad else _counts(rows))
        from rich.text import Text

        for r in rows:
            if r.state not in ("ok", "pending"):
                self.console.print(Text.assemble((r.label, "red"), f": {r.summary}"))
            for w in r.warnings:
                self.console.print(Text.assemble((r.label, "yellow"), f": {w}"))


def _failed_state(result: TargetResult) -> str:
    kind = result.document.get("error", {}).get("kind") if result.document else None
    if kind == "stopped":
        return "stopped"
    if result.summary.startswith("not started"):
        return "not started"
    return "failed"


def _outcome(r: Row) -> str:
    if r.state == "running":
        return f"running ({r.files_done}/{r.files_total} files)" if r.files_total else "running"
    if r.state == "stopped":
        return r.summary.split(":", 1)[0]  # "stopped after 0002_x"
    if r.state == "failed":
        return f"failed (exit {r.exit_code})"
    return r.state


def _plan(r: Row) -> str:
    if r.last_planned is None:
        return ""
    before = _v(r.version_before)
    versions = f"{r.files_total} version{'s' if r.files_total != 1 else ''}"
    return f"{before} → {r.last_planned}" if r.command == "up" else f"{before} ↓ {versions}"


def _current(r: Row) -> str:
    if not r.current:
        return ""
    done, total = r.statement
    return f"{r.current} [{done}/{total}]" if total > 1 else r.current


def _counts(rows: list[Row]) -> str:
    states: dict[str, int] = {}
    for r in rows:
        states[r.state] = states.get(r.state, 0) + 1
    return f"{len(rows)} targets: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))


def _v(version: int | None) -> str:
    return "none" if version is None else str(version)
