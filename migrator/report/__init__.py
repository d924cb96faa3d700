"""Reporters draw what the runner reports: terminal (rich), plain lines, or nothing (JSON).

Only `terminal` imports rich; picking a reporter imports nothing heavy.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


def make_reporter(*, json_mode: bool, quiet: bool, verbose: bool,
                  stream: TextIO | None = None) -> Any:
    stream = stream or sys.stdout
    if json_mode or quiet:
        from migrator.api import SilentReporter

        return SilentReporter()
    if stream.isatty():
        from migrator.report.terminal import TerminalReporter

        return TerminalReporter(verbose=verbose)
    from migrator.report.plain import PlainReporter

    return PlainReporter(stream, verbose=verbose)
