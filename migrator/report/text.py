"""What a command prints on standard output once it is done: lines for people (none under -q
or --json), or its one JSON document."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from migrator.report import safe_write


def emit_json(doc: Any, exit_code: int | None = None) -> None:
    """Write the document; given the command's exit status, it carries it as `exit_code`
    (after `ok`), so a script can read the outcome from the document alone."""
    import json  # only --json output needs it: not imported at every start

    from migrator.masking import mask_data

    if exit_code is not None:
        doc = {"ok": doc.get("ok", exit_code == 0), "exit_code": exit_code, **doc}
    safe_write(sys.stdout, json.dumps(mask_data(doc), default=_plain, indent=2) + "\n")


def _plain(value: Any) -> Any:
    """A value json cannot write itself: a timestamp in ISO 8601 (as every to_dict writes it)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


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
        text = "\n".join(wrapped(text, width_of(sys.stdout), indent))
    say(args, text)


def width_of(stream: TextIO) -> int:
    """The columns of the terminal `stream` is on (COLUMNS wins, as for every program)."""
    import os
    import shutil

    try:
        fallback = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        fallback = os.terminal_size((80, 24))
    return shutil.get_terminal_size(fallback).columns if os.environ.get("COLUMNS") else fallback.columns


def wrapped(text: str, width: int, indent: str = "  ") -> list[str]:
    """Each line of `text` broken between words, never inside one, to fit `width`; a line's
    continuation keeps its own indent plus `indent`. The lines of a statement excerpt
    (`  3 | ALTER ...` and its caret) are left whole: the caret must stay under its column."""
    import re
    import textwrap

    out: list[str] = []
    for line in text.splitlines() or [""]:
        if len(line) <= width or re.match(r"\s*\d*\s*\|", line):
            out.append(line)
            continue
        own = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(
            line,
            width,
            subsequent_indent=own + indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    return out


def ask(question: str) -> bool:
    """Ask on the terminal (stderr, so stdout stays the command's output) and read y/yes. The
    question wraps between words at the terminal's edge."""
    lines = wrapped(question.rstrip(), width_of(sys.stderr), indent="") if sys.stderr.isatty() else [question]
    sys.stderr.write("\n".join(lines).rstrip() + " ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def error_text(text: str) -> str:
    """What goes to stderr: on a terminal, broken between words at its edge."""
    if not sys.stderr.isatty():
        return text
    return "\n".join(wrapped(text, width_of(sys.stderr)))


def version_text(version: int | None) -> str:
    return "none (empty)" if version is None else str(version)
