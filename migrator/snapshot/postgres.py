"""PostgreSQL: pg_catalog, through the server's own deparsers (pg_get_*def, format_type).

Every schema but the system ones is read; names in the current schema are unqualified,
others are `schema.name`. Objects an extension owns belong to the extension. The sequences
behind identity columns are part of their column, not objects of their own. Constraint and
index names PostgreSQL made up (`t_a_key`, `t_a_check1`, `t_lower_idx`: numbered in creation
order) give way to a key by content.
"""

from __future__ import annotations

import re
from typing import Any

from migrator.snapshot.model import SchemaObject
from migrator.snapshot.sqltext import ANSI_IDENT, COMMENT, SQL_STRING, TextRules, normalise

_SCOPE = (
    "{n}.nspname NOT IN ('pg_catalog', 'information_schema') AND {n}.nspname NOT LIKE 'pg\\_toast%' "
    "AND {n}.nspname NOT LIKE 'pg\\_temp%'"
)
_NOT_EXTENSION = (
    "NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{cls}'::regclass "
    "AND x.objid = {oid} AND x.deptype = 'e')"
)


def _qname(n: str, name: str) -> str:
    return f"CASE WHEN {n}.nspname = current_schema() THEN {name} ELSE {n}.nspname || '.' || {name} END"


def _where(n: str, cls: str, oid: str) -> str:
    return f"{_SCOPE.format(n=n)} AND {_NOT_EXTENSION.format(cls=cls, oid=oid)}"


# Tables, views and materialized views in scope, with the name they are listed under.
_REL = (
    f"WITH rel AS (SELECT c.oid, c.relkind, {_qname('n', 'c.relname')} AS name FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm') "
    f"AND {_where('n', 'pg_class', 'c.oid')}) "
)
_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_MATCH = {"f": "FULL", "p": "PARTIAL", "s": "SIMPLE"}
_AUTO_SUFFIX = {"u": "key", "f": "fkey", "c": "check", "x": "excl", "i": "idx"}
_EVENTS = ((4, "INSERT"), (16, "UPDATE"), (8, "DELETE"), (32, "TRUNCATE"))  # pg_trigger.tgtype bits
_VOLATILITY = {"i": "IMMUTABLE", "s": "STABLE", "v": "VOLATILE"}
_KINDS = {"p": "primary-key", "u": "unique", "f": "foreign-key", "c": "check", "x": "exclusion"}


# PostgreSQL folds unquoted names only.
_TEXT = TextRules(SQL_STRING, ANSI_IDENT, COMMENT, dollar_quotes=True, fold="unquoted")


def _text(sql: str | None) -> str | None:
    return normalise(sql, _TEXT)


def _auto_named(table: str, name: str, kind: str) -> bool:
    """Is this the name PostgreSQL chooses, `<table>_<columns>_<suffix>[n]` (truncated to 63)?"""
    bare = table.rpartition(".")[2]
    return re.fullmatch(rf"{re.escape(bare[:10])}.*_{_AUTO_SUFFIX[kind]}\d*", name) is not None


def _deferrable(deferrable: bool, deferred: bool) -> str | None:
    return None if not deferrable else "INITIALLY DEFERRED" if deferred else "INITIALLY IMMEDIATE"


def _schemas_and_extensions(d: Any) -> list[SchemaObject]:
    found = [
        SchemaObject.make("schema", name)
        for (name,) in d.query(
            f"SELECT n.nspname FROM pg_namespace n WHERE {_where('n', 'pg_namespace', 'n.oid')}"
        )
    ]
    found += [
        SchemaObject.make("extension", name, version=version, schema=schema)
        for name, version, schema in d.query(
            "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace"
        )
    ]
    return found


def _tables(d: Any) -> list[SchemaObject]:
    found = []
    for name, persistence, partition_key, parent, bound, comment in d.query(
        _REL + "SELECT r.name, c.relpersistence, pg_get_partkeydef(c.oid), "
        f"(SELECT {_qname('pn', 'p.relname')} FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
        "JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid AND c.relispartition), "
        "pg_get_expr(c.relpartbound, c.oid), obj_description(c.oid, 'pg_class') "
        "FROM rel r JOIN pg_class c ON c.oid = r.oid WHERE r.relkind IN ('r', 'p')"
    ):
        found.append(
            SchemaObject.make(
                "table",
                name,
                persistence="UNLOGGED" if persistence == "u" else None,
                partition_key=partition_key,
                partition_of=f"{parent} {bound}" if parent else None,
                comment=comment,
            )
        )
    for table, column, position, type_, notnull, default, generated, identity, collation, comment in d.query(
        _REL + "SELECT r.name, a.attname, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), "
        "format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), "
        "a.attgenerated, a.attidentity, CASE WHEN a.attcollation <> t.typcollation THEN co.collname END, "
        "col_description(a.attrelid, a.attnum) "
        "FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
        "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
        "WHERE r.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped"
    ):
        found.append(
            SchemaObject.make(
                "column",
                f"{table}.{column}",
                table,
                position=int(position),
                type=type_,
                nullable=not notnull,
                default=None if generated else default,
                generated=f"stored {default}" if generated == "s" else None,
                identity={"a": "always", "d": "by default"}.get(identity),
                collation=collation,
                comment=comment,
            )
        )
    return found


def _constraints(d: Any) -> list[SchemaObject]:
    found = []
    for (
        table,
        name,
        kind,
        definition,
        columns,
        ref,
        ref_columns,
        on_delete,
        on_update,
        match,
        deferrable,
        deferred,
    ) in d.query(
        _REL + "SELECT r.name, k.conname, k.contype, pg_get_constraintdef(k.oid, true), "
        "ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a "
        "ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i), "
        f"(SELECT {_qname('fn', 'f.relname')} FROM pg_class f JOIN pg_namespace fn "
        "ON fn.oid = f.relnamespace WHERE f.oid = k.confrelid), "
        "ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a "
        "ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i), "
        "k.confdeltype, k.confupdtype, k.confmatchtype, k.condeferrable, k.condeferred "
        "FROM pg_constraint k JOIN rel r ON r.oid = k.conrelid "
        "WHERE k.contype IN ('p', 'u', 'f', 'c', 'x')"
    ):
        cols = ", ".join(columns)
        expression = definition.removeprefix("CHECK ")
        content = {
            "p": table,
            "u": f"{table}({cols})",
            "c": f"{table}{expression}",
            "x": f"{table}({cols})",
            "f": f"{table}({cols}) -> {ref}({', '.join(ref_columns)})",
        }[kind]
        key = table if kind == "p" else content if _auto_named(table, name, kind) else f"{table}.{name}"
        props: dict[str, Any] = {
            "p": dict(columns=tuple(columns), constraint=name),
            "u": dict(columns=tuple(columns), deferrable=_deferrable(deferrable, deferred)),
            "c": dict(expression=expression),
            "x": dict(definition=definition),
            "f": dict(
                columns=tuple(columns),
                references=ref,
                referenced_columns=tuple(ref_columns),
                on_delete=_ACTIONS.get(on_delete),
                on_update=_ACTIONS.get(on_update),
                match=_MATCH.get(match),
                deferrable=_deferrable(deferrable, deferred),
            ),
        }[kind]
        found.append(SchemaObject.make(_KINDS[kind], key, table, **props))
    return found


def _indexes(d: Any) -> list[SchemaObject]:
    found = []
    for table, name, unique, method, key_count, keys, options, predicate, valid in d.query(
        _REL + "SELECT r.name, ic.relname, i.indisunique, am.amname, i.indnkeyatts, "
        "ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnatts) k "
        "ORDER BY k), i.indoption::int2[], pg_get_expr(i.indpred, i.indrelid, true), i.indisvalid "
        "FROM pg_index i JOIN rel r ON r.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid "
        "JOIN pg_am am ON am.oid = ic.relam "
        # the indexes behind PRIMARY KEY, UNIQUE and EXCLUDE constraints are listed as those
        "WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
        "AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))"
    ):
        columns = []
        for key, option in zip(keys[:key_count], options, strict=False):
            desc, nulls_first = bool(option & 1), bool(option & 2)
            if desc:  # the default is NULLS LAST ascending, NULLS FIRST descending
                columns.append(key + " DESC" + ("" if nulls_first else " NULLS LAST"))
            else:
                columns.append(key + (" NULLS FIRST" if nulls_first else ""))
        index_key = f"{table}({', '.join(columns)})" if _auto_named(table, name, "i") else f"{table}.{name}"
        found.append(
            SchemaObject.make(
                "index",
                index_key,
                table,
                columns=tuple(columns),
                include=tuple(keys[key_count:]) or None,
                unique=unique,
                method=method,
                predicate=predicate,
                status=None if valid else "INVALID",
            )
        )
    return found


def _views_and_triggers(d: Any) -> list[SchemaObject]:
    found = [
        SchemaObject.make(
            "view", name, definition=_text(definition), materialized=True if kind == "m" else None
        )
        for name, kind, definition in d.query(
            _REL + "SELECT r.name, r.relkind, pg_get_viewdef(r.oid, true) FROM rel r "
            "WHERE r.relkind IN ('v', 'm')"
        )
    ]
    for table, name, bits, enabled, definition in d.query(
        _REL + "SELECT r.name, t.tgname, t.tgtype, t.tgenabled, pg_get_triggerdef(t.oid, true) "
        "FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal"
    ):
        events = [e for bit, e in _EVENTS if bits & bit]
        found.append(
            SchemaObject.make(
                "trigger",
                f"{table}.{name}",
                table,
                timing="INSTEAD OF" if bits & 64 else "BEFORE" if bits & 2 else "AFTER",
                event=" OR ".join(events),
                level="ROW" if bits & 1 else "STATEMENT",
                status="DISABLED" if enabled == "D" else None,
                definition=_text(definition),
            )
        )
    return found


def _routines(d: Any) -> list[SchemaObject]:
    found = []
    for (
        signature,
        kind,
        arguments,
        result,
        language,
        volatility,
        strict,
        security_definer,
        body,
        config,
    ) in d.query(
        f"SELECT {_qname('n', 'p.proname')} || '(' || pg_get_function_identity_arguments(p.oid) || ')', "
        "p.prokind, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), l.lanname, "
        "p.provolatile, p.proisstrict, p.prosecdef, "
        # SQL-standard bodies (BEGIN ATOMIC, RETURN) are kept parsed, not in prosrc
        "CASE WHEN p.prokind <> 'a' AND p.prosrc = '' THEN pg_get_functiondef(p.oid) ELSE p.prosrc END, "
        "p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"JOIN pg_language l ON l.oid = p.prolang WHERE {_where('n', 'pg_proc', 'p.oid')}"
    ):
        found.append(
            SchemaObject.make(
                "procedure" if kind == "p" else "function",
                signature,
                arguments=arguments or None,
                returns=result,
                language=language,
                volatility=_VOLATILITY.get(volatility),
                strict=strict,
                security_definer=security_definer,
                config=tuple(sorted(config)) if config else None,
                body=_text(body),
            )
        )
    return found


def _sequences_and_types(d: Any) -> list[SchemaObject]:
    found = []
    for name, type_, start, increment, minimum, maximum, cache, cycle, owner, column in d.query(
        f"SELECT {_qname('n', 'c.relname')}, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, "
        f"s.seqmin, s.seqmax, s.seqcache, s.seqcycle, {_qname('on_', 'oc.relname')}, oa.attname "
        "FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_depend o ON o.classid = 'pg_class'::regclass AND o.objid = c.oid "
        "AND o.refclassid = 'pg_class'::regclass AND o.deptype = 'a' "
        "LEFT JOIN pg_class oc ON oc.oid = o.refobjid "
        "LEFT JOIN pg_namespace on_ ON on_.oid = oc.relnamespace "
        "LEFT JOIN pg_attribute oa ON oa.attrelid = o.refobjid AND oa.attnum = o.refobjsubid "
        f"WHERE {_where('n', 'pg_class', 'c.oid')} AND NOT EXISTS (SELECT 1 FROM pg_depend i "
        # an identity column's sequence is part of the column
        "WHERE i.classid = 'pg_class'::regclass AND i.objid = c.oid AND i.deptype = 'i')"
    ):
        found.append(
            SchemaObject.make(
                "sequence",
                name,
                owner or "",
                data_type=type_,
                start=start,
                increment=increment,
                minimum=minimum,
                maximum=maximum,
                cache=cache,
                cycle=cycle,
                owned_by=f"{owner}.{column}" if owner else None,
            )
        )
    type_where = _where("n", "pg_type", "t.oid")
    found += [
        SchemaObject.make("enum", name, values=tuple(values))
        for name, values in d.query(
            f"SELECT {_qname('n', 't.typname')}, ARRAY(SELECT e.enumlabel FROM pg_enum e "
            "WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) "
            "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            f"WHERE t.typtype = 'e' AND {type_where}"
        )
    ]
    found += [
        SchemaObject.make(
            "domain", name, type=base, nullable=not notnull, default=default, checks=tuple(checks)
        )
        for name, base, notnull, default, checks in d.query(
            f"SELECT {_qname('n', 't.typname')}, format_type(t.typbasetype, t.typtypmod), "
            "t.typnotnull, t.typdefault, ARRAY(SELECT pg_get_constraintdef(k.oid, true) "
            "FROM pg_constraint k WHERE k.contypid = t.oid ORDER BY 1) FROM pg_type t "
            f"JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd' AND {type_where}"
        )
    ]
    return found


def read(d: Any) -> list[SchemaObject]:
    return (
        _schemas_and_extensions(d)
        + _tables(d)
        + _constraints(d)
        + _indexes(d)
        + _views_and_triggers(d)
        + _routines(d)
        + _sequences_and_types(d)
    )
