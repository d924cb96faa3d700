"""`verify` (SPEC §6.1): prove on a scratch database that each down.sql undoes its up.sql."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.dialects import Dialect, StatementError, open_dialect
from migrator.dialects.registry import spec
from migrator.errors import (
    BookkeepingError,
    ConfigError,
    ConnectError,
    MigrationFailedError,
    ScratchDatabaseError,
    UsageError,
)
from migrator.history import VersionStore
from migrator.model import Migration, Repeatable, Timeouts
from migrator.report import Reporter
from migrator.runner import Runner, prepare
from migrator.sidefiles import prepare_side
from migrator.urls import DatabaseUrl, parse_url


@dataclass
class VersionCheck:
    version: int
    name: str
    outcome: str  # ok, differs, skipped (irreversible), applied (below --from)
    differences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "outcome": self.outcome,
            "differences": self.differences,
        }


@dataclass
class VerifyResult:
    dialect: str
    checks: list[VersionCheck]

    @property
    def ok(self) -> bool:
        return all(c.outcome != "differs" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "dialect": self.dialect, "versions": [c.to_dict() for c in self.checks]}


@contextmanager
def scratch_database(url: DatabaseUrl, scratch_url: str | None) -> Iterator[DatabaseUrl]:
    """A fresh, empty database on the server of `url` (never `url` itself), dropped afterwards.
    With --scratch-url: that database, created when missing, refused when not empty, and
    emptied afterwards, never dropped: a CI job's scratch database serves every run."""
    if scratch_url:
        with _given_scratch(url, parse_url(scratch_url)) as given:
            yield given
        return
    admin = open_dialect(url)
    admin.connect(read_only=True)  # read-only: a missing sqlite file is not created
    try:
        name = f"migrator_scratch_{uuid.uuid4().hex[:12]}"
        try:
            created = admin.create_scratch(name)
        except StatementError as exc:
            raise ScratchDatabaseError(
                f"could not create a scratch database ({name}) on {_server(url)}: {_said(exc)}",
                hint=_CANNOT_CREATE,
            ) from None
        try:
            yield created
        except BaseException:
            _quietly(admin.drop_scratch, created)  # the error that stopped the run comes first
            raise
        try:
            admin.drop_scratch(created)
        except StatementError as exc:
            raise ScratchDatabaseError(
                f"could not drop the scratch database {name} on {_server(url)}: {_said(exc)}",
                hint=f"drop it by hand: DROP DATABASE {name}",
            ) from None
    finally:
        admin.close()


_CANNOT_CREATE = (
    "give the database user the right to create and drop databases, or create an empty "
    "database once and pass it with --scratch-url URL (it is emptied after each run, never "
    "dropped)"
)


@contextmanager
def _given_scratch(url: DatabaseUrl, given: DatabaseUrl) -> Iterator[DatabaseUrl]:
    """--scratch-url: refused unless empty; afterwards every object the run made is dropped
    and the schemas and extensions it held before stay (postgres: public, plpgsql)."""
    from migrator.snapshot import take_snapshot

    if given.dialect != url.dialect:
        raise UsageError(f"--scratch-url is {given.dialect}, the target is {url.dialect}")
    if _same_database(url, given):
        raise UsageError("--scratch-url must not be the database at --url")
    probe = _connect_given(url, given)
    try:
        found = list(take_snapshot(probe))
    finally:
        probe.close()
    # a new database already has its schema (public) and extensions (plpgsql)
    keep = frozenset(o.name for o in found if o.kind in ("schema", "extension"))
    owned = [o for o in found if o.kind not in ("schema", "extension") and not o.table]
    if owned:
        shown = ", ".join(f"{o.kind} {o.name}" for o in owned[:5])
        more = f" and {len(owned) - 5} more" if len(owned) > 5 else ""
        raise UsageError(
            f"--scratch-url {given.masked} is not empty: it holds {shown}{more}",
            hint="pass an empty database: migrator runs the migrations there and empties it "
            "again afterwards (it never drops it); empty this one by hand first",
        )
    try:
        yield given
    except BaseException:
        _quietly(_empty, given, keep)  # the error that stopped the run comes first
        raise
    _empty(given, keep)


def _connect_given(url: DatabaseUrl, given: DatabaseUrl) -> Dialect:
    """A connection to the --scratch-url database; one on the target's server that does not
    exist yet is created through the target's connection."""
    probe = open_dialect(given)
    try:
        probe.connect()
        return probe
    except ConnectError as exc:
        if spec(given.dialect).file_database or (given.host, given.port) != (url.host, url.port):
            raise
        cannot_connect = exc.message
    admin = open_dialect(url)
    admin.connect(read_only=True)
    try:
        admin.ensure_scratch(given)
    except StatementError as exc:
        raise ScratchDatabaseError(
            f"--scratch-url {given.masked}: cannot connect ({cannot_connect}), and could not "
            f"create it on {_server(url)}: {_said(exc)}",
            hint="create the database once (migrator empties it after each run, never drops it), "
            "or give the user the right to create databases",
        ) from None
    finally:
        admin.close()
    probe.connect()
    return probe


def _empty(given: DatabaseUrl, keep: frozenset[str]) -> None:
    d = open_dialect(given)
    d.connect()
    try:
        d.empty_scratch(keep)
    except StatementError as exc:
        raise ScratchDatabaseError(
            f"could not empty the scratch database {given.masked} after the run: {_said(exc)}",
            hint="empty it by hand before the next run: a scratch database must be empty",
        ) from None
    finally:
        d.close()


def _same_database(url: DatabaseUrl, given: DatabaseUrl) -> bool:
    if spec(url.dialect).file_database:
        return Path(url.database).resolve() == Path(given.database).resolve()
    return (given.host, given.port, given.database) == (url.host, url.port, url.database)


def _server(url: DatabaseUrl) -> str:
    if spec(url.dialect).file_database:
        return "this machine"
    port = f":{url.port}" if url.port else ""
    return f"{url.host}{port}" + (f" as user {url.user}" if url.user else "")


def _said(exc: StatementError) -> str:
    return exc.message + (f" [{exc.code}]" if exc.code else "")


def _quietly(cleanup: Any, *args: Any) -> None:
    try:
        cleanup(*args)
    except Exception:  # noqa: BLE001 - a failed clean-up must not hide why the run stopped
        pass


@contextmanager
def on_scratch() -> Iterator[None]:
    """A file that fails on a scratch database is reported as usual (file, line, statement,
    the server's message), but what it says happened speaks of the scratch database: it is
    thrown away after the run, the database at --url was never touched, nothing needs a
    repair (SPEC §6.1)."""
    try:
        yield
    except MigrationFailedError as exc:
        failure = copy.copy(exc.failure)
        failure.committed = _SCRATCH_OUTCOME
        raise MigrationFailedError(failure, hint=_fix(failure.path)) from None
    except BookkeepingError as exc:
        head = _OUTCOME.sub("", exc.message)
        raise BookkeepingError(f"on the scratch database: {head}; {_SCRATCH_OUTCOME}", hint=_RERUN) from None
    except StatementError as exc:  # migrator's own SQL there (the version table, the catalog)
        raise ScratchDatabaseError(
            f"the scratch database refused migrator's own work: {_said(exc)}",
            hint="the database user needs the right to create and drop tables there (and, for "
            "a --table in its own schema, that schema)",
        ) from None


_SCRATCH_OUTCOME = (
    "this ran on the scratch database, which is thrown away after the run: the database at "
    "--url was not touched and nothing needs a repair"
)
_RERUN = "run the command again; if it fails the same way, check the scratch database's server"
# what a run on a real database says stayed behind, and which repair it needs
_OUTCOME = re.compile(
    r"; (?:nothing of this version was committed|[^;]* committed and stay; version \d+ is recorded).*\Z",
    re.DOTALL,
)


def _fix(path: str) -> str:
    return f"fix {path} so that it runs on an empty database, then run the command again"


def verify_versions(
    migrations: list[Migration],
    scratch: Dialect,
    table: str,
    reporter: Reporter,
    timeouts: Timeouts,
    *,
    first: int | None,
    last: int | None,
    on_check: Callable[[VersionCheck], None] | None = None,
    repeatables: Sequence[Repeatable] = (),
) -> list[VersionCheck]:
    """Up, down, compare with the schema before up, up again; stop at the first difference.
    `on_check` hears of each version as it is decided, so that the ones before a file that
    fails to run are not lost with it. Then the repeatable migrations, after the last version
    checked (SPEC §12): a failing one fails verify as a failing version file does."""
    checks: list[VersionCheck] = []

    def decided(check: VersionCheck) -> None:
        checks.append(check)
        if on_check is not None:
            on_check(check)

    with on_scratch():
        _verify(migrations, scratch, table, reporter, timeouts, first, last, decided, repeatables)
    return checks


def _verify(
    migrations: list[Migration],
    scratch: Dialect,
    table: str,
    reporter: Reporter,
    timeouts: Timeouts,
    first: int | None,
    last: int | None,
    decided: Callable[[VersionCheck], None],
    repeatables: Sequence[Repeatable] = (),
) -> None:
    from migrator.snapshot import diff, take_snapshot

    store = VersionStore(scratch, table)
    store.ensure(repeatable=bool(repeatables))
    exclude = store.own_tables
    runner = Runner(scratch, store, reporter, timeouts)
    for m in migrations:
        if last is not None and m.version > last:
            break
        up = prepare(m, "up", scratch)
        if first is not None and m.version < first:
            runner.run([up])
            continue
        if m.down.directives.irreversible:
            runner.run([up])
            decided(VersionCheck(m.version, m.name, "skipped"))
            continue
        before = take_snapshot(scratch, exclude)
        runner.run([up])
        runner.run([prepare(m, "down", scratch)])
        after = take_snapshot(scratch, exclude)
        differences = [
            _say(
                d,
                "before up",
                "after down",
                added="present after down, not before up",
                removed="missing after down (it was there before up)",
            )
            for d in diff(before, after)
        ]
        if differences:
            decided(VersionCheck(m.version, m.name, "differs", differences))
            return  # later versions, and the repeatables, build on it
        runner.run([prepare(m, "up", scratch)])
        decided(VersionCheck(m.version, m.name, "ok"))
    for r in repeatables:
        ps = prepare_side("repeatable", r.name, r.file, scratch)
        ps.repeatable = r
        runner.run_repeatable(ps)


@dataclass
class DriftReport:
    """Differences between the schema the migrations produce and the live one (SPEC §9)."""

    differences: list[str]
    ignored: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    @classmethod
    def build(cls, found: list[Any], patterns: list[str]) -> DriftReport:
        kept = [d for d in found if not any(_matches(p, d.kind, d.name) for p in patterns)]
        said = [
            _say(
                d,
                "in the migrations",
                "in the database",
                added="in the database, not in the migrations",
                removed="in the migrations, missing from the database",
            )
            for d in kept
        ]
        # each object's description in the same words as the text (not "the right schema")
        details = [{**d.to_json(), "description": text} for d, text in zip(kept, said, strict=True)]
        return cls(said, len(found) - len(kept), details)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "differences": self.differences,
            "ignored": self.ignored,
            "objects": self.details,
        }


def _say(d: Any, left: str, right: str, *, added: str, removed: str) -> str:
    """One difference in words a DBA reads at once."""
    if d.change == "added":
        return f"{d.label}: {added}"
    if d.change == "removed":
        return f"{d.label}: {removed}"
    return str(d.describe(left, right))


def check_ignore_patterns(patterns: list[str]) -> None:
    """Before anything runs: a `KIND:GLOB` whose kind names no kind of object (`tabel:audit_*`)
    would ignore nothing, and the drift it was meant to hide would fail the check anyway."""
    from fnmatch import fnmatchcase

    from migrator.snapshot.model import KINDS

    for pattern in patterns:
        kind, sep, _ = pattern.partition(":")
        if sep and not any(fnmatchcase(k, kind) for k in KINDS):
            raise ConfigError(
                f"drift ignore pattern {pattern!r}: no kind of object is called {kind!r}",
                hint=f"write KIND:GLOB with KIND one of {', '.join(KINDS)} (or a glob of them)",
            )


def _matches(pattern: str, kind: str, name: str) -> bool:
    """`kind:name-glob`, e.g. `table:audit_*`, `index:*_tmp`, `extension:*`; a bare glob is any
    kind. An ignored table takes its columns, indexes, constraints and triggers with it."""
    from fnmatch import fnmatchcase

    want_kind, sep, glob = pattern.partition(":")
    if not sep:
        want_kind, glob = "*", pattern
    bare = name.rpartition(".")[2]
    if fnmatchcase(kind, want_kind) and (fnmatchcase(name, glob) or fnmatchcase(bare, glob)):
        return True
    owner = re.split(r"[.(]", name, maxsplit=1)[0] if kind != "table" else ""
    return bool(owner) and fnmatchcase("table", want_kind) and fnmatchcase(owner, glob)
