"""On a terminal, progress is drawn only for a run that lasts: rich takes 30 ms to import and
a bar that flashes for a quarter of a second tells nobody anything. Events are kept until the
run has lasted DELAY_S (a timer, so a single slow file gets its display too), then replayed
into the rich reporter, which takes over. A run that ends sooner prints what the display
would have left behind, without importing rich where that is one line."""

from __future__ import annotations

import sys
import threading
from typing import Any

from migrator.report import safe_write
from migrator.report.units import duration

DELAY_S = 0.5
LINES_UP_TO = 30  # files: beyond this, a line only for a slow file, and a summary of the slowest
SLOW_MS = 1000  # beyond LINES_UP_TO files, a file this slow still gets its line
SLOWEST = 10  # beyond LINES_UP_TO files, the summary lists this many, slowest first


def fit(text: str, width: int) -> str:
    """`text`, cut to `width` characters with an ellipsis when longer."""
    width = max(width, 1)
    return text if len(text) <= width else text[: width - 1] + "…"


def short_file(pf: Any) -> str:
    """The file without its version folder, which the name beside it already says:
    `up.sql` for the generic file, `sqlite/…/up.sql` for a dialect override."""
    rel = pf.file.rel
    prefix = rel.split("/", 1)[0]
    return rel.rsplit("/", 1)[-1] if prefix == pf.migration.name else f"{prefix}/…/{rel.rsplit('/', 1)[-1]}"


def summary_lines(done: list[tuple[Any, float]], width: int, *, colour: bool = False) -> list[str]:
    """The summary table a run leaves on the terminal: version, name, file (which says the
    direction), statements, time, never wider than `width` (the name gives way). Every file
    of a run of up to LINES_UP_TO files, in the order they ran; of a longer run the SLOWEST,
    slowest first (`history` lists them all). The run's one total is the command's last line."""
    title = "Summary"
    if len(done) > LINES_UP_TO:
        title = f"Summary: the {SLOWEST} slowest of {len(done)} versions"
        done = sorted(done, key=lambda d: -d[1])[:SLOWEST]
    head = ("version", "name", "file", "statements", "time")
    rows = [
        (str(pf.version), pf.migration.name, short_file(pf), str(len(pf.statements)), duration(ms))
        for pf, ms in done
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    widths[1] = min(widths[1], max(12, width - (sum(widths) - widths[1]) - 3 * (len(head) - 1)))
    total = sum(widths) + 3 * (len(head) - 1)
    right = (True, False, False, True, True)

    def line(cells: tuple[str, ...], paint: str = "") -> str:
        out = []
        for i, cell in enumerate(cells):
            text = fit(cell, widths[i])
            padded = text.rjust(widths[i]) if right[i] else text.ljust(widths[i])
            if paint and i == 1:
                padded = f"\x1b[{paint}m{text}\x1b[0m" + " " * (widths[i] - len(text))
            out.append(padded)
        return "   ".join(out).rstrip()

    colours = [("32" if pf.direction == "up" else "33") if colour else "" for pf, _ in done]
    return [
        fit(title.center(total).rstrip(), width),
        line(head),
        "─" * min(total, width),
        *(line(r, c) for r, c in zip(rows, colours, strict=True)),
    ]


class DelayedTerminalReporter:
    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose
        self.times_statements = verbose  # -v shows real per-statement durations
        self._lock = threading.RLock()  # the timer thread and the runner's meet here
        self._events: list[tuple[str, tuple[Any, ...]]] = []
        self._done: list[tuple[Any, float]] = []
        self._live: Any = None  # the rich TerminalReporter, once it took over
        self._timer: threading.Timer | None = None
        self._closed = False  # a timer that fires as the run ends has nothing left to draw

    def _event(self, name: str, *args: Any) -> None:
        with self._lock:
            if self._live is None:
                self._events.append((name, args))
                if name == "file_done":
                    self._done.append(args)
                if self.verbose or name in ("warning", "info"):
                    self._go_live()  # lines to print now
                elif self._timer is None:
                    self._timer = threading.Timer(DELAY_S, self._on_timer)
                    self._timer.daemon = True
                    self._timer.start()
                return
            getattr(self._live, name)(*args)

    def _on_timer(self) -> None:
        if self._closed:
            return
        import migrator.report.terminal  # noqa: F401  (outside the lock, as _go_live says)

        with self._lock:
            if not self._closed:  # the run may have ended while rich was being imported
                self._go_live()

    def _go_live(self) -> None:
        if self._live is None:
            # rich takes 30+ ms to import: not under the lock, where the runner's next event
            # would wait for it; the runner goes on and its events queue meanwhile
            import migrator.report.terminal  # noqa: F401
        with self._lock:
            if self._live is not None:
                return
            from migrator.report.terminal import TerminalReporter

            self._live = TerminalReporter(verbose=self.verbose)
            events, self._events = self._events, []
            for name, args in events:
                getattr(self._live, name)(*args)

    def plan_ready(self, *args: Any) -> None:
        self._event("plan_ready", *args)

    def file_started(self, *args: Any) -> None:
        self._event("file_started", *args)

    def statement_done(self, *args: Any) -> None:
        self._event("statement_done", *args)

    def batch_done(self, *args: Any) -> None:
        self._event("batch_done", *args)

    def file_done(self, *args: Any) -> None:
        self._event("file_done", *args)

    def warning(self, *args: Any) -> None:
        self._event("warning", *args)

    def info(self, *args: Any) -> None:
        self._event("info", *args)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._live is None:
                planned = any(name == "plan_ready" and args[1] for name, args in self._events)
                if not self._done or not planned:
                    return  # nothing ran, or only scratch runs (verify, drift): nothing to say
                if len(self._done) > LINES_UP_TO:  # what the display leaves: the summary
                    import shutil

                    from migrator.report import colour_wanted

                    width = shutil.get_terminal_size().columns
                    lines = summary_lines(self._done, width, colour=colour_wanted(True))
                    safe_write(sys.stdout, "\n".join(lines) + "\n")
                    return
                self._go_live()
            self._live.close()
