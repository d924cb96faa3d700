"""Confirmations and recovery advice that are right (issue 16, items 12-15): `redo` asks like
`down`; a failed version whose folder is gone has a way out; the advice after a failed `down`
speaks of a rollback; an interrupted run says what became of the file it was running."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db, answer_on_a_terminal, write_migration
from tests.test_concurrency import SLEEP, _spawn, _wait_for_running


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
        "error: redo would roll back 1 version (0001_keep) and apply it again and needs "
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
    r = answer_on_a_terminal(args, cwd, answer)
    return r.code, r.err


def test_redo_on_a_terminal_asks_and_a_no_changes_nothing(db: Db, sqldir: Path, cli: Any) -> None:
    _keep(sqldir)
    assert cli("up", "--url", db.url).code == 0
    code, err = _on_a_terminal(["redo", "--url", db.url], "n\n", sqldir.parent)
    assert "Roll back 1 version and apply it again: 0001_keep? This may lose data. [y/N] " in err
    assert code == 3, err
    assert "rollback cancelled; nothing was changed" in err
    assert db.query("SELECT id FROM keep") == [(7,)]
    assert _events(db) == ["up"]

    code, err = _on_a_terminal(["redo", "--url", db.url], "y\n", sqldir.parent)
    assert code == 0, err
    assert db.query("SELECT id FROM keep") == [(7,)]  # rolled back and applied again
    assert _events(db) == ["up", "down", "up"]


# -- 13. a failed version whose folder is gone has a way out ----------------------------------
def test_a_failed_version_whose_folder_is_gone_can_be_checked_and_cleared(
    db: Db, sqldir: Path, cli: Any
) -> None:
    import shutil

    write_migration(sqldir, "0050_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(
        sqldir,
        "0051_b",
        "-- migrator: no-transaction\nCREATE TABLE b (id INT);\nINSERT INTO nope (id) VALUES (1);\n",
        "DROP TABLE b;\n",
    )
    assert cli("up", "--url", db.url).code == 1
    assert db.versions() == [(50, "applied"), (51, "failed")]
    shutil.rmtree(sqldir / "0051_b")

    blocked = cli("up", "--url", db.url)
    assert blocked.code == 3
    assert (
        "statement 1 of 2 committed; its folder 0051_b is gone, so it can be neither run again nor "
        "marked applied: restore the folder (e.g. from version control) and run `migrator status` "
        "again, or, if it was removed on purpose, undo by hand what ran (`migrator repair 51 "
        "--dry-run` shows the SQL the version table kept) and run `migrator repair 51`, which "
        "deletes the row\n"
    ) in blocked.err

    # marking it applied needs the files: refused, exit 3, nothing changed
    mark = cli("repair", "--mark-applied", "51", "--yes", "--url", db.url)
    assert mark.code == 3
    assert mark.err == (
        "error: version 51 (0051_b): --mark-applied records the checksums of its files, and its "
        "folder 0051_b is gone; restore the folder first, or undo by hand what ran and run "
        "`migrator repair 51`, which deletes the row\n"
    )
    assert mark.out == "repair: nothing was changed\n"
    assert db.versions() == [(50, "applied"), (51, "failed")]

    # the SQL a person has to check, from the version table
    preview = cli("repair", "51", "--dry-run", "--url", db.url)
    assert preview.code == 0, preview.err
    assert preview.out == (
        "would reset version 51 (0051_b): delete the failed row; its folder is gone, so the "
        "version is gone too (check first that the database holds nothing of it: undo by hand "
        "what ran)\n"
        "-- what ran, as the version table kept it; check each statement in the database by hand:\n"
        "-- statement 1 (line 2): committed\n"
        "CREATE TABLE b (id INT);\n"
        "-- statement 2 (line 3): failed\n"
        "INSERT INTO nope (id) VALUES (1);\n"
    )
    db.execute("DROP TABLE b")  # undone by hand
    done = cli("repair", "51", "--yes", "--reason", "0051 dropped on purpose", "--url", db.url)
    assert done.code == 0, done.err
    assert db.versions() == [(50, "applied")]
    assert cli("up", "--url", db.url).code == 0
    assert cli("status", "--exit-code", "--url", db.url).code == 0
    assert db.query("SELECT action, version, reason FROM schema_version_history WHERE action = 'repair'") == [
        ("repair", 51, "0051 dropped on purpose")
    ]


def test_repair_of_an_applied_version_whose_folder_is_gone_exits_3(db: Db, sqldir: Path, cli: Any) -> None:
    import shutil

    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    assert cli("up", "--url", db.url).code == 0
    shutil.rmtree(sqldir / "0001_a")
    result = cli("repair", "1", "--yes", "--url", db.url)
    assert result.code == 3
    assert result.err == (
        "error: version 1 (0001_a) is applied but its folder is gone: repair accepts the current "
        "files, and there are none; restore the folder (e.g. from version control)\n"
    )
    assert result.out == "repair: nothing was changed\n"
    assert db.versions() == [(1, "applied")]


# -- 14. after a failed down, "finished by hand" means rolled back: pending -------------------
DOWN_ADVICE = (
    "check the database by hand, then either finish the rollback by hand and run "
    "`migrator repair 1` (rolled back: the version is pending), or undo what ran of down.sql "
    "and run `migrator repair --mark-applied 1` (the version stays applied)"
)


def test_a_failed_down_advises_repair_for_a_rollback_finished_by_hand(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(
        sqldir,
        "0001_a",
        "CREATE TABLE a (id INT);\n",
        # outside one transaction on every dialect: the DROP commits, the INSERT fails
        "-- migrator: no-transaction\nDROP TABLE a;\nINSERT INTO nope (id) VALUES (1);\n",
    )
    assert cli("up", "--url", db.url).code == 0
    down = cli("down", "--yes", "--url", db.url)
    assert down.code == 1, down.err
    assert (
        "statement 1 of 2 committed and stay (no rollback is possible here); version 1 is recorded "
        f"as failed and blocks later runs; {DOWN_ADVICE}\n"
    ) in down.err
    status = cli("status", "--url", db.url)
    assert f"statement 1 of 2 committed; {DOWN_ADVICE}\n" in status.out, status.out
    assert "finished by hand" not in status.out + down.err  # the up template

    # following the advice: the rollback is finished (the DROP committed), so `repair 1`
    preview = cli("repair", "1", "--dry-run", "--url", db.url)
    assert preview.out == (
        "would reset version 1 (0001_a): delete the failed row; the rollback was finished by "
        "hand: the version is pending\n"
    )
    assert cli("repair", "1", "--yes", "--url", db.url).code == 0
    assert db.versions() == []
    assert "a" not in db.tables()
    assert cli("up", "--url", db.url).code == 0  # pending: applied again
    assert db.versions() == [(1, "applied")]


def test_a_failed_down_undone_by_hand_is_marked_applied(db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(
        sqldir,
        "0001_a",
        "CREATE TABLE a (id INT);\n",
        "-- migrator: no-transaction\nDROP TABLE a;\nINSERT INTO nope (id) VALUES (1);\n",
    )
    assert cli("up", "--url", db.url).code == 0
    assert cli("down", "--yes", "--url", db.url).code == 1
    db.execute("CREATE TABLE a (id INT)")  # what ran of down.sql, undone by hand
    marked = cli("repair", "--mark-applied", "1", "--yes", "--url", db.url)
    assert marked.code == 0, marked.err
    assert "recorded as applied (the rollback undone by hand)" in marked.out
    assert db.versions() == [(1, "applied")]
    assert cli("status", "--exit-code", "--url", db.url).code == 0


# -- 15. a signal mid-file says what became of the running file -------------------------------
def _interrupt(db: Db, sqldir: Path, *args: str) -> tuple[int, str]:
    proc = _spawn([*args, "--url", db.url], sqldir.parent)
    _wait_for_running(db, proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize("mode", ["transaction", "no-transaction"])
def test_ctrl_c_mid_file_says_whether_it_was_rolled_back_or_recorded_as_failed(
    db: Db, sqldir: Path, cli: Any, mode: str
) -> None:
    directive = "-- migrator: no-transaction\n" if mode == "no-transaction" else ""
    write_migration(sqldir, "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    write_migration(
        sqldir, "0002_slow", f"{directive}CREATE TABLE b (id INT);\n{SLEEP[db.dialect]}", "DROP TABLE b;\n"
    )
    code, err = _interrupt(db, sqldir, "up")
    assert code == 130, err
    head = "error: stopped by SIGINT during version 2 (0002_slow); applied before it: 1; "
    if mode == "transaction" and db.dialect != "mysql":  # DDL commits at once on mysql
        assert (
            head + "version 2 was rolled back: nothing of it was committed, it is pending again; "
            "run the command again to go on\n"
        ) in err
        assert db.versions() == [(1, "applied")]
        assert "b" not in db.tables()
        assert cli("status", "--exit-code", "--url", db.url).code == 5  # pending, nothing blocks
    else:
        assert (
            head + "version 2 is recorded as failed: statement 1 of 2 committed and stays, and "
            "statement 2 was running when the signal came (it may have committed too); check the "
            "database by hand, then either undo what ran and run `migrator repair 2` (version "
            "pending again), or finish the file by hand and run `migrator repair --mark-applied 2` "
            "(finished by hand: applied)\n"
        ) in err
        assert db.versions() == [(1, "applied"), (2, "failed")]
        assert "b" in db.tables()
        # the advice works: undo what ran, repair, and the next run applies the fixed file
        db.execute("DROP TABLE b")
        (sqldir / "0002_slow" / "up.sql").write_text("CREATE TABLE b (id INT);\n")
        assert cli("repair", "2", "--yes", "--url", db.url).code == 0
        assert cli("up", "--url", db.url).code == 0
        assert db.versions() == [(1, "applied"), (2, "applied")]


def test_ctrl_c_in_a_down_that_cannot_roll_back_gives_the_down_advice(db: Db, sqldir: Path) -> None:
    write_migration(
        sqldir,
        "0001_a",
        "CREATE TABLE a (id INT);\n",
        f"-- migrator: no-transaction\nDROP TABLE a;\n{SLEEP[db.dialect]}",
    )
    assert _spawn(["up", "--url", db.url], sqldir.parent).wait(timeout=60) == 0
    code, err = _interrupt(db, sqldir, "down", "--yes")
    assert code == 130, err
    assert (
        "error: stopped by SIGINT during version 1 (0001_a); nothing was rolled back before it; "
        "version 1 is recorded as failed: statement 1 of 2 committed and stays, and statement 2 "
        "was running when the signal came (it may have committed too); " + DOWN_ADVICE + "\n"
    ) in err
    assert db.versions() == [(1, "failed")]


def test_a_failure_whose_row_cannot_be_written_says_so(mysql_db: Db, sqldir: Path, cli: Any) -> None:
    """MariaDB drops the tables of a DROP TABLE list that exist before it fails on the one that
    does not (MySQL 8 drops none): here the version table goes, so the `failed` mark cannot be
    written, and the report must not leave "recorded as failed" standing alone."""
    write_migration(
        sqldir,
        "0001_a",
        "-- migrator: no-transaction\nCREATE TABLE a (x INT);\nDROP TABLE schema_version, no_such_table;\n",
        "DROP TABLE a;\n",
    )
    up = cli("up", "--url", mysql_db.url)
    assert up.code == 1, up.out + up.err
    assert "Unknown table" in up.err
    said = " ".join(up.err.split())
    assert "migrator could not record this failure in version 1's row" in said
    assert "recorded as failed" not in said


def test_mysql_says_what_a_rollback_could_not_undo_in_a_myisam_table(
    mysql_db: Db, sqldir: Path, cli: Any
) -> None:
    """A data-only file runs in one transaction on mysql, but a MyISAM table keeps what it
    wrote when the transaction rolls back: the report must not say "nothing was committed"."""
    write_migration(sqldir, "0001_m", "CREATE TABLE m (id INT) ENGINE=MyISAM;\n", "DROP TABLE m;\n")
    write_migration(sqldir, "0002_i", "CREATE TABLE i (id INT) ENGINE=InnoDB;\n", "DROP TABLE i;\n")
    write_migration(
        sqldir,
        "0003_seed",
        "INSERT INTO i VALUES (1);\nINSERT INTO m VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n",
        "DELETE FROM m;\nDELETE FROM i;\n",
    )
    up = cli("up", "--url", mysql_db.url)
    assert up.code == 1, up.out + up.err
    said = " ".join(up.err.split())
    assert "the file was rolled back, but changes to non-transactional tables" in said
    assert "nothing of this version was committed" not in said
    assert mysql_db.query("SELECT id FROM m") == [(1,)]  # what the report warns of
    assert mysql_db.query("SELECT id FROM i") == []  # InnoDB: rolled back
    assert [v for v, _ in mysql_db.versions()] == [1, 2]


def test_a_rollback_that_undid_everything_says_so(mysql_db: Db, sqldir: Path, cli: Any) -> None:
    write_migration(sqldir, "0001_i", "CREATE TABLE i (id INT) ENGINE=InnoDB;\n", "DROP TABLE i;\n")
    write_migration(sqldir, "0002_seed", "INSERT INTO i VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n")
    up = cli("up", "--url", mysql_db.url)
    assert up.code == 1, up.out + up.err
    assert "nothing of this version was committed: the whole file was rolled back" in " ".join(up.err.split())
    assert mysql_db.query("SELECT id FROM i") == []
