"""golang-migrate: `<version>_<name>.up.sql` and `.down.sql`, one file per direction."""

from __future__ import annotations

import re
from pathlib import Path

from migrator.importers.scan import Scan, Source

NAMING = "golang-migrate files are named <version>_<name>.up.sql / .down.sql"
_FILE = re.compile(r"^(\d+)_(.*)\.(up|down)\.([^.]+)$")


def read(scan: Scan) -> list[Source]:
    files = _files(scan)
    found = []
    for (version, direction), path in sorted(files.items()):
        if direction == "down":
            if (version, "up") not in files:
                scan.problems.append(
                    f"{scan.rel(path)}: a down file without an up file for "
                    f"version {version}; add the up file or remove this one"
                )
            continue
        match = _FILE.match(path.name)
        assert match
        source = Source(
            version, match.group(1), str(version), match.group(2), [scan.rel(path)], up=scan.text(path) or ""
        )
        down = files.get((version, "down"))
        if down is None:
            source.notes.append("golang-migrate had no down file for it")
        else:
            source.files.append(scan.rel(down))
            source.down = scan.text(down) or ""
        found.append(source)
    return found


def _files(scan: Scan) -> dict[tuple[int, str], Path]:
    """(version, "up"/"down") -> file."""
    files: dict[tuple[int, str], Path] = {}
    for path in scan.files():
        match = _FILE.match(path.name)
        if not match or match.group(4) != "sql":
            scan.skip(
                path,
                "not a .sql file"
                if match
                else "not named <version>_<name>.up.sql or .down.sql; golang-migrate ignores it too",
            )
            continue
        key = (int(match.group(1)), match.group(3))
        if key in files:
            scan.problems.append(
                f"{scan.rel(path)}: a second {key[1]} file for version {key[0]} "
                f"(also {scan.rel(files[key])}); two migrations cannot share a "
                "version (renumber one)"
            )
        else:
            files[key] = path
    return files
