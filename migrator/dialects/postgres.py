"""PostgreSQL through psycopg 3, in autocommit mode with explicit BEGIN/COMMIT."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from migrator import signals
from migrator.dialects import APPLICATION_NAME, ELAPSED_MS, NOW_UTC, Dialect, StatementError, inline_params
from migrator.errors import ConnectError, DriverMissingError, LockTimeoutError
from migrator.model import Timeouts

_TIMEOUT_CODES = {"55P03": "lock-wait-timeout", "57014": "statement-timeout"}

_CONCURRENT_INDEX = re.compile(
    r"\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"((?:\"[^\"]+\"|[\w$]+)(?:\.(?:\"[^\"]+\"|[\w$]+))?)", re.IGNORECASE)
# statement_timestamp() is when the query message arrived: the start of a deferred script
_SERVER_VALUES = {
    ELAPSED_MS: "(EXTRACT(EPOCH FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint",
    NOW_UTC: "clock_timestamp()",
}


class PostgresDialect(Dialect):
    name = "postgres"
    transactional_ddl = True  # postgres DDL is transactional: a failed file rolls back whole
    placeholder = "%s"
    timestamp_type = "TIMESTAMPTZ"
    identity_pk = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    refused_in_transaction = (
        ("CREATE", "INDEX", "CONCURRENTLY"),
        ("CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"),
        ("DROP", "INDEX", "CONCURRENTLY"),
        ("REINDEX", "INDEX", "CONCURRENTLY"),
        ("REINDEX", "TABLE", "CONCURRENTLY"),
        ("VACUUM",),
        ("CREATE", "DATABASE"),
        ("DROP", "DATABASE"),
        ("ALTER", "SYSTEM"),
        ("CREATE", "TABLESPACE"),
        ("DROP", "TABLESPACE"),
    )

    def __init__(self, url: Any) -> None:
        super().__init__(url)
        self.conn: Any = None
        self._lock_key: int | None = None
        self._queue: list[str] | None = None  # statements held back by deferred()
        self._schema = "public"

    def connect(self, *, read_only: bool = False, connect_timeout_s: float = 10) -> None:
        try:
            import psycopg
        except ImportError:
            raise DriverMissingError(
                "a postgres URL needs the psycopg driver",
                hint="pip install 'migrator[postgres]'",
            ) from None
        u = self.url
        params: dict[str, Any] = dict(u.params)
        params.update(host=u.host, dbname=u.database, application_name=APPLICATION_NAME,
                      connect_timeout=max(1, int(connect_timeout_s)))
        if u.port:
            params["port"] = u.port
        if u.user:
            params["user"] = u.user
        if u.password:
            params["password"] = u.password
        # A killed client's backend would otherwise run its statement to the end while holding
        # the advisory lock; PG 14+ checks the socket every second during long statements.
        check = "-c client_connection_check_interval=1000"
        params["options"] = f"{params.get('options', '')} {check}".strip()
        if u.schema:  # a connection default, so RESET ALL between files keeps it
            params["options"] += f" -c search_path={u.schema}"
        try:
            try:
                self.conn = psycopg.connect(autocommit=True, **params)
            except psycopg.Error as exc:
                if "client_connection_check_interval" not in str(exc):
                    raise
                params["options"] = params["options"].replace(check, "").strip()
                self.conn = psycopg.connect(autocommit=True, **params)
        except psycopg.Error as exc:
            raise ConnectError(
                f"cannot connect to {u.masked}: {_clean(str(exc), u.password)}",
                hint="check host, port, user, password and database in the URL, and that the server is up",
            ) from None
        if u.schema and not read_only:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.quote_ident(u.schema)}")
        self._schema = u.schema or self.query("SELECT current_schema()")[0][0] or "public"

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.release_lock()
            finally:
                self.conn.close()
                self.conn = None

    def reset_session(self) -> None:
        # RESET ALL keeps the connection (and its session advisory lock) but drops every SET.
        self.execute("RESET ALL")

    def apply_timeouts(self, timeouts: Timeouts, *, in_transaction: bool) -> None:
        scope = "SET LOCAL" if in_transaction else "SET"
        if timeouts.lock_wait_ms is not None:
            self.execute(f"{scope} lock_timeout = {int(timeouts.lock_wait_ms)}")
        if timeouts.statement_ms is not None:
            self.execute(f"{scope} statement_timeout = {int(timeouts.statement_ms)}")

    def begin(self, *, durable: bool = True) -> None:
        super().begin()
        if not durable:
            # The run's last (durable) commit flushes it; a run that stops early needs no
            # flush_commits(): the walwriter writes asynchronous commits out within
            # 3 x wal_writer_delay (600 ms by default) whether this process lives or not.
            self.execute("SET LOCAL synchronous_commit = off")

    def cancel(self) -> None:
        if self.conn is not None and not self.conn.closed:
            self.conn.cancel_safe(timeout=5)

    def after_failure(self, statement_text: str) -> str:
        match = _CONCURRENT_INDEX.match(statement_text)
        if not match:
            return ""
        return (f"a failed CREATE INDEX CONCURRENTLY leaves the index {match.group(1)} behind, "
                f"INVALID; drop it (DROP INDEX CONCURRENTLY IF EXISTS {match.group(1)}) before "
                "running the file again")

    def unsupported(self, statement_text: str) -> str:
        text = statement_text.lstrip()
        if text.startswith("\\"):
            return ("psql meta-commands (\\i, \\copy, \\set ...) belong to the psql client, "
                    "not the server; write plain SQL")
        words = _words(text)
        if words[:1] == ("COPY",) and ("STDIN" in words or "STDOUT" in words):
            return ("COPY ... FROM STDIN needs the psql client's data stream; use INSERT, "
                    "or COPY from a file the server can read")
        return ""

    def ensure_scratch(self, url: Any) -> None:
        if not self.query("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)):
            self.execute(f"CREATE DATABASE {self.quote_ident(url.database)}")

    # -- lock: a session advisory lock, polled so a waiter holds no transaction ----------
    def acquire_lock(self, key: str, timeout_s: float) -> None:
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        deadline = time.monotonic() + timeout_s
        while not self.query("SELECT pg_try_advisory_lock(%s)", (lock_id,))[0][0]:
            if signals.received:  # a worker thread (several targets): stop waiting
                raise KeyboardInterrupt
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"could not get the migration lock within {timeout_s:g}s; "
                    f"held by {self._holder(lock_id)}",
                    hint="wait for the other run to finish, or raise --lock-timeout",
                )
            time.sleep(0.1)
        self._lock_key = lock_id

    def _holder(self, lock_id: int) -> str:
        classid, objid = (lock_id >> 32) & 0xFFFFFFFF, lock_id & 0xFFFFFFFF
        rows = self.query(
            "SELECT a.pid, a.application_name, a.client_addr::text, a.usename, a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
            "AND l.objsubid = 1",
            (classid, objid),
        )
        if not rows:
            return "another session (it may just have finished)"
        pid, app, addr, user, since = rows[0]
        return (f"pid {pid} (application_name '{app}', user {user}, client {addr or 'local socket'}, "
                f"connected since {since:%Y-%m-%d %H:%M:%S %Z})")

    def release_lock(self) -> None:
        if self._lock_key is not None and self.conn is not None and not self.conn.closed:
            key, self._lock_key = self._lock_key, None
            self.query("SELECT pg_advisory_unlock(%s)", (key,))

    # -- statements ---------------------------------------------------------------------
    @contextmanager
    def deferred(self) -> Iterator[bool]:
        # One simple-protocol query string holds the whole file with its bookkeeping: one
        # round trip per migration instead of one per statement.
        import psycopg

        self._queue = []
        try:
            yield True
            text = ";\n".join(self._queue)
            self._queue = None
            if text:
                try:
                    self.conn.execute(text, prepare=False)
                except psycopg.Error as exc:
                    raise _translate(exc) from None
        finally:
            self._queue = None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        import psycopg

        if self._queue is not None:
            self._queue.append(self._inline(sql, params) if params else sql)
            return -1
        try:
            cursor = self.conn.execute(sql, params or None, prepare=False)
            return cursor.rowcount
        except psycopg.Error as exc:
            raise _translate(exc) from None

    def _inline(self, sql: str, params: tuple[Any, ...]) -> str:
        from psycopg import sql as pgsql

        return inline_params(sql, params, _SERVER_VALUES,
                             lambda v: pgsql.Literal(v).as_string(self.conn))

    def timestamp_param(self, value: Any) -> Any:
        # aware UTC, so the server's TimeZone setting cannot shift applied_at
        return value.replace(tzinfo=UTC) if isinstance(value, datetime) else value

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            return self.conn.execute(sql, params or None).fetchall()
        except psycopg.Error as exc:
            raise _translate(exc) from None

    # -- catalog ------------------------------------------------------------------------
    def _split(self, table: str) -> tuple[str, str]:
        schema, _, name = table.rpartition(".")
        return (schema or self._schema), name

    def qualify(self, table: str) -> str:
        schema, name = self._split(table)
        return f"{self.quote_ident(schema)}.{self.quote_ident(name)}"

    def prepare_namespace(self, table: str) -> None:
        schema, _ = self._split(table)
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.quote_ident(schema)}")

    def table_exists(self, table: str) -> bool:
        schema, name = self._split(table)
        rows = self.query(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s",
            (schema, name),
        )
        return bool(rows)

    def current_user(self) -> str:
        return str(self.query("SELECT current_user")[0][0])


def _words(text: str) -> tuple[str, ...]:
    from migrator.lexer import leading_keywords

    head = " ".join(text.split()[:12]).upper().replace("(", " ").replace(")", " ")
    return leading_keywords(text, 1) + tuple(head.split()[1:])


def _translate(exc: Any) -> StatementError:
    diag = getattr(exc, "diag", None)
    code = getattr(exc, "sqlstate", None) or ""
    if code == "57014" and signals.received:  # query_canceled: cancel() on a signal
        raise KeyboardInterrupt
    message = (getattr(diag, "message_primary", None) or str(exc)).strip()
    detail = getattr(diag, "message_detail", None)
    hint = getattr(diag, "message_hint", None)
    if detail:
        message += f" ({detail})"
    if hint:
        message += f"; hint: {hint}"
    position = getattr(diag, "statement_position", None)
    timeout = _TIMEOUT_CODES.get(code, "")
    if timeout:
        message += f" [{timeout} fired]"
    return StatementError(message, code=code,
                          position=int(position) - 1 if position else None, timeout=timeout)


def _clean(message: str, password: str) -> str:
    message = message.strip().splitlines()[0] if message.strip() else message
    return message.replace(password, "***") if password else message
