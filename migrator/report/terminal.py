"""Rich progress on a terminal: an overall bar, the running version with its statements and time."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from migrator.lexer import Statement
from migrator.report.plain import describe_file, one_line
from migrator.runner import PreparedFile

_LINES_UP_TO = 30  # files: beyond this, no line per file and no summary table


class TerminalReporter:
    def __init__(self, *, verbose: bool = False) -> None:
        self.console = Console()
        self.verbose = verbose
        self.times_statements = verbose  # -v shows real per-statement durations
        self.progress: Progress | None = None
        self.overall: TaskID | None = None
        self.current: TaskID | None = None
        self.done: list[tuple[PreparedFile, float]] = []

    def plan_ready(self, command: str, files: list[PreparedFile]) -> None:
        if not files:
            return
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), console=self.console, transient=True,
        )
        self.progress.start()
        verb = "Applying" if command == "up" else "Rolling back"
        self.overall = self.progress.add_task(f"{verb} {len(files)} versions", total=len(files))

    def file_started(self, pf: PreparedFile) -> None:
        if self.progress is None:
            return
        description = f"  {pf.direction} {pf.migration.name}"
        if self.current is None:
            self.current = self.progress.add_task(description, total=max(1, len(pf.statements)))
        else:  # reuse the row: adding and removing tasks per file costs more
            self.progress.update(self.current, description=description, completed=0,
                                 total=max(1, len(pf.statements)))  # no forced redraw

    def statement_done(self, pf: PreparedFile, index: int, statement: Statement,
                       elapsed_ms: float) -> None:
        if self.progress is None or self.current is None:
            return
        self.progress.update(self.current, completed=index)  # cheap: redraws run on a timer
        if self.verbose:
            self.progress.console.print(
                f"  [dim][{index}/{len(pf.statements)}] {pf.file.rel}:{statement.line}[/] "
                f"{one_line(statement.text)} [dim]({elapsed_ms:.1f} ms)[/]", highlight=False)

    def file_done(self, pf: PreparedFile, elapsed_ms: float) -> None:
        self.done.append((pf, elapsed_ms))
        if self.progress is not None and self.overall is not None:
            self.progress.advance(self.overall)
            # A line per file redraws the live display: worth it for a few files or a slow
            # one, not for hundreds of quick ones (the bar and the summary say it all).
            if self.progress.tasks[0].total is not None and (
                    self.progress.tasks[0].total <= _LINES_UP_TO or elapsed_ms >= 1000):
                verb = "applied" if pf.direction == "up" else "rolled back"
                self.progress.console.print(
                    f"[green]✓[/] {verb} [bold]{pf.migration.name}[/] "
                    f"[dim]({describe_file(pf)}) {elapsed_ms:.0f} ms[/]", highlight=False)


    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {text}", highlight=False)

    def info(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if len(self.done) > _LINES_UP_TO:
            total = sum(ms for _, ms in self.done)
            slowest = max(self.done, key=lambda d: d[1])
            self.console.print(f"{len(self.done)} files in {total / 1000:.1f} s; slowest "
                               f"{slowest[0].migration.name} ({slowest[1]:.0f} ms)")
        elif self.done:
            from rich.table import Table

            table = Table(title="Summary", show_lines=False)
            for col in ("version", "name", "direction", "file", "statements", "time"):
                table.add_column(col)
            for pf, ms in self.done:
                table.add_row(str(pf.version), pf.migration.name, pf.direction, pf.file.rel,
                              str(len(pf.statements)), f"{ms:.0f} ms")
            self.console.print(table)
