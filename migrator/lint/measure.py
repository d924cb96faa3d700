"""`lint --measure` (SPEC §11): run the versions on a scratch database and record, per
statement, what the database really did: the locks it took and held until commit, the tables
it rewrote or rebuilt, how long it took, and (mysql) how online an ALTER TABLE can run.

The database at --url is never touched: the scratch database follows verify's rules (SPEC
§6.1). Each dialect says how to read its locks and table identities; this module only
compares what it reads before and after each statement.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from migrator.dialects import Dialect, StatementError, open_dialect
from migrator.errors import MigrationFailedError, StatementFailure
from migrator.lexer import Statement
from migrator.lint.model import Lock, Measured
from migrator.model import Migration, Timeouts
from migrator.report import Reporter
from migrator.runner import PreparedFile, Runner, prepare
from migrator.urls import DatabaseUrl

if TYPE_CHECKING:
    from migrator.api import Migrator

EXCERPT = 300  # characters of a statement kept in a measurement


def measure_for(
    migrator: Migrator, versions: Collection[int] | None = None, scratch_url: str | None = None
) -> list[Measured]:
    """The seam `lint --measure` calls: the versions of this Migrator's folder, for its
    dialect, on a scratch database on the server of its URL (SPEC §11, §6.1)."""
    return measure_on_scratch(
        migrator.url,
        migrator.migrations(),
        table=migrator.settings.table,
        timeouts=migrator.settings.timeouts,
        reporter=migrator.reporter,
        versions=versions,
        scratch_url=scratch_url,
    )


def measure_on_scratch(
    url: DatabaseUrl,
    migrations: Sequence[Migration],
    *,
    table: str,
    timeouts: Timeouts,
    reporter: Reporter,
    versions: Collection[int] | None = None,
    scratch_url: str | None = None,
) -> list[Measured]:
    """Measure `versions` (None: every version) on a scratch database on the server of `url`
    (or `scratch_url`), created and dropped as verify does; `url` itself is never opened."""
    from migrator.verify import on_scratch, scratch_database

    with scratch_database(url, scratch_url) as where:
        scratch = open_dialect(where)
        scratch.connect()
        try:
            with on_scratch():
                return measure(
                    migrations, scratch, table=table, timeouts=timeouts, reporter=reporter, versions=versions
                )
        finally:
            scratch.close()


def measure(
    migrations: Sequence[Migration],
    scratch: Dialect,
    *,
    table: str,
    timeouts: Timeouts,
    reporter: Reporter,
    versions: Collection[int] | None = None,
) -> list[Measured]:
    """Apply every version up to the last one to measure, in order (the later ones build on
    the earlier); measure the up.sql of those in `versions`, statement by statement."""
    from migrator.history import VersionStore

    wanted = None if versions is None else set(versions)
    if wanted is not None and not wanted:
        return []  # nothing to measure: build nothing
    last = max(wanted) if wanted else None
    store = VersionStore(scratch, table)
    store.ensure()
    own = store.own_tables
    runner = Runner(scratch, store, reporter, timeouts)
    found: list[Measured] = []
    for m in migrations:
        if last is not None and m.version > last:
            break
        pf = prepare(m, "up", scratch)
        if wanted is None or m.version in wanted:
            found.extend(_FileMeasure(scratch, pf, own).run())
        else:
            runner.run([pf])
    return found


class _FileMeasure:
    """One file, statement by statement, in one transaction when the file runs in one. What
    was held or known before a statement is what was read after the one before it."""

    def __init__(self, d: Dialect, pf: PreparedFile, own: set[str]) -> None:
        self.d, self.pf, self.own = d, pf, own

    def run(self) -> list[Measured]:
        d = self.d
        self.names = d.relation_names()
        self.existing = set(self.names)  # what others can see: made before this file
        self.held = set(d.held_locks())
        self.at_start = d.table_identities()
        self.identities = self.at_start
        found: list[Measured] = []
        statement = None
        try:
            if self.pf.transactional:
                d.begin()
            for statement in self.pf.statements:
                found.append(self._one(statement))
            if self.pf.transactional:
                d.commit()
        except _Refused as refused:
            if self.pf.transactional:
                _quietly_rollback(d)
            raise MigrationFailedError(self._failure(len(found) + 1, statement, refused.error)) from None
        except StatementError:  # a catalog read: the scratch database's fault, not the file's
            if self.pf.transactional:
                _quietly_rollback(d)
            raise
        return found

    def _one(self, statement: Statement) -> Measured:
        d = self.d
        if self.pf.transactional or not d.shows_locks:
            online, ms = self._run(statement.text)
            held = set(d.held_locks())
            taken = held - self.held
        else:  # its locks end with it: a second session watches them while it runs
            with LockWatcher(d) as watcher:
                online, ms = self._run(statement.text)
            held, taken = set(), watcher.seen
        names = d.relation_names()
        identities = d.table_identities()
        locks = self._locks(taken, {**self.names, **names})
        rewrites = rewritten(self.at_start, self.identities, identities)
        self.names, self.held, self.identities = {**self.names, **names}, held, identities
        return Measured(
            version=self.pf.version,
            dialect=d.name,
            file=self.pf.file.rel,
            line=statement.line,
            statement=excerpt(statement.text),
            locks=locks,
            rewrites=tuple(t for t in rewrites if t not in self.own),
            ms=ms,
            online=online,
            column=statement.column,
            end=statement_end(statement),
        )

    def _run(self, text: str) -> tuple[str, float]:
        try:
            return self._execute(text)
        except StatementError as exc:
            raise _Refused(exc) from None

    def _execute(self, text: str) -> tuple[str, float]:
        """Run the statement; where the dialect has online variants of it, the first the
        server accepts runs instead (it is the same change), and its label is returned. A
        refused variant changed nothing; when every one is refused the statement runs as
        written, and can only copy the table. The time is the run's, not the refused tries'."""
        tries = self.d.online_tries(text)
        refused = 0
        for label, variant in tries:
            try:
                return label, _timed(self.d, variant)
            except StatementError as exc:
                if not self.d.refused_online(exc):
                    break  # not a refusal: the statement as written says what is wrong
                refused += 1
        return ("COPY" if tries and refused == len(tries) else ""), _timed(self.d, text)

    def _locks(self, taken: Iterable[tuple[Any, str]], names: dict[Any, str]) -> tuple[Lock, ...]:
        """The locks on relations other sessions can see. One the file itself creates is
        invisible to them until commit: a lock on it blocks no one."""
        taken = [(key, mode) for key, mode in taken if key in self.existing]
        found = {Lock(names[key], mode) for key, mode in taken if key in names and names[key] not in self.own}
        return tuple(sorted(found, key=lambda lock: (lock.table, lock.mode)))

    def _failure(self, number: int, statement: Statement | None, exc: StatementError) -> StatementFailure:
        pf = self.pf
        return StatementFailure(
            version=pf.version,
            name=pf.migration.name,
            path=pf.file.rel,
            direction=pf.direction,
            statement_index=number,
            statement_count=pf.statement_count or number,
            line=statement.line if statement else 1,
            column=statement.column if statement else 1,
            excerpt=excerpt(statement.text) if statement else "",
            db_message=exc.message,
            db_code=exc.code,
            committed="",
        )


class _Refused(Exception):
    """The file's statement failed (not one of the catalog reads around it)."""

    def __init__(self, error: StatementError) -> None:
        super().__init__(error.message)
        self.error = error


class LockWatcher:
    """The locks a statement outside a transaction holds while it runs, seen from a second
    session. The watcher holds a snapshot and the weakest lock on every table meanwhile
    (dialect.hold_watch): a CONCURRENTLY statement, and one that wants a table exclusively,
    waits for it, and while it waits its locks (and the one it asks for) are read; then the
    watcher lets go (at the latest after RELEASE_S). Any other lock is seen by polling: one
    held for less than a poll (about a millisecond) may be missed."""

    RELEASE_S = 2.0

    def __init__(self, d: Dialect) -> None:
        self.session = d.session_key()
        self.watcher = open_dialect(d.url)
        self.seen: set[tuple[Any, str]] = set()
        self.done = threading.Event()
        self.error: StatementError | None = None
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> LockWatcher:
        self.watcher.connect()
        self.watcher.hold_watch()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.watcher.close()
        if self.error is not None and exc[0] is None:
            raise self.error

    def _watch(self) -> None:
        w, s, holding = self.watcher, self.session, True
        release_at = time.monotonic() + self.RELEASE_S
        try:
            while not self.done.is_set():
                self.seen.update(w.held_locks(s))
                if holding:
                    wanted = w.waits(s)
                    if wanted or time.monotonic() > release_at:
                        # it waits for us: what it holds now, and what it gets once we let go
                        self.seen.update(w.held_locks(s))
                        self.seen.update((key, mode) for key, mode in wanted if key is not None)
                        w.commit()
                        holding = False
                time.sleep(0.001)
            if holding:
                w.commit()
        except StatementError as exc:
            self.error = exc


def rewritten(at_start: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Tables this statement rewrote or rebuilt: they existed before the file, and now have an
    identity that is new since the statement before and differs from the one before the file.
    A table re-created under its own name (sqlite's 12 steps: create, copy, drop, rename) is
    caught at the rename; a table the file itself created is new, not rewritten."""
    return sorted(
        name
        for name, identity in after.items()
        if name in at_start and identity != at_start[name] and identity != before.get(name)
    )


def statement_end(statement: Statement) -> tuple[int, int]:
    """The line and column of the statement's last character."""
    lines = statement.text.split("\n")
    if len(lines) == 1:
        return statement.line, statement.column + max(len(lines[0]) - 1, 0)
    return statement.line + len(lines) - 1, max(len(lines[-1]), 1)


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def _timed(d: Dialect, sql: str) -> float:
    """Run one statement; its time in milliseconds."""
    started = time.perf_counter()
    d.execute(sql)
    return (time.perf_counter() - started) * 1000


def _quietly_rollback(d: Dialect) -> None:
    try:
        d.rollback()
    except StatementError:
        pass  # the statement's own error is the one to report
