"""MySQL and MariaDB: information_schema of the URL's database.

Left out because they change without a schema change: AUTO_INCREMENT counters, row counts
and statistics, creation times, DEFINER, a routine's sql_mode, an event's STARTS/ENDS. The
database name the server writes into view definitions is removed, so a scratch database
compares equal to the real one. Names the server made up (`t_ibfk_1`, `t_chk_1`,
`CONSTRAINT_1`, an index named after its first column or after the foreign key it serves)
give way to a key by content.
"""

from __future__ import annotations

import re
from typing import Any

from migrator.snapshot.model import SchemaObject
from migrator.snapshot.sqltext import COMMENT, TextRules, normalise

_IS = "information_schema"


def _s(value: Any) -> Any:
    """The driver returns some information_schema text as bytes."""
    return value.decode() if isinstance(value, bytes | bytearray) else value


def _rows(d: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(_s(v) for v in row) for row in d.query(sql, (d.url.database,))]


# MySQL: backslash escapes, "..." is a string (without ANSI_QUOTES), # comments, and table
# names are case-sensitive.
_TEXT = TextRules(
    r"'(?:[^'\\]|''|\\.)*'|\"(?:[^\"\\]|\"\"|\\.)*\"",
    r"`(?:[^`]|``)*`",
    COMMENT + r"|\#[^\n]*",
    dollar_quotes=False,
    fold="none",
)


def _text(sql: str | None) -> str | None:
    return normalise(sql, _TEXT)


def _catalog_columns(d: Any) -> set[tuple[str, str]]:
    """Which optional information_schema columns this server has (they vary by version)."""
    rows = d.query(
        f"SELECT TABLE_NAME, COLUMN_NAME FROM {_IS}.COLUMNS WHERE TABLE_SCHEMA = '{_IS}' "
        "AND TABLE_NAME IN ('STATISTICS', 'CHECK_CONSTRAINTS')"
    )
    return {(str(_s(t)).upper(), str(_s(c)).upper()) for t, c in rows}


def _tables(d: Any) -> tuple[list[SchemaObject], dict[str, list[str]]]:
    found: list[SchemaObject] = []
    for name, kind, engine, collation, comment in _rows(
        d,
        f"SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, TABLE_COMMENT FROM {_IS}.TABLES "
        "WHERE TABLE_SCHEMA = %s",
    ):
        if kind == "BASE TABLE":
            found.append(
                SchemaObject.make("table", name, engine=engine, collation=collation, comment=comment or None)
            )
        elif kind == "SEQUENCE":  # MariaDB: SHOW CREATE SEQUENCE has the options, not the next value
            create = str(_s(d.query(f"SHOW CREATE SEQUENCE {d.qualify(name)}")[0][1]))
            definition = _text(create.split(" ", 3)[3] if create.count(" ") >= 3 else create)
            found.append(SchemaObject.make("sequence", name, definition=definition))
    tables = {o.name for o in found if o.kind == "table"}
    columns: dict[str, list[str]] = {}
    mariadb = getattr(d, "is_mariadb", False)
    for table, column, position, type_, nullable, default, extra, expression, collation, comment in _rows(
        d,
        "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
        f"EXTRA, GENERATION_EXPRESSION, COLLATION_NAME, COLUMN_COMMENT FROM {_IS}.COLUMNS "
        "WHERE TABLE_SCHEMA = %s",
    ):
        if table not in tables:
            continue
        columns.setdefault(table, []).append(column)
        extra = (extra or "").lower()
        generated = next((g for g in ("virtual", "stored", "persistent") if f"{g} generated" in extra), None)
        if generated:  # MariaDB says PERSISTENT for STORED
            generated = f"{'virtual' if generated == 'virtual' else 'stored'} {expression}"
        on_update = re.search(r"on update (\S+)", extra)
        if mariadb and default == "NULL":  # MariaDB writes the default as SQL: NULL means none
            default = None
        found.append(
            SchemaObject.make(
                "column",
                f"{table}.{column}",
                table,
                position=int(position),
                type=type_,
                nullable=nullable == "YES",
                default=None if generated else default,
                generated=generated,
                identity="auto_increment" if "auto_increment" in extra else None,
                on_update=on_update.group(1) if on_update else None,
                collation=collation,
                comment=comment or None,
            )
        )
    return found, columns


def _foreign_keys(d: Any) -> tuple[list[SchemaObject], dict[str, set[str]]]:
    groups: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in _rows(
        d,
        "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, "
        "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE "
        f"FROM {_IS}.KEY_COLUMN_USAGE k JOIN {_IS}.REFERENTIAL_CONSTRAINTS r "
        "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
        "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME "
        "WHERE k.TABLE_SCHEMA = %s "
        "AND k.REFERENCED_TABLE_NAME IS NOT NULL ORDER BY k.ORDINAL_POSITION",
    ):
        groups.setdefault((row[0], row[1]), []).append(row)
    found: list[SchemaObject] = []
    names: dict[str, set[str]] = {}
    for (table, name), rows in sorted(groups.items()):
        names.setdefault(table, set()).add(name)
        schema, ref = rows[0][3], rows[0][4]
        ref = ref if schema == d.url.database else f"{schema}.{ref}"
        columns, to = tuple(r[2] for r in rows), tuple(r[5] for r in rows)
        auto = re.fullmatch(rf"{re.escape(table)}_ibfk_\d+", name)
        key = f"{table}({', '.join(columns)}) -> {ref}({', '.join(to)})" if auto else f"{table}.{name}"
        found.append(
            SchemaObject.make(
                "foreign-key",
                key,
                table,
                columns=columns,
                references=ref,
                referenced_columns=to,
                on_delete=rows[0][6],
                on_update=rows[0][7],
            )
        )
    return found, names


def _indexes(d: Any, catalog: set[tuple[str, str]], fk_names: dict[str, set[str]]) -> list[SchemaObject]:
    expression = "EXPRESSION" if ("STATISTICS", "EXPRESSION") in catalog else "NULL"
    groups: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in _rows(
        d,
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, COLLATION, SUB_PART, "
        f"INDEX_TYPE, {expression} FROM {_IS}.STATISTICS WHERE TABLE_SCHEMA = %s "
        "ORDER BY SEQ_IN_INDEX",
    ):
        groups.setdefault((row[0], row[1]), []).append(row)
    found = []
    for (table, name), rows in sorted(groups.items()):
        columns = tuple(
            (r[3] if r[3] is not None else f"({r[7]})")
            + (f"({r[5]})" if r[5] else "")
            + (" DESC" if r[4] == "D" else "")
            for r in rows
        )
        if name == "PRIMARY":
            found.append(SchemaObject.make("primary-key", table, table, columns=columns))
            continue
        # unnamed keys are named after their first column (`c`, `c_2`); InnoDB names the index it
        # adds for a foreign key after the constraint
        first = rows[0][3] or ""
        auto = name in fk_names.get(table, set()) or re.fullmatch(rf"{re.escape(first)}(_\d+)?", name)
        key = f"{table}({', '.join(columns)})" if auto else f"{table}.{name}"
        method = rows[0][6]
        if rows[0][2] == 0:
            found.append(SchemaObject.make("unique", key, table, columns=columns, method=method))
        else:
            found.append(SchemaObject.make("index", key, table, columns=columns, unique=False, method=method))
    return found


def _checks(d: Any, catalog: set[tuple[str, str]], columns: dict[str, list[str]]) -> list[SchemaObject]:
    if ("CHECK_CONSTRAINTS", "CHECK_CLAUSE") not in catalog:
        return []
    if ("CHECK_CONSTRAINTS", "TABLE_NAME") in catalog:  # MariaDB: check names are per table
        sql = (
            f"SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM {_IS}.CHECK_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = %s"
        )
    else:
        sql = (
            f"SELECT t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE FROM {_IS}.CHECK_CONSTRAINTS c "
            f"JOIN {_IS}.TABLE_CONSTRAINTS t ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA "
            "AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND t.CONSTRAINT_TYPE = 'CHECK' "
            "WHERE c.CONSTRAINT_SCHEMA = %s"
        )
    found = []
    for table, name, clause in _rows(d, sql):
        if table not in columns:
            continue
        # MySQL names unnamed checks t_chk_<n>, MariaDB CONSTRAINT_<n>, or after the column
        auto = re.fullmatch(rf"{re.escape(table)}_chk_\d+|CONSTRAINT_\d+", name) or name in columns[table]
        key = f"{table}({clause})" if auto else f"{table}.{name}"
        found.append(SchemaObject.make("check", key, table, expression=clause))
    return found


def _views_and_triggers(d: Any) -> list[SchemaObject]:
    database = "`" + d.url.database.replace("`", "``") + "`."
    found = [
        SchemaObject.make(
            "view",
            name,
            definition=_text((definition or "").replace(database, "")),
            check_option=check_option,
            security=security,
        )
        for name, definition, check_option, security in _rows(
            d,
            f"SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE FROM {_IS}.VIEWS "
            "WHERE TABLE_SCHEMA = %s",
        )
    ]
    found += [
        SchemaObject.make(
            "trigger", f"{table}.{name}", table, timing=timing, event=event, level=level, body=_text(body)
        )
        for table, name, timing, event, level, body in _rows(
            d,
            "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, "
            f"ACTION_ORIENTATION, ACTION_STATEMENT FROM {_IS}.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
        )
    ]
    return found


def _routines_and_events(d: Any) -> list[SchemaObject]:
    parameters: dict[tuple[str, str], list[str]] = {}
    for name, kind, mode, parameter, type_ in _rows(
        d,
        "SELECT SPECIFIC_NAME, ROUTINE_TYPE, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER "
        f"FROM {_IS}.PARAMETERS WHERE SPECIFIC_SCHEMA = %s AND ORDINAL_POSITION > 0 "
        "ORDER BY ORDINAL_POSITION",
    ):
        parameters.setdefault((name, kind), []).append(f"{mode + ' ' if mode else ''}{parameter} {type_}")
    found = [
        SchemaObject.make(
            "routine",
            name,
            type=kind,
            arguments=", ".join(parameters.get((name, kind), [])) or None,
            returns=returns,
            deterministic=deterministic == "YES",
            data_access=access,
            security=security,
            comment=comment or None,
            body=_text(body),
        )
        for name, kind, returns, body, deterministic, access, security, comment in _rows(
            d,
            "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, "
            f"IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, ROUTINE_COMMENT FROM {_IS}.ROUTINES "
            "WHERE ROUTINE_SCHEMA = %s",
        )
    ]
    found += [
        SchemaObject.make(
            "event",
            name,
            type=kind,
            interval=f"{value} {field}" if value else None,
            on_completion=completion,
            status=status,
            comment=comment or None,
            body=_text(body),
        )
        for name, kind, value, field, completion, status, comment, body in _rows(
            d,
            "SELECT EVENT_NAME, EVENT_TYPE, INTERVAL_VALUE, INTERVAL_FIELD, ON_COMPLETION, STATUS, "
            f"EVENT_COMMENT, EVENT_DEFINITION FROM {_IS}.EVENTS WHERE EVENT_SCHEMA = %s",
        )
    ]
    return found


def read(d: Any) -> list[SchemaObject]:
    catalog = _catalog_columns(d)
    tables, columns = _tables(d)
    foreign_keys, fk_names = _foreign_keys(d)
    return (
        tables
        + foreign_keys
        + _indexes(d, catalog, fk_names)
        + _checks(d, catalog, columns)
        + _views_and_triggers(d)
        + _routines_and_events(d)
    )
