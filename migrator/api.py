"""`Migrator`: one method per command. Returns plain results, raises MigratorError subclasses."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator import signals
from migrator.config import Settings, check_repeatable_table, validate_table
from migrator.dialects import Dialect, StatementError, open_dialect, registry
from migrator.discovery import Layout
from migrator.errors import (
    ConfigError,
    DatabaseError,
    DriftError,
    Interrupted,
    RefusedError,
    UsageError,
)
from migrator.history import VersionStore
from migrator.lexcheck import check_every_file, check_split
from migrator.lexer import Statement, leading_keywords
from migrator.locking import acquire_lock
from migrator.model import (
    STATUS_APPLIED,
    STATUS_RUNNING,
    AppliedRow,
    HistoryEvent,
    Migration,
    Repeatable,
    RepeatableRow,
    SqlFile,
    Timeouts,
)
from migrator.plan import (
    Problem,
    blocking,
    find_drift,
    pending_repeatables,
    plan_down,
    plan_up,
    resumable_batch,
    resume_points,
)
from migrator.report import Reporter
from migrator.runner import PreparedFile, Runner, prepare
from migrator.sidefiles import PreparedSide, prepare_side
from migrator.streaming import FileStatements
from migrator.urls import DatabaseUrl, parse_url

if TYPE_CHECKING:
    from migrator.dbadmin import DatabaseResult


class SilentReporter(Reporter):
    """The library default: every event goes nowhere (the protocol's own empty methods)."""


@dataclass
class PlannedFile:
    version: int | None  # None: a repeatable or callback file
    name: str
    direction: str  # up, down, repeatable, callback
    file: str
    mode: str  # "transaction" or "no-transaction (statement by statement)"
    statements: Sequence[Statement] | FileStatements  # a big file's: split again when read
    warnings: list[str] = field(default_factory=list)
    when: str = ""  # a repeatable or callback file: when it runs

    @property
    def atomic(self) -> bool:
        """All of the file commits, or none of it (SPEC §3)."""
        return self.mode == "transaction"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "direction": self.direction,
            "file": self.file,
            "mode": self.mode,
            "atomic": self.atomic,
            "warnings": self.warnings,
            **({"when": self.when} if self.when else {}),
            "statements": [{"line": s.line, "column": s.column, "sql": s.text} for s in self.statements],
        }


@dataclass
class RunResult:
    command: str
    dialect: str
    dry_run: bool
    before: int | None
    after: int | None
    versions: list[int]  # applied (up) or rolled back (down), in run order
    planned: list[PlannedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed_ms: int = 0
    backups: list[str] = field(default_factory=list)
    repeatables: list[str] = field(default_factory=list)  # applied (or, dry run, to apply)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "dialect": self.dialect,
            "dry_run": self.dry_run,
            "version_before": self.before,
            "version_after": self.after,
            "versions": self.versions,
            "repeatables": self.repeatables,
            "warnings": self.warnings,
            "backups": self.backups,
            "elapsed_ms": self.elapsed_ms,
            **({"plan": [p.to_dict() for p in self.planned]} if self.dry_run else {}),
        }


@dataclass
class RestoreResult:
    file: str
    url: str  # masked
    schema: str  # a tenant's backup restores this schema alone ("" : the whole database)
    before: int | None
    after: int | None
    elapsed_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "restore",
            "file": self.file,
            "url": self.url,
            "schema": self.schema or None,
            "version_before": self.before,
            "version_after": self.after,
            "elapsed_ms": self.elapsed_ms,
        }


@dataclass
class VersionState:
    version: int
    name: str
    state: str  # applied, pending, failed, running, missing
    applied_at: Any = None
    execution_ms: int | None = None
    applied_by: str | None = None
    rows_done: int | None = None  # a `batch` file still running: rows so far; the next up resumes it

    @property
    def shown(self) -> str:
        """The state as `status` prints it: a batch being backfilled, with its row count."""
        if self.rows_done is None:
            return self.state
        return f"backfilling, {self.rows_done} row{'s' if self.rows_done != 1 else ''} so far"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "state": self.state,
            "applied_at": _iso(self.applied_at),
            "execution_ms": self.execution_ms,
            "applied_by": self.applied_by,
            "rows_done": self.rows_done,
        }


@dataclass
class RepeatableState:
    name: str
    file: str | None  # None: applied once, its file is gone since
    # applied, changed (since applied), new (never applied), removed (file gone),
    # rolled_back (a `down` ran since it was applied)
    state: str
    applied_at: Any = None
    applied_by: str | None = None
    failed_at: Any = None  # its last run failed (then it is pending: changed or new)
    failure: str = ""  # what the failed runs since it last ran through left committed

    @property
    def pending(self) -> bool:
        return self.state in ("changed", "new", "rolled_back")

    def describe(self) -> str:
        if self.failed_at is not None and self.pending:
            failed = f"its last run, at {_when(self.failed_at)} UTC, failed" + (
                f": {self.failure}" if self.failure else ""
            )
            was = {"changed": "changed since it was applied", "new": "never applied"}.get(
                self.state, "applied, then a `down` ran"
            )
            return f"{was}; {failed}; the next `up` runs it again"
        return {
            "applied": "applied, unchanged",
            "changed": "changed since it was applied; the next `up` runs it",
            "new": "never applied; the next `up` runs it",
            "rolled_back": "applied, then a `down` ran (what it made may depend on what the down "
            "dropped); the next `up` runs it again",
            "removed": "applied once, its file is gone since: nothing runs it again, and what it "
            "made stays in the database until a migration drops it",
        }[self.state]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "state": self.state,
            "pending": self.pending,
            "applied_at": _iso(self.applied_at),
            "applied_by": self.applied_by,
            "last_run_failed": self.failed_at is not None and self.pending,
            "failure": self.failure if self.failed_at is not None and self.pending else None,
        }


def _iso(at: Any) -> Any:
    """A timestamp as JSON writes it: ISO 8601, with its UTC offset."""
    return at.isoformat() if hasattr(at, "isoformat") else at


def _when(at: Any) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if hasattr(at, "strftime") else str(at)[:19]


def _failure(runs: list[tuple[Any, str]]) -> tuple[Any, str]:
    """When the last of these failed runs was, and what they left committed: the last one's
    report, and an earlier one's that left statements behind (the next run may trip on them)."""
    at, last = runs[-1][0], _committed_part(runs[-1][1])
    left = [(when, part) for when, d in runs[:-1] if (part := _committed_part(d)) and "stay" in part]
    if left:
        when, part = left[-1]
        last += f"; an earlier failed run, at {_when(when)} UTC, left: {part}"
    return at, last


def _committed_part(detail: str) -> str:
    """What a failed repeatable left committed: the last line of its error report, as the
    history keeps it ("statement 1 of 2 committed and stay ...; it stays pending ...")."""
    lines = [line.strip() for line in detail.strip().splitlines()]
    last = lines[-1] if lines else ""
    return last.split("; ", 1)[0] if "committed" in last else ""


def repeatable_states(
    repeatables: list[Repeatable],
    rows: dict[str, RepeatableRow],
    failures: dict[str, list[tuple[Any, str]]] | None = None,
) -> list[RepeatableState]:
    files = {r.name: r for r in repeatables}
    out = []
    for name in sorted(set(files) | set(rows)):
        r, row = files.get(name), rows.get(name)
        if r is None:
            state = "removed"
        elif row is None:
            state = "new"
        elif row.rolled_back:
            state = "rolled_back"
        else:
            state = "applied" if row.checksum == r.file.checksum else "changed"
        runs = (failures or {}).get(name)
        failed_at, failure = _failure(runs) if runs else (None, "")
        out.append(
            RepeatableState(
                name,
                r.file.rel if r else None,
                state,
                row.applied_at if row else None,
                row.applied_by if row else None,
                failed_at,
                failure,
            )
        )
    return out


@dataclass
class StatusResult:
    dialect: str
    url: str
    current: int | None
    versions: list[VersionState]
    problems: list[Problem]
    repeatables: list[RepeatableState] = field(default_factory=list)

    @property
    def pending(self) -> list[VersionState]:
        return [v for v in self.versions if v.state == "pending"]

    @property
    def pending_repeatables(self) -> list[RepeatableState]:
        return [r for r in self.repeatables if r.pending]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "url": self.url,
            "current_version": self.current,
            "pending": [v.version for v in self.pending],
            "pending_repeatables": [r.name for r in self.pending_repeatables],
            "versions": [v.to_dict() for v in self.versions],
            "repeatables": [r.to_dict() for r in self.repeatables],
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class ValidateResult:
    problems: list[Problem]
    strict: bool
    repeatables: list[RepeatableState] = field(default_factory=list)  # pending ones: not drift
    removed_repeatables: list[RepeatableState] = field(default_factory=list)  # applied, file gone

    @property
    def errors(self) -> list[Problem]:
        return blocking(self.problems, strict=self.strict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": [
                {**p.to_dict(), "severity": "error"}
                if self.strict and p.kind == "down-changed"
                else p.to_dict()
                for p in self.problems
            ],
            "pending_repeatables": [r.to_dict() for r in self.repeatables],
            "removed_repeatables": [r.to_dict() for r in self.removed_repeatables],
        }


class Migrator:
    """Library entry point: `Migrator(url="postgres://...", directory="sql").up()`."""

    def __init__(
        self,
        url: str | None = None,
        directory: str | Path = "sql",
        table: str = "schema_version",
        *,
        settings: Settings | None = None,
        reporter: Any = None,
        lock_timeout: float = 60.0,
        timeouts: Timeouts | None = None,
    ) -> None:
        if settings is None:
            settings = Settings(
                url=url or "sqlite:///migrator.db",
                dir=Path(directory),
                table=validate_table(table),
                lock_timeout_s=lock_timeout,
                timeouts=timeouts or Timeouts(),
            )
        self.settings = settings
        self.url: DatabaseUrl = parse_url(settings.url)
        self.dialect_name = self.url.dialect
        has_schemas = registry.spec(self.dialect_name).schemas
        if settings.schema:
            if not has_schemas:
                raise ConfigError(
                    f"schema={settings.schema}: a schema per target is for postgres",
                    hint="on mysql, give each tenant database its own URL",
                )
            self.url = replace(self.url, schema=settings.schema)
        if "." in settings.table and not has_schemas:
            raise UsageError(
                f"--table {settings.table}: schema.table is only for postgres",
                hint="use a plain identifier such as schema_version",
            )
        self.reporter = reporter or SilentReporter()
        self._layout: Layout | None = None

    # -- files, no database ------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        if self._layout is None:
            self._layout = Layout(self.settings.dir)
        return self._layout

    def migrations(self) -> list[Migration]:
        return self.layout.migrations(self.dialect_name)

    def repeatables(self) -> list[Repeatable]:
        found = self.layout.repeatables(self.dialect_name)
        if found:
            check_repeatable_table(self.settings.table, self.dialect_name)
        return found

    def _side_files(self, direction: str) -> list[SqlFile]:
        """The repeatable and callback files a command of this direction may run."""
        callbacks = self.layout.callbacks(self.dialect_name)
        mine = [
            f
            for event, f in callbacks.items()
            if event == "after_error" or event.endswith("_down") == (direction == "down")
        ]
        return mine + ([r.file for r in self.repeatables()] if direction == "up" else [])

    def _callbacks(self, direction: str, dialect: Dialect) -> dict[str, PreparedSide]:
        """This command's callback files, read and split (SPEC §12)."""
        from migrator.sidefiles import each_event

        events = (
            f"before_{direction}",
            f"after_{direction}",
            each_event("before", direction),
            each_event("after", direction),
            "after_error",
        )
        found = self.layout.callbacks(self.dialect_name)
        return {
            e: prepare_side("callback", e, found[e], dialect, transaction=e != "after_error")
            for e in events
            if e in found
        }

    # -- database sessions --------------------------------------------------------------
    @contextmanager
    def _session(
        self, *, read_only: bool, lock: bool, url: DatabaseUrl | None = None
    ) -> Iterator[tuple[Dialect, VersionStore]]:
        dialect = open_dialect(url or self.url)
        dialect.connect(read_only=read_only)
        # in a worker thread (several targets) a signal reaches the statement through cancel();
        # without threading imported there is no worker thread (and no import at start-up)
        threading = sys.modules.get("threading")
        in_worker = threading is not None and threading.current_thread() is not threading.main_thread()
        on_signal = signals.cancellable(dialect.cancel) if in_worker else nullcontext()
        try:
            store = VersionStore(dialect, self.settings.table)
            with on_signal:
                if lock:
                    acquire_lock(dialect, store.table, self.settings.lock_timeout_s)
                yield dialect, store
        except StatementError as exc:  # migrator's own SQL, outside any file: translated once
            raise DatabaseError(exc.message, code=exc.code, cause=exc.cause) from None
        finally:
            dialect.close()

    def _no_database_file(self) -> bool:
        """A file database (sqlite) whose file does not exist: it holds no version to roll
        back or repair, and a command that only changes versions must not create it."""
        return registry.spec(self.dialect_name).file_database and not open_dialect(self.url).database_exists()

    # -- commands -----------------------------------------------------------------------
    def plan(self, target: int | None = None, *, allow_out_of_order: bool = False) -> RunResult:
        """What `up` would run (files, transaction mode, statements), writing nothing."""
        return self.up(target, dry_run=True, allow_out_of_order=allow_out_of_order)

    def up(
        self,
        target: int | None = None,
        *,
        dry_run: bool = False,
        allow_out_of_order: bool = False,
        backup: bool | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RunResult:
        """Apply pending versions. backup: True = before the first version, False = never
        (not even for `backup` directives), None = where a file says `-- migrator: backup`.
        should_stop: asked between files; once true, StoppedError after the file in flight."""
        migrations = self.migrations()  # layout errors before the database is touched
        repeatables = self.repeatables()
        # every down.sql too (as validate): a layout error is one wherever it is (SPEC §1), and
        # a rollback file that cannot run is found now, not during an emergency rollback
        self._check_files(migrations, ("up", "down"), self._side_files("up"))
        backups = self._backup_plan(migrations, backup) if not dry_run else None
        started = time.perf_counter()
        with self._session(read_only=dry_run, lock=not dry_run) as (dialect, store):
            rows = store.rows()
            self._refuse_on_drift(migrations, rows, allow_out_of_order=allow_out_of_order)
            todo = plan_up(migrations, rows, target)
            check_split(_lexed_first([m.up for m in todo], dialect), dialect.name)
            files = [prepare(m, "up", dialect) for m in todo]
            callbacks = self._callbacks("up", dialect)
            sides = [
                replace(prepare_side("repeatable", r.name, r.file, dialect), repeatable=r, old_checksum=old)
                for r, old in pending_repeatables(repeatables, store.repeatable_rows())
            ]
            result = RunResult("up", dialect.name, dry_run, _current(rows), None, [])
            # said where it helps, before deploying (the dry run names each file); a run does
            # not repeat it for the same files on every database (JSON keeps it as data)
            placeholders = _template_warnings(todo)
            result.warnings = placeholders + [w for pf in files for w in atomicity_warnings(pf)]
            if dry_run:
                result.planned = _planned_run("up", files, sides, callbacks)
                result.repeatables = [ps.name for ps in sides]
                result.after = max([_current(rows) or 0] + [m.version for m in todo]) or None
                return result
            self.reporter.plan_ready("up", files, _current(rows))
            for warning in placeholders:
                self.reporter.warning(warning)
            if files or sides:
                store.ensure(repeatable=bool(repeatables))
            runner = Runner(
                dialect,
                store,
                self.reporter,
                self.settings.timeouts,
                batch_pause_s=self.settings.batch_pause_s,
                resume=resume_points(migrations, rows, "up"),
                before_file=self._backup_hook(backups, backup, result),
                notes={
                    m.version: f"applied out of order: version {result.before} was already applied"
                    for m in todo
                    if result.before is not None and m.version < result.before
                },
                should_stop=should_stop,
                callbacks=callbacks,
            )
            try:
                runner.run_command("up", files, sides)
            except KeyboardInterrupt:
                raise Interrupted(
                    result.command, list(runner.completed), signals.exit_code(), runner.in_flight
                ) from None
            finally:
                result.versions = list(runner.completed)
                result.repeatables = list(runner.repeatables_done)
            result.after = _current(store.rows()) if files else result.before
            result.elapsed_ms = int((time.perf_counter() - started) * 1000)
            return result

    def _check_files(
        self, migrations: list[Migration], directions: tuple[str, ...], others: Sequence[SqlFile] = ()
    ) -> None:
        """Statements no transaction can hold, unsupported ones, batch files: exit 2 before
        connecting (the dialect object is not connected; it only knows its rules)."""
        from migrator.statement_rules import check_files

        files = [m.up if d == "up" else m.down for m in migrations for d in directions]
        check_files(files + list(others), open_dialect(self.url))

    def _backup_plan(self, migrations: list[Migration], backup: bool | None) -> Any:
        """Check the dump tool before anything touches the database (SPEC §7)."""
        if backup is False or not (backup or any(m.up.directives.backup for m in migrations)):
            return None
        from migrator.backup import plan_backup

        return plan_backup(self.url, self.settings.backup_dir)

    def _backup_hook(
        self, plan: Any, backup: bool | None, result: RunResult
    ) -> Callable[[PreparedFile], None] | None:
        if plan is None:
            return None
        from migrator.backup import restore_command, take_backup

        def before(pf: PreparedFile) -> None:
            if pf.file.directives.backup or (backup and not result.backups):
                path = take_backup(plan, self.url, pf.version)
                result.backups.append(str(path))
                self.reporter.info(
                    f"backup before version {pf.version}: {path} (restore: {restore_command(path, self.url)})"
                )

        return before

    def restore(self, path: str | Path, *, confirm: Callable[[Any], bool] | None = None) -> RestoreResult:
        """Load a backup migrator took (SPEC §7) into this database, under the migration lock.
        The file and the tool are checked before `confirm(backup_file)` is asked; declined: nothing
        changes (RefusedError)."""
        from migrator.restore import plan_restore, read_backup, restore_backup, restore_drops, restore_keep

        backup = read_backup(Path(path))
        url = backup.target(self.url)  # a tenant's backup: its schema, and its version table there
        tool = plan_restore(url)
        keep = restore_keep(backup, self.settings.table)
        with self._session(read_only=False, lock=True, url=url) as (dialect, store):
            before = _current(store.rows())
            if confirm is not None and not confirm(backup):
                raise RefusedError("restore cancelled; nothing was changed")
            started = time.perf_counter()
            # what a later version made and the dump would leave behind goes too: exactly the backup
            drops = restore_drops(keep, dialect)
            restore_backup(backup, url, tool, drops, dialect.execute)
            elapsed_ms = int((time.perf_counter() - started) * 1000)
            after = _current(store.rows())
        return RestoreResult(str(backup.path), url.masked, url.schema, before, after, elapsed_ms)

    def create_database(self) -> DatabaseResult:
        """Create the database at the URL (sqlite: its file) unless it exists (`changed` says)."""
        from migrator import dbadmin

        return dbadmin.create(self.url)

    def drop_database(self, *, confirm: Callable[[str], bool] | None = None) -> DatabaseResult:
        """Drop the database at the URL if it exists; refused while others are connected.
        `confirm(name)` is asked first; declined: nothing changes (RefusedError)."""
        from migrator import dbadmin

        return dbadmin.drop(self.url, confirm=confirm)

    def down(
        self,
        target: int | None = None,
        *,
        steps: int | None = None,
        dry_run: bool = False,
        confirm: Callable[[list[Migration]], bool] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RunResult:
        migrations = self.migrations()
        self._check_files(migrations, ("down",), self._side_files("down"))
        started = time.perf_counter()
        reading = dry_run or self._no_database_file()  # nothing to roll back: create nothing
        with self._session(read_only=reading, lock=not reading) as (dialect, store):
            rows = store.rows()
            self._refuse_on_drift(migrations, rows)
            todo = plan_down(migrations, rows, target=target, steps=steps)
            check_split(_lexed_first([m.down for m in todo], dialect), dialect.name)
            files = [prepare(m, "down", dialect) for m in todo]
            callbacks = self._callbacks("down", dialect)
            result = RunResult("down", dialect.name, dry_run, _current(rows), None, [])
            placeholders = _template_warnings(todo)
            result.warnings = placeholders + [w for pf in files for w in atomicity_warnings(pf)]
            if reading and not dry_run:  # no database file: no version, no callback to run
                return result
            if dry_run:
                result.planned = _planned_run("down", files, [], callbacks)
                remaining = [
                    v
                    for v, r in rows.items()
                    if r.status == STATUS_APPLIED and v not in {m.version for m in todo}
                ]
                result.after = max(remaining, default=None)
                return result
            if files and confirm is not None:
                asked = time.perf_counter()
                if not confirm(todo):
                    raise RefusedError("rollback cancelled; nothing was changed")
                started += time.perf_counter() - asked  # the time a person took to answer is not the run's
            self.reporter.plan_ready("down", files, _current(rows))
            runner = Runner(
                dialect,
                store,
                self.reporter,
                self.settings.timeouts,
                batch_pause_s=self.settings.batch_pause_s,
                resume=resume_points(migrations, rows, "down"),
                should_stop=should_stop,
                applied=rows,
                callbacks=callbacks,
            )
            try:
                runner.run_command("down", files, [])
            except KeyboardInterrupt:
                raise Interrupted(
                    result.command, list(runner.completed), signals.exit_code(), runner.in_flight
                ) from None
            finally:
                result.versions = list(runner.completed)
            result.after = _current(store.rows())
            result.elapsed_ms = int((time.perf_counter() - started) * 1000)
            return result

    def redo(self, *, confirm: Callable[[list[Migration]], bool] | None = None) -> RunResult:
        """Down then up of the latest applied version."""
        down = self.down(steps=1, confirm=confirm)
        if not down.versions:
            return down
        up = self.up(target=down.versions[0])
        up.command = "redo"
        up.before = down.before
        return up

    def _read_state(
        self, *, with_text: bool = False
    ) -> tuple[dict[int, AppliedRow], bool, dict[str, RepeatableRow], dict[str, list[tuple[Any, str]]]]:
        """The rows, whether another run holds the lock right now (SPEC §2: a `running`
        row is a killed run only when its lock is free), and the repeatables' rows."""
        with self._session(read_only=True, lock=False) as (dialect, store):
            rows = store.rows(with_text=with_text)
            live = False
            if any(r.status == STATUS_RUNNING for r in rows.values()):
                live = not dialect.try_lock(store.table)
                dialect.release_lock()
            repeatable_rows = store.repeatable_rows()
            failures = store.repeatable_failures() if repeatable_rows or self.repeatables() else {}
        return rows, live, repeatable_rows, failures

    def status(self) -> StatusResult:
        migrations = self.migrations()
        rows, live, repeatable_rows, failures = self._read_state()
        states = []
        by_version = {m.version: m for m in migrations}
        for v in sorted(set(by_version) | set(rows)):
            row, m = rows.get(v), by_version.get(v)
            if row is None:
                assert m is not None
                states.append(VersionState(v, m.name, "pending"))
            else:
                state = row.status if m is not None or row.status != STATUS_APPLIED else "missing"
                done = (row.rows_done or 0) if m is not None and resumable_batch(row, m) else None
                states.append(
                    VersionState(v, row.name, state, row.applied_at, row.execution_ms, row.applied_by, done)
                )
        return StatusResult(
            self.dialect_name,
            self.url.masked,
            _current(rows),
            states,
            find_drift(migrations, rows, run_in_progress=live),
            repeatable_states(self.repeatables(), repeatable_rows, failures),
        )

    def validate(self, *, strict: bool = False) -> ValidateResult:
        migrations = self.layout.migrations(self.dialect_name)
        # a down.sql that could never run (CONCURRENTLY without no-transaction...) is found
        # now, in CI, not during an emergency rollback
        sides = self._side_files("up") + self._side_files("down")
        check_every_file([f for m in migrations for f in (m.up, m.down)] + sides, open_dialect(self.url))
        rows, live, repeatable_rows, failures = self._read_state(with_text=True)
        problems = find_drift(migrations, rows, run_in_progress=live)
        states = repeatable_states(self.repeatables(), repeatable_rows, failures)
        return ValidateResult(
            explain(problems, migrations, rows),
            strict,
            [r for r in states if r.pending],
            [r for r in states if r.state == "removed"],
        )

    def history(self) -> list[HistoryEvent]:
        with self._session(read_only=True, lock=False) as (dialect, store):
            return store.events()

    def table_sizes(self, names: Iterable[str]) -> dict[str, Any]:
        """Catalog statistics of these tables on the database (lint, SPEC §11): no lock is
        taken and none waited for; a table the database does not have is left out."""
        from migrator.lint.impact import table_sizes

        with self._session(read_only=True, lock=False) as (dialect, _store):
            return table_sizes(dialect, names)

    def applied(self, *, with_text: bool = False) -> dict[int, AppliedRow]:
        with self._session(read_only=True, lock=False) as (dialect, store):
            return store.rows(with_text=with_text)

    def baseline(self, version: int, *, force: bool = False, dry_run: bool = False) -> Any:
        from migrator import admin

        migrations = self.migrations()
        with self._session(read_only=dry_run, lock=not dry_run) as (dialect, store):
            return admin.baseline(migrations, dialect, store, version, force=force, dry_run=dry_run)

    def repair(
        self,
        versions: list[int] | None = None,
        *,
        reason: str | None = None,
        mark_applied: list[int] | None = None,
        dry_run: bool = False,
        confirm: Callable[[list[Any]], bool] | None = None,
    ) -> Any:
        from migrator import admin

        migrations = self.migrations()
        reading = dry_run or self._no_database_file()  # nothing to repair: create nothing
        with self._session(read_only=reading, lock=not reading) as (dialect, store):
            return admin.repair(
                migrations,
                dialect,
                store,
                list(versions or []),
                reason=reason,
                mark_applied=list(mark_applied or []),
                dry_run=dry_run,
                confirm=confirm,
            )

    def show(self, version: int) -> ShowResult:
        by_version = {m.version: m for m in self.migrations()}
        if version not in by_version:
            raise UsageError(
                f"show {version}: there is no version {version}",
                hint="run `migrator status` to see the versions",
            )
        m = by_version[version]
        row = self.applied(with_text=True).get(version)
        up, down = m.up.read_text(), m.down.read_text()
        result = ShowResult(m, up, down, row)
        if row is not None:
            result.up_diff = _unified(row.up_sql, up, m.up.rel)
            result.down_diff = _unified(row.down_sql, down, m.down.rel)
        return result

    def verify(
        self,
        *,
        first: int | None = None,
        last: int | None = None,
        scratch_url: str | None = None,
        on_check: Callable[[Any], None] | None = None,
    ) -> Any:
        """SPEC §6.1: up, down, compare, up again for each version, on a scratch database.
        `on_check(VersionCheck)`: each version as it is decided (a file that then fails to run
        raises its error, and the versions checked before it are not lost)."""
        from migrator.verify import VerifyResult, scratch_database, verify_versions

        migrations = self.migrations()
        repeatables = self.repeatables()
        known = {m.version for m in migrations}
        for flag, version in (("--from", first), ("--to", last)):
            if version is not None and version not in known:
                raise UsageError(
                    f"verify {flag} {version}: there is no version {version}",
                    hint="run `migrator status` to see the versions",
                )
        if first is not None and last is not None and first > last:
            raise UsageError(
                f"verify --from {first} --to {last}: --from is after --to, so no version is between them",
                hint="give the lower version to --from",
            )
        self._check_files(migrations, ("up", "down"), [r.file for r in repeatables])
        with scratch_database(self.url, scratch_url) as url:
            scratch = open_dialect(url)
            scratch.connect()
            try:
                checks = verify_versions(
                    migrations,
                    scratch,
                    self.settings.table,
                    self.reporter,
                    self.settings.timeouts,
                    first=first,
                    last=last,
                    on_check=on_check,
                    repeatables=repeatables,
                )
            finally:
                scratch.close()
        return VerifyResult(self.dialect_name, checks)

    def schema(self) -> Any:
        """The snapshot of the target database, without migrator's own tables."""
        from migrator.snapshot import take_snapshot

        with self._session(read_only=True, lock=False) as (dialect, store):
            return take_snapshot(dialect, store.own_tables)

    def expected_schema(self, versions: set[int] | None = None, scratch_url: str | None = None) -> Any:
        """The schema the files produce, built on a scratch database (all versions, or these)."""
        from migrator.snapshot import take_snapshot
        from migrator.verify import on_scratch, scratch_database

        migrations = [m for m in self.migrations() if versions is None or m.version in versions]
        self._check_files(migrations, ("up",))
        with scratch_database(self.url, scratch_url) as url:
            scratch = open_dialect(url)
            scratch.connect()
            try:
                with on_scratch():
                    repeatables = self.repeatables()
                    store = VersionStore(scratch, self.settings.table)
                    store.ensure(repeatable=bool(repeatables))
                    files = [prepare(m, "up", scratch) for m in migrations]
                    runner = Runner(scratch, store, self.reporter, self.settings.timeouts)
                    runner.run(files)
                    for r in repeatables:  # views and functions the migrations keep (SPEC §12)
                        side = prepare_side("repeatable", r.name, r.file, scratch)
                        runner.run_repeatable(replace(side, repeatable=r))
                    return take_snapshot(scratch, store.own_tables)
            finally:
                scratch.close()

    def drift(self, *, ignore: list[str] | None = None, scratch_url: str | None = None) -> Any:
        """SPEC §9: the live schema against what its applied versions produce."""
        from migrator.snapshot import current_schema_only, diff
        from migrator.verify import DriftReport, check_ignore_patterns

        patterns = list(ignore or []) + list(self.settings.extra.get("ignore", []))
        check_ignore_patterns(patterns)
        applied = {v for v, r in self.applied().items() if r.status == STATUS_APPLIED}
        expected = self.expected_schema(applied, scratch_url)
        live = self.schema()
        if self.url.schema:  # a tenant is its own schema alone, not its neighbours' (SPEC §7, §10)
            expected, live = current_schema_only(expected), current_schema_only(live)
        return DriftReport.build(diff(expected, live), patterns)

    @property
    def schema_file(self) -> Path:
        return self.settings.dir / f"schema.{self.dialect_name}.txt"

    def write_schema_file(self) -> Path:
        """SPEC §9: the live snapshot as sql/schema.<dialect>.txt (deterministic, sorted)."""
        from migrator.snapshot import render_text

        self.schema_file.write_text(render_text(self.schema()), encoding="utf-8", newline="\n")
        return self.schema_file

    def check_schema_file(self, scratch_url: str | None = None) -> str:
        """A unified diff between the committed schema file and what the migrations produce
        on a scratch database; empty when they match."""
        import difflib

        from migrator.snapshot import render_text

        expected = render_text(self.expected_schema(None, scratch_url))
        path = self.schema_file
        committed = path.read_text(encoding="utf-8") if path.is_file() else ""
        if committed == expected:
            return ""
        rel = f"{self.settings.dir.name}/{path.name}"
        return "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile=f"{rel} (committed)",
                tofile=f"{rel} (what the migrations produce)",
            )
        )

    def _refuse_on_drift(
        self, migrations: list[Migration], rows: dict[int, AppliedRow], *, allow_out_of_order: bool = False
    ) -> None:
        problems = blocking(find_drift(migrations, rows), allow_out_of_order=allow_out_of_order)
        if problems:
            raise DriftError(
                "the database does not match the migration files; nothing was run",
                problems,
                hint="run `migrator validate` for details; each problem above says how to fix it",
            )


def explain(
    problems: list[Problem], migrations: list[Migration], rows: dict[int, AppliedRow]
) -> list[Problem]:
    """Show what changed, not just that it changed: a diff from the applied text for each
    changed file, and a note for files whose edits the checksum ignores (whitespace only)."""
    from dataclasses import replace as with_fields

    from migrator.checksum import explain_change, text_sha

    by_version = {m.version: m for m in migrations}
    out = []
    for p in problems:
        m, row = by_version.get(p.version), rows.get(p.version)
        if p.kind in ("changed", "down-changed") and m is not None and row is not None:
            f, stored = (m.up, row.up_sql) if p.kind == "changed" else (m.down, row.down_sql)
            diff, spacing = explain_change(stored, f.read_text(), f.rel)
            note = "; the difference is only whitespace inside lines" if spacing else ""
            p = with_fields(
                p, message=p.message + note, detail={**p.detail, "diff": diff, "whitespace_only": spacing}
            )
        out.append(p)
    for v, row in rows.items():
        m = by_version.get(v)
        if (
            m is not None
            and row.up_sql is not None
            and row.checksum == m.up.checksum
            and text_sha(row.up_sql) != m.up.text_sha
        ):
            out.append(
                Problem(
                    "whitespace-only",
                    v,
                    row.name,
                    f"{m.up.rel} differs from the applied text only in line endings, "
                    "a BOM or trailing whitespace: not drift",
                    warning=True,
                )
            )
    return sorted(out, key=lambda p: (p.version, p.kind))


def _template_warnings(todo: list[Migration]) -> list[str]:
    """A pending up.sql that is still the comment `new`/`init` wrote runs like any file (as
    every peer does: an empty migration is a migration), but not without a word: applied, it
    changes nothing, and writing the real change into it afterwards is drift."""
    from migrator.scaffold import untouched_templates

    return [
        f"{rel} is still the placeholder `migrator new` wrote: its version is recorded as applied "
        "with nothing done (write the change before `up`; once applied, put it in a new version)"
        for rel in untouched_templates(todo)
    ]


def _current(rows: dict[int, AppliedRow]) -> int | None:
    return max((v for v, r in rows.items() if r.status == STATUS_APPLIED), default=None)


def _lexed_first(files: list[SqlFile], dialect: Dialect) -> list[SqlFile]:
    """The big files a lexer error at their end would leave half-applied: those that do not
    run in one transaction (every big file on mysql). Small files are split before anything
    runs anyway (prepare), and a transactional big file rolls back whole; so only these pay
    for a whole extra pass of the lexer before the run starts."""
    return [f for f in files if f.is_big and not (dialect.transactional_ddl and f.directives.transactional)]


def _planned_run(
    direction: str, files: list[PreparedFile], sides: list[PreparedSide], callbacks: dict[str, PreparedSide]
) -> list[PlannedFile]:
    """What a run would do, in the order it would: callbacks, versions, repeatables."""
    from migrator.sidefiles import each_event

    def side(ps: PreparedSide, when: str) -> PlannedFile:
        mode = "transaction" if ps.transactional else "no-transaction (statement by statement)"
        return PlannedFile(None, ps.name, ps.kind, ps.file.rel, mode, ps.statements, when=when)

    def callback(event: str, when: str) -> list[PlannedFile]:
        return [side(callbacks[event], when)] if event in callbacks else []

    def each(event: str) -> str:
        if event in callbacks and not callbacks[event].transactional:  # (Runner._inside)
            return "version, on its own: it cannot run inside the version's transaction"
        return "version, inside its transaction where it has one"

    before, after = each_event("before", direction), each_event("after", direction)
    return [
        *callback(f"before_{direction}", f"before the {direction} run"),
        *callback(before, f"before each {each(before)}"),
        *callback(after, f"after each {each(after)}"),
        *(_planned(pf) for pf in files),
        *(side(ps, "after the versions: its checksum changed since it was applied") for ps in sides),
        *callback(f"after_{direction}", f"after the {direction} run"),
        *callback("after_error", "only if a file fails: once, outside any transaction"),
    ]


def _planned(pf: PreparedFile) -> PlannedFile:
    mode = "transaction" if pf.transactional else "no-transaction (statement by statement)"
    return PlannedFile(
        pf.version, pf.migration.name, pf.direction, pf.file.rel, mode, pf.statements, atomicity_warnings(pf)
    )


_DDL = {"CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"}


def atomicity_warnings(pf: PreparedFile) -> list[str]:
    """A non-transactional file with DDL and more than one statement cannot be undone as a whole."""
    if pf.transactional or pf.file.is_big or len(pf.statements) < 2:
        return []  # (a big file is a data load: not read ahead just for this warning)
    if not any(
        leading_keywords(s.text, 1)[:1] and leading_keywords(s.text, 1)[0] in _DDL for s in pf.statements
    ):
        return []
    return [
        f"{pf.file.rel}: not atomic: {len(pf.statements)} statements run one by one and DDL "
        "commits at once; if one fails, the ones before it stay applied"
    ]


@dataclass
class ShowResult:
    migration: Migration
    up_sql: str
    down_sql: str
    row: AppliedRow | None
    up_diff: str = ""
    down_diff: str = ""

    def to_dict(self) -> dict[str, Any]:
        m, row = self.migration, self.row
        return {
            "version": m.version,
            "name": m.name,
            "description": m.description,
            "up": {
                "file": m.up.rel,
                "checksum": m.up.checksum,
                "sql": self.up_sql,
                "diff_from_applied": self.up_diff,
            },
            "down": {
                "file": m.down.rel,
                "checksum": m.down.checksum,
                "sql": self.down_sql,
                "diff_from_applied": self.down_diff,
            },
            "state": row.status if row else "pending",
            "applied_at": _iso(row.applied_at) if row else None,
            "applied_checksum": row.checksum if row else None,
            "applied_down_checksum": row.down_checksum if row else None,
        }


def _unified(applied: str | None, current: str, rel: str) -> str:
    import difflib

    if applied is None or applied == current:
        return ""
    diff = difflib.unified_diff(
        applied.splitlines(keepends=True),
        current.splitlines(keepends=True),
        fromfile=f"{rel} (applied)",
        tofile=f"{rel} (now)",
    )
    return "".join(diff)
