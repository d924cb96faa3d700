"""One error family. Each error is data; the CLI alone turns it into text and an exit code."""

from __future__ import annotations

from typing import Any


class MigratorError(Exception):
    """Base of every error a user can cause. `exit_code` is the SPEC §6 exit status."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.notes: list[str] = []  # what else happened after it (an after_error callback)
        self.document: dict[str, Any] = {}  # what the command decided before it failed (--json)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        if self.notes:
            data["notes"] = self.notes
        return data


class UsageError(MigratorError):
    exit_code = 2
    kind = "usage"


class ConfigError(MigratorError):
    exit_code = 2
    kind = "config"


class LayoutError(MigratorError):
    """The migrations folder is not valid. Carries every problem found, not only the first."""

    exit_code = 2
    kind = "layout"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        head = problems[0] if len(problems) == 1 else f"{len(problems)} layout problems"
        super().__init__(head, hint="fix the migrations folder; nothing was run")

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        return self.message + ":\n" + "\n".join(f"  - {p}" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": self.problems}


class DriftError(MigratorError):
    """The database does not match the files (or a failed/interrupted row blocks the run)."""

    exit_code = 3
    kind = "drift"

    def __init__(self, message: str, problems: list[Any], *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.problems = problems

    def __str__(self) -> str:
        lines = [self.message] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": [_as_dict(p) for p in self.problems]}


class RefusedError(MigratorError):
    """A command refused to act (irreversible down, baseline over history, no --yes)."""

    exit_code = 3
    kind = "refused"


class ConnectError(MigratorError):
    exit_code = 4
    kind = "connect"


class LockTimeoutError(MigratorError):
    exit_code = 4
    kind = "lock-timeout"


class ScratchDatabaseError(ConfigError):
    """verify, drift and `validate --schema-file` build the schema on a scratch database, and
    it could not be created, used or cleaned up (the server's message is part of this one)."""

    kind = "scratch-database"


class PrivilegeError(ConfigError):
    """The user at --url may not create or drop the database: a setup to fix, nothing changed."""

    kind = "privilege"


class DriverMissingError(ConfigError):
    kind = "driver-missing"


class StoppedError(MigratorError):
    """The run stopped between two files because its caller asked it to (with several targets:
    another target failed). Every file that ran is complete with its version row; none was cut
    short. Exit 1, the lowest failure status: the run did not do all it was asked to."""

    exit_code = 1
    kind = "stopped"

    def __init__(self, direction: str, done: list[tuple[int, str]], left: list[tuple[int, str]]) -> None:
        self.direction, self.done, self.left = direction, done, left
        self.where = f"after {done[-1][1]}" if done else "before its first file"
        verb = "applied" if direction == "up" else "rolled back"
        super().__init__(
            f"stopped {self.where} on request: {len(done)} version{'' if len(done) == 1 else 's'} {verb}, "
            f"{len(left)} not run ({', '.join(str(v) for v, _ in left)})",
            hint="nothing is half-done; run the command again to go on",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "direction": self.direction,
            "completed": [v for v, _ in self.done],
            "not_run": [v for v, _ in self.left],
        }


class BookkeepingError(MigratorError):
    """A run stopped outside the user's statements: migrator's own version-table write, the
    session setup around a file, or a file whose rest cannot be split. The message says what
    of the file committed. Exit 1: a migration did not complete."""

    exit_code = 1
    kind = "run-failed"


class RunawayBatchError(MigratorError):
    """A `batch` file's statement still changed rows after its bound of batches (SPEC §10):
    it selects rows it already did, or the backfill is bigger than its file says. What
    committed stays; the version is recorded as failed so that no later run repeats it."""

    exit_code = 1
    kind = "runaway-batch"

    def __init__(
        self, *, version: int, name: str, path: str, direction: str, batches: int, rows: int, limit: int
    ) -> None:
        self.version, self.name, self.path, self.direction = version, name, path, direction
        self.batches, self.rows, self.limit = batches, rows, limit
        retry = (
            f"`migrator repair {version}` and `migrator up`"
            if direction == "up"
            else f"`migrator repair --mark-applied {version}` and `migrator down`"
        )
        super().__init__(
            f"version {version} ({name}) {direction} stopped: {path} is a `batch` file whose "
            f"statement still changed rows in batch {batches:,}, past its bound of {limit:,} "
            f"batches ({rows:,} rows changed so far); a batch statement must select only rows "
            f"it has not processed yet, or it never ends. The {batches:,} batches committed and "
            f"stay; version {version} is recorded as failed and blocks later runs",
            hint=(
                "make the statement skip the rows it already did (e.g. `WHERE new_col IS NULL`); "
                "if it is making progress and needs more batches, raise the bound with "
                f"`-- migrator: max-batches N` at the top of {path}. Then run {retry}"
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "version": self.version,
            "name": self.name,
            "file": self.path,
            "direction": self.direction,
            "batches": self.batches,
            "rows": self.rows,
            "max_batches": self.limit,
        }


# By what the database's code says (StatementError.cause): privileges are blamed only when the
# database said so, never for a name it refused or an error whose code says neither.
_DATABASE_HINTS = {
    "privileges": "check the database user's privileges on the version table",
    "name": "the database refused the version table's name; choose another with --table, "
    "a plain identifier such as schema_version",
    "": "the database's message above says what it refused; fix that and run the command again",
}


class DatabaseError(MigratorError):
    """The database refused migrator's own work outside any migration file: reading or
    writing the version table, or taking the lock (a driver's error, translated once, at the
    edge of a database session)."""

    exit_code = 1
    kind = "database"

    def __init__(self, message: str, *, code: str = "", cause: str = "") -> None:
        super().__init__(
            f"database error while reading or writing the version table: {message}"
            + (f" [{code}]" if code else ""),
            hint=_DATABASE_HINTS.get(cause, _DATABASE_HINTS[""]),
        )
        self.code = code
        self.cause = cause


class InFlight:
    """What became of the file a signal stopped, as read back from the version table:
    `rolled-back` (nothing of it committed; the version is as before the file), `failed`
    (recorded as failed: some statements committed), `running` (the failed mark could not be
    written; reported as interrupted), `resumable` (a batch file: the next run goes on),
    `unknown` (the version table could not be read). (A plain class: see StatementFailure.)"""

    def __init__(
        self,
        *,
        version: int | None,
        name: str,
        direction: str,
        outcome: str,
        statements_done: int = 0,
        statement_count: int | None = None,
        running_statement: int | None = None,
        rows_done: int = 0,
        kind: str = "version",
    ) -> None:
        self.version, self.name, self.direction, self.outcome = version, name, direction, outcome
        self.statements_done, self.statement_count = statements_done, statement_count
        self.running_statement, self.rows_done = running_statement, rows_done
        self.kind = kind  # version, or a file with no version row: repeatable, callback

    @property
    def subject(self) -> str:
        if self.kind == "version":
            return f"version {self.version} ({self.name})"
        return f"{self.kind} {self.name}"

    def describe(self) -> str:
        """What happened to the file, and the next step."""
        from migrator.model import committed_phrase, resolve_advice

        if self.kind != "version":
            return self._describe_side()
        assert self.version is not None  # (a side file was told above)
        which = f"version {self.version}"
        if self.outcome == "rolled-back":
            if self.direction == "up":
                what = f"{which} was rolled back: nothing of it was committed, it is pending again"
            else:
                what = f"{which} is still applied: nothing of its down.sql was committed"
            return f"{what}; run the command again to go on"
        if self.outcome == "resumable":
            return (
                f"{which} is a batch file: the batches that finished stay committed "
                f"({self.rows_done:,} rows so far); the next `migrator {self.direction}` resumes it"
            )
        if self.outcome == "unknown":
            return (
                f"what became of {which} could not be read back from the version table; "
                "run `migrator status` to see it"
            )
        state = "recorded as failed" if self.outcome == "failed" else "left running (interrupted)"
        running = (
            f", and statement {self.running_statement} was running when the signal came (it may "
            "have committed too)"
            if self.running_statement
            else ""
        )
        done = committed_phrase(self.statements_done, self.statement_count)
        stays = " and stays" if self.statements_done == 1 else (" and stay" if self.statements_done else "")
        return f"{which} is {state}: {done} committed{stays}{running}; " + resolve_advice(
            self.version, self.direction
        )

    def _describe_side(self) -> str:
        """A repeatable or callback file (SPEC §12): no version row; it simply runs again."""
        from migrator.model import committed_phrase

        which = f"{self.kind} {self.name}"
        again = (
            "it stays pending and runs again on the next `up`"
            if self.kind == "repeatable"
            else "it runs again with the next run"
        )
        if self.outcome == "rolled-back":
            return f"{which} was rolled back: nothing of it was committed; {again}"
        done = committed_phrase(self.statements_done, self.statement_count)
        stays = " and stays" if self.statements_done == 1 else (" and stay" if self.statements_done else "")
        running = (
            f", and statement {self.running_statement} was running when the signal came (it may "
            "have committed too)"
            if self.running_statement
            else ""
        )
        return f"{which} was cut short: {done} committed{stays}{running}; {again}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "version": self.version,
            "name": self.name,
            "direction": self.direction,
            "outcome": self.outcome,
            "statements_done": self.statements_done,
            "statements_total": self.statement_count,
            "running_statement": self.running_statement,
        }


class Interrupted(MigratorError, KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run. What completed travels as data: the versions that
    finished before the signal, each whole, and what became of the file that was running
    (read back from the version table). Still a KeyboardInterrupt, so an application using
    the library is stopped as before."""

    kind = "interrupted"

    def __init__(
        self, command: str, completed: list[int], exit_code: int, in_flight: InFlight | None = None
    ) -> None:
        verb = "applied" if command == "up" else "rolled back"
        done = ", ".join(map(str, completed))
        self.signal = "SIGTERM" if exit_code == 143 else "SIGINT"
        if command not in ("up", "down"):  # outside a run: discovery, connecting, reading
            self.outcome = "no migration file was running; run `migrator status` to see where the database is"
        elif in_flight is None:
            before = f"{verb} before the signal: {done}" if completed else f"nothing was {verb}"
            self.outcome = f"no migration file was cut short; {before}; run the command again to go on"
        else:
            before = f"{verb} before it: {done}" if completed else f"nothing was {verb} before it"
            self.outcome = f"during {in_flight.subject}; {before}; {in_flight.describe()}"
        super().__init__(f"stopped by {self.signal}{'' if in_flight else ';'} {self.outcome}")
        self.command, self.completed, self.exit_code = command, completed, exit_code
        self.in_flight = in_flight

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "signal": self.signal,
            "completed": self.completed,
            "in_flight": self.in_flight.to_dict() if self.in_flight else None,
        }


class StatementFailure:
    """Where a statement failed and what the database said. (A plain class: this module is
    imported by `migrator --help`, which must not pay for dataclasses.)"""

    def __init__(
        self,
        *,
        version: int | None,
        name: str,
        path: str,
        direction: str,
        statement_index: int,
        statement_count: int,
        line: int,
        column: int,
        excerpt: str,
        db_message: str,
        db_code: str,
        committed: str,
        statements_committed: int = 0,
        subject: str = "",
    ) -> None:
        self.version, self.name, self.path, self.direction = version, name, path, direction
        self.statement_index, self.statement_count = statement_index, statement_count
        self.line, self.column, self.excerpt = line, column, excerpt
        self.db_message, self.db_code = db_message, db_code
        self.committed, self.statements_committed = committed, statements_committed
        # what failed, in words: "version 3 (0003_x)", "repeatable views", "callback after_up"
        self.subject = subject or f"version {version} ({name})"


class MigrationFailedError(MigratorError):
    exit_code = 1
    kind = "migration-failed"

    def __init__(self, failure: StatementFailure, *, hint: str = "") -> None:
        f = failure
        super().__init__(
            f"{f.subject} failed in {f.path}:{f.line}:{f.column}, "
            f"statement {f.statement_index} of {f.statement_count}: {f.db_message}",
            hint=hint,
        )
        self.failure = failure

    def __str__(self) -> str:
        f = self.failure
        code = f" [{f.db_code}]" if f.db_code else ""
        lines = [
            f"{f.subject} {f.direction} failed" if f.version is not None else f"{f.subject} failed",
            f"  file:      {f.path}:{f.line}:{f.column}",
            f"  statement: {f.statement_index} of {f.statement_count}",
            f"  database:  {f.db_message}{code}",
            "",
            *("  " + x for x in f.excerpt.splitlines()),
            "",
            f"  {f.committed}",
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        f = self.failure
        return {
            **super().to_dict(),
            "version": f.version,
            "name": f.name,
            "subject": f.subject,
            "file": f.path,
            "direction": f.direction,
            "statement": f.statement_index,
            "statements": f.statement_count,
            "line": f.line,
            "column": f.column,
            "excerpt": f.excerpt,
            "database_message": f.db_message,
            "database_code": f.db_code,
            "committed": f.committed,
            "statements_committed": f.statements_committed,
        }


def _as_dict(item: Any) -> Any:
    to_dict = getattr(item, "to_dict", None)
    return to_dict() if to_dict else item
