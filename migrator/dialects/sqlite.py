"""SQLite through the stdlib driver: explicit transactions, never executescript."""

from __future__ import annotations

import fcntl
import getpass
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from migrator import signals
from migrator.dialects import Dialect, StatementError, TableStats
from migrator.errors import ConnectError, UsageError
from migrator.model import Timeouts
from migrator.urls import DatabaseUrl, parse_url


class SqliteDialect(Dialect):
    name = "sqlite"
    transactional_ddl = True  # sqlite rolls back CREATE/ALTER/DROP with the transaction
    placeholder = "?"
    bigint = "INTEGER"
    timestamp_type = "TEXT"
    identity_pk = "INTEGER PRIMARY KEY AUTOINCREMENT"
    refused_in_transaction = (
        ("PRAGMA", "foreign_keys"),  # silently a no-op inside a transaction
        ("PRAGMA", "journal_mode"),  # an error there, for WAL
        ("PRAGMA", "synchronous"),  # "Safety level may not be changed inside a transaction"
        ("VACUUM",),
    )

    def __init__(self, url: Any) -> None:
        super().__init__(url)
        self.conn: sqlite3.Connection | None = None
        self._busy_ms: int | None = None  # the busy_timeout set on the current connection
        self._lock_file: IO[str] | None = None
        self._holder = "another process"
        self._deadline: float | None = None
        self._read_only = False
        self._synchronous: int | None = None  # _wal_synchronous(); None: not asked yet
        self._relaxed = False  # the open transaction commits with synchronous = NORMAL

    @property
    def path(self) -> str:
        return self.url.database

    def connect(self, *, read_only: bool = False, connect_timeout_s: float = 10) -> None:
        self._read_only = read_only
        self._busy_ms = None
        try:
            if read_only and (self.path == ":memory:" or not Path(self.path).exists()):
                # Reading a database that does not exist yet must not create its file.
                self.conn = sqlite3.connect(":memory:", isolation_level=None)
            elif read_only:
                uri = Path(self.path).resolve().as_uri() + "?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                # No statement cache: migration statements never repeat, and a cache of 128
                # big INSERTs holds their compiled programs (60 MB for the 31 MB benchmark
                # file) and makes the run slower.
                self.conn = sqlite3.connect(self.path, isolation_level=None, cached_statements=0, timeout=0)
            self.conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.Error as exc:
            # A locked file is a database: the probe does not wait (timeout=0), so waiting is
            # left to the migration lock and --lock-timeout, not a hidden 5 s here.
            if "locked" not in str(exc):
                raise ConnectError(
                    f"cannot open SQLite database {self.path}: {exc}",
                    hint="check the path in the URL and that the file is a SQLite database",
                ) from None
        assert self.conn is not None
        self._synchronous, self._relaxed = None, False
        self.conn.execute("PRAGMA busy_timeout = 5000")  # sqlite3's own default, after the probe
        # Lets Ctrl-C and --statement-timeout stop a long statement. Every 200k VM steps is a
        # few milliseconds apart: responsive, and rare enough not to slow big inserts.
        self.conn.set_progress_handler(self._check_deadline, 200_000)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.release_lock()

    def reset_session(self) -> None:
        # A fresh connection is the only complete reset of PRAGMAs a file may have set.
        assert self.conn is not None
        self.conn.close()
        self.connect(read_only=self._read_only)

    def may_change_session(self, statement_text: str) -> bool:
        # Reconnecting makes sqlite parse the whole schema again, so reset only after a file
        # that can change connection state: PRAGMAs, ATTACH/DETACH, temporary objects.
        from migrator.lexer import leading_keywords

        words = leading_keywords(statement_text, 2)
        return bool(words) and (
            words[0] in ("PRAGMA", "ATTACH", "DETACH")
            or words[:2] in (("CREATE", "TEMP"), ("CREATE", "TEMPORARY"))
        )

    def unsupported(self, statement_text: str) -> str:
        # `.read other.sql`, `.mode`, ...: the sqlite3 shell's own commands; no SQL starts with "."
        if statement_text.lstrip().startswith("."):
            return (
                "sqlite3 shell dot-commands (.read, .mode ...) belong to the sqlite3 shell, not "
                "the database; put the SQL of that file here, or in a version of its own"
            )
        return ""

    def begin(self, *, durable: bool = True) -> None:
        # In WAL mode synchronous=NORMAL commits without an fsync and never risks corruption;
        # the next FULL commit syncs the WAL file, and with it every commit before. The
        # rollback-journal modes keep their setting: NORMAL there can corrupt on power loss.
        if not durable and self._wal_synchronous():
            self.execute("PRAGMA synchronous = NORMAL")  # refused inside a transaction
            self._relaxed = True
        super().begin()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end_relaxed()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_relaxed()

    def _end_relaxed(self) -> None:
        # back to the connection's own level: only the one transaction was relaxed
        if self._relaxed and self.conn is not None and not self.conn.in_transaction:
            self._relaxed = False
            self.execute(f"PRAGMA synchronous = {self._synchronous}")

    def _wal_synchronous(self) -> int:
        """The connection's synchronous level above NORMAL (1) in WAL mode, else 0."""
        if self._synchronous is None:
            wal = self.query("PRAGMA journal_mode")[0][0] == "wal"
            level = self.query("PRAGMA synchronous")[0][0] if wal else 0
            self._synchronous = level if level > 1 else 0
        return self._synchronous

    def flush_commits(self) -> None:
        if not self._synchronous or self.path == ":memory:":
            return
        try:  # fsync of the WAL file: what the next FULL commit would have done
            fd = os.open(f"{self.path}-wal", os.O_RDONLY)
        except FileNotFoundError:  # checkpointed and removed: already in the database file
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def apply_timeouts(self, timeouts: Timeouts, *, in_transaction: bool) -> None:
        assert self.conn is not None
        busy = int(timeouts.lock_wait_ms if timeouts.lock_wait_ms is not None else 5000)
        if busy != self._busy_ms:  # set once per connection, and again when it changes
            self.conn.execute(f"PRAGMA busy_timeout = {busy}")
            self._busy_ms = busy
        self._statement_ms = timeouts.statement_ms

    def _check_deadline(self) -> int:
        if signals.received:
            return 1
        return 1 if self._deadline is not None and time.monotonic() > self._deadline else 0

    # -- lock: a file beside the database, held with flock; it dies with the process -----
    def try_lock(self, key: str) -> bool:
        if self.path == ":memory:":
            return True
        lock_path = f"{self.path}.migrator-lock"
        handle = open(lock_path, "a+")  # noqa: SIM115 - held until release_lock
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            self._holder = f"{holder} (lock file {lock_path})"
            return False
        handle.seek(0)
        handle.truncate()
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        handle.write(f"pid {os.getpid()} on {os.uname().nodename} since {since}\n")
        handle.flush()
        self._lock_file = handle
        return True

    def lock_holder(self) -> str:
        return self._holder

    def release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor drops the flock
            self._lock_file = None

    # -- statements ---------------------------------------------------------------------
    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        assert self.conn is not None
        statement_ms = getattr(self, "_statement_ms", None)
        self._deadline = time.monotonic() + statement_ms / 1000 if statement_ms else None
        try:
            cursor = self.conn.execute(sql, params)
            cursor.fetchall()  # step a statement that returns rows to its end
            return cursor.rowcount
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        finally:
            self._deadline = None

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        assert self.conn is not None
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: sqlite3.Error) -> StatementError:
        if str(exc) == "interrupted" and signals.received:
            # the signal handler ran inside the progress callback, where sqlite swallowed it
            raise KeyboardInterrupt
        code = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
        message = str(exc)
        timeout = ""
        if message == "interrupted" and self._deadline is not None:
            timeout = "statement-timeout"
            message = "statement timeout: the statement ran longer than --statement-timeout"
        elif code in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            timeout = "lock-wait-timeout"
            message = f"{message} (waited for the lock-wait-timeout / busy timeout)"
        return StatementError(message, code=code, timeout=timeout, cause=_cause(exc))

    # -- catalog ------------------------------------------------------------------------
    def qualify(self, table: str) -> str:
        return f"main.{self.quote_ident(table)}"

    def table_exists(self, table: str) -> bool:
        # sqlite's names ignore (ASCII) case, as NOCASE does: "Schema_Version" is schema_version
        rows = self.query(
            "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", (table,)
        )
        return bool(rows)

    def table_sizes(self, names: list[str]) -> list[TableStats]:
        # Bytes: the pages of the table and its indexes from the dbstat table (when sqlite was
        # built with it), else the whole file's page_count x page_size, and the note says so.
        # Rows: sqlite_stat1's estimate, written by ANALYZE; without it, unknown (no count).
        # busy_timeout 0 while reading: a writer holding the file makes it fail, never wait.
        if not names:
            return []
        busy = self.query("PRAGMA busy_timeout")[0][0]
        self.execute("PRAGMA busy_timeout = 0")
        try:
            return self._sizes(names)
        finally:
            self.execute(f"PRAGMA busy_timeout = {int(busy)}")

    def _sizes(self, names: list[str]) -> list[TableStats]:
        marks = ", ".join("?" * len(names))
        found = [
            r[0]
            for r in self.query(
                f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})", tuple(names)
            )
        ]
        stat1 = bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"))
        whole: int | None = None
        try:
            self.query("SELECT 1 FROM dbstat LIMIT 0")
        except StatementError:  # no such table: dbstat
            page_count = self.query("PRAGMA page_count")[0][0]
            whole = int(page_count) * int(self.query("PRAGMA page_size")[0][0])
        sizes = []
        for name in found:
            rows = None
            if stat1:
                stats = self.query("SELECT stat FROM sqlite_stat1 WHERE tbl = ?", (name,))
                counts = [int(s.split()[0]) for (s,) in stats if s and s.split()[0].isdigit()]
                rows = max(counts) if counts else None
            if whole is not None:
                sizes.append(TableStats(name, rows, whole, "the whole database file"))
                continue
            size = self.query(
                "SELECT SUM(pgsize) FROM dbstat WHERE aggregate = TRUE AND name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = ? AND type IN ('table', 'index'))",
                (name,),
            )[0][0]
            sizes.append(TableStats(name, rows, int(size or 0)))
        return sizes

    def current_user(self) -> str:
        try:
            return getpass.getuser()
        except Exception:  # no login name in some containers
            return str(os.getuid())

    # -- the database itself (migrator.dbadmin): a file, no server ------------------------
    _SIDECARS = ("-journal", "-wal", "-shm", ".migrator-lock")

    def connect_server(self, *, connect_timeout_s: float = 10) -> None:
        pass  # nothing to connect to: the file is the database

    def database_exists(self) -> bool:
        return Path(self.path).exists()

    def create_database(self) -> None:
        folder = Path(self.path).resolve().parent
        if not folder.is_dir():
            raise UsageError(
                f"cannot create SQLite database {self.path}: folder {folder} does not exist",
                hint="create the folder first, or fix the path in the URL",
            )
        try:
            sqlite3.connect(self.path).close()  # opening creates the (empty) file
        except sqlite3.Error as exc:
            raise StatementError(f"cannot create {self.path}: {exc}") from None

    def drop_database(self) -> None:
        for leftover in (self.path, *(f"{self.path}{s}" for s in self._SIDECARS)):
            try:
                Path(leftover).unlink(missing_ok=True)
            except OSError as exc:
                raise StatementError(f"cannot remove {leftover}: {exc.strerror}") from None

    def other_sessions(self) -> list[str]:
        # sqlite keeps no list of its users; a lock on the file is what can be seen of one: a
        # writer's, and outside WAL mode a reader's in a transaction too
        uri = Path(self.path).resolve().as_uri() + "?mode=rw"
        probe = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=0)
        try:
            probe.execute("BEGIN EXCLUSIVE")
            probe.execute("ROLLBACK")
        except sqlite3.Error as exc:
            if "locked" in str(exc):
                return ["another process holding a lock on the file"]
            raise StatementError(f"cannot open {self.path}: {exc}") from None
        finally:
            probe.close()
        return []

    def create_scratch(self, name: str) -> DatabaseUrl:
        # sqlite's scratch database is a file in a private temporary folder
        import tempfile  # scratch databases only (verify, drift): not for every run

        folder = tempfile.mkdtemp(prefix="migrator-")
        return parse_url(f"sqlite:///{folder}/{name}.db")

    def drop_scratch(self, url: DatabaseUrl) -> None:
        import shutil
        import tempfile

        path = Path(url.database)
        for leftover in (path, *(Path(f"{path}{s}") for s in ("-journal", "-wal", "-shm", ".migrator-lock"))):
            leftover.unlink(missing_ok=True)
        if path.parent.name.startswith("migrator-") and path.parent.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(path.parent, ignore_errors=True)  # the folder create_scratch made

    def ensure_scratch(self, url: DatabaseUrl) -> None:
        pass  # connecting creates the file

    def scratch_drops(self, keep: frozenset[str]) -> list[str]:
        # indexes and triggers go with their tables; sqlite_* objects are SQLite's own
        found = self.query(
            "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'table') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type = 'table', name"
        )
        return ["PRAGMA foreign_keys = OFF"] + [
            f"DROP {kind.upper()} IF EXISTS {self.quote_ident(name)}" for kind, name in found
        ]

    def table_identities(self) -> dict[str, Any]:
        # the 12-step ALTER (new table, copy, drop, rename) leaves a table on a new root page
        return dict(self.query("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'"))

    def timestamp_param(self, value: Any) -> Any:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


# read-only file or folder, denied access, an authorizer's refusal (primary result codes)
_PRIVILEGE_CODES = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH})


def _cause(exc: sqlite3.Error) -> str:
    if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in _PRIVILEGE_CODES:
        return "privileges"
    # a name sqlite keeps for itself has no code of its own (SQLITE_ERROR), only this text
    return "name" if str(exc).startswith("object name reserved for internal use") else ""
