"""The dialect contract: every dialect passes the same tests (golang-migrate's database/testing).

A dialect connects, locks, and runs scripts; these tests hold all three to the same answers:
the lock, the failing step of a script whichever way it travels, what a rollback undoes,
timeouts that fire once, and bookkeeping values stored exactly under any session setting.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from migrator.dialects import Dialect, ScriptState, StepFailed, open_dialect
from migrator.lexer import Statement
from migrator.locking import acquire_lock
from migrator.model import Timeouts
from migrator.script import Begin, Commit, Run, SetTimeouts, Write
from tests.conftest import Db

# A statement that runs for a long time, per dialect (sqlite: counts forever).
_SLOW = {
    "postgres": "SELECT pg_sleep(5)",
    "mysql": "SELECT SLEEP(5)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c WHERE x < 0",
}
# Session settings under which client-side escaping would write something else.
_HOSTILE_SESSION = {
    "postgres": ["SET standard_conforming_strings = off"],
    "mysql": ["SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'"],
    "sqlite": [],
}
_NASTY = (
    "it's O'Brien's \\ back\\slash; 100% ?done? %s {0} \"quoted\" -- ' ; DROP TABLE x; ünïcødé ✓ 𝄞",
    "\\'",
    "%%",
    "?",
    "",
    "'",
    "\\",
)


def _statement(text: str) -> Statement:
    return Statement(text, 1, 1, 0)


def _run(n: int, text: str) -> Run:
    return Run(n, _statement(text))


@pytest.fixture
def dialect(db: Db) -> Iterator[Dialect]:
    d = open_dialect(db.parsed)
    d.connect()
    yield d
    d.close()


def _second(db: Db) -> Dialect:
    d = open_dialect(db.parsed)
    d.connect()
    return d


def test_a_second_lock_attempt_fails_and_names_the_holder(db: Db, dialect: Dialect) -> None:
    assert dialect.try_lock("schema_version")
    other = _second(db)
    try:
        assert not other.try_lock("schema_version")
        holder = other.lock_holder()
        assert ("pid" in holder) if db.dialect != "mysql" else ("connection id" in holder), holder
        from migrator.errors import LockTimeoutError

        with pytest.raises(LockTimeoutError, match="held by"):
            acquire_lock(other, "schema_version", 0.2)
    finally:
        other.close()


def test_unlock_is_idempotent_and_frees_the_lock(db: Db, dialect: Dialect) -> None:
    assert dialect.try_lock("schema_version")
    dialect.release_lock()
    dialect.release_lock()
    other = _second(db)
    try:
        assert other.try_lock("schema_version")
    finally:
        other.close()


@pytest.mark.parametrize("one_by_one", [True, False], ids=["one-by-one", "batched"])
def test_a_failing_step_is_reported_as_itself_and_runs_once(
    db: Db, dialect: Dialect, one_by_one: bool
) -> None:
    dialect.execute("CREATE TABLE ran (n INT)")
    dialect.execute("CREATE TABLE once (n INT)")
    script = [
        Begin(),
        _run(1, "INSERT INTO ran (n) VALUES (1)"),
        _run(2, "INSERT INTO no_such_table (n) VALUES (2)"),
        _run(3, "INSERT INTO ran (n) VALUES (3)"),
        Commit(),
    ]
    state = ScriptState()
    with pytest.raises(StepFailed) as failed:
        dialect.run_script(script, state, one_by_one=one_by_one)
    assert failed.value.step is script[2]
    assert state.statements_done == 1 and state.in_transaction
    dialect.rollback()
    assert dialect.query("SELECT COUNT(*) FROM ran") == [(0,)]
    # outside a transaction: the statement before the failure ran exactly once, none after it
    state = ScriptState()
    with pytest.raises(StepFailed) as failed:
        dialect.run_script(
            [
                _run(1, "INSERT INTO once (n) VALUES (1)"),
                _run(2, "INSERT INTO no_such_table (n) VALUES (2)"),
                _run(3, "INSERT INTO once (n) VALUES (3)"),
            ],
            state,
            one_by_one=one_by_one,
        )
    assert isinstance(failed.value.step, Run) and failed.value.step.number == 2
    assert dialect.query("SELECT n FROM once") == [(1,)]


def test_ddl_rolls_back_exactly_where_the_dialect_says_it_does(dialect: Dialect) -> None:
    script = [Begin(), _run(1, "CREATE TABLE made_in_tx (n INT)"), _run(2, "SELECT * FROM nope"), Commit()]
    with pytest.raises(StepFailed):
        dialect.run_script(script, ScriptState())
    dialect.rollback()
    assert dialect.table_exists("made_in_tx") is (not dialect.transactional_ddl)


@pytest.mark.parametrize("one_by_one", [True, False], ids=["one-by-one", "batched"])
def test_a_statement_timeout_fires_once(db: Db, dialect: Dialect, one_by_one: bool) -> None:
    limits = Timeouts(statement_ms=400)
    script = [Begin(), SetTimeouts(limits, local=True), _run(1, _SLOW[db.dialect]), Commit()]
    started = time.monotonic()
    with pytest.raises(StepFailed) as failed:
        dialect.run_script(script, ScriptState(), one_by_one=one_by_one)
    took = time.monotonic() - started
    dialect.rollback()
    assert failed.value.error.timeout == "statement-timeout", failed.value.error
    assert isinstance(failed.value.step, Run)
    assert took < 2 * 0.4 + 0.6, took  # once: a second attempt would take another 0.4 s


@pytest.mark.parametrize("value", _NASTY)
def test_bookkeeping_values_are_stored_exactly_under_any_session_setting(
    db: Db, dialect: Dialect, value: str
) -> None:
    dialect.execute(f"CREATE TABLE kept (id INT, t {dialect.text_type})")
    p = dialect.placeholder
    script: list[Any] = [_run(i, sql) for i, sql in enumerate(_HOSTILE_SESSION[db.dialect], 1)]
    script += [Begin(), Write(f"INSERT INTO kept (id, t) VALUES ({p}, {p})", (1, value)), Commit()]
    for one_by_one in (True, False):
        dialect.run_script(script, ScriptState(), one_by_one=one_by_one)
    dialect.reset_session()
    assert dialect.query("SELECT t FROM kept") == [(value,), (value,)]


def test_the_script_state_says_what_completed_when_it_is_interrupted(dialect: Dialect) -> None:
    dialect.execute("CREATE TABLE seen (n INT)")

    def stop(step: Run, ms: float) -> None:
        if step.number == 2:
            raise KeyboardInterrupt

    state = ScriptState()
    with pytest.raises(KeyboardInterrupt):
        dialect.run_script(
            [
                _run(1, "INSERT INTO seen (n) VALUES (1)"),
                _run(2, "INSERT INTO seen (n) VALUES (2)"),
                _run(3, "INSERT INTO seen (n) VALUES (3)"),
            ],
            state,
            on_statement=stop,
            one_by_one=True,
        )
    assert state.statements_done == 2
    assert dialect.query("SELECT n FROM seen ORDER BY n") == [(1,), (2,)]
