"""The dialect interface and its registry.

A dialect says how to connect, lock, run one statement and read a few catalog facts. It holds
no migration logic: planning, bookkeeping and error reporting live once, outside.
Drivers are imported only when a dialect is opened, so `migrator --help` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from migrator.model import Timeouts
from migrator.urls import DatabaseUrl

APPLICATION_NAME = "migrator"

_REGISTRY = {
    "sqlite": "migrator.dialects.sqlite:SqliteDialect",
    "postgres": "migrator.dialects.postgres:PostgresDialect",
    "mysql": "migrator.dialects.mysql:MysqlDialect",
}


class ServerValue:
    """A bookkeeping value the database computes as the statement runs: a script sent in one
    round trip (deferred()) is written before anyone knows when its statements will finish."""

    def __init__(self, name: str) -> None:
        self.name = name


ELAPSED_MS = ServerValue("milliseconds since the deferred script began")
NOW_UTC = ServerValue("the current UTC time")
# Literals that need no driver: most inlined bookkeeping values are version numbers, counts
# and NULLs (bool is not int here: type() is exact)
_PLAIN_LITERALS: dict[type, Callable[[Any], str]] = {int: str, type(None): lambda _: "NULL"}


def inline_params(sql: str, params: tuple[Any, ...], server_values: dict[ServerValue, str],
                  quote: Callable[[Any], str]) -> str:
    """`sql` with each %s replaced by its parameter as a literal, for a script sent as one
    text: a ServerValue as the dialect's expression, anything but ints and NULLs through the
    driver's quoting (`quote`)."""
    literals = [server_values[v] if isinstance(v, ServerValue)
                else _PLAIN_LITERALS[type(v)](v) if type(v) in _PLAIN_LITERALS
                else quote(v) for v in params]
    parts = sql.split("%s")
    if len(parts) != len(literals) + 1:
        raise ValueError(f"{len(literals)} parameters for {len(parts) - 1} placeholders")
    return "".join(part + lit for part, lit in zip(parts, literals + [""], strict=True))


@dataclass
class StatementError(Exception):
    """A statement the database refused, translated out of the driver's own exception."""

    message: str
    code: str = ""
    position: int | None = None  # 0-based character offset into the statement, when known
    timeout: str = ""  # which session limit fired, when the error is a timeout
    bookkeeping: bool = False  # it was migrator's own write sent along with the statement
    statements_before: int = 0  # deferred(): how many execute()d statements completed first

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
    identity_pk = "BIGINT PRIMARY KEY"
    # Statements (leading keywords) the database refuses inside a transaction.
    refused_in_transaction: tuple[tuple[str, ...], ...] = ()
    # deferred() may hold a no-transaction file and its progress rows: true only where the
    # server runs a multi-statement query outside any transaction and stops at the first
    # error (mysql). postgres wraps such a query in one transaction, which CONCURRENTLY and
    # VACUUM refuse.
    sends_bracketed_file_at_once = False

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

    # -- lock (SPEC §4) -----------------------------------------------------------------
    def acquire_lock(self, key: str, timeout_s: float) -> None:
        """Hold the migration lock for `key` or raise LockTimeoutError naming the holder."""
        raise NotImplementedError

    def release_lock(self) -> None:
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

    def write_bookkeeping(self, sql: str, params: tuple[Any, ...], *, later: bool) -> None:
        """A write to migrator's own tables (later=True: it may travel with the next statement)."""
        if later:
            self.piggyback(sql, params)
        else:
            self.execute(sql, params)

    def end_file(self) -> None:
        """A file's statements are done; its bookkeeping comes next (mysql: end LOCK TABLES)."""

    def piggyback(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run a bookkeeping statement now, or (where round trips are dear) send it in front
        of the next statement. Anything that reads or executes sends what is waiting first."""
        self.execute(sql, params)

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement; return rows affected (-1 when unknown). Raises StatementError."""
        raise NotImplementedError

    @contextmanager
    def deferred(self) -> Iterator[bool]:
        """Within this block, execute() may queue statements and send them all in one round
        trip at the end (yields True when it does). A failure then surfaces as StatementError
        when the block exits, without saying which statement: callers that need to know rerun
        the statements one by one. Dialects with cheap round trips do nothing here."""
        yield False

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

    def timestamp_param(self, value: Any) -> Any:
        return value

    def quote_ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'


def open_dialect(url: DatabaseUrl) -> Dialect:
    module_name, _, class_name = _REGISTRY[url.dialect].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    dialect: Dialect = cls(url)
    return dialect
