"""The version table and its append-only history, in portable SQL through the dialect (SPEC §2)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from migrator.dialects import Dialect
from migrator.masking import mask
from migrator.model import (
    ROLLED_BACK,
    STATUS_APPLIED,
    AppliedRow,
    HistoryEvent,
    Migration,
    Repeatable,
    RepeatableRow,
    as_utc,
    utc_now,
)
from migrator.script import ELAPSED_MS, NOW_UTC, Marker, Write

_DETAIL_CHARS = 4000  # of a history row's detail, kept after masking (a cut could halve a password)

_ROW_COLUMNS = (
    "version",
    "name",
    "description",
    "checksum",
    "down_checksum",
    "status",
    "applied_at",
    "execution_ms",
    "applied_by",
    "operation",
    "statements_done",
    "statements_total",
    "failed_statement",
    "failed_line",
    "error",
    "up_sql",
    "down_sql",
    "rows_done",
)
_EVENT_COLUMNS = (
    "id",
    "version",
    "name",
    "action",
    "outcome",
    "performed_at",
    "performed_by",
    "execution_ms",
    "old_checksum",
    "new_checksum",
    "reason",
    "detail",
)


class VersionStore:
    """Reads and writes `<table>` and `<table>_history` on one dialect connection."""

    def __init__(self, dialect: Dialect, table: str) -> None:
        self.d = dialect
        self.table_name = table
        self.table = dialect.qualify(table)
        self.history_name = table + "_history"
        self.history = dialect.qualify(self.history_name)
        self.repeatable_name = table + "_repeatable"
        self.repeatable = dialect.qualify(self.repeatable_name)
        self._user: str | None = None
        self._has_repeatables: bool | None = None

    @property
    def own_tables(self) -> set[str]:
        """migrator's own tables, which a schema snapshot leaves out."""
        return {self.table_name, self.history_name, self.repeatable_name}

    @property
    def user(self) -> str:
        if self._user is None:
            self._user = self.d.current_user()
        return self._user

    def exists(self) -> bool:
        return self.d.table_exists(self.table_name)

    def ensure(self, *, repeatable: bool = False) -> None:
        """Create both tables on first use (called under the migration lock), and
        `<table>_repeatable` with them once the project has repeatable migrations."""
        d = self.d
        if not d.table_exists(self.table_name):
            d.prepare_namespace(self.table_name)
            d.execute(
                f"CREATE TABLE {self.table} ("
                f"version {d.bigint} NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, "
                f"description VARCHAR(255) NOT NULL, checksum CHAR(64) NOT NULL, "
                f"down_checksum CHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, "
                f"applied_at {d.timestamp_type} NOT NULL, execution_ms {d.bigint} NOT NULL, "
                f"applied_by VARCHAR(255) NOT NULL, operation VARCHAR(16) NOT NULL, "
                f"statements_done INTEGER, statements_total INTEGER, failed_statement INTEGER, "
                f"failed_line INTEGER, error {d.text_type}, up_sql {d.text_type}, "
                f"down_sql {d.text_type}, rows_done {d.bigint}){d.table_options}"
            )
        if not d.table_exists(self.history_name):
            d.execute(
                f"CREATE TABLE {self.history} ("
                f"id {d.identity_pk}, version {d.bigint}, name VARCHAR(255), "
                f"action VARCHAR(16) NOT NULL, outcome VARCHAR(16) NOT NULL, "
                f"performed_at {d.timestamp_type} NOT NULL, performed_by VARCHAR(255) NOT NULL, "
                f"execution_ms {d.bigint}, old_checksum CHAR(64), new_checksum CHAR(64), "
                f"reason {d.text_type}, detail {d.text_type}){d.table_options}"
            )
        if repeatable and not d.table_exists(self.repeatable_name):
            d.execute(
                f"CREATE TABLE {self.repeatable} ("
                f"name VARCHAR(255) NOT NULL PRIMARY KEY, checksum CHAR(64) NOT NULL, "
                f"applied_at {d.timestamp_type} NOT NULL, applied_by VARCHAR(255) NOT NULL, "
                f"execution_ms {d.bigint} NOT NULL){d.table_options}"
            )

    # -- reading ------------------------------------------------------------------------
    def rows(self, *, with_text: bool = False) -> dict[int, AppliedRow]:
        """Every row; the applied SQL texts only when asked (they are what makes a status
        over thousands of versions slow)."""
        if not self.exists():
            return {}
        columns = [c if with_text or c not in ("up_sql", "down_sql") else "NULL" for c in _ROW_COLUMNS]
        found = self.d.query(f"SELECT {', '.join(columns)} FROM {self.table} ORDER BY version")
        return {
            int(r[0]): AppliedRow(int(r[0]), *r[1:6], as_utc(r[6]), int(r[7] or 0), *r[8:])  # type: ignore[call-arg]
            for r in found
        }

    def repeatable_rows(self) -> dict[str, RepeatableRow]:
        """name -> the repeatable migration as last applied."""
        if not self.d.table_exists(self.repeatable_name):
            return {}
        found = self.d.query(
            "SELECT name, checksum, applied_at, applied_by, execution_ms "
            f"FROM {self.repeatable} ORDER BY name"
        )
        return {r[0]: RepeatableRow(r[0], r[1], as_utc(r[2]), r[3], int(r[4] or 0)) for r in found}

    def repeatable_failures(self) -> dict[str, list[tuple[Any, str]]]:
        """name -> (when, the failure's detail) of each failed run since the repeatable last
        ran through, for those whose last run failed: on a dialect that cannot roll it back,
        part of any of them may have committed (SPEC §3)."""
        if not self.d.table_exists(self.history_name):
            return {}
        since: dict[str, list[tuple[Any, str]]] = {}
        for name, outcome, at, detail in self.d.query(
            f"SELECT name, outcome, performed_at, detail FROM {self.history} "
            f"WHERE action = {self.d.placeholder} ORDER BY id",
            ("repeatable",),
        ):
            if outcome == "failed":
                since.setdefault(name, []).append((as_utc(at), detail or ""))
            else:
                since.pop(name, None)
        return since

    def events(self) -> list[HistoryEvent]:
        if not self.d.table_exists(self.history_name):
            return []
        found = self.d.query(f"SELECT {', '.join(_EVENT_COLUMNS)} FROM {self.history} ORDER BY id")
        events = [HistoryEvent(*r) for r in found]
        return [replace(e, performed_at=as_utc(e.performed_at)) for e in events]

    # -- writing: each builder returns a Write step; the plain methods run it at once -----
    def row_insert(
        self,
        m: Migration,
        *,
        status: str,
        operation: str,
        execution_ms: Any,
        up_text: str | None,
        down_text: str | None,
        statements_total: int | Marker | None = None,
        applied_at: Any = None,
    ) -> Write:
        return self._insert(
            self.table,
            {
                "version": m.version,
                "name": m.name,
                "description": m.description[:255],
                "checksum": m.up.checksum,
                "down_checksum": m.down.checksum,
                "status": status,
                "applied_at": self._time(applied_at if applied_at is not None else utc_now()),
                "execution_ms": execution_ms,
                "applied_by": self.user,
                "operation": operation,
                "statements_done": 0 if status != STATUS_APPLIED else statements_total,
                "statements_total": statements_total,
                "up_sql": up_text,
                "down_sql": down_text,  # None for a big file (stored_text)
            },
        )

    def row_update(self, version: int, **values: Any) -> Write:
        if "applied_at" in values:
            values["applied_at"] = self._time(values["applied_at"])
        p = self.d.placeholder
        assignments = ", ".join(f"{k} = {p}" for k in values)
        return Write(
            f"UPDATE {self.table} SET {assignments} WHERE version = {p}", (*values.values(), version)
        )

    def row_add_rows(self, version: int, rows: Any) -> Write:
        """A batch file's running row count grows by `rows` (AFFECTED: the last batch's)."""
        p = self.d.placeholder
        return Write(
            f"UPDATE {self.table} SET rows_done = COALESCE(rows_done, 0) + {p} WHERE version = {p}",
            (rows, version),
        )

    def row_delete(self, version: int) -> Write:
        return Write(f"DELETE FROM {self.table} WHERE version = {self.d.placeholder}", (version,))

    def repeatables_rolled_back(self) -> tuple[Write, ...]:
        """What commits with a `down` file: every repeatable applied so far runs again at the
        next `up` (a view may have gone with the table the down dropped). Kept as rows, so
        `status` can say why they are pending."""
        if self._has_repeatables is None:
            self._has_repeatables = self.d.table_exists(self.repeatable_name)
        if not self._has_repeatables:
            return ()
        return (Write(f"UPDATE {self.repeatable} SET checksum = {self.d.placeholder}", (ROLLED_BACK,)),)

    def event(
        self,
        action: str,
        outcome: str,
        *,
        version: int | None = None,
        name: str | None = None,
        execution_ms: Any = None,
        old_checksum: str | None = None,
        new_checksum: str | None = None,
        reason: str | None = None,
        detail: str | None = None,
    ) -> Write:
        return self._insert(
            self.history,
            {
                "version": version,
                "name": name,
                "action": action,
                "outcome": outcome,
                "performed_at": self._time(utc_now()),
                "performed_by": self.user,
                "execution_ms": execution_ms,
                "old_checksum": old_checksum,
                "new_checksum": new_checksum,
                # the terminal's masking: a history row never keeps a password either
                "reason": None if reason is None else mask(reason),
                "detail": None if detail is None else mask(detail)[:_DETAIL_CHARS],
            },
        )

    def repeatable_applied(self, r: Repeatable, old_checksum: str | None) -> tuple[Write, ...]:
        """The writes that commit with a repeatable file: its row replaced, and the event."""
        p = self.d.placeholder
        return (
            Write(f"DELETE FROM {self.repeatable} WHERE name = {p}", (r.name,)),
            self._insert(
                self.repeatable,
                {
                    "name": r.name,
                    "checksum": r.file.checksum,
                    "applied_at": NOW_UTC,
                    "applied_by": self.user,
                    "execution_ms": ELAPSED_MS,
                },
            ),
            self.event(
                "repeatable",
                "ok",
                name=r.name,
                execution_ms=ELAPSED_MS,
                old_checksum=old_checksum,
                new_checksum=r.file.checksum,
            ),
        )

    def row_restore(self, row: AppliedRow) -> Write:
        """Put a row back as it was (a rollback that changed nothing)."""
        return self.row_update(
            row.version,
            status=row.status,
            operation=row.operation,
            statements_done=row.statements_done,
            statements_total=row.statements_total,
        )

    def _time(self, value: Any) -> Any:
        return value if isinstance(value, Marker) else self.d.timestamp_param(value)

    def _insert(self, table: str, values: dict[str, Any]) -> Write:
        marks = ", ".join([self.d.placeholder] * len(values))
        return Write(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})", tuple(values.values()))

    def insert_row(self, m: Migration, **kw: Any) -> None:
        self.d.write(self.row_insert(m, **kw))

    def update_row(self, version: int, **values: Any) -> None:
        self.d.write(self.row_update(version, **values))

    def delete_row(self, version: int) -> None:
        self.d.write(self.row_delete(version))

    def record(self, action: str, outcome: str, **kw: Any) -> None:
        self.d.write(self.event(action, outcome, **kw))
