"""Schema snapshots as plain data: objects, a schema, the differences between two, and text.

A snapshot object is keyed by (kind, name). Objects that live on a table (columns,
constraints, indexes, triggers) are named `<table>.<name>`, or by their content,
`<table>(<columns>)`, where the database made the name up; `table` says which table they
belong to. Properties are strings, ints, bools, None or tuples of strings, so `==` on two
schemas means "same schema".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

Value = str | int | bool | None | tuple[str, ...]

# The order objects are listed in: a table's parts in the order a DBA reads a CREATE TABLE.
KINDS = (
    "schema",
    "extension",
    "table",
    "column",
    "primary-key",
    "unique",
    "foreign-key",
    "check",
    "exclusion",
    "index",
    "trigger",
    "view",
    "sequence",
    "enum",
    "domain",
    "function",
    "procedure",
    "routine",
    "event",
)
_RANK = {kind: i for i, kind in enumerate(KINDS)}
_LONG = 60  # longer text values are shown as an excerpt around the first difference
_PREPOSITIONS = {"in", "on", "at", "before", "after", "from", "during"}


def _kind_rank(kind: str) -> tuple[int, str]:
    return _RANK.get(kind, len(KINDS)), kind


@dataclass(frozen=True)
class SchemaObject:
    kind: str
    name: str
    table: str = ""  # the table (or view) the object belongs to, "" for none
    props: tuple[tuple[str, Value], ...] = ()

    @staticmethod
    def make(kind: str, name: str, table: str = "", **props: Value) -> SchemaObject:
        return SchemaObject(kind, name, table, tuple(props.items()))

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.name

    @property
    def properties(self) -> dict[str, Value]:
        return dict(self.props)

    @property
    def local_name(self) -> str:
        """The name without its table: `idx_x` for `t.idx_x`, `(a, b)` for `t(a, b)`."""
        if self.table and self.kind != "table" and self.name.startswith(self.table):
            rest = self.name[len(self.table) :]
            if rest[:1] in (".", "(", ""):
                return rest.removeprefix(".")
        return ""

    @property
    def label(self) -> str:
        """How a DBA names it: `index idx_x on t`, `column t.c`, `primary key on t`."""
        words = self.kind.replace("-", " ")
        local = self.local_name
        if self.kind == "column" or not self.table or (not local and self.name != self.table):
            return f"{words} {self.name}"
        if not local:
            return f"{words} on {self.table}"
        if local.startswith("("):
            return f"{words} {self.name}"
        return f"{words} {local} on {self.table}"


@dataclass(frozen=True)
class Schema:
    dialect: str
    objects: dict[tuple[str, str], SchemaObject] = field(default_factory=dict)

    def __iter__(self) -> Iterator[SchemaObject]:
        return iter(self.objects.values())

    def __len__(self) -> int:
        return len(self.objects)

    def get(self, kind: str, name: str) -> SchemaObject | None:
        return self.objects.get((kind, name))

    def names(self, kind: str) -> list[str]:
        return [o.name for o in self if o.kind == kind]

    def of_kind(self, kind: str) -> list[SchemaObject]:
        return [o for o in self if o.kind == kind]


def build_schema(dialect: str, found: Iterable[SchemaObject]) -> Schema:
    """A schema from the objects a reader found, sorted; equal content keys get ` #2`, ` #3`."""
    by_key: dict[tuple[str, str], list[SchemaObject]] = {}
    for obj in found:
        by_key.setdefault(obj.key, []).append(obj)
    objects: dict[tuple[str, str], SchemaObject] = {}
    for (kind, name), same in by_key.items():
        same.sort(key=lambda o: repr(o.props))  # the same content in any order: one numbering
        for i, obj in enumerate(same, start=1):
            renamed = name if i == 1 else f"{name} #{i}"
            objects[(kind, renamed)] = SchemaObject(kind, renamed, obj.table, obj.props)
    ordered = sorted(objects.items(), key=lambda item: (_kind_rank(item[0][0]), item[0][1]))
    return Schema(dialect, dict(ordered))


# -- differences --------------------------------------------------------------------------------


def _phrase(prop: str, value: Value) -> str:
    words = prop.replace("_", " ")
    if isinstance(value, bool):
        return words if value else f"not {words}"
    if value is None:
        return f"no {words}"
    return f"{words} {_show(value)}"


def _show(value: Value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(value) + ")"
    return str(value)


def _bare(prop: str, value: Value) -> str:
    """The second mention of a property: just the value where that reads unambiguously."""
    return _phrase(prop, value) if isinstance(value, bool) or value is None else _show(value)


def _excerpts(left: str, right: str) -> tuple[str, str]:
    """Both texts around their first difference, so a long definition shows where it differs."""
    at = next(
        (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b), min(len(left), len(right))
    )
    start = max(0, at - 25)

    def cut(text: str) -> str:
        piece = text[start : start + 50]
        return ("..." if start else "") + piece + ("..." if start + 50 < len(text) else "")

    return cut(left), cut(right)


@dataclass(frozen=True)
class Difference:
    kind: str
    name: str
    change: str  # "added" (only in the right/after schema), "removed" (only in the left), "changed"
    before: dict[str, Value] | None
    after: dict[str, Value] | None
    label: str = ""

    def changed_properties(self) -> list[str]:
        before, after = self.before or {}, self.after or {}
        return [p for p in dict.fromkeys([*before, *after]) if before.get(p) != after.get(p)]

    def describe(self, left_label: str = "before", right_label: str = "after") -> str:
        """In words, e.g. `column t.c: type varchar(255) before up, text after down`."""
        if self.change != "changed":
            where = right_label if self.change == "added" else left_label
            # "only after down", "only in the database", "only in the left schema"
            return f"{self.label}: only {where if where.split(' ')[0] in _PREPOSITIONS else 'in ' + where}"
        parts = [
            self._property(p, f" {left_label}", f" {right_label}", left_first=True)
            for p in self.changed_properties()
        ]
        return f"{self.label}: " + "; ".join(parts)

    def __str__(self) -> str:
        """Neutral wording: `column t.c: type text, was varchar(255)`."""
        if self.change != "changed":
            return self.describe("the left schema", "the right schema")
        parts = [self._property(p, "", "", left_first=False) for p in self.changed_properties()]
        return f"{self.label}: " + "; ".join(parts)

    def _property(self, prop: str, left_label: str, right_label: str, *, left_first: bool) -> str:
        left, right = (self.before or {}).get(prop), (self.after or {}).get(prop)
        if isinstance(left, str) and isinstance(right, str) and max(len(left), len(right)) > _LONG:
            left, right = _excerpts(left, right)
            left, right = f"'{left}'", f"'{right}'"
        if left_first:
            return f"{_phrase(prop, left)}{left_label}, {_bare(prop, right)}{right_label}"
        return f"{_phrase(prop, right)}, was {_bare(prop, left)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "change": self.change,
            "before": _json_props(self.before),
            "after": _json_props(self.after),
            "description": str(self),
        }


def diff(before: Schema, after: Schema) -> list[Difference]:
    """Object by object, in listing order: what is only in `before`, only in `after`, or differs."""
    keys = sorted(before.objects.keys() | after.objects.keys(), key=lambda k: (_kind_rank(k[0]), k[1]))
    found = []
    for key in keys:
        left, right = before.objects.get(key), after.objects.get(key)
        if left == right:
            continue
        label = (before.objects.get(key) or after.objects[key]).label
        change = "added" if left is None else "removed" if right is None else "changed"
        found.append(
            Difference(
                key[0],
                key[1],
                change,
                left.properties if left else None,
                right.properties if right else None,
                label,
            )
        )
    return found


# -- output ---------------------------------------------------------------------------------------


def _line(obj: SchemaObject, name: str) -> str:
    shown = ", ".join(_phrase(p, v) for p, v in obj.props if v is not None)
    return f"{obj.kind.replace('-', ' ')} {name}".rstrip() + (f": {shown}" if shown else "")


def render_text(schema: Schema) -> str:
    """Deterministic text: top-level objects by kind and name, each with its parts indented."""
    children: dict[str, list[SchemaObject]] = {}
    top: list[SchemaObject] = []
    for obj in schema:
        owned = obj.kind != "table" and obj.table and (obj.local_name or obj.name == obj.table)
        (children.setdefault(obj.table, []) if owned else top).append(obj)
    parents = {o.name for o in top if o.kind in ("table", "view")}
    for table, parts in children.items():
        if table not in parents:  # a part whose table is not listed stands on its own
            top.extend(parts)
    top.sort(key=lambda o: (_kind_rank(o.kind), o.name))
    lines = [f"-- schema snapshot ({schema.dialect}), written by migrator", ""]
    for obj in top:
        lines.append(_line(obj, obj.name))
        if obj.kind not in ("table", "view"):
            continue
        parts = children.get(obj.name, [])
        parts.sort(key=lambda o: (_kind_rank(o.kind), o.properties.get("position", 0), o.name))
        lines.extend("  " + _line(part, part.local_name) for part in parts)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _json_props(props: dict[str, Value] | None) -> dict[str, Any] | None:
    if props is None:
        return None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in props.items()}


def to_json(schema: Schema) -> dict[str, Any]:
    return {
        "dialect": schema.dialect,
        "objects": [
            {
                "kind": o.kind,
                "name": o.name,
                **({"table": o.table} if o.table else {}),
                "properties": _json_props(o.properties),
            }
            for o in schema
        ],
    }
