"""Confirmations and recovery advice that are right (issue 16, items 12-15): `redo` asks like
`down`; a failed version whose folder is gone has a way out; the advice after a failed `down`
speaks of a rollback; an interrupted run says what became of the file it was running."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Db, write_migration


def _keep(sqldir: Path) -> None:
    write_migration(
        sqldir,
        "0001_keep",
        "CREATE TABLE keep (id INT);\nINSERT INTO keep (id) VALUES (7);\n",
        "DROP TABLE keep;\n",
    )


def _events(db: Db) -> list[str]:
    return [a for (a,) in db.query("SELECT action FROM schema_version_history ORDER BY id")]


# -- 12. redo asks exactly like down ----------------------------------------------------------
def test_redo_without_a_terminal_and_without_yes_rolls_nothing_back(db: Db, sqldir: Path, cli: Any) -> None:
    _keep(sqldir)
    assert cli("up", "--url", db.url).code == 0
    result = cli("redo", "--url", db.url, input_text="")
    assert result.code == 2, result.err
    assert result.err == (
        "error: redo would roll back 1 version(s) (0001_keep) and apply it again and needs "
        "confirmation; nothing was changed\nhint: pass --yes to confirm when there is no terminal\n"
    )
    assert db.query("SELECT id FROM keep") == [(7,)]  # the down.sql never ran
    assert db.versions() == [(1, "applied")]
    assert _events(db) == ["up"]


def test_down_and_redo_refuse_with_the_same_sentence(db: Db, sqldir: Path, cli: Any) -> None:
    _keep(sqldir)
    assert cli("up", "--url", db.url).code == 0
    down = cli("down", "--url", db.url, input_text="")
    redo = cli("redo", "--url", db.url, input_text="")
    assert (down.code, redo.code) == (2, 2)
    assert redo.err == down.err.replace("down would", "redo would").replace(
        "(0001_keep) and", "(0001_keep) and apply it again and"
    )
    assert db.query("SELECT id FROM keep") == [(7,)]


def _on_a_terminal(args: list[str], answer: str, cwd: Path) -> tuple[int, str]:
    """Run migrator with a terminal as stdin (as a person does) and type `answer`."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("MIGRATOR_URL", "DATABASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=env,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(follower)
    os.write(leader, answer.encode())
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
    return proc.returncode, err


def test_redo_on_a_terminal_asks_and_a_no_changes_nothing(db: Db, sqldir: Path, cli: Any) -> None:
    _keep(sqldir)
    assert cli("up", "--url", db.url).code == 0
    code, err = _on_a_terminal(["redo", "--url", db.url], "n\n", sqldir.parent)
    assert "Roll back 1 version(s) and apply it again: 0001_keep? This may lose data. [y/N] " in err
    assert code == 3, err
    assert "rollback cancelled; nothing was changed" in err
    assert db.query("SELECT id FROM keep") == [(7,)]
    assert _events(db) == ["up"]

    code, err = _on_a_terminal(["redo", "--url", db.url], "y\n", sqldir.parent)
    assert code == 0, err
    assert db.query("SELECT id FROM keep") == [(7,)]  # rolled back and applied again
    assert _events(db) == ["up", "down", "up"]
