"""Big data files (above 1 MB) are streamed: checked, checksummed and run without ever being
held whole, so memory does not grow with the file; every rule still holds for them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.checksum import checksum_text, text_sha
from migrator.discovery import Layout
from migrator.model import BIG_FILE_BYTES
from tests.conftest import Db, run_measured, write_migration

ROWS_PER_INSERT = 500


def _inserts(table: str, statements: int, *, bad_at: int | None = None) -> str:
    """`statements` multi-row INSERTs of about 50 kB each, portable to all three dialects."""
    out = []
    for k in range(statements):
        target = "no_such_table" if k + 1 == bad_at else table
        rows = ",\n".join(
            f"({k * ROWS_PER_INSERT + i}, 'row {k}-{i} lima O''Brien foxtrot "
            f"xray zulu victor tango bravo sierra')"
            for i in range(ROWS_PER_INSERT)
        )
        out.append(f"INSERT INTO {target} (id, note) VALUES\n{rows};\n")
    return "".join(out)


def _big_migration(root: Path, table: str, statements: int, **kw: int | None) -> Path:
    create = f"CREATE TABLE {table} (id INTEGER NOT NULL PRIMARY KEY, note VARCHAR(120) NOT NULL);\n"
    write_migration(root, "0001_create", create, f"DROP TABLE {table};\n")
    folder = write_migration(root, "0002_load", _inserts(table, statements, **kw), f"DELETE FROM {table};\n")
    assert (folder / "up.sql").stat().st_size > BIG_FILE_BYTES
    return folder


def test_memory_does_not_grow_with_the_file(db: Db, tmp_path: Path) -> None:
    peaks = {}
    for name, statements in (("small", 50), ("large", 300)):  # about 2.7 MB and 16 MB
        root = tmp_path / name
        _big_migration(root, f"big_{name}", statements)
        code, _, err, peaks[name] = run_measured(
            "--url", db.url, "--dir", str(root), "--table", f"sv_{name}", "up", cwd=tmp_path
        )
        assert code == 0, err
        assert db.query(f"SELECT COUNT(*) FROM big_{name}") == [(statements * ROWS_PER_INSERT,)]
        row = db.query(f"SELECT status, statements_total, up_sql FROM sv_{name} WHERE version = 2")
        assert row == [("applied", statements, None)]  # counted while it ran; text not stored
    # Holding the 13 MB of extra text whole would cost at least 26 MB more (bytes and str).
    assert peaks["large"] - peaks["small"] < 10_000, peaks


def test_a_failure_deep_in_a_big_file_names_the_statement_and_its_line(db: Db, tmp_path: Path, cli) -> None:  # noqa: ANN001
    root = tmp_path / "sql"
    _big_migration(root, "big", 60, bad_at=41)
    r = cli("--url", db.url, "--dir", str(root), "up")
    assert r.code == 1, r.err
    line = 1 + 40 * (ROWS_PER_INSERT + 1)  # each INSERT is a header line and one line per row
    assert "statement: 41 of 60" in r.err
    assert f"0002_load/up.sql:{line}:" in r.err
    if db.dialect == "mysql":  # no rollback there: the first 40 INSERTs stay, the row says so
        assert db.query("SELECT COUNT(*) FROM big") == [(40 * ROWS_PER_INSERT,)]
        assert db.query(
            "SELECT status, failed_statement, failed_line FROM schema_version WHERE version = 2"
        ) == [("failed", 41, line)]
    else:  # the whole file rolled back
        assert db.query("SELECT COUNT(*) FROM big") == [(0,)]
        assert db.versions() == [(1, "applied")]


def test_transaction_control_deep_in_a_big_file_is_a_layout_error(db: Db, tmp_path: Path, cli) -> None:  # noqa: ANN001
    root = tmp_path / "sql"
    folder = _big_migration(root, "big", 40)
    text = (folder / "up.sql").read_text()
    cut = text.index("INSERT", len(text) // 2)
    (folder / "up.sql").write_text(text[:cut] + "-- load the rest on its own\nCOMMIT;\n" + text[cut:])
    r = cli("--url", db.url, "--dir", str(root), "up")
    if db.dialect == "mysql":  # every mysql file runs statement by statement: COMMIT is allowed
        assert r.code == 0, r.err
        return
    assert r.code == 2, r.err
    line = text[:cut].count("\n") + 2
    assert f"0002_load/up.sql:{line}:1: the file manages its own transaction (COMMIT)" in r.err
    assert db.tables() == set()  # nothing ran, not even version 1


def test_big_file_checksums_equal_the_whole_text_ones(tmp_path: Path) -> None:
    folder = _big_migration(tmp_path, "big", 40)
    path = folder / "up.sql"
    # CRLF line ends, trailing blanks, a BOM and final blank lines: everything normalising touches
    text = "\ufeff" + path.read_text().replace(";\n", "; \t\r\n") + "\n  \n\n"
    path.write_bytes(text.encode("utf-8"))
    up = Layout(tmp_path).migrations("sqlite")[1].up
    assert up.is_big
    assert (up.checksum, up.text_sha) == (checksum_text(text[1:]), text_sha(text[1:]))


def test_directive_and_utf8_problems_deep_in_a_big_file_are_found(tmp_path: Path) -> None:
    folder = _big_migration(tmp_path, "big", 40)
    raw = (folder / "up.sql").read_bytes()
    cut = raw.index(b"INSERT", len(raw) // 2)
    late = b"-- Migrator: no-transaction\n"
    (folder / "up.sql").write_bytes(raw[:cut] + late + raw[cut:])
    problems = Layout(tmp_path).problems
    line = raw[:cut].count(b"\n") + 1
    assert problems == [
        f"0002_load/up.sql:{line}: directive '-- Migrator: no-transaction' comes "
        "after the first statement; move it to the comment lines at the top of the file"
    ]

    bad = raw[:cut] + b"'\xff'" + raw[cut:]
    (folder / "up.sql").write_bytes(bad)
    assert Layout(tmp_path).problems == [
        f"0002_load/up.sql: invalid UTF-8 at byte offset {cut + 1}; save the file as UTF-8"
    ]


def test_a_nul_byte_anywhere_in_a_big_file_is_found(tmp_path: Path) -> None:
    """Files above one chunk are streamed through the scanner: a NUL byte in the first chunk,
    on either side of a chunk boundary, deep inside or last is found with its offset."""
    from migrator.filescan import CHUNK

    folder = _big_migration(tmp_path, "big", 40)
    raw = (folder / "up.sql").read_bytes()
    assert len(raw) > 3 * CHUNK
    for at in (0, 7, CHUNK - 1, CHUNK, 2 * CHUNK + 13, len(raw) - 1):
        (folder / "up.sql").write_bytes(raw[:at] + b"\x00" + raw[at:])
        assert Layout(tmp_path).problems == [
            f"0002_load/up.sql: NUL byte at byte offset {at}; a migration file is text (a file "
            "saved as UTF-16 is full of them: save it as UTF-8)"
        ], at
    # in a file streamed by discovery (> one chunk) but run whole (< BIG_FILE_BYTES): both
    # problems when the file has both, each with its own offset
    mid = raw[: CHUNK + 5000]
    (folder / "up.sql").write_bytes(mid[: CHUNK + 100] + b"\x00" + mid[CHUNK + 100 :] + b"'\xff';\n")
    assert Layout(tmp_path).problems == [
        f"0002_load/up.sql: NUL byte at byte offset {CHUNK + 100}; a migration file is text (a "
        "file saved as UTF-16 is full of them: save it as UTF-8)",
        f"0002_load/up.sql: invalid UTF-8 at byte offset {CHUNK + 5002}; save the file as UTF-8",
    ]


@pytest.mark.parametrize(
    "words",
    ["  \n/* a long comment */ -- and another\n  VACUUM", "\nDELIMITER //", "\n\\copy big from 'x.csv'"],
)
def test_a_rule_word_after_any_statement_makes_the_file_checked(tmp_path: Path, words: str) -> None:
    folder = _big_migration(tmp_path, "big", 40)
    text = (folder / "up.sql").read_text()
    cut = text.index(";\n", len(text) // 2) + 1
    (folder / "up.sql").write_text(text[:cut] + words + ";\n" + text[cut + 1 :])
    assert Layout(tmp_path).migrations("sqlite")[1].up.needs_statement_check
    (folder / "up.sql").write_text(text)
    assert not Layout(tmp_path).migrations("sqlite")[1].up.needs_statement_check


def test_verbose_progress_on_a_big_file_does_not_read_it_ahead(db: Db, tmp_path: Path, cli) -> None:  # noqa: ANN001
    root = tmp_path / "sql"
    _big_migration(root, "big", 40)
    r = cli("--url", db.url, "--dir", str(root), "up", "-v")
    assert r.code == 0, r.err
    # not read ahead to count: the total is unknown until the file has run
    assert "MB streamed)\n  [1/?] 0002_load/up.sql:1 INSERT INTO big" in r.out
    line = 1 + 39 * (ROWS_PER_INSERT + 1)
    # (once the splitter, a chunk ahead, has reached the end, the total shows)
    assert re.search(rf"  \[40/(\?|40)\] 0002_load/up.sql:{line} INSERT INTO big", r.out), r.out


_PIECES = [
    "INSERT INTO t VALUES (1);\n",
    "-- a comment; with a semicolon\n",
    "/* block; */ ",
    "SELECT 'a;b', \"q;\";\n",
    "BEGIN;\n",
    "COMMIT;\n",
    "VACUUM;\n",
    "\n\n   ",
    "CREATE INDEX CONCURRENTLY i ON t (a);\n",
    "COPY t FROM STDIN;\n",
    "/* x */ START TRANSACTION;\n",
]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=0, max_value=70_000),
)
def test_the_big_file_filter_never_misses_a_statement_the_rules_refuse(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str], at: int, shift: int
) -> None:
    """Whatever the chunk boundaries, a big file whose statements break a rule (as the lexer
    sees them) is marked for the full check: the cheap filter may only err on the safe side."""
    from migrator.dialects import open_dialect
    from migrator.filescan import CHUNK
    from migrator.statement_rules import file_problems
    from migrator.streaming import FileStatements
    from migrator.urls import parse_url

    filler = "INSERT INTO t VALUES " + ",".join(["(1)"] * ((CHUNK + shift) // 4)) + ";\n"
    text = "".join(pieces[:at] + [filler] + pieces[at:])
    root = tmp_path_factory.mktemp("filter")
    write_migration(root, "0001_x", text, "SELECT 1;\n")
    up = Layout(root).migrations("postgres")[0].up
    assert up.size > CHUNK
    problems = file_problems(up, FileStatements(up, "postgres"), open_dialect(parse_url("postgres://u@h/d")))
    if problems:
        assert up.needs_statement_check, problems
