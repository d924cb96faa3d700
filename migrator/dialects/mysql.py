"""MySQL and MariaDB through mysql-connector-python."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from migrator import signals
from migrator.dialects import APPLICATION_NAME, ELAPSED_MS, NOW_UTC, Dialect, StatementError, inline_params
from migrator.errors import ConnectError, DriverMissingError, LockTimeoutError
from migrator.model import Timeouts

# errno -> which session limit fired
_TIMEOUT_ERRNOS = {1205: "lock-wait-timeout", 3024: "statement-timeout", 1969: "statement-timeout"}
_NEAR = re.compile(r"near '(.*)' at line (\d+)", re.DOTALL)
_SERVER_VALUES = {
    ELAPSED_MS: "ROUND(TIMESTAMPDIFF(MICROSECOND, @migrator_started, NOW(6)) / 1000)",
    NOW_UTC: "UTC_TIMESTAMP(6)",
}
# Statements that leave no session state behind (leading keywords; see may_change_session).
_SESSION_SAFE = {
    ("INSERT",), ("UPDATE",), ("DELETE",), ("REPLACE",), ("TRUNCATE",), ("RENAME",),
    ("CREATE", "TABLE"), ("CREATE", "INDEX"), ("CREATE", "UNIQUE"), ("CREATE", "FULLTEXT"),
    ("CREATE", "SPATIAL"), ("CREATE", "VIEW"), ("ALTER", "TABLE"), ("DROP", "TABLE"),
    ("DROP", "INDEX"), ("DROP", "VIEW"),
}


class MysqlDialect(Dialect):
    name = "mysql"
    # DDL commits implicitly on MySQL/MariaDB: a file can never be rolled back as a whole,
    # so the runner brackets it with a `running` row instead of a transaction.
    transactional_ddl = False
    sends_bracketed_file_at_once = True  # MULTI_STATEMENTS stops at the first error
    placeholder = "%s"
    text_type = "LONGTEXT"
    timestamp_type = "DATETIME(6)"
    identity_pk = "BIGINT AUTO_INCREMENT PRIMARY KEY"

    def __init__(self, url: Any) -> None:
        super().__init__(url)
        self.conn: Any = None
        # GET_LOCK lives on its own connection: resetting the work session would release it.
        self._lock_conn: Any = None
        self._lock_name = ""
        self.is_mariadb = False
        self._pending: list[str] = []  # bookkeeping to send in front of the next statement
        self._tables_locked = False  # the running file holds LOCK TABLES
        self._cancelled = False  # cancel() ran (a signal, several targets)
        self._script: list[tuple[str, bool]] | None = None  # deferred(): (sql, is a statement)

    def _open(self, connect_timeout_s: float) -> Any:
        try:
            import mysql.connector
            from mysql.connector.constants import ClientFlag
        except ImportError:
            raise DriverMissingError("a mysql URL needs mysql-connector-python",
                                     hint="pip install 'migrator[mysql]'") from None
        u = self.url
        options: dict[str, Any] = dict(
            host=u.host, port=u.port or 3306, user=u.user or "root", password=u.password,
            database=u.database, autocommit=True, charset="utf8mb4", use_pure=True,
            connection_timeout=max(1, int(connect_timeout_s)),
            conn_attrs={"program_name": APPLICATION_NAME},
            client_flags=[ClientFlag.MULTI_STATEMENTS],
        )
        options.update(dict(u.params))
        try:
            return mysql.connector.connect(**options)
        except mysql.connector.Error as exc:
            message = str(getattr(exc, "msg", None) or exc)
            if u.password:
                message = message.replace(u.password, "***")
            raise ConnectError(
                f"cannot connect to {u.masked}: {message}",
                hint="check host, port, user, password and database in the URL, and that the server is up",
            ) from None

    def connect(self, *, read_only: bool = False, connect_timeout_s: float = 10) -> None:
        self._timeout = connect_timeout_s
        self.conn = self._open(connect_timeout_s)
        self.is_mariadb = "mariadb" in str(self.conn.server_info).lower()

    def close(self) -> None:
        self.release_lock()
        if self.conn is not None:
            try:
                self._flush()
            except StatementError:
                pass  # the version row then shows the state before; reported on the next run
            self.conn.close()
            self.conn = None

    def may_change_session(self, statement_text: str) -> bool:
        # A reset costs three round trips per file here, so skip it after files made only of
        # plain DDL/DML that cannot leave session state behind. Anything else (SET, USE,
        # CALL, LOCK TABLES, temporary tables, @user variables anywhere) resets.
        from migrator.lexer import leading_keywords

        if "@" in statement_text:
            return True
        words = leading_keywords(statement_text, 2)
        return not (words[:1] in _SESSION_SAFE or words[:2] in _SESSION_SAFE)

    def reset_session(self) -> None:
        # COM_RESET_CONNECTION: user variables, sql_mode, FOREIGN_KEY_CHECKS... back to the
        # global defaults, the character set included, hence SET NAMES again.
        self._flush()
        self.conn.cmd_reset_connection()
        self._tables_locked = False
        # the reset keeps the current database, so a `USE other` in a file would leak
        self.piggyback("SET NAMES utf8mb4")
        self.piggyback(f"USE {self.quote_ident(self.url.database)}")

    def apply_timeouts(self, timeouts: Timeouts, *, in_transaction: bool) -> None:
        if timeouts.lock_wait_ms is not None:
            seconds = max(1, round(timeouts.lock_wait_ms / 1000))
            self.execute(f"SET SESSION lock_wait_timeout = {seconds}, "
                         f"innodb_lock_wait_timeout = {seconds}")
        if timeouts.statement_ms is not None:
            if self.is_mariadb:
                self.execute(f"SET SESSION max_statement_time = {timeouts.statement_ms / 1000:.3f}")
            else:
                self.execute(f"SET SESSION max_execution_time = {int(timeouts.statement_ms)}")

    def cancel(self) -> None:
        if self.conn is None:
            return
        # a killed SLEEP() or a statement between two reads may end without an error: the
        # next read sees the flag
        self._cancelled = True
        killer = self._open(self._timeout)
        try:
            for waiting in (self.conn, self._lock_conn):  # a statement, or GET_LOCK's wait
                if waiting is not None:
                    killer.cmd_query(f"KILL QUERY {int(waiting.connection_id)}".encode())
        finally:
            killer.close()

    def recover(self) -> None:
        # The pure-Python driver was interrupted mid-read: its socket is unusable and the server
        # would go on running the statement. Kill the statement from a new connection, keep that.
        old, self.conn = self.conn, self._open(self._timeout)
        self._cancelled = False  # a cancel was for the old connection
        try:
            self.execute(f"KILL QUERY {int(old.connection_id)}")
        except StatementError:
            pass  # it already finished
        try:
            old.close()
        except Exception:  # noqa: BLE001 - a half-read socket may refuse a clean close
            pass

    # -- lock: GET_LOCK on a dedicated connection; it dies with that connection ----------
    def acquire_lock(self, key: str, timeout_s: float) -> None:
        import mysql.connector

        name = "migrator:" + hashlib.sha256(f"{self.url.database}/{key}".encode()).hexdigest()[:40]
        self._lock_conn = self._open(self._timeout)
        cursor = self._lock_conn.cursor()
        try:
            cursor.execute("SELECT GET_LOCK(%s, %s)", (name, max(0, round(timeout_s))))
            (got,) = cursor.fetchone()
            if got != 1 and self._cancelled and signals.received:  # killed while it waited
                self._lock_conn.close()
                self._lock_conn = None
                raise KeyboardInterrupt
            holder = None
            if got != 1:
                cursor.execute("SELECT IS_USED_LOCK(%s)", (name,))
                (holder,) = cursor.fetchone()
        except mysql.connector.Error as exc:  # e.g. TiDB before 6.1 has no GET_LOCK
            self._lock_conn.close()
            self._lock_conn = None
            error = _translate(exc, "SELECT GET_LOCK(...)")
            error.message = (f"the server refused migrator's lock (GET_LOCK): {error.message}; "
                             "without it two runs could apply one version twice, so nothing ran")
            raise error from None
        if got != 1:
            self._lock_conn.close()
            self._lock_conn = None
            raise LockTimeoutError(
                f"could not get the migration lock within {timeout_s:g}s; "
                f"held by {self._describe(holder)}",
                hint="wait for the other run to finish, or raise --lock-timeout",
            )
        self._lock_name = name

    def _describe(self, connection_id: Any) -> str:
        if connection_id is None:
            return "another session (it may just have finished)"
        rows = self.query(
            "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = %s",
            (int(connection_id),),
        )
        if not rows:
            return f"connection id {connection_id}"
        user, host, seconds = rows[0]
        return f"connection id {connection_id} (user {user}, host {host}, for {seconds}s)"

    def release_lock(self) -> None:
        if self._lock_conn is not None:
            try:
                cursor = self._lock_conn.cursor()
                cursor.execute("SELECT RELEASE_LOCK(%s)", (self._lock_name,))
                cursor.fetchall()
            finally:
                self._lock_conn.close()
                self._lock_conn = None

    # -- statements ---------------------------------------------------------------------
    begin_sql = "START TRANSACTION"

    def piggyback(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        # Progress rows and session setup travel with the next statement as one
        # multi-statement query: one round trip per migration statement, not two.
        self._pending.append(self._bind(sql, params) if params else sql)

    def write_bookkeeping(self, sql: str, params: tuple[Any, ...], *, later: bool) -> None:
        if self._tables_locked:
            # Under the file's own LOCK TABLES this session may touch no other table: write
            # the version row from the lock's connection instead (autocommit there).
            self._side_run(self._bind(sql, params) if params else sql)
        else:
            super().write_bookkeeping(sql, params, later=later)

    def end_file(self) -> None:
        if self._tables_locked:
            self.execute("UNLOCK TABLES")

    def _side_run(self, text: str) -> None:
        import mysql.connector

        if self._lock_conn is None:
            self._lock_conn = self._open(self._timeout)
        try:
            for result in self._lock_conn.cmd_query_iter(text.encode("utf-8")):
                if "columns" in result:
                    self._lock_conn.get_rows()
        except mysql.connector.Error as exc:
            error = _translate(exc, text)
            error.bookkeeping = True
            raise error from None

    @contextmanager
    def deferred(self) -> Iterator[bool]:
        # A file of plain statements with its progress rows as one multi-statement query: the
        # server stops at the first error, so the rows written before it are exactly what ran.
        self._script = [("SET @migrator_started = NOW(6)", False)]
        try:
            yield True
            script, self._script = self._script, None
            script += [(sql, False) for sql in self._pending]
            self._pending = []
            if script:
                self._run_script(_transactions_around_data_changes(script))
        finally:
            self._script = None

    def _run_script(self, script: list[tuple[str, bool]]) -> None:
        import mysql.connector

        done = 0  # results read so far, one per item
        try:
            for result in self.conn.cmd_query_iter(";\n".join(sql for sql, _ in script).encode("utf-8")):
                if "columns" in result:
                    self.conn.get_rows()
                done += 1
        except mysql.connector.Error as exc:
            sql, is_statement = script[done]
            error = _translate(exc, sql)
            error.bookkeeping = not is_statement
            error.statements_before = sum(1 for _, s in script[:done] if s)
            raise error from None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        if self._script is not None:
            self._script += [(text, False) for text in self._pending]
            self._pending = []
            self._script.append((self._bind(sql, params) if params else sql, True))
            return -1
        return self._run(sql, params)[0]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params)[1]

    def _run(self, sql: str, params: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        # cmd_query_iter sends the text as it is. cursor.execute would first run the
        # connector's own DELIMITER script parser over it, which rewrites or rejects
        # statements (and stored file text) that merely mention DELIMITER.
        import mysql.connector

        text = self._bind(sql, params) if params else sql
        ahead, self._pending = self._pending, []
        affected, rows, done = -1, [], 0
        try:
            for result in self.conn.cmd_query_iter(";\n".join([*ahead, text]).encode("utf-8")):
                mine = done >= len(ahead)
                if "columns" in result:
                    fetched = self.conn.get_rows()[0]
                    rows = rows or ([tuple(r) for r in fetched] if mine else [])
                elif mine:
                    affected = int(result.get("affected_rows", -1))
                done += 1
        except mysql.connector.Error as exc:
            error = _translate(exc, sql)
            # results arrive in order: a failure before ours was a piggybacked statement's
            error.bookkeeping = done < len(ahead)
            raise error from None
        if self._cancelled and signals.received:
            self._cancelled = False  # once: the writes that record the stop must go through
            raise KeyboardInterrupt
        self._track_table_locks(sql)
        return affected, rows

    def _track_table_locks(self, sql: str) -> None:
        from migrator.lexer import leading_keywords

        words = leading_keywords(sql, 2)
        if words[:1] == ("LOCK",) and words[1:2] in (("TABLES",), ("TABLE",)):
            self._tables_locked = True
        elif words[:2] in (("UNLOCK", "TABLES"), ("UNLOCK", "TABLE")):
            self._tables_locked = False

    def _flush(self) -> None:
        if self._pending and self.conn is not None:
            self._run("DO 0", ())

    def _bind(self, sql: str, params: tuple[Any, ...]) -> str:
        conv = self.conn.converter
        return inline_params(sql, params, _SERVER_VALUES,
                             lambda v: bytes(conv.quote(conv.escape(conv.to_mysql(v)))).decode("utf-8"))

    # -- catalog ------------------------------------------------------------------------
    def quote_ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def qualify(self, table: str) -> str:
        return f"{self.quote_ident(self.url.database)}.{self.quote_ident(table)}"

    def table_exists(self, table: str) -> bool:
        rows = self.query(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (self.url.database, table),
        )
        return bool(rows)

    def current_user(self) -> str:
        return str(self.query("SELECT CURRENT_USER()")[0][0])


def _transactions_around_data_changes(script: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Each INSERT/UPDATE/DELETE of the file commits together with the progress row written
    after it (one commit instead of two, and the row can never lag behind it); the last one
    commits with the closing writes. DDL commits on its own whatever we do."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(script):
        sql, is_statement = script[i]
        out.append(script[i])
        i += 1
        if not (is_statement and _changes_data(sql)):
            continue
        out.insert(len(out) - 1, ("START TRANSACTION", False))
        while i < len(script) and not script[i][1] and script[i][0] != "START TRANSACTION":
            out.append(script[i])  # its progress row
            i += 1
        if i < len(script) and script[i][0] == "START TRANSACTION":
            i += 1  # the closing writes follow: they join this transaction and commit it
        else:
            out.append(("COMMIT", False))
    return out


def _changes_data(sql: str) -> bool:
    from migrator.lexer import leading_keywords

    return leading_keywords(sql, 1)[:1] in (("INSERT",), ("UPDATE",), ("DELETE",), ("REPLACE",))


def _translate(exc: Any, sql: str) -> StatementError:
    errno = getattr(exc, "errno", None)
    if errno == 1317 and signals.received:  # query interrupted: cancel() on a signal
        raise KeyboardInterrupt
    sqlstate = getattr(exc, "sqlstate", None) or ""
    message = str(getattr(exc, "msg", None) or exc)
    code = f"{errno}" + (f"/{sqlstate}" if sqlstate else "") if errno else sqlstate
    timeout = _TIMEOUT_ERRNOS.get(errno or 0, "")
    if timeout:
        message += f" [{timeout} fired]"
    return StatementError(message, code=code, position=_position(message, sql), timeout=timeout)


def _position(message: str, sql: str) -> int | None:
    """Map MySQL's "near '...' at line N" to an offset in the statement."""
    match = _NEAR.search(message)
    if not match:
        return None
    near, line = match.group(1), int(match.group(2))
    # in a multi-statement query the quoted text runs on into what was sent after this one
    near = near.split(";\n", 1)[0]
    start = 0
    for _ in range(line - 1):
        nl = sql.find("\n", start)
        if nl < 0:
            break
        start = nl + 1
    if not near:
        return len(sql.rstrip())
    found = sql.find(near[:40], start)
    return found if found >= 0 else start
