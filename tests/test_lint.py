"""`migrator lint` (SPEC §11): static rules, suppressions, [lint] settings, exit codes, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.lint import rules as R
from migrator.lint.engine import LintConfig, lint, merge, select
from migrator.lint.model import ERROR, WARNING, Lock, Measured, TableSize
from tests.conftest import Db, run_cli, write_migration

EXAMPLE = Path(__file__).resolve().parent.parent / "sql"

# (dialects, statement, rules expected). Every statement runs after SETUP on a context where
# `users`, `orders` exist already (earlier, applied versions) and `fresh` was created in this run.
SETUP = "CREATE TABLE fresh (id int);\nCREATE INDEX fresh_idx ON fresh (id)"
ANY = R.ALL
CORPUS: list[tuple[tuple[str, ...], str, set[str]]] = [
    # destructive: positives
    (ANY, "DROP TABLE users", {"drop-table"}),
    (ANY, "drop table if exists users, orders", {"drop-table"}),
    (ANY, "ALTER TABLE users DROP COLUMN email", {"drop-column"}),
    (("mysql",), "ALTER TABLE users DROP email", {"drop-column"}),
    (("postgres", "mysql"), "TRUNCATE users", {"truncate"}),
    (("postgres", "mysql"), "TRUNCATE TABLE orders", {"truncate"}),
    (("postgres",), "DROP SCHEMA billing CASCADE", {"drop-schema"}),
    (("mysql",), "DROP DATABASE billing", {"drop-schema"}),
    (ANY, "DELETE FROM users", {"delete-without-where"}),
    (ANY, "UPDATE users SET active = 1", {"update-without-where"}),
    (ANY, "UPDATE users SET note = 'where is it'", {"update-without-where"}),
    # destructive: safe forms
    (ANY, "DROP TABLE fresh", set()),
    (ANY, "DELETE FROM users WHERE id < 1000", set()),
    (ANY, "UPDATE users SET active = 1 WHERE active IS NULL", set()),
    (ANY, "DELETE FROM fresh", set()),
    (ANY, "ALTER TABLE users DROP CONSTRAINT users_email_key", set()),
    (("postgres",), "ALTER TABLE fresh DROP COLUMN id", set()),
    (("postgres",), "TRUNCATE fresh", set()),
    # data-dependent
    (ANY, "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)", {"add-unique"}),
    (("sqlite", "mysql"), "CREATE UNIQUE INDEX users_email ON users (email)", {"add-unique"}),
    (("postgres",), "CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email)", set()),
    (("postgres",), "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email", set()),
    (("sqlite",), "CREATE UNIQUE INDEX fresh_u ON fresh (id)", set()),
    (("postgres",), "ALTER TABLE users ALTER COLUMN email SET NOT NULL", {"set-not-null"}),
    (("postgres",), "ALTER TABLE users ADD COLUMN age int NOT NULL", {"add-column-not-null"}),
    (("sqlite",), "ALTER TABLE users ADD COLUMN age int NOT NULL", {"add-column-not-null"}),
    (("postgres", "sqlite"), "ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0", set()),
    (("postgres", "sqlite"), "ALTER TABLE users ADD COLUMN age int", set()),
    (
        ("postgres",),
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(20)",
        {"narrowing-type", "column-type-rewrite"},
    ),
    (
        ("mysql",),
        "ALTER TABLE users MODIFY name VARCHAR(20), ALGORITHM=INPLACE, LOCK=NONE",
        {"narrowing-type"},
    ),
    (("postgres",), "ALTER TABLE users ALTER COLUMN name TYPE text", set()),
    # renames
    (ANY, "ALTER TABLE users RENAME COLUMN name TO full_name", {"rename-column"}),
    (ANY, "ALTER TABLE users RENAME TO people", {"rename-table"}),
    (("mysql",), "RENAME TABLE users TO people", {"rename-table"}),
    (
        ("mysql",),
        "ALTER TABLE users CHANGE name full_name VARCHAR(200), ALGORITHM=INPLACE, LOCK=NONE",
        {"rename-column", "narrowing-type"},
    ),
    (ANY, "ALTER TABLE fresh RENAME TO fresher", set()),
    # postgres index builds and drops
    (("postgres",), "CREATE INDEX users_name ON users (name)", {"create-index-not-concurrently"}),
    (
        ("postgres",),
        'CREATE INDEX "users_name" ON public."users" USING btree (name)',
        {"create-index-not-concurrently"},
    ),
    (("postgres",), "CREATE INDEX CONCURRENTLY users_name ON users (name)", set()),
    (("postgres",), "CREATE INDEX IF NOT EXISTS fresh_id2 ON fresh (id)", set()),
    (("sqlite", "mysql"), "CREATE INDEX users_name ON users (name)", set()),
    (("postgres",), "DROP INDEX users_name", {"drop-index-not-concurrently"}),
    (("postgres",), "DROP INDEX CONCURRENTLY users_name", set()),
    (("postgres",), "DROP INDEX fresh_idx", set()),
    # constraints without NOT VALID (postgres)
    (
        ("postgres",),
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)",
        {"constraint-not-valid"},
    ),
    (("postgres",), "ALTER TABLE orders ADD CONSTRAINT pos CHECK (total >= 0)", {"constraint-not-valid"}),
    (("postgres",), "ALTER TABLE orders ADD CONSTRAINT pos CHECK (total >= 0) NOT VALID", set()),
    (
        ("postgres",),
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
        set(),
    ),
    (("postgres",), "ALTER TABLE orders VALIDATE CONSTRAINT pos", set()),
    (
        ("postgres",),
        "ALTER TABLE orders ADD COLUMN user_id int REFERENCES users (id)",
        {"constraint-not-valid"},
    ),
    # type changes that rewrite (postgres)
    (("postgres",), "ALTER TABLE orders ALTER COLUMN total TYPE bigint", {"column-type-rewrite"}),
    (("postgres",), "ALTER TABLE orders ALTER COLUMN total SET DATA TYPE numeric", {"column-type-rewrite"}),
    (("postgres",), "ALTER TABLE orders ALTER COLUMN note TYPE varchar", set()),
    # volatile defaults (postgres)
    (
        ("postgres",),
        "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()",
        {"volatile-default"},
    ),
    (
        ("postgres",),
        "ALTER TABLE orders ADD COLUMN seen timestamptz DEFAULT clock_timestamp()",
        {"volatile-default"},
    ),
    (("postgres",), "ALTER TABLE orders ADD COLUMN n bigserial", {"volatile-default"}),
    (("postgres",), "ALTER TABLE orders ADD COLUMN created timestamptz DEFAULT now()", set()),
    (("postgres",), "ALTER TABLE orders ADD COLUMN token uuid", set()),
    # mysql DDL that cannot run online
    (("mysql",), "ALTER TABLE orders MODIFY total BIGINT", {"mysql-not-online"}),
    (("mysql",), "ALTER TABLE orders ADD COLUMN note TEXT AFTER id", {"mysql-not-online"}),
    (("mysql",), "ALTER TABLE orders ADD PRIMARY KEY (id)", {"mysql-not-online"}),
    (("mysql",), "ALTER TABLE orders CONVERT TO CHARACTER SET utf8mb4", {"mysql-not-online"}),
    (("mysql",), "ALTER TABLE orders ADD FULLTEXT INDEX ft (note)", {"mysql-not-online"}),
    (("mysql",), "ALTER TABLE orders MODIFY total BIGINT, ALGORITHM=INSTANT", set()),
    (("mysql",), "ALTER TABLE orders ADD COLUMN note TEXT", set()),
    (("mysql",), "ALTER TABLE orders ADD COLUMN note TEXT AFTER id, ALGORITHM=INPLACE, LOCK=NONE", set()),
    (("mysql",), "ALTER TABLE orders ADD INDEX by_note (note(10))", set()),
    # comments and strings never count
    (ANY, "-- DROP TABLE users\nSELECT 'DROP TABLE users'", set()),
    (ANY, "/* DELETE FROM users */ INSERT INTO users (name) VALUES ('x')", set()),
    (("postgres",), "CREATE FUNCTION f() RETURNS void AS $$ DELETE FROM users $$ LANGUAGE sql", set()),
    (("postgres",), "UPDATE users SET city = data #>> '{city}' WHERE city IS NULL", set()),
    (("mysql",), "UPDATE users SET active = 1 # WHERE id = 1", {"update-without-where"}),
    (("mysql",), "/*!50700 DROP TABLE users */", {"drop-table"}),
]


def _hits(dialect: str, statement: str) -> set[str]:
    ctx = R.Context(dialect)
    for setup in SETUP.split(";\n"):
        list(R.statement_hits(R.flatten(setup, dialect), ctx))
    return {
        rule
        for rule, _ in R.statement_hits(R.flatten(statement, dialect), ctx)
        if dialect in R.RULES[rule].dialects
    }


def _corpus_cases() -> list[tuple[str, str, set[str]]]:
    return [(d, s, want) for dialects, s, want in CORPUS for d in dialects]


def test_the_corpus_is_big_enough_and_every_rule_has_a_case() -> None:
    assert len(CORPUS) >= 60
    covered = {r for _, _, want in CORPUS for r in want}
    file_level = {"missing-lock-timeout", "mysql-mixed-ddl-data", "down-cannot-restore"}
    assert covered | file_level == set(R.RULES)


@pytest.mark.parametrize(("dialect", "statement", "want"), _corpus_cases())
def test_corpus(dialect: str, statement: str, want: set[str]) -> None:
    assert _hits(dialect, statement) == want


def _file_hits(dialect: str, *files: str) -> list[set[str]]:
    """The rules each statement of the last file breaks; earlier files deploy with it (a
    database's pending versions), and `users` exists already."""
    ctx = R.Context(dialect)
    out: list[set[str]] = []
    for text in files:
        ctx.start_file(same_run=True)
        out = [
            {r for r, _ in R.statement_hits(R.flatten(st, dialect), ctx) if dialect in R.RULES[r].dialects}
            for st in text.split(";\n")
        ]
    return out


ADD_TOKEN = "ALTER TABLE users ADD COLUMN token varchar(40)"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_unique_index_on_a_column_this_file_just_added_cannot_meet_a_duplicate(dialect: str) -> None:
    # procrastinate 0.8.1 (docs/lint.md, "Lint on a real project"): ADD COLUMN queueing_lock,
    # then CREATE UNIQUE INDEX on it. Every row holds NULL there: no duplicate can fail it
    pg = {"create-index-not-concurrently"} if dialect == "postgres" else set()
    index = "CREATE UNIQUE INDEX users_token ON users (token)"
    assert _file_hits(dialect, f"{ADD_TOKEN};\n{index}")[1] == pg
    partial = "CREATE UNIQUE INDEX users_token ON users (token) WHERE id > 0"
    assert _file_hits(dialect, f"{ADD_TOKEN};\n{partial}")[1] == pg
    constraint = "ALTER TABLE users ADD CONSTRAINT users_token_key UNIQUE (token)"
    assert _file_hits(dialect, f"{ADD_TOKEN};\n{constraint}")[1] == set()
    # ... but it can as soon as the rows may hold values, or the index is not on new columns only
    unique = {"add-unique"} | pg
    for before in (
        "UPDATE users SET token = 'x' WHERE id = 1",
        "INSERT INTO users (id, token) VALUES (1, 'x')",
        "SELECT fill_tokens()",
    ):
        assert _file_hits(dialect, f"{ADD_TOKEN};\n{before};\n{index}")[2] == unique, before
    assert _file_hits(dialect, f"{ADD_TOKEN} DEFAULT 'x';\n{index}")[1] == unique
    assert _file_hits(dialect, f"{ADD_TOKEN} NOT NULL;\n{index}")[1] == unique
    both = "CREATE UNIQUE INDEX users_token ON users (token, email)"
    assert _file_hits(dialect, f"{ADD_TOKEN};\n{both}")[1] == unique
    assert _file_hits(dialect, f"{ADD_TOKEN};\nCREATE UNIQUE INDEX u ON users (lower(token))")[1] == unique
    # added by an earlier version (maybe in production, written since): the rule speaks
    assert _file_hits(dialect, ADD_TOKEN, index)[0] == unique


def test_dropping_an_index_this_run_built_on_a_table_in_use_still_locks_it() -> None:
    # procrastinate 2.14.1 and 3.0.0 drop indexes that 0.19.0 built on procrastinate_jobs:
    # --measure saw ACCESS EXCLUSIVE on the table, the static rule said nothing
    build = "CREATE INDEX users_name ON users (name)"
    assert _file_hits("postgres", build, "DROP INDEX users_name")[0] == {"drop-index-not-concurrently"}
    assert _file_hits("postgres", build, "DROP INDEX CONCURRENTLY users_name")[0] == set()
    fresh = "CREATE TABLE fresh (id int);\nCREATE INDEX fresh_id ON fresh (id)"
    assert _file_hits("postgres", fresh, "DROP INDEX fresh_id")[0] == set()


def test_unique_nulls_not_distinct_on_a_new_column_still_warns() -> None:
    index = "CREATE UNIQUE INDEX users_token ON users (token) NULLS NOT DISTINCT"
    assert _file_hits("postgres", f"{ADD_TOKEN};\n{index}")[1] == {
        "add-unique",
        "create-index-not-concurrently",
    }


# -- through the command line -------------------------------------------------------------------


def _lint(tmp: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_cli("lint", *args, cwd=tmp, env=env)


def _doc(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(result.out)


def test_no_finding_exits_0_and_says_ok(tmp_path: Path, sqldir: Path) -> None:
    write_migration(
        sqldir, "0001_users", "CREATE TABLE users (id int);\nCREATE INDEX users_id ON users (id);\n"
    )
    r = _lint(tmp_path)
    assert (r.code, r.err) == (0, "")
    assert r.out.strip() == "ok: 0 errors, 0 warnings"


def test_an_error_level_finding_exits_3_on_every_dialect_with_json(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int, email text);\n")
    write_migration(sqldir, "0002_drop_email", "ALTER TABLE users DROP COLUMN email;\n")
    r = _lint(tmp_path, "--format", "json")
    assert r.code == 3, r.err
    doc = _doc(r)
    assert doc["ok"] is False and doc["exit_code"] == 3
    drops = [f for f in doc["findings"] if f["rule"] == "drop-column"]
    assert sorted(f["dialect"] for f in drops) == ["mysql", "postgres", "sqlite"]
    first = drops[0]
    assert set(first) >= {
        "rule",
        "severity",
        "dialect",
        "version",
        "file",
        "line",
        "column",
        "statement",
        "message",
        "hint",
        "locks",
        "rewrites",
        "tables",
    }
    assert (first["severity"], first["version"], first["file"], first["line"], first["column"]) == (
        "error",
        2,
        "0002_drop_email/up.sql",
        1,
        1,
    )
    assert first["statement"] == "ALTER TABLE users DROP COLUMN email"
    assert doc["ignored"] == [] and doc["measured"] == []
    assert _doc(_lint(tmp_path, "--json")) == doc


def test_text_output_names_file_line_rule_why_and_the_safer_way(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int, email text);\n")
    write_migration(sqldir, "0002_idx", "SELECT 1;\n\nCREATE INDEX users_email ON users (email);\n")
    r = _lint(tmp_path, "2")  # version 2 ships alone: users exists already
    assert r.code == 0  # a warning does not fail the run
    assert "0002_idx/up.sql:3:1: warning [create-index-not-concurrently] (postgres, version 2)" in r.out
    assert "CREATE INDEX CONCURRENTLY in a file with `-- migrator: no-transaction`" in r.out
    assert r.out.endswith("ok: 0 errors, 1 warning\n")  # no missing-lock-timeout: CREATE INDEX takes SHARE
    assert "missing-lock-timeout" not in r.out


def test_missing_lock_timeout_and_its_safe_forms(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int);\n")
    write_migration(
        sqldir, "0002_add", "ALTER TABLE users ADD COLUMN a int;\nALTER TABLE users ADD COLUMN b int;\n"
    )
    write_migration(
        sqldir, "0003_add", "-- migrator: lock-wait-timeout 5s\nALTER TABLE users ADD COLUMN c int;\n"
    )
    write_migration(sqldir, "0004_add", "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN d int;\n")
    doc = _doc(_lint(tmp_path, "--json", "2", "3", "4"))
    hits = sorted(
        (f["dialect"], f["version"], f["line"])
        for f in doc["findings"]
        if f["rule"] == "missing-lock-timeout"
    )
    assert hits == [("mysql", 2, 1), ("postgres", 2, 1)]  # once per file, never on sqlite


def test_mysql_file_mixing_ddl_and_data(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int);\nINSERT INTO users VALUES (1);\n")
    write_migration(
        sqldir, "0002_data", "INSERT INTO users VALUES (2);\nUPDATE users SET id = 3 WHERE id = 2;\n"
    )
    doc = _doc(_lint(tmp_path, "--json"))
    mixed = [
        (f["dialect"], f["version"], f["line"])
        for f in doc["findings"]
        if f["rule"] == "mysql-mixed-ddl-data"
    ]
    assert mixed == [("mysql", 1, 2)]


def test_destructive_up_whose_down_cannot_restore(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int, email text);\n")
    write_migration(
        sqldir,
        "0002_drop",
        "ALTER TABLE users DROP COLUMN email;\n",
        "ALTER TABLE users ADD COLUMN email text;\n",
    )
    write_migration(
        sqldir, "0003_drop", "-- migrator: backup\nDROP TABLE users;\n", "CREATE TABLE users (id int);\n"
    )
    write_migration(sqldir, "0004_t", "CREATE TABLE t (id int);\n", "DROP TABLE t;\n")
    write_migration(sqldir, "0005_drop", "DROP TABLE t;\n", "-- migrator: irreversible\nSELECT 1;\n")
    doc = _doc(_lint(tmp_path, "--json", "1", "2", "3", "5"))
    lost = sorted({f["version"] for f in doc["findings"] if f["rule"] == "down-cannot-restore"})
    assert lost == [2]
    # named versions: version 4 was not named, so t is an existing table in version 5
    assert {f["version"] for f in doc["findings"] if f["rule"] == "drop-table"} == {3, 5}


def test_suppression_above_a_statement_and_in_the_directive_block(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int, a int, b int);\n")
    write_migration(
        sqldir,
        "0002_drop",
        "-- migrator: lint-ignore missing-lock-timeout, down-cannot-restore "
        "table is tiny, data copied in 0001\n"
        "ALTER TABLE users DROP COLUMN a;\n"
        "-- migrator: lint-ignore drop-column nobody reads b since release 4.2\n"
        "ALTER TABLE users DROP COLUMN b;\n",
    )
    r = _lint(tmp_path, "--json", "2")
    doc = _doc(r)
    assert r.code == 3  # the first drop-column is not accepted
    left = {(f["rule"], f["line"]) for f in doc["findings"]}
    assert left == {("drop-column", 2)}
    ignored = {(i["rule"], i["line"], i["dialect"], i["reason"]) for i in doc["ignored"]}
    assert ("drop-column", 4, "postgres", "nobody reads b since release 4.2") in ignored
    assert ("missing-lock-timeout", 2, "mysql", "table is tiny, data copied in 0001") in ignored
    text = _lint(tmp_path, "2")
    assert "accepted [drop-column] (sqlite, version 2): nobody reads b since release 4.2" in text.out


def test_suppression_without_a_reason_or_with_an_unknown_rule_is_a_layout_error(
    tmp_path: Path, sqldir: Path
) -> None:
    write_migration(
        sqldir,
        "0001_users",
        "CREATE TABLE users (id int);\n-- migrator: lint-ignore drop-table\nDROP TABLE users;\n",
    )
    r = _lint(tmp_path)
    assert r.code == 2
    assert "0001_users/up.sql:2: directive 'lint-ignore': needs a reason after the rule id" in r.err
    assert "Traceback" not in r.err
    write_migration(
        sqldir,
        "0001_users",
        "CREATE TABLE users (id int);\n-- migrator: lint-ignore drop-tabel old\nDROP TABLE users;\n",
    )
    r = _lint(tmp_path)
    assert r.code == 2
    assert "0001_users/up.sql:2: lint-ignore names unknown rule drop-tabel" in r.err
    # the runner accepts a valid one anywhere: it is a comment to the database
    write_migration(
        sqldir,
        "0001_users",
        "CREATE TABLE users (id int);\n-- migrator: lint-ignore drop-table reason\nDROP TABLE users;\n",
    )
    assert run_cli("validate", "--offline", cwd=tmp_path).code != 2


def test_toml_disable_and_severity(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int, a int);\n")
    write_migration(sqldir, "0002_drop", "ALTER TABLE users DROP COLUMN a;\nCREATE INDEX ua ON users (id);\n")
    (tmp_path / "migrator.toml").write_text(
        '[lint]\ndisable = ["create-index-not-concurrently", "missing-lock-timeout"]\n'
        'severity = {drop-column = "warning"}\n'
    )
    r = _lint(tmp_path, "--json", "2")
    doc = _doc(r)
    assert r.code == 0 and doc["ok"] is True
    assert {(f["rule"], f["severity"]) for f in doc["findings"]} == {
        ("drop-column", "warning"),
        ("down-cannot-restore", "warning"),
    }
    (tmp_path / "migrator.toml").write_text('[lint]\ndisable = ["no-such-rule"]\n')
    r = _lint(tmp_path)
    assert r.code == 2
    assert "migrator.toml: [lint] names unknown rule no-such-rule" in r.err
    (tmp_path / "migrator.toml").write_text('[lint]\nseverity = {drop-column = "fatal"}\n')
    r = _lint(tmp_path)
    assert r.code == 2 and '"error" or "warning"' in r.err


def test_unknown_named_version_and_formats_not_built_yet(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int);\n")
    r = _lint(tmp_path, "7")
    assert (r.code, r.out) == (2, "")
    assert "no version 7 in the migrations folder" in r.err


def test_with_a_url_only_pending_versions_of_its_dialect(db: Db, tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int, a int);\n")
    write_migration(sqldir, "0002_purge", "DELETE FROM users;\n")
    write_migration(sqldir, "0003_drop", "ALTER TABLE users DROP COLUMN a;\n")
    assert run_cli("up", "--to", "2", "--url", db.url, cwd=tmp_path).code == 0
    before = db.versions()
    r = _lint(tmp_path, "--url", db.url, "--json")
    doc = _doc(r)
    assert r.code == 3
    assert {(f["rule"], f["version"], f["dialect"]) for f in doc["findings"]} >= {
        ("drop-column", 3, db.dialect)
    }
    assert {f["dialect"] for f in doc["findings"]} == {db.dialect}
    assert {f["version"] for f in doc["findings"]} == {3}
    # with a URL, each finding names the tables it touches there, with their catalog size
    drop = next(f for f in doc["findings"] if f["rule"] == "drop-column")
    assert [t["name"] for t in drop["tables"]] == ["users"], drop
    assert set(drop["tables"][0]) >= {"name", "rows", "bytes"}
    text = _lint(tmp_path, "--url", db.url)
    assert "touches users (" in text.out, text.out
    assert db.versions() == before  # lint writes nothing
    # a named version is checked even when applied
    doc = _doc(_lint(tmp_path, "--url", db.url, "--json", "2"))
    assert [(f["rule"], f["version"]) for f in doc["findings"]] == [
        ("delete-without-where", 2),
        ("down-cannot-restore", 2),
    ]
    assert "password" not in r.out.lower()


def test_bundled_example(tmp_path: Path) -> None:
    r = run_cli("lint", "--dir", str(EXAMPLE), "--json", cwd=tmp_path)
    doc = _doc(r)
    assert r.code == 0, r.out
    # each version as if it shipped alone: its ALTERs wait for their lock without a limit
    assert [(f["rule"], f["dialect"], f["version"]) for f in doc["findings"]] == [
        ("missing-lock-timeout", "postgres", 3),
        ("missing-lock-timeout", "mysql", 3),
        ("missing-lock-timeout", "mysql", 4),
        ("mysql-mixed-ddl-data", "mysql", 4),
        ("missing-lock-timeout", "postgres", 4),
    ]
    assert {f["severity"] for f in doc["findings"]} == {"warning"}


# -- the seam for --measure and table sizes ------------------------------------------------------


def _report_for(up: str, tmp: Path):  # type: ignore[no-untyped-def]
    from migrator.discovery import Layout

    sql = tmp / "sql"
    write_migration(sql, "0001_users", "CREATE TABLE users (id int, a int);\nCREATE TABLE orders (id int);\n")
    write_migration(sql, "0002_x", up)
    layout = Layout(sql)
    return lint(select({"postgres": layout.migrations("postgres")}, [2]), LintConfig())


def test_merge_adds_measurements_and_the_measurement_wins(tmp_path: Path) -> None:
    report = _report_for(
        "ALTER TABLE users ALTER COLUMN a TYPE bigint;\nCREATE INDEX oi ON orders (id);\n", tmp_path
    )
    rewrite = Measured(
        2, "postgres", "0002_x/up.sql", 1, "ALTER ...", (Lock("users", "AccessExclusiveLock"),), (), 3.0
    )
    index = Measured(2, "postgres", "0002_x/up.sql", 2, "CREATE ...", (Lock("orders", "ShareLock"),), (), 1.0)
    merge(report, [rewrite, index])
    by_rule = {f.rule: f for f in report.findings}
    f = by_rule["column-type-rewrite"]
    assert f.locks == [Lock("users", "AccessExclusiveLock")] and f.rewrites == []
    assert f.measured_note == "measured: no table was rewritten on the scratch database"
    assert f.severity == WARNING
    assert by_rule["create-index-not-concurrently"].measured_note == ""
    assert report.to_dict()["measured"][0]["line"] == 1


def test_merge_orders_by_table_size_largest_first(tmp_path: Path) -> None:
    report = _report_for("DROP TABLE users;\nDROP TABLE orders;\n", tmp_path)
    sizes = {"users": TableSize("users", 10, 8192), "orders": TableSize("orders", 80_000_000, 12 << 30)}
    merge(report, sizes=sizes)
    drops = [f for f in report.findings if f.rule == "drop-table"]
    assert [f.tables[0].name for f in drops] == ["orders", "users"]
    assert drops[0].severity == ERROR


def test_docs_explain_every_rule() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "lint.md").read_text()
    for rule in R.RULES.values():
        section = text.split(f"### `{rule.id}`", 1)[1].split("### ", 1)[0]
        assert rule.why in section and rule.hint in section, rule.id
        assert rule.severity in section


def test_measure_without_a_database_url_says_which_to_give(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int);\n")
    r = _lint(tmp_path, "--measure")
    assert (r.code, r.out) == (2, "")
    assert "lint --measure runs the versions on a scratch database beside the database at --url" in r.err
    assert "hint: give the database with --url" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "migrator.db").exists()


def test_github_and_sarif_formats_from_the_command_line(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int);\n")
    write_migration(sqldir, "0002_drop", "DROP TABLE users;\n")
    gh = _lint(tmp_path, "--format", "github")
    assert gh.code == 3, gh.err
    drops = [line for line in gh.out.splitlines() if "drop-table" in line]
    assert len(drops) == 3  # one per dialect
    assert all(line.startswith("::error file=sql/0002_drop/up.sql,line=1,col=1,") for line in drops)
    sarif = _lint(tmp_path, "--format", "sarif")
    assert sarif.code == 3, sarif.err
    log = json.loads(sarif.out)
    assert log["version"] == "2.1.0"
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"drop-table"}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"sql/0002_drop/up.sql"}


def test_a_statement_the_lexer_cannot_close_is_a_layout_error(tmp_path: Path, sqldir: Path) -> None:
    write_migration(sqldir, "0001_users", "CREATE TABLE users (id int);\nSELECT 'unclosed;\n")
    r = _lint(tmp_path)
    assert r.code == 2 and "0001_users/up.sql" in r.err and "Traceback" not in r.err


def test_a_table_from_an_earlier_version_is_new_only_when_both_deploy_together(
    db: Db, tmp_path: Path, sqldir: Path
) -> None:
    """Without a database, each version may ship alone, long after the table reached
    production: the index build is reported. With one, versions 1 and 2 both pending deploy
    in one run, so the table is still empty when the index is built; once version 1 is
    applied, version 2 alone is reported again."""
    write_migration(
        sqldir, "0001_orders", "CREATE TABLE orders (id int, amount int);\n", "DROP TABLE orders;\n"
    )
    write_migration(sqldir, "0002_index", "CREATE INDEX orders_amount ON orders (amount);\n")
    rule = "create-index-not-concurrently"

    def flagged(*args: str) -> set[tuple[str, int]]:
        doc = _doc(_lint(tmp_path, "--json", *args))
        return {(f["dialect"], f["version"]) for f in doc["findings"] if f["rule"] == rule}

    assert flagged() == {("postgres", 2)}
    expected_alone = {("postgres", 2)} if db.dialect == "postgres" else set()
    assert flagged("--url", db.url) == set()  # both pending: one run
    assert run_cli("up", "--to", "1", "--url", db.url, cwd=tmp_path).code == 0
    assert flagged("--url", db.url) == expected_alone
