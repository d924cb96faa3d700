"""Just enough SQL tokenising to compare definitions the server keeps as written.

SQLite keeps every CREATE statement verbatim and MySQL keeps trigger and routine bodies as
written, so two equal definitions may differ in spacing, comments or keyword case. Tokens
joined one way make them compare equal; strings and quoted identifiers are kept exactly.
Each dialect's reader module says how its text is quoted and folded (its `TextRules`).
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


# Regex pieces the dialects' rules share.
SQL_STRING = r"'(?:[^']|'')*'"
ANSI_IDENT = r'"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]'
COMMENT = r"--[^\n]*|/\*.*?\*/"


@dataclass(frozen=True)
class TextRules:
    strings: str  # quoted text that is a string literal
    idents: str  # quoted text that is an identifier
    comments: str
    dollar_quotes: bool  # $$ ... $$, $tag$ ... $tag$
    fold: str  # identifier case folding: "all" quoted or not, "unquoted" only, or "none"


@cache
def _pattern(rules: TextRules) -> re.Pattern[str]:
    dollar = r"|(?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?(tag)(?P=tag))\$)" if rules.dollar_quotes else ""
    return re.compile(
        rf"(?P<space>\s+)|(?P<comment>{rules.comments}){dollar}|(?P<string>[EeNnXxBb]?(?:{rules.strings}))"
        rf"|(?P<ident>{rules.idents})|(?P<word>[^\W\d]\w*(?:\$\w*)*)"
        r"|(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)"
        r"|(?P<op>::|:=|=>|<>|<=|>=|!=|==|<<|>>|\|\||->>|->|#>>|#>|@>|<@|&&|.)",
        re.DOTALL,
    )


def tokens(text: str, rules: TextRules) -> list[Token]:
    """The tokens of `text`, without whitespace and comments."""
    found = []
    for match in _pattern(rules).finditer(text):
        kind = match.lastgroup or "op"
        if kind in ("space", "comment"):
            continue
        found.append(Token("string" if kind == "dollar" else kind, match.group(kind)))
    return found


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


def join(toks: list[Token], rules: TextRules) -> str:
    """One canonical spelling: single spaces, none inside parentheses or around dots and ::."""
    fold = rules.fold
    out: list[str] = []
    previous = ""
    for token in toks:
        text = _canonical(token, fold)
        if out and previous not in _NO_SPACE_AFTER and not (token.kind == "op" and text in _NO_SPACE_BEFORE):
            out.append(" ")
        out.append(text)
        previous = text if token.kind == "op" else ""
    return "".join(out).rstrip(";").rstrip()


def normalise(text: str | None, rules: TextRules) -> str | None:
    if text is None:
        return None
    return join(tokens(text, rules), rules)


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
