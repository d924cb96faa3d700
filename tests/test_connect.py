"""Connection failures: exit 4, quickly, and never a password in the output."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db


def test_wrong_password_exits_4_without_printing_it(server_db: Db, example_sql: Path, cli: Any) -> None:
    db = server_db
    u = db.parsed
    # The local postgres trusts every password, so there an unknown role is what gets refused.
    user = "no_such_role_x" if db.dialect == "postgres" else (u.user or "root")
    url = f"{db.dialect}://{user}:s3cret-pw@{u.host}:{u.port}/{u.database}"
    result = cli("up", "--json", "--url", url)
    assert result.code == 4
    assert "s3cret-pw" not in result.out + result.err
    assert "***" in result.err
    assert json.loads(result.out)["error"]["kind"] == "connect"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("scheme", ["postgres", "mysql"])
def test_unreachable_host_exits_4_within_seconds(scheme: str, example_sql: Path, cli: Any) -> None:
    url = f"{scheme}://user:pw-hidden@127.0.0.1:{_closed_port()}/db"
    started = time.monotonic()
    result = cli("status", "--url", url)
    assert result.code == 4
    assert time.monotonic() - started < 10
    assert "cannot connect" in result.err
    assert "pw-hidden" not in result.err and "pw-hidden" not in result.out


def test_unsupported_url_scheme_is_a_config_error(example_sql: Path, cli: Any) -> None:
    result = cli("status", "--url", "oracle://scott:tiger@db/x")
    assert result.code == 2
    assert "unsupported database URL" in result.err and "tiger" not in result.err


def test_sqlite_file_that_is_not_a_database_exits_4(example_sql: Path, cli: Any, tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_text("this is not sqlite" * 100)
    result = cli("up", "--url", "sqlite:///bad.db")
    assert result.code == 4
    assert "bad.db" in result.err


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "mysql", "mariadb"])
def test_a_url_without_a_database_is_a_config_error_with_an_example_of_its_own_scheme(
    scheme: str, example_sql: Path, cli: Any
) -> None:
    result = cli("status", "--url", f"{scheme}://app:pw-hidden@127.0.0.1:1/")
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: database URL '{scheme}://app:***@127.0.0.1:1/' names no database",
        f"hint: add the database name: {scheme}://user@host/mydb",
    ]
