"""What the runner decides about a file, read from its compiled script: no database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.dialects import open_dialect
from migrator.discovery import Layout
from migrator.history import VersionStore
from migrator.model import Timeouts
from migrator.runner import PreparedFile, Runner, prepare
from migrator.script import (
    ELAPSED_MS,
    STATEMENTS_RUN,
    Begin,
    Bookkeeping,
    Commit,
    Origin,
    ResetSession,
    Run,
    SetTimeouts,
    Write,
    compile_file,
    standalone_script,
)
from migrator.sidefiles import PreparedSide, prepare_side
from migrator.urls import parse_url
from tests.conftest import write_migration

URLS = {"sqlite": "sqlite:///x.db", "postgres": "postgres://u@h/db", "mysql": "mysql://u@h/db"}


class _Store(VersionStore):
    """A version store that never asks a database who the user is."""

    @property
    def user(self) -> str:
        return "tester"


def _prepared(sqldir: Path, dialect: str, up: str, direction: str = "up") -> tuple[PreparedFile, Runner]:
    write_migration(sqldir, "0001_x", up, "-- migrator: no-transaction\nDROP TABLE t;\n")
    d = open_dialect(parse_url(URLS[dialect]))
    m = Layout(sqldir).migrations(dialect)[0]
    store = _Store.__new__(_Store)
    store.d, store.table_name, store.table = d, "schema_version", "schema_version"
    store.history_name, store.history = "schema_version_history", "schema_version_history"
    store.repeatable_name, store.repeatable = "schema_version_repeatable", "schema_version_repeatable"
    store._has_repeatables = False  # (no database to ask whether the table exists)
    runner = Runner(d, store, reporter=None, timeouts=Timeouts())  # type: ignore[arg-type]
    return prepare(m, direction, d), runner


def _shape(steps: Any) -> list[str]:
    """The script as words: Run 1, Write INSERT, Begin ..."""
    out = []
    for s in steps:
        if isinstance(s, Run):
            out.append(f"Run {s.number}")
        elif isinstance(s, Write):
            out.append(f"Write {s.sql.split()[0]}" + (" status" if "status" in s.sql else ""))
        else:
            out.append(type(s).__name__)
    return out


def _compile(pf: PreparedFile, runner: Runner, *, reset: bool = False, durable: bool = True) -> list[Any]:
    return list(compile_file(pf, runner._bookkeeping(pf), Timeouts(), reset=reset, durable=durable))


def test_a_transactional_file_commits_with_its_version_row_and_history(sqldir: Path) -> None:
    pf, runner = _prepared(sqldir, "postgres", "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\n")
    steps = _compile(pf, runner, durable=False)
    assert _shape(steps) == [
        "Begin",
        "SetTimeouts",
        "Run 1",
        "Run 2",
        "Write INSERT status",
        "Write INSERT",
        "Commit",
    ]
    assert steps[0] == Begin(durable=False) and steps[1] == SetTimeouts(Timeouts(), local=True)


def test_bookkeeping_values_are_parameters_never_sql_text(sqldir: Path) -> None:
    text = "-- it's O'Brien's \\ table; 100% sure?\nCREATE TABLE t (a INT);\n"
    pf, runner = _prepared(sqldir, "mysql", text)
    writes = [s for s in _compile(pf, runner) if isinstance(s, Write)]
    assert writes
    for w in writes:
        assert "O'Brien" not in w.sql and "0001_x" not in w.sql
        assert w.sql.count("%s") == len(w.params)
    assert any(text in w.params for w in writes)  # the stored text travels as a value
    applied = next(w for w in writes if w.sql.startswith("UPDATE") and "status" in w.sql)
    assert ELAPSED_MS in applied.params and STATEMENTS_RUN in applied.params


def test_a_mysql_ddl_file_is_bracketed_with_a_progress_row_after_each_statement(sqldir: Path) -> None:
    pf, runner = _prepared(
        sqldir, "mysql", "CREATE TABLE t (a INT);\nCREATE INDEX i ON t (a);\nALTER TABLE t ADD b INT;\n"
    )
    assert not pf.transactional
    assert _shape(_compile(pf, runner)) == [
        "SetTimeouts",
        "Write INSERT status",
        "Run 1",
        "Write UPDATE",
        "Run 2",
        "Write UPDATE",
        "Run 3",
        "Begin",
        "Write UPDATE status",
        "Write INSERT",
        "Commit",
    ]


def test_a_mysql_file_of_data_statements_alone_is_atomic(sqldir: Path) -> None:
    pf, runner = _prepared(
        sqldir, "mysql", "INSERT INTO t VALUES (1);\nUPDATE t SET a = 2;\nDELETE FROM t WHERE a = 3;\n"
    )
    assert pf.transactional
    assert _shape(_compile(pf, runner)) == [
        "Begin",
        "SetTimeouts",
        "Run 1",
        "Run 2",
        "Run 3",
        "Write INSERT status",
        "Write INSERT",
        "Commit",
    ]


def test_a_mysql_data_file_that_sets_a_variable_is_not_atomic(sqldir: Path) -> None:
    pf, _ = _prepared(sqldir, "mysql", "SELECT @n := 1;\nINSERT INTO t VALUES (@n);\n")
    assert not pf.transactional


def test_a_data_statement_outside_a_transaction_commits_with_its_progress_row(sqldir: Path) -> None:
    pf, runner = _prepared(
        sqldir,
        "postgres",
        "-- migrator: no-transaction\nINSERT INTO t VALUES (1);\nVACUUM t;\nINSERT INTO t VALUES (2);\n",
    )
    assert _shape(_compile(pf, runner)) == [
        "SetTimeouts",
        "Write INSERT status",
        "Begin",
        "Run 1",
        "Write UPDATE",
        "Commit",
        "Run 2",
        "Write UPDATE",
        "Begin",
        "Run 3",
        "Write UPDATE status",
        "Write INSERT",
        "Commit",
    ]


def test_inside_the_files_own_transaction_nothing_is_wrapped(sqldir: Path) -> None:
    pf, runner = _prepared(
        sqldir, "postgres", "-- migrator: no-transaction\nBEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\n"
    )
    assert _shape(_compile(pf, runner)) == [
        "SetTimeouts",
        "Write INSERT status",
        "Run 1",
        "Write UPDATE",
        "Run 2",
        "Write UPDATE",
        "Run 3",
        "Begin",
        "Write UPDATE status",
        "Write INSERT",
        "Commit",
    ]


def test_a_session_reset_is_the_first_step_after_a_file_that_changed_the_session(sqldir: Path) -> None:
    pf, runner = _prepared(sqldir, "postgres", "SET search_path = other;\nCREATE TABLE t (a INT);\n")
    assert runner._leaves_session_state(pf)
    steps = _compile(pf, runner, reset=True)
    assert isinstance(steps[0], ResetSession) and isinstance(steps[1], Begin)


def test_a_down_file_outside_a_transaction_marks_its_row_running_then_deletes_it(sqldir: Path) -> None:
    pf, runner = _prepared(sqldir, "sqlite", "CREATE TABLE t (a INT);\n", direction="down")
    steps = _compile(pf, runner)
    assert _shape(steps) == [
        "SetTimeouts",
        "Write UPDATE status",
        "Run 1",
        "Begin",
        "Write DELETE",
        "Write INSERT",
        "Commit",
    ]
    assert isinstance(steps[-1], Commit)


def test_a_down_file_marks_the_repeatables_rolled_back_with_its_version_row(sqldir: Path) -> None:
    pf, runner = _prepared(sqldir, "postgres", "CREATE TABLE t (a INT);\n", direction="down")
    runner.store._has_repeatables = True
    steps = _compile(pf, runner)
    assert _shape(steps)[-4:] == ["Write DELETE", "Write UPDATE", "Write INSERT", "Commit"]
    update = [
        s for s in steps if isinstance(s, Write) and s.sql.startswith("UPDATE schema_version_repeatable")
    ]
    assert [u.params for u in update] == [("0" * 64,)]  # bound, never inlined


# -- repeatable and callback files (SPEC §12): the same scripts --------------------------------
def _side(sqldir: Path, dialect: str, kind: str, name: str, text: str, **kw: Any) -> PreparedSide:
    folder = sqldir / ("repeatable" if kind == "repeatable" else "callbacks")
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.sql").write_text(text, encoding="utf-8")
    layout = Layout(sqldir)
    found = (
        {r.name: r.file for r in layout.repeatables(dialect)}
        if kind == "repeatable"
        else layout.callbacks(dialect)
    )
    return prepare_side(kind, name, found[name], open_dialect(parse_url(URLS[dialect])), **kw)


def test_each_callbacks_compile_into_the_files_transaction(sqldir: Path) -> None:
    pf, runner = _prepared(sqldir, "postgres", "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\n")
    before = _side(sqldir, "postgres", "callback", "before_each", "SET LOCAL ROLE owner;\n")
    after = _side(sqldir, "postgres", "callback", "after_each", "GRANT SELECT ON t TO app;\nSELECT 1;\n")
    steps = list(
        compile_file(
            pf, runner._bookkeeping(pf), Timeouts(), reset=False, durable=True, before=before, after=after
        )
    )
    assert _shape(steps) == [
        "Begin",
        "SetTimeouts",
        "Run 0",
        "Run 1",
        "Run 2",
        "Run 2",
        "Run 2",
        "Write INSERT status",
        "Write INSERT",
        "Commit",
    ]
    runs = [s for s in steps if isinstance(s, Run)]
    assert [r.origin for r in runs] == [
        Origin("callbacks/before_each.sql", 1, 1),
        None,
        None,
        Origin("callbacks/after_each.sql", 1, 2),
        Origin("callbacks/after_each.sql", 2, 2),
    ]


def test_a_repeatable_commits_its_row_and_event_with_its_statements(sqldir: Path) -> None:
    ps = _side(
        sqldir, "sqlite", "repeatable", "views", "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 1;\n"
    )
    _, runner = _prepared(sqldir, "sqlite", "SELECT 1;\n")
    r = Layout(sqldir).repeatables("sqlite")[0]
    book = Bookkeeping(None, None, runner.store.repeatable_applied(r, "old"))
    steps = list(compile_file(ps, book, Timeouts(), reset=False, durable=True))
    assert ps.transactional
    assert _shape(steps) == [
        "Begin",
        "SetTimeouts",
        "Run 1",
        "Run 2",
        "Write DELETE",
        "Write INSERT",
        "Write INSERT",
        "Commit",
    ]
    writes = [s for s in steps if isinstance(s, Write)]
    assert all("views" not in w.sql and r.file.checksum not in w.sql for w in writes)
    assert ("views",) == writes[0].params and r.file.checksum in writes[1].params
    assert "old" in writes[2].params  # the history keeps the checksum it replaced


def test_a_mysql_ddl_repeatable_runs_statement_by_statement_without_progress_rows(sqldir: Path) -> None:
    ps = _side(
        sqldir,
        "mysql",
        "repeatable",
        "views",
        "CREATE OR REPLACE VIEW v AS SELECT 1;\nCREATE OR REPLACE VIEW w AS SELECT 2;\n",
    )
    _, runner = _prepared(sqldir, "mysql", "SELECT 1;\n")
    r = Layout(sqldir).repeatables("mysql")[0]
    steps = list(
        compile_file(
            ps,
            Bookkeeping(None, None, runner.store.repeatable_applied(r, None)),
            Timeouts(),
            reset=False,
            durable=True,
        )
    )
    assert not ps.transactional
    assert _shape(steps) == [
        "SetTimeouts",
        "Run 1",
        "Run 2",
        "Begin",
        "Write DELETE",
        "Write INSERT",
        "Write INSERT",
        "Commit",
    ]


def test_after_error_runs_outside_any_transaction_in_a_clean_session(sqldir: Path) -> None:
    ps = _side(
        sqldir, "postgres", "callback", "after_error", "INSERT INTO alerts VALUES (1);\n", transaction=False
    )
    assert not ps.transactional
    steps = list(standalone_script(ps.statements, Timeouts(), transactional=ps.transactional))
    assert _shape(steps) == ["ResetSession", "SetTimeouts", "Begin", "Run 1", "Commit"]
