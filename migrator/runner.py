"""Runs prepared files: one transaction per file where the dialect can, a dirty bracket elsewhere.

SPEC §3: on a transactional dialect the statements and the version-table write commit together;
where DDL commits implicitly (mysql) or the file says `no-transaction`, a `running` row is
written first, advanced per statement, and left `failed` when a statement fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from migrator.dialects import ELAPSED_MS, NOW_UTC, Dialect, StatementError
from migrator.errors import LayoutError, MigrationFailedError, StatementFailure, StoppedError
from migrator.history import VersionStore, utc_now
from migrator.lexer import LexError, Statement, leading_keywords, split_statements
from migrator.model import (
    STATUS_APPLIED,
    STATUS_FAILED,
    STATUS_RUNNING,
    AppliedRow,
    Migration,
    SqlFile,
    Timeouts,
    committed_phrase,
)
from migrator.streaming import FileStatements

_TX_OPEN = (("BEGIN",), ("START", "TRANSACTION"))
_TX_CLOSE = (("COMMIT",), ("ROLLBACK",), ("END",))
_TX_CONTROL = _TX_OPEN + _TX_CLOSE


class Reporter(Protocol):
    def file_started(self, pf: PreparedFile) -> None: ...
    def statement_done(self, pf: PreparedFile, index: int, statement: Statement,
                       elapsed_ms: float) -> None: ...
    def batch_done(self, pf: PreparedFile, progress: BatchProgress) -> None: ...
    def file_done(self, pf: PreparedFile, elapsed_ms: float) -> None: ...


@dataclass(frozen=True)
class BatchProgress:
    """Where a `batch` file stands after one more batch committed."""

    batches: int  # in this run
    rows: int  # rows so far, an interrupted earlier run's included
    rows_per_s: float  # in this run

    def describe(self) -> str:
        return (f"{self.batches:,} batch{'es' if self.batches != 1 else ''}, {self.rows:,} rows, "
                f"{self.rows_per_s:,.0f} rows/s")


@dataclass
class PreparedFile:
    migration: Migration
    direction: str  # "up" or "down"
    file: SqlFile
    text: str | None  # None for a big file, which is never held whole
    statements: list[Statement] | FileStatements  # FileStatements: a big file, read as it runs
    transactional: bool

    @property
    def version(self) -> int:
        return self.migration.version

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
        return PreparedFile(m, direction, sql_file, None, FileStatements(sql_file, dialect.name),
                            transactional)
    text = sql_file.read_text()
    statements = _split(sql_file, text, dialect)
    # a file discovery found no rule word in cannot break a rule (as in check_files)
    problems = file_problems(sql_file, statements, dialect) if sql_file.needs_statement_check else []
    if problems:
        raise LayoutError(problems)
    return PreparedFile(m, direction, sql_file, text, statements, transactional)


def _split(sql_file: SqlFile, text: str, dialect: Dialect) -> list[Statement]:
    try:
        return split_statements(text, dialect.name)
    except LexError as exc:
        raise LayoutError([f"{sql_file.rel}:{exc.line}:{exc.column}: {exc.message}"]) from None


def check_files(files: list[SqlFile], dialect: Dialect) -> None:
    """Every rule prepare() enforces, for many files at once and before any database is
    touched (the dialect object only needs its class facts, not a connection)."""
    problems: list[str] = []
    for sql_file in files:
        if not sql_file.needs_statement_check:  # decided at discovery, without re-reading
            continue
        try:
            statements: Iterable[Statement] = (
                FileStatements(sql_file, dialect.name) if sql_file.is_big
                else _split(sql_file, sql_file.read_text(), dialect))
            problems += file_problems(sql_file, statements, dialect)
        except LayoutError as exc:
            problems += exc.problems
    if problems:
        raise LayoutError(problems)


def file_problems(sql_file: SqlFile, statements: Iterable[Statement], dialect: Dialect) -> list[str]:
    """Every statement rule, in one pass over the statements (a big file streams through)."""
    problems: list[str] = []
    in_transaction = dialect.transactional_ddl and sql_file.directives.transactional
    count = 0
    for s in statements:
        count += 1
        if reason := dialect.unsupported(s.text):
            problems.append(f"{sql_file.rel}:{s.line}:{s.column}: {reason}")
        if in_transaction and (refusal := _refusal(sql_file, s, dialect)):
            problems.append(refusal)
    if sql_file.directives.batch and count != 1:
        problems.append(f"{sql_file.rel}: a `batch` file holds exactly one data statement "
                        f"(found {count}); it is repeated until it affects no rows")
    return problems


def _refusal(f: SqlFile, s: Statement, dialect: Dialect) -> str:
    words = leading_keywords(s.text, 4)
    for pattern in _TX_CONTROL:
        if words[: len(pattern)] == pattern and not (pattern == ("BEGIN",) and _is_block(words)):
            return (f"{f.rel}:{s.line}:{s.column}: the file manages its own transaction "
                    f"({' '.join(pattern)}); migrator already runs it in one. Remove it, or add "
                    "`-- migrator: no-transaction` at the top of the file")
    for pattern in dialect.refused_in_transaction:
        if words[: len(pattern)] == pattern:
            return (f"{f.rel}:{s.line}:{s.column}: {dialect.name} refuses "
                    f"{' '.join(pattern)} inside a transaction; add "
                    "`-- migrator: no-transaction` at the top of the file")
    return ""


def _transaction_control(s: Statement, index: int, open_since: int) -> int:
    """The statement index where the file's own transaction began (0: none open) after `s`."""
    words = leading_keywords(s.text, 2)
    if any(words[:len(p)] == p for p in _TX_OPEN) and not _is_block(words):
        return open_since or index
    if words[:1] in _TX_CLOSE:
        return 0
    return open_since


def _is_block(words: tuple[str, ...]) -> bool:
    # BEGIN ATOMIC / a lone plpgsql-style block is not transaction control
    return len(words) > 1 and words[1] == "ATOMIC"


class Runner:
    def __init__(self, dialect: Dialect, store: VersionStore, reporter: Reporter,
                 timeouts: Timeouts, *, batch_pause_s: float = 0.0,
                 resume: dict[int, int] | None = None,
                 before_file: Callable[[PreparedFile], None] | None = None,
                 notes: dict[int, str] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 applied: dict[int, AppliedRow] | None = None) -> None:
        self.d = dialect
        self.store = store
        self.reporter = reporter
        self.timeouts = timeouts
        self.completed: list[int] = []
        self._dirty_session = False  # did the previous file possibly change session state?
        self._current = 0  # 1-based index of the statement running now
        self._current_statement: Statement | None = None
        self._own_transaction_from = 0  # a no-transaction file opened its own: at this statement
        self.batch_pause_s = batch_pause_s
        self.resume = resume or {}  # version -> rows already done by an interrupted batch run
        self.before_file = before_file  # e.g. take a backup
        self.notes = notes or {}  # version -> remark for its history row (out-of-order)
        self.should_stop = should_stop  # many targets: asked between files, never inside one
        self._unflushed = False  # a commit that did not wait for the disk is not flushed yet
        self.applied = applied or {}  # version -> its row before the run (rolling back)
        # the next file's `running` row rides on the closing commit of the file before it:
        self._writing_ahead: int | None = None  # written by the file running now
        self._started_early: int | None = None  # committed; the file's statements not sent yet

    def run(self, files: list[PreparedFile]) -> list[int]:
        """Run the files in order. Every transactional file but the last commits without
        waiting for the disk (Dialect.begin): the last commit flushes them all, so a run that
        returns has made every file durable, at one disk flush instead of one per file."""
        try:
            self._run(files)
        finally:
            if self._unflushed:
                self._unflushed = False
                self.d.flush_commits()
        return self.completed

    def _run(self, files: list[PreparedFile]) -> None:
        for i, pf in enumerate(files):
            following = files[i + 1] if i + 1 < len(files) else None
            try:
                self._run_file(files, i, pf, following)
            except BaseException:
                self._writing_ahead = None  # the closing commit that would have held it failed
                if self._started_early == pf.version:  # its row is written, nothing of it ran
                    self._unstart(pf)
                raise
            self._started_early, self._writing_ahead = self._writing_ahead, None

    def _run_file(self, files: list[PreparedFile], i: int, pf: PreparedFile,
                  following: PreparedFile | None) -> None:
        if self._started_early != pf.version:  # a file whose running row is written has started
            # stop requests (another target failed) are honoured between files only
            if self.should_stop is not None and self.should_stop():
                raise StoppedError(pf.direction, [(f.version, f.migration.name) for f in files[:i]],
                                   [(f.version, f.migration.name) for f in files[i:]])
        if self.before_file is not None:
            self.before_file(pf)
        self.reporter.file_started(pf)
        started = time.perf_counter()
        self._own_transaction_from = 0
        durable = following is None
        if pf.transactional and self._sent_at_once(pf, started, durable):
            pass
        else:
            self._reset_session(pf)
            if pf.file.directives.batch:
                self._run_batches(pf, started, following)
            elif pf.transactional:
                self._run_in_transaction(pf, started, durable)
            else:
                self._run_bracketed(pf, started, following)
        # a file outside one transaction commits durably as it goes, flushing what came before
        self._unflushed = pf.transactional and not durable
        self.completed.append(pf.version)
        self.reporter.file_done(pf, (time.perf_counter() - started) * 1000)

    # -- a bracketed file's running row, written by the closing commit of the file before --
    def _may_start_early(self, following: PreparedFile | None) -> bool:
        """May this file's closing transaction also write the next file's `running` row? It
        saves that row its own commit (on mysql, one of the few per file that cost a disk
        flush). Only for a bracketed file that is sure to start next: no backup before it, no
        stop request now, and (rolling back) its row as it was, to put back on Ctrl-C."""
        if following is None or following.transactional or following.file.directives.batch:
            return False
        if self.before_file is not None or (self.should_stop is not None and self.should_stop()):
            return False
        return following.direction == "up" or following.version in self.applied

    def _write_running_row(self, pf: PreparedFile, *, later: bool) -> None:
        m = pf.migration
        if pf.direction == "up":
            self.store.insert_row(m, status=STATUS_RUNNING, operation="up", execution_ms=0,
                                  up_text=pf.text, down_text=m.down.stored_text(),
                                  statements_total=pf.statement_count, later=later)
        else:
            batch = {"rows_done": 0} if pf.file.directives.batch else {}
            self.store.update_row(m.version, status=STATUS_RUNNING, operation="down",
                                  statements_done=0, statements_total=pf.statement_count,
                                  later=later, **batch)

    def _unstart(self, pf: PreparedFile) -> None:
        """Interrupted after its row was written and before any statement was sent: put the
        row back as it was, so nothing claims the version was touched."""
        self._started_early = None
        try:
            self.d.recover()
            if pf.direction == "up":
                self.store.delete_row(pf.version)
            else:
                row = self.applied[pf.version]
                self.store.update_row(pf.version, status=row.status, operation=row.operation,
                                      statements_done=row.statements_done,
                                      statements_total=row.statements_total)
        except Exception:  # noqa: BLE001 - then the row stays `running`: reported as interrupted
            pass

    def _reset_session(self, pf: PreparedFile) -> None:
        if self._dirty_session:
            self.d.reset_session()
        # a big file is not read ahead: _execute_all marks the session as its statements run
        self._dirty_session = not isinstance(pf.statements, FileStatements) and any(
            self.d.may_change_session(s.text) for s in pf.statements)

    # -- one transaction for the statements and the version write ------------------------
    def _sent_at_once(self, pf: PreparedFile, started: float, durable: bool) -> bool:
        """The fast path: the reset, the file and its bookkeeping in one round trip where the
        dialect can. False when it cannot, or when the file failed: then the caller runs it
        statement by statement, which rolls back the same way and says exactly where."""
        if pf.file.is_big or getattr(self.reporter, "times_statements", False):
            return False
        try:
            with self.d.deferred() as deferring:
                if not deferring:
                    return False
                self._reset_session(pf)
                self._transaction_body(pf, started, durable, report=False, timed_by_server=True)
        except StatementError:
            self._rollback()
            return False
        except BaseException:
            self.d.recover()
            self._rollback()
            raise
        for index, statement in enumerate(pf.statements, start=1):
            self.reporter.statement_done(pf, index, statement, 0.0)
        return True

    def _transaction_body(self, pf: PreparedFile, started: float, durable: bool, *, report: bool,
                          timed_by_server: bool = False) -> None:
        """timed_by_server: the body is sent at once, before its time is known."""
        d = self.d
        d.begin(durable=durable)
        d.apply_timeouts(self.timeouts.overridden_by(pf.file.directives), in_transaction=True)
        self._execute_all(pf, progress=False, report=report)
        ms: Any = ELAPSED_MS if timed_by_server else _ms_since(started)
        if pf.direction == "up":
            self.store.insert_row(pf.migration, status=STATUS_APPLIED, operation="up",
                                  execution_ms=ms, up_text=pf.text,
                                  down_text=pf.migration.down.stored_text(),
                                  statements_total=pf.statement_count,
                                  applied_at=NOW_UTC if timed_by_server else None)
        else:
            self.store.delete_row(pf.version)
        self.store.record(pf.direction, "ok", version=pf.version, name=pf.migration.name,
                          execution_ms=ms, new_checksum=pf.file.checksum,
                          detail=self.notes.get(pf.version))
        d.commit()

    def _run_in_transaction(self, pf: PreparedFile, started: float, durable: bool) -> None:
        try:
            self._transaction_body(pf, started, durable, report=True)
        except _Failed as failed:
            self._rollback()
            error = self._failure(pf, failed, committed=0)
            self._record_failure(pf, started, error)
            raise error from None
        except BaseException:
            self.d.recover()
            self._rollback()
            raise

    def _rollback(self) -> None:
        try:
            self.d.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back
            pass

    # -- the dirty bracket: mark, run statement by statement, unmark ----------------------
    def _run_bracketed(self, pf: PreparedFile, started: float, following: PreparedFile | None) -> None:
        total = pf.statement_count  # None: a big file, counted as it runs
        self.d.apply_timeouts(self.timeouts.overridden_by(pf.file.directives), in_transaction=False)
        at_once = self._bracket_at_once(pf)
        if at_once:
            _ = self.store.user  # a read: done before the script starts collecting writes
        deferring = False
        written, self._started_early = self._started_early == pf.version, None
        try:
            with self.d.deferred() if at_once else nullcontext(False) as deferring:
                if not written:
                    self._write_running_row(pf, later=True)
                self._execute_all(pf, progress=True, report=not deferring)
                if deferring:  # the closing writes travel in the same script, after the last statement
                    self._finish_bracket(pf, started, extra={"statements_done": total or 0},
                                         following=following, timed_by_server=True)
        except StatementError as exc:  # from a script sent at once: which statement failed?
            self._rollback()  # the script may have left a transaction open at the failure
            index = exc.statements_before + 1
            if exc.bookkeeping or index > len(pf.statements):
                raise
            self._bracket_failed(pf, started, _Failed(index, pf.statements[index - 1], exc))
        except _Failed as failed:
            self._bracket_failed(pf, started, failed)
        except BaseException as exc:
            if deferring:
                self.d.recover()
                self._current = self._statements_done(pf.version) + 1
                self._current_statement = pf.statements[min(self._current, len(pf.statements)) - 1]
            self._mark_interrupted(pf, exc)
            raise
        if deferring:
            for index, statement in enumerate(pf.statements, start=1):
                self.reporter.statement_done(pf, index, statement, 0.0)
            return
        total = pf.statement_count
        self._finish_bracket(pf, started, extra={"statements_done": total, "statements_total": total},
                             following=following)

    def _bracket_at_once(self, pf: PreparedFile) -> bool:
        """Send the file with its progress rows in one round trip? Only where the dialect can
        (its server stops at the first error), for a small file of statements that leave no
        session state behind (no LOCK TABLES, SET or procedures in the way of the row writes;
        _reset_session has just asked may_change_session of each)."""
        return (self.d.sends_bracketed_file_at_once and not pf.file.is_big
                and not getattr(self.reporter, "times_statements", False)
                and not self._dirty_session)

    def _statements_done(self, version: int) -> int:
        try:
            row = self.store.rows().get(version)
        except Exception:  # noqa: BLE001 - then the row itself tells the next run
            return 0
        return (row.statements_done or 0) if row else 0

    def _bracket_failed(self, pf: PreparedFile, started: float, failed: _Failed) -> None:
        opened = self._own_transaction_from
        # end the file's own transaction (or the one a statement and its progress row share),
        # or the failed mark would be written inside it and vanish with it
        self._rollback()
        error = self._failure(pf, failed, committed=(opened or failed.index) - 1,
                              own_transaction_from=opened)
        self.store.update_row(pf.version, status=STATUS_FAILED,
                              failed_statement=failed.index,
                              failed_line=failed.statement.line,
                              error=error.failure.db_message[:4000])
        self._record_failure(pf, started, error)
        raise error from None

    def _finish_bracket(self, pf: PreparedFile, started: float, extra: dict[str, int], *,
                        following: PreparedFile | None, timed_by_server: bool = False) -> None:
        m = pf.migration
        ms: Any = ELAPSED_MS if timed_by_server else _ms_since(started)
        self.d.end_file()
        self.d.piggyback(self.d.begin_sql)
        try:
            if pf.direction == "up":
                self.store.update_row(m.version, status=STATUS_APPLIED, execution_ms=ms,
                                      applied_at=NOW_UTC if timed_by_server else utc_now(),
                                      later=True, **extra)
            else:
                self.store.delete_row(m.version, later=True)
            self.store.record(pf.direction, "ok", version=m.version, name=m.name,
                              execution_ms=ms, new_checksum=pf.file.checksum,
                              detail=self.notes.get(m.version), later=True)
            ahead = following if self._may_start_early(following) else None
            if ahead is not None:
                self._write_running_row(ahead, later=True)
            self.d.commit()
        except BaseException:
            self._rollback()
            raise
        # committed (or, sent at once, committed when the script succeeds): _run takes it over
        self._writing_ahead = ahead.version if ahead is not None else None

    # -- batch: one data statement repeated, each run in its own transaction (SPEC §10) ------
    def _run_batches(self, pf: PreparedFile, started: float, following: PreparedFile | None) -> None:
        m, statement = pf.migration, next(iter(pf.statements))
        self.d.apply_timeouts(self.timeouts.overridden_by(pf.file.directives), in_transaction=False)
        rows = self.resume.get(m.version)
        if rows is None:
            rows = 0
            self._write_running_row(pf, later=False)
        batches, rows_before, first_batch = 0, rows, time.perf_counter()
        while True:
            self._current = 1
            self.d.begin()
            try:
                affected = self.d.execute(statement.text)
                rows += max(affected, 0)
                batches += 1
                self.store.update_row(m.version, rows_done=rows)
                self.d.commit()
            except StatementError as exc:
                self._rollback()
                error = self._failure(pf, _Failed(1, statement, exc), committed=0)
                self.store.update_row(m.version, status=STATUS_FAILED, failed_statement=1,
                                      failed_line=statement.line, error=exc.message[:4000])
                self._record_failure(pf, started, error)
                raise error from None
            except BaseException:
                self.d.recover()
                self._rollback()
                raise  # the row stays `running` with its row count: the next up resumes
            now = time.perf_counter()
            self.reporter.batch_done(pf, BatchProgress(
                batches, rows, (rows - rows_before) / max(now - first_batch, 1e-6)))
            if affected <= 0:
                break
            if self.batch_pause_s:
                time.sleep(self.batch_pause_s)
        self._finish_bracket(pf, started, extra={"statements_done": 1}, following=following)

    def _mark_interrupted(self, pf: PreparedFile, exc: BaseException) -> None:
        index = self._current
        why = ("interrupted by a signal" if isinstance(exc, KeyboardInterrupt)
               else f"stopped: the rest of the file cannot be split into statements ({exc})"
               if isinstance(exc, LayoutError)
               else f"stopped by an error recording progress ({exc})")
        try:
            self.d.recover()
            if self._own_transaction_from:
                self._rollback()
            statement = self._current_statement
            of = f" of {pf.statement_count}" if pf.statement_count is not None else ""
            self.store.update_row(
                pf.version, status=STATUS_FAILED, failed_statement=index,
                failed_line=statement.line if index and statement else None,
                error=f"{why} while statement {index}{of} ran")
        except Exception:  # noqa: BLE001 - then the row stays `running`: reported as interrupted
            pass

    def _execute_all(self, pf: PreparedFile, *, progress: bool, report: bool = True) -> None:
        streamed = isinstance(pf.statements, FileStatements)
        for index, statement in enumerate(pf.statements, start=1):
            self._current, self._current_statement = index, statement
            if streamed and not self._dirty_session:
                self._dirty_session = self.d.may_change_session(statement.text)
            if progress:  # no-transaction: does the file open (or end) a transaction of its own?
                self._own_transaction_from = _transaction_control(statement, index,
                                                                  self._own_transaction_from)
            # A big file on mysql: each statement travels with its own progress row (a data
            # change commits together with it) while the session is still a plain one.
            together = (progress and streamed and self.d.sends_bracketed_file_at_once
                        and not self._dirty_session)
            t0 = time.perf_counter()
            try:
                with self.d.deferred() if together else nullcontext():
                    self.d.execute(statement.text)
                    if progress and index != pf.statement_count:  # the last: the closing write
                        self.store.update_row(pf.version, statements_done=index, later=True)
            except StatementError as exc:
                if exc.bookkeeping:
                    raise
                raise _Failed(index, statement, exc) from None
            if report:
                self.reporter.statement_done(pf, index, statement,
                                             (time.perf_counter() - t0) * 1000)

    def _failure(self, pf: PreparedFile, failed: _Failed, committed: int, *,
                 own_transaction_from: int = 0) -> MigrationFailedError:
        s, exc = failed.statement, failed.error
        try:
            total = len(pf.statements)  # a big file: counted here, only when it failed
        except LayoutError:
            total = failed.index  # the rest cannot be split; at least this many

        line, column = position_in_file(s, exc.position)
        if pf.transactional:
            what = ("nothing of this version was committed: the whole file was rolled back"
                    + (f"; versions applied earlier in this run stay applied: "
                       f"{', '.join(map(str, sorted(set(self.completed))))}"
                       if self.completed else ""))
        else:
            what = (f"{committed_phrase(committed, total)} committed and stay (no rollback "
                    "is possible here)" if committed else
                    f"{committed_phrase(0, total)} committed")
            if own_transaction_from:
                what += (f"; the transaction the file opened itself (statement "
                         f"{own_transaction_from}) was rolled back"
                         + ("" if self.d.transactional_ddl else
                            f", but {self.d.name} had already committed any DDL inside it"))
            if note := self.d.after_failure(s.text):
                what += f"; {note}"
            what += (f"; version {pf.version} is recorded as failed and blocks later runs until "
                     f"you fix the database by hand and run `migrator repair {pf.version}`")
        failure = StatementFailure(
            version=pf.version, name=pf.migration.name, path=pf.file.rel,
            direction=pf.direction, statement_index=failed.index, statement_count=total,
            line=line, column=column, excerpt=excerpt(s, exc.position),
            db_message=exc.message, db_code=exc.code, committed=what,
            statements_committed=committed,
        )
        return MigrationFailedError(failure)

    def _record_failure(self, pf: PreparedFile, started: float, error: MigrationFailedError) -> None:
        try:
            self.store.record(pf.direction, "failed", version=pf.version,
                              name=pf.migration.name, execution_ms=_ms_since(started),
                              new_checksum=pf.file.checksum, detail=str(error)[:4000])
        except Exception:  # noqa: BLE001 - the failure itself is what the user must see
            pass


class _Failed(Exception):
    def __init__(self, index: int, statement: Statement, error: StatementError) -> None:
        self.index, self.statement, self.error = index, statement, error


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def position_in_file(s: Statement, position: int | None) -> tuple[int, int]:
    """The file line:column of a 0-based offset inside a statement (its start when unknown)."""
    if position is None or position <= 0:
        return s.line, s.column
    position = min(position, len(s.text))
    before = s.text[:position]
    newlines = before.count("\n")
    if newlines == 0:
        return s.line, s.column + position
    return s.line + newlines, position - before.rfind("\n")


def excerpt(s: Statement, position: int | None, context: int = 2, width: int = 110) -> str:
    """A few numbered lines of the statement with a caret under the error position."""
    line, column = position_in_file(s, position)
    lines = s.text.split("\n")
    first_col = s.column
    index = line - s.line
    shown = range(max(0, index - context), min(len(lines), index + 1 if position else 4))
    out = []
    for i in shown:
        text = lines[i].rstrip("\r")
        prefix = " " * (first_col - 1) if i == 0 else ""
        out.append(f"{s.line + i:>5} | {(prefix + text)[:width]}")
        if i == index:
            out.append(f"{'':>5} | {' ' * min(column - 1, width)}^")
    return "\n".join(out)
