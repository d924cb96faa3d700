"""`migrator import --from dbmate|golang-migrate|flyway|goose`: a foreign folder becomes version
folders that keep their versions, and then migrate up, down and up again on every dialect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.discovery import Layout
from migrator.importers.flyway import flyway_version_map
from tests.conftest import Db, Result, run_cli

USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL);\n"
SEED = (
    "-- two rows; the ';' inside the string must not split the statement\n"
    "INSERT INTO users (id, email) VALUES (1, 'a;b@example.com');\n\n"
    "INSERT INTO users (id, email) VALUES (2, 'seed@example.com');\n"
)
AUDIT = "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, note VARCHAR(100));\n"
ORDERS = "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id));\n"


def write(folder: Path, name: str, text: str, newline: str = "\n") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


# -- one realistic folder per tool: users, seed (no down), audit_log (no transaction), orders --
def dbmate_folder(root: Path) -> Path:
    src = root / "db" / "migrations"
    write(
        src,
        "20240101090000_create_users.sql",
        f"-- migrate:up\n{USERS}\n-- migrate:down\nDROP TABLE users;\n",
        newline="\r\n",
    )
    write(src, "20240102090000_seed_users.sql", f"-- migrate:up\n\n{SEED}\n")
    write(
        src,
        "20240103090000_create_audit_log.sql",
        f"-- migrate:up transaction:false\n{AUDIT}\n-- migrate:down transaction:false\n"
        "DROP TABLE audit_log;\n",
    )
    write(
        src,
        "20240104090000_create_orders.sql",
        f"-- created by dbmate new\n\n-- migrate:up\n{ORDERS}\n\n-- migrate:down\n\nDROP TABLE orders;\n\n",
    )
    return src


def golang_migrate_folder(root: Path) -> Path:
    src = root / "migrations"
    write(src, "000001_create_users.up.sql", f"BEGIN;\n{USERS}COMMIT;\n")
    write(src, "000001_create_users.down.sql", "DROP TABLE users;\n")
    write(src, "000002_seed_users.up.sql", SEED)
    write(
        src,
        "000003_create_audit_log.up.sql",
        f"-- two transactions of its own\nBEGIN;\n{AUDIT}COMMIT;\n"
        "BEGIN;\nINSERT INTO audit_log (id, note) VALUES (1, 'created');\nCOMMIT;\n",
    )
    write(src, "000003_create_audit_log.down.sql", "DROP TABLE audit_log;\n")
    write(src, "000004_create_orders.up.sql", ORDERS, newline="\r\n")
    write(src, "000004_create_orders.down.sql", "DROP TABLE orders;\n")
    return src


def flyway_folder(root: Path) -> Path:
    src = root / "src" / "main" / "resources" / "db" / "migration"
    write(src, "V1__Create_users.sql", USERS)
    write(src, "U1__Create_users.sql", "DROP TABLE users;\n")
    write(src, "V1.1__Seed users.sql", SEED)
    write(src, "V1_2__create_audit_log.sql", AUDIT)
    write(src, "V1_2__create_audit_log.sql.conf", "# run outside a transaction\nexecuteInTransaction=false\n")
    write(src, "U1_2__create_audit_log.sql", "DROP TABLE audit_log;\n")
    write(src, "release2/V2__create_orders.sql", ORDERS)
    write(src, "release2/U2__create_orders.sql", "DROP TABLE orders;\n")
    return src


def goose_folder(root: Path) -> Path:
    src = root / "goose"
    write(
        src,
        "00001_create_users.sql",
        f"-- +goose Up\n-- +goose StatementBegin\n{USERS}-- +goose StatementEnd\n\n"
        "-- +goose Down\nDROP TABLE users;\n",
    )
    write(src, "00002_seed_users.sql", f"-- +goose up\n{SEED}")
    write(
        src,
        "00003_create_audit_log.sql",
        f"-- +goose NO TRANSACTION\n-- +goose Up\n{AUDIT}\n-- +goose Down\nDROP TABLE audit_log;\n",
    )
    write(
        src,
        "00004_create_orders.sql",
        f"-- +goose Up\n{ORDERS}-- +goose Down\nDROP TABLE orders;\n",
        newline="\r\n",
    )
    return src


FOLDERS = {
    "dbmate": (dbmate_folder, [20240101090000, 20240102090000, 20240103090000, 20240104090000]),
    "golang-migrate": (golang_migrate_folder, [1, 2, 3, 4]),
    "flyway": (flyway_folder, [10, 11, 12, 20]),  # 1, 1.1, 1.2, 2
    "goose": (goose_folder, [1, 2, 3, 4]),
}


def cli(tmp: Path, *args: str) -> Result:
    return run_cli(*args, cwd=tmp)


@pytest.mark.parametrize("tool", FOLDERS)
def test_imported_folder_migrates_up_down_and_up_again(tool: str, db: Db) -> None:
    make, versions = FOLDERS[tool]
    src = make(db.tmp)
    r = cli(db.tmp, "import", "--from", tool, str(src), "--dir", "out")
    assert r.code == 0, r.err
    out = db.tmp / "out"
    folders = sorted(p.name for p in out.iterdir())
    assert [int(name.split("_", 1)[0]) for name in folders] == versions
    assert folders[0].endswith("_create_users") and folders[1].endswith("_seed_users")
    seed_down = (out / folders[1] / "down.sql").read_text()
    assert seed_down.startswith("-- migrator: irreversible\n")
    assert (out / folders[2] / "up.sql").read_text().startswith("-- migrator: no-transaction\n")
    assert "\r" not in (out / folders[3] / "up.sql").read_text()
    assert Layout(out).problems == []

    url = ("--url", db.url, "--dir", "out")
    r = cli(db.tmp, *url, "up")
    assert r.code == 0, r.err
    assert db.versions() == [(v, "applied") for v in versions]
    assert {"users", "audit_log", "orders"} <= db.tables()
    assert db.query("SELECT email FROM users WHERE id = 1") == [("a;b@example.com",)]

    r = cli(db.tmp, *url, "down", "--to", str(versions[1]), "--yes")
    assert r.code == 0, r.err
    assert [v for v, _ in db.versions()] == versions[:2]
    assert "orders" not in db.tables() and "audit_log" not in db.tables()

    r = cli(db.tmp, *url, "down", "--to", "0", "--yes")
    assert r.code == 3
    assert "irreversible" in r.err and folders[1] in r.err
    assert [v for v, _ in db.versions()] == versions[:2]

    r = cli(db.tmp, *url, "up")
    assert r.code == 0, r.err
    assert db.versions() == [(v, "applied") for v in versions]


def test_baseline_a_database_the_old_tool_migrated_then_up_applies_the_rest(db: Db) -> None:
    src = golang_migrate_folder(db.tmp)
    assert cli(db.tmp, "import", "--from", "golang-migrate", str(src)).code == 0
    db.execute(USERS.rstrip().rstrip(";"))  # what golang-migrate had applied: versions 1 and 2
    db.execute("INSERT INTO users (id, email) VALUES (1, 'a;b@example.com')")
    r = cli(db.tmp, "--url", db.url, "baseline", "2")
    assert r.code == 0, r.err
    assert db.versions() == [(1, "applied"), (2, "applied")]
    r = cli(db.tmp, "--url", db.url, "up")
    assert r.code == 0, r.err
    assert [v for v, _ in db.versions()] == [1, 2, 3, 4]
    assert db.query("SELECT COUNT(*) FROM users") == [(1,)]  # the seed did not run again


# -- what each tool's files turn into --------------------------------------------------------
def test_dbmate_sections_options_and_missing_down(tmp_path: Path) -> None:
    src = dbmate_folder(tmp_path)
    write(src, "README.md", "notes\n")
    r = cli(tmp_path, "import", "--from", "dbmate", str(src), "--dir", "out")
    assert r.code == 0, r.err
    out = tmp_path / "out"
    assert (out / "20240101090000_create_users" / "up.sql").read_text() == USERS
    assert (out / "20240101090000_create_users" / "down.sql").read_text() == "DROP TABLE users;\n"
    assert (
        out / "20240103090000_create_audit_log" / "down.sql"
    ).read_text() == "-- migrator: no-transaction\nDROP TABLE audit_log;\n"
    orders = (out / "20240104090000_create_orders" / "up.sql").read_text()
    assert orders == f"-- created by dbmate new\n\n{ORDERS}"
    assert "no `-- migrate:down` section" in r.out
    assert "skipped README.md" in r.out


def test_dbmate_empty_down_section_becomes_irreversible(tmp_path: Path) -> None:
    src = tmp_path / "m"
    write(src, "20240101000000_a.sql", "-- migrate:up\nCREATE TABLE a (id INT);\n\n-- migrate:down\n\n")
    r = cli(tmp_path, "import", "--from", "dbmate", str(src), "--dir", "out")
    assert r.code == 0, r.err
    down = (tmp_path / "out" / "20240101000000_a" / "down.sql").read_text()
    assert down.startswith("-- migrator: irreversible\n") and "held no SQL" in down


def test_dbmate_file_without_up_or_with_sql_before_it_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "m"
    write(src, "1_a.sql", "CREATE TABLE a (id INT);\n")
    write(src, "2_b.sql", "CREATE TABLE c (id INT);\n-- migrate:up\nCREATE TABLE b (id INT);\n")
    r = cli(tmp_path, "import", "--from", "dbmate", str(src), "--dir", "out")
    assert r.code == 2
    assert "1_a.sql: no `-- migrate:up` line" in r.err
    assert "2_b.sql: SQL before `-- migrate:up`" in r.err
    assert not (tmp_path / "out").exists()


def test_dbmate_name_order_that_differs_from_numeric_order_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "m"
    write(src, "9_nine.sql", "-- migrate:up\nSELECT 9;\n-- migrate:down\nSELECT 9;\n")
    write(src, "10_ten.sql", "-- migrate:up\nSELECT 10;\n-- migrate:down\nSELECT 10;\n")
    r = cli(tmp_path, "import", "--from", "dbmate", str(src), "--dir", "out")
    assert r.code == 2
    assert "name order" in r.err and "10_ten.sql" in r.err and "pad with zeros" in r.err


def test_golang_migrate_wrapper_removed_and_concurrently_marked_no_transaction(tmp_path: Path) -> None:
    src = golang_migrate_folder(tmp_path)
    write(src, "000005_index.up.sql", "CREATE INDEX CONCURRENTLY orders_user ON orders (user_id);\n")
    write(src, "000005_index.down.sql", "DROP INDEX CONCURRENTLY orders_user;\n")
    write(
        src,
        "000006_fn.up.sql",
        "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n",
    )
    write(src, "000006_fn.down.sql", "DROP FUNCTION f;\n")
    r = cli(tmp_path, "import", "--from", "golang-migrate", str(src), "--dir", "out")
    assert r.code == 0, r.err
    out = tmp_path / "out"
    assert (
        out / "000001_create_users" / "up.sql"
    ).read_text() == f"-- BEGIN;  (removed on import)\n{USERS}-- COMMIT;  (removed on import)\n"
    audit = (out / "000003_create_audit_log" / "up.sql").read_text()
    assert audit.startswith("-- migrator: no-transaction\n-- two transactions of its own\nBEGIN;\n")
    for name in ("up.sql", "down.sql"):
        assert (out / "000005_index" / name).read_text().startswith("-- migrator: no-transaction\n")
    assert not (out / "000006_fn" / "up.sql").read_text().startswith("-- migrator:")  # $$ body's END
    assert "golang-migrate had no down file" in r.out


def test_golang_migrate_down_without_up_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "m"
    write(src, "1_a.up.sql", "SELECT 1;\n")
    write(src, "2_b.down.sql", "SELECT 2;\n")
    r = cli(tmp_path, "import", "--from", "golang-migrate", str(src), "--dir", "out")
    assert r.code == 2 and "2_b.down.sql: a down file without an up file" in r.err


def test_flyway_undo_conf_and_dotted_versions(tmp_path: Path) -> None:
    src = flyway_folder(tmp_path)
    r = cli(tmp_path, "--json", "import", "--from", "flyway", str(src), "--dir", "out")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    mapping = {m["source_version"]: m["version"] for m in doc["migrations"]}
    assert mapping == {"1": 10, "1.1": 11, "1.2": 12, "2": 20}
    assert [m["folder"] for m in doc["migrations"]] == [
        "0010_create_users",
        "0011_seed_users",
        "0012_create_audit_log",
        "0020_create_orders",
    ]
    audit = next(m for m in doc["migrations"] if m["version"] == 12)
    assert audit["no_transaction"] == ["up.sql"] and not audit["irreversible"]
    assert audit["sources"] == ["V1_2__create_audit_log.sql", "U1_2__create_audit_log.sql"]
    assert next(m for m in doc["migrations"] if m["version"] == 11)["irreversible"]


def test_flyway_version_map_keeps_order_and_plain_integers() -> None:
    assert flyway_version_map([(1,), (2,), (17,)]) == {(1,): 1, (2,): 2, (17,): 17}
    versions = [(1,), (1, 1), (1, 9), (1, 10), (2,), (2, 0, 1)]
    mapped = flyway_version_map(versions)
    assert mapped == {(1,): 1000, (1, 1): 1010, (1, 9): 1090, (1, 10): 1100, (2,): 2000, (2, 0, 1): 2001}
    assert sorted(versions) == sorted(versions, key=mapped.__getitem__)


def test_flyway_versions_that_do_not_fit_a_bigint_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "fw"
    write(src, "V1__a.sql", "SELECT 1;\n")
    write(src, "V9223372036854775807.1__b.sql", "SELECT 2;\n")
    r = cli(tmp_path, "import", "--from", "flyway", str(src), "--dir", "out")
    assert r.code == 2
    assert "above 2^63-1" in r.err and "cannot keep their order" in r.err
    assert not (tmp_path / "out").exists()


def test_flyway_repeatables_and_callbacks_become_migrator_side_files(tmp_path: Path) -> None:
    """R__ files become sql/repeatable/, callbacks sql/callbacks/<event>.sql (SPEC §12); the
    callbacks of one event join in flyway's order; an event migrator has not is refused."""
    src = flyway_folder(tmp_path)
    write(src, "R__User views.sql", "CREATE VIEW user_emails AS SELECT email FROM users;\n")
    write(src, "afterMigrate__b_grants.sql", "GRANT SELECT ON users TO reporting;\n")
    write(src, "afterMigrate__a_stats.sql", "ANALYZE users;\n")
    write(src, "beforeEachMigrate.sql", "SET search_path TO app;\n")
    write(src, "beforeClean.sql", "SELECT 1;\n")
    r = cli(tmp_path, "import", "--from", "flyway", str(src), "--dir", "out")
    assert r.code == 2
    assert r.err.splitlines() == [
        "error: beforeClean.sql: a flyway callback for an event migrator has no callback for: move its "
        "SQL into a migration or into the deploy script; migrator cannot import it "
        "(--skip-unsupported imports the rest and lists it as skipped)",
        "hint: fix the source folder (or copy it and fix the copy); nothing was written",
    ]
    assert not (tmp_path / "out").exists()

    r = cli(tmp_path, "--json", "import", "--from", "flyway", str(src), "--dir", "out", "--skip-unsupported")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert [(s["file"], s["sources"]) for s in doc["side_files"]] == [
        ("callbacks/after_up.sql", ["afterMigrate__a_stats.sql", "afterMigrate__b_grants.sql"]),
        ("callbacks/before_each.sql", ["beforeEachMigrate.sql"]),
        ("repeatable/user_views.sql", ["R__User views.sql"]),
    ]
    assert [s["file"] for s in doc["skipped"]] == ["beforeClean.sql"]
    out = tmp_path / "out"
    assert (out / "repeatable" / "user_views.sql").read_text() == (
        "CREATE VIEW user_emails AS SELECT email FROM users;\n"
    )
    assert (out / "callbacks" / "after_up.sql").read_text() == (
        "-- from afterMigrate__a_stats.sql\nANALYZE users;\n\n"
        "-- from afterMigrate__b_grants.sql\nGRANT SELECT ON users TO reporting;\n"
    )
    assert Layout(out).problems == []
    assert [r.name for r in Layout(out).repeatables("postgres")] == ["user_views"]


def test_flyway_repeatables_with_one_name_are_refused(tmp_path: Path) -> None:
    src = flyway_folder(tmp_path)
    write(src, "R__user_views.sql", "SELECT 1;\n")
    write(src, "R__User Views.sql", "SELECT 2;\n")
    r = cli(tmp_path, "import", "--from", "flyway", str(src), "--dir", "out")
    assert r.code == 2
    assert "R__user_views.sql: its name gives repeatable/user_views.sql, as R__User Views.sql does" in r.err
    assert not (tmp_path / "out").exists()


def test_an_imported_flyway_repeatable_and_callback_run_on_every_dialect(db: Db) -> None:
    src = flyway_folder(db.tmp)
    write(
        src,
        "R__user_emails.sql",
        "DROP VIEW IF EXISTS user_emails;\nCREATE VIEW user_emails AS SELECT email FROM users;\n",
    )
    write(src, "beforeMigrate.sql", "CREATE TABLE IF NOT EXISTS deploys (n INTEGER);\n")
    write(src, "afterMigrate.sql", "INSERT INTO deploys (n) SELECT COUNT(*) FROM users;\n")
    r = cli(db.tmp, "import", "--from", "flyway", str(src), "--dir", "out")
    assert r.code == 0, r.err
    assert "repeatable/user_emails.sql  <- R__user_emails.sql" in r.out
    up = cli(db.tmp, "--url", db.url, "--dir", "out", "up")
    assert up.code == 0, up.out + up.err
    assert "applied 4 versions and 1 repeatable migration (user_emails)" in up.out
    assert db.query("SELECT email FROM user_emails ORDER BY email") == [
        ("a;b@example.com",),
        ("seed@example.com",),
    ]
    assert db.query("SELECT n FROM deploys") == [(2,)]


def test_flyway_placeholders_and_misnamed_files_are_warned_about(tmp_path: Path) -> None:
    src = tmp_path / "fw"
    write(src, "V1__a.sql", "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (${tenant_id});\n")
    write(src, "V2_b.sql", "SELECT 2;\n")  # one underscore: flyway never ran it
    r = cli(tmp_path, "import", "--from", "flyway", str(src), "--dir", "out")
    assert r.code == 0, r.err
    assert "V1__a.sql: flyway replaced placeholders here (${tenant_id})" in r.err
    assert "V2_b.sql: not imported: looks like a migration" in r.err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["0001_a"]


def test_goose_annotations_and_go_migrations(tmp_path: Path) -> None:
    src = goose_folder(tmp_path)
    write(src, "00005_backfill.go", "package migrations\n")
    r = cli(tmp_path, "import", "--from", "goose", str(src), "--dir", "out")
    assert r.code == 2 and "00005_backfill.go: a goose Go migration" in r.err
    r = cli(tmp_path, "import", "--from", "goose", str(src), "--dir", "out", "--skip-unsupported")
    assert r.code == 0, r.err
    out = tmp_path / "out"
    assert (out / "00001_create_users" / "up.sql").read_text() == USERS
    assert (
        out / "00003_create_audit_log" / "down.sql"
    ).read_text() == "-- migrator: no-transaction\nDROP TABLE audit_log;\n"


def test_goose_unknown_annotation_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "g"
    write(src, "1_a.sql", "-- +goose Up\nSELECT 1;\n-- +goose Sideways\n")
    r = cli(tmp_path, "import", "--from", "goose", str(src), "--dir", "out")
    assert r.code == 2 and "unknown goose annotation" in r.err


# -- failure paths and options ------------------------------------------------------------------
def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    r = cli(tmp_path, "import", "--from", "liquibase", "x")
    assert r.code == 2 and "invalid choice: 'liquibase'" in r.err
    r = cli(tmp_path, "--json", "import", "--from", "liquibase", "x")
    assert r.code == 2 and json.loads(r.out)["exit_code"] == 2


def test_missing_or_unreadable_source_folder_exits_2(tmp_path: Path) -> None:
    r = cli(tmp_path, "import", "--from", "dbmate", "nowhere")
    assert r.code == 2 and "source folder nowhere does not exist" in r.err
    write(tmp_path, "file.sql", "SELECT 1;\n")
    r = cli(tmp_path, "import", "--from", "dbmate", "file.sql")
    assert r.code == 2 and "is not a folder" in r.err
    src = tmp_path / "m"
    (src / "1_bad.up.sql").parent.mkdir()
    (src / "1_bad.up.sql").write_bytes(b"SELECT '\xff';\n")
    r = cli(tmp_path, "import", "--from", "golang-migrate", str(src), "--dir", "out")
    assert r.code == 2 and "1_bad.up.sql: invalid utf-8 at byte offset 8" in r.err


def test_folder_without_migrations_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = cli(tmp_path, "import", "--from", "golang-migrate", "empty", "--dir", "out")
    assert r.code == 2 and "no golang-migrate migrations found" in r.err


def test_destination_that_is_not_empty_is_refused_and_left_alone(tmp_path: Path) -> None:
    src = golang_migrate_folder(tmp_path)
    write(tmp_path / "sql", "0001_mine/up.sql", "SELECT 1;\n")
    r = cli(tmp_path, "import", "--from", "golang-migrate", str(src))
    assert r.code == 2
    assert "destination sql is not empty (0001_mine)" in r.err
    assert "never merges into or overwrites" in r.err and "--dir NEW_DIR" in r.err
    assert [p.name for p in (tmp_path / "sql").iterdir()] == ["0001_mine"]


def test_empty_destination_with_hidden_files_is_used(tmp_path: Path) -> None:
    src = goose_folder(tmp_path)
    write(tmp_path / "sql", ".gitkeep", "")
    r = cli(tmp_path, "import", "--from", "goose", str(src))
    assert r.code == 0, r.err
    assert sorted(p.name for p in (tmp_path / "sql").iterdir()) == [
        ".gitkeep",
        "00001_create_users",
        "00002_seed_users",
        "00003_create_audit_log",
        "00004_create_orders",
    ]


@pytest.mark.parametrize(
    ("tool", "files", "needle"),
    [
        (
            "golang-migrate",
            {"1_a.up.sql": "SELECT 1;", "001_b.up.sql": "SELECT 2;"},
            "a second up file for version 1",
        ),
        (
            "dbmate",
            {"1_a.sql": "-- migrate:up\nSELECT 1;", "01_b.sql": "-- migrate:up\nSELECT 2;"},
            "version 1 is also",
        ),
        ("flyway", {"V1.1__a.sql": "SELECT 1;", "V1_1__b.sql": "SELECT 2;"}, "flyway version 1.1 is also"),
        (
            "goose",
            {"1_a.sql": "-- +goose Up\nSELECT 1;", "0001_b.sql": "-- +goose Up\nSELECT 2;"},
            "version 1 is also",
        ),
    ],
)
def test_duplicate_versions_are_refused(
    tmp_path: Path, tool: str, files: dict[str, str], needle: str
) -> None:
    src = tmp_path / "src"
    for name, text in files.items():
        write(src, name, text + "\n")
    r = cli(tmp_path, "import", "--from", tool, str(src), "--dir", "out")
    assert r.code == 2, r.out
    assert needle in r.err and "nothing was written" in r.err
    assert not (tmp_path / "out").exists()


def test_dry_run_prints_the_files_and_writes_nothing(tmp_path: Path) -> None:
    src = dbmate_folder(tmp_path)
    r = cli(tmp_path, "import", "--from", "dbmate", str(src), "--dry-run")
    assert r.code == 0, r.err
    assert not (tmp_path / "sql").exists()
    assert r.out.startswith("dry run: would write 4 versions")
    assert "-- sql/20240103090000_create_audit_log/up.sql\n-- migrator: no-transaction\n" in r.out
    r = cli(tmp_path, "--json", "import", "--from", "dbmate", str(src), "--dry-run")
    doc = json.loads(r.out)
    assert doc["ok"] and doc["dry_run"] and doc["migrations"][0]["up_sql"] == USERS
    assert not (tmp_path / "sql").exists()


def test_json_failure_is_one_document(tmp_path: Path) -> None:
    src = flyway_folder(tmp_path)
    write(src, "beforeClean.sql", "SELECT 1;\n")
    r = cli(tmp_path, "import", "--from", "flyway", str(src), "--json")
    assert r.code == 2
    doc = json.loads(r.out)
    assert doc["ok"] is False and doc["error"]["kind"] == "layout"
    assert any("beforeClean.sql" in p for p in doc["error"]["problems"])


def test_imported_folder_passes_offline_validation(tmp_path: Path) -> None:
    src = flyway_folder(tmp_path)
    assert cli(tmp_path, "import", "--from", "flyway", str(src)).code == 0
    assert cli(tmp_path, "hash").code == 0
    r = cli(tmp_path, "validate", "--offline")
    assert r.code == 0, r.out + r.err
