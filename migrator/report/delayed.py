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

DELAY_S = 0.5
LINES_UP_TO = 30  # files: beyond this, no line per file and no summary table, one summary line


def fit(text: str, width: int) -> str:
    """`text`, cut to `width` characters with an ellipsis when longer."""
    width = max(width, 1)
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_line(done: list[tuple[Any, float]], width: int) -> str:
    """`300 files in 0.3 s; slowest 0042_name (12 ms)`, never wider than `width`."""
    total = sum(ms for _, ms in done)
    slowest = max(done, key=lambda d: d[1])
    head = f"{len(done)} files in {total / 1000:.1f} s; slowest "
    took = f" ({slowest[1]:.0f} ms)"
    return head + fit(slowest[0].migration.name, width - len(head) - len(took)) + took


class DelayedTerminalReporter:
    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose
        self.times_statements = verbose  # -v shows real per-statement durations
        self._lock = threading.RLock()  # the timer thread and the runner's meet here
        self._events: list[tuple[str, tuple[Any, ...]]] = []
        self._done: list[tuple[Any, float]] = []
        self._live: Any = None  # the rich TerminalReporter, once it took over
        self._timer: threading.Timer | None = None

    def _event(self, name: str, *args: Any) -> None:
        with self._lock:
            if self._live is None:
                self._events.append((name, args))
                if name == "file_done":
                    self._done.append(args)
                if self.verbose or name in ("warning", "info"):
                    self._go_live()  # lines to print now
                elif self._timer is None:
                    self._timer = threading.Timer(DELAY_S, self._go_live)
                    self._timer.daemon = True
                    self._timer.start()
                return
            getattr(self._live, name)(*args)

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
            if self._timer is not None:
                self._timer.cancel()
            if self._live is None:
                planned = any(name == "plan_ready" and args[1] for name, args in self._events)
                if not self._done or not planned:
                    return  # nothing ran, or only scratch runs (verify, drift): nothing to say
                if len(self._done) > LINES_UP_TO:  # what the display leaves: one line
                    import shutil

                    width = shutil.get_terminal_size().columns
                    safe_write(sys.stdout, summary_line(self._done, width) + "\n")
                    return
                self._go_live()
            self._live.close()
