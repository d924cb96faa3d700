"""Pure planning: migration files + applied rows -> what to run, or the drift that forbids it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrator.errors import RefusedError, UsageError
from migrator.model import (
    STATUS_APPLIED,
    STATUS_FAILED,
    STATUS_RUNNING,
    AppliedRow,
    Migration,
    Repeatable,
    RepeatableRow,
    committed_phrase,
    resolve_advice,
)


@dataclass(frozen=True)
class Problem:
    """One drift finding. `warning` findings do not block a run (unless --strict)."""

    kind: str  # changed, down-changed, missing, out-of-order, failed, interrupted, requires,
    # unknown-status
    version: int
    name: str
    message: str
    warning: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        label = "note" if self.kind == "whitespace-only" else ("warning" if self.warning else self.kind)
        return f"version {self.version} ({self.name}): {label}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "version": self.version,
            "name": self.name,
            "severity": "warning" if self.warning else "error",
            "message": self.message,
            **self.detail,
        }


def find_drift(
    migrations: list[Migration], rows: dict[int, AppliedRow], *, run_in_progress: bool = False
) -> list[Problem]:
    """Every way the database disagrees with the files (SPEC §5), sorted by version.
    run_in_progress: another run holds the lock, so a `running` row is live, not killed."""
    by_version = {m.version: m for m in migrations}
    problems: list[Problem] = []
    applied = [r for r in rows.values() if r.status == STATUS_APPLIED]
    highest = max((r.version for r in applied), default=None)
    for row in rows.values():
        m = by_version.get(row.version)
        if not (m is not None and resumable_batch(row, m)):
            problems += _row_state(row, run_in_progress, folder_gone=m is None)
        if m is None and row.status != STATUS_APPLIED:
            continue  # the row's own problem says what to do without the folder
        if m is None:
            problems.append(
                Problem(
                    "missing",
                    row.version,
                    row.name,
                    f"recorded as {row.status} but its folder {row.name} is gone; restore it "
                    "(e.g. from version control) or, if it was removed on purpose, resolve by hand",
                )
            )
            continue
        if row.checksum != m.up.checksum:
            problems.append(
                Problem(
                    "changed",
                    row.version,
                    row.name,
                    f"{m.up.rel} changed since it was applied (checksum {m.up.checksum[:12]}, "
                    f"applied {row.checksum[:12]}); restore the file, or accept the edit with "
                    f"`migrator repair {row.version} --reason ...`",
                    detail={
                        "file": m.up.rel,
                        "applied_checksum": row.checksum,
                        "file_checksum": m.up.checksum,
                    },
                )
            )
        if row.down_checksum != m.down.checksum:
            problems.append(
                Problem(
                    "down-changed",
                    row.version,
                    row.name,
                    f"{m.down.rel} changed since the version was applied; the new down.sql is "
                    f"what a rollback will run (accept it with `migrator repair {row.version}`)",
                    warning=True,
                    detail={
                        "file": m.down.rel,
                        "applied_checksum": row.down_checksum,
                        "file_checksum": m.down.checksum,
                    },
                )
            )
    for m in migrations:
        if m.version not in rows and highest is not None and m.version < highest:
            problems.append(
                Problem(
                    "out-of-order",
                    m.version,
                    m.name,
                    f"pending, but lower than the highest applied version {highest}; apply it with "
                    "`migrator up --allow-out-of-order`, or renumber it above the others",
                    detail={"highest_applied": highest},
                )
            )
    problems += unmet_requires(migrations, rows)
    return sorted(problems, key=lambda p: (p.version, p.kind))


def resumable_batch(row: AppliedRow, m: Migration) -> bool:
    """An interrupted `batch` file resumes instead of blocking (SPEC §10)."""
    sql_file = m.up if row.operation == "up" else m.down
    return row.status == STATUS_RUNNING and sql_file.directives.batch


def resume_points(migrations: list[Migration], rows: dict[int, AppliedRow], direction: str) -> dict[int, int]:
    """version -> rows already processed, for interrupted batch files of this direction."""
    by_version = {m.version: m for m in migrations}
    return {
        v: r.rows_done or 0
        for v, r in rows.items()
        if v in by_version and r.operation == direction and resumable_batch(r, by_version[v])
    }


_KNOWN_STATUSES = (STATUS_APPLIED, STATUS_RUNNING, STATUS_FAILED)


def _row_state(row: AppliedRow, run_in_progress: bool = False, *, folder_gone: bool = False) -> list[Problem]:
    if row.status not in _KNOWN_STATUSES:  # SPEC §2: any other status is drift, never ignored
        return [
            Problem(
                "unknown-status",
                row.version,
                row.name,
                f"the version table says status {row.status!r}, which migrator never writes "
                f"(only {', '.join(_KNOWN_STATUSES)}); it cannot tell whether this version ran. "
                f"Check the database by hand, then run `migrator repair {row.version}` (version "
                f"pending again) or `migrator repair --mark-applied {row.version}` (it is applied)",
                detail={"status": row.status},
            )
        ]
    if row.status == STATUS_APPLIED:
        return []
    if row.status == STATUS_RUNNING and run_in_progress:
        return [
            Problem(
                "in-progress",
                row.version,
                row.name,
                f"another run is applying it now ({row.statements_done or 0} of "
                f"{row.statements_total} statement{'s' if row.statements_total != 1 else ''} done)",
                warning=True,
            )
        ]
    done = row.statements_done or 0
    total = row.statements_total
    ran = f"{committed_phrase(done, total)} committed"
    detail = {
        "operation": row.operation,
        "statements_done": done,
        "statements_total": total,
        "failed_statement": row.failed_statement,
        "failed_line": row.failed_line,
        "error": row.error,
    }
    next_step = _folder_gone_advice(row) if folder_gone else resolve_advice(row.version, row.operation)
    if row.status == STATUS_FAILED:
        where = f" at statement {row.failed_statement}" if row.failed_statement else ""
        line = f" (line {row.failed_line})" if row.failed_line else ""
        return [
            Problem(
                "failed",
                row.version,
                row.name,
                f"{row.operation} failed{where}{line}: {row.error}; {ran}; {next_step}",
                detail=detail,
            )
        ]
    return [
        Problem(
            "interrupted",
            row.version,
            row.name,
            f"a run was killed while running {row.operation}; {ran}; {next_step}",
            detail=detail,
        )
    ]


def _folder_gone_advice(row: AppliedRow) -> str:
    """A failed or interrupted version whose folder is gone can be neither run nor marked
    applied; its row can still go, once the database holds nothing of it."""
    by_hand = "finish the rollback by hand" if row.operation == "down" else "undo by hand what ran"
    return (
        f"its folder {row.name} is gone, so it can be neither run again nor marked applied: "
        f"restore the folder (e.g. from version control) and run `migrator status` again, or, if "
        f"it was removed on purpose, {by_hand} (`migrator repair {row.version} --dry-run` shows "
        f"the SQL the version table kept) and run `migrator repair {row.version}`, which deletes "
        "the row"
    )


def unmet_requires(migrations: list[Migration], rows: dict[int, AppliedRow]) -> list[Problem]:
    """A `requires` must name an existing version that is (or will be) applied before it."""
    known = {m.version for m in migrations}
    problems = []
    for m in migrations:
        for needed in m.up.directives.requires:
            if needed not in known and needed not in rows:
                reason = "which does not exist"
            elif needed >= m.version and needed not in rows:
                reason = "which is not applied and comes after it"
            elif m.version in rows and needed not in rows:
                reason = "which is not applied"
            else:
                continue
            problems.append(
                Problem(
                    "requires",
                    m.version,
                    m.name,
                    f"requires version {needed}, {reason}",
                    detail={"requires": needed},
                )
            )
    return problems


def blocking(
    problems: list[Problem], *, strict: bool = False, allow_out_of_order: bool = False
) -> list[Problem]:
    return [
        p
        for p in problems
        if (not p.warning or (strict and p.kind == "down-changed"))
        and not (allow_out_of_order and p.kind == "out-of-order")
    ]


def plan_up(migrations: list[Migration], rows: dict[int, AppliedRow], target: int | None) -> list[Migration]:
    """Pending versions up to `target`, in ascending order."""
    if target is not None and target not in {m.version for m in migrations} | set(rows):
        raise UsageError(
            f"--to {target}: there is no version {target}", hint="run `migrator status` to see the versions"
        )
    resuming = resume_points(migrations, rows, "up")
    return [
        m
        for m in migrations
        if (m.version not in rows or m.version in resuming) and (target is None or m.version <= target)
    ]


def plan_down(
    migrations: list[Migration], rows: dict[int, AppliedRow], *, target: int | None, steps: int | None
) -> list[Migration]:
    """Applied versions to roll back, highest first. Refuses past an irreversible one."""
    resuming = resume_points(migrations, rows, "down")
    applied = sorted(
        (v for v, r in rows.items() if r.status == STATUS_APPLIED or v in resuming), reverse=True
    )
    if target is not None:  # any V: "every applied version above V"
        chosen = [v for v in applied if v > target]
    else:
        if steps is not None and steps < 1:
            raise UsageError("--steps must be 1 or more")
        chosen = applied[: steps or 1]
    by_version = {m.version: m for m in migrations}
    result = [by_version[v] for v in chosen if v in by_version]
    for m in result:
        if m.down.directives.irreversible:
            raise RefusedError(
                f"version {m.version} ({m.name}) is irreversible: its down.sql is marked "
                "`-- migrator: irreversible`; nothing was rolled back",
                hint=f"roll back only to version {m.version} or above (--to {m.version})",
            )
    return result


def pending_repeatables(
    repeatables: list[Repeatable], rows: dict[str, RepeatableRow]
) -> list[tuple[Repeatable, str | None]]:
    """The repeatable migrations to run, in name order, each with the checksum it was last
    applied with (None: never). Pending, never drift (SPEC §12)."""
    return [
        (r, rows[r.name].applied_checksum if r.name in rows else None)
        for r in repeatables
        if r.name not in rows or rows[r.name].checksum != r.file.checksum
    ]
