"""Foreign migrations -> migrator's `up.sql` / `down.sql` text. The rule: keep what the foreign
tool would run, mark what cannot run inside migrator's transaction, and never drop SQL quietly."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from migrator.directives import parse_directives
from migrator.importers.scan import SideSource, Source, has_sql
from migrator.lexer import LexError, leading_keywords, split_statements, starts_with
from migrator.model import DIALECTS

_NO_TX = "-- migrator: no-transaction\n"
# Transaction control a file may not hold when migrator runs it in its own transaction.
_TX_CONTROL = (("BEGIN",), ("START", "TRANSACTION"), ("COMMIT",), ("ROLLBACK",), ("END",))
_WRAP_OPEN = re.compile(
    r"^\s*(BEGIN|BEGIN\s+TRANSACTION|BEGIN\s+WORK|START\s+TRANSACTION)\s*;\s*$", re.IGNORECASE
)
_WRAP_CLOSE = re.compile(r"^\s*(COMMIT|COMMIT\s+TRANSACTION|COMMIT\s+WORK|END)\s*;\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ImportedMigration:
    version: int
    source_version: str  # as the foreign tool writes it: "20230101120000", "1.1"
    folder: str
    sources: tuple[str, ...]  # foreign files, relative to the source folder
    up: str
    down: str
    no_transaction: tuple[str, ...]  # "up.sql" / "down.sql" marked `no-transaction`
    irreversible: bool
    notes: tuple[str, ...]

    def to_dict(self, with_text: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "source_version": self.source_version,
            "folder": self.folder,
            "sources": list(self.sources),
            "no_transaction": list(self.no_transaction),
            "irreversible": self.irreversible,
            "notes": list(self.notes),
        }
        if with_text:
            data["up_sql"], data["down_sql"] = self.up, self.down
        return data


@dataclass(frozen=True)
class ImportedSide:
    """A repeatable migration or a callback file (SPEC §12)."""

    file: str  # "repeatable/<name>.sql" or "callbacks/<event>.sql"
    sources: tuple[str, ...]
    text: str
    no_transaction: bool
    notes: tuple[str, ...]

    def to_dict(self, with_text: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file": self.file,
            "sources": list(self.sources),
            "no_transaction": self.no_transaction,
            "notes": list(self.notes),
        }
        if with_text:
            data["sql"] = self.text
        return data


def convert_sides(sides: list[SideSource]) -> list[ImportedSide]:
    """Each side file's text; the callbacks of one event, one after the other, each under a
    comment naming its source (they then run in one transaction, where flyway ran each alone)."""
    out = []
    for s in sorted(sides, key=lambda s: s.target):
        notes: list[str] = []
        if len(s.files) == 1:
            body = s.texts[0]
        else:
            body = "\n".join(
                f"-- from {f}\n{_trim_blank_lines(t)}\n" for f, t in zip(s.files, s.texts, strict=True)
            )
            notes.append(f"joined {len(s.files)} callbacks for this event: they run as one file")
        text, no_tx = _sql_file(body, s.no_tx, s.target, notes)
        out.append(ImportedSide(s.target, tuple(s.files), text, no_tx, tuple(notes)))
    return out


def side_problems(s: ImportedSide) -> list[str]:
    kind = "a repeatable file" if s.file.startswith("repeatable/") else "a callback file"
    return parse_directives(s.text, kind, f"{s.file} (from {s.sources[0]})")[1]


def convert_all(found: list[Source], source_format: str) -> list[ImportedMigration]:
    """In version order, each in a folder `<version>_<slug>` whose digits are as wide as the
    widest version (the foreign tool's own zero padding kept)."""
    width = max([4] + [len(s.digits) for s in found] + [len(str(s.version)) for s in found])
    return [
        _convert(s, f"{s.version:0{width}d}_{slug(s.name)}", source_format)
        for s in sorted(found, key=lambda s: s.version)
    ]


def directive_problems(m: ImportedMigration) -> list[str]:
    problems = []
    for name, text in (("up.sql", m.up), ("down.sql", m.down)):
        problems += parse_directives(text, name, f"{m.folder}/{name} (from {m.sources[0]})")[1]
    return problems


def _convert(s: Source, folder: str, source_format: str) -> ImportedMigration:
    notes = list(s.notes)
    if not has_sql(s.up):
        notes.append("up.sql holds no SQL")
    up, up_no_tx = _sql_file(s.up, s.up_no_tx, "up.sql", notes)
    no_tx = ["up.sql"] if up_no_tx else []
    irreversible = s.down is None or not has_sql(s.down)
    if irreversible:
        why = "it had no down migration" if s.down is None else "its down migration held no SQL"
        notes.append(f"down.sql is marked `-- migrator: irreversible`: {why}")
        down = _irreversible(s.down or "", source_format, why)
    else:
        down, down_no_tx = _sql_file(s.down or "", s.down_no_tx, "down.sql", notes)
        no_tx += ["down.sql"] if down_no_tx else []
    return ImportedMigration(
        s.version, s.label, folder, tuple(s.files), up, down, tuple(no_tx), irreversible, tuple(notes)
    )


def _sql_file(body: str, no_tx: bool, name: str, notes: list[str]) -> tuple[str, bool]:
    body = _trim_blank_lines(body)
    if not no_tx:
        unwrapped, removed = _unwrap(body)
        if removed and not any(kind == "control" for kind, _ in _agreed_findings(unwrapped)):
            body = unwrapped
            notes.append(
                f"{name}: commented out the file's own {removed}: migrator runs each file in one transaction"
            )
        reason = "; ".join(sorted(what for _, what in _agreed_findings(body)))
        if reason:
            no_tx = True
            notes.append(f"{name}: marked `-- migrator: no-transaction`: {reason}")
    return (_NO_TX if no_tx else "") + body + "\n", no_tx


def _irreversible(body: str, source_format: str, why: str) -> str:
    kept = _trim_blank_lines(body)
    return (
        "-- migrator: irreversible\n"
        f"-- Imported from {source_format}: {why}. To make this version reversible, write the\n"
        "-- SQL that undoes up.sql here and remove the directive above.\n" + (kept + "\n" if kept else "")
    )


def _unwrap(body: str) -> tuple[str, str]:
    """Comment out a BEGIN; ... COMMIT; pair around the whole file (golang-migrate habit)."""
    lines = body.split("\n")
    code = [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("--")]
    if len(code) < 2 or not _WRAP_OPEN.match(lines[code[0]]) or not _WRAP_CLOSE.match(lines[code[-1]]):
        return body, ""
    pair = f"{lines[code[0]].strip()} ... {lines[code[-1]].strip()}"
    for i in (code[0], code[-1]):
        lines[i] = f"-- {lines[i].strip()}  (removed on import)"
    return "\n".join(lines), pair


def _agreed_findings(body: str) -> set[tuple[str, str]]:
    """Why this text cannot run inside migrator's transaction: ("control", why) for its own
    transaction control, ("refused", why) for a statement a database refuses in one. The
    source's database is unknown, so the text is split by every dialect's rules and only what
    all of the splits agree on counts (a rule one dialect lacks, such as $$ bodies, must not
    invent a problem)."""
    refused = _refused_in_transaction()
    agreed: set[tuple[str, str]] | None = None
    for dialect in DIALECTS:
        try:
            statements = split_statements(body, dialect)
        except LexError:
            continue
        found = set()
        for statement in statements:
            words = leading_keywords(statement.text, 4)
            for pattern in _TX_CONTROL:
                if words[: len(pattern)] == pattern and words[1:2] != ("ATOMIC",):
                    found.add(("control", f"the file manages its own transactions ({' '.join(pattern)})"))
            found.update(
                ("refused", f"{' '.join(p)} cannot run inside a transaction")
                for p in refused
                if words[:1] == p[:1] and starts_with(statement.text, p)
            )
        agreed = found if agreed is None else agreed & found
    return agreed or set()


def _refused_in_transaction() -> set[tuple[str, ...]]:
    """What any dialect refuses inside a transaction, as the dialects declare it."""
    from migrator.dialects import registry

    return {p for d in registry.DIALECTS for p in registry.dialect_class(d).refused_in_transaction}


def _trim_blank_lines(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def slug(name: str) -> str:
    """The `migrator new` rule (lower-case letters and digits joined by `_`), accents folded."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "migration"
