"""`migrator restore FILE` (SPEC §7): put a backup migrator took back into the database, with the
dialect's own tool (psql, mariadb) or SQLite's backup API.

`read_backup` checks the file without touching a database; `plan_restore` finds the tool before
anyone is asked to confirm; `restore_drops` reads from the catalog what a later version made that the
dump would leave behind; `restore_backup` drops it and loads the dump, so the database is exactly the
backup's. The password travels as for the dump: in the tool's environment only.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from migrator.backup import HEADER, check_schema, clean, dump_tool, find_tool, tool_env
from migrator.dialects import Dialect, StatementError
from migrator.dialects.registry import DIALECTS
from migrator.errors import ConfigError, MigratorError, UsageError
from migrator.urls import DatabaseUrl

_SQLITE_MAGIC = b"SQLite format 3\x00"
_FIELD = re.compile(r"(\w+)=(\S+)")
_NAME = re.compile(r"_v(\d+)_\d{8}T\d{6}Z(?:_\d+)?\.\w+$")  # <db>[_<schema>]_v<version>_<UTC>


class RestoreError(MigratorError):
    """The restore tool failed; what it did before failing depends on the dialect (see the hint)."""

    exit_code = 1
    kind = "restore"


@dataclass(frozen=True)
class BackupFile:
    path: Path
    dialect: str
    schema: str = ""  # a tenant's backup: this schema alone
    before_version: int | None = None  # taken before this version was applied (None: not recorded)

    def target(self, url: DatabaseUrl) -> DatabaseUrl:
        """The database at `url`, narrowed to the backup's schema; refuses another dialect's file."""
        if url.dialect != self.dialect:
            raise UsageError(
                f"{self.path} is a {self.dialect} backup; the database at {url.masked} is {url.dialect}",
                hint="pass the --url of the database it was taken from (or one of the same kind); "
                "nothing was changed",
            )
        return replace(url, schema=self.schema) if self.schema else url


def read_backup(path: Path) -> BackupFile:
    """What kind of backup `path` is, from its first bytes; exit 2 when it is none migrator made."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        raise UsageError(
            f"backup file {path} does not exist", hint="backups are in --backup-dir (default backups/)"
        ) from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a backup file") from None
    except OSError as exc:
        raise UsageError(f"cannot read backup file {path}: {exc.strerror}") from None
    if head.startswith(_SQLITE_MAGIC):
        return BackupFile(path, "sqlite", before_version=_version_in_name(path))
    line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    fields = dict(_FIELD.findall(line)) if head.startswith(HEADER) else {}
    if fields.get("dialect") in DIALECTS:
        version = fields.get("before_version", "")
        return BackupFile(
            path,
            fields["dialect"],
            fields.get("schema", ""),
            int(version) if version.isdigit() else None,
        )
    for dialect in DIALECTS:  # a backup taken before migrator wrote its header line
        dumper = dump_tool(dialect)
        if dumper is not None and head.startswith(dumper.headers):
            return BackupFile(path, dialect, before_version=_version_in_name(path))
    raise UsageError(
        f"{path} is not a migrator backup (neither a SQLite database nor a pg_dump or mariadb-dump file)",
        hint="give a file that `migrator up` wrote into --backup-dir; nothing was changed",
    )


def _version_in_name(path: Path) -> int | None:
    found = _NAME.search(path.name)
    return int(found[1]) if found else None


def plan_restore(url: DatabaseUrl) -> str | None:
    """The absolute path of the tool that restores into `url` (None for sqlite), before anything runs."""
    check_schema(url)
    dumper = dump_tool(url.dialect)
    if dumper is None:
        return None
    found = find_tool(dumper.clients)
    if found is None:
        raise ConfigError(
            f"cannot restore into {url.masked}: {' or '.join(dumper.clients)} not found on PATH",
            hint=f"install it (Debian/Ubuntu: apt install {dumper.package}); nothing was changed",
        )
    return found


def restore_keep(backup: BackupFile, table: str) -> frozenset[str] | None:
    """What a whole database's restore keeps when it first drops what the dump will not recreate
    (a table a later version created...): see Dialect.scratch_drops. None: nothing to drop (a
    tenant's schema is dropped whole; a SQLite backup replaces the whole file). Where the drops run
    before the load and cannot be undone, the file must be a whole database's dump, which recreates
    the version `table`: else it is refused before anything changes."""
    dumper = dump_tool(backup.dialect)
    if dumper is None or backup.schema:
        return None
    keep = dumper.keeps(backup.path)
    if not dumper.drops_in_load and table not in keep:
        raise UsageError(
            f"{backup.path} does not recreate the version table {table}: it is not a whole database's "
            "backup, and restoring it would drop every table it does not hold; nothing was changed",
            hint="restore a file that `migrator up` wrote into --backup-dir, or load this one by hand "
            "with the database's client",
        )
    return keep


def restore_drops(keep: frozenset[str] | None, dialect: Dialect) -> list[str]:
    """The statements that drop what the dump will not recreate, read from the catalog through
    `dialect` (connected to the target) right before the load."""
    return [] if keep is None else dialect.scratch_drops(keep)


def restore_backup(
    backup: BackupFile,
    url: DatabaseUrl,
    tool: str | None,
    drops: Sequence[str] = (),
    execute: Callable[[str], object] | None = None,
) -> None:
    """Load `backup` into the database at `url` (already narrowed by BackupFile.target), after
    `drops` (restore_drops): in the tool's one transaction, or first through `execute` (migrator's
    own connection) where the dialect cannot undo DDL anyway."""
    dumper = dump_tool(url.dialect)
    if tool is None or dumper is None:
        _sqlite_restore(backup.path, url)
        return
    if drops and not dumper.drops_in_load:
        _drop_first(drops, execute, backup, url)
    with _statements_file(drops if dumper.drops_in_load else ()) as drops_file:
        _load(
            backup, url, tool, dumper.restore_run(tool, backup.path, url, drops_file), dumper.restore_failed
        )


def _drop_first(
    drops: Sequence[str], execute: Callable[[str], object] | None, backup: BackupFile, url: DatabaseUrl
) -> None:
    assert execute is not None, "drops outside the load need migrator's connection"
    for sql in drops:
        try:
            execute(sql)
        except StatementError as exc:
            raise RestoreError(
                f"could not empty {url.masked} of what {backup.path} does not hold "
                f"({sql}): {clean(exc.message, url)}",
                hint="the drops before it stayed applied (this database cannot undo DDL), nothing of the "
                "backup was loaded yet; fix the cause and run the restore again",
            ) from None


@contextmanager
def _statements_file(statements: Sequence[str]) -> Iterator[Path | None]:
    """The statements in a private temporary file the tool reads (argv is limited, and shown by ps)."""
    if not statements:
        yield None
        return
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", prefix="migrator-drops-", suffix=".sql") as f:
        f.write("".join(f"{sql};\n" for sql in statements))
        f.flush()
        yield Path(f.name)


def _load(
    backup: BackupFile, url: DatabaseUrl, tool: str, run: tuple[list[str], Path | None], hint: str
) -> None:
    argv, stdin_file = run
    try:
        with stdin_file.open("rb") if stdin_file else nullcontext() as stdin:
            proc = subprocess.run(
                argv,
                stdin=stdin or subprocess.DEVNULL,  # never a prompt
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=tool_env(url),
                check=False,
            )
    except OSError as exc:
        raise RestoreError(f"cannot run {tool}: {clean(str(exc), url)}") from None
    if proc.returncode != 0:
        detail = clean(proc.stderr.decode("utf-8", errors="replace").strip(), url)
        raise RestoreError(
            f"{Path(tool).name} failed (exit {proc.returncode}) restoring {backup.path} into "
            f"{url.masked}: {detail}",
            hint=hint,
        )


def _sqlite_restore(source: Path, url: DatabaseUrl) -> None:
    # The backup API writes the whole database under SQLite's own locks (a copy over the file could
    # tear a reader's view, and would leave a stale WAL beside it). The backup is opened read-only.
    try:
        with (
            closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(url.database, timeout=5)) as dest,
        ):
            src.backup(dest)
    except sqlite3.Error as exc:
        raise RestoreError(
            f"SQLite restore of {source} into {url.database} failed: {exc}",
            hint="the database is as it was; close what holds it open and run the restore again",
        ) from None
