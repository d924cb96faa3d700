"""baseline and repair: the two commands that write the version table without running files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from migrator.dialects import Dialect
from migrator.errors import RefusedError, UsageError
from migrator.history import VersionStore
from migrator.model import STATUS_APPLIED, AppliedRow, Migration


@dataclass
class Change:
    """One row that baseline or repair writes (or would write, in a dry run)."""

    action: str  # baseline, accept, reset, mark-applied
    version: int
    name: str
    description: str
    old_checksum: str | None = None
    new_checksum: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AdminResult:
    command: str
    dry_run: bool
    changes: list[Change]
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "dry_run": self.dry_run,
            "changes": [c.to_dict() for c in self.changes],
            "skipped": self.skipped,
        }


def baseline(
    migrations: list[Migration],
    dialect: Dialect,
    store: VersionStore,
    version: int,
    *,
    force: bool,
    dry_run: bool,
) -> AdminResult:
    """Record versions up to `version` as applied without running them (SPEC §6)."""
    if version not in {m.version for m in migrations}:
        raise UsageError(
            f"baseline {version}: there is no version {version}",
            hint="baseline takes the version your existing database already has",
        )
    rows = store.rows()
    if rows and not force:
        raise RefusedError(
            f"the version table already has {len(rows)} row(s); baseline is for a database "
            "that has never been migrated by migrator; nothing was changed",
            hint="use --force to record the versions anyway",
        )
    todo = [m for m in migrations if m.version <= version and m.version not in rows]
    changes = [
        Change("baseline", m.version, m.name, "marked applied without running it", new_checksum=m.up.checksum)
        for m in todo
    ]
    if dry_run or not todo:
        return AdminResult("baseline", dry_run, changes)
    store.ensure()
    dialect.begin()
    try:
        for m in todo:
            store.insert_row(
                m,
                status=STATUS_APPLIED,
                operation="baseline",
                execution_ms=0,
                up_text=m.up.stored_text(),
                down_text=m.down.stored_text(),
            )
            store.record("baseline", "ok", version=m.version, name=m.name, new_checksum=m.up.checksum)
        dialect.commit()
    except BaseException:
        dialect.rollback()
        raise
    return AdminResult("baseline", False, changes)


def repair(
    migrations: list[Migration],
    dialect: Dialect,
    store: VersionStore,
    versions: list[int],
    *,
    reason: str | None,
    mark_applied: list[int],
    dry_run: bool,
    confirm: Callable[[list[Change]], bool] | None,
) -> AdminResult:
    """Accept the current files for `versions` (all when empty); clear failed rows (SPEC §5)."""
    by_version = {m.version: m for m in migrations}
    rows = store.rows()
    unknown = [v for v in [*versions, *mark_applied] if v not in rows and v not in by_version]
    if unknown:
        raise UsageError(
            f"repair: no version {', '.join(map(str, unknown))}",
            hint="run `migrator status` to see the versions",
        )
    changes, skipped = _repair_changes(by_version, rows, versions, mark_applied)
    if dry_run or not changes:
        return AdminResult("repair", dry_run, changes, skipped)
    if confirm is not None and not confirm(changes):
        raise RefusedError("repair cancelled; nothing was changed")
    dialect.begin()
    try:
        for c in changes:
            _apply_change(store, c, by_version[c.version], rows.get(c.version), reason)
        dialect.commit()
    except BaseException:
        dialect.rollback()
        raise
    return AdminResult("repair", False, changes, skipped)


def _repair_changes(
    by_version: dict[int, Migration],
    rows: dict[int, AppliedRow],
    versions: list[int],
    mark_applied: list[int],
) -> tuple[list[Change], list[str]]:
    changes: list[Change] = []
    skipped: list[str] = []
    for v in mark_applied:
        m = by_version[v]
        row = rows.get(v)
        if row is not None and row.status == STATUS_APPLIED:
            skipped.append(f"version {v} is already applied")
            continue
        undone = row is not None and row.operation == "down"
        changes.append(
            Change(
                "mark-applied",
                v,
                m.name,
                "recorded as applied (the rollback undone by hand)"
                if undone
                else "recorded as applied (finished by hand)",
                row.checksum if row else None,
                m.up.checksum,
            )
        )
    chosen = versions or sorted(rows)
    for v in chosen:
        if v in mark_applied:
            continue
        row, found = rows.get(v), by_version.get(v)
        if row is None:
            skipped.append(f"version {v} is not applied; nothing to repair")
        elif found is None:
            skipped.append(f"version {v} ({row.name}): its folder is gone; restore it first")
        elif row.status != STATUS_APPLIED:
            pending = (
                "the rollback was finished by hand: the version is pending"
                if row.operation == "down"
                else "the version is pending again"
            )
            changes.append(Change("reset", v, found.name, f"delete the {row.status} row; {pending}"))
        elif (row.checksum, row.down_checksum) != (found.up.checksum, found.down.checksum):
            changes.append(
                Change("accept", v, found.name, "accept the current files", row.checksum, found.up.checksum)
            )
    return changes, skipped


def _apply_change(
    store: VersionStore, c: Change, m: Migration, row: AppliedRow | None, reason: str | None
) -> None:
    if c.action == "reset":
        store.delete_row(c.version)
    elif c.action == "mark-applied":
        if row is not None:
            store.delete_row(c.version)
        store.insert_row(
            m,
            status=STATUS_APPLIED,
            operation="manual",
            execution_ms=0,
            up_text=m.up.stored_text(),
            down_text=m.down.stored_text(),
        )
    else:
        store.update_row(
            c.version,
            checksum=m.up.checksum,
            down_checksum=m.down.checksum,
            up_sql=m.up.stored_text(),
            down_sql=m.down.stored_text(),
        )
    store.record(
        "repair" if c.action != "mark-applied" else "mark-applied",
        "ok",
        version=c.version,
        name=c.name,
        old_checksum=c.old_checksum,
        new_checksum=c.new_checksum,
        reason=reason,
        detail=c.description,
    )
