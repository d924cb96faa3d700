"""Backups taken before a version is applied (SPEC §7): SQLite's backup API, pg_dump, mariadb-dump.

`plan_backup` checks what a backup needs (the dump tool, a writable directory) before the run touches
the database, so a missing tool stops `up` before its first version rather than halfway through.
`take_backup` writes `<db>[_<schema>]_v<version>_<UTC timestamp>` and returns its path; `restore_command`
is the command a DBA runs to put it back (`migrator restore` runs it: migrator.restore). Passwords travel
only through the tools' environment variables, whichever part of the URL carried them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from migrator.dialects.registry import load, spec
from migrator.errors import ConfigError, MigratorError
from migrator.urls import DatabaseUrl, mask


class BackupError(MigratorError):
    """The backup failed, so the version that asked for it was not applied."""

    exit_code = 1
    kind = "backup"


@dataclass(frozen=True)
class BackupPlan:
    """What a backup needs, checked before anything touches the database."""

    dialect: str
    tool: str | None  # absolute path of the dump tool; None for sqlite (the stdlib does it)
    directory: Path


# URL parameters that carry the password (libpq's `password`; mysql-connector also takes `passwd`).
# They never reach a tool's command line: the password goes to its environment instead.
_PASSWORD_PARAMS = ("password", "passwd")

# A tenant schema goes into pg_dump's --schema (a pattern) and psql's DROP SCHEMA: a plain identifier,
# folded to lower case by both exactly as the migration connection's search_path folds it.
_PLAIN_SCHEMA = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def connection_password(url: DatabaseUrl) -> str:
    """The password the migration connection uses: from the userinfo, else from `?password=`."""
    params = dict(url.params)
    return url.password or next((params[k] for k in _PASSWORD_PARAMS if params.get(k)), "")


def _params(url: DatabaseUrl) -> list[tuple[str, str]]:
    return [(k, v) for k, v in url.params if k.lower() not in _PASSWORD_PARAMS]


def _pg_dump_argv(tool: str, url: DatabaseUrl) -> list[str]:
    # Plain SQL, so psql alone restores it. --clean --if-exists drops each object before recreating it:
    # the file restores over the database it came from (the usual case after a bad migration) as well as
    # into an empty one. Owners and grants are kept (no --no-owner / --no-acl): the backup exists to put
    # this database back as it was, restored by its owner or a superuser; --no-owner would silently hand
    # every object to whoever runs the restore. --no-password: fail rather than wait on a prompt.
    # A tenant (schema=NAME) is dumped alone: restoring it must not touch the other tenants.
    argv = [tool, "--format=plain", "--clean", "--if-exists", "--no-password", *_pg_connection(url)]
    return argv + ([f"--schema={url.schema}"] if url.schema else [])


def _pg_connection(url: DatabaseUrl) -> list[str]:
    parts = [f"--host={url.host}"]
    parts += [f"--port={url.port}"] if url.port else []
    parts += [f"--username={url.user}"] if url.user else []
    return [*parts, f"--dbname={_pg_dbname(url)}"]


def _pg_dbname(url: DatabaseUrl) -> str:
    # URL parameters (sslmode, ...) must reach pg_dump as they reach psycopg, and a name containing "="
    # would be read by libpq as a connection string: both cases become a quoted conninfo.
    params = _params(url)
    if (
        not params
        and "=" not in url.database
        and not url.database.startswith(("postgres://", "postgresql://"))
    ):
        return url.database
    pairs = [("dbname", url.database), *params]
    return " ".join(f"{key}='{_conninfo_quote(value)}'" for key, value in pairs)


def _conninfo_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


# mysql-connector URL parameters that change where or how the dump connects, as mariadb-dump options.
_MYSQL_VALUE_PARAMS = {
    "ssl_ca": "--ssl-ca",
    "ssl_cert": "--ssl-cert",
    "ssl_key": "--ssl-key",
    "unix_socket": "--socket",
}
_MYSQL_FLAG_PARAMS = {"ssl_disabled": "--skip-ssl", "ssl_verify_cert": "--ssl-verify-server-cert"}


def _mysql_dump_argv(tool: str, url: DatabaseUrl) -> list[str]:
    # --single-transaction: a consistent InnoDB snapshot without locking writers. --hex-blob keeps binary
    # columns intact; utf8mb4 keeps 4-byte characters. --no-tablespaces: needs no PROCESS privilege.
    argv = _mysql_connection(tool, url) + [
        "--single-transaction",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        "--no-tablespaces",
    ]
    return [*argv, "--", url.database]


def _mysql_connection(tool: str, url: DatabaseUrl) -> list[str]:
    # --no-defaults: the URL alone says where to connect, as for the migration's own connection; a
    # password in ~/.my.cnf would otherwise win over MYSQL_PWD. TCP unless a socket is asked for, because
    # the client would take "localhost" to mean the socket where mysql-connector uses TCP.
    params = dict(url.params)
    argv = [
        tool,
        "--no-defaults",
        "--protocol=SOCKET" if "unix_socket" in params else "--protocol=TCP",
        f"--host={url.host}",
        f"--port={url.port or 3306}",
        f"--user={url.user or 'root'}",
        "--default-character-set=utf8mb4",
    ]
    argv += [f"{option}={params[key]}" for key, option in _MYSQL_VALUE_PARAMS.items() if key in params]
    argv += [
        flag
        for key, flag in _MYSQL_FLAG_PARAMS.items()
        if params.get(key, "").lower() in ("1", "true", "yes")
    ]
    return argv


def _pg_restore_argv(tool: str, path: Path, url: DatabaseUrl) -> list[str]:
    # psql in one transaction, stopping at the first error (objects a later migration made to
    # depend on the dumped ones can block the drops; then restore into a freshly created database).
    # A tenant's schema is dropped whole first: tables a later migration added to it go too, and
    # nothing outside it is touched.
    argv = [tool, *_pg_connection(url), "-v", "ON_ERROR_STOP=1", "--single-transaction"]
    if url.schema:
        argv += ["--command", f"DROP SCHEMA IF EXISTS {url.schema} CASCADE"]
    return [*argv, f"--file={path}"]


def _pg_restore(path: Path, url: DatabaseUrl) -> str:
    return shlex.join(_pg_restore_argv("psql", path, url))


def _pg_restore_run(
    tool: str, path: Path, url: DatabaseUrl, drops: Path | None
) -> tuple[list[str], Path | None]:
    # no ~/.psqlrc (it could change the session), no prompt, no command tags on the terminal.
    # The drops run first in the same transaction: a dump that fails to load undoes them too.
    argv = _pg_restore_argv(tool, path, url)
    first = [f"--file={drops}"] if drops else []
    return [argv[0], "--no-psqlrc", "--no-password", "--quiet", *argv[1:-1], *first, argv[-1]], None


def _pg_keeps(path: Path) -> frozenset[str]:
    # pg_dump never recreates `public` (it assumes the schema exists), so a restore keeps it and
    # empties it; every other schema and extension of the backup the dump creates again
    return frozenset({"public"})


def _mysql_restore(path: Path, url: DatabaseUrl) -> str:
    # the client prompts for the password
    client = "mariadb" if shutil.which("mariadb") else "mysql"
    parts = [client, f"--host={url.host}", f"--port={url.port or 3306}", f"--user={url.user or 'root'}"]
    parts += ["--password"] if connection_password(url) else []
    return " ".join(shlex.quote(p) for p in [*parts, url.database]) + f" < {shlex.quote(str(path))}"


def _mysql_restore_run(
    tool: str, path: Path, url: DatabaseUrl, drops: Path | None
) -> tuple[list[str], Path | None]:
    # the dump on stdin; the first error stops the client (no --force). The drops ran before.
    return [*_mysql_connection(tool, url), "--", url.database], path


# How mariadb-dump / mysqldump drop what they recreate: `DROP TABLE IF EXISTS `t`;`, and in a
# version comment for views, routines and events (`/*!50001 DROP VIEW IF EXISTS `v`*/;`).
# A row's text never starts a line: the dump writes a newline in a value as \n.
_MYSQL_DUMP_DROP = re.compile(
    rb"(?:/\*!\d+ )?DROP (?:TABLE|VIEW|SEQUENCE|PROCEDURE|FUNCTION|EVENT) IF EXISTS `((?:[^`]|``)+)`"
)


def _mysql_keeps(path: Path) -> frozenset[str]:
    # the objects the dump drops and recreates itself: a restore drops only the others first,
    # so a dump that fails to load (MySQL cannot undo DDL) costs no more than its own drops
    names = set()
    with path.open("rb") as f:
        for line in f:
            found = _MYSQL_DUMP_DROP.match(line)
            if found:
                names.add(found[1].replace(b"``", b"`").decode("utf-8", errors="replace"))
    return frozenset(names)


@dataclass(frozen=True)
class _Dumper:
    tools: tuple[str, ...]  # in order of preference
    package: str  # the Debian/Ubuntu package that ships them
    password_env: str  # the tool reads the password here; argv is visible to every user in `ps`
    argv: Callable[[str, DatabaseUrl], list[str]]
    restore: Callable[[Path, DatabaseUrl], str]  # the command that loads the dump back, to print
    clients: tuple[str, ...]  # the tools that load it back, in order of preference
    # what migrator runs to load it back, given the file of statements that drop what the dump
    # will not recreate when the tool runs them (drops_in_load): argv, and the file to feed on
    # stdin (None: argv names it)
    restore_run: Callable[[str, Path, DatabaseUrl, Path | None], tuple[list[str], Path | None]]
    # a whole database's restore first drops what a later version made and the dump would leave:
    # everything but the schemas/objects named here (see Dialect.scratch_drops)
    keeps: Callable[[Path], frozenset[str]]
    drops_in_load: bool  # True: in the tool's one transaction; False: on migrator's connection first
    headers: tuple[bytes, ...]  # how the tool's own dump begins (a backup from before the header)
    restore_failed: str  # what a failed restore left behind, and what to do


# Named by the dialects' entries in migrator.dialects.registry.
PG_DUMP = _Dumper(
    ("pg_dump",),
    "postgresql-client",
    "PGPASSWORD",
    _pg_dump_argv,
    _pg_restore,
    ("psql",),
    _pg_restore_run,
    _pg_keeps,
    True,
    (b"--\n-- PostgreSQL database dump\n",),
    "the restore ran in one transaction and was rolled back: the database is as it was; fix the cause "
    "(objects a later migration made to depend on the backup's can block its drops: then restore into "
    "a freshly created database)",
)
MARIADB_DUMP = _Dumper(
    ("mariadb-dump", "mysqldump"),
    "mariadb-client",
    "MYSQL_PWD",
    _mysql_dump_argv,
    _mysql_restore,
    ("mariadb", "mysql"),
    _mysql_restore_run,
    _mysql_keeps,
    False,
    (b"-- MariaDB dump", b"-- MySQL dump", b"/*M!999999\\- enable the sandbox mode */"),
    "MySQL cannot undo DDL: the tables, views, routines and events the backup does not hold were "
    "dropped first, and the statements before the failing one stayed applied; fix the cause and "
    "run the restore again: the dump drops and recreates each table it holds",
)


def dump_tool(dialect: str) -> _Dumper | None:
    """The dump tool of a dialect; None for a database that is one file (the sqlite3 backup API)."""
    target = spec(dialect).backup
    if not target:
        return None
    dumper: _Dumper = load(target)
    return dumper


def plan_backup(url: DatabaseUrl, directory: Path) -> BackupPlan:
    """Find the dump tool and check the directory; never touches the database."""
    _check_directory(directory)
    check_schema(url)
    dumper = dump_tool(url.dialect)
    if dumper is None:  # a file: the stdlib backup API needs no tool
        return BackupPlan(url.dialect, None, directory)
    found = find_tool(dumper.tools)
    if found:
        return BackupPlan(url.dialect, found, directory)
    raise ConfigError(
        f"cannot back up {url.masked}: {' or '.join(dumper.tools)} not found on PATH",
        hint=f"install it (Debian/Ubuntu: apt install {dumper.package}), "
        "or run with --no-backup to migrate without a backup",
    )


def find_tool(names: tuple[str, ...]) -> str | None:
    """The absolute path of the first of `names` on PATH."""
    for name in names:
        found = shutil.which(name)
        if found:
            return os.path.abspath(found)
    return None


def check_schema(url: DatabaseUrl) -> None:
    if url.schema and not _PLAIN_SCHEMA.fullmatch(url.schema):
        raise ConfigError(
            f"cannot back up schema {url.schema!r}: a tenant's backup needs a plain schema name "
            "(letters, digits, _ and $)",
            hint="rename the schema, or run with --no-backup",
        )


def _check_directory(directory: Path) -> None:
    # A directory that cannot be written must stop the run before its first version, not at the backup.
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"backup directory {directory} cannot be created or written",
            hint="choose another with --backup-dir, or run with --no-backup",
        )


def take_backup(
    plan: BackupPlan, url: DatabaseUrl, version: int, *, sqlite_connection: sqlite3.Connection | None = None
) -> Path:
    """Back up the database at `url` into `plan.directory`; return the file written."""
    plan.directory.mkdir(parents=True, exist_ok=True)
    stem = f"{_file_name(url)}_v{version}_{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    # A hidden temporary name, renamed once complete: a crash never leaves a file that looks finished.
    # mkstemp's 0600 mode suits a file holding the whole database; the rename keeps it.
    fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".partial", dir=plan.directory)
    os.close(fd)
    partial = Path(name)
    try:
        dumper = dump_tool(plan.dialect)
        if plan.tool is None or dumper is None:
            _sqlite_backup(url, partial, sqlite_connection)
            return _publish(partial, plan.directory, stem, ".sqlite")
        with partial.open("wb") as out:
            out.write(header(url, version))
            out.flush()  # before the tool appends to the same file
            _run_dump(plan.tool, dumper, url, out)
            out.flush()
            os.fsync(out.fileno())
        return _publish(partial, plan.directory, stem, ".sql")
    except BaseException:  # Ctrl-C and SIGTERM too: no partial file outlives the run
        partial.unlink(missing_ok=True)
        raise


HEADER = b"-- migrator backup:"


def header(url: DatabaseUrl, version: int) -> bytes:
    """The first line of a dump: what `migrator restore` checks, and which schema it restores."""
    fields = [f"dialect={url.dialect}", f"before_version={version}"]
    fields += [f"schema={url.schema}"] if url.schema else []
    return HEADER + b" " + " ".join(fields).encode() + b"\n"


def _file_name(url: DatabaseUrl) -> str:
    name = Path(url.database).stem if spec(url.dialect).file_database else url.database
    # tenants of one database back up at the same second: the schema keeps their names apart
    name += f"_{url.schema}" if url.schema else ""
    # A database name is not a safe file name ("a/b", ".."): keep letters, digits, ".", "-", "_".
    return re.sub(r"[^\w.-]", "_", name).lstrip(".") or "db"


def _sqlite_backup(url: DatabaseUrl, target: Path, connection: sqlite3.Connection | None) -> None:
    # The backup API copies a consistent snapshot, WAL included, even while others write; copying the
    # file could catch it mid-transaction. A fresh connection is read-only so that a wrong path fails
    # instead of creating an empty database.
    if connection is not None and connection.in_transaction:
        # Backing up from a connection holding its own write lock retries SQLITE_BUSY forever.
        raise BackupError(
            f"cannot back up {url.database} from inside an open transaction",
            hint="take the backup before the migration's transaction begins",
        )
    try:
        source = (
            connection
            if connection is not None
            else sqlite3.connect(f"{Path(url.database).resolve().as_uri()}?mode=ro", uri=True)
        )
        try:
            with closing(sqlite3.connect(target)) as dest:
                source.backup(dest)
        finally:
            if connection is None:
                source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup of {url.database} failed: {exc}", hint=_FAILED_HINT) from None


_FAILED_HINT = "the version that asked for the backup was not applied; fix the cause, or run with --no-backup"


def tool_env(url: DatabaseUrl) -> dict[str, str]:
    """The environment for a dialect's tools: the password (from the userinfo or `?password=`) in the
    variable the tool reads, and not in any other one an earlier run of the caller left there."""
    dumper = dump_tool(url.dialect)
    env = dict(os.environ)
    password = connection_password(url)
    if dumper is not None and password:
        env[dumper.password_env] = password
    return env


def _run_dump(tool: str, dumper: _Dumper, url: DatabaseUrl, out: IO[bytes]) -> None:
    env = tool_env(url)
    try:
        # stdout straight into the file: a dump can be far larger than memory. stdin closed: never prompt.
        proc = subprocess.run(
            dumper.argv(tool, url),
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            check=False,
        )
    except OSError as exc:
        raise BackupError(f"cannot run {tool}: {clean(str(exc), url)}", hint=_FAILED_HINT) from None
    if proc.returncode != 0:
        detail = clean(proc.stderr.decode("utf-8", errors="replace").strip(), url)
        raise BackupError(
            f"{Path(tool).name} failed (exit {proc.returncode}) backing up {url.masked}: {detail}",
            hint=_FAILED_HINT,
        )


def clean(text: str, url: DatabaseUrl) -> str:
    """A tool's message with the password masked, wherever the tool echoed it."""
    text, password = mask(text), connection_password(url)
    return text.replace(password, "***") if password else text


def _publish(partial: Path, directory: Path, stem: str, suffix: str) -> Path:
    # Two backups in one second must both survive: a counter, never an overwrite. Parallel targets
    # share the directory, so the name is claimed atomically: a hard link fails if the name exists
    # (a check then a rename would let two processes take one name).
    counter = 1
    while True:
        target = directory / (f"{stem}{suffix}" if counter == 1 else f"{stem}_{counter}{suffix}")
        try:
            _claim(partial, target)
            break
        except FileExistsError:
            counter += 1
    _fsync_directory(directory)  # the new name itself must survive a power cut
    return target


def _claim(partial: Path, target: Path) -> None:
    try:
        os.link(partial, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: reserve the name, then move onto it
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.replace(partial, target)
        return
    partial.unlink()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def restore_command(path: Path, url: DatabaseUrl) -> str:
    """The shell command a DBA runs to restore `path` into the database at `url`; no password in it.
    sqlite: copy the file back while nothing has the database open."""
    dumper = dump_tool(url.dialect)
    if dumper is None:
        return f"cp -- {shlex.quote(str(path))} {shlex.quote(url.database)}"
    return dumper.restore(path, url)
