"""Passwords never leave (SPEC §6): not in terminal text, JSON documents, fleet labels or
history rows, whatever characters the password holds; a malformed URL or targets file is a
sentence, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from hypothesis import example, given, settings
from hypothesis import strategies as st

from migrator import masking
from migrator.masking import mask, mask_url
from migrator.urls import parse_url
from tests.conftest import Db, write_migration

# What libpq and our URL parser take unencoded in a password: anything but `/`, `?`, `#`,
# `%` (an escape), brackets (an IPv6 host) and line breaks.
PASSWORD_CHARS = st.sampled_from(
    "abcXYZ019 @:!$&*()-_=+{};,.<>~'\"\\|^`"  # a space, `@` and `:` above all
)
passwords = st.text(PASSWORD_CHARS, min_size=1, max_size=24)


@settings(max_examples=400, deadline=None)
@given(passwords)
@example("Pw@Secr3t")
@example("pass word")
@example("a b@c d")
@example("x@y'@z")
@example("p:a:s")
def test_no_masked_form_of_a_url_holds_any_of_its_password(password: str) -> None:
    url = f"postgres://app:{password}@db.example.com:5432/prod"
    masked = "postgres://app:***@db.example.com:5432/prod"
    with patch.object(masking, "_remembered", set()):  # by shape alone, not by remembered value
        assert mask_url(url) == masked
        assert mask(f"cannot connect to {url}: refused\n") == f"cannot connect to {masked}: refused\n"
        assert mask(f"'{url}?sslmode=require'") == f"'{masked}?sslmode=require'"
        parsed = parse_url(url)  # what is masked is what a driver is given
        assert parsed.password == password and parsed.host == "db.example.com"
        assert parsed.masked == masked


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=6, max_size=30))
def test_a_password_a_parsed_url_carried_is_masked_wherever_it_appears(password: str) -> None:
    from urllib.parse import quote

    said = f"server said: Access denied (using {password}) at line 1"
    with patch.object(masking, "_remembered", set()):
        parse_url(f"mysql://app:{quote(password, safe='')}@db/prod")
        plain_word = all(c.isalpha() for c in password) or not any(c.isalpha() for c in password)
        assert (password in mask(said)) == plain_word


def test_a_plain_word_password_does_not_mask_that_word_everywhere() -> None:
    with patch.object(masking, "_remembered", set()):
        url = parse_url("postgres://postgres:postgres@localhost/postgres")
        assert url.masked == "postgres://postgres:***@localhost/postgres"
        assert mask(f"database: {url.masked} (postgres)") == f"database: {url.masked} (postgres)"


def test_status_text_json_url_and_fleet_labels_hide_a_password_with_at_and_space(
    postgres_db: Db, sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    # the local postgres trusts every password: the connection works, the password is printed
    # wherever the URL is
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    u = postgres_db.parsed
    where = f"{u.host}:{u.port}/{u.database}"
    url = f"postgres://{u.user}:Pw@Secr3t@{where}"
    text = cli("status", "--url", url)
    assert text.code == 0, text.err
    assert f"database: postgres://{u.user}:***@{where} (postgres)" in text.out
    as_json = cli("status", "--json", "--url", url)
    assert json.loads(as_json.out)["url"] == f"postgres://{u.user}:***@{where}"
    (tmp_path / "t.txt").write_text(f"postgres://{u.user}:Alpha7 Bravo9@{where}\n{url} schema=t2\n")
    fleet = cli("--targets", "t.txt", "status")
    assert fleet.code == 0, fleet.out + fleet.err
    assert f"postgres://{u.user}:***@{where}: ok" in fleet.out
    assert f"postgres://{u.user}:***@{where} schema=t2: ok" in fleet.out
    fleet_json = cli("--targets", "t.txt", "status", "--json")
    labels = [t["target"] for t in json.loads(fleet_json.out)["targets"]]
    assert labels == [f"postgres://{u.user}:***@{where}", f"postgres://{u.user}:***@{where} schema=t2"]
    for result in (text, as_json, fleet, fleet_json):
        out = result.out + result.err
        assert "Secr3t" not in out and "Pw@" not in out
        assert "Alpha7" not in out and "Bravo9" not in out


def test_a_targets_line_with_a_space_in_the_password_prints_no_part_of_it(
    sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (tmp_path / "t.txt").write_text("postgres://u:Alpha7 Bravo9@127.0.0.1:1/db\n")
    result = cli("--targets", "t.txt", "up", "--json")
    assert result.code == 4, result.out + result.err  # a connection refused, not a parse error
    assert "postgres://u:***@127.0.0.1:1/db" in result.out + result.err
    assert "Alpha7" not in result.out + result.err and "Bravo9" not in result.out + result.err


def test_words_after_a_targets_url_are_refused_by_name(sqldir: Path, cli: Any, tmp_path: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (tmp_path / "t.txt").write_text("postgres://u:Alpha7 Bravo9@127.0.0.1:1/db tenant1\n")
    result = cli("--targets", "t.txt", "up")
    assert result.code == 2
    assert "error: t.txt:1: unexpected 'tenant1' after the URL" in result.err
    (tmp_path / "t.txt").write_text("postgres://u:Alpha7 Bravo9@127.0.0.1:1/db shema=t1\n")
    result = cli("--targets", "t.txt", "up")
    assert result.code == 2
    assert "error: t.txt:1: unknown target option shema=t1" in result.err
    assert "Alpha7" not in result.out + result.err and "Bravo9" not in result.out + result.err


def test_a_targets_file_that_is_not_utf8_is_a_config_error(sqldir: Path, cli: Any, tmp_path: Path) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (tmp_path / "t.txt").write_bytes(b"sqlite:///one.db\nsqlite:///caf\xe9.db\n")
    result = cli("--targets", "t.txt", "up")
    assert result.code == 2
    assert (
        result.err
        == "error: --targets file t.txt is not UTF-8 (invalid byte at offset 30)\nhint: save it as UTF-8\n"
    )
    assert not (tmp_path / "one.db").exists()


def test_a_malformed_url_is_a_config_error_that_keeps_the_password_hidden(sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    result = cli("status", "--url", "postgres://u:p@[::1/db")
    assert result.code == 2
    assert result.err.startswith(
        "error: malformed database URL 'postgres://u:***@[::1/db': its IPv6 host has no closing `]`\n"
    )
    # an unencoded `/` makes the parser read half the password as a port: never show it
    result = cli("status", "--json", "--url", "postgres://u:Top/Secret@db/x")
    assert result.code == 2
    assert "error: malformed database URL 'postgres://u:***@db/x': its port is not a number" in result.err
    assert json.loads(result.out)["error"]["kind"] == "config"
    assert "Top" not in result.out + result.err and "Traceback" not in result.err


def test_json_excerpt_and_history_detail_are_masked_like_the_terminal(db: Db, sqldir: Path, cli: Any) -> None:
    # the second URL's password straddles column 110, where an excerpt line is cut
    pad = "x" * (110 - len("SELECT 'postgres://app:Zq9Secret@h/db' AS link, '") - len("', 'mysql://app:Zq9S"))
    long_line = f"SELECT 'postgres://app:Zq9Secret@h/db' AS link, '{pad}', 'mysql://app:Zq9Secret@h/db'"
    assert long_line.index("Zq9Secret@h/db'", 60) < 110 < long_line.index("@h/db'", 60)
    write_migration(sqldir, "0001_a", f"{long_line}\nFROM no_such_table;\n")
    terminal = cli("up", "--url", db.url)
    assert terminal.code == 1
    assert "SELECT 'postgres://app:***@h/db' AS link" in terminal.err
    as_json = cli("up", "--json", "--url", db.url)
    assert as_json.code == 1
    error = json.loads(as_json.out)["error"]
    assert "SELECT 'postgres://app:***@h/db' AS link" in error["excerpt"]
    history = cli("history", "--json", "--url", db.url)
    assert history.code == 0, history.err
    details = [e["detail"] for e in json.loads(history.out)["events"] if e["outcome"] == "failed"]
    assert len(details) == 2 and all("postgres://app:***@h/db" in d for d in details)
    stored = db.query("SELECT detail FROM schema_version_history WHERE outcome = 'failed'")
    assert len(stored) == 2 and all("postgres://app:***@h/db" in d for (d,) in stored)
    for out in (terminal.out + terminal.err, as_json.out + as_json.err, history.out):
        assert "Zq9S" not in out


def test_a_hash_inside_a_targets_url_is_no_comment_and_never_shown(
    sqldir: Path, cli: Any, tmp_path: Path
) -> None:
    write_migration(sqldir, "0001_a", "SELECT 1;\n")
    (tmp_path / "t.txt").write_text("# tenants\npostgres://u:Hash1#Tag2@127.0.0.1:1/db  # the first\n")
    result = cli("--targets", "t.txt", "up")
    assert result.code == 2, result.out + result.err
    # a bad target stops the run before any target starts (exit 2), naming it masked
    assert result.err.startswith("error: target postgres://u:***@127.0.0.1:1/db: malformed database URL")
    assert "Hash1" not in result.out + result.err and "Tag2" not in result.out + result.err
