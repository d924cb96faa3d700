"""baseline and repair: the two commands that write the version table without running files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from migrator.dialects import Dialect
from migrator.errors import RefusedError, UsageError
from migrator.history import VersionStore
from migrator.lexer import LexError, split_statements
from migrator.model import STATUS_APPLIED, STATUS_FAILED, AppliedRow, Migration


@dataclass
class Change:
    """One row that baseline or repair writes (or would write, in a dry run)."""

    action: str  # baseline, accept, reset, mark-applied
    version: int
    name: str
    description: str
    old_checksum: str | None = None
    new_checksum: str | None = None
    # a failed row whose folder is gone: what the version table kept of the file, for a
    # person to check by hand before the row goes (None: no such row; []: no text kept)
    check: list[CheckStatement] | None = None
    file: str | None = None  # the file whose checksums these are (its path under --dir)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["check"] = None if self.check is None else [c.__dict__ for c in self.check]
        return data


@dataclass(frozen=True)
class CheckStatement:
    """One statement of a failed file, as the version table kept it, and how far it got."""

    number: int
    line: int
    state: str  # committed, failed, running (it may have committed), whole file (cannot split)
    text: str


@dataclass
class AdminResult:
    command: str
    dry_run: bool
    changes: list[Change]
    skipped: list[str] = field(default_factory=list)  # nothing to do: already as asked
    blocked: list[str] = field(default_factory=list)  # asked for, and impossible: exit 3

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "dry_run": self.dry_run,
            "changes": [c.to_dict() for c in self.changes],
            "skipped": self.skipped,
            "blocked": self.blocked,
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
            f"the version table already has {len(rows)} row{'' if len(rows) == 1 else 's'}; "
            "baseline is for a database "
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
    changes, skipped, blocked = _repair_changes(by_version, rows, versions, mark_applied)
    gone = [c for c in changes if c.version not in by_version]
    if gone:  # a person must see what ran before its only record goes
        kept = store.rows(with_text=True)
        for c in gone:
            c.check = _statements_to_check(kept[c.version], dialect.name)
    if dry_run or not changes:
        return AdminResult("repair", dry_run, changes, skipped, blocked)
    if confirm is not None and not confirm(changes):
        raise RefusedError("repair cancelled; nothing was changed")
    dialect.begin()
    try:
        for c in changes:
            _apply_change(store, c, by_version.get(c.version), rows.get(c.version), reason)
        dialect.commit()
    except BaseException:
        dialect.rollback()
        raise
    return AdminResult("repair", False, changes, skipped, blocked)


def _repair_changes(
    by_version: dict[int, Migration],
    rows: dict[int, AppliedRow],
    versions: list[int],
    mark_applied: list[int],
) -> tuple[list[Change], list[str], list[str]]:
    changes: list[Change] = []
    skipped: list[str] = []
    blocked: list[str] = []
    for v in mark_applied:
        m = by_version.get(v)
        row = rows.get(v)
        if row is not None and row.status == STATUS_APPLIED:
            skipped.append(f"version {v} is already applied")
            continue
        if m is None:
            assert row is not None  # an unknown version was refused before
            blocked.append(
                f"version {v} ({row.name}): --mark-applied records the checksums of its files, "
                f"and its folder {row.name} is gone; restore the folder first, or "
                f"{_leave_without(row)} and run `migrator repair {v}`, which deletes the row"
            )
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
        elif found is None and row.status == STATUS_APPLIED:
            blocked.append(
                f"version {v} ({row.name}) is applied but its folder is gone: repair accepts the "
                "current files, and there are none; restore the folder (e.g. from version control)"
            )
        elif found is None:
            changes.append(
                Change(
                    "reset",
                    v,
                    row.name,
                    f"delete the {row.status} row; its folder is gone, so the version is gone too "
                    f"(check first that the database holds nothing of it: {_leave_without(row)})",
                )
            )
        elif row.status != STATUS_APPLIED:
            pending = (
                "the rollback was finished by hand: the version is pending"
                if row.operation == "down"
                else "the version is pending again"
            )
            changes.append(Change("reset", v, found.name, f"delete the {row.status} row; {pending}"))
        else:
            changes += [  # one per changed file, each with that file's own checksums
                Change("accept", v, found.name, f"accept the changed {f.rel}", old, f.checksum, file=f.rel)
                for f, old in ((found.up, row.checksum), (found.down, row.down_checksum))
                if old != f.checksum
            ]
    return changes, skipped, blocked


def _leave_without(row: AppliedRow) -> str:
    """What a person does by hand before the row of a folder that is gone can go."""
    return "finish the rollback by hand" if row.operation == "down" else "undo by hand what ran"


def _statements_to_check(row: AppliedRow, dialect: str) -> list[CheckStatement]:
    """The statements of the failed file that committed (and the one that failed or ran when
    the run was killed), from the text the version table kept when the file started."""
    text = row.down_sql if row.operation == "down" else row.up_sql
    if not text:
        return []
    try:
        statements = split_statements(text, dialect)
    except LexError:
        return [CheckStatement(1, 1, "whole file", text.rstrip())]
    done = row.statements_done or 0
    if row.failed_statement:  # a statement failed, or was running when a signal came
        last = row.failed_statement
        signalled = (row.error or "").startswith(("interrupted", "stopped by"))
        stopped = "running" if signalled else "failed"
    else:  # a killed run's `running` row: the next statement may have run; else none did
        last, stopped = (done + 1, "running") if row.status != STATUS_FAILED else (done, "")
    return [
        CheckStatement(i, s.line, "committed" if i <= done else stopped, s.text)
        for i, s in enumerate(statements, 1)
        if i <= max(done, last)
    ]


def _apply_change(
    store: VersionStore, c: Change, m: Migration | None, row: AppliedRow | None, reason: str | None
) -> None:
    if c.action == "reset":
        store.delete_row(c.version)
    elif m is None:  # mark-applied and accept are refused without the folder
        raise AssertionError(f"repair {c.action} of version {c.version} without its folder")
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
