"""dbmate: `<version>_<name>.sql` with `-- migrate:up` and `-- migrate:down` sections."""

from __future__ import annotations

import re

from migrator.importers.scan import Scan, Source, has_sql, one_file_source

NAMING = "dbmate files are named <version>_<name>.sql, e.g. db/migrations/20230101120000_users.sql"
_FILE = re.compile(r"^(\d+)[_-]?(.*)\.sql$")
_UP = re.compile(r"^--\s*migrate:up(?:\s+(.*))?$")
_DOWN = re.compile(r"^--\s*migrate:down(?:\s+(.*))?$")


def read(scan: Scan) -> list[Source]:
    found = []
    for path in scan.files():
        match = _FILE.match(path.name)
        if not match:
            scan.skip(path, "not named <version>_<name>.sql; dbmate ignores it too")
            continue
        if source := one_file_source(scan, path, match, _sections):
            found.append(source)
    by_name = [s.files[0] for s in found]
    by_version = [s.files[0] for s in sorted(found, key=lambda s: s.version)]
    if by_name != by_version:
        first = next(i for i, (a, b) in enumerate(zip(by_name, by_version, strict=True)) if a != b)
        scan.problems.append(
            f"dbmate applies files in name order, which runs {by_name[first]} before "
            f"{by_version[first]}, but migrator runs versions in numeric order; give the versions "
            "the same number of digits (pad with zeros) so both orders agree"
        )
    return found


def _sections(text: str, source: Source, scan: Scan) -> str:
    lines = text.split("\n")
    up = next((i for i, line in enumerate(lines) if _UP.match(line.rstrip())), None)
    down = next((i for i, line in enumerate(lines) if _DOWN.match(line.rstrip())), None)
    if up is None:
        return "no `-- migrate:up` line; dbmate requires one"
    start = up if down is None else min(up, down)
    if has_sql("\n".join(lines[:start])):
        return "SQL before `-- migrate:up`; dbmate refuses such a file too"
    up_end = down if down is not None and down > up else len(lines)
    source.up = "\n".join(lines[:start] + lines[up + 1 : up_end])
    source.up_no_tx = _no_tx(_UP, lines[up], source, scan)
    if down is None:
        source.notes.append("the dbmate file has no `-- migrate:down` section")
    else:
        source.down = "\n".join(lines[down + 1 : up if up > down else len(lines)])
        source.down_no_tx = _no_tx(_DOWN, lines[down], source, scan)
    return ""


def _no_tx(marker: re.Pattern[str], line: str, source: Source, scan: Scan) -> bool:
    """`-- migrate:up transaction:false` -> True. Options are `key:value` words."""
    match = marker.match(line.rstrip())
    assert match
    no_tx = False
    for option in (match.group(1) or "").split():
        key, _, value = option.partition(":")
        if key == "transaction" and value == "false":
            no_tx = True
        elif key != "transaction":
            scan.warnings.append(
                f"{source.files[0]}: dbmate option {option!r} has no migrator equivalent and was ignored"
            )
    return no_tx
