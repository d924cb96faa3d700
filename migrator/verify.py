"""`verify` (SPEC §6.1): prove on a scratch database that each down.sql undoes its up.sql."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from migrator.dialects import Dialect, open_dialect
from migrator.errors import UsageError
from migrator.history import VersionStore
from migrator.model import Migration, Timeouts
from migrator.report import Reporter
from migrator.runner import Runner, prepare
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
    With --scratch-url: that database, created when missing, refused when not empty."""
    admin = open_dialect(url)
    admin.connect(read_only=True)  # read-only: a missing sqlite file is not created
    try:
        if scratch_url:
            created = _given_scratch(admin, url, parse_url(scratch_url))
        else:
            created = admin.create_scratch(f"migrator_scratch_{uuid.uuid4().hex[:12]}")
        try:
            yield created
        finally:
            admin.drop_scratch(created)
    finally:
        admin.close()


def _given_scratch(admin: Dialect, url: DatabaseUrl, given: DatabaseUrl) -> DatabaseUrl:
    from migrator.snapshot import take_snapshot

    if given.dialect != url.dialect:
        raise UsageError(f"--scratch-url is {given.dialect}, the target is {url.dialect}")
    if (given.host, given.port, given.database) == (url.host, url.port, url.database):
        raise UsageError("--scratch-url must not be the database at --url")
    admin.ensure_scratch(given)
    probe = open_dialect(given)
    probe.connect()
    try:
        found = take_snapshot(probe)
    finally:
        probe.close()
    # a new database already has its schema (public) and extensions (plpgsql)
    owned = [o for o in found if o.kind not in ("schema", "extension")]
    if owned:
        raise UsageError(
            f"--scratch-url {given.masked} is not empty ({len(owned)} objects); "
            "verify needs an empty database it may drop afterwards"
        )
    return given


def verify_versions(
    migrations: list[Migration],
    scratch: Dialect,
    table: str,
    reporter: Reporter,
    timeouts: Timeouts,
    *,
    first: int | None,
    last: int | None,
) -> list[VersionCheck]:
    """Up, down, compare with the schema before up, up again; stop at the first difference."""
    from migrator.snapshot import diff, take_snapshot

    store = VersionStore(scratch, table)
    store.ensure()
    exclude = {store.table_name, store.history_name}
    runner = Runner(scratch, store, reporter, timeouts)
    checks: list[VersionCheck] = []
    for m in migrations:
        if last is not None and m.version > last:
            break
        up = prepare(m, "up", scratch)
        if first is not None and m.version < first:
            runner.run([up])
            continue
        if m.down.directives.irreversible:
            runner.run([up])
            checks.append(VersionCheck(m.version, m.name, "skipped"))
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
            checks.append(VersionCheck(m.version, m.name, "differs", differences))
            break
        runner.run([prepare(m, "up", scratch)])
        checks.append(VersionCheck(m.version, m.name, "ok"))
    return checks


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
        return cls(
            [
                _say(
                    d,
                    "in the migrations",
                    "in the database",
                    added="in the database, not in the migrations",
                    removed="in the migrations, missing from the database",
                )
                for d in kept
            ],
            len(found) - len(kept),
            [d.to_json() for d in kept],
        )

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
