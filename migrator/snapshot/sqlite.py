"""SQLite: sqlite_master and the table-valued pragmas.

The pragmas give columns, keys, indexes and foreign keys, but not constraint names, CHECK
constraints or generated-column expressions: those come from the CREATE TABLE text SQLite
keeps (ALTER TABLE rewrites it), tokenised. Constraints without a name, and the
`sqlite_autoindex_*` indexes behind UNIQUE constraints, are keyed by their columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrator.snapshot.model import SchemaObject
from migrator.snapshot.sqltext import (
    ANSI_IDENT,
    COMMENT,
    SQL_STRING,
    TextRules,
    Token,
    ident,
    join,
    matching,
    split_top,
    tokens,
)

# SQLite folds every name, quoted or not.
D = TextRules(SQL_STRING, ANSI_IDENT, COMMENT, dollar_quotes=False, fold="all")


def _norm(toks: list[Token]) -> str:
    return join(toks, D)


def _text(sql: str | None) -> str | None:
    return None if sql is None else _norm(tokens(sql, D))


@dataclass
class _Parsed:
    """What the pragmas do not tell about a table, read from its CREATE TABLE text."""

    options: set[str] = field(default_factory=set)  # without rowid, strict, autoincrement
    using: str | None = None  # virtual tables: the module and its arguments
    checks: list[tuple[str | None, str]] = field(default_factory=list)
    unique_names: dict[tuple[str, ...], str] = field(default_factory=dict)
    fk_names: dict[tuple[str, ...], str] = field(default_factory=dict)
    generated: dict[str, str] = field(default_factory=dict)
    collations: dict[str, str] = field(default_factory=dict)


def _column_list(toks: list[Token], at: int) -> tuple[tuple[str, ...], int]:
    """The lower-cased names in the parentheses starting at `at`, and the index after them."""
    close = matching(toks, at)
    names = tuple(ident(item[0]).lower() for item in split_top(toks[at + 1 : close]))
    return names, close + 1


def _scan_item(item: list[Token], parsed: _Parsed) -> None:
    """One column definition or table constraint: its named and CHECK constraints."""
    constraint = item[0].is_word("constraint", "primary", "unique", "check", "foreign")
    column = None if constraint else ident(item[0])
    name: str | None = None
    i = 0 if column is None else 1
    while i < len(item):
        tok = item[i]
        if tok.is_word("constraint") and i + 1 < len(item):
            name, i = ident(item[i + 1]), i + 2
            continue
        if tok.is_word("check") and i + 1 < len(item):
            close = matching(item, i + 1)
            parsed.checks.append((name, _norm(item[i + 2 : close])))
            i = close
        elif tok.is_word("unique", "foreign") and column is None:
            at = next((j for j in range(i, len(item)) if item[j].text == "("), len(item))
            columns, end = _column_list(item, at)
            if name:
                (parsed.unique_names if tok.is_word("unique") else parsed.fk_names)[columns] = name
            i = end if tok.is_word("unique") else len(item)
            continue
        elif column is not None and tok.is_word("unique", "references") and name:
            (parsed.unique_names if tok.is_word("unique") else parsed.fk_names)[(column.lower(),)] = name
        elif column is not None and tok.is_word("as") and i + 1 < len(item) and item[i + 1].text == "(":
            close = matching(item, i + 1)
            parsed.generated[column.lower()] = _norm(item[i + 2 : close])
            i = close
        elif column is not None and tok.is_word("collate") and i + 1 < len(item):
            parsed.collations[column.lower()] = ident(item[i + 1]).lower()
            i += 1
        elif tok.text == "(":
            i = matching(item, i)
        if tok.kind == "word" and not tok.is_word("constraint"):
            name = None  # a constraint name belongs to the constraint right after it
        i += 1


def _parse_table(sql: str) -> _Parsed:
    toks = tokens(sql, D)
    parsed = _Parsed()
    parsed.options = {t.text.lower() for t in toks if t.is_word("autoincrement")}
    if len(toks) > 1 and toks[1].is_word("virtual"):
        using = next((i for i, t in enumerate(toks) if t.is_word("using")), len(toks))
        parsed.using = _norm(toks[using + 1 :])
        return parsed
    start = next((i for i, t in enumerate(toks) if t.text == "("), len(toks))
    close = matching(toks, start)
    for item in split_top(toks[start + 1 : close]):
        _scan_item(item, parsed)
    tail = " ".join(t.text.lower() for t in toks[close + 1 :])
    parsed.options |= {option for option in ("without rowid", "strict") if option in tail}
    return parsed


def _table(d: Any, table: str, sql: str) -> list[SchemaObject]:
    parsed = _parse_table(sql)
    options = ", ".join(o.upper() for o in ("without rowid", "strict") if o in parsed.options)
    found = [SchemaObject.make("table", table, options=options or None, using=parsed.using)]
    rows = d.query(
        'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid',
        (table,),
    )
    pk = [r[0] for r in sorted((r for r in rows if r[4]), key=lambda r: r[4])]
    autoincrement = "autoincrement" in parsed.options and len(pk) == 1
    # a lone INTEGER PRIMARY KEY is the rowid: never NULL, whatever the pragma's notnull says
    rowid = next((r[0] for r in rows if r[4] and len(pk) == 1 and str(r[1]).upper() == "INTEGER"), None)
    if "without rowid" in parsed.options:
        rowid = None
    position = 0
    for name, ctype, notnull, default, in_pk, hidden in rows:
        if hidden == 1:  # a virtual table's hidden column
            continue
        position += 1
        expression = parsed.generated.get(name.lower())
        found.append(
            SchemaObject.make(
                "column",
                f"{table}.{name}",
                table,
                position=position,
                type=_text(ctype) or None,
                nullable=not notnull and name != rowid,
                default=_text(default),
                generated=f"{'stored' if hidden == 3 else 'virtual'} {expression}"
                if hidden in (2, 3)
                else None,
                identity="autoincrement" if autoincrement and in_pk else None,
                collation=parsed.collations.get(name.lower()),
            )
        )
    if pk:
        found.append(SchemaObject.make("primary-key", table, table, columns=tuple(pk)))
    found += [
        SchemaObject.make("check", f"{table}.{name}" if name else f"{table}({expr})", table, expression=expr)
        for name, expr in parsed.checks
    ]
    return found + _indexes(d, table, parsed) + _foreign_keys(d, table, parsed)


def _index_sql_parts(sql: str | None) -> tuple[list[str], str | None]:
    """The key expressions (without ASC/DESC/COLLATE) and the WHERE predicate of CREATE INDEX."""
    if not sql:
        return [], None
    toks = tokens(sql, D)
    on = next((i for i, t in enumerate(toks) if t.is_word("on")), len(toks))
    start = next((i for i in range(on, len(toks)) if toks[i].text == "("), len(toks))
    close = matching(toks, start)
    keys = []
    for item in split_top(toks[start + 1 : close]):
        while item and item[-1].is_word("asc", "desc"):
            item = item[:-1]
        if len(item) > 2 and item[-2].is_word("collate"):
            item = item[:-2]
        keys.append(_norm(item))
    has_where = close + 1 < len(toks) and toks[close + 1].is_word("where")
    return keys, _norm(toks[close + 2 :]) if has_where else None


def _indexes(d: Any, table: str, parsed: _Parsed) -> list[SchemaObject]:
    found = []
    for name, unique, origin, _partial in d.query(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?)', (table,)
    ):
        if origin == "pk":  # the primary key's own index: the primary-key object says it all
            continue
        sql = d.query("SELECT sql FROM main.sqlite_master WHERE type = 'index' AND name = ?", (name,))
        expressions, predicate = _index_sql_parts(sql[0][0] if sql else None)
        columns, plain = [], []
        for seqno, cid, column, desc, coll in d.query(
            'SELECT seqno, cid, name, "desc", coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno',
            (name,),
        ):
            text = column if cid >= 0 else (expressions[seqno] if seqno < len(expressions) else "rowid")
            plain.append(text.lower())
            text += f" COLLATE {coll}" if coll and coll.upper() != "BINARY" else ""
            columns.append(text + (" DESC" if desc else ""))
        if origin == "u":  # sqlite_autoindex_<table>_<n>: numbered in constraint order
            named = parsed.unique_names.get(tuple(plain))
            key = f"{table}.{named}" if named else f"{table}({', '.join(columns)})"
            found.append(SchemaObject.make("unique", key, table, columns=tuple(columns)))
        else:
            found.append(
                SchemaObject.make(
                    "index",
                    f"{table}.{name}",
                    table,
                    columns=tuple(columns),
                    unique=bool(unique),
                    predicate=predicate,
                )
            )
    return found


def _foreign_keys(d: Any, table: str, parsed: _Parsed) -> list[SchemaObject]:
    groups: dict[int, list[tuple[Any, ...]]] = {}
    for row in d.query(
        'SELECT id, seq, "table", "from", "to", on_update, on_delete '
        "FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        (table,),
    ):
        groups.setdefault(row[0], []).append(row)
    found = []
    for rows in groups.values():
        ref = rows[0][2]
        columns = tuple(r[3] for r in rows)
        to = tuple(r[4] for r in rows)
        if any(c is None for c in to):  # REFERENCES t without columns: t's primary key
            pk = d.query("SELECT name FROM pragma_table_xinfo(?) WHERE pk > 0 ORDER BY pk", (ref,))
            to = tuple(r[0] for r in pk)
        named = parsed.fk_names.get(tuple(c.lower() for c in columns))
        key = f"{table}.{named}" if named else f"{table}({', '.join(columns)}) -> {ref}({', '.join(to)})"
        found.append(
            SchemaObject.make(
                "foreign-key",
                key,
                table,
                columns=columns,
                references=ref,
                referenced_columns=to,
                on_delete=rows[0][6],
                on_update=rows[0][5],
            )
        )
    return found


def _after_name(toks: list[Token], keyword: str) -> int:
    """Index of the first token after `CREATE ... <keyword> [IF NOT EXISTS] [schema.]name`."""
    i = next((i for i, t in enumerate(toks) if t.is_word(keyword)), len(toks)) + 1
    if i < len(toks) and toks[i].is_word("if"):
        i += 3
    i += 1
    if i + 1 < len(toks) and toks[i].text == ".":
        i += 2
    return i


def _view(name: str, sql: str) -> SchemaObject:
    toks = tokens(sql, D)
    return SchemaObject.make("view", name, definition=_norm(toks[_after_name(toks, "view") :]))


def _trigger(name: str, table: str, sql: str) -> SchemaObject:
    toks = tokens(sql, D)
    i = _after_name(toks, "trigger")
    timing = "BEFORE"  # SQLite's default
    if i < len(toks) and toks[i].is_word("before", "after"):
        timing, i = toks[i].text.upper(), i + 1
    elif i < len(toks) and toks[i].is_word("instead"):
        timing, i = "INSTEAD OF", i + 2
    on = next((j for j in range(i, len(toks)) if toks[j].is_word("on")), len(toks))
    event, _, columns = _norm(toks[i:on]).partition(" of ")
    return SchemaObject.make(
        "trigger",
        f"{table}.{name}",
        table,
        timing=timing,
        event=event.upper() + (f" OF {columns}" if columns else ""),
        definition=_norm(toks[i:]),
    )


def read(d: Any) -> list[SchemaObject]:
    # sqlite_sequence (AUTOINCREMENT counters), sqlite_stat* and autoindexes are SQLite's own.
    rows = d.query(
        "SELECT type, name, tbl_name, sql FROM main.sqlite_master "
        "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name"
    )
    found: list[SchemaObject] = []
    for kind, name, table, sql in rows:
        if kind == "table":
            found += _table(d, name, sql or "")
        elif kind == "view":
            found.append(_view(name, sql or ""))
        elif kind == "trigger":
            found.append(_trigger(name, table, sql or ""))
    return found
