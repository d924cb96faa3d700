"""The dialect interface; `registry` says which dialects exist and where their code is.

A dialect says how to connect, lock, run one statement and read a few catalog facts. It holds
no migration logic: planning, bookkeeping and error reporting live once, outside.
Drivers are imported only when a dialect is opened, so `migrator --help` stays fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migrator.dialects.registry import dialect_class

if TYPE_CHECKING:
    # annotations only: model and urls import the registry, which imports this package first
    from migrator.model import Timeouts
    from migrator.script import Run, Step, Write
    from migrator.urls import DatabaseUrl

APPLICATION_NAME = "migrator"


@dataclass
class StatementError(Exception):
    """A statement the database refused, translated out of the driver's own exception."""

    message: str
    code: str = ""
    position: int | None = None  # 0-based character offset into the statement, when known
    timeout: str = ""  # which session limit fired, when the error is a timeout
    # what the database's code says the cause is: "privileges", "name" (it refused a name),
    # or "" when the code does not say; a hint must not guess
    cause: str = ""

    def __str__(self) -> str:
        return self.message


class Dialect:
    """Base class of the three dialects. Subclasses fill in the driver-specific parts."""

    name = ""
    # Can DDL run inside a transaction and be rolled back? (mysql: no, DDL commits implicitly)
    transactional_ddl = True
    placeholder = "?"
    bigint = "BIGINT"
    text_type = "TEXT"
    timestamp_type = "TIMESTAMP"
    table_options = ""  # after the column list of migrator's own tables
    identity_pk = "BIGINT PRIMARY KEY"
    # Statements the database refuses inside a transaction, by their first words
    # (lexer.starts_with): upper case a keyword, lower case a name, which the SQL may quote or
    # qualify with a schema (`PRAGMA main."foreign_keys"` is ("PRAGMA", "foreign_keys")).
    refused_in_transaction: tuple[tuple[str, ...], ...] = ()

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url

    # -- connection -------------------------------------------------------------------
    def connect(self, *, read_only: bool = False, connect_timeout_s: float = 10) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def reset_session(self) -> None:
        """Give the next file a clean session: nothing a previous file SET may leak."""
        raise NotImplementedError

    def may_change_identity(self, statement_text: str) -> bool:
        """Could this statement make the session act as another role (SET ROLE)? Then the
        bookkeeping writes of its transaction are preceded by OwnIdentity."""
        return False

    def own_identity(self) -> None:
        """OwnIdentity: nothing where a role cannot take privileges away (sqlite has none;
        mysql's roles add to the user's own)."""

    def may_change_session(self, statement_text: str) -> bool:
        """Could this statement leave session state behind? If no statement of a file can,
        the next file needs no reset (where a reset is costly)."""
        return True

    def apply_timeouts(self, timeouts: Timeouts, *, in_transaction: bool) -> None:
        raise NotImplementedError

    def cancel(self) -> None:
        """Stop the statement running on this connection, from another thread (a signal in a
        run over several targets). Its execute() then raises KeyboardInterrupt."""

    def recover(self) -> None:
        """After a statement was interrupted (Ctrl-C, SIGTERM): stop it on the server and leave
        a usable connection. Drivers that cancel on KeyboardInterrupt need nothing here."""

    # -- lock (SPEC §4): the waiting loop is migrator.locking's, once for all -----------
    def try_lock(self, key: str) -> bool:
        """Take the migration lock for `key` if it is free, without waiting."""
        raise NotImplementedError

    def lock_holder(self) -> str:
        """Who holds the lock try_lock() just failed to take, as far as the database can tell."""
        return "another session (it may just have finished)"

    def release_lock(self) -> None:
        """Let go of the lock; harmless when it is not held."""
        raise NotImplementedError

    # -- statements ---------------------------------------------------------------------
    begin_sql = "BEGIN"

    def begin(self, *, durable: bool = True) -> None:
        """Open a transaction. durable=False: its COMMIT may return before the commit is on
        disk, because a durable commit later in the same run flushes it with everything before
        it. The commit stays atomic (a crash of the server loses it whole, never part of it);
        only the wait for the disk moves to the run's last commit. Dialects without such a
        setting ignore it."""
        self.execute(self.begin_sql)

    def flush_commits(self) -> None:
        """Make the commits that did not wait for the disk (begin(durable=False)) durable now:
        a run that stopped before its last, durable commit."""

    def after_failure(self, statement_text: str) -> str:
        """What a failure of this statement may leave behind that the user must clean up."""
        return ""

    def unsupported(self, statement_text: str) -> str:
        """Why migrator cannot run this statement at all, or "" (client-side commands)."""
        return ""

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def rollback_left(self) -> str:
        """What the last rollback could not undo, in words ("" when it undid everything)."""
        return ""

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement; return rows affected (-1 when unknown). Raises StatementError."""
        raise NotImplementedError

    # -- scripts (migrator.script) ------------------------------------------------------
    def run_script(
        self,
        steps: Iterable[Step],
        state: ScriptState,
        *,
        on_statement: StatementDone | None = None,
        one_by_one: bool = False,
    ) -> None:
        """Run the steps in order; stop at the first that fails with StepFailed. `state` says
        what completed, also when an interruption (KeyboardInterrupt) cuts the script short.
        This base runs the steps one by one. A dialect may send several in one round trip
        (unless one_by_one: the caller times each statement), but must then report the same
        failing step and never run a step twice."""
        if state.started is None:
            state.started = time.perf_counter()
        for step in steps:
            self.run_step(step, state, state.started, on_statement)

    def run_step(
        self, step: Step, state: ScriptState, started: float, on_statement: StatementDone | None
    ) -> None:
        from migrator.script import Begin, Commit, OwnIdentity, ResetSession, Run, SetTimeouts, Write

        try:
            if isinstance(step, Run):
                t0 = time.perf_counter()
                state.last_affected = self.execute(step.statement.text)
                state.statements_done = step.number
                if on_statement is not None:
                    on_statement(step, (time.perf_counter() - t0) * 1000)
            elif isinstance(step, Write):
                self.write_row(step.sql, self.resolve(step.params, state, started))
            elif isinstance(step, Begin):
                state.in_transaction, state.statements_at_begin = True, state.statements_done
                self.begin(durable=step.durable)
            elif isinstance(step, Commit):
                self.commit()
                state.in_transaction = False
            elif isinstance(step, SetTimeouts):
                self.apply_timeouts(step.timeouts, in_transaction=step.local)
            elif isinstance(step, ResetSession):
                self.reset_session()
            elif isinstance(step, OwnIdentity):
                self.own_identity()
        except StatementError as exc:
            raise StepFailed(step, exc) from None
        state.steps_done += 1

    def resolve(self, params: tuple[Any, ...], state: ScriptState, started: float) -> tuple[Any, ...]:
        """A Write's parameters with the run-time markers replaced by their values."""
        from migrator.model import utc_now
        from migrator.script import AFFECTED, ELAPSED_MS, NOW_UTC, STATEMENTS_RUN

        def value(v: Any) -> Any:
            if v is ELAPSED_MS:  # what is recorded is what the runner then reports
                state.recorded_ms = (time.perf_counter() - started) * 1000
                return round(state.recorded_ms)
            if v is NOW_UTC:
                return self.timestamp_param(utc_now())
            if v is AFFECTED:
                return max(state.last_affected, 0)
            if v is STATEMENTS_RUN:
                return state.statements_done
            return v

        return tuple(value(v) for v in params)

    def write(self, step: Write) -> None:
        """One bookkeeping write on its own (in whatever transaction is open)."""
        self.write_row(step.sql, self.resolve(step.params, ScriptState(), time.perf_counter()))

    def write_row(self, sql: str, params: tuple[Any, ...]) -> None:
        """Run a bookkeeping statement with bound parameters."""
        self.execute(sql, params)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    # -- catalog ------------------------------------------------------------------------
    def qualify(self, table: str) -> str:
        """The version table's fully qualified, quoted name."""
        raise NotImplementedError

    def table_exists(self, table: str) -> bool:
        raise NotImplementedError

    def prepare_namespace(self, table: str) -> None:
        """Make the place the version table lives in exist (postgres: its schema)."""

    def current_user(self) -> str:
        raise NotImplementedError

    # -- lint: table sizes on the real database (SPEC section 11) --------------------------
    def table_sizes(self, names: list[str]) -> list[TableStats]:
        """The row estimate and bytes of each named table (in the default schema) that exists,
        from catalog statistics only: no count, no lock taken on the table, none waited for.
        A statistic the catalog does not have is None."""
        return []

    # -- scratch databases (verify, drift) -------------------------------------------------
    def create_scratch(self, name: str) -> DatabaseUrl:
        """Create an empty database on the same server; return its URL."""
        self.execute(f"CREATE DATABASE {self.quote_ident(name)}")
        return self.url.with_database(name)

    def drop_scratch(self, url: DatabaseUrl) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {self.quote_ident(url.database)}")

    def ensure_scratch(self, url: DatabaseUrl) -> None:
        """A --scratch-url database on this server: create it when it does not exist yet."""
        self.execute(f"CREATE DATABASE IF NOT EXISTS {self.quote_ident(url.database)}")

    def empty_scratch(self, keep: frozenset[str]) -> None:
        """Drop every object of the connected database (a --scratch-url one, emptied after
        each run and never dropped) except the schemas and extensions named in `keep`: those
        it held before the run. Each DROP says IF EXISTS: one may take others with it."""
        for sql in self.scratch_drops(keep):
            self.execute(sql)

    def scratch_drops(self, keep: frozenset[str]) -> list[str]:
        """The statements (DROPs, and the session settings they need) that empty the connected
        database, read from its catalog: a --scratch-url database after a run, and the whole
        database before `migrator restore` loads a dump. `keep` names what stays: schemas and
        extensions (postgres), objects the dump recreates itself (mysql)."""
        raise NotImplementedError

    # -- what a statement really did (lint --measure, migrator.lint.measure) ---------------
    def table_identities(self) -> dict[str, Any]:
        """Each table of the connected database, by name (unqualified in the default schema),
        with what changes when the table is rewritten or rebuilt: postgres its relfilenode,
        mysql its InnoDB table id, sqlite its root page."""
        return {}

    def relation_names(self) -> dict[Any, str]:
        """The name of each relation held_locks() may name, by its key (postgres: the oid),
        without the catalog's own. Read before a statement too: a dropped table's lock
        outlives its name in the catalog."""
        return {}

    # Does held_locks() show what a session holds? (sqlite locks the whole file; mysql's
    # metadata locks need performance_schema, which a server may not have)
    shows_locks = False

    def held_locks(self, session: Any = None) -> list[tuple[Any, str]]:
        """(relation key, mode) of each lock granted to this session (or to `session`, a
        session_key() of another connection), modes spelled as the database names them."""
        return []

    def session_key(self) -> Any:
        """What names this connection's session to another one (postgres: its backend pid)."""
        return None

    def waits(self, session: Any) -> list[tuple[Any, str]]:
        """What that session waits for now: (relation key, or None for a transaction, mode)."""
        return []

    def hold_watch(self) -> None:
        """Open a transaction that another session's statement must wait for if it needs a
        lock it could not otherwise be seen holding: take a snapshot (a CONCURRENTLY
        statement waits for older snapshots) and the weakest lock on every table (a
        statement that waits for every locker of its table, or wants it exclusively)."""

    def online_tries(self, statement_text: str) -> list[tuple[str, str]]:
        """(label, statement) to try in order, the most online first, each a variant of this
        statement the server refuses when it cannot honour it (mysql: ALTER TABLE ...,
        ALGORITHM=INSTANT). Empty: the statement has no such variants here."""
        return []

    def refused_online(self, error: StatementError) -> bool:
        """Is this error the server refusing an online_tries() variant (nothing changed)?"""
        return False

    # -- the database itself: `create`, `drop`, `up --create` (migrator.dbadmin) -----------
    # What a refusal of CREATE/DROP DATABASE means, by the error code's first part:
    # "denied" (the user lacks the privilege) or "in-use" (other sessions are connected).
    admin_errors: dict[str, str] = {}

    def connect_server(self, *, connect_timeout_s: float = 10) -> None:
        """Connect to the server without using url.database, which may not exist."""
        raise NotImplementedError

    def database_exists(self) -> bool:
        """Does url.database exist (as far as this user can see)?"""
        raise NotImplementedError

    def sees_every_database(self) -> bool:
        """Does database_exists() see databases this user has no privilege on?"""
        return True

    def create_database(self) -> None:
        raise NotImplementedError

    def drop_database(self) -> None:
        raise NotImplementedError

    def other_sessions(self) -> list[str]:
        """Who else uses url.database now, one short description each (as far as visible)."""
        return []

    def timestamp_param(self, value: Any) -> Any:
        return value

    def quote_ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TableStats:
    """What a catalog says about one table's size; `note` says what the bytes cover when it
    is not the table and its indexes (sqlite without dbstat: the whole file)."""

    name: str
    rows: int | None
    bytes: int | None
    note: str = ""


StatementDone = Callable[["Run", float], None]  # (the Run step, milliseconds)


@dataclass
class ScriptState:
    """How far a script got: read by the runner after a failure or an interruption."""

    steps_done: int = 0
    statements_done: int = 0  # the number of the last Run step that completed
    last_affected: int = -1  # rows the last completed Run step affected (-1: unknown)
    in_transaction: bool = False  # a Begin ran and no Commit after it yet
    statements_at_begin: int = 0  # statements_done when that Begin ran
    started: float | None = None  # perf_counter() when the file began: ELAPSED_MS counts from it
    recorded_ms: float | None = None  # the ELAPSED_MS a Write recorded, unrounded


class StepFailed(Exception):
    """A step the database refused; `step` is the failing step itself."""

    def __init__(self, step: Step, error: StatementError) -> None:
        super().__init__(str(error))
        self.step, self.error = step, error


def open_dialect(url: DatabaseUrl) -> Dialect:
    return dialect_class(url.dialect)(url)
