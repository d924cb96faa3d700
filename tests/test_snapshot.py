"""Schema snapshots (SPEC §6.1, §9): read from each catalog, compared object by object."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrator.snapshot import Difference, Schema, SchemaObject, diff, render_text, take_snapshot, to_json
from migrator.snapshot.model import build_schema
from tests.conftest import Db, connected

VERSION_TABLES = {"schema_version", "schema_version_history"}
EXAMPLE_TABLES = {"request_logs", "mock_servers", "scenarios", "webhooks", "webhook_deliveries"}


# -- helpers ------------------------------------------------------------------------------------


def snapshot(db: Db, exclude: set[str] = VERSION_TABLES) -> Schema:
    with connected(db) as dialect:
        return take_snapshot(dialect, exclude)


def _empty_sqlite(db: Db) -> None:
    Path(db.parsed.database).unlink(missing_ok=True)


def _empty_postgres(db: Db) -> None:
    db.execute("DROP SCHEMA public CASCADE")
    db.execute("CREATE SCHEMA public")


def _empty_mysql(db: Db) -> None:
    server = Db(db.dialect, db.parsed.with_database("information_schema").raw, db.tmp)
    server.execute(f"DROP DATABASE {db.parsed.database}")
    server.execute(f"CREATE DATABASE {db.parsed.database}")


EMPTY: dict[str, Callable[[Db], None]] = {
    "sqlite": _empty_sqlite,
    "postgres": _empty_postgres,
    "mysql": _empty_mysql,
}


def build(db: Db, statements: list[str]) -> Schema:
    """Empty the scratch database, run `statements` in it, and snapshot it."""
    EMPTY[db.dialect](db)
    for statement in statements:
        db.execute(statement)
    return snapshot(db)


# A small schema in portable SQL, and variants of it made by editing its text.
BASE = [
    "CREATE TABLE servers (id VARCHAR(50) NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, "
    "status VARCHAR(20) NOT NULL DEFAULT 'stopped', note VARCHAR(200), "
    "CONSTRAINT uq_servers_name UNIQUE (name))",
    "CREATE TABLE scenarios (id INTEGER NOT NULL PRIMARY KEY, server_id VARCHAR(50) NOT NULL, "
    "title VARCHAR(255), CONSTRAINT fk_scenarios_server_id FOREIGN KEY (server_id) "
    "REFERENCES servers (id) ON DELETE CASCADE)",
    "CREATE INDEX idx_scenarios_title ON scenarios (title)",
    "CREATE VIEW running_servers AS SELECT id, name FROM servers WHERE status = 'running'",
]

TOUCH_TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER trg_servers_touch AFTER UPDATE ON servers "
        "BEGIN UPDATE servers SET note = 'touched' WHERE id = NEW.id; END"
    ],
    "postgres": [
        "CREATE FUNCTION touch_server() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.note := 'touched'; RETURN NEW; END $$",
        "CREATE TRIGGER trg_servers_touch BEFORE UPDATE ON servers "
        "FOR EACH ROW EXECUTE FUNCTION touch_server()",
    ],
    "mysql": [
        "CREATE TRIGGER trg_servers_touch BEFORE UPDATE ON servers FOR EACH ROW SET NEW.note = 'touched'"
    ],
}


def edited(old: str, new: str) -> list[str]:
    text = "\n;\n".join(BASE)
    assert old in text, old
    return [s for s in text.replace(old, new).split("\n;\n") if s.strip()]


def compare(db: Db, after: list[str]) -> list[Difference]:
    """What differs between BASE and `after`, as verify sees it: before up vs after down."""
    return diff(build(db, BASE), build(db, after))


def described(differences: list[Difference]) -> list[str]:
    return [d.describe("before up", "after down") for d in differences]


def keys(differences: list[Difference]) -> list[tuple[str, str, str]]:
    return [(d.kind, d.name, d.change) for d in differences]


def varchar(db: Db, size: int) -> str:
    return f"character varying({size})" if db.dialect == "postgres" else f"varchar({size})"


# -- equal schemas ------------------------------------------------------------------------------

ORDER_A = [
    "CREATE TABLE parent (id INTEGER NOT NULL PRIMARY KEY, code VARCHAR(20) NOT NULL, name VARCHAR(100), "
    "UNIQUE (code), UNIQUE (name))",
    "CREATE TABLE child (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER NOT NULL, other_id INTEGER, "
    "qty INTEGER NOT NULL DEFAULT 1, CHECK (qty > 0), CHECK (qty < 1000), "
    "FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE, "
    "FOREIGN KEY (other_id) REFERENCES parent (id))",
    "CREATE INDEX idx_child_qty ON child (qty)",
    "CREATE TABLE notes (id INTEGER NOT NULL PRIMARY KEY, body TEXT)",
    "CREATE INDEX idx_notes_body ON notes (id DESC)",
    "CREATE VIEW child_totals AS SELECT parent_id, SUM(qty) AS total FROM child GROUP BY parent_id",
]
# The same schema: other statement order, constraints of one kind listed the other way round.
ORDER_B = [
    "CREATE TABLE notes (id INTEGER NOT NULL PRIMARY KEY, body TEXT)",
    "CREATE TABLE parent (id INTEGER NOT NULL PRIMARY KEY, code VARCHAR(20) NOT NULL, name VARCHAR(100), "
    "UNIQUE (name), UNIQUE (code))",
    "CREATE TABLE child (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER NOT NULL, other_id INTEGER, "
    "qty INTEGER NOT NULL DEFAULT 1, CHECK (qty < 1000), CHECK (qty > 0), "
    "FOREIGN KEY (other_id) REFERENCES parent (id), "
    "FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE)",
    "CREATE VIEW child_totals AS SELECT parent_id, SUM(qty) AS total FROM child GROUP BY parent_id",
    "CREATE INDEX idx_notes_body ON notes (id DESC)",
    "CREATE INDEX idx_child_qty ON child (qty)",
]


def test_same_schema_built_in_another_order_gives_an_equal_snapshot(db: Db) -> None:
    first = build(db, ORDER_A)
    second = build(db, ORDER_B)
    assert described(diff(first, second)) == []
    assert first == second
    assert render_text(first) == render_text(second)
    # the made-up constraint names are not what the objects are known by
    assert len(first.of_kind("check")) == 2 and len(first.of_kind("foreign-key")) == 2
    assert len(first.of_kind("unique")) == 2


def test_render_text_is_byte_identical_across_snapshots_and_names_no_database(
    db: Db, example_sql: Path, cli: Any
) -> None:
    assert cli("up", "--url", db.url, "--dir", str(example_sql)).code == 0
    first, second = snapshot(db), snapshot(db)
    assert render_text(first).encode() == render_text(second).encode()
    assert json.dumps(to_json(first), sort_keys=True) == json.dumps(to_json(second), sort_keys=True)
    if db.dialect != "sqlite":
        assert db.parsed.database not in render_text(first)


def test_version_tables_are_left_out_with_everything_on_them(db: Db) -> None:
    build(
        db,
        [
            "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))",
            "CREATE TABLE schema_version_history (id INTEGER NOT NULL PRIMARY KEY, version INTEGER)",
            "CREATE INDEX idx_history_version ON schema_version_history (version)",
            "CREATE TABLE app (id INTEGER NOT NULL PRIMARY KEY)",
        ],
    )
    schema = snapshot(db, exclude=VERSION_TABLES)
    assert schema.names("table") == ["app"]
    assert {o.table for o in schema if o.table} == {"app"}
    unfiltered = snapshot(db, exclude=set())
    assert set(unfiltered.names("table")) == {"app", *VERSION_TABLES}
    assert "schema_version_history.idx_history_version" in unfiltered.names("index")


# -- each kind of difference, found and named ---------------------------------------------------


def test_missing_index_is_reported(db: Db) -> None:
    differences = compare(db, edited("CREATE INDEX idx_scenarios_title ON scenarios (title)", ""))
    assert described(differences) == ["index idx_scenarios_title on scenarios: only before up"]


def test_missing_column_is_reported(db: Db) -> None:
    differences = compare(db, edited("note VARCHAR(200), ", ""))
    assert described(differences) == ["column servers.note: only before up"]


def test_column_with_another_type_is_reported(db: Db) -> None:
    differences = compare(db, edited("note VARCHAR(200)", "note TEXT"))
    assert keys(differences) == [("column", "servers.note", "changed")]
    assert differences[0].changed_properties() == ["type"]
    assert str(differences[0]) == f"column servers.note: type text, was {varchar(db, 200)}"
    assert described(differences) == [
        f"column servers.note: type {varchar(db, 200)} before up, text after down"
    ]


def test_column_with_another_default_is_reported(db: Db) -> None:
    differences = compare(db, edited("DEFAULT 'stopped'", "DEFAULT 'idle'"))
    assert keys(differences) == [("column", "servers.status", "changed")]
    assert differences[0].changed_properties() == ["default"]
    (text,) = described(differences)
    assert text.startswith("column servers.status: default 'stopped'")
    assert "'idle'" in text and text.endswith("after down")


def test_foreign_key_that_lost_on_delete_cascade_is_reported(db: Db) -> None:
    differences = compare(db, edited(" ON DELETE CASCADE", ""))
    assert keys(differences) == [("foreign-key", "scenarios.fk_scenarios_server_id", "changed")]
    assert differences[0].changed_properties() == ["on_delete"]
    no_action = "RESTRICT" if db.dialect == "mysql" else "NO ACTION"  # MariaDB reports its default so
    fk = "foreign key fk_scenarios_server_id on scenarios"
    assert described(differences) == [f"{fk}: on delete CASCADE before up, {no_action} after down"]
    assert str(differences[0]) == f"{fk}: on delete {no_action}, was CASCADE"


def test_view_recreated_with_another_definition_is_reported(db: Db) -> None:
    differences = compare(db, edited("status = 'running'", "status = 'started'"))
    assert keys(differences) == [("view", "running_servers", "changed")]
    (text,) = described(differences)
    assert text.startswith("view running_servers: definition ")
    assert "'running'" in text and "'started'" in text


def test_view_written_with_other_spacing_and_case_is_equal(db: Db) -> None:
    differences = compare(
        db,
        edited(
            "CREATE VIEW running_servers AS SELECT id, name FROM servers",
            "CREATE VIEW running_servers AS\n  select id,name\n  from   servers",
        ),
    )
    assert described(differences) == []


def test_trigger_left_behind_is_reported(db: Db) -> None:
    differences = compare(db, BASE + TOUCH_TRIGGER[db.dialect])
    assert "trigger trg_servers_touch on servers: only after down" in described(differences)
    assert {d.change for d in differences} == {"added"}


def test_missing_unique_constraint_is_reported(db: Db) -> None:
    differences = compare(db, edited(", CONSTRAINT uq_servers_name UNIQUE (name)", ""))
    assert described(differences) == ["unique uq_servers_name on servers: only before up"]


def test_changed_nullability_is_reported(db: Db) -> None:
    differences = compare(db, edited("title VARCHAR(255)", "title VARCHAR(255) NOT NULL"))
    assert described(differences) == ["column scenarios.title: nullable before up, not nullable after down"]
    assert str(differences[0]) == "column scenarios.title: not nullable, was nullable"


@pytest.mark.dialect_only("postgres")
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_enum_type_with_an_extra_value_is_reported(db: Db) -> None:
    mood = "CREATE TYPE mood AS ENUM ('calm', 'busy')"
    differences = diff(build(db, [mood]), build(db, [mood, "ALTER TYPE mood ADD VALUE 'gone'"]))
    assert described(differences) == [
        "enum mood: values (calm, busy) before up, (calm, busy, gone) after down"
    ]


# -- the bundled example ------------------------------------------------------------------------


def test_example_snapshot_lists_its_tables_keys_and_indexes(db: Db, example_sql: Path, cli: Any) -> None:
    result = cli("up", "--url", db.url, "--dir", str(example_sql))
    assert result.code == 0, result.out + result.err
    schema = snapshot(db)
    assert set(schema.names("table")) == EXAMPLE_TABLES
    assert not VERSION_TABLES & {o.table or o.name for o in schema}
    (fk,) = [fk for fk in schema.of_kind("foreign-key") if fk.table == "scenarios"]
    assert fk.name == "scenarios.fk_scenarios_server_id"
    assert {k: fk.properties[k] for k in ("columns", "references", "referenced_columns", "on_delete")} == {
        "columns": ("server_id",),
        "references": "mock_servers",
        "referenced_columns": ("id",),
        "on_delete": "CASCADE",
    }
    assert {
        "request_logs.idx_request_logs_timestamp",
        "request_logs.idx_request_logs_server_id",
        "scenarios.idx_scenarios_name",
        "scenarios.idx_scenarios_server_id",
        "scenarios.idx_scenarios_is_active",
        "webhooks.idx_webhooks_server_id",
        "webhook_deliveries.idx_webhook_deliveries_webhook_id",
    } <= set(schema.names("index"))
    assert "scenarios.uq_scenarios_name_server_id" in schema.names("unique")
    text = render_text(schema)
    assert "schema_version" not in text
    assert "foreign key fk_scenarios_server_id: columns (server_id), references mock_servers" in text


def test_example_down_restores_the_snapshot_taken_before_each_up(db: Db, example_sql: Path, cli: Any) -> None:
    before_up = {0: snapshot(db)}
    for version in range(1, 5):
        result = cli("up", "--to", str(version), "--url", db.url, "--dir", str(example_sql))
        assert result.code == 0, result.out + result.err
        before_up[version] = snapshot(db)
        assert before_up[version] != before_up[version - 1]
    for version in range(4, 0, -1):
        result = cli("down", "--yes", "--to", str(version - 1), "--url", db.url, "--dir", str(example_sql))
        assert result.code == 0, result.out + result.err
        after_down = snapshot(db)
        assert described(diff(before_up[version - 1], after_down)) == [], f"down of version {version}"


# -- the model on its own -----------------------------------------------------------------------


def _schema(*objects: SchemaObject) -> Schema:
    return build_schema("sqlite", objects)


def test_difference_wording_is_neutral_and_can_be_labelled() -> None:
    left = _schema(
        SchemaObject.make("column", "t.c", "t", position=1, type="varchar(255)", nullable=True, default=None),
        SchemaObject.make("index", "t.idx_x", "t", columns=("c",)),
    )
    right = _schema(
        SchemaObject.make("column", "t.c", "t", position=1, type="text", nullable=True, default="'x'"),
        SchemaObject.make("primary-key", "t", "t", columns=("c",)),
    )
    differences = diff(left, right)
    assert [str(d) for d in differences] == [
        "column t.c: type text, was varchar(255); default 'x', was no default",
        "primary key on t: only in the right schema",
        "index idx_x on t: only in the left schema",
    ]
    assert [d.describe("in the migrations", "in the database") for d in differences] == [
        "column t.c: type varchar(255) in the migrations, text in the database; "
        "no default in the migrations, 'x' in the database",
        "primary key on t: only in the database",
        "index idx_x on t: only in the migrations",
    ]


def test_long_definitions_are_shown_around_their_first_difference() -> None:
    body = "select id, name, status, note, created_at, updated_at from servers where status = "
    left = _schema(SchemaObject.make("view", "v", definition=body + "'running'"))
    right = _schema(SchemaObject.make("view", "v", definition=body + "'started'"))
    (difference,) = diff(left, right)
    assert str(difference) == (
        "view v: definition '... servers where status = 'started'', "
        "was '... servers where status = 'running''"
    )


def test_objects_with_the_same_content_key_are_numbered_whatever_their_order() -> None:
    a = SchemaObject.make("check", "t(x > 0)", "t", expression="x > 0", note="a")
    b = SchemaObject.make("check", "t(x > 0)", "t", expression="x > 0", note="b")
    assert _schema(a, b) == _schema(b, a)
    assert _schema(a, b).names("check") == ["t(x > 0)", "t(x > 0) #2"]


def test_render_text_groups_parts_under_their_table() -> None:
    schema = _schema(
        SchemaObject.make("view", "v", definition="select 1"),
        SchemaObject.make("index", "t.idx_x", "t", columns=("b", "a DESC"), unique=False, predicate=None),
        SchemaObject.make("column", "t.b", "t", position=2, type="int", nullable=False),
        SchemaObject.make("column", "t.a", "t", position=1, type="int", nullable=True),
        SchemaObject.make("table", "t"),
    )
    assert render_text(schema) == (
        "-- schema snapshot (sqlite), written by migrator\n"
        "\n"
        "table t\n"
        "  column a: position 1, type int, nullable\n"
        "  column b: position 2, type int, not nullable\n"
        "  index idx_x: columns (b, a DESC), not unique\n"
        "\n"
        "view v: definition select 1\n"
    )
