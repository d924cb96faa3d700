"""A file that cannot be split into statements (an unclosed quote at the end of a big data
file) is a layout error that `validate`, `validate --offline` and `up` find before anything
runs: exit 2, naming file:line:column, nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.discovery import Layout
from migrator.errors import LayoutError
from migrator.lexcheck import _may_fail, check_every_file, check_layout, split_problem
from migrator.lexer import LexError, split_statements
from migrator.model import BIG_FILE_BYTES
from migrator.sumfile import compare
from tests.conftest import Db, write_migration

ROWS = 500


def inserts(statements: int) -> str:
    """Multi-row INSERTs of about 50 kB each, for all three dialects, with no word that makes
    discovery mark the file for statement_rules.check_files."""
    out = []
    for k in range(statements):
        rows = ",\n".join(
            f"({k * ROWS + i}, 'row {k}-{i} lima O''Brien foxtrot xray zulu victor tango bravo sierra')"
            for i in range(ROWS)
        )
        out.append(f"INSERT INTO big (id, note) VALUES\n{rows};\n")
    return "".join(out)


UNCLOSED = "INSERT INTO big (id, note) VALUES (-1, 'the quote is never closed);\n"


def broken_big_migration(root: Path) -> tuple[str, int, int]:
    """Version 1 creates the table, version 2 loads it from a big file whose last statement
    opens a quote it never closes. The file, line and column of that quote."""
    write_migration(
        root,
        "0001_create",
        "CREATE TABLE big (id INTEGER NOT NULL PRIMARY KEY, note VARCHAR(120) NOT NULL);\n",
        "DROP TABLE big;\n",
    )
    text = inserts(30) + UNCLOSED
    folder = write_migration(root, "0002_load", text, "DELETE FROM big;\n")
    assert (folder / "up.sql").stat().st_size > BIG_FILE_BYTES
    line = text.count("\n")  # the last line
    return "0002_load/up.sql", line, UNCLOSED.index("'") + 1


def test_the_big_file_is_streamed_and_left_out_by_the_rule_check(tmp_path: Path) -> None:
    broken_big_migration(tmp_path)
    up = Layout(tmp_path).migrations("sqlite")[1].up
    assert up.is_big and not up.needs_statement_check  # why validate passed it before


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_check_every_file_names_the_unclosed_quote(tmp_path: Path, dialect: str) -> None:
    from migrator.dialects import open_dialect
    from migrator.urls import parse_url

    rel, line, column = broken_big_migration(tmp_path)
    url = {"sqlite": "sqlite:///x.db", "postgres": "postgres://u@h/d", "mysql": "mysql://u@h/d"}
    files = [f for m in Layout(tmp_path).migrations(dialect) for f in (m.up, m.down)]
    with pytest.raises(LayoutError) as caught:
        check_every_file(files, open_dialect(parse_url(url[dialect])))  # (never connects)
    assert caught.value.problems == [f"{rel}:{line}:{column}: unterminated string"]


def test_validate_finds_an_unclosed_quote_at_the_end_of_a_big_file(db: Db, tmp_path: Path, cli: Any) -> None:
    root = tmp_path / "sql"
    rel, line, column = broken_big_migration(root)
    r = cli("--url", db.url, "--dir", str(root), "validate")
    assert r.code == 2, (r.out, r.err)
    assert f"{rel}:{line}:{column}: unterminated string" in r.err
    assert db.tables() == set()


def test_validate_finds_an_unclosed_quote_in_a_small_file(db: Db, tmp_path: Path, cli: Any) -> None:
    root = tmp_path / "sql"
    write_migration(
        root, "0001_create", "CREATE TABLE t (id INTEGER, note VARCHAR(20));\n", "DROP TABLE t;\n"
    )
    write_migration(
        root,
        "0002_load",
        "INSERT INTO t VALUES (1, 'one');\nINSERT INTO t VALUES (2, 'two);\n",
        "DELETE FROM t;\n",
    )
    r = cli("--url", db.url, "--dir", str(root), "validate")
    assert r.code == 2, (r.out, r.err)
    assert "0002_load/up.sql:2:26: unterminated string" in r.err


def test_up_refuses_a_big_file_it_could_not_roll_back_before_anything_runs(
    db: Db, tmp_path: Path, cli: Any
) -> None:
    """Where the file would run statement by statement (mysql; no-transaction anywhere) an
    unsplittable end would leave it half-applied: it is lexed whole before the run starts.
    A transactional big file is not read twice: its failure rolls it back whole."""
    root = tmp_path / "sql"
    rel, line, column = broken_big_migration(root)
    r = cli("--url", db.url, "--dir", str(root), "up")
    assert f"{rel}:{line}:{column}: unterminated string" in r.err
    if db.dialect == "mysql":
        assert r.code == 2, (r.out, r.err)
        assert db.tables() == set()  # not even version 1, nor the version table
    else:
        assert r.code == 1, (r.out, r.err)
        assert "nothing of this version was committed: the whole file was rolled back" in r.err


def test_validate_offline_finds_it_with_no_database(tmp_path: Path, cli: Any) -> None:
    root = tmp_path / "sql"
    rel, line, column = broken_big_migration(root)
    assert cli("--dir", str(root), "hash").code == 0
    r = cli("--dir", str(root), "validate", "--offline")
    assert r.code == 2, (r.out, r.err)
    assert f"{rel}:{line}:{column}: unterminated string" in r.err
    r = cli("--dir", str(root), "--json", "validate", "--offline")
    assert r.code == 2 and '"ok": false' in r.out


MYSQL_ONLY = "CREATE TABLE t (note TEXT);\nINSERT INTO t (note) VALUES ('it\\'s mysql');\n"


def test_validate_offline_reports_only_what_no_dialect_can_split(tmp_path: Path, cli: Any) -> None:
    """With no database, a generic file fails only when no dialect can split it: a project
    written for mysql writes 'it\\'s' in generic files, which the sqlite and postgres lexers
    read as a string that ends at \\' and another one that never ends."""
    root = tmp_path / "sql"
    write_migration(root, "0001_mysql", MYSQL_ONLY, "DROP TABLE t;\n")
    assert cli("--dir", str(root), "hash").code == 0
    r = cli("--dir", str(root), "validate", "--offline")
    assert r.code == 0, (r.out, r.err)
    assert compare(Layout(root), "mysql") == []
    with pytest.raises(LayoutError) as caught:
        compare(Layout(root), "sqlite")
    assert caught.value.problems == ["0001_mysql/up.sql:2:42: unterminated string"]


def test_check_layout_names_every_dialect_when_their_positions_differ(tmp_path: Path) -> None:
    # mysql reads \' as an escaped quote, and "x as a string; sqlite and postgres end the
    # string at \', and read "x as a quoted identifier
    write_migration(tmp_path, "0001_x", "SELECT 'a\\';\nSELECT \"x;\n", "SELECT 1;\n")
    with pytest.raises(LayoutError) as caught:
        check_layout(Layout(tmp_path), None)
    assert caught.value.problems == [
        "0001_x/up.sql:2:8: unterminated quoted identifier (sqlite, postgres)",
        "0001_x/up.sql:1:8: unterminated string (mysql)",
    ]
    with pytest.raises(LayoutError) as caught:
        check_layout(Layout(tmp_path), "mysql")
    assert caught.value.problems == ["0001_x/up.sql:1:8: unterminated string"]


def test_a_file_with_a_dialect_override_is_lexed_for_the_dialects_it_serves(tmp_path: Path) -> None:
    write_migration(tmp_path, "0001_x", "SELECT 'fine';\n", "SELECT 1;\n")
    write_migration(tmp_path / "mysql", "0001_x", "SELECT 'not fine;\n", "SELECT 1;\n")
    check_layout(Layout(tmp_path), "postgres")
    with pytest.raises(LayoutError) as caught:
        check_layout(Layout(tmp_path), None)
    assert caught.value.problems == ["mysql/0001_x/up.sql:1:8: unterminated string"]


def test_split_problem_of_a_small_and_a_big_file_agree(tmp_path: Path) -> None:
    rel, line, column = broken_big_migration(tmp_path)
    big = Layout(tmp_path).migrations("postgres")[1].up
    small_root = tmp_path / "small"
    write_migration(small_root, "0002_load", "SELECT 1;\n" * (line - 1) + UNCLOSED)
    small = Layout(small_root).migrations("postgres")[0].up
    assert not small.is_big
    assert split_problem(big, "postgres") == f"{rel}:{line}:{column}: unterminated string"
    assert split_problem(small, "postgres") == f"{rel}:{line}:{column}: unterminated string"


_PIECES = [
    "SELECT 1",
    ";",
    " ",
    "\n",
    "'",
    '"',
    "`",
    "[",
    "]",
    "$",
    "$$",
    "$a$",
    "#",
    "--",
    "-",
    "/*",
    "*/",
    "*",
    "/",
    "(",
    ")",
    "\\",
    "begin",
    "BEGIN",
    "case",
    "End",
    "delimiter",
    "DELIMITER //\n",
    "//",
    "CREATE TRIGGER x",
    "CREATE FUNCTION f",
    "CREATE PROCEDURE p",
    "create temp trigger",
    "E",
    "x",
    "é",
    "\ufeff",
    "\r",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_a_text_the_filter_passes_never_fails_to_split(pieces: list[str]) -> None:
    text = "".join(pieces)
    if _may_fail(text):
        return
    for dialect in ("sqlite", "postgres", "mysql"):
        try:
            split_statements(text, dialect)
        except LexError as exc:  # pragma: no cover - the filter must never let one through
            pytest.fail(f"{dialect}: {exc} in {text!r}")
