"""Error positions: a MySQL/MariaDB "near '...' at line N" mapped to the statement (unit tests
with the messages MariaDB 10.11 gives, then the real server), and PostgreSQL's positions in
dollar-quoted bodies checked against the server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from migrator.errorpos import mysql_error_position
from migrator.lexer import Statement, split_statements

_SYNTAX = (
    "You have an error in your SQL syntax; check the manual that corresponds to your "
    "MariaDB server version for the right syntax to use near '{}' at line {}"
)


def syntax_error(near: str, line: int) -> str:
    return _SYNTAX.format(near, line)


def at(sql: str, needle: str, skip: int = 0) -> int:
    """Offset of the one occurrence of `needle` in `sql`, plus `skip`."""
    assert sql.count(needle) == 1, needle
    return sql.index(needle) + skip


# -- unit: the message as the server words it, the statement as it was sent ------------------
def test_an_error_on_the_first_line() -> None:
    assert mysql_error_position(syntax_error("SELEC 1", 1), "SELEC 1") == 0
    assert mysql_error_position(syntax_error("* 2", 1), "SELECT 1 +* 2") == 10


def test_an_error_on_a_later_line() -> None:
    sql = "SELECT id,\n       note\nFROM t\nWHERE id = 1 +* 2\nORDER BY id"
    assert mysql_error_position(syntax_error("* 2\nORDER BY id", 4), sql) == at(sql, "* 2")


TRIGGER = (
    "CREATE TRIGGER trg BEFORE INSERT ON t\nFOR EACH ROW\nBEGIN\n"
    "  SET NEW.id = NEW.id + 1;\n  {bad}\n  SET NEW.id = NEW.id + 3;\nEND"
)


@pytest.mark.parametrize(
    ("bad", "token", "skip"),
    [
        ("SET NEW.id = NEW.id +* 2;", "+* 2", 1),
        # the quote begins with the body's own ";\n": it was cut there, and the caret went after END
        ("SET NEW.id = NEW.id +;", "+;", 1),
        # "1" comes earlier on the same line: the quote cut at ";\n" matched the first one
        ("SET NEW.id = NEW.id + 1 1;", "1 1;", 2),
    ],
)
def test_an_error_inside_a_trigger_body(bad: str, token: str, skip: int) -> None:
    sql = TRIGGER.format(bad=bad)
    error = at(sql, token, skip)
    near = sql[error:]  # ";\n  SET NEW.id = NEW.id + 3;\nEND" and so on: the rest, as sent
    assert len(near.encode()) <= 80 and near.count(";\n") == 2
    assert mysql_error_position(syntax_error(near, 5), sql) == error


def test_an_empty_quote_points_at_the_end_of_the_statement() -> None:
    sql = "INSERT INTO t (id, note)\nVALUES (1, 'x'"
    assert mysql_error_position(syntax_error("", 2), sql) == len(sql)


def test_a_cut_quote_whose_text_also_occurs_on_an_earlier_line() -> None:
    long = "a suffix long enough for the server to cut its quote of the statement"
    sql = (
        f"CREATE TRIGGER trg BEFORE INSERT ON t\nFOR EACH ROW\nBEGIN\n"
        f"  SET NEW.note = CONCAT(NEW.note, '{long}');\n"
        f"  SET NEW.note = NEW.note CONCAT(NEW.note, '{long}');\nEND"
    )
    rest = sql[sql.rindex("CONCAT") :]
    assert len(rest.encode()) > 80
    near = rest.encode()[:77].decode() + "..."  # MariaDB: 77 bytes and "..."
    assert sql.count(near[:-3]) == 2
    assert mysql_error_position(syntax_error(near, 5), sql) == sql.rindex("CONCAT")
    # MySQL: the first 80 characters, no dots
    assert mysql_error_position(syntax_error(rest[:80], 5), sql) == sql.rindex("CONCAT")


def test_repeated_text_with_a_line_count_that_skips_line_breaks_in_strings() -> None:
    """MariaDB's N does not count the line breaks inside quoted strings: here N is 5 for an
    error on line 7 of the statement, and the same 77 bytes start on line 3 as well."""
    body = "SET NEW.note = CONCAT(NEW.note, ' and then some more text to make the quote long');"
    sql = (
        "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  "
        + body
        + "\n  SET NEW.memo = 'two\nlines\nof text';\n  "
        + body.replace("= CONCAT", "= x CONCAT")
        + "\n  "
        + body
        + "\nEND"
    )
    error = sql.index("CONCAT(", sql.index("= x CONCAT"))
    near = sql[error:].encode()[:77].decode() + "..."
    assert sql.count(near[:-3]) == 2 and sql.index(near[:-3]) < error
    assert mysql_error_position(syntax_error(near, 5), sql) == error


def test_an_emoji_is_quoted_as_a_question_mark() -> None:
    sql = "SELECT 'é' +* '😀 party'"
    assert mysql_error_position(syntax_error("* '? party'", 1), sql) == at(sql, "* '")


def test_a_quote_that_runs_on_into_statements_sent_after_it() -> None:
    """Several statements in one query: the quote goes on past this one's end."""
    sql = TRIGGER.format(bad="SET NEW.id = NEW.id +* 2;")
    near = "* 2;\n  SET NEW.id = NEW.id + 3;\nEND;\nUPDATE schema_version SET statements_done = 1"
    assert mysql_error_position(syntax_error(near[:77] + "...", 5), sql) == at(sql, "* 2;")
    assert mysql_error_position(syntax_error(near[:60], 5), sql) == at(sql, "* 2;")


def test_messages_without_a_quote() -> None:
    assert mysql_error_position("Table 'test.t' doesn't exist", "SELECT * FROM t") is None
    assert mysql_error_position("Unknown data type: 'INTT'", "CREATE TABLE x (a INTT)") is None


def test_a_quote_not_found_falls_back_to_the_start_of_its_line() -> None:
    sql = "SELECT 1,\n  2 +* 3"
    assert mysql_error_position(syntax_error("something else", 2), sql) == at(sql, "  2")
    assert mysql_error_position(syntax_error("something else", 9), sql) is None


# -- the real MariaDB/MySQL server --------------------------------------------------------------
def position_in_file(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - text.rfind("\n", 0, offset)


def expect(text: str, needle: str, skip: int = 0) -> tuple[int, int]:
    return position_in_file(text, at(text, needle, skip))


_LONG = "and then some more text, so that the server cuts its quote of the rest short"
MYSQL_FILES = {
    "the trigger of the report": (
        """CREATE TABLE t (id INT);
DELIMITER //
CREATE TRIGGER trg BEFORE INSERT ON t
FOR EACH ROW
BEGIN
  SET NEW.id = NEW.id + 1;
  SET NEW.id = NEW.id +* 2;
END//
DELIMITER ;
""",
        "+* 2",
        1,
    ),
    "a bad token right before the body's ';'": (
        """CREATE TABLE t (id INT);
DELIMITER //
CREATE TRIGGER trg BEFORE INSERT ON t
FOR EACH ROW
BEGIN
  SET NEW.id = NEW.id + 1;
  SET NEW.id = NEW.id +;
  SET NEW.id = NEW.id + 2;
END//
DELIMITER ;
""",
        "+;",
        1,
    ),
    "a quote whose first word also occurs earlier on its line": (
        """CREATE TABLE t (id INT);
DELIMITER //
CREATE TRIGGER trg BEFORE INSERT ON t
FOR EACH ROW
BEGIN
  SET NEW.id = NEW.id + 1 1;
END//
DELIMITER ;
""",
        "1 1;",
        2,
    ),
    "a cut quote repeated above, after a string of three lines": (
        f"""CREATE TABLE t (
  id INT, note TEXT, memo TEXT);
DELIMITER $$
CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW
BEGIN
  SET NEW.note = CONCAT(NEW.note, '{_LONG}');
  SET NEW.memo = 'café
crème
brûlée';
  SET NEW.note = x CONCAT(NEW.note, '{_LONG}');
  SET NEW.note = CONCAT(NEW.note, '{_LONG}');
END$$
DELIMITER ;
""",
        "x CONCAT",
        2,
    ),
    "a procedure with an emoji after the bad token": (
        """CREATE TABLE t (id INT, note TEXT);
DELIMITER ;;
CREATE PROCEDURE p(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  WHILE i < n DO
    INSERT INTO t (id, note) VALUES (i, 'é');
    SET i = i +* 1;
    INSERT INTO t (id, note) VALUES (i, '😀');
  END WHILE;
END;;
DELIMITER ;
""",
        "+* 1",
        1,
    ),
    "a plain statement, error on its second line": (
        """CREATE TABLE t (id INT);
CREATE TABLE u (
  id INT NOT NULL,
  note VARCHAR(10) NOT NULL +,
  memo TEXT
);
""",
        "+,",
        0,
    ),
    "a statement that ends too early": (
        """CREATE TABLE t (id INT);
INSERT INTO t (id)
VALUES (1""",
        "(1",
        2,
    ),
}


@pytest.fixture
def mysql_conn() -> Iterator[Any]:
    """A connection to a scratch database of its own on the test MySQL/MariaDB server."""
    from migrator.urls import parse_url
    from tests.conftest import _server_url

    mysql = pytest.importorskip("mysql.connector")
    u = parse_url(_server_url("mysql"))
    conn = mysql.connect(
        host=u.host,
        port=u.port or 3306,
        user=u.user or "root",
        password=u.password,
        autocommit=True,
        use_pure=True,
    )
    name = f"mt_pos_{uuid.uuid4().hex[:12]}"
    conn.cmd_query(f"CREATE DATABASE {name}")
    try:
        conn.cmd_query(f"USE {name}")
        yield conn
    finally:
        conn.cmd_query(f"DROP DATABASE IF EXISTS {name}")
        conn.close()


def _first_failure(conn: Any, text: str, dialect: str) -> tuple[Statement, str]:
    """Send each statement of the file alone, as migrator does: the one that fails, with the
    server's message."""
    import mysql.connector

    for statement in split_statements(text, dialect):
        try:
            for _ in conn.cmd_query_iter(statement.text.encode("utf-8")):
                if conn.unread_result:
                    conn.get_rows()
        except mysql.connector.Error as exc:
            return statement, str(exc.msg)
    raise AssertionError("no statement failed")


@pytest.mark.parametrize("case", list(MYSQL_FILES))
def test_mysql_positions_map_to_the_bad_token_in_the_file(mysql_conn: Any, case: str) -> None:
    from migrator.failure import position_in_file as runner_position

    text, needle, skip = MYSQL_FILES[case]
    statement, message = _first_failure(mysql_conn, text, "mysql")
    assert " near '" in message, message
    offset = mysql_error_position(message, statement.text)
    assert offset is not None, message
    expected = (
        position_in_file(text, len(text.rstrip()))
        if case.endswith("too early")
        else expect(text, needle, skip)
    )
    assert position_in_file(text, statement.offset + offset) == expected, message
    assert runner_position(statement, offset) == expected, message


# -- PostgreSQL: statement_position in dollar-quoted bodies ------------------------------------
PG_FILES = {
    "plpgsql function": (
        """CREATE TABLE t (id int);
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  x int := 1;
BEGIN
  x := x + 1;
  RETRUN x;
END
$$;
""",
        "RETRUN",
        0,
    ),
    "sql function with a tagged body and non-ASCII text": (
        """CREATE FUNCTION g() RETURNS text
LANGUAGE sql AS $body$
  SELECT 'crème brûlée' ||
         'é' ||| 'x'
$body$;
""",
        "||| 'x'",
        0,
    ),
    "DO block": (
        """DO $$
DECLARE x int;
BEGIN
  x := 'é';
  IF x > 1 THEN
    x := 2
  END IF;
END
$$;
""",
        "IF;",
        0,
    ),  # postgres reads "x := 2 END" as the assignment: IF is the bad token
}


@pytest.fixture
def postgres_conn() -> Iterator[Any]:
    from migrator.urls import parse_url
    from tests.conftest import _server_url

    psycopg = pytest.importorskip("psycopg")
    u = parse_url(_server_url("postgres"))
    args = {
        "host": u.host,
        "port": u.port or 5432,
        "user": u.user or None,
        "password": u.password or None,
        "autocommit": True,
    }
    name = f"mt_pos_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dbname="postgres", **args) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(dbname=name, **args) as conn:
            yield conn
    finally:
        with psycopg.connect(dbname="postgres", **args) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.mark.parametrize("case", list(PG_FILES))
def test_postgres_positions_in_dollar_quoted_bodies_are_exact(postgres_conn: Any, case: str) -> None:
    import psycopg

    from migrator.failure import position_in_file as runner_position

    text, needle, skip = PG_FILES[case]
    for statement in split_statements(text, "postgres"):
        try:
            postgres_conn.execute(statement.text.encode("utf-8"))
        except psycopg.Error as exc:
            position = exc.diag.statement_position
            assert position is not None, exc
            offset = int(position) - 1  # as the postgres dialect reports it: 0-based
            assert runner_position(statement, offset) == expect(text, needle, skip), exc
            return
    raise AssertionError("no statement failed")
