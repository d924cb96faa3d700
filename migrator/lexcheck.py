"""Can each file be split into statements? Checked whole, before anything runs.

statement_rules.check_files lexes only the files discovery marked (`SqlFile.needs_statement_check`:
a rule word somewhere in the text). A file without one, a big data file above all, was split
only as it ran, so an unclosed quote at its end passed `validate` and stopped `up` after the
statements before it had run (committed, on mysql). `validate` lexes every file here: it has
read each one whole for its checksum anyway, and a big file streams through the lexer in
chunks (streaming.FileStatements), in memory that does not grow with it.

Used by: `validate --offline` (sumfile.compare -> check_layout); `validate`
(check_every_file, in place of statement_rules.check_files); `up`/`down` (check_split over the
big files about to run).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from migrator.errors import LayoutError
from migrator.lexer import LexError, split_statements
from migrator.model import DIALECTS, SqlFile

if TYPE_CHECKING:
    from migrator.dialects import Dialect
    from migrator.discovery import Layout

__all__ = ["check_every_file", "check_layout", "check_split", "split_problem"]

# What can leave the lexer inside an open construct (lexer.LexError): a quote, a comment, a
# dollar quote, a BEGIN/CASE block, a DELIMITER line. A text holding none of these cannot
# fail, whatever the dialect; most one-line data files are found so without a lexer pass.
_OPENERS = ("'", '"', "`", "[", "$", "#", "--", "/*")
_OPENING_WORDS = ("BEGIN", "CASE", "DELIMITER")  # as the lexer compares them: upper-cased


def split_problem(sql_file: SqlFile, dialect: str) -> str | None:
    """`rel:line:column: message` when the file cannot be split into statements for this
    dialect (the message `up` would stop with), else None."""
    if sql_file.is_big:
        from migrator.streaming import FileStatements

        try:
            len(FileStatements(sql_file, dialect))  # one pass to the end, no thread, no list
        except LayoutError as exc:
            return exc.problems[0]
        return None
    text = sql_file.read_text()
    if not _may_fail(text):
        return None
    try:
        split_statements(text, dialect)
    except LexError as exc:
        return f"{sql_file.rel}:{exc.line}:{exc.column}: {exc.message}"
    return None


def _may_fail(text: str) -> bool:
    if any(opener in text for opener in _OPENERS):
        return True
    upper = text.upper()  # str.upper() per character, as the lexer upper-cases each word
    return any(word in upper for word in _OPENING_WORDS)


def check_split(files: Iterable[SqlFile], dialect: str) -> None:
    """LayoutError naming every file of `files` that cannot be split."""
    problems = [p for f in files if (p := split_problem(f, dialect)) is not None]
    if problems:
        raise LayoutError(problems)


def check_every_file(files: list[SqlFile], dialect: Dialect) -> None:
    """statement_rules.check_files, and the lexer over every file it leaves out: what `validate`
    checks. One LayoutError with everything found."""
    from migrator.statement_rules import check_files

    problems: list[str] = []
    try:
        check_files(files, dialect)
    except LayoutError as exc:
        problems += exc.problems
    skipped = [f for f in dict.fromkeys(files) if not f.needs_statement_check]
    for sql_file in skipped:
        problem = split_problem(sql_file, dialect.name)
        if problem is not None and problem not in problems:
            problems.append(problem)
    if problems:
        raise LayoutError(problems)


def check_layout(layout: Layout, dialect: str | None) -> None:
    """`validate --offline`: every effective file of the dialect, or with none known (no
    URL), every file under each dialect it is effective for. A file is then reported only
    when it splits under none of them: a generic file may hold one dialect's syntax (a mysql
    DELIMITER trigger, a postgres `$$` body) that another dialect's lexer reads differently,
    and a project written for one dialect must not fail for the others."""
    layout.raise_problems()
    serves: dict[str, tuple[SqlFile, list[str]]] = {}
    for d in (dialect,) if dialect else DIALECTS:
        sides = [r.file for r in layout.repeatables(d)] + list(layout.callbacks(d).values())
        for f in [f for m in layout.migrations(d) for f in (m.up, m.down)] + sides:
            serves.setdefault(f.rel, (f, []))[1].append(d)
    problems: list[str] = []
    for rel in sorted(serves):
        sql_file, dialects = serves[rel]
        found: dict[str, list[str]] = {}  # problem -> the dialects it is found with
        for d in dialects:
            problem = split_problem(sql_file, d)
            if problem is None:
                break
            found.setdefault(problem, []).append(d)
        else:
            if len(found) == 1:
                problems += found
            else:
                problems += [f"{p} ({', '.join(ds)})" for p, ds in found.items()]
    if problems:
        raise LayoutError(problems)
