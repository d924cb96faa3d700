"""PostgreSQL through psycopg 3, in autocommit mode with explicit BEGIN/COMMIT."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from migrator import signals
from migrator.dialects import (
    APPLICATION_NAME,
    Dialect,
    ScriptState,
    StatementDone,
    StatementError,
    StepFailed,
    TableStats,
)
from migrator.errors import ConnectError, DriverMissingError
from migrator.model import Timeouts

if TYPE_CHECKING:
    from migrator.script import Step

# psycopg logs (as a warning, on its "psycopg" logger) the second error it ignores when a
# pipeline that already failed is closed. The first error is the one migrator reports; with
# no handler of ours, Python's last-resort handler printed that line on stderr above the
# report. A library caller who configures logging still receives it.
logging.getLogger("psycopg").addHandler(logging.NullHandler())

_TIMEOUT_CODES = {"55P03": "lock-wait-timeout", "57014": "statement-timeout"}
# insufficient_privilege; invalid_name, name_too_long, reserved_name (a pg_ schema)
_CAUSES = {"42501": "privileges", "42602": "name", "42622": "name", "42939": "name"}

_CONCURRENT_INDEX = re.compile(
    r"\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"((?:\"[^\"]+\"|[\w$]+)(?:\.(?:\"[^\"]+\"|[\w$]+))?)",
    re.IGNORECASE,
)
# user relations by name, unqualified in the default schema; never the catalog's own
_RELATIONS = (
    "SELECT CASE WHEN n.nspname = current_schema() THEN c.relname "
    "ELSE n.nspname || '.' || c.relname END, {what} "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ({kinds}) AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
)
_ALL = "'r', 'p', 'm', 'i', 'I', 'S', 'v', 'f'"
# ACCESS SHARE on every user table, from one statement (regclass quotes each name)
_SHARE_EVERY_TABLE = """DO $$DECLARE r record; BEGIN
FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%' LOOP
  EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', r.rel);
END LOOP; END$$"""
_OK = (1, 2)  # psycopg.pq.ExecStatus COMMAND_OK, TUPLES_OK
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE


def _one_transaction(steps: list[Step]) -> bool:
    """A script whose every step runs inside one transaction (after an optional reset)."""
    from migrator.script import Begin, Commit, ResetSession

    body = steps[1:] if steps and isinstance(steps[0], ResetSession) else steps
    return (
        len(body) >= 2
        and isinstance(body[0], Begin)
        and isinstance(body[-1], Commit)
        and not any(isinstance(s, (Begin, Commit)) for s in body[1:-1])
    )


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
        ("REINDEX", "SCHEMA"),
        ("REINDEX", "DATABASE"),
        ("REINDEX", "SYSTEM"),
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
        self._wanted = 0  # the lock id try_lock() could not take
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
        params.update(
            host=u.host,
            dbname=u.database,
            application_name=APPLICATION_NAME,
            connect_timeout=max(1, int(connect_timeout_s)),
        )
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

    # RESET ALL keeps the connection (and its session advisory lock) but drops every SET, the
    # identity excepted: RESET SESSION AUTHORIZATION returns to the user the connection logged
    # in as (always allowed, superuser or not), RESET ROLE to its own role (its default
    # included); DISCARD TEMP drops the temporary tables a previous file made (DISCARD ALL
    # would release the advisory lock)
    _RESET = ("RESET SESSION AUTHORIZATION", "RESET ALL", "RESET ROLE", "DISCARD TEMP")

    def reset_session(self) -> None:
        for sql in self._RESET:
            self.execute(sql)

    # the user and role the connection logged in as, for this transaction only
    _OWN_IDENTITY = ("SET LOCAL SESSION AUTHORIZATION DEFAULT", "SET LOCAL role TO DEFAULT")

    def may_change_identity(self, statement_text: str) -> bool:
        from migrator.lexer import leading_keywords

        words = leading_keywords(statement_text, 3)
        return words[:1] in (("SET",), ("RESET",)) and ("ROLE" in words or "SESSION" in words)

    def own_identity(self) -> None:
        for sql in self._OWN_IDENTITY:
            self.execute(sql)

    def apply_timeouts(self, timeouts: Timeouts, *, in_transaction: bool) -> None:
        for sql in self._timeout_sql(timeouts, local=in_transaction):
            self.execute(sql)

    @staticmethod
    def _timeout_sql(timeouts: Timeouts, *, local: bool) -> list[str]:
        scope = "SET LOCAL" if local else "SET"
        sql = []
        if timeouts.lock_wait_ms is not None:
            sql.append(f"{scope} lock_timeout = {int(timeouts.lock_wait_ms)}")
        if timeouts.statement_ms is not None:
            sql.append(f"{scope} statement_timeout = {int(timeouts.statement_ms)}")
        return sql

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
        return (
            f"a failed CREATE INDEX CONCURRENTLY leaves the index {match.group(1)} behind, "
            f"INVALID; drop it (DROP INDEX CONCURRENTLY IF EXISTS {match.group(1)}) before "
            "running the file again"
        )

    def unsupported(self, statement_text: str) -> str:
        text = statement_text.lstrip()
        if text.startswith("\\"):
            command = text.split(None, 1)[0]
            if command in ("\\restrict", "\\unrestrict"):
                # pg_dump writes these since 17.6, 16.10, 15.14, 14.19 and 13.22 (CVE-2025-8714)
                return (
                    f"{command} is a psql meta-command that pg_dump writes around its output; "
                    "delete the \\restrict and \\unrestrict lines (they only guard psql)"
                )
            return (
                f"psql meta-commands ({command} here; \\i, \\copy, \\set ...) belong to the psql "
                "client, not the server; write plain SQL"
            )
        words = _words(text)
        if words[:1] == ("COPY",) and ("STDIN" in words or "STDOUT" in words):
            return (
                "COPY ... FROM STDIN needs the psql client's data stream; use INSERT, "
                "or COPY from a file the server can read"
            )
        if words[:2] == ("DISCARD", "ALL"):
            return (
                "DISCARD ALL also releases migrator's lock on the database (a session advisory "
                "lock), so another run could start; use RESET ALL, DISCARD TEMP or DISCARD PLANS"
            )
        return ""

    def ensure_scratch(self, url: Any) -> None:
        if not self.query("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)):
            self.execute(f"CREATE DATABASE {self.quote_ident(url.database)}")

    def scratch_drops(self, keep: frozenset[str]) -> list[str]:
        # schemas and extensions not kept go whole; in the kept schemas (public), every relation,
        # routine and type goes, but not what an extension owns. What initdb made (public, plpgsql:
        # an oid below FirstNormalObjectId) is never dropped whole: no pg_dump recreates it.
        kept = list(keep)
        rows = self.query(_SCRATCH_DROPS, (kept, kept))
        return [sql for (sql,) in rows]

    # -- lint --measure -----------------------------------------------------------------
    def table_identities(self) -> dict[str, Any]:
        # a rewrite (ALTER TYPE, VACUUM FULL, CLUSTER, TRUNCATE) gives the table a new file
        return dict(self.query(_RELATIONS.format(what="relfilenode", kinds="'r', 'm'")))

    def relation_names(self) -> dict[Any, str]:
        return {oid: name for name, oid in self.query(_RELATIONS.format(what="c.oid", kinds=_ALL))}

    shows_locks = True

    def held_locks(self, session: Any = None) -> list[tuple[Any, str]]:
        return [
            (oid, mode)
            for oid, mode in self.query(
                "SELECT relation, mode FROM pg_locks WHERE pid = coalesce(%s::int, pg_backend_pid()) "
                "AND locktype = 'relation' AND granted",
                (session,),
            )
        ]

    def session_key(self) -> Any:
        return self.query("SELECT pg_backend_pid()")[0][0]

    def waits(self, session: Any) -> list[tuple[Any, str]]:
        return [
            (oid, mode)
            for oid, mode in self.query(
                "SELECT relation, mode FROM pg_locks WHERE pid = %s::int AND NOT granted", (session,)
            )
        ]

    def hold_watch(self) -> None:
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        self.execute(_SHARE_EVERY_TABLE)

    # -- the database itself (migrator.dbadmin) -------------------------------------------
    # 42501 insufficient_privilege: no CREATEDB, or not the owner; 55006 object_in_use
    admin_errors = {"42501": "denied", "55006": "in-use"}

    def connect_server(self, *, connect_timeout_s: float = 10) -> None:
        # as createdb does: the maintenance database `postgres`, else `template1`
        first: ConnectError | None = None
        for name in ("postgres", "template1"):
            server = PostgresDialect(self.url.with_database(name))
            try:
                server.connect(read_only=True, connect_timeout_s=connect_timeout_s)
            except ConnectError as exc:
                first = first or exc
                continue
            self.conn, server.conn = server.conn, None
            return
        assert first is not None
        raise ConnectError(
            first.message,
            hint="create and drop connect to the server's `postgres` database, else `template1`; "
            "check host, port, user and password in the URL, and that this user may connect there",
        )

    def database_exists(self) -> bool:
        return bool(self.query("SELECT 1 FROM pg_database WHERE datname = %s", (self.url.database,)))

    def create_database(self) -> None:
        self.execute(self._quoted_by_server("CREATE DATABASE %%I"))

    def drop_database(self) -> None:
        self.execute(self._quoted_by_server("DROP DATABASE %%I"))

    def _quoted_by_server(self, template: str) -> str:
        # the server quotes the name (format's %I): no quoting rules of ours to get wrong
        return str(self.query(f"SELECT format('{template}', %s::text)", (self.url.database,))[0][0])

    def other_sessions(self) -> list[str]:
        # client backends only: DROP DATABASE stops autovacuum workers itself. Another user's
        # client_addr is hidden (NULL) without pg_read_all_stats, so an address is shown if known.
        rows = self.query(
            "SELECT usename, host(client_addr), application_name FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "ORDER BY backend_start",
            (self.url.database,),
        )
        return [
            f"{user or '?'}" + (f"@{addr}" if addr else "") + (f" ({app})" if app else "")
            for user, addr, app in rows
        ]

    # -- lock: a session advisory lock, polled so a waiter holds no transaction ----------
    def try_lock(self, key: str) -> bool:
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        if not self.query("SELECT pg_try_advisory_lock(%s)", (lock_id,))[0][0]:
            self._wanted = lock_id
            return False
        self._lock_key = lock_id
        return True

    def lock_holder(self) -> str:
        return self._holder(self._wanted)

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
        return (
            f"pid {pid} (application_name '{app}', user {user}, client {addr or 'local socket'}, "
            f"connected since {since:%Y-%m-%d %H:%M:%S %Z})"
        )

    def release_lock(self) -> None:
        if self._lock_key is not None and self.conn is not None and not self.conn.closed:
            key, self._lock_key = self._lock_key, None
            self.query("SELECT pg_advisory_unlock(%s)", (key,))

    # -- statements ---------------------------------------------------------------------
    def run_script(
        self,
        steps: Iterable[Step],
        state: ScriptState,
        *,
        on_statement: StatementDone | None = None,
        one_by_one: bool = False,
    ) -> None:
        # A script that is one transaction travels as one pipeline: one round trip per file
        # instead of one per step, every value still bound. The server stops at the first
        # error, and psycopg gives each step its own result, so the failing step is the first
        # without one: found without running anything twice.
        if one_by_one:  # (a big file's steps are produced as it is read: never listed)
            super().run_script(steps, state, on_statement=on_statement)
            return
        steps = list(steps)
        if not _one_transaction(steps):
            super().run_script(steps, state, on_statement=on_statement)
            return
        self._pipeline(steps, state, on_statement)

    def _pipeline(self, steps: list[Step], state: ScriptState, on_statement: StatementDone | None) -> None:
        import psycopg

        from migrator.script import Run

        # the file's own statements (a callback's compiled into its transaction are not)
        statements = sum(1 for s in steps if isinstance(s, Run) and s.origin is None)
        cursors: list[Any] = []  # per step; None: a step with nothing to send
        try:
            with self.conn.pipeline() as pipeline:
                for step in steps:
                    sql, params = self._pipelined(step, statements)
                    cursor = self.conn.cursor() if sql else None
                    for text in sql:
                        cursor.execute(text, params or None, prepare=False)  # type: ignore[union-attr]
                    cursors.append(cursor)
                pipeline.sync()
        except psycopg.Error as exc:
            done = next(
                (
                    i
                    for i, c in enumerate(cursors)
                    if c is not None and (c.pgresult is None or c.pgresult.status not in _OK)
                ),
                len(cursors) - 1,
            )
            self._account(steps[:done], state, on_statement)
            state.in_transaction = self.conn.info.transaction_status != _IDLE
            raise StepFailed(steps[done], _translate(exc)) from None
        self._account(steps, state, on_statement)
        state.in_transaction = False

    @staticmethod
    def _account(steps: list[Step], state: ScriptState, on_statement: StatementDone | None) -> None:
        from migrator.script import Run

        for step in steps:
            state.steps_done += 1
            if isinstance(step, Run):
                state.statements_done = step.number
                if on_statement is not None:
                    on_statement(step, 0.0)

    def _pipelined(self, step: Step, statements: int) -> tuple[list[str], tuple[Any, ...]]:
        """The SQL of one step in a pipeline. Values known only as it runs are computed by
        the server: `now()` is when the transaction began."""
        from migrator.script import (
            AFFECTED,
            ELAPSED_MS,
            NOW_UTC,
            STATEMENTS_RUN,
            Begin,
            Commit,
            OwnIdentity,
            ResetSession,
            Run,
            SetTimeouts,
            Write,
        )

        if isinstance(step, Run):
            return [step.statement.text], ()
        if isinstance(step, Write):
            parts = step.sql.split("%s")
            sql, params = parts[0], []
            for part, value in zip(parts[1:], step.params, strict=True):
                if value is ELAPSED_MS:
                    sql += "(EXTRACT(EPOCH FROM clock_timestamp() - now()) * 1000)::bigint"
                elif value is NOW_UTC:
                    sql += "clock_timestamp()"
                elif value is AFFECTED:
                    raise ValueError("AFFECTED has no place in a pipelined script")
                else:
                    sql += "%s"
                    params.append(statements if value is STATEMENTS_RUN else value)
                sql += part
            return [sql], tuple(params)
        if isinstance(step, Begin):
            return ["BEGIN", *([] if step.durable else ["SET LOCAL synchronous_commit = off"])], ()
        if isinstance(step, Commit):
            return ["COMMIT"], ()
        if isinstance(step, SetTimeouts):
            return self._timeout_sql(step.timeouts, local=step.local), ()
        if isinstance(step, ResetSession):
            return list(self._RESET), ()
        if isinstance(step, OwnIdentity):
            return list(self._OWN_IDENTITY), ()
        raise TypeError(step)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        import psycopg

        try:
            cursor = self.conn.execute(sql, params or None, prepare=False)
            return cursor.rowcount
        except psycopg.Error as exc:
            raise _translate(exc) from None

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
        # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema is
        # there: a user who may only create tables in public would be refused
        schema, _ = self._split(table)
        if not self.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)):
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

    def table_sizes(self, names: list[str]) -> list[TableStats]:
        # pg_relation_size() and a ::regclass cast open the table, taking an AccessShareLock
        # that queues behind an ACCESS EXCLUSIVE holder; pg_class's columns are read without
        # touching the table. reltuples is -1 (PG 14+) until the first VACUUM/ANALYZE, and
        # relpages is 0 then too: both unknown. The pages of the table's TOAST table and
        # indexes count in its bytes. lock_timeout bounds the catalog's own (rare) locks.
        if not names:
            return []
        self.execute("BEGIN")
        try:
            self.execute("SET LOCAL lock_timeout = '1s'")
            rows = self.query(_TABLE_SIZES, (self._schema, list(names)))
        finally:
            self.execute("COMMIT")
        return [
            TableStats(name, None, None)
            if tuples is None or tuples < 0
            else TableStats(name, int(tuples), int(size))
            for name, tuples, size in rows
        ]


_TABLE_SIZES = (
    "SELECT c.relname, c.reltuples, (c.relpages"
    " + COALESCE((SELECT t.relpages FROM pg_catalog.pg_class t WHERE t.oid = c.reltoastrelid), 0)"
    " + COALESCE((SELECT sum(i.relpages) FROM pg_catalog.pg_index x"
    " JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0))"
    " * current_setting('block_size')::bigint"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p', 'm')"
)


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
    return StatementError(
        message,
        code=code,
        position=int(position) - 1 if position else None,
        timeout=timeout,
        cause=_CAUSES.get(code, ""),
    )


def _clean(message: str, password: str) -> str:
    message = message.strip().splitlines()[0] if message.strip() else message
    return message.replace(password, "***") if password else message


# the DROP statements that empty a --scratch-url database (scratch_drops), one query
_USER_SCHEMA = (
    "{n}.nspname NOT IN ('pg_catalog', 'information_schema') AND {n}.nspname NOT LIKE 'pg\\_toast%' "
    "AND {n}.nspname NOT LIKE 'pg\\_temp%'"
)
_NO_EXTENSION = (
    "NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{cls}'::regclass "
    "AND x.objid = {oid} AND x.deptype = 'e')"
)
_SCRATCH_DROPS = (
    (
        "SELECT sql FROM ("
        f"SELECT 1, format('DROP SCHEMA IF EXISTS %I CASCADE', n.nspname) FROM pg_namespace n "
        f"WHERE {_USER_SCHEMA.format(n='n')} AND n.nspname <> ALL(:keep) AND n.oid >= 16384 "
        f"AND {_NO_EXTENSION.format(cls='pg_namespace', oid='n.oid')} "
        "UNION ALL SELECT 2, format('DROP EXTENSION IF EXISTS %I CASCADE', e.extname) FROM pg_extension e "
        "WHERE e.extname <> ALL(:keep) AND e.oid >= 16384 "
        # tables first: a table takes its serial and identity sequences with it
        "UNION ALL SELECT CASE WHEN c.relkind IN ('r', 'p', 'f') THEN 3 ELSE 4 END, "
        "format('DROP %s IF EXISTS %s CASCADE', CASE c.relkind WHEN 'v' THEN 'VIEW' "
        "WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' "
        "ELSE 'TABLE' END, c.oid::regclass) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_USER_SCHEMA.format(n='n')} "
        f"AND {_NO_EXTENSION.format(cls='pg_class', oid='c.oid')} "
        "UNION ALL SELECT 5, format('DROP %s IF EXISTS %s CASCADE', CASE p.prokind WHEN 'a' THEN 'AGGREGATE' "
        "ELSE 'ROUTINE' END, p.oid::regprocedure) "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE {_USER_SCHEMA.format(n='n')} AND {_NO_EXTENSION.format(cls='pg_proc', oid='p.oid')} "
        "UNION ALL SELECT 6, format('DROP %s IF EXISTS %s CASCADE', CASE t.typtype WHEN 'd' THEN 'DOMAIN' "
        "ELSE 'TYPE' END, t.oid::regtype) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE t.typtype IN ('e', 'd', 'r', 'c') "
        "AND (t.typtype <> 'c' OR (SELECT r.relkind FROM pg_class r WHERE r.oid = t.typrelid) = 'c') "
        f"AND {_USER_SCHEMA.format(n='n')} AND {_NO_EXTENSION.format(cls='pg_type', oid='t.oid')}"
        ") AS drops (step, sql) ORDER BY step"
    )
    .replace("%", "%%")
    .replace(":keep", "%s")
)  # bound: every other % is the text's own
