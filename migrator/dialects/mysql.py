"""MySQL and MariaDB through mysql-connector-python."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from migrator import signals
from migrator.dialects import APPLICATION_NAME, Dialect, StatementError, TableStats
from migrator.errorpos import mysql_error_position
from migrator.errors import ConnectError, DriverMissingError, UsageError
from migrator.model import Timeouts

# errno -> which session limit fired
_TIMEOUT_ERRNOS = {1205: "lock-wait-timeout", 3024: "statement-timeout", 1969: "statement-timeout"}
# access denied to a database, a table, a column, or an operation needing SUPER; a name too
# long, or an incorrect database or table name
_CAUSES = {1044: "privileges", 1142: "privileges", 1143: "privileges", 1227: "privileges"}
_CAUSES |= {1059: "name", 1102: "name", 1103: "name"}
# Statements that leave no session state behind (leading keywords; see may_change_session).
_SESSION_SAFE = {
    ("INSERT",),
    ("UPDATE",),
    ("DELETE",),
    ("REPLACE",),
    ("TRUNCATE",),
    ("RENAME",),
    ("CREATE", "TABLE"),
    ("CREATE", "INDEX"),
    ("CREATE", "UNIQUE"),
    ("CREATE", "FULLTEXT"),
    ("CREATE", "SPATIAL"),
    ("CREATE", "VIEW"),
    ("ALTER", "TABLE"),
    ("DROP", "TABLE"),
    ("DROP", "INDEX"),
    ("DROP", "VIEW"),
}


class MysqlDialect(Dialect):
    name = "mysql"
    # DDL commits implicitly on MySQL/MariaDB: a file can never be rolled back as a whole,
    # so the runner brackets it with a `running` row instead of a transaction.
    transactional_ddl = False
    placeholder = "%s"
    text_type = "LONGTEXT"
    timestamp_type = "DATETIME(6)"
    # InnoDB: a version row commits with the file's data, whatever the server's default
    # engine; utf8mb4: a file's text (kept for diffs) and a message in any language fit, also
    # in a database whose default character set is latin1, as in many older ones
    table_options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    identity_pk = "BIGINT AUTO_INCREMENT PRIMARY KEY"

    def __init__(self, url: Any) -> None:
        super().__init__(url)
        self.conn: Any = None
        # The migration lock (GET_LOCK) lives on its own connection: resetting the work
        # session would release it. The work connection holds a second lock, the run lock,
        # taken again after every reset: a killed client's connection keeps it for as long
        # as the server goes on running that client's last statement, so the next run waits
        # for the statement instead of starting beside it (SPEC §4).
        self._lock_conn: Any = None
        self._lock_name = ""  # set while the migration lock is held
        self._run_lock = ""  # set while the work connection holds the run lock
        self._blocker: tuple[str, Any] = ("", None)  # which lock try_lock() missed, held by
        self.is_mariadb = False
        self._tables_locked = False  # the running file holds LOCK TABLES
        self._cancelled = False  # cancel() ran (a signal, several targets)
        # (connection id, sql) -> (its prepared cursor, the sql string it was prepared from)
        self._prepared: dict[tuple[int, str], tuple[Any, str]] = {}

    def _open(self, connect_timeout_s: float, *, use_database: bool = True) -> Any:
        try:
            import mysql.connector
        except ImportError:
            raise DriverMissingError(
                "a mysql URL needs mysql-connector-python", hint="pip install 'migrator[mysql]'"
            ) from None
        u = self.url
        options: dict[str, Any] = dict(
            host=u.host,
            port=u.port or 3306,
            user=u.user or "root",
            password=u.password,
            database=u.database if use_database else None,
            autocommit=True,
            charset="utf8mb4",
            use_pure=True,
            connection_timeout=max(1, int(connect_timeout_s)),
            conn_attrs={"program_name": APPLICATION_NAME},
        )
        options.update(dict(u.params))
        try:
            conn = mysql.connector.connect(**options)
        except mysql.connector.Error as exc:
            message = str(getattr(exc, "msg", None) or exc)
            if u.password:
                message = message.replace(u.password, "***")
            raise ConnectError(
                f"cannot connect to {u.masked}: {message}",
                hint="check host, port, user, password and database in the URL, and that the server is up",
            ) from None
        _no_delay(conn)
        return conn

    def connect(self, *, read_only: bool = False, connect_timeout_s: float = 10) -> None:
        self._timeout = connect_timeout_s
        self.conn = self._open(connect_timeout_s)
        self.is_mariadb = "mariadb" in str(self.conn.server_info).lower()

    def close(self) -> None:
        self.release_lock()
        if self.conn is not None:
            self._prepared.clear()
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

    def unsupported(self, statement_text: str) -> str:
        # `source other.sql` (zoneminder's update scripts end with one) is the mysql client
        # reading a file: the server sees a syntax error, after the statements before it
        # committed. Refused before anything runs instead. No SQL statement starts so.
        from migrator.lexer import leading_keywords

        if statement_text.lstrip().startswith("\\") or leading_keywords(statement_text, 1) == ("SOURCE",):
            return (
                "mysql client commands (source, \\. ...) belong to the mysql client, not the "
                "server; put the SQL of that file here, or in a version of its own"
            )
        return ""

    def reset_session(self) -> None:
        # COM_RESET_CONNECTION: user variables, sql_mode, FOREIGN_KEY_CHECKS... back to the
        # global defaults, the character set included, hence SET NAMES again.
        self.conn.cmd_reset_connection()
        self._prepared.clear()  # the reset deallocates prepared statements
        self._tables_locked = False
        # the reset keeps the current database, so a `USE other` in a file would leak
        self.execute("SET NAMES utf8mb4")
        self.execute(f"USE {self.quote_ident(self.url.database)}")
        if self._run_lock:  # the reset released it
            self._take_run_lock(self._run_lock, wait_s=5)

    def apply_timeouts(self, timeouts: Timeouts, *, in_transaction: bool) -> None:
        if timeouts.lock_wait_ms is not None:
            seconds = max(1, round(timeouts.lock_wait_ms / 1000))
            self.execute(f"SET SESSION lock_wait_timeout = {seconds}, innodb_lock_wait_timeout = {seconds}")
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
            killer.cmd_query(f"KILL QUERY {int(self.conn.connection_id)}".encode())
        finally:
            killer.close()

    def recover(self) -> None:
        # The pure-Python driver was interrupted mid-read: its socket is unusable and the server
        # would go on running the statement. Kill the statement from a new connection, keep that.
        old, self.conn = self.conn, self._open(self._timeout)
        self._cancelled = False  # a cancel was for the old connection
        self._prepared.clear()
        self._tables_locked = False
        try:
            self.execute(f"KILL QUERY {int(old.connection_id)}")
        except StatementError:
            pass  # it already finished
        try:
            old.close()
        except Exception:  # noqa: BLE001 - a half-read socket may refuse a clean close
            pass
        if self._run_lock:  # it went with the old connection
            try:
                self._take_run_lock(self._run_lock, wait_s=5)
            except StatementError:
                self._run_lock = ""

    # -- lock: GET_LOCK on a dedicated connection, and the run lock on the work one --------
    def try_lock(self, key: str) -> bool:
        digest = hashlib.sha256(f"{self.url.database}/{key}".encode()).hexdigest()[:40]
        name, run_name = "migrator:" + digest, "migrator-run:" + digest
        if not self._lock_name:
            if self._lock_conn is None:
                self._lock_conn = self._open(self._timeout)
            if not self._get_lock(self._lock_conn, name, 0):
                self._blocker = ("lock", self._used_by(self._lock_conn, name))
                return False
            self._lock_name = name
        if not self._take_run_lock(run_name, wait_s=0):
            self._blocker = ("run", self._used_by(self.conn, run_name))
            return False
        return True

    def _take_run_lock(self, name: str, *, wait_s: int) -> bool:
        got = self._get_lock(self.conn, name, wait_s)
        self._run_lock = name if got else ""
        return got

    def _get_lock(self, conn: Any, name: str, wait_s: int) -> bool:
        import mysql.connector

        try:
            (got,) = self._fetch(conn, "SELECT GET_LOCK(%s, %s)", (name, wait_s))[0]
        except mysql.connector.Error as exc:  # e.g. TiDB before 6.1 has no GET_LOCK
            error = _translate(exc, "SELECT GET_LOCK(...)")
            error.message = (
                f"the server refused migrator's lock (GET_LOCK): {error.message}; "
                "without it two runs could apply one version twice, so nothing ran"
            )
            raise error from None
        return bool(got == 1)

    def _used_by(self, conn: Any, name: str) -> Any:
        return self._fetch(conn, "SELECT IS_USED_LOCK(%s)", (name,))[0][0]

    def lock_holder(self) -> str:
        which, connection_id = self._blocker
        if which == "lock":
            return self._describe(connection_id)
        rows = self.query(
            "SELECT TIME, LEFT(COALESCE(INFO, ''), 120) FROM information_schema.PROCESSLIST WHERE ID = %s",
            (int(connection_id or 0),),
        )
        running = f", running for {rows[0][0]}s: {' '.join(str(rows[0][1]).split())}" if rows else ""
        return (
            f"a run that has ended, whose last statement the server is still executing on "
            f"connection id {connection_id}{running}; it must finish (or be stopped with "
            f"KILL {connection_id}) before another run starts"
        )

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
        if self._run_lock and self.conn is not None:
            name, self._run_lock = self._run_lock, ""
            try:
                self._fetch(self.conn, "SELECT RELEASE_LOCK(%s)", (name,))
            except Exception:  # noqa: BLE001 - the lock dies with the connection anyway
                pass
        if self._lock_conn is not None:
            try:
                if self._lock_name:
                    self._fetch(self._lock_conn, "SELECT RELEASE_LOCK(%s)", (self._lock_name,))
            finally:
                self._lock_name = ""
                self._lock_conn.close()
                self._lock_conn = None

    # -- statements: one per query text; every value bound by the server ----------------
    begin_sql = "START TRANSACTION"

    def begin(self, *, durable: bool = True) -> None:
        super().begin(durable=durable)
        self._tables_locked = False  # START TRANSACTION releases LOCK TABLES

    def write_row(self, sql: str, params: tuple[Any, ...]) -> None:
        # Under the file's own LOCK TABLES this session may touch no other table: write the
        # version row from the lock's connection instead (autocommit there).
        conn = self.conn
        if self._tables_locked:
            if self._lock_conn is None:  # a scratch database (verify): no run lock, so no lock
                self._lock_conn = self._open(self._timeout)  # connection yet; closed with it
            conn = self._lock_conn
        self._fetch(conn, sql, params, translate=True)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        return self._run(sql, params)[0]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params)[1]

    _kept_by_rollback = ""

    def rollback(self) -> None:
        self._kept_by_rollback = ""
        self.execute("ROLLBACK")
        # warning 1196: a non-transactional (MyISAM, MEMORY...) table the transaction changed
        # keeps the change; a rollback happens only after a failure, so one more round trip
        warned = {row[1] for row in self.query("SHOW WARNINGS")}
        self._kept_by_rollback = (
            "changes to non-transactional tables (MyISAM, MEMORY, ...) cannot be rolled back and "
            "stay (mysql warning 1196): check those tables by hand before you run the file again"
            if 1196 in warned
            else ""
        )

    def rollback_left(self) -> str:
        return self._kept_by_rollback

    def _run(self, sql: str, params: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        # Without parameters the text is sent as it is (cmd_query_iter): cursor.execute would
        # first run the connector's own DELIMITER script parser over it. With parameters, a
        # server-side prepared statement binds them: no client-side escaping, so no sql_mode
        # a file sets (NO_BACKSLASH_ESCAPES) can change what is written.
        import mysql.connector

        if params:
            cursor = self._fetch(self.conn, sql, params, translate=True, keep=True)
            return cursor.rowcount, [tuple(r) for r in (cursor.fetchall() if cursor.with_rows else [])]
        affected, rows = -1, list[tuple[Any, ...]]()
        try:
            for result in self.conn.cmd_query_iter(sql.encode("utf-8")):
                if "columns" in result:
                    fetched = self.conn.get_rows()[0]
                    rows = rows or [tuple(r) for r in fetched]
                else:
                    affected = int(result.get("affected_rows", -1))
        except mysql.connector.Error as exc:
            raise _translate(exc, sql) from None
        if self._cancelled and signals.received:
            self._cancelled = False  # once: the writes that record the stop must go through
            raise KeyboardInterrupt
        self._track_table_locks(sql)
        return affected, rows

    def _fetch(
        self, conn: Any, sql: str, params: tuple[Any, ...], *, translate: bool = False, keep: bool = False
    ) -> Any:
        """Run `sql` as a prepared statement on `conn` (prepared once per connection)."""
        import mysql.connector

        key = (id(conn), sql)
        cached = self._prepared.get(key)
        if cached is None:
            cached = self._prepared[key] = (conn.cursor(prepared=True), sql)
        # the connector re-prepares unless it is handed the very string object it prepared
        # (an identity check), so the first one is kept and passed again
        cursor, sql = cached
        try:
            cursor.execute(sql, params)
            if keep:
                return cursor
            return [tuple(r) for r in cursor.fetchall()] if cursor.with_rows else []
        except mysql.connector.Error as exc:
            self._prepared.pop(key, None)
            if not translate:
                raise
            raise _translate(exc, "") from None

    def _track_table_locks(self, sql: str) -> None:
        from migrator.lexer import leading_keywords

        words = leading_keywords(sql, 2)
        if words[:1] == ("LOCK",) and words[1:2] in (("TABLES",), ("TABLE",)):
            self._tables_locked = True
        elif words[:2] in (("UNLOCK", "TABLES"), ("UNLOCK", "TABLE")):
            self._tables_locked = False

    # -- lint --measure -----------------------------------------------------------------
    def table_identities(self) -> dict[str, Any]:
        # a rebuild (COPY, or INPLACE with a rebuild) makes a new InnoDB table with a new id
        view = "INNODB_SYS_TABLES" if self.is_mariadb else "INNODB_TABLES"
        rows = self.query(
            f"SELECT NAME, TABLE_ID FROM information_schema.{view} "
            "WHERE LEFT(NAME, CHAR_LENGTH(DATABASE()) + 1) = CONCAT(DATABASE(), '/')"
        )
        found = {_text(name).partition("/")[2]: table_id for name, table_id in rows}
        return {name: table_id for name, table_id in found.items() if "#" not in name}

    def online_tries(self, statement_text: str) -> list[tuple[str, str]]:
        from migrator.lexer import leading_keywords

        if leading_keywords(statement_text, 2) != ("ALTER", "TABLE"):
            return []
        if _CHOSEN_ONLINE.search(statement_text):
            return []  # the file chose its algorithm or lock: the server honours it or refuses
        # on a line of its own: a comment at the statement's end must not swallow it
        return [(label, f"{statement_text}\n, {clause}") for label, clause in _ONLINE]

    def refused_online(self, error: StatementError) -> bool:
        return error.code.partition("/")[0] in _REFUSED_ONLINE

    # -- scratch databases ---------------------------------------------------------------
    def scratch_drops(self, keep: frozenset[str]) -> list[str]:
        # the database is the schema: everything in it goes (triggers with their tables) but the
        # objects named in `keep` (a restore's: those the dump drops and recreates itself);
        # views and routines first, sequences after the tables whose defaults use them
        found = [
            (kind, name)
            for sql in (
                "SELECT TABLE_TYPE, TABLE_NAME FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE()",
                "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
                "WHERE ROUTINE_SCHEMA = DATABASE()",
                "SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
            )
            for kind, name in self.query(sql)
            if name not in keep
        ]
        order = ("VIEW", "PROCEDURE", "FUNCTION", "EVENT", "TABLE", "SEQUENCE")
        drops = sorted(((kind if kind in order else "TABLE"), name) for kind, name in found)
        drops.sort(key=lambda d: order.index(d[0]))
        sql = [f"DROP {kind} IF EXISTS {self.quote_ident(name)}" for kind, name in drops]
        # tables in any order; the session's checks are back on after the last drop
        return ["SET SESSION FOREIGN_KEY_CHECKS = 0", *sql, "SET SESSION FOREIGN_KEY_CHECKS = 1"]

    # -- the database itself (migrator.dbadmin) -------------------------------------------
    # 1044 access denied to database, 1045 access denied, 1142 command denied, 1227 needs a
    # privilege. DROP DATABASE has no "in use" error: it waits for the others' metadata locks.
    admin_errors = {"1044": "denied", "1045": "denied", "1142": "denied", "1227": "denied"}

    def connect_server(self, *, connect_timeout_s: float = 10) -> None:
        self._timeout = connect_timeout_s
        self.conn = self._open(connect_timeout_s, use_database=False)

    def database_exists(self) -> bool:
        rows = self.query(
            "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (self.url.database,)
        )
        return bool(rows)

    def sees_every_database(self) -> bool:
        # SCHEMATA lists only the databases the user has a privilege on, unless SHOW DATABASES
        user, _, host = self.current_user().rpartition("@")
        rows = self.query(
            "SELECT 1 FROM information_schema.USER_PRIVILEGES "
            "WHERE GRANTEE = %s AND PRIVILEGE_TYPE = 'SHOW DATABASES'",
            (f"'{user}'@'{host}'",),
        )
        return bool(rows)

    def create_database(self) -> None:
        self.execute(f"CREATE DATABASE {self._database_name()}")

    def drop_database(self) -> None:
        self.execute(f"DROP DATABASE {self._database_name()}")

    def _database_name(self) -> str:
        # validated, not escaped: a name the backticks hold as it is, or none at all
        name = self.url.database
        if "`" in name or "\0" in name or name != name.rstrip(" "):
            raise UsageError(
                f"database name {name!r} has a backtick, a NUL or a trailing space; "
                "migrator does not create or drop such a database",
                hint="choose a name without them (letters, digits, _ and - always work)",
            )
        return f"`{name}`"

    def other_sessions(self) -> list[str]:
        # without the PROCESS privilege the list holds this user's own sessions only
        rows = self.query(
            "SELECT USER, HOST FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
            (self.url.database,),
        )
        return [f"{_text(user)}@{_text(host)}" for user, host in rows]

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

    def table_sizes(self, names: list[str]) -> list[TableStats]:
        # information_schema.TABLES: InnoDB's row estimate and page counts, read without a
        # count. It opens each table for its statistics, which takes a metadata lock that a
        # LOCK TABLES ... WRITE does not block; lock_wait_timeout = 1 bounds whatever else
        # could make it wait (an ALTER's exclusive phase). Restored afterwards.
        if not names:
            return []
        before = self.query("SELECT @@SESSION.lock_wait_timeout")[0][0]
        self.execute("SET SESSION lock_wait_timeout = 1")
        try:
            marks = ", ".join(["%s"] * len(names))
            rows = self.query(
                "SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
                f"WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME IN ({marks})",
                tuple(names),
            )
        finally:
            self.execute(f"SET SESSION lock_wait_timeout = {int(before)}")
        return [
            TableStats(_text(name), None if n is None else int(n), None if size is None else int(size))
            for name, n, size in rows
        ]

    def current_user(self) -> str:
        return str(self.query("SELECT CURRENT_USER()")[0][0])


# the strongest first: the server refuses (1845, 1846) what it cannot honour, changing nothing
_ONLINE = (
    ("INSTANT", "ALGORITHM=INSTANT"),
    ("INPLACE, LOCK=NONE", "ALGORITHM=INPLACE, LOCK=NONE"),
    ("INPLACE, LOCK=SHARED", "ALGORITHM=INPLACE, LOCK=SHARED"),
)
_REFUSED_ONLINE = frozenset({"1845", "1846"})
_CHOSEN_ONLINE = re.compile(r"\b(?:ALGORITHM|LOCK)\s*=", re.IGNORECASE)


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
    return StatementError(
        message,
        code=code,
        position=mysql_error_position(message, sql),
        timeout=timeout,
        cause=_CAUSES.get(errno or 0, ""),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)


def _no_delay(conn: Any) -> None:
    """TCP_NODELAY: a prepared statement's close and the next request are two writes with no
    answer between them, which Nagle's algorithm holds back until the server's delayed ACK
    (40 ms per version-table write). The pure-Python connector never sets it."""
    import socket

    sock = getattr(getattr(conn, "_socket", None), "sock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
