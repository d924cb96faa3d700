"""Where in a statement a database's error points, from the error's own text.

MySQL and MariaDB give no offset: a syntax error quotes the rest of the query from the token
it could not parse, `... near '<rest>' at line N`. What they quote, as measured on MariaDB
10.11 (the tests check it against the server):

* the text exactly as it was sent, from the bad token to the end of the query text;
* at most 80 bytes of it: a longer rest is cut to 77 bytes and `...` (MySQL cuts it to 80
  characters, without the dots);
* a character outside the Basic Multilingual Plane (an emoji) as `?`;
* N counts the lines of the statement from its first token, but not the line breaks inside
  quoted strings and identifiers; and when the statement ends early (`near ''`), N is the
  line of its last token.

So the quoted rest, not the line number, says where the error is: an untruncated rest is a
suffix of the statement, found exactly, whatever text repeats before it (a trigger body's
`SET x = x + 1;` lines); N only chooses among the places a truncated quote fits. The quoted
text is never cut at a `;`: a trigger or procedure body holds `;` and line breaks of its
own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["mysql_error_position"]

_NEAR = re.compile(r"near '(.*)' at line (\d+)", re.DOTALL)
_QUOTE_LIMIT_CHARS = 80  # MySQL: near '%-.80s'
_DOTS = "..."  # MariaDB: near '%-.80T' ends a cut quote with these
# Quoted strings and identifiers, whose line breaks the server's line count skips, and
# comments, which may hold quote characters (and whose line breaks it counts).
_QUOTED_OR_COMMENT = re.compile(
    r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`"
    r"|/\*.*?\*/|(?:--(?=\s)|#)[^\n]*",
    re.DOTALL,
)

_EXACT, _RAN_ON, _CUT = range(3)  # how a place fits the quote, best first


def mysql_error_position(message: str, sql: str) -> int | None:
    """The 0-based character offset in `sql` (the statement exactly as it was sent, alone
    as its query text) of the token a MySQL/MariaDB error message quotes with
    "near '...' at line N"; the end of the statement for `near ''`; None when the message
    quotes nothing."""
    match = _NEAR.search(message)
    if match is None:
        return None
    near, line = match.group(1), int(match.group(2))
    if not near:  # the statement ended too early
        return len(sql.rstrip())
    places = _places(near, sql)
    if not places:
        return _line_start(sql, line)
    lines = _LineNumbers(sql)

    def rank(place: tuple[int, int]) -> tuple[int, int, int]:
        kind, offset = place
        return (lines.distance(offset, line), kind, offset)

    return min(places, key=rank)[1]


def _places(near: str, sql: str) -> list[tuple[int, int]]:
    """(kind, offset) of every place in `sql` the quoted text fits."""
    places: list[tuple[int, int]] = []
    # The whole rest of the statement (the usual case), or the rest followed by text the
    # server read after it: other statements sent in the same query, joined with ';'.
    # (An exact fit is the quote's only possible place: the rest is the statement's end.)
    for end in [len(near)] + [i for i, c in enumerate(near) if c == ";"]:
        start = len(sql) - end
        if start >= 0 and _same(near[:end], sql[start:]):
            if end == len(near):
                return [(_EXACT, start)]
            places.append((_RAN_ON, start))
    # A quote the server cut short: its text begins the rest of the statement.
    for cut in _cut_forms(near):
        places += [(_CUT, start) for start in _starts(cut, sql)]
    return places


def _cut_forms(near: str) -> list[str]:
    forms = []
    if near.endswith(_DOTS) and len(near) > len(_DOTS):
        forms.append(near[: -len(_DOTS)])
    if len(near) >= _QUOTE_LIMIT_CHARS:
        forms.append(near)
    return forms


def _starts(prefix: str, sql: str) -> list[int]:
    """Offsets where `sql` continues with `prefix` (its `?` may stand for an emoji)."""
    key = prefix.split("?", 1)[0]
    candidates: Sequence[int]
    if not key:  # the quote begins with '?': try every place
        candidates = range(len(sql) - len(prefix) + 1)
    else:
        candidates = [m.start() for m in re.finditer(re.escape(key), sql)]
    return [s for s in candidates if _same(prefix, sql[s : s + len(prefix)])]


def _same(quoted: str, sent: str) -> bool:
    """The server's quote of `sent`: equal, but for `?` in place of a character outside the
    Basic Multilingual Plane (error messages are utf8mb3)."""
    if quoted == sent:
        return True
    if len(quoted) != len(sent) or "?" not in quoted:
        return False
    return all(q == s or (q == "?" and ord(s) > 0xFFFF) for q, s in zip(quoted, sent, strict=True))


def _line_start(sql: str, line: int) -> int | None:
    """Offset of line `line` (1-based) of the statement, None when it has fewer lines."""
    start = 0
    for _ in range(line - 1):
        newline = sql.find("\n", start)
        if newline < 0:
            return None
        start = newline + 1
    return start


class _LineNumbers:
    """The line of an offset, counted both ways: every line break (what the file shows), and
    as MariaDB counts for "at line N", without those inside quoted strings and identifiers."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._quoted_breaks: list[tuple[int, int]] | None = None

    def distance(self, offset: int, line: int) -> int:
        plain = 1 + self.sql.count("\n", 0, offset)
        if plain == line:
            return 0
        server = plain - sum(n for at, n in self._breaks_in_quotes() if at < offset)
        return min(abs(plain - line), abs(server - line))

    def _breaks_in_quotes(self) -> list[tuple[int, int]]:
        if self._quoted_breaks is None:
            self._quoted_breaks = [
                (m.start(), m.group().count("\n"))
                for m in _QUOTED_OR_COMMENT.finditer(self.sql)
                if m.group()[0] in "'\"`" and "\n" in m.group()
            ]
        return self._quoted_breaks
