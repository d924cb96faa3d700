"""How a dialect's SQL splits into statements, as plain data.

`migrator.lexer` has one scanner for every dialect; it reads these flags and never a
dialect's name. Each dialect's value lives with its other facts in
`migrator.dialects.registry`. Plain data only: importing this module imports no lexer and
compiles no regex.

What every dialect shares is not a flag: ``'it''s'`` strings, ``"a""b"`` quoted identifiers
(unless `double_quote_strings`), ``--`` and ``/* */`` comments, ``;`` ending a statement at
top level, parentheses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The rules that keep the ';' inside a trigger or routine body from ending the statement:
#   "trigger-body"       sqlite3_complete(): inside CREATE [TEMP] TRIGGER only "; END ;" ends it.
#   "begin-atomic"       psql: in CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN (and CASE inside
#                        it) opens and END closes, at parenthesis depth 0 (BEGIN ATOMIC bodies).
#   "compound-statement" the mysql client: in CREATE|ALTER ... TRIGGER|PROCEDURE|FUNCTION|EVENT,
#                        BEGIN and CASE open, END closes (END IF|LOOP|WHILE|REPEAT|FOR closes
#                        nothing, END CASE closes a CASE).
BlockRule = Literal["trigger-body", "begin-atomic", "compound-statement"]


@dataclass(frozen=True, slots=True)
class LexRules:
    """What a dialect adds to the shared rules; every flag is off in standard SQL."""

    # Which BEGIN ... END rule applies; None: a ';' at top level always ends a statement.
    blocks: BlockRule | None = None
    # \' and \\ escape inside '...' strings (and "..." strings with double_quote_strings).
    backslash_escapes: bool = False
    # "..." is a string, not an identifier (mysql without ANSI_QUOTES).
    double_quote_strings: bool = False
    # `ident` quoted identifiers.
    backtick_idents: bool = False
    # [ident] quoted identifiers (no escape: the first ] closes it).
    bracket_idents: bool = False
    # E'...' strings with backslash escapes, the quote right after a word that is exactly E
    # (plain strings keep none: standard_conforming_strings).
    e_strings: bool = False
    # $$ ... $$ and $tag$ ... $tag$ quoting; $1 stays a parameter.
    dollar_quotes: bool = False
    # '#' starts a comment to the end of the line.
    hash_comments: bool = False
    # '--' starts a comment only before whitespace or a control character.
    dash_comment_needs_space: bool = False
    # A '--' comment ends at a lone CR too, not only at LF (postgres: a file saved with old
    # Mac line endings runs its statements; sqlite and mysql read it as one comment).
    cr_ends_line_comment: bool = False
    # /* /* */ */ nests.
    nested_comments: bool = False
    # /*! */, MariaDB's /*M! */ and optimizer hints /*+ */ are code, not comments: they belong
    # to the statement and are never split inside.
    executable_comments: bool = False
    # The client's DELIMITER x lines (first word of a line, between statements) change the
    # delimiter; a custom delimiter splits wherever it appears outside strings, quoted
    # identifiers and comments, ignoring parentheses and BEGIN ... END.
    delimiter_command: bool = False
