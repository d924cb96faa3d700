"""A file compiled into a script of plain steps, decided in pure code before anything runs.

Everything the runner decides about a file (one transaction or a dirty bracket, which
bookkeeping rows go with which commit, progress rows, the session reset, timeouts) is
visible in its script, and a test can read it without a database. A dialect only runs
scripts (Dialect.run_script); it may send several steps in one round trip, but reports the
same failing step as running them one by one, and never runs a step twice.

Bookkeeping values are parameters bound by the driver, never spliced into SQL text. The
few values known only while the script runs are markers the dialect resolves as it runs
(`ELAPSED_MS`, `NOW_UTC`, `AFFECTED`), still as bound values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from migrator.lexer import Statement, leading_keywords
from migrator.model import Timeouts

if TYPE_CHECKING:
    from migrator.runner import PreparedFile
    from migrator.sidefiles import PreparedSide


class Marker:
    """A bookkeeping value only known while the script runs."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ELAPSED_MS = Marker("ELAPSED_MS")  # milliseconds since the script began
NOW_UTC = Marker("NOW_UTC")  # the UTC time when the step runs
AFFECTED = Marker("AFFECTED")  # rows the last Run step affected
STATEMENTS_RUN = Marker("STATEMENTS_RUN")  # Run steps completed so far (a big file's count)


@dataclass(frozen=True)
class ResetSession:
    """Drop every session setting a previous file may have made (SPEC §3: clean session)."""


@dataclass(frozen=True)
class SetTimeouts:
    """The file's session limits; `local`: for the open transaction only."""

    timeouts: Timeouts
    local: bool


@dataclass(frozen=True)
class Begin:
    """durable=False: the commit may return before it is on disk, because a durable commit
    later in the same run flushes it (Dialect.begin)."""

    durable: bool = True


@dataclass(frozen=True)
class Origin:
    """Where a statement comes from: its file, its number there, how many that file holds. On
    a Run: a statement of another file compiled into this file's script, a `before_each` or
    `after_each` callback inside the file's transaction (SPEC §12)."""

    rel: str  # the callback file
    number: int  # its statement number there (1-based)
    count: int  # of its statements


@dataclass(frozen=True)
class Run:
    """Run statement `number` (1-based) of the file. A callback's statement (`origin` set) is
    not one of the file's: its number is how many of the file's statements ran before it."""

    number: int
    statement: Statement
    origin: Origin | None = None


@dataclass(frozen=True)
class Write:
    """A bookkeeping write; `params` are bound by the driver."""

    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class Commit:
    pass


@dataclass(frozen=True)
class OwnIdentity:
    """Until the transaction ends, run as the user migrator connected as (with its default
    role), not as a role the file or a `before_each` SET: the bookkeeping writes after it are
    migrator's own (SPEC §3: no session setting a file makes changes them)."""


Step = ResetSession | SetTimeouts | Begin | Run | Write | Commit | OwnIdentity

# Statements that only read or change rows: on a dialect whose DDL commits implicitly
# (mysql) a file made of these alone can still run in one transaction (SPEC §3).
_DATA_WORDS = {"INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH"}
_TX_OPEN = (("BEGIN",), ("START", "TRANSACTION"))
# ABORT is postgres for ROLLBACK; PREPARE TRANSACTION ends the transaction too (2PC)
_TX_CLOSE = (("COMMIT",), ("ROLLBACK",), ("END",), ("ABORT",), ("PREPARE", "TRANSACTION"))
TRANSACTION_CONTROL = _TX_OPEN + _TX_CLOSE


# What hides an `@` that is not a user variable: strings ('...' and "..." with backslash
# escapes or doubled quotes), `quoted` names and comments, as mysql reads them (a `--`
# comment needs a space after it; a /*! ... */ comment is code and stays).
_NOT_CODE: Final = re.compile(
    r"""'(?:[^'\\]|''|\\.)*'|"(?:[^"\\]|""|\\.)*"|`(?:[^`]|``)*`"""
    r"""|--(?:[ \t\r\n][^\n]*|$)|#[^\n]*|/\*(?!M?!)[\s\S]*?\*/"""
)


def is_data_statement(text: str) -> bool:
    """Does this statement only read or change rows (no DDL, no session change)? A data
    statement that assigns a user variable (`@x :=`, `INTO @x`) changes the session; an `@`
    in a string or a comment (an e-mail address in seed data) does not."""
    words = leading_keywords(text, 1)
    if not words or words[0] not in _DATA_WORDS:
        return False
    return "@" not in text or "@" not in _NOT_CODE.sub(" ", text)


def opens_transaction(text: str) -> bool:
    words = leading_keywords(text, 2)
    return any(words[: len(p)] == p for p in _TX_OPEN) and not is_block(words)


def closes_transaction(text: str) -> bool:
    words = leading_keywords(text, 3)
    return any(words[: len(p)] == p for p in _TX_CLOSE) and not rolls_back_to_savepoint(words)


def rolls_back_to_savepoint(words: tuple[str, ...]) -> bool:
    # ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] x undoes part of the transaction, which
    # stays open: it is not transaction control
    return words[:1] == ("ROLLBACK",) and "TO" in words[1:3]


def is_block(words: tuple[str, ...]) -> bool:
    # BEGIN ATOMIC / a lone plpgsql-style block is not transaction control
    return len(words) > 1 and words[1] == "ATOMIC"


@dataclass(frozen=True)
class Bookkeeping:
    """The rows that go with one file, as Write steps (built by VersionStore)."""

    start: Write | None  # the `running` row a bracketed file writes first
    progress: Any  # (statements_done: int) -> Write: a bracketed file's progress row; None:
    # no progress rows (a repeatable file: it simply runs again next time)
    finish: tuple[Write, ...]  # the version row and the history event of success


def callback_runs(rel: str, statements: Sequence[Statement]) -> tuple[Run, ...]:
    """A callback file's statements, to compile into another file's transaction."""
    return tuple(
        Run(0, s, Origin(rel, number, len(statements))) for number, s in enumerate(statements, start=1)
    )


def compile_file(
    pf: PreparedFile | PreparedSide,
    book: Bookkeeping,
    timeouts: Timeouts,
    *,
    reset: bool,
    durable: bool,
    before: PreparedSide | None = None,
    after: PreparedSide | None = None,
    own_identity: bool = False,
) -> Iterable[Step]:
    """The script of one file (a big file's is produced as its statements are split). The
    `before_each`/`after_each` callbacks go inside its transaction; a file without one runs
    them as scripts of their own (Runner.run_callback); a repeatable or callback file on its own
    compiles here too, with neither."""
    effective = timeouts.overridden_by(pf.file.directives)
    if pf.transactional:
        return transactional_script(
            pf.statements,
            book,
            effective,
            reset=reset,
            durable=durable,
            before=callback_runs(before.file.rel, before.statements) if before else (),
            after=callback_runs(after.file.rel, after.statements) if after else (),
            own_identity=own_identity,
        )
    return bracketed_script(pf.statements, book, effective, reset=reset, own_identity=own_identity)


def transactional_script(
    statements: Iterable[Statement],
    book: Bookkeeping,
    timeouts: Timeouts,
    *,
    reset: bool,
    durable: bool,
    before: Sequence[Run] = (),
    after: Sequence[Run] = (),
    own_identity: bool = False,
) -> Iterator[Step]:
    """The file and its version row in one transaction: all of it commits, or none; with the
    `before_each`/`after_each` callbacks' statements inside that same transaction."""
    if reset:
        yield ResetSession()
    yield Begin(durable)
    yield SetTimeouts(timeouts, local=True)
    yield from before
    number = 0
    for number, statement in enumerate(statements, start=1):
        yield Run(number, statement)
    yield from (replace(run, number=number) for run in after)
    if own_identity and book.finish:  # (a statement may have SET another role)
        yield OwnIdentity()
    yield from book.finish
    yield Commit()


def standalone_script(
    statements: Iterable[Statement], timeouts: Timeouts, *, transactional: bool
) -> Iterator[Step]:
    """A callback file on its own (before_up, after_up, after_error, and the each-callbacks
    of a file that has no transaction): no bookkeeping, a clean session."""
    book = Bookkeeping(None, None, ())
    if transactional:
        return transactional_script(statements, book, timeouts, reset=True, durable=True)
    return bracketed_script(statements, book, timeouts, reset=True)


def bracketed_script(
    statements: Iterable[Statement],
    book: Bookkeeping,
    timeouts: Timeouts,
    *,
    reset: bool,
    own_identity: bool = False,
) -> Iterator[Step]:
    """The dirty bracket: a `running` row, each statement followed by its progress row, then
    the version row. A data statement outside a transaction the file opened itself commits
    together with its progress row (the last one with the version row), so the row never
    lags behind what committed. `own_identity`: a statement (or the before_each callback) may
    have SET another role, so each row is written in a transaction of its own that returns to
    migrator's identity first (inside a transaction the file opened itself, that would change
    the file's own statements too: there the row is written as the file left the session)."""
    if reset:
        yield ResetSession()
    yield SetTimeouts(timeouts, local=False)
    as_migrator: tuple[Step, ...] = (OwnIdentity(),) if own_identity else ()
    if book.start is not None:
        yield from (Begin(), *as_migrator, book.start, Commit()) if own_identity else (book.start,)
    own_transaction = False
    previous: Run | None = None
    for number, statement in enumerate(statements, start=1):
        if previous is not None:  # its progress row, now that it is known not to be the last
            if book.progress is None:  # nothing to record per statement
                yield previous
            elif _commits_with_its_row(previous, own_transaction):
                yield from (Begin(), previous, *as_migrator, book.progress(previous.number), Commit())
            elif own_identity and not own_transaction:
                yield from (previous, Begin(), *as_migrator, book.progress(previous.number), Commit())
            else:
                yield from (previous, book.progress(previous.number))
        if opens_transaction(statement.text):
            own_transaction = True
        elif closes_transaction(statement.text):
            own_transaction = False
        previous = Run(number, statement)
    if previous is not None and _commits_with_its_row(previous, own_transaction):
        yield from (Begin(), previous)
    else:
        yield from (previous, Begin()) if previous is not None else (Begin(),)
    yield from as_migrator
    yield from book.finish
    yield Commit()


def _commits_with_its_row(run: Run, own_transaction: bool) -> bool:
    return not own_transaction and is_data_statement(run.statement.text)


def batch_script(statement: Statement, progress: Write) -> tuple[Step, ...]:
    """One batch of a `batch` file: the statement and the running row count commit together."""
    return (Begin(), Run(1, statement), progress, Commit())
