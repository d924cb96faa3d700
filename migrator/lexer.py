"""Split SQL scripts into statements, per dialect (names from migrator.dialects.registry), streaming.

Rules:

* ``;`` ends a statement only at top level: not inside a string, quoted identifier, comment,
  dollar quote, parentheses, or the body of a trigger/routine definition.
* ``Statement.text`` is an exact substring of the input. It starts at the first character that is
  neither whitespace nor part of a comment, stops before the delimiter and loses trailing
  whitespace; nothing else is changed (comments inside a statement stay). Stretches holding only
  whitespace and comments give no statement; neither does ``;;``. MySQL executable comments
  (``/*! */``, MariaDB's ``/*M! */``) and optimizer hints (``/*+ */``) are code, not comments:
  they belong to the statement and are never split inside.
* Lines end at ``"\\n"``, so ``"\\r\\n"`` is one line break and a lone ``"\\r"`` is an ordinary
  character. Columns count characters from 1. A byte order mark between statements is whitespace.
* ``StatementSplitter.feed`` takes arbitrary chunk boundaries and yields exactly what one feed of
  the whole text yields, keeping only the statement in progress plus a few characters.

Per dialect: one scanner, which reads the dialect's `LexRules` and never its name.

* all: ``'it''s'``, ``"a""b"`` identifiers, ``--`` and ``/* */`` comments.
* what a dialect adds (backslash escapes, ``E'...'`` strings, ``$$`` quoting, `` `ident` ``,
  ``#`` comments, nested or executable comments, ``DELIMITER`` lines, the ``BEGIN ... END`` rule
  of trigger and routine bodies) is a flag: migrator.dialects.lexrules says what each flag does,
  migrator.dialects.registry which dialect sets it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Final, Protocol

from migrator.dialects.lexrules import LexRules
from migrator.dialects.registry import DIALECTS, spec

__all__ = [
    "DIALECTS",
    "LexError",
    "Statement",
    "StatementSplitter",
    "leading_keywords",
    "scan_statements",
    "split_alike",
    "split_statements",
    "starts_with",
]


@dataclass(frozen=True, slots=True)
class Statement:
    text: str  # exact substring of the input, without the delimiter and trailing whitespace
    line: int  # 1-based line where text starts
    column: int  # 1-based column (characters) where text starts
    offset: int  # 0-based character offset where text starts


class LexError(Exception):
    """The input ends inside a string, quoted identifier, comment, dollar quote or block."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.message = message
        self.line = line
        self.column = column

    def __reduce__(self) -> tuple[type[LexError], tuple[str, int, int]]:
        return LexError, (self.message, self.line, self.column)


# --------------------------------------------------------------------------------------------
# Character classes and token kinds

_WS: Final = " \t\n\r\f\v"
# All three databases treat every non-ASCII character as a letter of an unquoted identifier.
# Written as negated ASCII classes: the same sets as [A-Za-z0-9_$\x80-\U0010ffff] etc.,
# but they compile in a fraction of the time, which keeps `migrator --help` fast.
_IDENT: Final = r"[^\x00-#%-/:-@\[-^`{-\x7f]"  # letters, digits, _, $, non-ASCII
_TAG_START: Final = r"[^\x00-@\[-^`{-\x7f]"  # letters, _, non-ASCII
_TAG: Final = r"[^\x00-/:-@\[-^`{-\x7f]"  # letters, digits, _, non-ASCII

_SPACE_RE: Final = re.compile(f"[{_WS}]+")
_GAP_SPACE_RE: Final = re.compile(f"[{_WS}\ufeff]*")
_WORD_RE: Final = re.compile(f"{_IDENT}+")
_IDENT_CHAR_RE: Final = re.compile(f"{_IDENT}")
_DOLLAR_TAG_RE: Final = re.compile(f"\\$(?:{_TAG_START}{_TAG}*)?\\$")
_DOLLAR_PREFIX_RE: Final = re.compile(f"\\$(?:{_TAG_START}{_TAG}*)?\\Z")
_DELIMITER_RE: Final = re.compile(r"(?i:delimiter)(?=[ \t\r\n\f\v])")

_MORE, _SPACE, _COMMENT, _CODE, _WORD, _OTHER, _OPEN, _CLOSE, _SEMI = range(9)


# --------------------------------------------------------------------------------------------
# Closers: find the end of a long token (string, comment, dollar quote) so that scanning can
# resume mid-token in the next chunk instead of starting the token over.


class _Closer(Protocol):
    what: str

    def close(self, buf: str, pos: int, state: int) -> tuple[bool, int, int]:
        """(True, end, _) when the token ends at `end`; else (False, resume position, state)."""
        ...


class _QuotedCloser:
    __slots__ = ("_body", "what")

    def __init__(self, quote: str, backslash: bool, what: str) -> None:
        escape = r"|\\[\s\S]" if backslash else ""
        excluded = quote + ("\\\\" if backslash else "")
        self._body = re.compile(f"(?:[^{excluded}]++{escape}|{quote}{quote})*+").match
        self.what = what

    def close(self, buf: str, pos: int, state: int) -> tuple[bool, int, int]:
        end = self._body(buf, pos).end()  # type: ignore[union-attr]  # always matches
        # The body stops at the closing quote; a quote or backslash that is the last character
        # may still be doubled or escaped by the next chunk.
        if end + 1 < len(buf):
            return True, end + 1, state
        return False, end, state


class _FindCloser:
    __slots__ = ("_end", "what")

    def __init__(self, end: str, what: str) -> None:
        self._end = end
        self.what = what

    def close(self, buf: str, pos: int, state: int) -> tuple[bool, int, int]:
        found = buf.find(self._end, pos)
        if found >= 0:
            return True, found + len(self._end), state
        return False, max(pos, len(buf) - len(self._end) + 1), state


_NESTING_RE: Final = re.compile(r"/\*|\*/")


class _NestedCommentCloser:
    __slots__ = ()
    what = "comment"

    def close(self, buf: str, pos: int, depth: int) -> tuple[bool, int, int]:
        for m in _NESTING_RE.finditer(buf, pos):
            depth += 1 if m[0] == "/*" else -1
            pos = m.end()
            if depth == 0:
                return True, pos, 0
        return False, max(pos, len(buf) - 1), depth


class _LineEndCloser:
    """A `--` comment that ends at LF or at a lone CR (the postgres scanner's newline)."""

    __slots__ = ()
    what = "comment"

    def close(self, buf: str, pos: int, state: int) -> tuple[bool, int, int]:
        m = _LINE_END_RE.search(buf, pos)
        return (True, m.end(), state) if m else (False, len(buf), state)


_LINE_END_RE: Final = re.compile(r"[\r\n]")
_LINE_COMMENT: Final = _FindCloser("\n", "comment")
_LINE_COMMENT_CR: Final = _LineEndCloser()
_BLOCK_COMMENT: Final = _FindCloser("*/", "comment")
_NESTED_COMMENT: Final = _NestedCommentCloser()
_BRACKET_IDENT: Final = _FindCloser("]", "quoted identifier")


@cache
def _quoted_closer(quote: str, backslash: bool, what: str) -> _QuotedCloser:
    """Compiled when a dialect that has the quote is first used, not at import."""
    return _QuotedCloser(quote, backslash, what)


_Token = tuple[int, int, "_Closer | None", int]  # kind, end, closer of a long token, its state
_MORE_TOKEN: Final[_Token] = (_MORE, 0, None, 0)


# --------------------------------------------------------------------------------------------
# Block trackers: only statements that may define a trigger/routine pay for keyword tracking.


class _Blocks(Protocol):
    depth: int

    def word(self, word: str, parens: int) -> bool:
        """Track an upper-cased word; False when the statement cannot have a body."""
        ...

    def other(self) -> None: ...

    def semicolon(self) -> bool:
        """A ';' at parenthesis depth 0: True when it ends the statement."""
        ...

    def unclosed(self) -> bool: ...


def _prefix_match(words: tuple[str, ...], patterns: tuple[tuple[str, ...], ...]) -> bool | None:
    """True: words are a pattern; None: a pattern may still follow; False: none can."""
    if words in patterns:
        return True
    if any(p[: len(words)] == words for p in patterns):
        return None
    return False


_PG_ROUTINES: Final = (
    ("CREATE", "FUNCTION"),
    ("CREATE", "PROCEDURE"),
    ("CREATE", "OR", "REPLACE", "FUNCTION"),
    ("CREATE", "OR", "REPLACE", "PROCEDURE"),
)


class _PostgresBlocks:
    """psql's heuristic for SQL-standard function bodies (BEGIN ATOMIC ... END)."""

    __slots__ = ("depth", "_words", "_routine")

    def __init__(self) -> None:
        self.depth = 0
        self._words: tuple[str, ...] = ()
        self._routine = False

    def word(self, word: str, parens: int) -> bool:
        if not self._routine:
            self._words += (word,)
            found = _prefix_match(self._words, _PG_ROUTINES)
            self._routine = bool(found)
            return found is not False
        if parens:
            return True
        if word == "BEGIN" or (word == "CASE" and self.depth):
            self.depth += 1
        elif word == "END" and self.depth:
            self.depth -= 1
        return True

    def other(self) -> None:
        pass

    def semicolon(self) -> bool:
        return self.depth == 0

    def unclosed(self) -> bool:
        return self.depth > 0


_SQLITE_TRIGGERS: Final = (
    ("CREATE", "TRIGGER"),
    ("CREATE", "TEMP", "TRIGGER"),
    ("CREATE", "TEMPORARY", "TRIGGER"),
)
_BODY, _AFTER_SEMI, _AFTER_END = range(3)


class _SqliteBlocks:
    """sqlite3_complete(): inside CREATE TRIGGER only "; END ;" ends the statement."""

    __slots__ = ("depth", "_words", "_trigger", "_state")

    def __init__(self) -> None:
        self.depth = 0  # 1 once the body's BEGIN was seen, for error positions
        self._words: tuple[str, ...] = ()
        self._trigger = False
        self._state = _BODY

    def word(self, word: str, parens: int) -> bool:
        if not self._trigger:
            self._words += (word,)
            found = _prefix_match(self._words, _SQLITE_TRIGGERS)
            self._trigger = bool(found)
            return found is not False
        if word == "END" and self._state == _AFTER_SEMI:
            self._state = _AFTER_END
            return True
        self._state = _BODY
        if word == "BEGIN":
            self.depth = 1
        return True

    def other(self) -> None:
        self._state = _BODY

    def semicolon(self) -> bool:
        if not self._trigger or self._state == _AFTER_END:
            return True
        self._state = _AFTER_SEMI
        return False

    def unclosed(self) -> bool:
        return self.depth > 0 and self._state != _AFTER_END


_MYSQL_ROUTINES: Final = frozenset({"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"})
_MYSQL_NOT_ROUTINES: Final = frozenset(
    {
        "TABLE",
        "VIEW",
        "INDEX",
        "DATABASE",
        "SCHEMA",
        "UNIQUE",
        "FULLTEXT",
        "SPATIAL",
        "TEMPORARY",
        "USER",
        "ROLE",
        "SERVER",
        "TABLESPACE",
        "LOGFILE",
        "SEQUENCE",
        "RESOURCE",
        "INSTANCE",
        "UNDO",
        "ONLINE",
        "OFFLINE",
        "IGNORE",
        "PACKAGE",
    }
)
_MYSQL_END_SUFFIXES: Final = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR"})  # FOR: MariaDB
_MYSQL_CLASSIFY_WORDS: Final = 12  # DEFINER=..., SQL SECURITY ... come before the object kind


class _MysqlBlocks:
    """BEGIN/CASE ... END nesting inside CREATE|ALTER ... TRIGGER|PROCEDURE|FUNCTION|EVENT."""

    __slots__ = ("depth", "_seen", "_routine", "_pending_end")

    def __init__(self) -> None:
        self.depth = 0
        self._seen = 0
        self._routine = False
        self._pending_end = False  # END seen; the next token says whether it closes a block

    def word(self, word: str, parens: int) -> bool:
        if not self._routine:
            return self._classify(word)
        if self._pending_end:
            self._pending_end = False
            if word in _MYSQL_END_SUFFIXES:
                return True
            self.depth -= 1
            if word == "CASE":  # END CASE
                return True
        if word == "BEGIN" or word == "CASE":
            self.depth += 1
        elif word == "END" and self.depth:
            self._pending_end = True
        return True

    def _classify(self, word: str) -> bool:
        self._seen += 1
        if self._seen == 1:
            return word == "CREATE" or word == "ALTER"
        if word in _MYSQL_ROUTINES:
            self._routine = True
            return True
        return word not in _MYSQL_NOT_ROUTINES and self._seen < _MYSQL_CLASSIFY_WORDS

    def _settle(self) -> None:
        if self._pending_end:
            self._pending_end = False
            self.depth -= 1

    def other(self) -> None:
        self._settle()

    def semicolon(self) -> bool:
        self._settle()
        return self.depth == 0

    def unclosed(self) -> bool:
        self._settle()
        return self.depth > 0


# LexRules.blocks -> (the first words of a statement that may have such a body, its tracker)
_BLOCK_RULES: Final[dict[str, tuple[tuple[str, ...], Callable[[], _Blocks]]]] = {
    "trigger-body": (("CREATE",), _SqliteBlocks),
    "begin-atomic": (("CREATE",), _PostgresBlocks),
    "compound-statement": (("CREATE", "ALTER"), _MysqlBlocks),
}


# --------------------------------------------------------------------------------------------
# Fast path: one regex match consumes runs of ordinary text, whole literals and (up to three
# levels of) balanced parentheses, so a multi-row INSERT costs a handful of Python steps. Every
# alternative needs one visible character after it, so a match never ends in a token that the
# next chunk could extend; whatever it cannot take is left to the token-by-token path.


def _quoted_runs(rules: LexRules) -> tuple[str, ...]:
    """Whole quoted strings and identifiers, each followed by a character that cannot extend it."""

    def quoted(q: str, backslash: bool) -> str:
        if backslash:
            return f"{q}(?:[^{q}\\\\]++|\\\\[\\s\\S]|{q}{q})*+{q}(?=[^{q}])"
        return f"{q}(?:[^{q}]++|{q}{q})*+{q}(?=[^{q}])"

    single = quoted("'", rules.backslash_escapes)
    if rules.e_strings:  # a letter before the quote may make it E'...': left to the slow path
        single = f"(?<!{_IDENT})" + single
    runs = [single, quoted('"', rules.double_quote_strings and rules.backslash_escapes)]
    if rules.backtick_idents:
        runs.append(quoted("`", False))
    if rules.bracket_idents:
        runs.append(r"\[[^\]]*+\]")
    return tuple(runs)


def _specials(rules: LexRules) -> str:
    """The characters that may start a token the fast path leaves to the slow one."""
    return "".join(
        (
            "'\"",
            "`" if rules.backtick_idents else "",
            "[" if rules.bracket_idents else "",
            "();",
            "$" if rules.dollar_quotes else "",
            "#" if rules.hash_comments else "",
            "-/",
        )
    )


def _gap_re(rules: LexRules) -> re.Pattern[str]:
    """Whitespace and complete, non-nested comments between statements, in one match."""
    dash = "--(?=[\x00- ])[^\n]*+\n" if rules.dash_comment_needs_space else "--[^\n]*+\n"
    hash_comment = "|\\#[^\n]*+\n" if rules.hash_comments else ""
    code = "(?![!+]|M!)" if rules.executable_comments else ""  # executable comments are code
    # a nested comment is left to the slow path
    body = "(?:[^*/]++|\\*(?!/)|/(?!\\*))*+" if rules.nested_comments else "(?:[^*]++|\\*(?!/))*+"
    return re.compile(f"(?:[{_WS}\ufeff]++|{dash}{hash_comment}|/\\*{code}{body}\\*/)*+")


_GROUP_LEVELS: Final = 3

_Matcher = Callable[[str, int], "re.Match[str]"]


def _char_class(chars: str) -> str:
    return "".join("\\" + c if c in "\\]^-[" else c for c in dict.fromkeys(chars))


def _run(specials: str, slash: bool = True) -> str:
    alternatives = [f"[^{_char_class(specials)}]+(?=[\\s\\S])", "-(?=[^-])"]
    if slash:
        alternatives.append(r"/(?=[^*])")
    return "|".join(alternatives)


def _loop(alternatives: list[str]) -> str:
    return "(?:" + "|".join(alternatives) + ")*+"


@cache
def _fast_matchers(rules: LexRules, custom: str) -> tuple[_Matcher, _Matcher] | None:
    """Matchers for parenthesis depth 0 and > 0, or None when only the slow path is safe.

    `custom` is the first character of a custom delimiter, or "" for ";".
    """
    quoted = list(_quoted_runs(rules))
    specials = _specials(rules)
    if not custom:
        inside = _run(specials.replace(";", ""))
        group = ""
        for _ in range(_GROUP_LEVELS):
            group = r"\(" + _loop([inside, *quoted, *([group] if group else [])]) + r"\)"
        top = re.compile(_loop([_run(specials), *quoted, group])).match
        return top, re.compile(_loop([inside, *quoted, group])).match  # type: ignore[return-value]
    if custom in "'\"`#-":
        return None
    plain = re.sub("[;()]", "", specials) + custom
    match = re.compile(_loop([_run(plain, slash=custom != "/"), *quoted])).match
    return match, match  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Slow path: one token at a time


class _Lexer:
    """Recognises one token of a dialect at a position; holds no per-input state."""

    def __init__(self, rules: LexRules) -> None:
        self.rules = rules
        self.delimiter_command = rules.delimiter_command
        self.gap = _gap_re(rules)
        self._dash_needs_space = rules.dash_comment_needs_space
        self._dash_comment = _LINE_COMMENT_CR if rules.cr_ends_line_comment else _LINE_COMMENT
        self._executable_comments = rules.executable_comments
        self._e_strings = rules.e_strings
        self._string = _quoted_closer("'", rules.backslash_escapes, "string")
        self._escaped_string = _quoted_closer("'", True, "string") if rules.e_strings else self._string
        self._double = (
            _quoted_closer('"', rules.backslash_escapes, "string")
            if rules.double_quote_strings
            else _quoted_closer('"', False, "quoted identifier")
        )
        self._block_comment: tuple[_Closer, int] = (
            (_NESTED_COMMENT, 1) if rules.nested_comments else (_BLOCK_COMMENT, 0)
        )
        self._body_starters: tuple[str, ...] = ()
        self._blocks: Callable[[], _Blocks] | None = None
        if rules.blocks:
            self._body_starters, self._blocks = _BLOCK_RULES[rules.blocks]
        self._body_initials = "".join(w[0] + w[0].lower() for w in self._body_starters)
        self._handlers: dict[str, Callable[[str, int], _Token]] = {
            "(": lambda buf, pos: (_OPEN, pos + 1, None, 0),
            ")": lambda buf, pos: (_CLOSE, pos + 1, None, 0),
            ";": lambda buf, pos: (_SEMI, pos + 1, None, 0),
            "'": self._single_quote,
            '"': lambda buf, pos: (_OTHER, pos + 1, self._double, 0),
            "-": self._dash,
            "/": self._slash,
        }
        if rules.backtick_idents:
            backtick = _quoted_closer("`", False, "quoted identifier")
            self._handlers["`"] = lambda buf, pos: (_OTHER, pos + 1, backtick, 0)
        if rules.bracket_idents:
            self._handlers["["] = lambda buf, pos: (_OTHER, pos + 1, _BRACKET_IDENT, 0)
        if rules.hash_comments:
            self._handlers["#"] = lambda buf, pos: (_COMMENT, pos + 1, _LINE_COMMENT, 0)
        if rules.dollar_quotes:
            self._handlers["$"] = self._dollar

    def may_have_body(self, buf: str, pos: int) -> bool:
        """Whether the statement at pos needs keyword tracking (decided by its first word)."""
        if buf[pos] not in self._body_initials:
            return False
        m = _WORD_RE.match(buf, pos)
        assert m is not None
        return m.end() == len(buf) or m[0].upper() in self._body_starters

    def blocks(self) -> _Blocks:
        assert self._blocks is not None  # may_have_body() said there may be a body
        return self._blocks()

    def token(self, buf: str, pos: int) -> _Token:
        handler = self._handlers.get(buf[pos])
        return handler(buf, pos) if handler is not None else _plain(buf, pos)

    def _single_quote(self, buf: str, pos: int) -> _Token:
        if self._e_strings and _is_e_prefix(buf, pos):
            return _OTHER, pos + 1, self._escaped_string, 0
        return _OTHER, pos + 1, self._string, 0

    def _dash(self, buf: str, pos: int) -> _Token:
        after = pos + 2
        if after > len(buf):
            return _MORE_TOKEN
        if buf[pos + 1] != "-":
            return _OTHER, pos + 1, None, 0
        if self._dash_needs_space:
            if after == len(buf):
                return _MORE_TOKEN
            if buf[after] > " ":
                return _OTHER, pos + 1, None, 0
        return _COMMENT, after, self._dash_comment, 0

    def _slash(self, buf: str, pos: int) -> _Token:
        if pos + 1 >= len(buf):
            return _MORE_TOKEN
        if buf[pos + 1] != "*":
            return _OTHER, pos + 1, None, 0
        if self._executable_comments:
            head = buf[pos + 2 : pos + 4]
            if len(head) < 2 and head in ("", "M"):
                return _MORE_TOKEN
            if head[:1] in ("!", "+") or head == "M!":
                return _CODE, pos + 2, _BLOCK_COMMENT, 0
        closer, state = self._block_comment
        return _COMMENT, pos + 2, closer, state

    def _dollar(self, buf: str, pos: int) -> _Token:
        if pos and _IDENT_CHAR_RE.match(buf, pos - 1):  # inside an identifier such as a$b
            return _OTHER, pos + 1, None, 0
        m = _DOLLAR_TAG_RE.match(buf, pos)
        if m:
            return _OTHER, m.end(), _FindCloser(m[0], f"dollar-quoted string {m[0]}"), 0
        if _DOLLAR_PREFIX_RE.match(buf, pos):
            return _MORE_TOKEN
        return _OTHER, pos + 1, None, 0  # $1 and stray dollars


def _plain(buf: str, pos: int) -> _Token:
    m = _SPACE_RE.match(buf, pos)
    if m:
        return _SPACE, m.end(), None, 0
    m = _WORD_RE.match(buf, pos)
    if m is None:
        return _OTHER, pos + 1, None, 0
    end = m.end()
    return (_WORD, end, None, 0) if end < len(buf) else _MORE_TOKEN


def _starts_line(buf: str, start: int, end: int, before: bool) -> bool:
    """Whether only whitespace follows the last line break in buf[start:end] (or start)."""
    newline = buf.rfind("\n", start, end)
    tail = newline + 1 if newline >= 0 else start
    if tail < end and _GAP_SPACE_RE.fullmatch(buf, tail, end) is None:
        return False
    return newline >= 0 or before


def _is_e_prefix(buf: str, pos: int) -> bool:
    """PostgreSQL E'...': the quote follows a word that is exactly E."""
    return pos >= 1 and buf[pos - 1] in "eE" and (pos < 2 or _IDENT_CHAR_RE.match(buf, pos - 2) is None)


@cache
def _lexer(dialect: str) -> _Lexer:
    return _Lexer(spec(dialect).lex)  # ValueError for a name the registry does not know


# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _OpenToken:
    closer: _Closer
    state: int
    line: int
    column: int


class StatementSplitter:
    """Incremental splitter: feed chunks, then finish(). Reusable after finish()."""

    def __init__(self, dialect: str) -> None:
        self._lex = _lexer(dialect)
        self._reset()

    def feed(self, chunk: str) -> list[Statement]:
        """Statements completed by this chunk."""
        if not chunk:
            return []
        self._buf += chunk
        return self._scan()

    def finish(self) -> list[Statement]:
        """The last statement, which needs no delimiter; LexError inside an open construct."""
        try:
            # A trailing newline cannot change any token before it, and it ends a final line
            # comment or DELIMITER line; trailing whitespace never reaches a statement's text.
            self._buf += "\n"
            out = self._scan()
            self._check_closed()
            if self._in_statement:
                self._end_statement(len(self._buf), len(self._buf), out)
            return out
        finally:
            self._reset()

    # -- state ---------------------------------------------------------------------------------
    def _reset(self) -> None:
        self._buf = ""
        self._base = 0  # input offset of _buf[0]
        self._pos = 0  # scan position in _buf
        self._lc_pos = 0  # _buf index up to which lines are counted
        self._lc_line = 1
        self._lc_bol = 0  # input offset where line _lc_line begins
        self._open: _OpenToken | None = None
        self._line_start = True  # only whitespace since the last line break (DELIMITER)
        self._set_delimiter(";")
        self._in_statement = False
        self._seg = 0  # _buf index where the statement's not yet saved text starts
        self._parts: list[str] = []  # statement text already dropped from _buf
        self._start = (1, 1, 0)  # line, column, offset of the statement
        self._blocks: _Blocks | None = None
        self._block_at = (1, 1)
        self._depth = 0  # parentheses

    def _locate(self, pos: int) -> tuple[int, int]:
        """Line and column of _buf index pos; positions asked for never decrease."""
        buf, counted = self._buf, self._lc_pos
        breaks = buf.count("\n", counted, pos)
        if breaks:
            self._lc_line += breaks
            self._lc_bol = self._base + buf.rfind("\n", counted, pos) + 1
        self._lc_pos = pos
        return self._lc_line, self._base + pos - self._lc_bol + 1

    def _trim(self) -> None:
        """Drop scanned text, keeping two characters of context for E'' and $ look-behinds."""
        pos = self._pos
        cut = pos - 2
        if cut <= 0:
            return
        if self._in_statement:
            if self._seg < pos:
                self._parts.append(self._buf[self._seg : pos])
            self._seg = pos - cut
        if cut > self._lc_pos:
            self._locate(cut)
        self._buf = self._buf[cut:]
        self._base += cut
        self._pos -= cut
        self._lc_pos -= cut

    # -- scanning ------------------------------------------------------------------------------
    def _scan(self) -> list[Statement]:
        out: list[Statement] = []
        while True:
            if self._open is not None:
                progressed = self._resume_open()
            elif self._in_statement:
                progressed = self._statement_step(out)
            else:
                progressed = self._gap_step()
            if not progressed:
                break
        self._trim()
        return out

    def _gap_step(self) -> bool:
        """Between statements: skip whitespace, comments, empty statements, DELIMITER lines."""
        pos = self._skip_gap()
        buf = self._buf
        if pos >= len(buf):
            return False
        first = buf[pos]
        if self._line_start and first in "dD" and self._lex.delimiter_command:
            handled = self._delimiter_command(pos)
            if handled is not None:
                return handled
        if self._custom:
            at_delimiter = self._at_delimiter(pos)
            if at_delimiter is not False:
                return at_delimiter is not None and self._skip_empty(pos + len(self._delimiter))
        elif first not in "-/#;":  # cannot start a comment or an empty statement
            self._begin_statement(pos)
            return True
        return self._gap_token(pos)

    def _gap_token(self, pos: int) -> bool:
        kind, end, closer, state = self._lex.token(self._buf, pos)
        if kind == _MORE:
            return False
        if kind == _SEMI and not self._custom:
            return self._skip_empty(end)
        if kind != _COMMENT:
            self._begin_statement(pos)
            return True
        self._line_start = False
        self._pos = end
        if closer is not None:
            self._close_token(pos, closer, state)
        return True

    def _skip_gap(self) -> int:
        """Skip whitespace and whole simple comments in one match; the rest is left to tokens."""
        buf, pos = self._buf, self._pos
        end = self._gap(buf, pos).end()  # type: ignore[union-attr]  # always matches
        if end > pos:
            if self._lex.delimiter_command:  # DELIMITER is recognised at the start of a line
                self._line_start = _starts_line(buf, pos, end, self._line_start)
            self._pos = end
        return end

    def _skip_empty(self, end: int) -> bool:
        self._pos = end
        self._line_start = False
        return True

    def _at_delimiter(self, pos: int) -> bool | None:
        """True at the custom delimiter, None if the buffer ends inside one, else False."""
        delimiter, buf = self._delimiter, self._buf
        if buf.startswith(delimiter, pos):
            return True
        if len(buf) - pos < len(delimiter) and delimiter.startswith(buf[pos:]):
            return None
        return False

    def _delimiter_command(self, pos: int) -> bool | None:
        """Apply a DELIMITER line at pos; None if there is none, False if it is incomplete."""
        buf = self._buf
        m = _DELIMITER_RE.match(buf, pos)
        if m is None:
            rest = buf[pos:]
            if len(rest) < 10 and "delimiter".startswith(rest.lower()):
                return False
            return None
        eol = buf.find("\n", m.end())
        if eol < 0:
            return False
        words = buf[m.end() : eol].split()
        if not words:
            raise LexError("DELIMITER must be followed by a delimiter", *self._locate(pos))
        self._set_delimiter(words[0])
        self._pos = eol + 1
        self._line_start = True
        return True

    def _set_delimiter(self, delimiter: str) -> None:
        self._delimiter = delimiter
        self._custom = delimiter != ";"
        self._fast = _fast_matchers(self._lex.rules, delimiter[0] if self._custom else "")
        # a custom delimiter such as // must not be taken for the start of a comment
        simple = delimiter == ";" or delimiter[0] not in "-/#"
        self._gap = (self._lex.gap if simple else _GAP_SPACE_RE).match

    def _begin_statement(self, pos: int) -> None:
        line, column = self._locate(pos)
        self._start = (line, column, self._base + pos)
        self._in_statement = True
        self._seg = pos
        self._pos = pos
        self._depth = 0
        # With a custom delimiter the user has taken charge of bodies: no keyword tracking.
        may_have_body = not self._custom and self._lex.may_have_body(self._buf, pos)
        self._blocks = self._lex.blocks() if may_have_body else None

    def _statement_step(self, out: list[Statement]) -> bool:
        if self._blocks is None and self._fast is not None and self._fast_forward(out):
            return True
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            return False
        if self._custom:
            at_delimiter = self._at_delimiter(pos)
            if at_delimiter is not False:
                if at_delimiter:
                    self._end_statement(pos, pos + len(self._delimiter), out)
                return at_delimiter is not None
        kind, end, closer, state = self._lex.token(buf, pos)
        if kind == _MORE:
            return False
        if kind == _SEMI and self._semicolon_ends_statement():
            self._end_statement(pos, end, out)
            return True
        if not self._custom:
            self._account(kind, pos, end)
        self._pos = end
        if closer is not None:
            self._close_token(pos, closer, state)
        return True

    def _fast_forward(self, out: list[Statement]) -> bool:
        """Skip ordinary text in one match; True if that reached the statement's end."""
        assert self._fast is not None
        buf = self._buf
        pos = self._fast[self._depth > 0 and not self._custom](buf, self._pos).end()
        self._pos = pos
        if self._custom or self._depth or not buf.startswith(";", pos):
            return False
        self._end_statement(pos, pos + 1, out)
        return True

    def _semicolon_ends_statement(self) -> bool:
        if self._custom or self._depth:
            return False
        return self._blocks is None or self._blocks.semicolon()

    def _account(self, kind: int, pos: int, end: int) -> None:
        """Parentheses and keywords of a token that does not end the statement."""
        if kind == _OPEN:
            self._depth += 1
        elif kind == _CLOSE and self._depth:
            self._depth -= 1
        blocks = self._blocks
        if blocks is None or (kind == _SEMI and not self._depth):  # semicolon() saw it
            return
        if kind == _WORD:
            opened = blocks.depth == 0
            if not blocks.word(self._buf[pos:end].upper(), self._depth):
                self._blocks = None
            elif opened and blocks.depth:
                self._block_at = self._locate(pos)
        elif kind != _SPACE and kind != _COMMENT:
            blocks.other()

    def _close_token(self, start: int, closer: _Closer, state: int) -> None:
        """Finish a long token now if the buffer holds its end, else remember it is open."""
        done, pos, state = closer.close(self._buf, self._pos, state)
        if done:
            self._token_closed(pos)
            return
        line, column = self._locate(start)
        self._open = _OpenToken(closer, state, line, column)
        self._pos = pos

    def _resume_open(self) -> bool:
        token = self._open
        assert token is not None
        done, pos, token.state = token.closer.close(self._buf, self._pos, token.state)
        self._pos = pos
        if done:
            self._open = None
            self._token_closed(pos)
        return done

    def _token_closed(self, end: int) -> None:
        self._pos = end
        if not self._in_statement:
            self._line_start = self._buf[end - 1] == "\n"

    def _end_statement(self, end: int, resume: int, out: list[Statement]) -> None:
        text = self._buf[self._seg : end]
        if self._parts:
            self._parts.append(text)
            text = "".join(self._parts)
            self._parts = []
        out.append(Statement(text.rstrip(_WS), *self._start))
        self._in_statement = False
        self._blocks = None
        self._depth = 0
        self._pos = resume
        self._line_start = False

    def _check_closed(self) -> None:
        if self._open is not None:
            token = self._open
            raise LexError(f"unterminated {token.closer.what}", token.line, token.column)
        if self._in_statement and self._blocks is not None and self._blocks.unclosed():
            raise LexError("unterminated BEGIN ... END block", *self._block_at)


def split_statements(text: str, dialect: str) -> list[Statement]:
    """All statements of a whole script."""
    _lexer(dialect)  # ValueError for a dialect the registry does not know
    alike = split_alike(text)
    return alike if alike is not None else scan_statements(text, dialect)


def scan_statements(text: str, dialect: str) -> list[Statement]:
    """split_statements() through the token scanner, for text split_alike() declined."""
    splitter = StatementSplitter(dialect)
    statements = splitter.feed(text)
    statements.extend(splitter.finish())
    return statements


# Plain text: nothing in it that any dialect's rules read differently from the others, so
# only ';' at parenthesis depth 0 ends a statement. No quote of any kind, no comment, no
# escape, no dollar, no DELIMITER line, and none of the words without which no BEGIN ... END
# body can open (a body opens only in a trigger, function, procedure or event). The words are
# looked for in the upper-cased text, as the scanner upper-cases a word before it compares
# (`trıgger` with a dotless i is TRIGGER to it), and inside longer words too: a false alarm
# only costs the full scan. tests/test_lexer.py holds this path to the scanner on every dialect.
_QUOTE_OR_ESCAPE_RE: Final = re.compile(r"""['"`\[\]$#\\\ufeff]""")
_COMMENT_MARKS: Final = ("--", "/*", "*/")
_BODY_WORDS: Final = ("TRIGGER", "FUNCTION", "PROCEDURE", "EVENT", "DELIMITER")


def split_alike(text: str) -> list[Statement] | None:
    """The statements of a text every dialect splits alike (plain text), else None."""
    if _QUOTE_OR_ESCAPE_RE.search(text) is not None or any(mark in text for mark in _COMMENT_MARKS):
        return None
    upper = text.upper()
    if any(word in upper for word in _BODY_WORDS):
        return None
    return _split_plain(text)


_PLAIN_MARK_RE: Final = re.compile(r"[;()]")
_NON_SPACE_RE: Final = re.compile(f"[^{_WS}]")


def _split_plain(text: str) -> list[Statement]:
    """split_statements() of plain text, without the token-by-token scan."""
    out: list[Statement] = []
    line, counted = 1, 0  # line number at offset `counted`
    bol = 0  # offset where that line begins

    def emit(begin: int, end: int) -> None:
        nonlocal line, counted, bol
        breaks = text.count("\n", counted, begin)
        if breaks:
            line += breaks
            bol = text.rfind("\n", counted, begin) + 1
        counted = begin
        out.append(Statement(text[begin:end].rstrip(_WS), line, begin - bol + 1, begin))

    begin = -1  # where the statement being read starts; -1 between statements
    pos = 0  # where the next statement may start
    depth = 0
    for mark in _PLAIN_MARK_RE.finditer(text):
        at = mark.start()
        if begin < 0:
            first = _NON_SPACE_RE.search(text, pos, at)
            begin = first.start() if first is not None else at
            if begin == at and text[at] == ";":  # an empty statement
                begin, pos = -1, at + 1
                continue
        char = text[at]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= depth > 0
        elif not depth:
            emit(begin, at)
            begin, pos = -1, at + 1
    if begin < 0:
        first = _NON_SPACE_RE.search(text, pos)
        begin = first.start() if first is not None else -1
    if begin >= 0:
        emit(begin, len(text))
    return out


# --------------------------------------------------------------------------------------------

_LEADING_SKIP_RE: Final = re.compile(
    r"""
      [ \t\n\r\f\v\ufeff]+
    | (?:--|\#)[^\n]*
    | /\*M?!\d*                   # MySQL executable comment: its content is code
    | /\*[\s\S]*?(?:\*/|\Z)
    | \*/                         # end of an executable comment
    """,
    re.VERBOSE,
)
_LEADING_WORD_RE: Final = re.compile(f"{_TAG_START}{_IDENT}*")


def leading_keywords(statement_text: str, count: int = 3) -> tuple[str, ...]:
    """The first `count` bare words, upper-cased; comments are skipped, other tokens stop it.

    "/* x */ create  index concurrently foo" -> ("CREATE", "INDEX", "CONCURRENTLY"). The content
    of a MySQL /*!...*/ comment counts as code.
    """
    words: list[str] = []
    pos = 0
    while len(words) < count:
        m = _LEADING_SKIP_RE.match(statement_text, pos)
        if m is not None:
            pos = m.end()
            continue
        m = _LEADING_WORD_RE.match(statement_text, pos)
        if m is None:
            break
        words.append(m[0].upper())
        pos = m.end()
    return tuple(words)


# A name as SQL may quote it: "x" (with "" inside), `x`, [x], and in SQLite even 'x'.
_LEADING_QUOTED_RE: Final = re.compile(r""""(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|'(?:[^']|'')*'""")


def starts_with(statement_text: str, pattern: tuple[str, ...]) -> bool:
    """Does the statement begin with `pattern`? An upper-case word of it is a keyword, written
    bare; a lower-case word is a name, which may be quoted and qualified by a schema:
    ("PRAGMA", "foreign_keys") matches `pragma Main . "FOREIGN_KEYS" = on` as much as
    `PRAGMA foreign_keys = ON`. Case never matters; comments may stand between the words."""
    pos = 0
    for want in pattern:
        found, pos = (
            _leading_name(statement_text, pos) if want.islower() else _leading_word(statement_text, pos)
        )
        if found is None or found.upper() != want.upper():
            return False
    return True


def _skip(text: str, pos: int) -> int:
    while (m := _LEADING_SKIP_RE.match(text, pos)) is not None and m.end() > pos:
        pos = m.end()
    return pos


def _leading_word(text: str, pos: int) -> tuple[str | None, int]:
    m = _LEADING_WORD_RE.match(text, _skip(text, pos))
    return (m[0], m.end()) if m else (None, pos)


def _leading_name(text: str, pos: int) -> tuple[str | None, int]:
    """The last part of a possibly qualified, possibly quoted name (`main."t"` -> t)."""
    while True:
        pos = _skip(text, pos)
        m = _LEADING_WORD_RE.match(text, pos) or _LEADING_QUOTED_RE.match(text, pos)
        if m is None:
            return None, pos
        part, pos = m[0], m.end()
        if part[0] in "\"`'":
            part = part[1:-1].replace(part[0] * 2, part[0])
        elif part[0] == "[":
            part = part[1:-1]
        after = _skip(text, pos)
        if not text.startswith(".", after):
            return part, pos
        pos = after + 1
