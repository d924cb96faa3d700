"""Runs prepared files: compile each into a script (script.compile_file), let the dialect run
it, record what happened.

SPEC §3: where a file can run in one transaction, its statements and its version-table write
commit together; where DDL commits implicitly (mysql) or the file says `no-transaction`, a
`running` row is written first, advanced per statement, and left `failed` when a statement
fails after something committed. One path for every file; nothing carried from file to file
but whether the session needs a reset.

A command's repeatable and callback files (SPEC §12) run on the same session, through the same
compile step: the Runner decides when and in which session state, migrator.sidefiles runs them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migrator.dialects import Dialect, ScriptState, StatementError, StepFailed
from migrator.errors import (
    BookkeepingError,
    InFlight,
    LayoutError,
    MigrationFailedError,
    MigratorError,
    RunawayBatchError,
    StoppedError,
)
from migrator.failure import back_to_own_identity, rollback_quietly, statement_failed
from migrator.history import VersionStore
from migrator.lexer import Statement, leading_keywords
from migrator.model import (
    DEFAULT_MAX_BATCHES,
    STATUS_APPLIED,
    STATUS_FAILED,
    STATUS_RUNNING,
    AppliedRow,
    Migration,
    SqlFile,
    Timeouts,
    committed_phrase,
    resolve_advice,
)
from migrator.script import (
    AFFECTED,
    ELAPSED_MS,
    NOW_UTC,
    STATEMENTS_RUN,
    Begin,
    Bookkeeping,
    Commit,
    Origin,
    OwnIdentity,
    ResetSession,
    Run,
    SetTimeouts,
    Step,
    Write,
    batch_script,
    closes_transaction,
    compile_file,
    is_data_statement,
    opens_transaction,
)
from migrator.sidefiles import PreparedSide, SideFiles, each_event
from migrator.statement_rules import read_statements
from migrator.streaming import FileStatements

if TYPE_CHECKING:
    from migrator.report import Reporter


@dataclass(frozen=True)
class BatchProgress:
    """Where a `batch` file stands after one more batch committed."""

    batches: int  # in this run
    rows: int  # rows so far, an interrupted earlier run's included
    rows_per_s: float  # in this run

    def describe(self) -> str:
        return (
            f"{self.batches:,} batch{'es' if self.batches != 1 else ''}, "
            f"{self.rows:,} row{'s' if self.rows != 1 else ''}, {self.rows_per_s:,.0f} rows/s"
        )


@dataclass
class PreparedFile:
    migration: Migration
    direction: str  # "up" or "down"
    file: SqlFile
    text: str | None  # None for a big file, which is never held whole
    statements: list[Statement] | FileStatements  # FileStatements: a big file, read as it runs
    transactional: bool  # runs in one transaction with its version row: all of it or nothing

    @property
    def version(self) -> int:
        return self.migration.version

    @property
    def name(self) -> str:
        return self.migration.name

    @property
    def statement_count(self) -> int | None:
        """How many statements, when known without reading a big file again."""
        if isinstance(self.statements, FileStatements):
            return self.statements.count
        return len(self.statements)


def prepare(m: Migration, direction: str, dialect: Dialect) -> PreparedFile:
    """Read and split one file; a statement its transaction cannot hold is a layout error.
    A big file is only opened when it runs (check_files has looked at it already)."""
    sql_file = m.up if direction == "up" else m.down
    transactional = dialect.transactional_ddl and sql_file.directives.transactional
    if sql_file.is_big:
        return PreparedFile(
            m, direction, sql_file, None, FileStatements(sql_file, dialect.name), transactional
        )
    text = sql_file.read_text()
    statements, transactional = read_statements(sql_file, text, dialect)
    return PreparedFile(m, direction, sql_file, text, statements, transactional)


# statements that take migrator's version table with them: a down.sql written as
# `DROP SCHEMA public CASCADE; CREATE SCHEMA public;` (the down of a pg_dump baseline)
_DROPS_EVERYTHING = (("DROP", "SCHEMA"), ("DROP", "DATABASE"), ("DROP", "OWNED"))


def _drops_everything(pf: PreparedFile) -> tuple[int, str, int] | None:
    """(number, leading words, line) of the first statement of a small file that drops a
    whole schema or database, else None."""
    if isinstance(pf.statements, FileStatements):
        return None  # a big file is data; it is not read again to explain a failure
    for number, s in enumerate(pf.statements, start=1):
        words = leading_keywords(s.text, 2)
        if words in _DROPS_EVERYTHING:
            return number, " ".join(words), s.line
    return None


class Runner:
    def __init__(
        self,
        dialect: Dialect,
        store: VersionStore,
        reporter: Reporter,
        timeouts: Timeouts,
        *,
        batch_pause_s: float = 0.0,
        resume: dict[int, int] | None = None,
        before_file: Callable[[PreparedFile], None] | None = None,
        notes: dict[int, str] | None = None,
        should_stop: Callable[[], bool] | None = None,
        applied: dict[int, AppliedRow] | None = None,
        callbacks: dict[str, PreparedSide] | None = None,
    ) -> None:
        self.d = dialect
        self.store = store
        self.reporter = reporter
        self.timeouts = timeouts
        self.batch_pause_s = batch_pause_s
        self.resume = resume or {}  # version -> rows already done by an interrupted batch run
        self.before_file = before_file  # e.g. take a backup
        self.notes = notes or {}  # version -> remark for its history row (out-of-order)
        self.should_stop = should_stop  # many targets: asked between files, never inside one
        self.applied = applied or {}  # version -> its row before the run (rolling back)
        self.callbacks = callbacks or {}  # event -> callback file (SPEC §12)
        self.completed: list[int] = []
        self.sides = SideFiles(dialect, store, reporter, timeouts, self.completed)
        self._stopped: InFlight | None = None  # what became of the version's file a signal stopped
        self._dirty_session = False  # may the previous file have left session state behind?
        self._role_set = False  # may a file or callback have SET a role (Dialect.may_change_identity)?
        self._unflushed = False  # a commit that did not wait for the disk is not flushed yet

    @property
    def in_flight(self) -> InFlight | None:
        """What became of the file a signal stopped: a version's, a repeatable's or a callback's."""
        return self._stopped if self._stopped is not None else self.sides.in_flight

    @property
    def repeatables_done(self) -> list[str]:
        return self.sides.repeatables_done

    def run_command(self, direction: str, files: list[PreparedFile], repeatables: list[PreparedSide]) -> None:
        """One `up` or `down` with its callbacks (SPEC §12): before_<direction>, the versioned
        files (each with its before_each/after_each), the repeatables, after_<direction>; and
        after a failure, `after_error` once."""
        try:
            self.run_callback(f"before_{direction}")
            self.run(files)
            for ps in repeatables:
                self.run_repeatable(ps)
            self.run_callback(f"after_{direction}")
            if self._role_set:  # a role a file SET must not outlive the run: migrator reads
                self._role_set = self._dirty_session = False  # its version table after it
                self.d.reset_session()
        except (MigrationFailedError, BookkeepingError) as failure:
            self._after_error(failure)
            raise

    def run(self, files: list[PreparedFile]) -> list[int]:
        """Run the files in order. Every transactional file but the last commits without
        waiting for the disk (Begin(durable=False)): the last commit flushes them all, so a run
        that returns has made every file durable, at one disk flush instead of one per file."""
        try:
            for i, pf in enumerate(files):
                if self.should_stop is not None and self.should_stop():
                    raise StoppedError(
                        pf.direction,
                        [(f.version, f.migration.name) for f in files[:i]],
                        [(f.version, f.migration.name) for f in files[i:]],
                    )
                if self.before_file is not None:
                    self.before_file(pf)
                self._run_file(pf, durable=i == len(files) - 1)
        finally:
            if self._unflushed:
                self._unflushed = False
                self.d.flush_commits()
        return self.completed

    def _run_file(self, pf: PreparedFile, *, durable: bool) -> None:
        self.reporter.file_started(pf)
        started = time.perf_counter()
        reset, self._dirty_session = self._dirty_session, self._leaves_session_state(pf)
        before_event, after_event = each_event("before", pf.direction), each_event("after", pf.direction)
        # a callback goes inside the file's transaction only where both can run in one: a
        # callback that says no-transaction, or holds DDL mysql commits at once, runs on its own
        # (inside, its implicit commit would break the file's all-or-nothing)
        before, after = (self._inside(pf, e) for e in (before_event, after_event))
        try:
            if before is None and self.run_callback(before_event, around=pf, reset=reset):
                reset = False  # what it SET (a role, a search_path) is the file's session too
            if pf.file.directives.batch:
                state = self._run_batches(pf, started, reset)
            else:
                book = self._bookkeeping(pf)
                steps = compile_file(
                    pf,
                    book,
                    self.timeouts,
                    reset=reset,
                    durable=durable,
                    before=before,
                    after=after,
                    # (a before_each that runs on its own leaves its SET ROLE to the file)
                    own_identity=self._may_change_identity(
                        pf, before or self.callbacks.get(before_event), after
                    ),
                )
                state = self._execute(pf, steps, started)
            if any(cb is not None and cb.statements for cb in (before, after)):
                self._dirty_session = True  # (a SET ROLE in before_each must not outlive the file)
        except KeyboardInterrupt:
            if self.in_flight is None and pf.version not in self.completed:
                self._stopped = self._read_back(pf)
            raise
        self._unflushed = pf.transactional and not durable
        self.completed.append(pf.version)
        # the time the history records, where the dialect measured it (postgres measures on
        # the server): the line a person reads and `history` then say the same
        recorded = state.recorded_ms
        self.reporter.file_done(pf, (time.perf_counter() - started) * 1000 if recorded is None else recorded)
        if after is None:  # the version is applied (or rolled back) now, whatever this does
            self.run_callback(after_event, around=pf, reset=False)

    def _may_change_identity(self, *files: PreparedFile | PreparedSide | None) -> bool:
        """Could a statement of these SET another role? (A big file is not read ahead for this.)"""
        found = any(
            self.d.may_change_identity(s.text)
            for f in files
            if f is not None and not isinstance(f.statements, FileStatements)
            for s in f.statements
        )
        self._role_set = self._role_set or found
        return found

    def _inside(self, pf: PreparedFile, event: str) -> PreparedSide | None:
        """The each-callback to compile into the file's own transaction, if it goes there."""
        ps = self.callbacks.get(event)
        if ps is None or not pf.transactional or pf.file.directives.batch or not ps.transactional:
            return None
        return ps

    def _leaves_session_state(self, pf: PreparedFile) -> bool:
        if isinstance(pf.statements, FileStatements):
            return True  # not read ahead just to know this: one reset after a big file
        effective = self.timeouts.overridden_by(pf.file.directives)
        session_limits = not pf.transactional and effective != Timeouts()
        return session_limits or any(self.d.may_change_session(s.text) for s in pf.statements)

    # -- the rows that go with a file ----------------------------------------------------
    def _bookkeeping(self, pf: PreparedFile) -> Bookkeeping:
        m, store = pf.migration, self.store
        event = store.event(
            pf.direction,
            "ok",
            version=m.version,
            name=m.name,
            execution_ms=ELAPSED_MS,
            new_checksum=pf.file.checksum,
            detail=self.notes.get(m.version),
        )
        if pf.direction == "up" and pf.transactional:
            row = store.row_insert(
                m,
                status=STATUS_APPLIED,
                operation="up",
                execution_ms=ELAPSED_MS,
                up_text=pf.text,
                down_text=m.down.stored_text(),
                statements_total=STATEMENTS_RUN,
                applied_at=NOW_UTC,
            )
            return Bookkeeping(None, None, (row, event))
        if pf.direction == "down":
            start = None if pf.transactional else self._running_row(pf)
            finish = (store.row_delete(m.version), *store.repeatables_rolled_back(), event)
            return Bookkeeping(start, self._progress_row(pf), finish)
        done = store.row_update(
            m.version,
            status=STATUS_APPLIED,
            execution_ms=ELAPSED_MS,
            applied_at=NOW_UTC,
            statements_done=STATEMENTS_RUN,
            statements_total=STATEMENTS_RUN,
        )
        return Bookkeeping(self._running_row(pf), self._progress_row(pf), (done, event))

    def _running_row(self, pf: PreparedFile) -> Write:
        m = pf.migration
        if pf.direction == "up":
            return self.store.row_insert(
                m,
                status=STATUS_RUNNING,
                operation="up",
                execution_ms=0,
                up_text=pf.text,
                down_text=m.down.stored_text(),
                statements_total=pf.statement_count,
            )
        batch = {"rows_done": 0} if pf.file.directives.batch else {}
        return self.store.row_update(
            m.version,
            status=STATUS_RUNNING,
            operation="down",
            statements_done=0,
            statements_total=pf.statement_count,
            **batch,
        )

    def _progress_row(self, pf: PreparedFile) -> Callable[[int], Write]:
        return lambda done: self.store.row_update(pf.version, statements_done=done)

    def _not_started(self, pf: PreparedFile) -> Write:
        """The write that undoes a `running` row: the version is as it was before the file."""
        if pf.direction == "up":
            return self.store.row_delete(pf.version)
        row = self.applied.get(pf.version) or self.store.rows().get(pf.version)
        assert row is not None
        return self.store.row_restore(row)

    # -- running a script and reading its outcome -----------------------------------------
    def _execute(self, pf: PreparedFile, steps: Iterable[Step], started: float) -> ScriptState:
        state = ScriptState(started=started)
        tracker = _OwnTransaction(self.d.transactional_ddl)

        def done(step: Run, ms: float) -> None:
            if step.origin is not None:  # a callback's statement, not one of the file's
                return
            if not pf.transactional:  # (one transaction: nothing of the file's own to follow)
                tracker.completed(step.statement)
            self.reporter.statement_done(pf, step.number, step.statement, ms)

        one_by_one = pf.file.is_big or getattr(self.reporter, "times_statements", False)
        try:
            self.d.run_script(steps, state, on_statement=done, one_by_one=one_by_one)
        except StepFailed as failed:
            rollback_quietly(self.d)
            if self._role_set:
                back_to_own_identity(self.d)
            committed = self._committed(pf, state, tracker)
            if isinstance(failed.step, Run):
                self._statement_failed(pf, started, failed.step, failed.error, committed, tracker)
            self._bookkeeping_failed(pf, started, failed, committed)
        except LayoutError as exc:  # a big file whose rest cannot be split into statements
            rollback_quietly(self.d)
            self._unsplittable(pf, started, state, tracker, exc)
        except BaseException as exc:  # a signal: the database says how far the file got
            self._interrupted(pf, state, tracker, exc)
            raise
        return state

    def _committed(self, pf: PreparedFile, state: ScriptState, tracker: _OwnTransaction) -> int:
        """How many of the file's statements stay committed after a failure and the rollback."""
        if pf.transactional:
            return 0
        committed = state.statements_done
        if state.in_transaction:  # the data statement and its progress row rolled back together
            committed = min(committed, state.statements_at_begin)
        return tracker.committed(committed)

    def _statement_failed(
        self,
        pf: PreparedFile,
        started: float,
        run: Run,
        exc: StatementError,
        committed: int,
        tracker: _OwnTransaction,
    ) -> None:
        left_behind = self.d.after_failure(run.statement.text)
        pending_again = not pf.transactional and committed == 0 and not left_behind
        # the row first: the report then says what the version table really holds
        recorded = True
        if pending_again:
            recorded = self._write_quietly(self._not_started(pf))
        elif not pf.transactional:
            recorded = self._write_quietly(
                self.store.row_update(
                    pf.version,
                    status=STATUS_FAILED,
                    statements_done=committed,
                    failed_statement=run.number,
                    failed_line=run.statement.line,
                    error=exc.message[:4000],
                )
            )
        error = self._failure(
            pf,
            run,
            exc,
            committed,
            tracker,
            left_behind=left_behind,
            pending_again=pending_again,
            recorded=recorded,
        )
        self._record_failure(pf, started, str(error))
        raise error from None

    def _bookkeeping_failed(
        self, pf: PreparedFile, started: float, failed: StepFailed, committed: int
    ) -> None:
        """migrator's own step failed (a version-table write, the session setup, a commit)."""
        what = {
            Write: "writing migrator's version table",
            Begin: "opening a transaction",
            Commit: "committing",
            SetTimeouts: "setting the session limits",
            OwnIdentity: "returning to migrator's own role for its bookkeeping",
            ResetSession: "resetting the session",
        }.get(type(failed.step), "a bookkeeping step")
        outcome = self._settle(
            pf,
            committed,
            nothing=pf.transactional or committed == 0 and not isinstance(failed.step, Commit),
            error=f"{what} failed: {failed.error.message}"[:4000],
        )
        code = f" [{failed.error.code}]" if failed.error.code else ""
        dropper = _drops_everything(pf) if isinstance(failed.step, Write) else None
        hint = (
            f"statement {dropper[0]} of the file ({dropper[1]}, line {dropper[2]}) drops migrator's "
            "version table with everything else: drop the file's own objects one by one instead"
            if dropper
            else "check the version table and the database user's privileges on it"
        )
        error = BookkeepingError(
            f"version {pf.version} ({pf.migration.name}) {pf.direction}: {what} failed: "
            f"{failed.error.message}{code}; {outcome}",
            hint=hint,
        )
        self._record_failure(pf, started, str(error))
        raise error from None

    def _unsplittable(
        self, pf: PreparedFile, started: float, state: ScriptState, tracker: _OwnTransaction, exc: LayoutError
    ) -> None:
        committed = self._committed(pf, state, tracker)
        number = state.statements_done + 1
        where = exc.problems[0] if exc.problems else str(exc)
        outcome = self._settle(
            pf,
            committed,
            nothing=pf.transactional or committed == 0,
            failed_statement=number,
            error=f"the rest of the file cannot be split: {where}",
        )
        error = BookkeepingError(
            f"version {pf.version} ({pf.migration.name}) {pf.direction} stopped: {where}; the rest "
            f"of the file cannot be split into statements, so it was not run; {outcome}",
            hint="fix the file (an unclosed quote or comment?) and run the command again",
        )
        self._record_failure(pf, started, str(error))
        raise error from None

    def _settle(self, pf: PreparedFile, committed: int, *, nothing: bool, **failed_row: Any) -> str:
        """Leave the version row as a stopped file left the database, and say what that is:
        nothing committed, the version as it was before; else a `failed` row that blocks."""
        if nothing:
            if not pf.transactional:
                self._write_quietly(self._not_started(pf))
            return "nothing of this version was committed" + (
                ": the whole file was rolled back" if pf.transactional else ""
            )
        self._write_quietly(
            self.store.row_update(pf.version, status=STATUS_FAILED, statements_done=committed, **failed_row)
        )
        return (
            f"{committed_phrase(committed, pf.statement_count)} committed and stay; version "
            f"{pf.version} is recorded as failed and blocks later runs; "
            + resolve_advice(pf.version, pf.direction)
        )

    def _interrupted(
        self, pf: PreparedFile, state: ScriptState, tracker: _OwnTransaction, exc: BaseException
    ) -> None:
        """Stopped from outside (a signal) somewhere in the script. Whether the file's
        closing commit went through is read back from the database, never assumed."""
        try:
            self.d.recover()
            rollback_quietly(self.d)
            row = self.store.rows().get(pf.version)
        except Exception:  # noqa: BLE001 - then a `running` row tells the next run
            self._stopped = self._in_flight(pf, "unknown")
            return
        finished = (row is not None and row.status == STATUS_APPLIED) if pf.direction == "up" else row is None
        if finished:
            self.completed.append(pf.version)
            return
        if pf.transactional or pf.file.directives.batch or row is None or row.status != STATUS_RUNNING:
            # rolled back whole; a batch resumes; a running row not yet written
            self._stopped = self._what_became(pf, row)
            return
        number = (row.statements_done or 0) + 1
        why = (
            "interrupted by a signal"
            if isinstance(exc, KeyboardInterrupt)
            else f"stopped by an error ({exc})"
        )
        of = f" of {pf.statement_count}" if pf.statement_count is not None else ""
        statement = (
            pf.statements[number - 1]
            if not isinstance(pf.statements, FileStatements) and number <= len(pf.statements)
            else None
        )
        marked = self._write_quietly(
            self.store.row_update(
                pf.version,
                status=STATUS_FAILED,
                failed_statement=number,
                failed_line=statement.line if statement else None,
                error=f"{why} while statement {number}{of} ran (statements before it committed; "
                "it may have committed too)",
            )
        )
        self._stopped = self._in_flight(
            pf,
            "failed" if marked else "running",
            statements_done=row.statements_done or 0,
            running_statement=number,
        )

    def _read_back(self, pf: PreparedFile) -> InFlight:
        """What a signal outside the file's script left of it (a batch file, the steps around
        a file), read from the version table."""
        try:
            self.d.recover()
            rollback_quietly(self.d)
            row = self.store.rows().get(pf.version)
        except Exception:  # noqa: BLE001 - the connection is gone: say so
            return self._in_flight(pf, "unknown")
        return self._what_became(pf, row)

    def _what_became(self, pf: PreparedFile, row: AppliedRow | None) -> InFlight:
        if row is None or row.status == STATUS_APPLIED:
            return self._in_flight(pf, "rolled-back")  # as before the file (finished: not here)
        if row.status == STATUS_RUNNING and pf.file.directives.batch:
            return self._in_flight(pf, "resumable", rows_done=row.rows_done or 0)
        return self._in_flight(
            pf,
            "failed" if row.status == STATUS_FAILED else "running",
            statements_done=row.statements_done or 0,
            running_statement=row.failed_statement,
        )

    def _in_flight(self, pf: PreparedFile, outcome: str, **facts: Any) -> InFlight:
        return InFlight(
            version=pf.version,
            name=pf.migration.name,
            direction=pf.direction,
            outcome=outcome,
            statement_count=pf.statement_count,
            **facts,
        )

    def _write_quietly(self, step: Write) -> bool:
        try:
            self.d.write(step)
        except Exception:  # noqa: BLE001 - then the row stays `running`: reported as interrupted
            return False
        return True

    # -- repeatable and callback files (SPEC §12): when they run, on this session ------------
    def run_repeatable(self, ps: PreparedSide) -> None:
        """Run one repeatable file (SideFiles.run_repeatable)."""
        reset, own_identity = self._side_session(ps, None)
        self.sides.run_repeatable(ps, reset=reset, own_identity=own_identity)

    def run_callback(
        self, event: str, *, around: PreparedFile | None = None, reset: bool | None = None
    ) -> bool:
        """Run one callback file on its own; False when there is none. reset: whether its
        session starts clean (None: when the previous file may have left state behind)."""
        ps = self.callbacks.get(event)
        if ps is None or not ps.statements:
            return False
        reset, own_identity = self._side_session(ps, reset)
        self.sides.run_callback(ps, around=around, reset=reset, own_identity=own_identity)
        return True

    def _after_error(self, failure: MigratorError) -> None:
        """`after_error`, once, after a failed file: in a clean session outside any transaction."""
        ps = self.callbacks.get("after_error")
        if ps is None or not ps.statements:
            return
        rollback_quietly(self.d)
        reset, own_identity = self._side_session(ps, True)
        self.sides.run_after_error(ps, failure, reset=reset, own_identity=own_identity)

    def _side_session(self, ps: PreparedSide, reset: bool | None) -> tuple[bool, bool]:
        """A repeatable or callback file is about to run on this session: whether it starts
        with a reset (None: where the previous file may have left state behind), and whether a
        statement of it may SET another role."""
        reset = self._dirty_session if reset is None else reset
        self._dirty_session = True  # (not worth finding out: one reset after such a file)
        return reset, self._may_change_identity(ps)

    # -- batch: one data statement repeated, each run in its own transaction (SPEC §10) ------
    def _run_batches(self, pf: PreparedFile, started: float, reset: bool) -> ScriptState:
        m, statement = pf.migration, next(iter(pf.statements))
        book = self._bookkeeping(pf)
        rows = self.resume.get(m.version)
        opening: list[Step] = [ResetSession()] if reset else []
        opening.append(SetTimeouts(self.timeouts.overridden_by(pf.file.directives), local=False))
        if rows is None:
            rows = 0
            assert book.start is not None  # a batch file is never transactional
            opening.append(book.start)
        resumed = rows > 0
        self._execute_own(pf, started, opening, committed=0)
        batches, rows_before, first_batch = 0, rows, time.perf_counter()
        limit = pf.file.directives.max_batches or DEFAULT_MAX_BATCHES  # changing batches per run
        add_rows = self.store.row_add_rows(m.version, AFFECTED)
        while True:
            state = ScriptState()
            try:
                self.d.run_script(batch_script(statement, add_rows), state, one_by_one=True)
            except StepFailed as failed:
                rollback_quietly(self.d)
                committed = 1 if batches or resumed else 0
                if not isinstance(failed.step, Run):
                    self._bookkeeping_failed(pf, started, failed, committed)
                self._statement_failed(
                    pf, started, Run(1, statement), failed.error, committed, _OwnTransaction(True)
                )
            except BaseException:
                self.d.recover()
                rollback_quietly(self.d)
                raise  # the row stays `running` with its row count: the next up resumes
            affected = max(state.last_affected, 0)
            rows += affected
            batches += 1
            now = time.perf_counter()
            self.reporter.batch_done(
                pf, BatchProgress(batches, rows, (rows - rows_before) / max(now - first_batch, 1e-6))
            )
            if affected <= 0:
                break
            if batches > limit:
                self._runaway(pf, started, statement, batches, rows, limit)
            if self.batch_pause_s:
                time.sleep(self.batch_pause_s)
        return self._execute_own(pf, started, [Begin(), *book.finish, Commit()], committed=1)

    def _runaway(
        self, pf: PreparedFile, started: float, statement: Statement, batches: int, rows: int, limit: int
    ) -> None:
        """The statement keeps finding rows: stop, and leave a `failed` row, not a `running`
        one, so that the next run does not resume the same endless loop."""
        error = RunawayBatchError(
            version=pf.version,
            name=pf.migration.name,
            path=pf.file.rel,
            direction=pf.direction,
            batches=batches,
            rows=rows,
            limit=limit,
        )
        self._write_quietly(
            self.store.row_update(
                pf.version,
                status=STATUS_FAILED,
                statements_done=1,
                failed_statement=1,
                failed_line=statement.line,
                error=f"still changing rows in batch {batches}, past max-batches {limit}",
            )
        )
        self._record_failure(pf, started, str(error))
        raise error

    def _execute_own(
        self, pf: PreparedFile, started: float, steps: list[Step], *, committed: int
    ) -> ScriptState:
        """Bookkeeping steps alone (a batch file's opening and closing writes); the time they
        record counts from the file's start, every batch included."""
        state = ScriptState(started=started)
        try:
            self.d.run_script(steps, state, one_by_one=True)
        except StepFailed as failed:
            rollback_quietly(self.d)
            self._bookkeeping_failed(pf, started, failed, committed)
        return state

    # -- the error report ------------------------------------------------------------------
    def _failure(
        self,
        pf: PreparedFile,
        run: Run,
        exc: StatementError,
        committed: int,
        tracker: _OwnTransaction,
        *,
        left_behind: str,
        pending_again: bool,
        recorded: bool,
    ) -> MigrationFailedError:
        try:
            total = len(pf.statements)  # a big file: counted here, only when it failed
        except LayoutError:
            total = run.number  # the rest cannot be split; at least this many
        at, subject = Origin(pf.file.rel, run.number, total), f"version {pf.version} ({pf.migration.name})"
        if run.origin is not None:  # a before_each/after_each statement, inside the transaction
            at, subject = run.origin, f"callback {_event_of(run.origin.rel)} of {subject}"
        if pf.transactional:
            kept = self.d.rollback_left()  # (mysql: a MyISAM table keeps what the file wrote)
            rolled_back = "nothing of this version was committed: the whole file was rolled back"
            what = (f"the file was rolled back, but {kept}" if kept else rolled_back) + (
                f"; versions applied earlier in this run stay applied: "
                f"{', '.join(map(str, sorted(set(self.completed))))}"
                if self.completed
                else ""
            )
        else:
            what = (
                f"{committed_phrase(committed, total)} committed and stay (no rollback is possible here)"
                if committed
                else f"{committed_phrase(0, total)} committed"
            )
            if tracker.opened_at:
                what += (
                    f"; the transaction the file opened itself (statement "
                    f"{tracker.opened_at}) was rolled back"
                    + (
                        ""
                        if self.d.transactional_ddl or not tracker.implicit_commit
                        else f", but {self.d.name} had already committed the DDL inside it"
                    )
                )
            if left_behind:
                what += f"; {left_behind}"
            if not recorded:  # (the file dropped the version table, the connection is gone)
                what += (
                    f"; migrator could not record this failure in version {pf.version}'s row (the "
                    "write to the version table failed too): run `migrator status` to see what it "
                    "holds before you repair anything; " + resolve_advice(pf.version, pf.direction)
                )
            elif pending_again:
                what += (
                    f"; version {pf.version} is "
                    + ("pending again" if pf.direction == "up" else "still applied")
                    + " (the history keeps this failure)"
                )
            else:
                what += (
                    f"; version {pf.version} is recorded as failed and blocks later runs; "
                    + resolve_advice(pf.version, pf.direction)
                )
        return statement_failed(pf, subject, at, run.statement, exc, committed=committed, outcome=what)

    def _record_failure(self, pf: PreparedFile, started: float, detail: str) -> None:
        try:
            self.store.record(
                pf.direction,
                "failed",
                version=pf.version,
                name=pf.migration.name,
                execution_ms=_ms_since(started),
                new_checksum=pf.file.checksum,
                detail=detail,  # the store masks it, then keeps 4,000 characters
            )
        except Exception:  # noqa: BLE001 - the failure itself is what the user must see
            pass


class _OwnTransaction:
    """Follows a no-transaction file's own BEGIN ... COMMIT as its statements complete: what
    a failure inside it rolls back."""

    def __init__(self, transactional_ddl: bool) -> None:
        self.transactional_ddl = transactional_ddl
        self.opened_at = 0  # the statement number that opened it; 0: none open
        self.implicit_commit = False  # a statement inside it committed it anyway (mysql DDL)
        self._number = 0

    def completed(self, statement: Statement) -> None:
        self._number += 1
        if opens_transaction(statement.text):
            self.opened_at, self.implicit_commit = self.opened_at or self._number, False
        elif closes_transaction(statement.text):
            self.opened_at, self.implicit_commit = 0, False
        elif self.opened_at and not self.transactional_ddl and not is_data_statement(statement.text):
            self.implicit_commit = True

    def committed(self, done: int) -> int:
        """Of `done` completed statements, how many stay after rolling back the open one."""
        if self.opened_at and not self.implicit_commit:
            return min(done, self.opened_at - 1)
        return done


def _event_of(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].removesuffix(".sql")


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
