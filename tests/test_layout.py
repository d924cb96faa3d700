"""Layout rules (SPEC §1): found before any database is touched, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.discovery import Layout
from migrator.errors import LayoutError
from tests.conftest import Db, write_migration


def problems(root: Path) -> list[str]:
    return Layout(root).problems


def test_bundled_example_is_a_valid_layout(example_sql: Path) -> None:
    layout = Layout(example_sql)
    assert layout.problems == []
    for dialect in ("sqlite", "postgres", "mysql"):
        assert [m.version for m in layout.migrations(dialect)] == [1, 2, 3, 4]


def test_dialect_override_replaces_only_that_dialects_file(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    override = sqldir / "sqlite" / "0001_a"
    override.mkdir(parents=True)
    (override / "down.sql").write_text("DROP TABLE IF EXISTS a;\n")
    layout = Layout(sqldir)
    sqlite = layout.migrations("sqlite")[0]
    postgres = layout.migrations("postgres")[0]
    assert sqlite.down.rel == "sqlite/0001_a/down.sql"
    assert sqlite.up.rel == "0001_a/up.sql"
    assert postgres.down.rel == "0001_a/down.sql"


def test_version_folder_only_under_a_dialect_belongs_to_it_alone(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    write_migration(sqldir / "postgres", "0002_pg_only", "SELECT 2;\n")
    layout = Layout(sqldir)
    assert [m.version for m in layout.migrations("postgres")] == [1, 2]
    assert [m.version for m in layout.migrations("sqlite")] == [1]
    assert layout.migrations("postgres")[1].only_for == "postgres"


def test_versions_sort_by_integer_value_not_by_name(sqldir: Path) -> None:
    write_migration(sqldir, "10_ten", "SELECT 10;\n")
    write_migration(sqldir, "9_nine", "SELECT 9;\n")
    write_migration(sqldir, "0100_hundred", "SELECT 100;\n")
    assert [m.version for m in Layout(sqldir).migrations("sqlite")] == [9, 10, 100]


def test_description_turns_underscores_and_dashes_into_spaces(sqldir: Path) -> None:
    write_migration(sqldir, "0001_add_user-table", "SELECT 1;\n")
    assert Layout(sqldir).migrations("sqlite")[0].description == "add user table"


def test_missing_down_sql_is_a_layout_error(sqldir: Path) -> None:
    folder = sqldir / "0001_a"
    folder.mkdir()
    (folder / "up.sql").write_text("SELECT 1;\n")
    assert problems(sqldir) == ["0001_a: missing down.sql"]


def test_two_folders_with_one_version_are_a_layout_error(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    write_migration(sqldir, "1_b", "SELECT 1;\n")
    [problem] = problems(sqldir)
    assert "1_b" in problem and "0001_a" in problem and "version 1" in problem


def test_override_with_another_name_is_a_layout_error(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    write_migration(sqldir / "mysql", "0001_other", "SELECT 1;\n")
    assert any("mysql/0001_other" in p and "same name" in p for p in problems(sqldir))


def test_version_above_int64_is_a_layout_error(sqldir: Path) -> None:
    write_migration(sqldir, f"{2**63}_huge", "SELECT 1;\n")
    assert any("2^63-1" in p for p in problems(sqldir))


@pytest.mark.parametrize("folder", ["0000_zero", "0_zero", "postgres/00_zero"])
def test_version_zero_is_a_layout_error(sqldir: Path, folder: str) -> None:
    """SPEC §1: `down --to 0` means before every version, so no version can be 0."""
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    write_migration(sqldir, folder, "SELECT 0;\n")
    [problem] = problems(sqldir)
    assert problem.startswith(f"{folder}: version 0 is not allowed")


def test_the_highest_version_a_bigint_holds_is_accepted(sqldir: Path) -> None:
    write_migration(sqldir, f"{2**63 - 1}_last", "SELECT 1;\n")
    assert [m.version for m in Layout(sqldir).migrations("postgres")] == [2**63 - 1]


def test_a_version_in_digits_other_than_ascii_is_not_a_version_folder(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    write_migration(sqldir, "\u0661\u0662_arabic_indic", "SELECT 1;\n")  # int() reads it as 12
    [problem] = problems(sqldir)
    assert problem.startswith(f"{sqldir}/\u0661\u0662_arabic_indic: unexpected folder")


@pytest.mark.parametrize("folder", ["\u0662_arabic", "0001_a/\u0662_arabic"])
def test_an_arabic_indic_digit_is_a_layout_error_naming_the_folder_given_by_dir(
    tmp_path: Path, cli: Any, folder: str
) -> None:
    other = tmp_path / "other"
    write_migration(other, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    (other / folder).mkdir()
    result = cli("--dir", "other", "up", "--url", "sqlite:///app.db")
    assert result.code == 2, (result.out, result.err)
    shown = "other/\u0662_arabic" if "/" not in folder else folder
    assert f"error: {shown}: unexpected folder" in result.err
    assert "sql/" not in result.err.replace("mysql/", "") and "Traceback" not in result.err
    assert not (tmp_path / "app.db").exists()


def test_layout_errors_name_the_folder_given_by_dir(tmp_path: Path, cli: Any) -> None:
    other = tmp_path / "other"
    write_migration(other, "0001_a", "SELECT 1;\n")
    write_migration(other / "mysql", "0001_b", "SELECT 1;\n")
    (other / "notes.txt").write_text("x")
    result = cli("validate", "--offline", "--dir", "other")
    assert result.code == 2
    assert (
        "  - other/notes.txt: unexpected file; other/ holds only <digits>_<slug> version folders"
        in result.err
    )
    assert "  - mysql/0001_b: version 1 is 0001_a in other/; an override folder must" in result.err
    assert "sql/" not in result.err.replace("mysql/", "")


@pytest.mark.parametrize("folder", ["0000_zero", f"{2**63}_huge", f"sqlite/{2**64}_huge"])
@pytest.mark.parametrize(
    "command", [("up",), ("down", "--yes", "--to", "0"), ("validate",), ("validate", "--offline")]
)
def test_a_version_out_of_range_stops_every_command_before_the_database(
    sqldir: Path, cli: Any, folder: str, command: tuple[str, ...]
) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, folder, "CREATE TABLE z (id INT);\n", "DROP TABLE z;\n")
    assert cli("hash").code == 2  # no sum file for a layout with an error either
    result = cli(*command, "--url", "sqlite:///app.db")
    assert result.code == 2, (result.out, result.err)
    assert folder in result.err and ("version 0 is not allowed" in result.err or "above 2^63-1" in result.err)
    assert not (sqldir.parent / "app.db").exists()


@pytest.mark.parametrize("stray", ["README.md", "notes", "0001_a/extra.sql", "0001_a/sub", "postgres/README"])
def test_stray_files_and_folders_are_layout_errors(sqldir: Path, stray: str) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (sqldir / "postgres").mkdir(exist_ok=True)
    target = sqldir / stray
    if "." in stray.split("/")[-1] or stray.endswith("README"):
        target.write_text("x")
    else:
        target.mkdir()
    [problem] = problems(sqldir)
    assert problem.startswith(f"{sqldir}/{stray}" if "/" not in stray else stray)


@pytest.mark.parametrize(
    ("stray", "says"),
    [
        ("postgres/README", "a dialect folder holds only <digits>_<slug> version folders"),
        ("mysql/misc", "a dialect folder holds only <digits>_<slug> version folders"),
        ("0001_a/notes.txt", "a version folder holds only up.sql and down.sql"),
        ("sqlite/0001_a/notes.txt", "a version folder holds only up.sql and down.sql"),
    ],
)
def test_a_stray_entry_is_described_by_the_folder_it_is_in(sqldir: Path, stray: str, says: str) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    target = sqldir / stray
    target.parent.mkdir(parents=True, exist_ok=True)
    if "." in stray or stray.endswith("README"):
        target.write_text("x")
    else:
        target.mkdir()
    [problem] = problems(sqldir)
    assert (
        problem
        == f"{stray}: unexpected {'folder' if target.is_dir() else 'file'}; " + problem.split("; ", 1)[1]
    )
    assert says in problem


def test_hidden_files_sum_file_and_schema_files_are_allowed(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (sqldir / ".gitkeep").write_text("")
    (sqldir / "0001_a" / ".DS_Store").write_text("")
    (sqldir / "migrator.sum").write_text("")
    (sqldir / "schema.postgres.txt").write_text("")
    assert problems(sqldir) == []


def test_invalid_utf8_names_the_file_and_byte_offset(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (sqldir / "0001_a" / "up.sql").write_bytes(b"SELECT 'caf\xe9';\n")
    assert any("0001_a/up.sql: invalid UTF-8 at byte offset 11" in p for p in problems(sqldir))


def test_a_nul_byte_names_the_file_and_byte_offset(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (sqldir / "0001_a" / "down.sql").write_bytes(b"SELECT 'a\x00b';\n")
    assert problems(sqldir) == [
        "0001_a/down.sql: NUL byte at byte offset 9; a migration file is text (a file saved as "
        "UTF-16 is full of them: save it as UTF-8)"
    ]


def test_a_file_saved_as_utf16_is_a_layout_error(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (sqldir / "0001_a" / "up.sql").write_bytes("SELECT 1;\n".encode("utf-16-le"))  # no BOM
    assert problems(sqldir) == [
        "0001_a/up.sql: NUL byte at byte offset 1; a migration file is text (a file saved as "
        "UTF-16 is full of them: save it as UTF-8)"
    ]


def test_a_nul_byte_stops_every_command_before_the_database(db: Db, sqldir: Path, cli: Any) -> None:
    """SPEC §1: found before anything touches the database (postgres raised a driver
    traceback), by `validate` and `validate --offline` too."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0002_b", "CREATE TABLE b (id INT);\n", "DROP TABLE b;\n")
    assert cli("hash").code == 0
    (sqldir / "0002_b" / "up.sql").write_bytes(b"INSERT INTO a (id) VALUES (1); -- \x00\n")
    for command in (("up",), ("validate",), ("validate", "--offline"), ("status",)):
        result = cli(*command, "--url", db.url)
        assert result.code == 2, (command, result.out, result.err)
        assert "0002_b/up.sql: NUL byte at byte offset 34" in result.err
        assert "Traceback" not in result.err
    assert db.tables() == set()


def test_unknown_directive_is_a_layout_error(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "-- migrator: no-transactions\nSELECT 1;\n")
    [problem] = problems(sqldir)
    assert problem.startswith("0001_a/up.sql:1: unknown directive 'no-transactions'")


def test_directive_after_the_first_statement_is_a_layout_error(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n-- migrator: no-transaction\nSELECT 2;\n")
    [problem] = problems(sqldir)
    assert "0001_a/up.sql:2" in problem and "after the first statement" in problem


def test_directive_in_the_wrong_file_is_a_layout_error(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "-- migrator: irreversible\nSELECT 1;\n")
    [problem] = problems(sqldir)
    assert "irreversible" in problem and "down.sql" in problem


def test_directives_are_parsed(sqldir: Path) -> None:
    write_migration(
        sqldir,
        "0001_a",
        "-- why this file is special\n-- migrator: no-transaction\n"
        "-- migrator: lock-wait-timeout 5s\n-- migrator: statement-timeout 10min\n"
        "-- migrator: requires 1, 2\n-- migrator: backup\nSELECT 1;\n",
        "-- migrator: irreversible\nSELECT 1;\n",
    )
    m = Layout(sqldir).migrations("sqlite")[0]
    d = m.up.directives
    assert (d.no_transaction, d.lock_wait_timeout_ms, d.statement_timeout_ms, d.requires, d.backup) == (
        True,
        5000,
        600_000,
        (1, 2),
        True,
    )
    assert m.down.directives.irreversible


def test_every_problem_is_reported_at_once(sqldir: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    write_migration(sqldir, "1_b", "SELECT 1;\n")
    (sqldir / "README.md").write_text("x")
    with pytest.raises(LayoutError) as caught:
        Layout(sqldir).migrations("sqlite")
    assert len(caught.value.problems) == 2


def test_layout_error_exits_2_and_creates_no_database(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    (sqldir / "stray.txt").write_text("x")
    result = cli("up", "--url", "sqlite:///app.db")
    assert result.code == 2
    assert "sql/stray.txt: unexpected file" in result.err
    assert not (sqldir.parent / "app.db").exists()


def test_statement_rules_are_checked_before_connecting(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\nVACUUM;\n")
    # no server listens there: a layout error must come first, and no sqlite file appears
    refused = cli("up", "--url", "postgres://u:pw@127.0.0.1:1/nodb")
    assert refused.code == 2 and "no-transaction" in refused.err
    assert cli("up", "--url", "sqlite:///app.db").code == 2
    assert not (sqldir.parent / "app.db").exists()


def test_copy_from_stdin_is_reported_as_unsupported(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE cp (a INT);\nCOPY cp (a) FROM stdin;\n1\n\\.\n")
    result = cli("up", "--url", "postgres://u@127.0.0.1:1/nodb")
    assert result.code == 2
    assert "0001_a/up.sql:2:1: COPY ... FROM STDIN" in result.err


def test_copy_data_with_a_quote_is_reported_as_the_copy_it_follows(sqldir: Path, cli: Any) -> None:
    """A pg_dump file: the COPY data lines are no SQL, and a quote in them leaves the lexer in
    an open string at the end of the file. The COPY is named first, as the thing to change."""
    write_migration(
        sqldir,
        "0001_dump",
        "CREATE TABLE cp (a TEXT);\nCOPY cp (a) FROM stdin;\nit's\n\\.\n\nSELECT 1;\n",
    )
    result = cli("up", "--url", "postgres://u@127.0.0.1:1/nodb")
    assert result.code == 2, result.out + result.err
    assert "0001_dump/up.sql:2:1: COPY ... FROM STDIN" in result.err
    assert result.err.index("COPY ... FROM STDIN") < result.err.index("unterminated string")


def test_json_document_for_a_bad_command_line(cli: Any) -> None:
    import json

    result = cli("up", "--to", "abc", "--json")
    assert result.code == 2
    assert json.loads(result.out)["error"]["kind"] == "usage"


def test_password_in_a_query_parameter_is_masked(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    result = cli("status", "--url", "postgres://u@127.0.0.1:1/db?password=s3cretPW")
    assert result.code == 4
    assert "s3cretPW" not in result.out + result.err and "password=***" in result.err


def test_new_does_not_rewrite_existing_sum_lines(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    assert cli("hash").code == 0
    (sqldir / "0001_a" / "up.sql").write_text("SELECT 2;\n")  # an edit to a shipped file
    assert cli("new", "second").code == 0
    result = cli("validate", "--offline")
    assert result.code == 3 and "0001_a/up.sql: changed" in result.out


def test_a_directive_in_any_letter_case_is_read(tmp_path: Path) -> None:
    write_migration(tmp_path, "0001_a", "-- MiGrAtOr: no-transaction\nSELECT 1;\n")
    up = Layout(tmp_path).migrations("sqlite")[0].up
    assert up.directives.no_transaction


# statements every dialect's rules look at, in the letter cases people write
_RULE_PIECES = [
    "INSERT INTO t VALUES (1);\n",
    "-- begin; commit; a comment\n",
    "/* vacuum; */ ",
    "SELECT 'begin;', \"end;\";\n",
    "begin;\n",
    "Commit;\n",
    "ROLLBACK;\n",
    "END;\n",
    "start transaction;\n",
    "vacuum;\n",
    "create index concurrently i on t (a);\n",
    "COPY t FROM STDIN;\n",
    "PRAGMA foreign_keys = ON;\n",
    "pragma journal_mode = wal;\n",
    "CREATE DATABASE x;\n",
    "ALTER SYSTEM SET a = 1;\n",
    "DROP TABLESPACE x;\n",
    "\\i other.sql\n",
    "DELIMITER //\nCREATE TRIGGER x BEGIN SELECT 1; END//\nDELIMITER ;\n",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;\n",
    "\n  ",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(_RULE_PIECES), min_size=1, max_size=8),
    st.sampled_from(["sqlite", "postgres", "mysql"]),
)
def test_the_rule_filter_never_misses_a_statement_the_rules_refuse(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str], dialect: str
) -> None:
    """A file discovery marks as needing no statement check is neither checked before a run
    nor when it runs: the cheap filter may only err on the safe side."""
    from migrator.dialects import open_dialect
    from migrator.lexer import LexError, split_statements
    from migrator.statement_rules import file_problems
    from migrator.urls import parse_url

    text = "".join(pieces)
    root = tmp_path_factory.mktemp("filter")
    write_migration(root, "0001_x", text)
    up = Layout(root).migrations(dialect)[0].up
    try:
        statements = split_statements(text, dialect)
    except LexError:
        return  # a file the lexer refuses fails at any check
    url = {"sqlite": "sqlite:///x.db", "postgres": "postgres://u@h/d", "mysql": "mysql://u@h/d"}
    problems = file_problems(up, statements, open_dialect(parse_url(url[dialect])))
    if problems:
        assert up.needs_statement_check, problems


# Symbolic links (SPEC §1): followed only when they resolve inside the migrations folder.
SECRET = "DATABASE_PASSWORD=hunter2-s3cret"


def _leak_setup(tmp_path: Path, sqldir: Path, link: str, target: str) -> None:
    (tmp_path / ".env").write_text(SECRET + "\n")
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(sqldir, "0002_b", "CREATE TABLE b (id INT);\n", "DROP TABLE b;\n")
    (sqldir / link).unlink(missing_ok=True)
    (sqldir / link).symlink_to(target)


BAD_LINKS = {
    "leaves": ("0002_b/up.sql", "../../.env", "symbolic link to ../../.env leaves the migrations folder"),
    "dangles": ("0002_b/up.sql", "gone.sql", "symbolic link dangles: its target gone.sql does not exist"),
    "loops": ("0002_b/up.sql", "up.sql", "symbolic link loops"),
    "folder leaves": ("0003_c", "../elsewhere", "symbolic link to ../elsewhere leaves the migrations folder"),
    "dialect folder leaves": ("postgres", "../elsewhere", "symbolic link to ../elsewhere leaves"),
    "sum file leaves": ("migrator.sum", "../.env", "symbolic link to ../.env leaves the migrations folder"),
}


@pytest.mark.parametrize("case", list(BAD_LINKS))
@pytest.mark.parametrize(
    "command", [("show", "2"), ("up",), ("validate",), ("validate", "--offline"), ("hash",)]
)
def test_a_link_that_leaves_dangles_or_loops_is_a_layout_error_naming_it(
    tmp_path: Path, sqldir: Path, cli: Any, case: str, command: tuple[str, ...]
) -> None:
    link, target, says = BAD_LINKS[case]
    (tmp_path / "elsewhere").mkdir()
    write_migration(tmp_path / "elsewhere", "0003_c", SECRET + "\n")
    (tmp_path / "elsewhere" / "up.sql").write_text(SECRET + "\n")
    _leak_setup(tmp_path, sqldir, link, target)
    result = cli(*command, "--url", "sqlite:///app.db")
    assert result.code == 2, (result.out, result.err)
    shown = f"sql/{link}" if "/" not in link else link
    assert f"error: {shown}: {says}" in result.err
    assert "missing up.sql" not in result.err  # one problem for one link
    assert "hunter2" not in result.out + result.err and "Traceback" not in result.err
    assert not (tmp_path / "app.db").exists()
    assert (tmp_path / ".env").read_text() == SECRET + "\n"  # `hash` wrote nothing through a link


def test_a_link_inside_the_migrations_folder_is_followed(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    shared = sqldir / "0002_b"
    shared.mkdir()
    (shared / "up.sql").write_text("CREATE TABLE b (id INT);\n")
    (shared / "down.sql").symlink_to("../0001_a/down.sql")  # a relative link
    (sqldir / "0003_c").symlink_to(shared.resolve(), target_is_directory=True)  # an absolute one
    assert problems(sqldir) == []
    shown = cli("show", "2", "--url", "sqlite:///app.db")
    assert shown.code == 0, shown.err
    assert "DROP TABLE a;" in shown.out
    assert cli("up", "--to", "2", "--url", "sqlite:///app.db").code == 0
    assert cli("hash").code == 0
    assert "0002_b/down.sql" in (sqldir / "migrator.sum").read_text()
