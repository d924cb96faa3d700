"""flyway: `V<version>__<description>.sql`, undo as `U...`, dotted versions mapped to integers
in the same order, and the `.sql.conf` beside a script."""

from __future__ import annotations

import re
from pathlib import Path

from migrator.importers.convert import slug
from migrator.importers.scan import MAX_VERSION, Scan, Source

NAMING = "flyway files are named V<version>__<description>.sql (U... for undo)"
_FILE = re.compile(r"^([VU])(\d[\d._]*?)__(.*)\.sql$")
_REPEATABLE = re.compile(r"^R__(.*)\.sql$")
_BASELINE = re.compile(r"^B(\d[\d._]*?)__(.*)\.sql$")
_CALLBACK = re.compile(r"^(before|after)[A-Za-z]*(__.*)?\.sql$")
# flyway callback -> migrator callback (SPEC §12); flyway's others (beforeClean, afterInfo,
# beforeValidate, ...) have no migrator event
_CALLBACK_EVENTS = {
    "beforeMigrate": "before_up",
    "afterMigrate": "after_up",
    "beforeEachMigrate": "before_each",
    "afterEachMigrate": "after_each",
    "afterMigrateError": "after_error",
    "beforeUndo": "before_down",
    "afterUndo": "after_down",
    "beforeEachUndo": "before_each_down",
    "afterEachUndo": "after_each_down",
}
_LOOKALIKE = re.compile(r"^[VUR]\d.*\.sql$", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\$\{[^}\n]+\}")

# (V|U, version parts) -> (file, version as written, description)
_Named = dict[tuple[str, tuple[int, ...]], tuple[Path, str, str]]


def read(scan: Scan) -> list[Source]:
    files = scan.files(recursive=True)  # flyway reads sub-folders of its locations too
    configs = {p.with_name(p.name.removesuffix(".conf")): p for p in files if p.name.endswith(".sql.conf")}
    named = _named(files, scan, configs)
    versioned: dict[tuple[int, ...], Source] = {}
    for (prefix, parts), (path, label, name) in named.items():
        if prefix == "U":
            if ("V", parts) not in named:
                scan.problems.append(
                    f"{scan.rel(path)}: an undo migration without its versioned "
                    "migration (V...); add it or remove the undo file"
                )
            continue
        source = Source(0, label, label.replace("_", "."), name, [scan.rel(path)])
        source.up, source.up_no_tx = _script(path, configs.get(path), scan)
        undo = named.get(("U", parts))
        if undo is None:
            source.notes.append("flyway had no undo (U) migration for it")
        else:
            source.files.append(scan.rel(undo[0]))
            source.down, source.down_no_tx = _script(undo[0], configs.get(undo[0]), scan)
        versioned[parts] = source
    return list(versioned.values()) if _assign_versions(versioned, scan) else []


def _named(files: list[Path], scan: Scan, configs: dict[Path, Path]) -> _Named:
    """The versioned and undo scripts by version; repeatables and callbacks handed to `scan`
    as side files; every other file skipped or refused."""
    named: _Named = {}
    for path in files:  # (sorted by path: callbacks of one event join in that order)
        if path.name.endswith(".sql.conf"):
            if path.with_name(path.name.removesuffix(".conf")) not in files:
                scan.skip(path, "a script configuration without its script")
            continue
        target = _side_target(path.name)
        if target:
            text, no_tx = _script(path, configs.get(path), scan)
            scan.side(target, path, text, no_tx, merge=target.startswith("callbacks/"))
            continue
        kind = _kind(path, scan)
        if kind is None:
            continue
        prefix, label, name = kind
        parts = _parts(label)
        if parts is None:
            scan.problems.append(f"{scan.rel(path)}: cannot read flyway version {label!r}")
        elif (prefix, parts) in named:
            scan.problems.append(
                f"{scan.rel(path)}: flyway version {label.replace('_', '.')} is also "
                f"{scan.rel(named[prefix, parts][0])}; flyway refuses that too"
            )
        else:
            named[prefix, parts] = (path, label, name)
    return named


def _script(path: Path, conf_path: Path | None, scan: Scan) -> tuple[str, bool]:
    """The script's text and whether its `.sql.conf` says executeInTransaction=false."""
    conf = _conf(conf_path, scan)
    text = scan.text(path, conf.get("encoding", "utf-8")) or ""
    found = sorted(set(_PLACEHOLDER.findall(text)))
    if found:
        scan.warnings.append(
            f"{scan.rel(path)}: flyway replaced placeholders here ({', '.join(found)}); "
            "migrator runs the text as written: put the values in the file"
        )
    return text, conf.get("executeInTransaction", "").lower() == "false"


def _side_target(name: str) -> str:
    """Where a flyway repeatable migration or callback goes in migrator (SPEC §12), or ""."""
    if repeatable := _REPEATABLE.match(name):
        return f"repeatable/{slug(repeatable.group(1))}.sql"
    if _CALLBACK.match(name):
        event = _CALLBACK_EVENTS.get(name.split("__", 1)[0].removesuffix(".sql"))
        return f"callbacks/{event}.sql" if event else ""
    return ""


def _kind(path: Path, scan: Scan) -> tuple[str, str, str] | None:
    name = path.name
    match = _FILE.match(name)
    if match:
        return match.group(1), match.group(2), match.group(3)
    if _BASELINE.match(name):
        scan.unsupported(
            path,
            "a flyway baseline migration (B...); the versioned migrations it stands for are imported instead",
        )
    elif _CALLBACK.match(name):  # (one with a migrator event is a side file: _side_target)
        scan.unsupported(
            path,
            "a flyway callback for an event migrator has no callback for: move its SQL into "
            "a migration or into the deploy script",
        )
    elif not name.endswith(".sql"):
        scan.skip(path, "not a .sql file")
    elif _LOOKALIKE.match(name):
        scan.skip(
            path,
            "looks like a migration, but flyway ignores this name (it needs "
            "V<version>__<description>.sql, two underscores)",
            unsupported=True,
        )
    else:
        scan.skip(path, "not a flyway migration name; flyway ignores it too")
    return None


def _parts(label: str) -> tuple[int, ...] | None:
    pieces = re.split(r"[._]", label)
    if not all(p.isdigit() for p in pieces):
        return None
    parts = [int(p) for p in pieces]
    while len(parts) > 1 and parts[-1] == 0:  # flyway: 1.0 is version 1
        parts.pop()
    return tuple(parts)


def flyway_version_map(versions: list[tuple[int, ...]]) -> dict[tuple[int, ...], int]:
    """Flyway versions (1, 1.1, 1.2, 2) -> integers in the same order.

    Single-part versions keep their number. Otherwise each part after the first gets a fixed
    number of digits, the most that part has anywhere: 1 -> 10, 1.1 -> 11, 1.2 -> 12, 2 -> 20
    (with 1.10 present: 1.1 -> 101, 1.10 -> 110). Raises ValueError when a version would not
    fit in a bigint."""
    depth = max((len(v) for v in versions), default=1)
    widths = [max(len(str(v[i])) if i < len(v) else 1 for v in versions) for i in range(1, depth)]
    mapped = {}
    for v in versions:
        padded = list(v) + [0] * (depth - len(v))
        digits = str(padded[0]) + "".join(f"{p:0{w}d}" for p, w in zip(padded[1:], widths, strict=True))
        mapped[v] = int(digits)
        if mapped[v] > MAX_VERSION:
            shown = ".".join(map(str, v))
            raise ValueError(
                f"flyway version {shown} maps to {digits}, above 2^63-1; migrator "
                "versions are integers, so these versions cannot keep their order"
            )
    return mapped


def _assign_versions(versioned: dict[tuple[int, ...], Source], scan: Scan) -> bool:
    try:
        mapped = flyway_version_map(list(versioned))
    except ValueError as exc:
        scan.problems.append(str(exc))
        return False
    renumbered = any(len(parts) > 1 for parts in versioned)
    for parts, source in versioned.items():
        source.version = mapped[parts]
        if renumbered:
            source.digits = ""  # the folder name shows the new number, not flyway's digits
            source.notes.append(f"flyway version {source.label} is migrator version {mapped[parts]}")
    return True


def _conf(path: Path | None, scan: Scan) -> dict[str, str]:
    if path is None:
        return {}
    text = scan.text(path) or ""
    conf = {}
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            conf[key.strip()] = value.strip()
    for key in sorted(set(conf) - {"executeInTransaction", "encoding"}):
        scan.warnings.append(
            f"{scan.rel(path)}: flyway setting {key!r} has no migrator equivalent and was ignored"
        )
    return conf
