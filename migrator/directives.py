"""`-- migrator: <directive>` lines at the top of a file (SPEC §1 Directives)."""

from __future__ import annotations

import re
from dataclasses import replace

from migrator.model import Directives, parse_duration_ms

_DIRECTIVE = re.compile(r"^\s*--\s*migrator\s*:(.*)$", re.IGNORECASE)
_SIDE = ("a repeatable file", "a callback file")  # discovery.REPEATABLE_KIND, CALLBACK_KIND
_FILES = {
    "no-transaction": ("up.sql", "down.sql", *_SIDE),
    "irreversible": ("down.sql",),
    "requires": ("up.sql",),
    "backup": ("up.sql",),
    "lock-wait-timeout": ("up.sql", "down.sql", *_SIDE),
    "statement-timeout": ("up.sql", "down.sql", *_SIDE),
    "batch": ("up.sql", "down.sql"),
    "max-batches": ("up.sql", "down.sql"),
    "lint-ignore": ("up.sql", "down.sql", *_SIDE),
}
_LINT_IGNORE = re.compile(r"^\s*--\s*migrator\s*:\s*lint-ignore\b(.*)$", re.IGNORECASE)
_RULE_LIST = re.compile(r"\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)\s*(.*)$", re.IGNORECASE)


_NONE = Directives()
_ANYWHERE = re.compile(r"^[ \t]*--[ \t]*migrator[ \t]*:", re.IGNORECASE | re.MULTILINE)


def parse_directives(text: str, filename: str, rel: str) -> tuple[Directives, list[str]]:
    """Directives of one file and the layout problems found in it (never raises)."""
    if "migrator" not in text.lower():
        return _NONE, []  # the common case (big files never come here: see filescan)
    directives, problems, header_end = parse_header(text, filename, rel)
    # A directive line further down is a mistake; find any with one regex pass, not per line.
    for late in _ANYWHERE.finditer(text, min(header_end, len(text))):
        lineno = text.count("\n", 0, late.start()) + 1
        line = text[late.start() : text.find("\n", late.start()) % (len(text) + 1)]
        problem = late_directive_problem(rel, lineno, line)
        if problem:
            problems.append(problem)
    return directives, problems


def parse_header(text: str, filename: str, rel: str) -> tuple[Directives, list[str], int]:
    """Directives of the comment lines at the top of `text`, their problems, and the offset
    where the first statement starts."""
    directives = Directives()
    problems: list[str] = []
    header_end = 0
    for lineno, line in enumerate(text.split("\n", _HEADER_LINES), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            break
        header_end += len(line) + 1
        match = _DIRECTIVE.match(line)
        if match:
            directives, problem = _apply(directives, match.group(1).strip(), filename)
            if problem:
                problems.append(f"{rel}:{lineno}: {problem}")
    if directives.max_batches is not None and not directives.batch:
        problems.append(f"{rel}: directive 'max-batches' bounds a `batch` file; add `-- migrator: batch`")
    return directives, problems, header_end


def is_directive_line(line: str) -> bool:
    return _ANYWHERE.match(line) is not None


def lint_ignore(line: str) -> tuple[tuple[str, ...], str] | None:
    """`-- migrator: lint-ignore <rule>[, <rule>] <reason>` -> (rules, reason); None when the
    line is no lint-ignore directive. The reason may be empty: the caller says that is wrong."""
    match = _LINT_IGNORE.match(line)
    if match is None:
        return None
    parsed = _RULE_LIST.match(match.group(1))
    if parsed is None or not match.group(1).strip():
        return (), ""
    rules = tuple(r.strip().lower() for r in parsed.group(1).split(","))
    return rules, parsed.group(2).strip()


def _lint_ignore_problem(arg: str) -> str:
    parsed = lint_ignore(f"-- migrator: lint-ignore {arg}")
    assert parsed is not None
    rules, reason = parsed
    if not rules:
        return "needs a rule id and a reason, such as: lint-ignore drop-column <why it is safe>"
    if not reason:
        named = ", ".join(rules)
        return f"needs a reason after the rule id, such as: lint-ignore {named} <why it is safe>"
    return ""


def late_directive_problem(rel: str, lineno: int, line: str) -> str:
    """The problem with a directive line after the first statement ("" when there is none:
    `lint-ignore` may stand on the line above any statement, SPEC §11)."""
    parsed = lint_ignore(line)
    if parsed is not None:
        body = line.split(":", 1)[1].strip()[len("lint-ignore") :]
        problem = _lint_ignore_problem(body)
        return f"{rel}:{lineno}: directive 'lint-ignore': {problem}" if problem else ""
    return (
        f"{rel}:{lineno}: directive '{line.strip()}' comes after the first statement; "
        "move it to the comment lines at the top of the file"
    )


# A header longer than this is treated as ending there (directives come first in practice).
_HEADER_LINES = 200


def _apply(d: Directives, body: str, filename: str) -> tuple[Directives, str]:
    name, _, arg = body.partition(" ")
    name = name.lower()
    arg = arg.strip()
    if name not in _FILES:
        known = ", ".join(_FILES)
        return d, f"unknown directive '{name}' (known: {known})"
    if filename not in _FILES[name]:
        return d, f"directive '{name}' belongs in {' or '.join(_FILES[name])}, not {filename}"
    try:
        return _with(d, name, arg), ""
    except ValueError as exc:
        return d, f"directive '{name}': {exc}"


def _with(d: Directives, name: str, arg: str) -> Directives:
    if name in ("lock-wait-timeout", "statement-timeout"):
        if not arg:
            raise ValueError("needs a duration such as 5s or 10min")
        ms = parse_duration_ms(arg)
        if name == "lock-wait-timeout":
            return replace(d, lock_wait_timeout_ms=ms)
        return replace(d, statement_timeout_ms=ms)
    if name == "lint-ignore":
        problem = _lint_ignore_problem(arg)
        if problem:
            raise ValueError(problem)
        return d  # read by `migrator lint` (migrator/lint/suppress.py), not by the runner
    if name == "max-batches":
        if not (arg.isascii() and arg.isdigit() and int(arg) > 0):
            raise ValueError(f"needs a whole number of batches above 0, such as 50000 (got '{arg}')")
        return replace(d, max_batches=int(arg))
    if name == "requires":
        versions = [v.strip() for v in arg.split(",") if v.strip()]
        if not versions or not all(v.isdigit() for v in versions):
            raise ValueError("needs version numbers: requires 3, 4")
        return replace(d, requires=d.requires + tuple(int(v) for v in versions))
    if arg:
        raise ValueError(f"takes no argument, got '{arg}'")
    flag = {"no-transaction": "no_transaction"}.get(name, name)
    return replace(d, **{flag: True})  # type: ignore[arg-type]  # a bool flag, by name
