"""Schema snapshots read from each database's catalog, for verify, drift and `schema`.

`take_snapshot` asks the reader for the dialect (one module each, imported when used) for
every object it finds, leaves out the tables the caller names with everything that belongs
to them, and returns a sorted `Schema`. `diff`, `render_text` and `to_json` work on any
two snapshots of the same dialect.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from migrator.dialects.registry import spec
from migrator.snapshot.model import (
    Difference,
    Schema,
    SchemaObject,
    Value,
    build_schema,
    diff,
    render_text,
    to_json,
)

if TYPE_CHECKING:
    from migrator.dialects import Dialect

__all__ = [
    "Difference",
    "Schema",
    "SchemaObject",
    "Value",
    "current_schema_only",
    "diff",
    "render_text",
    "take_snapshot",
    "to_json",
]


def take_snapshot(dialect: Dialect, exclude_tables: set[str] | frozenset[str] = frozenset()) -> Schema:
    """The schema of the connected database, without `exclude_tables` (unqualified names, or
    `schema.table` on postgres) and their columns, constraints, indexes, triggers and sequences."""
    reader = importlib.import_module(spec(dialect.name).snapshot)
    found: list[SchemaObject] = reader.read(dialect)
    return build_schema(dialect.name, (o for o in found if not _excluded(o, exclude_tables)))


def _excluded(obj: SchemaObject, exclude_tables: set[str] | frozenset[str]) -> bool:
    table = obj.name if obj.kind == "table" else obj.table
    if not table:
        return False
    bare = table.rpartition(".")[2]
    for name in exclude_tables:
        # an unqualified name matches in any schema; a qualified one also matches the table
        # listed without its schema because that schema is the current one
        if table == name or ("." not in name and bare == name):
            return True
        if "." not in table and name.endswith("." + table):
            return True
    return False


def current_schema_only(schema: Schema) -> Schema:
    """A tenant's own objects (a `schema=NAME` target): those in the connection's current
    schema, whose names the reader leaves unqualified; not the other tenants' schemas and
    objects, nor the schema objects themselves. Extensions belong to the whole database."""

    def own(o: SchemaObject) -> bool:
        if o.kind == "schema":
            return False
        owner = o.table or o.name
        return o.kind == "extension" or "." not in owner.split("(", 1)[0]

    return build_schema(schema.dialect, (o for o in schema if own(o)))
