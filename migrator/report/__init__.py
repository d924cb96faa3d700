"""Reporters draw what the runner reports: terminal (rich), plain lines, or nothing (JSON).

Only `terminal` imports rich; picking a reporter imports nothing heavy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from migrator.lexer import Statement
    from migrator.runner import BatchProgress, PreparedFile


class Reporter(Protocol):
    """The one interface the core reports events through (terminal, plain, JSON/silent). A
    reporter whose `times_statements` is true gets each statement's own time, so files run
    one step at a time for it. Every event may be ignored: the empty bodies are the default
    (SilentReporter is nothing more)."""

    def plan_ready(self, command: str, files: list[PreparedFile], current: int | None = None) -> None:
        return None

    def file_started(self, pf: PreparedFile) -> None:
        return None

    def statement_done(self, pf: PreparedFile, index: int, statement: Statement, elapsed_ms: float) -> None:
        return None

    def batch_done(self, pf: PreparedFile, progress: BatchProgress) -> None:
        return None

    def file_done(self, pf: PreparedFile, elapsed_ms: float) -> None:
        return None

    def warning(self, text: str) -> None:
        return None

    def info(self, text: str) -> None:
        return None


def safe_write(stream: TextIO, text: str) -> None:
    """Write, but never let a closed pipe (`migrator up | head`) stop a migration half-way:
    once the reader is gone, further output is dropped."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())


def redraws(stream: TextIO) -> bool:
    """Can live progress be drawn here? A terminal that can redraw (not TERM=dumb: Emacs)."""
    return stream.isatty() and os.environ.get("TERM", "").lower() not in ("dumb", "unknown")


def colour_wanted(tty: bool, environ: Mapping[str, str] = os.environ) -> bool:
    """NO_COLOR (no-color.org) always wins; FORCE_COLOR colours output that is not going to a
    terminal (a CI log), as rich and force-color.org read it; else colour on a terminal only."""
    if environ.get("NO_COLOR"):
        return False
    return bool(environ.get("FORCE_COLOR")) or (
        tty and environ.get("TERM", "").lower() not in ("dumb", "unknown")
    )


def make_reporter(*, json_mode: bool, quiet: bool, verbose: bool, stream: TextIO | None = None) -> Any:
    stream = stream or sys.stdout
    if json_mode or quiet:
        from migrator.api import SilentReporter

        return SilentReporter()
    # Live progress only on a terminal that can redraw (TERM=dumb: Emacs shells). FORCE_COLOR
    # off a terminal (CI logs) colours the plain lines and never draws progress bars.
    if redraws(stream):
        from migrator.report.delayed import DelayedTerminalReporter

        return DelayedTerminalReporter(verbose=verbose)
    from migrator.report.plain import PlainReporter

    return PlainReporter(stream, verbose=verbose)
