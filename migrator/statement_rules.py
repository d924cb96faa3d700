"""The statement rules a file keeps before anything of it runs: no transaction control inside
the transaction migrator runs it in, nothing the dialect refuses inside one or does not
support, one data statement in a `batch` file. Checked over many files before connecting
(check_files), and again as each file is read to run (read_statements: a versioned file in
runner.prepare, a repeatable or callback file in sidefiles.prepare_side).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from migrator.errors import LayoutError
from migrator.lexer import (
    LexError,
    Statement,
    StatementSplitter,
    leading_keywords,
    split_statements,
    starts_with,
)
from migrator.model import SqlFile
from migrator.script import TRANSACTION_CONTROL, is_block, is_data_statement, rolls_back_to_savepoint
from migrator.streaming import FileStatements

if TYPE_CHECKING:
    from migrator.dialects import Dialect


def read_statements(sql_file: SqlFile, text: str, dialect: Dialect) -> tuple[list[Statement], bool]:
    """The statements of a small file, and whether it runs in one transaction."""
    transactional = dialect.transactional_ddl and sql_file.directives.transactional
    statements = _split(sql_file, text, dialect)
    if not dialect.transactional_ddl and sql_file.directives.transactional and statements:
        # DDL commits implicitly, but a file of data statements alone can still be atomic
        transactional = all(is_data_statement(s.text) for s in statements)
    # a file discovery found no rule word in cannot break a rule (as in check_files)
    problems = file_problems(sql_file, statements, dialect) if sql_file.needs_statement_check else []
    if problems:
        raise LayoutError(problems)
    return statements, transactional


def _split(sql_file: SqlFile, text: str, dialect: Dialect) -> list[Statement]:
    try:
        return split_statements(text, dialect.name)
    except LexError as exc:
        problem = f"{sql_file.rel}:{exc.line}:{exc.column}: {exc.message}"
        raise LayoutError([*_unsupported_before(sql_file, text, dialect), problem]) from None


def _unsupported_before(sql_file: SqlFile, text: str, dialect: Dialect) -> list[str]:
    """What usually leaves the lexer in an open quote: the data lines after a COPY ... FROM
    STDIN (a pg_dump file), which are no SQL. Named first, it says what to change."""
    splitter = StatementSplitter(dialect.name)
    try:
        before = splitter.feed(text)
    except LexError:
        return []
    return [f"{sql_file.rel}:{s.line}:{s.column}: {r}" for s in before if (r := dialect.unsupported(s.text))]


def check_files(files: list[SqlFile], dialect: Dialect) -> None:
    """Every rule read_statements enforces, for many files at once and before any database
    is touched (the dialect object only needs its class facts, not a connection)."""
    problems: list[str] = []
    for sql_file in files:
        if not sql_file.needs_statement_check:  # decided at discovery, without re-reading
            continue
        try:
            statements: Iterable[Statement] = (
                FileStatements(sql_file, dialect.name)
                if sql_file.is_big
                else _split(sql_file, sql_file.read_text(), dialect)
            )
            problems += file_problems(sql_file, statements, dialect)
        except LayoutError as exc:
            problems += exc.problems
    if problems:
        raise LayoutError(problems)


def file_problems(sql_file: SqlFile, statements: Iterable[Statement], dialect: Dialect) -> list[str]:
    """Every statement rule, in one pass over the statements (a big file streams through)."""
    problems: list[str] = []
    in_transaction = dialect.transactional_ddl and sql_file.directives.transactional
    count = 0
    for s in statements:
        count += 1
        if reason := dialect.unsupported(s.text):
            problems.append(f"{sql_file.rel}:{s.line}:{s.column}: {reason}")
        if in_transaction and (refusal := _refusal(sql_file, s, dialect)):
            problems.append(refusal)
    if sql_file.directives.batch and count != 1:
        problems.append(
            f"{sql_file.rel}: a `batch` file holds exactly one data statement "
            f"(found {count}); it is repeated until it affects no rows"
        )
    return problems


def _refusal(f: SqlFile, s: Statement, dialect: Dialect) -> str:
    words = leading_keywords(s.text, 4)
    pattern: tuple[str, ...]
    for pattern in TRANSACTION_CONTROL:
        if (
            words[: len(pattern)] == pattern
            and not (pattern == ("BEGIN",) and is_block(words))
            and not rolls_back_to_savepoint(words)
        ):
            return (
                f"{f.rel}:{s.line}:{s.column}: the file manages its own transaction "
                f"({' '.join(pattern)}); migrator already runs it in one. Remove it, or add "
                "`-- migrator: no-transaction` at the top of the file"
            )
    for pattern in dialect.refused_in_transaction:
        if words[:1] == pattern[:1] and starts_with(s.text, pattern):
            return (
                f"{f.rel}:{s.line}:{s.column}: {dialect.name} refuses "
                f"{' '.join(pattern)} inside a transaction; add "
                "`-- migrator: no-transaction` at the top of the file"
            )
    return ""
