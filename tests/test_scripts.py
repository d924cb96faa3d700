"""The shell scripts users copy: the deploy example and the CI check, run as a shell runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, Db

MIGRATOR = str(Path(sys.executable).parent / "migrator")


def _run(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("MIGRATOR_URL", "DATABASE_URL")}
    full.update(MIGRATOR=MIGRATOR, **env)
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / script)],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_example_waits_backs_up_and_applies(db: Db, example_sql: Path) -> None:
    result = _run("deploy-example.sh", example_sql.parent, DATABASE_URL=db.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deploy: database is up to date" in result.stdout
    assert db.versions() == [(v, "applied") for v in (1, 2, 3, 4)]
    assert len(os.listdir(example_sql.parent / "backups")) == 1


def test_deploy_example_branches_on_drift(db: Db, example_sql: Path) -> None:
    assert _run("deploy-example.sh", example_sql.parent, DATABASE_URL=db.url).returncode == 0
    override = example_sql / db.dialect / "0002_add_scenarios" / "up.sql"
    up = override if override.exists() else example_sql / "0002_add_scenarios" / "up.sql"
    up.write_text(up.read_text() + "\n-- edited after it shipped\n")
    result = _run("deploy-example.sh", example_sql.parent, DATABASE_URL=db.url)
    assert result.returncode == 3
    assert "deploy: drift" in result.stderr


def test_deploy_example_gives_up_on_an_unreachable_database(example_sql: Path) -> None:
    result = _run(
        "deploy-example.sh",
        example_sql.parent,
        WAIT_TIMEOUT="1",
        DATABASE_URL="postgres://u:pw-hidden@127.0.0.1:1/db",
    )
    assert result.returncode == 4
    assert "never came up" in result.stderr and "pw-hidden" not in result.stderr


def test_check_migrations_offline_then_online(db: Db, example_sql: Path) -> None:
    offline = _run("check-migrations", example_sql.parent)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    online = _run("check-migrations", example_sql.parent, DATABASE_URL=db.url)
    assert online.returncode == 0, online.stdout + online.stderr
    (example_sql / "0001_initial_schema" / "down.sql").write_text("SELECT 1;\n")
    edited = _run("check-migrations", example_sql.parent)
    assert edited.returncode == 3
    assert "0001_initial_schema/down.sql: changed" in edited.stdout
