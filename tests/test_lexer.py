"""migrator.lexer: hand-written cases per dialect and construct, then hypothesis properties."""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import migrator.lexer as lexer_module
from migrator.lexer import (
    LexError,
    Statement,
    StatementSplitter,
    leading_keywords,
    split_statements,
)

DIALECTS = ("sqlite", "postgres", "mysql")


def texts(sql: str, dialect: str) -> list[str]:
    return [s.text for s in split_statements(sql, dialect)]


def split_at(sql: str, dialect: str, cuts: list[int]) -> list[Statement]:
    """Feed `sql` in pieces cut at the given offsets."""
    splitter = StatementSplitter(dialect)
    out: list[Statement] = []
    previous = 0
    for cut in [*sorted(cuts), len(sql)]:
        out += splitter.feed(sql[previous:cut])
        previous = cut
    return out + splitter.finish()


def outcome(sql: str, dialect: str, cuts: list[int]) -> list[Statement] | tuple[str, int, int]:
    try:
        return split_at(sql, dialect, cuts)
    except LexError as e:
        return e.message, e.line, e.column


def lex_error(sql: str, dialect: str) -> LexError:
    with pytest.raises(LexError) as info:
        split_statements(sql, dialect)
    return info.value


# --------------------------------------------------------------------------------------------
# Basics shared by all dialects


@pytest.mark.parametrize("dialect", DIALECTS)
def test_semicolon_separates_statements(dialect: str) -> None:
    assert texts("select 1; select 2;\nselect 3;", dialect) == ["select 1", "select 2", "select 3"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_last_statement_needs_no_semicolon(dialect: str) -> None:
    assert texts("select 1;\nselect 2\n\n", dialect) == ["select 1", "select 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", ["", "   \n\t\n", "-- only a comment", "/* a */ -- b\n/* c; */\n"])
def test_empty_or_comment_only_input_gives_no_statement(dialect: str, sql: str) -> None:
    assert split_statements(sql, dialect) == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_empty_statements_are_skipped(dialect: str) -> None:
    assert texts(";;select 1;; ;\n;select 2;;", dialect) == ["select 1", "select 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_doubled_quote_inside_string_does_not_end_it(dialect: str) -> None:
    assert texts("select 'it''s; fine'; select 2", dialect) == ["select 'it''s; fine'", "select 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_semicolon_inside_double_quotes_does_not_split(dialect: str) -> None:
    sql = 'select "a;b", "c"";d" from t; select 2'
    assert texts(sql, dialect) == ['select "a;b", "c"";d" from t', "select 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_line_comment_with_semicolon_and_quote_does_not_split(dialect: str) -> None:
    sql = "select 1 -- it's; \"here\n, 2; select 3"
    assert texts(sql, dialect) == ["select 1 -- it's; \"here\n, 2", "select 3"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_block_comment_with_semicolon_and_quote_does_not_split(dialect: str) -> None:
    sql = "select 1 /* it's; \"x\n ; */, 2; select 3"
    assert texts(sql, dialect) == ["select 1 /* it's; \"x\n ; */, 2", "select 3"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_semicolon_inside_parentheses_does_not_split(dialect: str) -> None:
    sql = "create rule r as on insert to t do (insert into a values (1); delete from b); select 2"
    assert texts(sql, dialect) == [
        "create rule r as on insert to t do (insert into a values (1); delete from b)",
        "select 2",
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_leading_comments_stay_out_of_the_statement(dialect: str) -> None:
    sql = "-- header; 'x\n/* block;\n */\n  select 1 /* kept */ -- kept too\n;"
    assert texts(sql, dialect) == ["select 1 /* kept */ -- kept too"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_trailing_whitespace_is_stripped_but_text_is_otherwise_untouched(dialect: str) -> None:
    sql = "  select  ?,\t:name, $1 ,'a'  \r\n\t ;"
    assert texts(sql, dialect) == ["select  ?,\t:name, $1 ,'a'"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_line_and_column_point_at_the_statement_start(dialect: str) -> None:
    sql = "select 1;\n  /* two\n lines; */ select 2;\n\n   select\n3"
    assert [(s.line, s.column, s.offset) for s in split_statements(sql, dialect)] == [
        (1, 1, 0),
        (3, 12, 30),
        (5, 4, 44),
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_crlf_counts_as_one_line_break(dialect: str) -> None:
    sql = "select 1;\r\n-- c\r\n  select\r\n 2 ;\r\nselect 3\r\n"
    statements = split_statements(sql, dialect)
    assert [s.text for s in statements] == ["select 1", "select\r\n 2", "select 3"]
    assert [(s.line, s.column) for s in statements] == [(1, 1), (3, 3), (5, 1)]


@pytest.mark.parametrize(
    ("dialect", "expected"), [("postgres", ["select 1", "select 2"]), ("sqlite", []), ("mysql", [])]
)
def test_a_lone_cr_ends_a_dash_comment_where_the_server_ends_it(dialect: str, expected: list[str]) -> None:
    """postgres's scanner ends `--` at CR or LF; sqlite's and mysql's only at LF, so there the
    file below is one comment, as the server reads it."""
    assert texts("-- c\rselect 1;\r-- d\rselect 2;\r", dialect) == expected


@pytest.mark.parametrize("dialect", DIALECTS)
def test_lone_carriage_return_is_not_a_line_break(dialect: str) -> None:
    statements = split_statements("select 1;\rselect 2", dialect)
    assert [(s.text, s.line, s.column) for s in statements] == [
        ("select 1", 1, 1),
        ("select 2", 1, 11),
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_byte_order_mark_is_not_part_of_the_first_statement(dialect: str) -> None:
    assert split_statements("\ufeffselect 1;", dialect) == [Statement("select 1", 1, 2, 1)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_top_level_begin_is_an_ordinary_statement(dialect: str) -> None:
    sql = "BEGIN;\nBEGIN TRANSACTION;\nselect 1;\nCOMMIT;\nBEGIN WORK;\nEND;"
    assert texts(sql, dialect) == [
        "BEGIN",
        "BEGIN TRANSACTION",
        "select 1",
        "COMMIT",
        "BEGIN WORK",
        "END",
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_case_expression_outside_definitions_does_not_matter(dialect: str) -> None:
    sql = "select case when a then 1 end; select 2"
    assert texts(sql, dialect) == ["select case when a then 1 end", "select 2"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_delimiter_line_is_plain_text_outside_mysql(dialect: str) -> None:
    assert texts("DELIMITER //\nselect 1;", dialect) == ["DELIMITER //\nselect 1"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unterminated_string_raises_with_its_start(dialect: str) -> None:
    error = lex_error("select 1;\nselect 'abc;\n def", dialect)
    assert (error.line, error.column) == (2, 8)
    assert "string" in error.message
    assert str(error).startswith("2:8: ")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_string_ending_in_doubled_quote_is_unterminated(dialect: str) -> None:
    assert (lex_error("select 'abc''", dialect).column) == 8


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unterminated_block_comment_raises_with_its_start(dialect: str) -> None:
    error = lex_error("select 1;\n  /* never\nclosed; select 2;", dialect)
    assert (error.line, error.column, error.message) == (2, 3, "unterminated comment")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unterminated_quoted_identifier_raises(dialect: str) -> None:
    quote = '"' if dialect != "mysql" else "`"
    error = lex_error(f"select {quote}abc", dialect)
    assert (error.line, error.column) == (1, 8)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_line_comment_at_end_of_input_is_fine(dialect: str) -> None:
    assert texts("select 1 -- done", dialect) == ["select 1 -- done"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_feed_returns_a_statement_as_soon_as_its_delimiter_arrives(dialect: str) -> None:
    splitter = StatementSplitter(dialect)
    assert splitter.feed("select 1") == []
    assert splitter.feed(";") == [Statement("select 1", 1, 1, 0)]
    assert splitter.feed(" select 2") == []
    assert splitter.finish() == [Statement("select 2", 1, 11, 10)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_splitter_is_reusable_after_finish(dialect: str) -> None:
    splitter = StatementSplitter(dialect)
    splitter.feed("select 'open")
    with pytest.raises(LexError):
        splitter.finish()
    assert splitter.feed("select 1;") == [Statement("select 1", 1, 1, 0)]
    assert splitter.finish() == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_feeding_keeps_only_the_statement_in_progress(dialect: str) -> None:
    splitter = StatementSplitter(dialect)
    row = "insert into t values (1, 'a;b', \"c\"), (2, 'd', NULL);\n"
    for _ in range(2000):
        splitter.feed(row)
    splitter.feed("select (1, 'x' -- still open\n")
    # White-box: the streaming contract is that emitted text is dropped.
    held = len(splitter._buf) + sum(len(part) for part in splitter._parts)
    assert held < 2 * len(row)
    assert splitter.finish()[0].offset == 2000 * len(row)


def test_unknown_dialect_is_rejected() -> None:
    with pytest.raises(ValueError, match="oracle"):
        StatementSplitter("oracle")


def test_lex_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(LexError("unterminated string", 3, 4)))
    assert (error.message, error.line, error.column, str(error)) == (
        "unterminated string",
        3,
        4,
        "3:4: unterminated string",
    )


# --------------------------------------------------------------------------------------------
# sqlite


def test_sqlite_backslash_is_not_an_escape() -> None:
    assert texts("select 'a\\'; select 2", "sqlite") == ["select 'a\\'", "select 2"]


def test_sqlite_backtick_and_bracket_identifiers_hide_semicolons() -> None:
    sql = "select `a;b`, `c``;d`, [e;f] from t; select 2"
    assert texts(sql, "sqlite") == ["select `a;b`, `c``;d`, [e;f] from t", "select 2"]


def test_sqlite_block_comments_do_not_nest() -> None:
    assert texts("/* a /* b */ select 1; */", "sqlite") == ["select 1", "*/"]


def test_sqlite_trigger_body_is_one_statement() -> None:
    trigger = (
        "CREATE TRIGGER trg AFTER INSERT ON t\n"
        "WHEN new.a > 0\n"
        "BEGIN\n"
        "  UPDATE u SET n = CASE WHEN new.a > 1 THEN 'big;' ELSE 'small' END;\n"
        "  INSERT INTO log VALUES (new.a); -- done;\n"
        "END"
    )
    assert texts(f"{trigger};\nselect 2;", "sqlite") == [trigger, "select 2"]


def test_sqlite_temp_trigger_body_is_one_statement() -> None:
    trigger = "create temp trigger if not exists x before delete on t begin select 1; end"
    assert texts(f"{trigger}; select 2", "sqlite") == [trigger, "select 2"]


def test_sqlite_unterminated_trigger_raises_at_begin() -> None:
    error = lex_error("CREATE TRIGGER x AFTER INSERT ON t\nBEGIN select 1;", "sqlite")
    assert (error.line, error.column) == (2, 1)


def test_sqlite_create_table_is_not_a_trigger() -> None:
    assert texts("create table trigger_log (begin int); select 2", "sqlite") == [
        "create table trigger_log (begin int)",
        "select 2",
    ]


# --------------------------------------------------------------------------------------------
# postgres


def test_postgres_standard_string_has_no_backslash_escape() -> None:
    assert texts("select 'a\\'; select 2", "postgres") == ["select 'a\\'", "select 2"]


@pytest.mark.parametrize("prefix", ["E", "e"])
def test_postgres_escape_string_allows_backslash_quote(prefix: str) -> None:
    sql = f"select {prefix}'it\\'s; \\\\', 1; select 2"
    assert texts(sql, "postgres") == [f"select {prefix}'it\\'s; \\\\', 1", "select 2"]


def test_postgres_word_ending_in_e_is_not_an_escape_prefix() -> None:
    assert texts("select some'a\\'; select 2", "postgres") == ["select some'a\\'", "select 2"]


def test_postgres_block_comments_nest() -> None:
    sql = "/* a /* b; */ still; comment */ select 1 /* x /* y */ z; */; select 2"
    assert texts(sql, "postgres") == ["select 1 /* x /* y */ z; */", "select 2"]


def test_semicolon_inside_dollar_quote_does_not_split() -> None:
    sql = "create function f() returns int as $$ begin; return 1; end $$ language plpgsql; select 2"
    assert texts(sql, "postgres") == [
        "create function f() returns int as $$ begin; return 1; end $$ language plpgsql",
        "select 2",
    ]


def test_tagged_dollar_quote_may_contain_double_dollars() -> None:
    sql = "do $fn$ begin execute $$select 1; $x$ $$; end $fn$; select 2"
    assert texts(sql, "postgres") == ["do $fn$ begin execute $$select 1; $x$ $$; end $fn$", "select 2"]


def test_dollar_number_is_a_parameter_not_a_quote() -> None:
    assert texts("select $1, $2; select $3", "postgres") == ["select $1, $2", "select $3"]


def test_dollar_inside_identifier_is_not_a_quote() -> None:
    assert texts("select a$$b, c$; select 2", "postgres") == ["select a$$b, c$", "select 2"]


def test_postgres_unterminated_dollar_quote_raises_with_its_start() -> None:
    error = lex_error("select 1;\ndo $body$ begin; end $bod$;", "postgres")
    assert (error.line, error.column) == (2, 4)
    assert "$body$" in error.message


def test_postgres_unterminated_nested_comment_raises() -> None:
    error = lex_error("/* a /* b */ select 1;", "postgres")
    assert (error.line, error.column, error.message) == (1, 1, "unterminated comment")


def test_postgres_begin_atomic_function_body_is_one_statement() -> None:
    body = (
        "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n"
        "  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\n"
        "  SELECT a + 1;\n"
        "END"
    )
    assert texts(f"{body};\nselect 2;", "postgres") == [body, "select 2"]


def test_postgres_begin_atomic_procedure_body_is_one_statement() -> None:
    body = "create procedure p() begin atomic insert into t values (1); delete from u; end"
    assert texts(f"{body}; select 2", "postgres") == [body, "select 2"]


def test_postgres_unterminated_begin_atomic_raises_at_begin() -> None:
    error = lex_error("create function f() returns int\nbegin atomic select 1;", "postgres")
    assert (error.line, error.column) == (2, 1)


def test_postgres_optimizer_style_comment_is_just_a_comment() -> None:
    assert texts("/*! not code */ /*+ hint */ select 1", "postgres") == ["select 1"]


# --------------------------------------------------------------------------------------------
# mysql


@pytest.mark.parametrize("literal", ["'it\\'s;'", '"a\\";b"', "'a\\\\'", "'x'';y'", '"x"";y"'])
def test_mysql_strings_have_backslash_and_doubled_quote_escapes(literal: str) -> None:
    assert texts(f"select {literal}; select 2", "mysql") == [f"select {literal}", "select 2"]


def test_mysql_backtick_identifier_hides_semicolon() -> None:
    assert texts("select `a;b`, `c``;d`; select 2", "mysql") == ["select `a;b`, `c``;d`", "select 2"]


def test_mysql_hash_comment_hides_semicolon() -> None:
    assert texts("select 1 # it's; here\n, 2; select 3", "mysql") == [
        "select 1 # it's; here\n, 2",
        "select 3",
    ]


def test_mysql_double_dash_without_space_is_not_a_comment() -> None:
    assert texts("select 1--x;\nselect 2", "mysql") == ["select 1--x", "select 2"]
    assert texts("select 1--x;\nselect 2", "sqlite") == ["select 1--x;\nselect 2"]


def test_mysql_double_dash_before_tab_or_newline_is_a_comment() -> None:
    assert texts("select 1 --\t;\n, 2 --\n;", "mysql") == ["select 1 --\t;\n, 2 --"]


def test_mysql_block_comments_do_not_nest() -> None:
    assert texts("/* a /* b */ select 1; */", "mysql") == ["select 1", "*/"]


@pytest.mark.parametrize("comment", ["/*!40101 SET NAMES utf8 */", "/*M!100101 SET x = 1 */"])
def test_mysql_executable_comment_is_a_statement(comment: str) -> None:
    sql = f"-- dump\n{comment};\n/*!40014 SET @a = 1; */;\n"
    assert texts(sql, "mysql") == [comment, "/*!40014 SET @a = 1; */"]


def test_mysql_optimizer_hint_stays_in_the_statement() -> None:
    assert texts("select /*+ BKA(t) */ 1; /*+ x */ select 2", "mysql") == [
        "select /*+ BKA(t) */ 1",
        "/*+ x */ select 2",
    ]


MYSQL_PROCEDURE = """\
CREATE DEFINER=`root`@`localhost` PROCEDURE p(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  outer_loop: LOOP
    SET i = i + 1;
    IF i > n THEN LEAVE outer_loop; END IF;
  END LOOP outer_loop;
  WHILE i > 0 DO SET i = i - 1; END WHILE;
  REPEAT SET i = i + 1; UNTIL i > 3 END REPEAT;
  CASE i
    WHEN 1 THEN SELECT 'one;';
    ELSE BEGIN SELECT CASE WHEN i > 2 THEN 'big' ELSE 'small' END; END;
  END CASE;
  lbl: BEGIN
    SELECT 1;
  END lbl;
  FOR j IN 1..3 DO SELECT j; END FOR;
END"""


def test_mysql_procedure_with_nested_blocks_is_one_statement() -> None:
    sql = f"{MYSQL_PROCEDURE};\nCALL p(3);\n"
    assert texts(sql, "mysql") == [MYSQL_PROCEDURE, "CALL p(3)"]


def test_mysql_trigger_body_is_one_statement() -> None:
    trigger = (
        "CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\n"
        "BEGIN\n  IF NEW.a < 0 THEN SET NEW.a = 0; END IF;\n  SET NEW.b = 'x;';\nEND"
    )
    assert texts(f"{trigger};\nINSERT INTO t VALUES (1);", "mysql") == [
        trigger,
        "INSERT INTO t VALUES (1)",
    ]


def test_mysql_function_and_event_bodies_are_one_statement() -> None:
    function = (
        "create function f(x int) returns int deterministic\n"
        "begin declare y int; set y = case when x > 0 then x else 0 end; return y; end"
    )
    event = "create event e on schedule every 1 day do begin delete from t; delete from u; end"
    assert texts(f"{function};\n{event};\nselect 1", "mysql") == [function, event, "select 1"]


def test_mysql_routine_without_block_ends_at_first_semicolon() -> None:
    sql = "create procedure p() select 1; select 2"
    assert texts(sql, "mysql") == ["create procedure p() select 1", "select 2"]


def test_mysql_create_table_with_keyword_like_names_splits_normally() -> None:
    sql = "create table event (`begin` int, `end` int); select 2"
    assert texts(sql, "mysql") == ["create table event (`begin` int, `end` int)", "select 2"]


def test_mysql_unterminated_routine_raises_at_begin() -> None:
    error = lex_error("select 1;\nCREATE PROCEDURE p()\n  BEGIN\n    SELECT 1;", "mysql")
    assert (error.line, error.column) == (3, 3)


def test_mysql_delimiter_dollars() -> None:
    sql = (
        "DELIMITER $$\n"
        "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT '$$'; END$$\n"
        "CALL p()$$\n"
        "DELIMITER ;\n"
        "SELECT 2;\n"
    )
    statements = split_statements(sql, "mysql")
    assert [s.text for s in statements] == [
        "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT '$$'; END",
        "CALL p()",
        "SELECT 2",
    ]
    assert [s.line for s in statements] == [2, 3, 5]


def test_mysql_delimiter_slashes() -> None:
    sql = "delimiter //\nselect 1; select 2 // select 3 /* // */ //\ndelimiter ;\nselect 4"
    assert texts(sql, "mysql") == ["select 1; select 2", "select 3 /* // */", "select 4"]


def test_mysql_two_consecutive_delimiter_lines() -> None:
    sql = "DELIMITER //\n  DELIMITER ;;\nselect 1;select 2;;\nDELIMITER ;\nselect 3;"
    assert texts(sql, "mysql") == ["select 1;select 2", "select 3"]


def test_mysql_custom_delimiter_ignores_parentheses_and_blocks() -> None:
    assert texts("DELIMITER |\nselect (1|\nbegin|end", "mysql") == ["select (1", "begin", "end"]


def test_mysql_delimiter_after_comments_and_at_end_of_input() -> None:
    sql = "select 1;\n-- switch\n/* to */\n DELIMITER $$\nselect 2$$\nDELIMITER ;"
    assert texts(sql, "mysql") == ["select 1", "select 2"]


def test_mysql_delimiter_inside_a_statement_is_text() -> None:
    assert texts("select 1,\nDELIMITER $$\n;", "mysql") == ["select 1,\nDELIMITER $$"]


def test_mysql_delimiter_not_first_on_its_line_is_text() -> None:
    sql = "select 1; DELIMITER $$\nselect 2;"
    assert texts(sql, "mysql") == ["select 1", "DELIMITER $$\nselect 2"]


def test_mysql_delimiter_without_argument_raises() -> None:
    error = lex_error("select 1;\n  delimiter\nselect 2;", "mysql")
    assert (error.line, error.column) == (2, 3)


def test_mysql_delimiter_prefix_word_is_not_a_command() -> None:
    assert texts("delimiters_table;\ndelim;", "mysql") == ["delimiters_table", "delim"]


# --------------------------------------------------------------------------------------------
# leading_keywords


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [
        ("/* x */ create  index concurrently foo", 3, ("CREATE", "INDEX", "CONCURRENTLY")),
        ("-- c\nalter type t add value 'x'", 4, ("ALTER", "TYPE", "T", "ADD")),
        ("BEGIN ATOMIC select 1", 4, ("BEGIN", "ATOMIC", "SELECT")),
        ("vacuum", 3, ("VACUUM",)),
        ('create table "x" (a int)', 3, ("CREATE", "TABLE")),
        ("create /* c */ unique -- d\n index", 3, ("CREATE", "UNIQUE", "INDEX")),
        ("/*!40101 SET NAMES utf8 */", 3, ("SET", "NAMES", "UTF8")),
        ("# mysql comment\nset x = 1", 1, ("SET",)),
        ("", 3, ()),
        ("(select 1)", 3, ()),
        ("select 1", 0, ()),
    ],
)
def test_leading_keywords(text: str, count: int, expected: tuple[str, ...]) -> None:
    assert leading_keywords(text, count) == expected


def test_leading_keywords_defaults_to_three_words() -> None:
    assert leading_keywords("create unique index i on t (a)") == ("CREATE", "UNIQUE", "INDEX")


# --------------------------------------------------------------------------------------------
# Chunk boundaries inside every construct

TRICKY = {
    "sqlite": (
        "select 'it''s;', \"a\"\";\", `b``;`, [c;] -- x;\r\n/* y; */ from t;\r\n"
        "CREATE TEMP TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE 1 WHEN 1 THEN 2 END; END;\n"
        "select 2"
    ),
    "postgres": (
        "select E'it\\'s;', 'a\\', $$x;$$, $fn$ $$; $fn$, $1, a$b /* a /* b; */ c */ -- z\n;"
        "create function f() returns int begin atomic select 1; end;\n"
        "select (1; 2)"
    ),
    "mysql": (
        "/*!40101 SET NAMES utf8 */;\r\nselect 'a\\';', \"b\\\";\" # c;\n, 1--x\n;"
        f"{MYSQL_PROCEDURE};\nDELIMITER $$\nselect 1; $$\r\n  DELIMITER //\nDELIMITER ;\n"
        "select 2 -- done"
    ),
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_one_character_at_a_time_gives_the_same_statements(dialect: str) -> None:
    sql = TRICKY[dialect]
    assert split_at(sql, dialect, list(range(len(sql)))) == split_statements(sql, dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_single_cut_gives_the_same_statements(dialect: str) -> None:
    sql = TRICKY[dialect]
    whole = split_statements(sql, dialect)
    for cut in range(len(sql) + 1):
        assert split_at(sql, dialect, [cut]) == whole, cut


# --------------------------------------------------------------------------------------------
# Properties. Statements are built from pieces that are safe for the dialect; `;` occurs only
# inside literals, comments and parentheses.

ALPHABET = "ab ;'\"\\\n$-/*#`()[]E\r"
CONTENT = st.text(alphabet=ALPHABET, max_size=10)
LINE_CONTENT = st.text(alphabet=ALPHABET.replace("\n", ""), max_size=10)
WORDS = st.sampled_from(
    ["select", "x", "t1", "foo_bar", "42", "3.5", "*", ",", "=", "+", "-", "/", "<>", "?", ".", "e"]
)


def quoted(opening: str, closing: str, *escapes: tuple[str, str]) -> Callable[[str], str]:
    def make(content: str) -> str:
        for old, new in escapes:
            content = content.replace(old, new)
        return opening + content + closing

    return make


BACKSLASH = ("\\", "\\\\")
LITERALS: dict[str, list[Callable[[str], str]]] = {
    "sqlite": [
        quoted("'", "'", ("'", "''")),
        quoted('"', '"', ('"', '""')),
        quoted("`", "`", ("`", "``")),
        quoted("[", "]", ("]", "")),
    ],
    "postgres": [
        quoted("'", "'", ("'", "''")),
        quoted("E'", "'", BACKSLASH, ("'", "\\'")),
        quoted("e'", "'", BACKSLASH, ("'", "''")),
        quoted('"', '"', ('"', '""')),
        quoted("$$", "$$", ("$", "")),
        quoted("$fn$", "$fn$"),  # ALPHABET has no f or n, but the body may hold $$
    ],
    "mysql": [
        quoted("'", "'", BACKSLASH, ("'", "\\'")),
        quoted("'", "'", BACKSLASH, ("'", "''")),
        quoted('"', '"', BACKSLASH, ('"', '\\"')),
        quoted("`", "`", ("`", "``")),
    ],
}
COMMENTS: dict[str, list[Callable[[str], str]]] = {
    "sqlite": [quoted("/* ", " */", ("*", ""))],
    "postgres": [quoted("/* ", " */", ("*", "")), quoted("/* a /* ", " */ b */", ("*", ""))],
    "mysql": [quoted("/* ", " */", ("*", ""))],
}
LINE_COMMENTS: dict[str, list[Callable[[str], str]]] = {
    "sqlite": [quoted("-- ", "\n")],
    "postgres": [quoted("-- ", "\n")],
    "mysql": [quoted("-- ", "\n"), quoted("#", "\n")],
}


def literals(dialect: str) -> st.SearchStrategy[str]:
    return st.builds(lambda make, c: make(c), st.sampled_from(LITERALS[dialect]), CONTENT)


def comments(dialect: str) -> st.SearchStrategy[str]:
    block = st.builds(lambda make, c: make(c), st.sampled_from(COMMENTS[dialect]), CONTENT)
    # a lone CR ends a postgres `--` comment, as LF does
    content = LINE_CONTENT.map(lambda c: c.replace("\r", "")) if dialect == "postgres" else LINE_CONTENT
    line = st.builds(lambda make, c: make(c), st.sampled_from(LINE_COMMENTS[dialect]), content)
    return block | line


def pieces(dialect: str, semicolons_in_parens: bool = True) -> st.SearchStrategy[str]:
    flat = WORDS | literals(dialect) | comments(dialect)
    if dialect == "postgres":
        flat = flat | st.sampled_from(["$1", "$23", "a$b"])
    inside = st.just(";") if semicolons_in_parens else st.just(",")
    return st.recursive(
        flat,
        lambda inner: st.lists(inner | inside, max_size=4).map(lambda xs: "(" + " ".join(xs) + ")"),
        max_leaves=6,
    )


def statements(dialect: str, semicolons_in_parens: bool = True) -> st.SearchStrategy[str]:
    body = st.lists(pieces(dialect, semicolons_in_parens), max_size=8)
    return st.builds(lambda first, rest: " ".join([first, *rest]), WORDS, body)


def sqlite_triggers() -> st.SearchStrategy[str]:
    inner = st.lists(statements("sqlite", semicolons_in_parens=False), min_size=1, max_size=3)
    return inner.map(
        lambda body: (
            "CREATE TRIGGER trg AFTER INSERT ON t BEGIN "
            + "; ".join([*body, "SELECT CASE WHEN 1 THEN 2 END"])
            + "; END"
        )
    )


SEPARATORS = st.sampled_from([";\n", ";", " ;\r\n", ";\n-- note; 'x\n", ";/* c; */\n", ";;\n"])
dialects = st.sampled_from(DIALECTS)


@given(dialect=dialects, data=st.data())
def test_generated_statements_round_trip(dialect: str, data: st.DataObject) -> None:
    parts = data.draw(st.lists(statements(dialect), max_size=5))
    sql = ";\n".join(parts)
    assert texts(sql, dialect) == [p.rstrip(" \t\r\n") for p in parts]


@given(dialect=dialects, data=st.data())
def test_generated_statements_round_trip_with_any_separator(dialect: str, data: st.DataObject) -> None:
    parts = data.draw(st.lists(statements(dialect), max_size=5))
    sql = "".join(part + data.draw(SEPARATORS) for part in parts)
    assert texts(sql, dialect) == [p.rstrip(" \t\r\n") for p in parts]


@given(dialect=dialects, data=st.data())
def test_any_chunking_of_a_script_gives_the_same_statements(dialect: str, data: st.DataObject) -> None:
    sql = ";\n".join(data.draw(st.lists(statements(dialect), max_size=4)))
    cuts = data.draw(st.lists(st.integers(0, len(sql)), max_size=8))
    assert split_at(sql, dialect, cuts) == split_statements(sql, dialect)


@given(dialect=dialects, data=st.data())
def test_each_statement_re_splits_into_itself(dialect: str, data: st.DataObject) -> None:
    sql = ";\n".join(data.draw(st.lists(statements(dialect), min_size=1, max_size=4)))
    for statement in split_statements(sql, dialect):
        assert texts(statement.text, dialect) == [statement.text]


@given(data=st.data())
def test_sqlite_agrees_with_sqlite3_complete_statement(data: st.DataObject) -> None:
    one = statements("sqlite", semicolons_in_parens=False) | sqlite_triggers()
    parts = data.draw(st.lists(one, min_size=1, max_size=3))
    for statement in split_statements(";\n".join(parts), "sqlite"):
        text = statement.text
        assert sqlite3.complete_statement(text + "\n;")
        early = [i for i, c in enumerate(text) if c == ";" and sqlite3.complete_statement(text[: i + 1])]
        assert early == []


# Fragments that combine into every construct, broken ones included.
FRAGMENTS = [
    "DELIMITER ",
    "DELIMITER $$\n",
    "DELIMITER //\n",
    "DELIMITER ;\n",
    "$$",
    "//",
    "BEGIN",
    "END",
    "CASE",
    " IF",
    "CREATE PROCEDURE p() ",
    "CREATE TRIGGER t ",
    "CREATE OR REPLACE FUNCTION ",
    "ATOMIC",
    "\n",
    "'",
    "''",
    "\\",
    "--",
    "-- ",
    "-",
    "/*",
    "*/",
    "/*!",
    "/*+",
    "#",
    "$tag$",
    "$1",
    "$",
    "E'",
    ";",
    ";",
    "(",
    ")",
    " ",
    "\r\n",
    "\r",
    "x",
    "a$",
    '"',
    "`",
    "[",
    "]",
    "é",
    "\ufeff",
    "END IF",
    "END CASE",
]
soups = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(dialect=dialects, sql=soups, data=st.data())
def test_any_chunking_of_arbitrary_text_gives_the_same_outcome(
    dialect: str, sql: str, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(sql)), max_size=8))
    assert outcome(sql, dialect, cuts) == outcome(sql, dialect, [])


@given(dialect=dialects, sql=soups | st.text(alphabet=ALPHABET + "xD;", max_size=40))
def test_positions_agree_with_the_text(dialect: str, sql: str) -> None:
    try:
        found = split_statements(sql, dialect)
    except LexError:
        return
    for s in found:
        assert sql[s.offset : s.offset + len(s.text)] == s.text
        assert s.line == sql.count("\n", 0, s.offset) + 1
        assert s.column == s.offset - sql.rfind("\n", 0, s.offset)
        assert s.text and s.text == s.text.rstrip(" \t\n\r\f\v")
    assert [s.offset for s in found] == sorted({s.offset for s in found})


# -- the plain-text path ----------------------------------------------------------------------
# split_statements() skips the token-by-token scan for text no dialect reads differently from
# the others. It must give exactly what the scanner gives (statements, positions, errors).

PLAIN_FRAGMENTS = [
    "INSERT INTO t VALUES (1)",
    "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1",
    "CREATE TRıGGER g AFTER INSERT ON t BEGIN SELECT 1",  # dotless i: TRIGGER once upper-cased
    "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1",
    "CREATE PROCEDURE p() BEGIN SELECT 1",
    "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN SELECT 1",
    "DELIMITER //\n",
    "DELımITER ;\n",
    "CREATE TABLE t (a INT)",
    "ALTER TABLE t ADD b INT",
    "BEGIN",
    "END",
    "CASE",
    "x",
    "é",
    "-",
    "/",
    "*",
    "(",
    ")",
    ";",
    ";",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\f",
    "\v",
    "\u00a0",
    "\u2028",
]
plain_soups = st.lists(st.sampled_from(PLAIN_FRAGMENTS), max_size=30).map("".join)


def scanned(sql: str, dialect: str) -> list[Statement] | tuple[str, int, int]:
    """What the full scanner gives (one chunk, so split_statements' shortcut is not taken)."""
    return outcome(sql, dialect, [len(sql)])


def split(sql: str, dialect: str) -> list[Statement] | tuple[str, int, int]:
    try:
        return split_statements(sql, dialect)
    except LexError as e:
        return e.message, e.line, e.column


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(dialect=dialects, sql=plain_soups | soups | st.text(max_size=60))
def test_split_statements_gives_what_the_scanner_gives(dialect: str, sql: str) -> None:
    assert split(sql, dialect) == scanned(sql, dialect)


@given(sql=plain_soups.filter(lambda s: lexer_module.split_alike(s) is not None))
def test_plain_text_splits_alike_on_every_dialect(sql: str) -> None:
    assert split(sql, "sqlite") == split(sql, "postgres") == split(sql, "mysql")


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1);",
        "  \n\nINSERT INTO t VALUES (1);;\n  SELECT (1;2) ;\r\nSELECT 3",
        "SELECT 1)); SELECT 2",
        ";;;",
        "",
        "CREATE TABLE t (a INT);\nCREATE INDEX i ON t (a);",
    ],
)
def test_plain_text_takes_the_shortcut(sql: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases above are plain: the shortcut answers them, the scanner is never asked."""
    expected = {d: scanned(sql, d) for d in DIALECTS}
    monkeypatch.setattr(lexer_module.StatementSplitter, "feed", None)
    for dialect in DIALECTS:
        assert split_statements(sql, dialect) == expected[dialect]


@pytest.mark.parametrize(
    "sql",
    [
        "create trigger g after insert on t begin select 1; end;",
        "CREATE TRıGGER g AFTER INSERT ON t BEGIN SELECT 1; END;",  # dotless i
        "CREATE FUNCTıON f() RETURNS int BEGIN ATOMIC SELECT 1; END;",
        "CREATE PROCEDURE p() BEGIN SELECT 1; END;",
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN SELECT 1; END;",
        "DELımITER //\nSELECT 1; SELECT 2//\n",
        "SELECT 1 -- a; comment\n; SELECT 2",
        "SELECT 1 /* a; comment */; SELECT 2",
        "SELECT 1 # a; comment\n; SELECT 2",
        "SELECT ';'; SELECT 2",
        "SELECT $$;$$; SELECT 2",
        'SELECT `;`; SELECT [;]; SELECT "x;"',
        "\ufeffSELECT 1; SELECT 2",
    ],
)
def test_text_some_dialect_reads_apart_is_scanned(sql: str) -> None:
    for dialect in DIALECTS:
        assert split(sql, dialect) == scanned(sql, dialect), dialect
