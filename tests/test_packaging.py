"""What `pip install migrator` gives a user: the built wheel and sdist, each in a fresh venv.

`python -m build` runs once per test run on a copy of the project (the working tree is never
written to); pip fetches `rich` (and psycopg for the `[postgres]` extra) from the configured
index. Marked `packaging`: `pytest -m "not packaging"` leaves it out.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator import __version__
from tests.conftest import EXAMPLE_SQL, ROOT, Db

pytestmark = pytest.mark.packaging

_NOT_COPIED = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    "migrator.db",
)


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


def _build(out: Path) -> Dists:
    src = out / "src"
    shutil.copytree(ROOT, src, ignore=_NOT_COPIED)
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheels, sdists = list((out / "dist").glob("*.whl")), list((out / "dist").glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, os.listdir(out / "dist")
    return Dists(wheels[0], sdists[0])


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """One build per run: under xdist the first worker builds and the others wait for it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return _build(tmp_path_factory.mktemp("dists"))
    shared = tmp_path_factory.getbasetemp().parent / "packaging-dists"  # this run's, all workers
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        built = shared / "built.json"
        if built.exists():
            paths = json.loads(built.read_text())
            return Dists(Path(paths["wheel"]), Path(paths["sdist"]))
        result = _build(shared / worker)
        built.write_text(json.dumps({"wheel": str(result.wheel), "sdist": str(result.sdist)}))
        return result


class Venv:
    """A fresh venv without pip: the test run's pip installs into it (`pip --python`)."""

    def __init__(self, path: Path) -> None:
        venv.create(path, with_pip=False)
        self.path = path
        self.home = path.parent / f"{path.name}-cwd"  # where commands run: no source tree here
        self.home.mkdir()

    def install(self, *requirements: str) -> None:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(self.path / "bin" / "python"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                *requirements,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def migrator(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MIGRATOR_") and k not in ("DATABASE_URL", "PYTHONPATH")
        }
        return subprocess.run(
            [str(self.path / "bin" / "migrator"), *args],
            cwd=self.home,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def fresh_venv(tmp_path: Path) -> Venv:
    return Venv(tmp_path / "venv")


def _runs_from_its_venv_and_migrates_sqlite(env: Venv) -> None:
    version = env.migrator("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"migrator {__version__}")
    where = subprocess.run(
        [str(env.path / "bin" / "python"), "-c", "import migrator; print(migrator.__file__)"],
        cwd=env.home,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where).resolve().is_relative_to(env.path.resolve()), where  # not the source tree

    shutil.copytree(EXAMPLE_SQL, env.home / "sql-copy")
    db = env.home / "app.db"
    up = env.migrator("--dir", "sql-copy", "--url", f"sqlite:///{db}", "up")
    assert up.returncode == 0, up.stdout + up.stderr
    rows = _sqlite_rows(db, "SELECT version, status FROM schema_version ORDER BY version")
    assert rows == [(v, "applied") for v in (1, 2, 3, 4)]


def _sqlite_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- what is inside ---------------------------------------------------------------------------
def _source_packages() -> set[str]:
    return {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "migrator").rglob("__init__.py")}


def test_wheel_holds_every_migrator_package_and_no_tests(dists: Dists) -> None:
    names = zipfile.ZipFile(dists.wheel).namelist()
    assert {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")} == _source_packages()
    assert {
        "migrator/dialects/postgres.py",
        "migrator/report/terminal.py",
        "migrator/snapshot/sqlite.py",
        "migrator/__main__.py",
    } <= set(names)
    assert not [n for n in names if n.split("/")[0] in ("tests", "scripts", "sql", "docs")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    dist_info = f"migrator-{__version__}.dist-info"
    entry_points = zipfile.ZipFile(dists.wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "migrator = migrator.cli:main" in entry_points
    metadata = zipfile.ZipFile(dists.wheel).read(f"{dist_info}/METADATA").decode()
    assert f"\nVersion: {__version__}\n" in metadata  # read from migrator.__version__
    assert "Requires-Dist: rich" in metadata
    assert "Provides-Extra: postgres" in metadata and "Provides-Extra: mysql" in metadata


def test_sdist_holds_the_package_readme_pyproject_and_a_runnable_test_suite(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as tar:
        top = f"migrator-{__version__}/"
        names = {n.removeprefix(top) for n in tar.getnames()}
    assert {"pyproject.toml", "README.md", "PKG-INFO", "migrator/__init__.py"} <= names
    assert {f"{p}/__init__.py" for p in _source_packages()} <= names
    if (ROOT / "LICENSE").exists():
        assert "LICENSE" in names
    # the tests run from an unpacked sdist: conftest, the example migrations, the scripts
    assert {
        "tests/conftest.py",
        "sql/migrator.sum",
        "sql/0001_initial_schema/up.sql",
        "scripts/test",
    } <= names
    assert not [n for n in names if n.startswith((".venv", ".git/")) or "__pycache__" in n]


# -- installed --------------------------------------------------------------------------------
def test_installed_wheel_runs_and_names_the_extra_a_postgres_url_needs(
    dists: Dists, fresh_venv: Venv
) -> None:
    fresh_venv.install(str(dists.wheel))
    _runs_from_its_venv_and_migrates_sqlite(fresh_venv)

    status = fresh_venv.migrator("--dir", "sql-copy", "--url", "postgres://app@127.0.0.1:1/app", "status")
    assert status.returncode == 2  # configuration error (README: exit status)
    assert "error: a postgres URL needs the psycopg driver" in status.stderr
    assert "hint: pip install 'migrator[postgres]'" in status.stderr
    assert "Traceback" not in status.stderr


def test_installed_wheel_with_the_postgres_extra_reaches_postgres(
    dists: Dists, fresh_venv: Venv, postgres_db: Db
) -> None:
    fresh_venv.install(f"{dists.wheel}[postgres]")
    shutil.copytree(EXAMPLE_SQL, fresh_venv.home / "sql")
    up = fresh_venv.migrator("--url", postgres_db.url, "up", "--to", "1")
    assert up.returncode == 0, up.stdout + up.stderr
    status = fresh_venv.migrator("--url", postgres_db.url, "status", "--json")
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert (doc["dialect"], doc["current_version"], len(doc["pending"])) == ("postgres", 1, 3)


def test_installed_sdist_runs(dists: Dists, fresh_venv: Venv) -> None:
    fresh_venv.install(str(dists.sdist))  # pip builds the wheel from the sdist: it must build
    _runs_from_its_venv_and_migrates_sqlite(fresh_venv)


def test_pipx_install_gives_a_working_migrator(dists: Dists, fresh_venv: Venv, tmp_path: Path) -> None:
    """README: `pipx install .` works as well as `pip install .` (pipx comes from PyPI here)."""
    fresh_venv.install("pipx")
    home, bin_dir = tmp_path / "pipx-home", tmp_path / "pipx-bin"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MIGRATOR_", "PIPX_")) and k not in ("DATABASE_URL", "PYTHONPATH")
    }
    env.update(PIPX_HOME=str(home), PIPX_BIN_DIR=str(bin_dir), PIPX_MAN_DIR=str(tmp_path / "man"))
    done = subprocess.run(
        [str(fresh_venv.path / "bin" / "pipx"), "install", str(dists.wheel)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shutil.copytree(EXAMPLE_SQL, fresh_venv.home / "sql")
    db = fresh_venv.home / "app.db"
    up = subprocess.run(
        [str(bin_dir / "migrator"), "--url", f"sqlite:///{db}", "up"],
        cwd=fresh_venv.home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stdout + up.stderr
    assert "database is at version 4" in up.stdout
