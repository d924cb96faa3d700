"""Reporters draw what the runner reports: terminal (rich), plain lines, or nothing (JSON).

Only `terminal` imports rich; picking a reporter imports nothing heavy.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


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


def make_reporter(*, json_mode: bool, quiet: bool, verbose: bool,
                  stream: TextIO | None = None) -> Any:
    stream = stream or sys.stdout
    if json_mode or quiet:
        from migrator.api import SilentReporter

        return SilentReporter()
    # Live progress only on a terminal that can redraw (TERM=dumb: Emacs shells). FORCE_COLOR
    # off a terminal (CI logs) colours the plain lines and never draws progress bars.
    if stream.isatty() and os.environ.get("TERM", "").lower() not in ("dumb", "unknown"):
        from migrator.report.terminal import TerminalReporter

        return TerminalReporter(verbose=verbose)
    from migrator.report.plain import PlainReporter

    return PlainReporter(stream, verbose=verbose)
