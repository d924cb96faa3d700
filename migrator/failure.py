"""A failed statement as the report shows it: where it is in its file (line:column), a few
lines of it with a caret under the error, and the MigrationFailedError that carries them.

The same for a version's file and for a repeatable or callback file (migrator.sidefiles):
only what failed and what stays committed differ, and the caller says those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from migrator.errors import MigrationFailedError, StatementFailure
from migrator.masking import mask

if TYPE_CHECKING:
    from migrator.dialects import Dialect, StatementError
    from migrator.lexer import Statement
    from migrator.script import Origin


class FailedFile(Protocol):
    """What a failure report names of the file that failed (runner.PreparedFile,
    sidefiles.PreparedSide)."""

    @property
    def version(self) -> int | None: ...  # None: a repeatable or callback file

    @property
    def name(self) -> str: ...

    @property
    def direction(self) -> str: ...  # up, down, repeatable, callback


def statement_failed(
    f: FailedFile,
    subject: str,
    at: Origin,
    statement: Statement,
    error: StatementError,
    *,
    committed: int,
    outcome: str,
) -> MigrationFailedError:
    """The error a run stops with when `statement` of `f` failed. subject: what failed, in
    words; at: the statement's file, number and the file's statement count; committed: how
    many of its statements stay committed, and outcome says so in words."""
    line, column = position_in_file(statement, error.position)
    failure = StatementFailure(
        version=f.version,
        name=f.name,
        path=at.rel,
        direction=f.direction,
        statement_index=at.number,
        statement_count=at.count,
        line=line,
        column=column,
        excerpt=excerpt(statement, error.position),
        db_message=error.message,
        db_code=error.code,
        committed=outcome,
        statements_committed=committed,
        subject=subject,
    )
    return MigrationFailedError(failure)


def rollback_quietly(dialect: Dialect) -> None:
    """Roll back after a failure or a signal, where the connection still allows it."""
    try:
        dialect.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back
        pass


def back_to_own_identity(dialect: Dialect) -> None:
    """After a failure, before the failure rows: a role a file SET outside a transaction is
    still the session's, and may have no right on migrator's tables (postgres SET ROLE)."""
    try:
        dialect.reset_session()
    except Exception:  # noqa: BLE001 - then the rows fail to write, and the report says so
        pass


def position_in_file(s: Statement, position: int | None) -> tuple[int, int]:
    """The file line:column of a 0-based offset inside a statement (its start when unknown)."""
    if position is None or position <= 0:
        return s.line, s.column
    position = min(position, len(s.text))
    before = s.text[:position]
    newlines = before.count("\n")
    if newlines == 0:
        return s.line, s.column + position
    return s.line + newlines, position - before.rfind("\n")


def excerpt(s: Statement, position: int | None, context: int = 2, width: int = 110) -> str:
    """A few numbered lines of the statement with a caret under the error position."""
    line, column = position_in_file(s, position)
    lines = s.text.split("\n")
    first_col = s.column
    index = line - s.line
    shown = range(max(0, index - context), min(len(lines), index + 1 if position else 4))
    out = []
    for i in shown:
        text = lines[i].rstrip("\r")
        prefix = " " * (first_col - 1) if i == 0 else ""
        # masked whole, then cut: a cut could leave half a password the masking cannot see
        out.append(f"{s.line + i:>5} | {mask(prefix + text)[:width]}")
        if i == index:
            out.append(f"{'':>5} | {' ' * min(column - 1, width)}^")
    return "\n".join(out)
