"""Input a user can get wrong (issue 16): every case ends in exit 2 and a sentence that says
what to fix, before anything connects, never a traceback. Each runs `migrator` as users do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db, run_cli, write_migration


def refused(r: Any, first_line: str, hint: str = "") -> None:
    """Exit 2 with exactly this error line (and hint), and no traceback anywhere."""
    assert r.code == 2, r.out + r.err
    lines = r.err.splitlines()
    assert lines[0] == f"error: {first_line}", r.err
    if hint:
        assert lines[1] == f"hint: {hint}", r.err
    assert "Traceback" not in r.err + r.out


# -- files that are not UTF-8 -----------------------------------------------------------------


def test_a_non_utf8_env_file_names_its_byte_offset(tmp_path: Path, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    (tmp_path / ".env").write_bytes(b"# latin-1\nMIGRATOR_URL=sqlite:///caf\xe9.db\n")
    r = cli("up")
    refused(
        r,
        ".env: invalid UTF-8 at byte offset 36",
        'save .env as UTF-8 text (an editor\'s "Save with encoding" does it)',
    )
    assert not list(tmp_path.glob("*.db"))  # nothing was connected to, nothing created
    other = tmp_path / "other.env"
    other.write_bytes(b"\xff\xfeM\x00")  # UTF-16, as some editors save it
    refused(cli("--env-file", str(other), "status"), f"{other}: invalid UTF-8 at byte offset 0")


def test_an_env_file_with_a_byte_order_mark_keeps_its_first_line(
    tmp_path: Path, sqldir: Path, cli: Any
) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    (tmp_path / ".env").write_bytes(b"\xef\xbb\xbfMIGRATOR_URL=sqlite:///bom.db\n")
    r = cli("up")
    assert r.code == 0, r.err
    assert (tmp_path / "bom.db").is_file()


def test_a_non_utf8_sum_file_is_a_layout_error_for_validate_and_new(
    tmp_path: Path, sqldir: Path, cli: Any
) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    assert cli("hash").code == 0
    listed = (sqldir / "migrator.sum").read_bytes()
    (sqldir / "migrator.sum").write_bytes(listed + b"\xe9  0002_b/up.sql\n")
    message = (
        f"migrator.sum: invalid UTF-8 at byte offset {len(listed)}; restore it from version "
        "control, or write it again with `migrator hash` once every migration file is as it shipped"
    )
    refused(cli("validate", "--offline"), message, "fix the migrations folder; nothing was run")
    r = cli("validate", "--offline", "--json")
    assert r.code == 2 and json.loads(r.out)["error"]["problems"] == [message]
    refused(cli("new", "second"), message)
    assert sorted(p.name for p in sqldir.iterdir()) == ["0001_a", "migrator.sum"]  # `new` created nothing


# -- migrator.toml and [tool.migrator] ----------------------------------------------------------

WRONG_TYPES = [
    ("url = 5", "url must be a database URL in quotes, not 5", 'url = "postgres://app@localhost:5432/app"'),
    ("dir = 5", "dir must be a folder name in quotes, not 5", 'dir = "sql"'),
    ('dir = ["sql"]', 'dir must be a folder name in quotes, not ["sql"]', 'dir = "sql"'),
    ("table = true", "table must be a table name in quotes, not true", 'table = "schema_version"'),
    ("lock_timeout = true", "lock_timeout must be a number of seconds, not true", "lock_timeout = 60"),
    ("lock_timeout = [60]", "lock_timeout must be a number of seconds, not [60]", "lock_timeout = 60"),
    (
        "lock_wait_timeout = false",
        'lock_wait_timeout must be a duration such as "5s" (a bare number means seconds), not false',
        'lock_wait_timeout = "5s"',
    ),
    (
        "statement_timeout = {minutes = 10}",
        'statement_timeout must be a duration such as "5s" (a bare number means seconds), '
        'not {"minutes": 10}',
        'statement_timeout = "10min"',
    ),
    ("backup_dir = 5", "backup_dir must be a folder name in quotes, not 5", 'backup_dir = "backups"'),
    (
        "batch_pause = 1979-05-27",
        'batch_pause must be a duration such as "5s" (a bare number means seconds), not "1979-05-27"',
        'batch_pause = "100ms"',
    ),
    ('write_schema = "yes"', 'write_schema must be true or false, not "yes"', "write_schema = true"),
    (
        'ignore = "table:audit_*"',
        'ignore must be a list of KIND:GLOB strings, not "table:audit_*"',
        'ignore = ["table:audit_*"]',
    ),
    ("ignore = [1]", "ignore must be a list of KIND:GLOB strings, not [1]", 'ignore = ["table:audit_*"]'),
    ("lint = 5", "lint must be a [lint] table, not 5", 'lint = { disable = ["rename-column"] }'),
]


@pytest.mark.parametrize(("line", "message", "example"), WRONG_TYPES, ids=[w[0] for w in WRONG_TYPES])
def test_a_setting_of_the_wrong_type_names_the_key_and_a_right_line(
    tmp_path: Path, sqldir: Path, cli: Any, line: str, message: str, example: str
) -> None:
    """`dir = 5` was a TypeError traceback; `table = true` became a table named "True", and
    `ignore = "table:x"` a list of single characters."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    (tmp_path / "migrator.toml").write_text(line + "\n")
    for command in ("up", "status", "hash"):
        refused(cli(command), f"migrator.toml: {message}", f"for example: {example}")
    assert not (tmp_path / "migrator.db").exists()
    (tmp_path / "migrator.toml").unlink()
    (tmp_path / "pyproject.toml").write_text(f"[tool.migrator]\n{line}\n")
    refused(cli("up"), f"[tool.migrator] of pyproject.toml: {message}", f"for example: {example}")
    assert not (tmp_path / "migrator.db").exists()


def test_every_setting_of_the_config_file_has_its_type_checked() -> None:
    from migrator.config import KNOWN_KEYS

    assert {line.split(" =")[0] for line, _, _ in WRONG_TYPES} == set(KNOWN_KEYS)


def test_settings_of_the_right_type_are_taken(tmp_path: Path, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    (tmp_path / "migrator.toml").write_text(
        'url = "sqlite:///ok.db"\ndir = "sql"\ntable = "versions"\nlock_timeout = 1.5\n'
        'lock_wait_timeout = 5\nstatement_timeout = "10min"\nbackup_dir = "b"\nbatch_pause = 0.1\n'
        'write_schema = false\nignore = ["table:audit_*"]\n'
    )
    r = cli("up")
    assert r.code == 0, r.err
    assert (tmp_path / "ok.db").is_file()


def test_a_non_utf8_config_file_and_an_empty_folder_name_are_refused(
    tmp_path: Path, sqldir: Path, cli: Any
) -> None:
    (tmp_path / "migrator.toml").write_bytes(b'dir = "caf\xe9"\n')
    refused(cli("status"), "migrator.toml: invalid UTF-8 at byte offset 10")
    (tmp_path / "migrator.toml").write_text('dir = ""\n')  # Path("") is the working directory
    refused(cli("status"), "dir in migrator.toml is empty", "name a folder, such as sql")
    refused(cli("--dir", "", "status"), "--dir is empty", "name a folder, such as sql")


# -- --lock-timeout ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "Infinity", "1e400"])
def test_a_lock_timeout_that_is_not_a_finite_number_is_refused_before_connecting(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path, value: str
) -> None:
    """nan was a traceback on mysql and, like inf, a wait that never ends on postgres and
    sqlite: refused wherever it is given, before the database is touched."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    hint = "to wait a long time, give a large number such as 3600"
    r = cli("up", "--url", db.url, "--lock-timeout", value)
    refused(r, f"--lock-timeout takes a finite number of seconds, got {value!r}", hint)
    r = cli("up", "--url", db.url, env={"MIGRATOR_LOCK_TIMEOUT": value})
    refused(r, f"MIGRATOR_LOCK_TIMEOUT takes a finite number of seconds, got {value!r}", hint)
    (tmp_path / "migrator.toml").write_text(f'lock_timeout = "{value}"\n')
    r = cli("up", "--url", db.url)
    refused(r, f"lock_timeout in migrator.toml takes a finite number of seconds, got {value!r}", hint)
    if db.dialect == "sqlite":
        assert not (tmp_path / "test.db").exists()
    else:
        assert db.tables() == set()


def test_a_session_limit_longer_than_a_database_takes_is_refused_before_connecting(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    """postgres failed it only once the first file ran, mysql cut it short without a word, and
    1e400s was an OverflowError traceback."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    too_long = "is longer than the 596h (24 days) a database session limit can be"
    r = cli("up", "--url", db.url, "--statement-timeout", "99999999999999999999h")
    refused(r, f"--statement-timeout: '99999999999999999999h' {too_long}")
    r = cli("up", "--url", db.url, "--lock-wait-timeout", "1" + "0" * 400 + "s")
    refused(r, f"--lock-wait-timeout: '1{'0' * 400}s' {too_long}")
    write_migration(sqldir, "0001_a", "-- migrator: statement-timeout 600h\nCREATE TABLE a (id INT);\n")
    r = cli("up", "--url", db.url, "--lock-wait-timeout", "596h")
    refused(r, f"0001_a/up.sql:1: directive 'statement-timeout': '600h' {too_long}")
    if db.dialect == "sqlite":
        assert not (tmp_path / "test.db").exists()
    else:
        assert db.tables() == set()


def test_a_lock_timeout_from_the_library_is_checked_too() -> None:
    from migrator import Migrator
    from migrator.errors import ConfigError

    with pytest.raises(ConfigError, match="lock_timeout takes a finite number of seconds, got nan"):
        Migrator(url="sqlite:///x.db", lock_timeout=float("nan"))


# -- sqlite PRAGMAs a transaction cannot hold ---------------------------------------------------

PRAGMAS = [
    ("PRAGMA main.foreign_keys = ON;", "foreign_keys"),  # a silent no-op in the transaction
    ('PRAGMA "main".foreign_keys = ON;', "foreign_keys"),
    ("pragma Main . [FOREIGN_KEYS] = on;", "foreign_keys"),
    ("PRAGMA /* which */ temp.'foreign_keys'(1);", "foreign_keys"),
    ("PRAGMA main.journal_mode=WAL;", "journal_mode"),  # failed only when it ran
    ('PRAGMA "main"."journal_mode" = wal;', "journal_mode"),
]


@pytest.mark.dialect_only("sqlite")
@pytest.mark.parametrize(("statement", "pragma"), PRAGMAS, ids=[p[0] for p in PRAGMAS])
def test_a_schema_qualified_or_quoted_pragma_needs_a_no_transaction_file(
    tmp_path: Path, sqldir: Path, cli: Any, statement: str, pragma: str
) -> None:
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n")
    write_migration(sqldir, "0002_pragma", "SELECT 1;\n" + statement + "\n")
    r = cli("up")
    refused(
        r,
        f"0002_pragma/up.sql:2:1: sqlite refuses PRAGMA {pragma} inside a transaction; "
        "add `-- migrator: no-transaction` at the top of the file",
        "fix the migrations folder; nothing was run",
    )
    assert not (tmp_path / "migrator.db").exists()  # refused before the run, not by sqlite in it
    write_migration(sqldir, "0002_pragma", "-- migrator: no-transaction\n" + statement + "\n")
    r = cli("up")
    assert r.code == 0, r.err


def test_a_pragma_that_only_mentions_the_name_is_not_refused(tmp_path: Path, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_t", "PRAGMA main.foreign_key_check;\nPRAGMA main.foreign_keys_x = 1;\n")
    r = cli("up")
    assert r.code == 0, r.err


# -- version table names (SPEC §2) --------------------------------------------------------------

TOO_LONG = "t" * 57  # its _history would be 65 characters: over mysql's 64 and postgres's 63
NAME_HINT = (
    "the database refused the version table's name; choose another with --table, "
    "a plain identifier such as schema_version"
)
PLAIN = "use a plain identifier such as schema_version"


def _refused_names(dialect: str) -> list[tuple[str, str, str]]:
    """(--table, error, hint) of names each database would refuse, truncate or keep for itself."""
    long = (
        f"version table name {TOO_LONG!r} is too long for {dialect}: its history "
        f"table {TOO_LONG}_history would be 65 characters, and {dialect} keeps at most "
    )

    def sqlite_(name: str) -> tuple[str, str, str]:
        message = f"version table name {name!r}: sqlite reserves names that start with sqlite_ for itself"
        return name, message, "use a name such as schema_version"

    def pg_(schema: str) -> tuple[str, str, str]:
        message = (
            f"version table name '{schema}.versions': postgres reserves schema names that "
            "start with pg_ for itself"
        )
        return (
            f"{schema}.versions",
            message,
            ("put the table in a schema of your own, such as app.versions, or leave the schema out"),
        )

    return {
        "sqlite": [
            sqlite_("sqlite_x"),
            sqlite_("SQLite_stat9"),
            ("main.versions", "--table main.versions: schema.table is only for postgres", PLAIN),
        ],
        "postgres": [
            pg_("pg_x"),
            pg_("pg_catalog"),
            (
                TOO_LONG,
                long + "63 (longer names are cut short, so the two tables could become one)",
                "use a name of at most 55 characters",
            ),
        ],
        "mysql": [
            (TOO_LONG, long + "64", "use a name of at most 56 characters"),
            ("other.versions", "--table other.versions: schema.table is only for postgres", PLAIN),
            ("bad-name", "invalid version table name 'bad-name'", PLAIN + " (schema.table on postgres)"),
        ],
    }[dialect]


def test_a_table_name_the_database_would_refuse_is_exit_2_before_connecting(
    db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    """mysql's "Incorrect table name", sqlite's reserved sqlite_ names and postgres's pg_
    schemas ended with "check the database user's privileges on the version table"."""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    for table, message, hint in _refused_names(db.dialect):
        refused(cli("up", "--url", db.url, "--table", table), message, hint)
        refused(cli("status", "--url", db.url, env={"MIGRATOR_TABLE": table}), message, hint)
        if db.dialect != "sqlite":  # nothing connects: a server that is not there is never noticed
            dead = db.url.replace(f":{db.parsed.port}/", ":1/")
            assert dead != db.url
            refused(cli("up", "--url", dead, "--table", table), message, hint)
    if db.dialect == "sqlite":
        assert not (tmp_path / "test.db").exists()
    else:
        assert db.tables() == set()


def test_a_name_the_server_refuses_is_not_blamed_on_privileges(db: Db, sqldir: Path) -> None:
    """Where a name still reaches the database (a library caller changing settings after the
    check) and the database refuses it, the hint speaks of the name."""
    from migrator import Migrator
    from migrator.errors import DatabaseError

    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
    m = Migrator(url=db.url, directory=sqldir)
    # past the check Settings makes, as nothing in the CLI can go
    m.settings.table = {"sqlite": "sqlite_x", "postgres": "pg_x.versions", "mysql": "v" * 70}[db.dialect]
    with pytest.raises(DatabaseError) as caught:
        m.up()
    assert caught.value.hint == NAME_HINT
    assert "privileges" not in str(caught.value)
    assert "a" not in db.tables()


def test_a_privilege_error_still_says_privileges(postgres_db: Db, sqldir: Path, cli: Any) -> None:
    import uuid

    user = f"mt_user_{uuid.uuid4().hex[:8]}"
    postgres_db.execute(f"CREATE ROLE {user} LOGIN")
    try:
        write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n")
        u = postgres_db.parsed
        r = cli("up", "--url", f"postgres://{user}@{u.host}:{u.port or 5432}/{u.database}")
        assert r.code == 1, r.err
        assert r.err.splitlines()[-1] == "hint: check the database user's privileges on the version table"
    finally:
        postgres_db.execute(f"DROP ROLE {user}")


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_wait_timeout_that_is_not_a_finite_number_is_refused(tmp_path: Path, value: str) -> None:
    """`wait --timeout nan` against a server that is down waited for ever: nan compares false
    with every clock reading. A closed port proves nothing was tried."""
    r = run_cli("wait", "--url", "postgres://u@127.0.0.1:1/db", "--timeout", value, cwd=tmp_path, timeout=20)
    assert r.code == 2, r.err
    assert f"error: argument --timeout: needs a finite number of seconds, 0 or more, got '{value}'" in r.err
