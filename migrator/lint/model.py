"""The data of `migrator lint`, shaped as SPEC §11's JSON document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Lock:
    """A lock a statement held on a table until commit, spelled as the database names it
    (`AccessExclusiveLock`); the table unqualified when in the default schema."""

    table: str
    mode: str

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "mode": self.mode}


@dataclass(frozen=True)
class TableSize:
    """A table's size from catalog statistics only (never a count, never a lock)."""

    name: str
    rows: int | None
    bytes: int | None
    note: str = ""  # what the bytes cover when not the table and its indexes, or why unknown

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "rows": self.rows, "bytes": self.bytes}
        if self.note:
            data["note"] = self.note
        return data


@dataclass
class Finding:
    rule: str  # stable id, e.g. "drop-table"
    severity: str  # ERROR or WARNING
    dialect: str
    version: int
    file: str  # relative to the migrations folder, as every other message names it
    line: int
    column: int
    statement: str  # the statement's text (an excerpt where it is long)
    message: str  # what is dangerous, and why
    hint: str  # the safer way
    tables: list[TableSize] = field(default_factory=list)  # with a URL: sizes there
    locks: list[Lock] = field(default_factory=list)  # --measure
    rewrites: list[str] = field(default_factory=list)  # --measure: tables rewritten/rebuilt
    measured_note: str = ""  # where the measurement contradicts the static rule, it says so
    touches: list[str] = field(default_factory=list)  # tables the statement names (for impact)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "rule": self.rule,
            "severity": self.severity,
            "dialect": self.dialect,
            "version": self.version,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "statement": self.statement,
            "message": self.message,
            "hint": self.hint,
            "locks": [lock.to_dict() for lock in self.locks],
            "rewrites": list(self.rewrites),
            "tables": [t.to_dict() for t in self.tables],
        }
        if self.measured_note:
            data["measured"] = self.measured_note
        return data


@dataclass
class Ignored:
    """A finding accepted by `-- migrator: lint-ignore <rule> <reason>`."""

    finding: Finding
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "reason": self.reason}


@dataclass(frozen=True)
class Measured:
    """What one statement really did on a scratch database (--measure)."""

    version: int
    dialect: str
    file: str
    line: int
    statement: str
    locks: tuple[Lock, ...]
    rewrites: tuple[str, ...]
    ms: float
    online: str = ""  # mysql: strongest ALGORITHM/LOCK the server accepts, e.g. "INPLACE, LOCK=NONE"
    # where the statement starts and ends in the file (1-based line and column, the end
    # inclusive): a finding anywhere inside it is on this statement (several statements may
    # share a line, and a finding may point inside a long one); not part of the JSON
    column: int = 1
    end: tuple[int, int] = (0, 0)

    def covers(self, line: int, column: int) -> bool:
        end = self.end if self.end != (0, 0) else (self.line, 1 << 30)
        return (self.line, self.column) <= (line, column) <= end

    def to_dict(self) -> dict[str, Any]:
        data = {
            "version": self.version,
            "dialect": self.dialect,
            "file": self.file,
            "line": self.line,
            "statement": self.statement,
            "locks": [lock.to_dict() for lock in self.locks],
            "rewrites": list(self.rewrites),
            "ms": round(self.ms, 3),
        }
        if self.online:
            data["online"] = self.online
        return data


@dataclass(frozen=True)
class Unchecked:
    """A generic file one dialect cannot split (a mysql DELIMITER trigger read as postgres)
    while another can: the project is not written for that dialect, so lint skips it there."""

    dialect: str
    version: int
    file: str
    line: int
    column: int
    reason: str  # the lexer's message
    read_by: tuple[str, ...]  # the dialects that split it

    def to_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "version": self.version,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
        }


@dataclass
class LintReport:
    findings: list[Finding] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    measured: list[Measured] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 3

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "ignored": [i.to_dict() for i in self.ignored],
            "measured": [m.to_dict() for m in self.measured],
            "unchecked": [u.to_dict() for u in self.unchecked],
        }
