"""Plain data shared by every module: migration files, applied rows, durations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# re-exported: defined once in the registry, read from here by many modules
from migrator.dialects.registry import DIALECTS as DIALECTS

# Files above this size are streamed (statements read as they run) and their text is not
# stored in the version table (SqlFile.stored_text); smaller ones are read whole, and may be
# sent in one round trip.
BIG_FILE_BYTES = 1_000_000

STATUS_APPLIED = "applied"
STATUS_RUNNING = "running"
STATUS_FAILED = "failed"

# A `batch` file may change rows in this many batches (`-- migrator: max-batches N` sets
# another bound): one whose statement keeps finding rows it already did would never stop.
# 10,000 batches of 1,000 rows is ten million rows; a bigger backfill says so in its file.
DEFAULT_MAX_BATCHES = 10_000


@dataclass(frozen=True, slots=True)
class Directives:
    no_transaction: bool = False
    irreversible: bool = False
    requires: tuple[int, ...] = ()
    backup: bool = False
    lock_wait_timeout_ms: int | None = None
    statement_timeout_ms: int | None = None
    batch: bool = False
    max_batches: int | None = None  # None: DEFAULT_MAX_BATCHES

    @property
    def transactional(self) -> bool:
        return not (self.no_transaction or self.batch)


@dataclass(frozen=True, slots=True)
class SqlFile:
    location: str  # the path on disk
    rel: str  # relative to the migrations folder, with '/' separators
    checksum: str
    directives: Directives
    text_sha: str = ""  # sha256 of the exact text (no normalising): tells whitespace-only edits
    needs_statement_check: bool = True  # could a statement break a rule statement_rules.check_files knows?
    size: int = -1  # bytes on disk when discovered
    # the text as discovery read and checksummed it (small files, within a budget): what runs
    # and what the version table stores is then exactly what the checksum covers
    text: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_big(self) -> bool:
        """Too big to hold whole: run and check it as a stream of statements."""
        return self.size > BIG_FILE_BYTES

    @property
    def path(self) -> Path:
        return Path(self.location)

    def read_text(self) -> str:
        if self.text is not None:
            return self.text
        with open(self.location, "rb") as fh:
            return fh.read().decode("utf-8").removeprefix("\ufeff")

    def stored_text(self) -> str | None:
        """The text the version table keeps for diffs (`validate`, `show`); a big data file
        keeps only its checksum, so a 300 MB backfill is neither read nor written twice."""
        return None if self.is_big else self.read_text()


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str  # folder name, e.g. 0001_initial_schema
    up: SqlFile
    down: SqlFile
    only_for: str | None = None  # dialect, when the folder exists only under sql/<dialect>/

    @property
    def description(self) -> str:
        return describe(self.name)


def describe(folder_name: str) -> str:
    slug = folder_name.split("_", 1)[1] if "_" in folder_name else ""
    return re.sub(r"[_-]+", " ", slug).strip()


# Callback files (SPEC §12): sql/callbacks/<event>.sql
CALLBACK_EVENTS = (
    "before_up",
    "after_up",
    "before_each",
    "after_each",
    "before_down",
    "after_down",
    "before_each_down",
    "after_each_down",
    "after_error",
)


@dataclass(frozen=True, slots=True)
class Repeatable:
    """A repeatable migration (SPEC §12): `repeatable/<name>.sql`, run again whenever its
    checksum differs from the one last applied."""

    name: str
    file: SqlFile


@dataclass(frozen=True, slots=True)
class RepeatableRow:
    name: str
    checksum: str  # ROLLED_BACK: a `down` ran since it was applied
    applied_at: datetime | str | None
    applied_by: str
    execution_ms: int

    @property
    def rolled_back(self) -> bool:
        return self.checksum == ROLLED_BACK

    @property
    def applied_checksum(self) -> str | None:
        """The checksum it was last applied with; None once a `down` has forgotten it."""
        return None if self.rolled_back else self.checksum


# The checksum a `down` leaves in `<table>_repeatable`: what a repeatable made (a view over a
# table) may depend on what the down dropped, so the next `up` runs every repeatable again.
# No sha256 is 64 zeros in practice; a CHAR(64) value, so no database pads or trims it.
ROLLED_BACK = "0" * 64


@dataclass(frozen=True, slots=True)
class AppliedRow:
    version: int
    name: str
    description: str
    checksum: str
    down_checksum: str
    status: str
    applied_at: datetime | str | None
    execution_ms: int
    applied_by: str
    operation: str = "up"
    statements_done: int | None = None
    statements_total: int | None = None
    failed_statement: int | None = None
    failed_line: int | None = None
    error: str | None = None
    up_sql: str | None = None
    down_sql: str | None = None
    rows_done: int | None = None  # batch files: rows processed so far


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    id: int
    version: int | None
    name: str | None
    action: str
    outcome: str
    performed_at: datetime | str | None
    performed_by: str
    execution_ms: int | None
    old_checksum: str | None = None
    new_checksum: str | None = None
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Database session limits in milliseconds; None means the server's own default."""

    lock_wait_ms: int | None = None
    statement_ms: int | None = None

    def overridden_by(self, d: Directives) -> Timeouts:
        return Timeouts(
            lock_wait_ms=d.lock_wait_timeout_ms if d.lock_wait_timeout_ms is not None else self.lock_wait_ms,
            statement_ms=d.statement_timeout_ms if d.statement_timeout_ms is not None else self.statement_ms,
        )


def utc_now() -> datetime:
    """Now in UTC, naive: what the version table stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_utc(value: datetime | str | None) -> datetime | str | None:
    """A timestamp read back from the version or history table as an aware UTC datetime,
    whichever way the driver returns it (sqlite: text, mysql: naive, postgres: aware), so the
    library and `--json` show the same value on every dialect. Everything stored is UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:  # not written by migrator: shown as it is
            return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def committed_phrase(done: int, total: int | None) -> str:
    """'statements 1-3 of 5', 'statement 1 of 2', 'none of its 4 statements' (+ verb by caller)."""
    of = f" of {total}" if total is not None else ""
    if done <= 0:
        return f"none of its {total} statement{'' if total == 1 else 's'}"
    return f"statement 1{of}" if done == 1 else f"statements 1-{done}{of}"


def resolve_advice(version: int, direction: str) -> str:
    """What a person does about a version a stopped file left `failed` or `running`: check the
    database, then record which way it went. After a failed down, finishing it by hand means the
    version is rolled back (pending); undoing it means the version stays applied."""
    if direction == "down":
        return (
            f"check the database by hand, then either finish the rollback by hand and run "
            f"`migrator repair {version}` (rolled back: the version is pending), or undo what ran "
            f"of down.sql and run `migrator repair --mark-applied {version}` (the version stays applied)"
        )
    return (
        f"check the database by hand, then either undo what ran and run `migrator repair {version}` "
        f"(version pending again), or finish the file by hand and run "
        f"`migrator repair --mark-applied {version}` (finished by hand: applied)"
    )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, None: 1000}


# postgres keeps lock_timeout and statement_timeout in a 32-bit count of milliseconds: a longer
# limit failed only once a file began to run (and 1e400s was an OverflowError)
MAX_DURATION_MS = 2**31 - 1


def parse_duration_ms(text: str) -> int:
    """'5s', '10min', '250ms', '2h', '30' (seconds) -> milliseconds. ValueError otherwise."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use a number with ms, s, min or h)")
    ms = float(m.group(1)) * _UNIT_MS[m.group(2)]
    if ms > MAX_DURATION_MS:
        raise ValueError(
            f"{text.strip()!r} is longer than the 596h (24 days) a database session limit can be"
        )
    return int(ms)
