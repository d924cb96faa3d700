"""Just enough SQL tokenising to compare definitions the server keeps as written.

SQLite keeps every CREATE statement verbatim and MySQL keeps trigger and routine bodies as
written, so two equal definitions may differ in spacing, comments or keyword case. Tokens
joined one way make them compare equal; strings and quoted identifiers are kept exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

_SIMPLE_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")


@dataclass(frozen=True)
class Token:
    kind: str  # word, ident (quoted identifier), string, number, op
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


@cache
def _pattern(dialect: str) -> re.Pattern[str]:
    mysql = dialect == "mysql"
    string = r"'(?:[^'\\]|''|\\.)*'" if mysql else r"'(?:[^']|'')*'"
    if mysql:  # a double-quoted text is a string on MySQL (without ANSI_QUOTES)
        string += r'|"(?:[^"\\]|""|\\.)*"'
    ident = r"`(?:[^`]|``)*`" if mysql else r'"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]'
    comment = r"--[^\n]*|/\*.*?\*/" + (r"|\#[^\n]*" if mysql else "")
    dollar = r"|(?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?(tag)(?P=tag))\$)" if dialect == "postgres" else ""
    return re.compile(
        rf"(?P<space>\s+)|(?P<comment>{comment}){dollar}|(?P<string>[EeNnXxBb]?(?:{string}))"
        rf"|(?P<ident>{ident})|(?P<word>[^\W\d]\w*(?:\$\w*)*)|(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)"
        r"|(?P<op>::|:=|=>|<>|<=|>=|!=|==|<<|>>|\|\||->>|->|#>>|#>|@>|<@|&&|.)",
        re.DOTALL,
    )


def tokens(text: str, dialect: str) -> list[Token]:
    """The tokens of `text`, without whitespace and comments."""
    found = []
    for match in _pattern(dialect).finditer(text):
        kind = match.lastgroup or "op"
        if kind in ("space", "comment"):
            continue
        found.append(Token("string" if kind == "dollar" else kind, match.group(kind)))
    return found


# How each database folds identifier case: sqlite folds every identifier, quoted or not;
# postgres folds unquoted ones only; mysql none (table names are case-sensitive there).
_FOLD = {"sqlite": "all", "postgres": "unquoted", "mysql": "none"}


def _canonical(token: Token, fold: str) -> str:
    if token.kind == "word":
        return token.text if fold == "none" else token.text.lower()
    if token.kind == "ident":
        inner = token.text[1:-1]
        if _SIMPLE_IDENT.match(inner):  # "name" is name when the unquoted spelling means the same
            if fold == "all":
                return inner.lower()
            if fold == "none" or inner == inner.lower():
                return inner
    return token.text


_NO_SPACE_AFTER = {"(", ".", "::"}
_NO_SPACE_BEFORE = {")", ",", ".", ";", "(", "::"}


def join(toks: list[Token], dialect: str) -> str:
    """One canonical spelling: single spaces, none inside parentheses or around dots and ::."""
    fold = _FOLD[dialect]
    out: list[str] = []
    previous = ""
    for token in toks:
        text = _canonical(token, fold)
        if out and previous not in _NO_SPACE_AFTER and not (token.kind == "op" and text in _NO_SPACE_BEFORE):
            out.append(" ")
        out.append(text)
        previous = text if token.kind == "op" else ""
    return "".join(out).rstrip(";").rstrip()


def normalise(text: str | None, dialect: str) -> str | None:
    if text is None:
        return None
    return join(tokens(text, dialect), dialect)


def matching(toks: list[Token], open_at: int) -> int:
    """Index of the ")" closing the "(" at `open_at` (len(toks) when unbalanced)."""
    depth = 0
    for i in range(open_at, len(toks)):
        if toks[i].kind == "op" and toks[i].text == "(":
            depth += 1
        elif toks[i].kind == "op" and toks[i].text == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(toks)


def split_top(toks: list[Token]) -> list[list[Token]]:
    """Split at commas outside parentheses."""
    items: list[list[Token]] = [[]]
    depth = 0
    for token in toks:
        if token.kind == "op" and token.text == "(":
            depth += 1
        elif token.kind == "op" and token.text == ")":
            depth -= 1
        elif token.kind == "op" and token.text == "," and depth == 0:
            items.append([])
            continue
        items[-1].append(token)
    return [item for item in items if item]


def ident(token: Token) -> str:
    """An identifier's name, quotes removed."""
    if token.kind in ("ident", "string") and len(token.text) >= 2:
        return token.text[1:-1]
    return token.text
