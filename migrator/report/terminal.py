"""Rich progress on a terminal: an overall bar, the running version with its statements and time.

Every line is fitted to the terminal width: a long migration name is cut with an ellipsis, so
the bar, the counts and the times stay on screen. Colours mean one thing everywhere: green
applied, yellow pending (a version just rolled back is pending again), red failed or drift.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column
from rich.text import Text

from migrator.lexer import Statement
from migrator.report.delayed import LINES_UP_TO, SLOW_MS, fit, short_file, summary_lines
from migrator.report.plain import one_line
from migrator.report.units import duration
from migrator.runner import BatchProgress, PreparedFile

# What the bar, the M/N count and the elapsed time need beside the description.
_BESIDE_DESCRIPTION = 46


def _details(pf: PreparedFile) -> list[str]:
    """What to say about the file, longest first: the shorter ones are for narrow terminals."""
    mode = "transaction" if pf.transactional else "no transaction"
    count = _plural(len(pf.statements), "statement")
    return [f"{short_file(pf)}, {mode}, {count}", f"{mode}, {count}", count]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class TerminalReporter:
    def __init__(self, *, verbose: bool = False) -> None:
        self.console = Console()
        self.verbose = verbose
        self.times_statements = verbose  # -v shows real per-statement durations
        self.progress: Progress | None = None
        self.overall: TaskID | None = None
        self.current: TaskID | None = None
        self.done: list[tuple[PreparedFile, float]] = []
        self.batches: dict[int, BatchProgress] = {}  # version -> a batch file's last progress
        # verify and drift run files on a scratch database without a plan: a spinner, no table
        self.planned = False

    def _start(self) -> None:
        self._stop()  # redo plans twice (down, then up): one live display at a time
        description = Column(
            no_wrap=True, overflow="ellipsis", max_width=max(20, self.console.width - _BESIDE_DESCRIPTION)
        )
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", table_column=description),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            refresh_per_second=4,
            transient=True,
        )
        self.progress.start()

    def _stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.progress, self.overall, self.current = None, None, None

    def plan_ready(self, command: str, files: list[PreparedFile], current: int | None = None) -> None:
        if not files:
            return
        self._start()
        assert self.progress is not None
        self.planned = True
        verb = "Applying" if command == "up" else "Rolling back"
        self.overall = self.progress.add_task(f"{verb} {_plural(len(files), 'version')}", total=len(files))

    def file_started(self, pf: PreparedFile) -> None:
        if self.progress is None:
            self._start()
        assert self.progress is not None
        batch = pf.file.directives.batch
        description = escape(f"  {pf.direction} {pf.migration.name}" + (" (batches)" if batch else ""))
        known = pf.statement_count  # None for a big file until it has run: no end shown
        total = max(1, known) if known is not None else None
        if self.current is None:
            self.current = self.progress.add_task(description, total=total)
        else:  # reuse the row: adding and removing tasks per file costs more
            self.progress.update(
                self.current, description=description, completed=0, total=total
            )  # no forced redraw
        task = next(t for t in self.progress.tasks if t.id == self.current)
        # the elapsed time on this row is the running version's, not the run's so far
        task.start_time = self.progress.get_time()
        if batch:  # repeated until a batch affects no rows: no end known, the clock runs on
            task.total = None

    def statement_done(self, pf: PreparedFile, index: int, statement: Statement, elapsed_ms: float) -> None:
        if self.progress is None or self.current is None:
            return
        self.progress.update(self.current, completed=index)  # cheap: redraws run on a timer
        if self.verbose:
            of = pf.statement_count if pf.statement_count is not None else "?"
            step = f"batch {index}" if pf.file.directives.batch else f"{index}/{of}"
            where = f"  [{step}] {pf.file.rel}:{statement.line} "
            took = f" ({elapsed_ms:.1f} ms)"
            room = self.console.width - len(where) - len(took)
            self.progress.console.print(
                f"[dim]{escape(where)}[/]{escape(one_line(statement.text, max(room, 20)))}[dim]{took}[/]",
                highlight=False,
                no_wrap=True,
                overflow="ellipsis",
            )

    def batch_done(self, pf: PreparedFile, progress: BatchProgress) -> None:
        if self.progress is None or self.current is None:
            return
        self.batches[pf.version] = progress
        description = escape(f"  {pf.direction} {pf.migration.name} ({progress.describe()})")
        self.progress.update(self.current, completed=progress.batches, description=description)

    def file_done(self, pf: PreparedFile, elapsed_ms: float) -> None:
        self.done.append((pf, elapsed_ms))
        if self.progress is not None and self.overall is not None:
            self.progress.advance(self.overall)
            # A line per file redraws the live display: worth it for a few files or a slow
            # one, not for hundreds of quick ones (the bar and the summary say it all).
            if self.progress.tasks[0].total is not None and (
                self.progress.tasks[0].total <= LINES_UP_TO or elapsed_ms >= SLOW_MS
            ):
                self.progress.console.print(
                    self._done_line(pf, elapsed_ms), highlight=False, no_wrap=True, overflow="ellipsis"
                )

    def _done_line(self, pf: PreparedFile, elapsed_ms: float) -> str:
        """`✓ applied NAME (file, mode, statements) 12 ms`, never wider than the terminal:
        the details give way first, then the name; the time always stays."""
        mark, colour = ("✓ applied", "green") if pf.direction == "up" else ("↓ rolled back", "yellow")
        took = f" {duration(elapsed_ms)}"
        name = pf.migration.name
        room = self.console.width - len(mark) - 1 - len(took)
        batches = self.batches.get(pf.version)
        options = [batches.describe()] if batches else _details(pf)
        details = next((f" ({d})" for d in options if len(name) + len(d) + 3 <= room), "")
        name = fit(name, room - len(details))
        return f"[{colour}]{mark}[/] [bold]{escape(name)}[/][dim]{escape(details)}{took}[/]"

    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)

    def info(self, text: str) -> None:
        self.console.print(escape(text), highlight=False)

    def close(self) -> None:
        self._stop()
        if not self.planned:
            return  # files run on a scratch database (verify, drift): the command reports
        if self.done:
            colour = self.console.color_system is not None and not self.console.no_color
            for line in summary_lines(self.done, self.console.width, colour=colour):
                self.console.print(Text.from_ansi(line), no_wrap=True, overflow="crop")
