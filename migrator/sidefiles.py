"""Repeatable and callback files (SPEC §12): read, run, recorded, and their failures reported.

They run like a version's file, on the runner's session and on the one execution path: the
same statement rules (statement_rules.read_statements), the same compile step (script.compile_file)
and the dialect's run_script. What differs is told here: no version and no version row; a
repeatable's row in `<table>_repeatable` and its history event commit with it (in its one
transaction, or with its last statement); a callback records nothing.

The runner (migrator.runner) decides when each one runs and whether its session starts with a
reset; SideFiles runs it and says what became of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migrator.dialects import Dialect, ScriptState, StepFailed
from migrator.errors import BookkeepingError, InFlight, MigratorError
from migrator.failure import back_to_own_identity, rollback_quietly, statement_failed
from migrator.lexer import Statement
from migrator.model import Repeatable, SqlFile, Timeouts, committed_phrase
from migrator.report.units import duration
from migrator.script import Bookkeeping, Origin, Run, compile_file
from migrator.statement_rules import read_statements

if TYPE_CHECKING:
    from migrator.history import VersionStore
    from migrator.report import Reporter
    from migrator.runner import PreparedFile


@dataclass
class PreparedSide:
    """A repeatable or callback file (SPEC §12), read and split: it runs like a migration
    file, through the same scripts, but has no version and no version row."""

    kind: str  # "repeatable" or "callback"
    name: str  # the repeatable's name, the callback's event
    file: SqlFile
    statements: list[Statement]
    transactional: bool
    repeatable: Repeatable | None = None
    old_checksum: str | None = None  # a repeatable's, as last applied (None: never)

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def statement_count(self) -> int:
        return len(self.statements)

    @property
    def version(self) -> None:
        return None

    @property
    def direction(self) -> str:
        """What a failure report says in place of up or down."""
        return self.kind


def prepare_side(
    kind: str, name: str, sql_file: SqlFile, dialect: Dialect, *, transaction: bool = True
) -> PreparedSide:
    """A repeatable or callback file, read whole and split (no big-file streaming: such files
    hold views, functions and grants). transaction=False: never in one (after_error)."""
    statements, transactional = read_statements(sql_file, sql_file.read_text(), dialect)
    return PreparedSide(kind, name, sql_file, statements, transactional and transaction)


def each_event(when: str, direction: str) -> str:
    """before_each / after_each (up), before_each_down / after_each_down."""
    return f"{when}_each" + ("" if direction == "up" else "_down")


@dataclass
class SideFiles:
    """Runs repeatable and callback files on the runner's session. reset: whether the file's
    session starts clean; own_identity: whether a statement of it may SET another role (the
    runner follows both across every file it runs)."""

    d: Dialect
    store: VersionStore
    reporter: Reporter
    timeouts: Timeouts
    versions_done: list[int]  # the runner's, as it grows: a failure names them
    repeatables_done: list[str] = field(default_factory=list, init=False)
    in_flight: InFlight | None = field(default=None, init=False)  # what became of the one a signal stopped

    def run_repeatable(self, ps: PreparedSide, *, reset: bool, own_identity: bool) -> None:
        """Run one repeatable file; its row in `<table>_repeatable` and its history event
        commit with it (in its one transaction, or with its last statement)."""
        assert ps.repeatable is not None
        book = Bookkeeping(None, None, self.store.repeatable_applied(ps.repeatable, ps.old_checksum))
        ms = self._run(ps, book, reset=reset, own_identity=own_identity)
        self.repeatables_done.append(ps.name)
        self.reporter.info(f"applied repeatable {ps.name} ({ps.file.rel}) in {duration(ms)}")

    def run_callback(
        self, ps: PreparedSide, *, around: PreparedFile | None, reset: bool, own_identity: bool
    ) -> None:
        """Run one callback file on its own: around a version's file, or the command."""
        of = f" of version {around.version} ({around.migration.name})" if around is not None else ""
        ms = self._run(ps, Bookkeeping(None, None, ()), of=of, reset=reset, own_identity=own_identity)
        if around is None:
            self.reporter.info(f"ran callback {ps.name} ({ps.file.rel}) in {duration(ms)}")

    def run_after_error(
        self, ps: PreparedSide, failure: MigratorError, *, reset: bool, own_identity: bool
    ) -> None:
        """`after_error`, after `failure`. Its own failure is told with the first one, which
        stays the run's outcome."""
        try:
            self._run(ps, Bookkeeping(None, None, ()), reset=reset, own_identity=own_identity)
        except MigratorError as also:
            failure.notes.append(f"the after_error callback failed too: {also.message}")
        else:
            failure.notes.append(f"the after_error callback ran ({ps.file.rel})")

    def _run(
        self, ps: PreparedSide, book: Bookkeeping, *, reset: bool, own_identity: bool, of: str = ""
    ) -> float:
        started = time.perf_counter()
        # a statement that may SET another role: the rows are written as migrator's own user
        steps = compile_file(ps, book, self.timeouts, reset=reset, durable=True, own_identity=own_identity)
        state = ScriptState(started=started)
        try:
            self.d.run_script(steps, state)
        except StepFailed as failed:
            rollback_quietly(self.d)
            if own_identity:  # the failure row too: not as a role that may not write it
                back_to_own_identity(self.d)
            error = self._failed(ps, state, failed, of)
            if ps.kind == "repeatable":
                try:
                    self.store.record(
                        "repeatable",
                        "failed",
                        name=ps.name,
                        execution_ms=round((time.perf_counter() - started) * 1000),
                        old_checksum=ps.old_checksum,
                        new_checksum=ps.file.checksum,
                        detail=str(error)[:4000],
                    )
                except Exception:  # noqa: BLE001 - the failure itself is what the user must see
                    pass
            raise error from None
        except BaseException as exc:
            self.d.recover()
            rollback_quietly(self.d)
            if isinstance(exc, KeyboardInterrupt) and self.in_flight is None:
                self.in_flight = self._stopped(ps, state)
            raise
        recorded = state.recorded_ms  # what its history event says, where the dialect measured it
        return (time.perf_counter() - started) * 1000 if recorded is None else recorded

    def _stopped(self, ps: PreparedSide, state: ScriptState) -> InFlight | None:
        """What a signal left of a repeatable or callback file. A repeatable whose closing
        commit went through is applied (read back, never assumed), whatever came after."""
        if ps.repeatable is not None:
            try:
                row = self.store.repeatable_rows().get(ps.name)
            except Exception:  # noqa: BLE001 - the connection is gone: say what ran here
                row = None
            if row is not None and row.checksum == ps.file.checksum:
                self.repeatables_done.append(ps.name)
                return None
        done = 0 if ps.transactional else state.statements_done
        if state.in_transaction:  # a data statement and its commit were rolled back together
            done = min(done, state.statements_at_begin)
        return InFlight(
            version=None,
            name=ps.name,
            direction="up",
            outcome="rolled-back" if ps.transactional else "cut-short",
            statements_done=done,
            statement_count=len(ps.statements),
            running_statement=None if ps.transactional or done >= len(ps.statements) else done + 1,
            kind=ps.kind,
        )

    def _failed(self, ps: PreparedSide, state: ScriptState, failed: StepFailed, of: str) -> MigratorError:
        subject = f"{ps.subject}{of}"
        if not isinstance(failed.step, Run):
            return BookkeepingError(
                f"{subject} ({ps.file.rel}): migrator's own step failed: {failed.error.message}",
                hint="check the database user's privileges on the version tables",
            )
        run = failed.step
        committed = 0 if ps.transactional else min(state.statements_done, run.number - 1)
        if ps.transactional:
            what = "nothing of it was committed: the whole file was rolled back"
        else:
            stay = " and stays" if committed == 1 else " and stay"
            what = f"{committed_phrase(committed, len(ps.statements))} committed" + (
                f"{stay} (no rollback is possible here)" if committed else ""
            )
        if ps.kind == "repeatable":
            what += "; it stays pending and runs again on the next `up`"
        if self.versions_done:
            done = ", ".join(map(str, sorted(set(self.versions_done))))
            what += f"; the versions run before it stay done: {done}"
        at = Origin(ps.file.rel, run.number, len(ps.statements))
        return statement_failed(
            ps, subject, at, run.statement, failed.error, committed=committed, outcome=what
        )
