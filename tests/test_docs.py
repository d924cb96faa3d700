"""The docs stay honest: every `migrator <command>` they show (in code blocks and inline code)
is a real command, and every relative link in docs/*.md and README.md points at a file that
exists. No database needed."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)
# `migrator` where a shell would run it: at the start of a line (after a `$ ` prompt or
# indentation), after `&&`, `||`, `;`, `|`, `$(`, or inside `backticks` in a message.
# Its words run up to the next shell separator or closing backtick; `VAR=value` may come first.
INVOCATION = re.compile(
    r"(?:^|&&|\|\||[;|`(])[ \t]*(?:\$[ \t]+)?(?:\w+=\S*[ \t]+)*"
    r"(?:[\w./-]*/)?migrator((?:[ \t]+[^\s;&|`)]+)*)",
    re.MULTILINE,
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@cache
def _help() -> tuple[frozenset[str], frozenset[str]]:
    """(commands with their aliases, global options that take a value), from `migrator --help`."""
    out = subprocess.run(
        [sys.executable, "-m", "migrator", "--help"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    listing = out.split("COMMAND\n", 1)[1].split("\n\n", 1)[0]
    commands = set()
    for name, aliases in re.findall(r"^ {4}([a-z][\w-]*)(?: \(([^)]*)\))?", listing, re.MULTILINE):
        commands.add(name)
        commands.update(a.strip() for a in aliases.split(",") if a.strip())
    valued = set(re.findall(r"^ {2}(?:-\w, )?(--[\w-]+) [A-Z]", out, re.MULTILINE))
    return frozenset(commands), frozenset(valued)


def _command_of(words: list[str], valued: frozenset[str]) -> str | None:
    """The subcommand in `migrator [GLOBAL OPTIONS] COMMAND ...`, or None (`--help`, `--version`)."""
    skip = False
    for word in words:
        word = word.strip("'\"")
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in valued  # `--url URL`; `--url=URL` carries its value
        else:
            return word
    return None


def _code_blocks(text: str) -> list[str]:
    """Fenced blocks, and the `inline code` spans of the prose around them."""
    spans = re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
    return [m.group(2) for m in FENCE.finditer(text)] + spans


def _invocations(path: Path) -> list[tuple[str, str]]:
    """(the command word, the line it is on) for every migrator call in the file's code blocks."""
    _, valued = _help()
    found = []
    for block in _code_blocks(path.read_text(encoding="utf-8")):
        for m in INVOCATION.finditer(block):
            words = m.group(1).split()
            command = _command_of(words, valued)
            if command is not None and re.fullmatch(r"[a-z][\w-]*", command):
                line = block[block.rfind("\n", 0, m.start()) + 1 : block.find("\n", m.end())]
                found.append((command, line.strip()))
    return found


def test_the_help_lists_the_commands_this_test_relies_on() -> None:
    commands, valued = _help()
    assert {"up", "down", "status", "validate", "verify", "migrate", "rollback"} <= commands
    assert {"--url", "--dir", "--table"} <= valued and "--json" not in valued


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_migrator_command_in_code_blocks_exists(path: Path) -> None:
    commands, _ = _help()
    unknown = [f"{command!r} in: {line}" for command, line in _invocations(path) if command not in commands]
    assert not unknown, f"{path.name} shows commands `migrator --help` does not list:\n" + "\n".join(unknown)


def test_the_docs_do_show_commands() -> None:
    # guards the scanner itself: if it found nothing, the test above would prove nothing
    shown = {command for path in DOCS for command, _ in _invocations(path)}
    assert {"init", "new", "up", "down", "status", "validate", "verify", "repair"} <= shown


@pytest.mark.parametrize("path", [*DOCS, ROOT / "README.md"], ids=lambda p: p.name)
def test_every_relative_link_points_at_a_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    prose = FENCE.sub("", text)  # a [x](y) inside a code block is not a link
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # https:, mailto:, and anchors within the page
        file_part = target.split("#", 1)[0]
        if not (path.parent / file_part).exists():
            broken.append(target)
    assert not broken, f"{path.name} links to files that do not exist: {broken}"


def test_the_scanners_catch_what_they_should() -> None:
    _, valued = _help()
    assert _command_of(["--url", "postgres://x/y", "up", "--to", "3"], valued) == "up"
    assert _command_of(["--json", "status"], valued) == "status"
    assert _command_of(["--version"], valued) is None
    block = (
        "$ migrator --dir db verify\nDATABASE_URL=x migrator up && migrator frobnicate\n"
        "hint: run `migrator validate` for details\n# migrator settings; flags win\n"
    )
    found = [m.group(1).split() for m in INVOCATION.finditer(block)]
    assert [_command_of(w, valued) for w in found] == ["verify", "up", "frobnicate", "validate"]
    assert LINK.findall("see [a](layout.md#settings) and [b](https://x.org)") == [
        "layout.md#settings",
        "https://x.org",
    ]
