"""Shapes found in real-world migration folders (procrastinate, graphile-worker, synapse,
roundcube, zoneminder, icinga2-ido, and mysql/sqlite folders written in the style of popular
projects) that migrator got wrong. Each test holds a small piece of such a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Db, write_migration

_USERS = "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE);\n"


# -- seed data with e-mail addresses is still a data-only file ---------------------------------
def test_a_seed_file_with_email_addresses_runs_in_one_transaction(db: Db, sqldir: Path, cli: Any) -> None:
    """An `@` in a string or a comment is no mysql user variable: the file stays atomic, and
    its failure rolls it back whole instead of leaving a `failed` row that blocks every run."""
    write_migration(sqldir, "0001_users", _USERS, "DROP TABLE users;\n")
    write_migration(
        sqldir,
        "0002_seed",
        "-- seed accounts; questions to ops@example.org\n"
        "INSERT INTO users VALUES (1, 'ada@example.org');\n"
        "INSERT INTO users VALUES (2, 'grace@example.org'); /* by @admin */\n"
        "INSERT INTO users VALUES (3, 'ada@example.org');\n",
        "DELETE FROM users;\n",
    )
    dry = cli("up", "--dry-run", "--json", "--url", db.url)
    assert {p["version"]: p["atomic"] for p in json.loads(dry.out)["plan"]} == {
        1: db.dialect != "mysql",
        2: True,
    }
    r = cli("up", "--url", db.url)
    assert r.code == 1
    assert "statement: 3 of 3" in r.err
    assert "nothing of this version was committed: the whole file was rolled back" in r.err
    assert db.query("SELECT id FROM users") == []
    assert db.versions() == [(1, "applied")]


def test_a_data_file_that_sets_a_user_variable_is_not_atomic_on_mysql(
    mysql_db: Db, sqldir: Path, cli: Any
) -> None:
    write_migration(sqldir, "0001_users", _USERS, "DROP TABLE users;\n")
    write_migration(
        sqldir,
        "0002_seed",
        "INSERT INTO users VALUES (1, 'ada@example.org');\nSELECT COUNT(*) INTO @n FROM users;\n",
        "DELETE FROM users;\n",
    )
    dry = cli("up", "--dry-run", "--json", "--url", mysql_db.url)
    assert {p["version"]: p["atomic"] for p in json.loads(dry.out)["plan"]} == {1: False, 2: False}


# -- lint on a folder written for one dialect ------------------------------------------------
_MYSQL_TRIGGER = (
    "DELIMITER $$\n"
    "CREATE TRIGGER users_bi BEFORE INSERT ON users FOR EACH ROW\n"
    "BEGIN\n"
    "  SET NEW.email = LOWER(NEW.email);\n"
    "END$$\n"
    "CREATE TRIGGER users_bu BEFORE UPDATE ON users FOR EACH ROW\n"
    "BEGIN\n"
    "  SET NEW.email = LOWER(NEW.email);\n"
    "END $$\n"
    "DELIMITER ;\n"
)


def test_lint_without_a_url_skips_a_dialect_that_cannot_split_a_generic_file(sqldir: Path, cli: Any) -> None:
    """A mysql project laid out generic (as `import` writes it): its DELIMITER $$ trigger is an
    unterminated dollar quote to postgres. lint checks it where it splits and says where not,
    as `validate --offline` accepts it, instead of stopping with a layout error."""
    write_migration(sqldir, "0001_users", _USERS, "DROP TABLE users;\n")
    write_migration(
        sqldir, "0002_trigger", _MYSQL_TRIGGER, "DROP TRIGGER users_bu;\nDROP TRIGGER users_bi;\n"
    )
    assert cli("validate", "--offline").code == 3  # no migrator.sum yet: splitting is fine
    r = cli("lint")
    assert r.code == 0, r.err
    assert (
        "not checked on postgres: 0002_trigger/up.sql:9:5: unterminated dollar-quoted string $$ "
        "(it splits on sqlite, mysql; a file written for one dialect can go under sql/<dialect>/)"
    ) in r.out
    doc = json.loads(cli("lint", "--json").out)
    assert doc["ok"] is True
    assert doc["unchecked"] == [
        {
            "dialect": "postgres",
            "version": 2,
            "file": "0002_trigger/up.sql",
            "line": 9,
            "column": 5,
            "reason": "unterminated dollar-quoted string $$",
        }
    ]


def test_lint_stops_on_a_file_no_dialect_can_split(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_users", "INSERT INTO users VALUES (1, 'unclosed);\n")
    r = cli("lint")
    assert r.code == 2
    assert r.err.startswith("error: 0001_users/up.sql:1:30: unterminated string\n"), r.err


def test_lint_with_a_url_stops_on_a_file_its_dialect_cannot_split(
    postgres_db: Db, sqldir: Path, cli: Any
) -> None:
    write_migration(sqldir, "0001_users", _USERS, "DROP TABLE users;\n")
    write_migration(
        sqldir, "0002_trigger", _MYSQL_TRIGGER, "DROP TRIGGER users_bu;\nDROP TRIGGER users_bi;\n"
    )
    r = cli("lint", "--url", postgres_db.url)
    assert r.code == 2
    # the position once, not `5:4: 5:4:`
    assert r.err.startswith("error: 0002_trigger/up.sql:9:5: unterminated dollar-quoted string $$\n"), r.err


# -- a client's include command is refused before anything runs --------------------------------
_INCLUDE = {
    "mysql": (
        "source /usr/share/app/db/triggers.sql",
        "mysql client commands (source, \\. ...) belong to the mysql client, not the server; "
        "put the SQL of that file here, or in a version of its own",
    ),
    "sqlite": (
        ".read triggers.sql",
        "sqlite3 shell dot-commands (.read, .mode ...) belong to the sqlite3 shell, not the "
        "database; put the SQL of that file here, or in a version of its own",
    ),
    "postgres": (
        "\\i triggers.sql",
        "psql meta-commands (\\i here; \\i, \\copy, \\set ...) belong to the psql client, not the server; "
        "write plain SQL",
    ),
}


def test_a_client_include_command_is_a_layout_error_before_anything_runs(
    db: Db, sqldir: Path, cli: Any
) -> None:
    """zoneminder's update scripts end with `source .../triggers.sql`: on mysql the statements
    before it committed, then the server refused it, leaving a half-applied version."""
    command, message = _INCLUDE[db.dialect]
    write_migration(
        sqldir,
        "0001_create",
        f"CREATE TABLE events (id INT PRIMARY KEY);\n{command}\n--\n-- initial rows\n--\n"
        "INSERT INTO events VALUES (1);\n",
        "DROP TABLE events;\n",
    )
    for args in (("validate",), ("up",)):
        r = cli(*args, "--url", db.url)
        assert r.code == 2, r.err
        assert f"0001_create/up.sql:2:1: {message}" in r.err
    assert "events" not in db.tables()
    assert db.versions() == []


# -- the sqlite table rebuild loses no row ---------------------------------------------------
_NOTES = "CREATE TABLE notes (id INT PRIMARY KEY, title TEXT NOT NULL);\n"
_REBUILD = (
    "CREATE TABLE notes_new (id INT PRIMARY KEY, title TEXT NOT NULL, pinned INT NOT NULL DEFAULT 0);\n"
    "INSERT INTO notes_new (id, title) SELECT id, title FROM notes{where};\n"
    "DROP TABLE notes;\n"
    "ALTER TABLE notes_new RENAME TO notes;\n"
)


def _drop_table_findings(cli: Any) -> list[tuple[str, int, int]]:
    doc = json.loads(cli("lint", "--json").out)
    return sorted(
        {(f["dialect"], f["version"], f["line"]) for f in doc["findings"] if f["rule"] == "drop-table"}
    )


def test_lint_accepts_the_table_rebuild_that_copies_every_row_first(sqldir: Path, cli: Any) -> None:
    """sqlite's ALTER TABLE recipe (and Django's, alembic batch mode's): create the new table,
    copy the rows, drop the old one, rename. No row is lost, so no drop-table error."""
    write_migration(sqldir, "0001_notes", _NOTES, "DROP TABLE notes;\n")
    write_migration(
        sqldir, "0002_rebuild", _REBUILD.format(where=""), "ALTER TABLE notes DROP COLUMN pinned;\n"
    )
    assert _drop_table_findings(cli) == []
    assert cli("lint").code == 0


def test_lint_still_reports_a_drop_after_a_partial_copy(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_notes", _NOTES, "DROP TABLE notes;\n")
    write_migration(
        sqldir,
        "0002_rebuild",
        _REBUILD.format(where=" WHERE id > 10"),
        "ALTER TABLE notes DROP COLUMN pinned;\n",
    )
    write_migration(sqldir, "0003_gone", "DROP TABLE notes;\n", _NOTES)
    assert _drop_table_findings(cli) == [
        (d, v, 3 if v == 2 else 1) for d in ("mysql", "postgres", "sqlite") for v in (2, 3)
    ]
    assert cli("lint").code == 3


# -- verify on an imported folder without down migrations --------------------------------------
def test_verify_claims_nothing_when_every_version_is_irreversible(db: Db, sqldir: Path, cli: Any) -> None:
    """`import` marks every version of a folder without down migrations irreversible
    (procrastinate, graphile-worker, synapse): verify checked nothing, and must not say that
    every down.sql restores the schema."""
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "-- migrator: irreversible\n")
    write_migration(sqldir, "0002_u", "CREATE TABLE u (id INT);\n", "-- migrator: irreversible\n")
    result = cli("verify", "--url", db.url)
    assert result.code == 0, result.out + result.err
    assert result.out.splitlines() == [
        "     1  0001_t: skipped (irreversible)",
        "     2  0002_u: skipped (irreversible)",
        "verify: no down.sql was checked (2 skipped: irreversible)",
    ]


# -- a pg_dump baseline ----------------------------------------------------------------------
def test_pg_dump_restrict_lines_are_refused_with_what_to_do(postgres_db: Db, sqldir: Path, cli: Any) -> None:
    """pg_dump (17.6, 16.10, 15.14 and later) wraps its output in \\restrict KEY ... \\unrestrict
    KEY: a schema dump pasted as the first version stops there, and says what to delete."""
    write_migration(
        sqldir,
        "0001_baseline",
        "\\restrict Zq1yV9\n\nSET statement_timeout = 0;\nCREATE TABLE public.t (id integer);\n\n"
        "\\unrestrict Zq1yV9\n",
        "DROP TABLE public.t;\n",
    )
    r = cli("up", "--url", postgres_db.url)
    assert r.code == 2
    assert r.err.splitlines()[1:3] == [
        "  - 0001_baseline/up.sql:1:1: \\restrict is a psql meta-command that pg_dump writes around its "
        "output; delete the \\restrict and \\unrestrict lines (they only guard psql)",
        "  - 0001_baseline/up.sql:6:1: \\unrestrict is a psql meta-command that pg_dump writes around its "
        "output; delete the \\restrict and \\unrestrict lines (they only guard psql)",
    ]
    assert postgres_db.versions() == [] and "t" not in postgres_db.tables()


def test_a_down_that_drops_the_whole_schema_says_it_took_the_version_table(
    postgres_db: Db, sqldir: Path, cli: Any
) -> None:
    """`DROP SCHEMA public CASCADE` as the down of a baseline takes migrator's version table
    with it: the file rolls back, and the hint names the statement, not the privileges."""
    write_migration(
        sqldir,
        "0001_baseline",
        "CREATE TABLE t (id INT);\n",
        "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n",
    )
    assert cli("up", "--url", postgres_db.url).code == 0
    r = cli("down", "--yes", "--url", postgres_db.url)
    assert r.code == 1
    assert "nothing of this version was committed: the whole file was rolled back" in r.err
    assert r.err.splitlines()[-1] == (
        "hint: statement 1 of the file (DROP SCHEMA, line 1) drops migrator's version table with "
        "everything else: drop the file's own objects one by one instead"
    )
    assert postgres_db.versions() == [(1, "applied")] and "t" in postgres_db.tables()


# -- a mysqldump baseline ----------------------------------------------------------------------
_MYSQLDUMP = """/*M!999999\\- enable the sandbox mode */
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
DROP TABLE IF EXISTS `customers`;
CREATE TABLE `customers` (
  `id` int(11) NOT NULL,
  `email` varchar(100) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOCK TABLES `customers` WRITE;
/*!40000 ALTER TABLE `customers` DISABLE KEYS */;
INSERT INTO `customers` VALUES (1,'ada@example.org'),(2,'it\\'s@example.org');
/*!40000 ALTER TABLE `customers` ENABLE KEYS */;
UNLOCK TABLES;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
"""


def test_verify_runs_a_mysqldump_file_with_lock_tables(mysql_db: Db, sqldir: Path, cli: Any) -> None:
    """mysqldump writes LOCK TABLES ... WRITE around each table's rows. Under it the session
    may touch no other table, so the progress row goes through a second connection: `up` had
    one (its lock's), verify on its scratch database had none and failed."""
    write_migration(sqldir, "0001_baseline", _MYSQLDUMP, "DROP TABLE `customers`;\n")
    r = cli("verify", "--url", mysql_db.url)
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1] == "verify: every down.sql restores the schema (1 checked)"
    assert mysql_db.tables() == set()  # verify never touches the database at --url
    assert cli("up", "--url", mysql_db.url).code == 0
    assert mysql_db.query("SELECT email FROM customers ORDER BY id") == [
        ("ada@example.org",),
        ("it's@example.org",),
    ]
