"""What a command prints on standard output once it is done: lines for people (none under -q
or --json), or its one JSON document."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from migrator.report import safe_write


def emit_json(doc: Any, exit_code: int | None = None) -> None:
    """Write the document; given the command's exit status, it carries it as `exit_code`
    (after `ok`), so a script can read the outcome from the document alone."""
    import json  # only --json output needs it: not imported at every start

    from migrator.masking import mask_data

    if exit_code is not None:
        doc = {"ok": doc.get("ok", exit_code == 0), "exit_code": exit_code, **doc}
    safe_write(sys.stdout, json.dumps(mask_data(doc), default=str, indent=2) + "\n")


def say(args: argparse.Namespace, text: str = "") -> None:
    if not args.quiet and not args.json:
        safe_write(sys.stdout, text + "\n")


def say_lines(args: argparse.Namespace, lines: list[str]) -> None:
    for line in lines:
        say(args, line)


def say_prose(args: argparse.Namespace, text: str, indent: str = "  ") -> None:
    """A sentence for people: on a terminal it wraps between words at the terminal's width,
    the lines after the first indented; piped, it stays one line (logs are grepped)."""
    if sys.stdout.isatty():
        import shutil
        import textwrap

        width = shutil.get_terminal_size().columns
        text = "\n".join(
            textwrap.fill(
                line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
            )
            for line in text.splitlines() or [""]
        )
    say(args, text)


def version_text(version: int | None) -> str:
    return "none (empty)" if version is None else str(version)
