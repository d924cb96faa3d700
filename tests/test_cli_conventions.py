"""The conventions a shell user and a CI log expect: NO_COLOR, FORCE_COLOR, TERM=dumb, --json,
--quiet, and shell completion. Each runs `migrator` in a subprocess, on a pipe or on a pty."""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_SQL, Db, run_cli, write_migration

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_CURSOR = re.compile(r"\x1b\[(\?25[lh]|[0-9]*[ABCDEFGHJK])")  # hide/show cursor, move, erase


def colour_codes(text: str) -> list[str]:
    """SGR sequences that set a colour (30-49, 90-107, 38/48 extended); bold or dim are not colour."""
    found = []
    for match in _SGR.finditer(text):
        params = [int(p) for p in match.group(1).split(";") if p]
        if any(30 <= p <= 49 or 90 <= p <= 107 for p in params):
            found.append(match.group(0))
    return found


@dataclass
class Run:
    code: int
    out: str
    err: str


def _env(overrides: dict[str, str | None]) -> dict[str, str]:
    drop = (
        "MIGRATOR_URL",
        "DATABASE_URL",
        "MIGRATOR_DIR",
        "NO_COLOR",
        "FORCE_COLOR",
        "TTY_COMPATIBLE",
        "TTY_INTERACTIVE",
        "CLICOLOR_FORCE",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


def run(*args: str, cwd: Path, **env: str | None) -> Run:
    """stdout on a pipe, as in CI or `| tee`."""
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def run_on_terminal(*args: str, cwd: Path, **env: str | None) -> Run:
    """stdout on a pseudo-terminal, as in an interactive shell; stderr stays a pipe."""
    code, chunks, err = _run_on_pty(args, cwd, env)
    return Run(code, b"".join(data for _, data in chunks).decode(errors="replace").replace("\r\n", "\n"), err)


def _run_on_pty(
    args: tuple[str, ...], cwd: Path, env: dict[str, str | None]
) -> tuple[int, list[tuple[float, bytes]], str]:
    """Exit status, what reached the terminal (each read with the time it arrived), stderr."""
    master, slave = pty.openpty()
    env = {"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd,
        env=_env(env),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    chunks: list[tuple[float, bytes]] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not data:
                break
            chunks.append((time.monotonic(), data))
        err = proc.communicate(timeout=max(1, deadline - time.monotonic()))[1]
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, chunks, err.decode(errors="replace")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the example migrations in sql/ and a sqlite database beside them."""
    shutil.copytree(EXAMPLE_SQL, tmp_path / "sql")
    return tmp_path


def _failing(tmp_path: Path) -> Path:
    write_migration(tmp_path / "sql", "0001_broken", "CREATE TABLE t (id INT);\nTHIS IS NOT SQL;\n")
    return tmp_path


def _without_timings(text: str) -> str:
    return re.sub(r"\d+(\.\d+)? ms", "N ms", text)


# -- colour -----------------------------------------------------------------------------------
def test_plain_lines_off_a_terminal_carry_no_escape_codes(project: Path) -> None:
    result = run("up", cwd=project)
    assert result.code == 0, result.err
    assert "applied 0001_initial_schema in" in result.out
    assert "\x1b" not in result.out + result.err


def test_force_color_colours_the_same_plain_lines_without_progress_bars(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    plain = run("up", "-v", cwd=project)
    other = tmp_path_factory.mktemp("coloured")
    shutil.copytree(EXAMPLE_SQL, other / "sql")
    coloured = run("up", "-v", cwd=other, FORCE_COLOR="1")  # what a CI job with FORCE_COLOR sees
    assert coloured.code == 0, coloured.err
    assert colour_codes(coloured.out), coloured.out
    assert not _CURSOR.search(coloured.out)  # a log: no redraws, no spinner, no live bar
    assert _without_timings(_SGR.sub("", coloured.out)) == _without_timings(plain.out)
    assert "\x1b" not in coloured.err


def test_no_color_wins_over_force_color(project: Path) -> None:
    result = run("up", cwd=project, FORCE_COLOR="1", NO_COLOR="1")
    assert result.code == 0, result.err
    assert "applied 0001_initial_schema in" in result.out
    assert "\x1b" not in result.out + result.err


def test_terminal_output_is_coloured_unless_no_color(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    coloured = run_on_terminal("up", cwd=project)
    assert coloured.code == 0, coloured.err
    assert colour_codes(coloured.out), coloured.out  # the rich display: the check can see colour

    other = tmp_path_factory.mktemp("no-color")
    shutil.copytree(EXAMPLE_SQL, other / "sql")
    for value in ("1", "0", "false"):  # no-color.org: any non-empty value
        (other / "migrator.db").unlink(missing_ok=True)
        result = run_on_terminal("up", cwd=other, NO_COLOR=value)
        assert result.code == 0, result.err
        assert "0004_parse_request_log_json" in result.out  # still the rich summary
        assert colour_codes(result.out) == [], result.out


def test_dumb_terminal_gets_plain_lines(project: Path) -> None:
    result = run_on_terminal("up", cwd=project, TERM="dumb")
    assert result.code == 0, result.err
    assert "applied 0001_initial_schema in" in result.out
    assert "\x1b" not in result.out


@pytest.mark.parametrize("where", ["pipe", "terminal"])
def test_json_never_carries_escape_codes_even_with_force_color(project: Path, where: str) -> None:
    call = run if where == "pipe" else run_on_terminal
    for args in (
        ("up", "--json", "-v"),
        ("status", "--json"),
        ("up", "--json", "--to", "abc"),
        ("show", "2", "--json"),
    ):
        result = call(*args, cwd=project, FORCE_COLOR="1")
        assert "\x1b" not in result.out, (args, result.out)
        assert json.loads(result.out)["ok"] is (result.code == 0), (args, result.out)
    broken = _failing(project / "broken")
    failed = call(
        "--dir",
        str(broken / "sql"),
        "--url",
        f"sqlite:///{broken / 'b.db'}",
        "up",
        "--json",
        cwd=project,
        FORCE_COLOR="1",
    )
    assert failed.code == 1
    assert "\x1b" not in failed.out + failed.err
    assert json.loads(failed.out)["ok"] is False


# -- --quiet ----------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["pipe", "terminal"])
@pytest.mark.parametrize("args", [("-q", "up"), ("up", "--quiet")])
def test_quiet_prints_nothing_when_all_goes_well(project: Path, where: str, args: tuple[str, ...]) -> None:
    call = run if where == "pipe" else run_on_terminal
    result = call(*args, cwd=project, FORCE_COLOR="1")
    assert result.code == 0, result.err
    assert (result.out, result.err) == ("", "")
    status = call("status", "-q", "--exit-code", cwd=project)
    assert (status.code, status.out, status.err) == (0, "", "")


def test_quiet_prints_the_error_only(tmp_path: Path) -> None:
    result = run("-q", "up", cwd=_failing(tmp_path))
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("error: ") and "0001_broken" in result.err
    assert "\x1b" not in result.err


def test_quiet_still_says_why_a_check_failed(db: Db, tmp_path: Path) -> None:
    """-q is errors only, not silence: validate, validate --offline, drift, verify and lint that
    exit 3 print their findings on stderr (and nothing on stdout), as they do without -q."""
    sql = tmp_path / "sql"
    write_migration(sql, "0001_a", "CREATE TABLE a (id INT, x INT);\n", "DROP TABLE a;\n")
    write_migration(sql, "0002_b", "ALTER TABLE a DROP COLUMN x;\n", "SELECT 1;\n")
    url = ("--url", db.url)
    assert run("up", *url, cwd=tmp_path).code == 0
    assert run("hash", cwd=tmp_path).code == 0
    clean = run("validate", "-q", *url, cwd=tmp_path)
    assert (clean.code, clean.out, clean.err) == (0, "", "")

    verify = run("verify", "-q", *url, cwd=tmp_path)
    assert (verify.code, verify.out) == (3, "")
    assert "0002_b: DIFFERS" in verify.err and "column a.x: missing after down" in verify.err
    lint = run("lint", "-q", cwd=tmp_path)
    assert (lint.code, lint.out) == (3, "")
    assert "error [drop-column]" in lint.err and "0002_b/up.sql:1:1" in lint.err

    db.execute("CREATE TABLE audit_log (id INT)")
    drift = run("drift", "-q", *url, cwd=tmp_path)
    assert (drift.code, drift.out) == (3, "")
    assert "table audit_log: in the database, not in the migrations" in drift.err

    (sql / "0001_a" / "up.sql").write_text("CREATE TABLE a (id INT, x INT, y INT);\n", encoding="utf-8")
    validate = run("validate", "-q", *url, cwd=tmp_path)
    assert (validate.code, validate.out) == (3, "")
    assert "version 1 (0001_a): changed: 0001_a/up.sql changed since it was applied" in validate.err
    offline = run("validate", "--offline", "-q", cwd=tmp_path)
    assert (offline.code, offline.out) == (3, "")
    assert "0001_a/up.sql: changed" in offline.err


# -- shell completion -------------------------------------------------------------------------
_BASH_DRIVER = r"""
eval "$("$MIGRATOR_PYTHON" -m migrator completion bash)" || exit 3
complete -p migrator | grep -q -- '-F _migrator' || exit 4
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
_migrator migrator "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def bash_complete(*words: str, cwd: Path, **env: str | None) -> list[str]:
    """COMPREPLY for a command line whose last word is the one being completed, as bash calls
    the function on TAB (COMP_WORDBREAKS splits `--dir=x` into `--dir`, `=`, `x`)."""
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", _BASH_DRIVER, "bash", "migrator", *words],
        cwd=cwd,
        env=_env({"MIGRATOR_PYTHON": sys.executable, **env}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


@pytest.fixture
def folders(project: Path) -> Path:
    """sql/ holds versions 1-4; other/ holds 7, 42 and a postgres-only 100, plus things that are
    not version folders."""
    for folder in (
        "other/0007_b",
        "other/0042_a",
        "other/postgres/0100_pg",
        "other/notes",
        "other/12x_not_a_version",
    ):
        (project / folder).mkdir(parents=True)
    (project / "other" / "0099_a_file.sql").write_text("SELECT 1;\n")
    return project


def test_completion_offers_commands_then_their_options(folders: Path) -> None:
    commands = bash_complete("", cwd=folders)
    assert {"up", "down", "status", "show", "verify", "completion"} <= set(commands)
    assert not [c for c in commands if c.startswith("-")]
    assert bash_complete("st", cwd=folders) == ["status"]
    assert "--dry-run" in bash_complete("up", "", cwd=folders)
    assert set(bash_complete("up", "--d", cwd=folders)) == {"--dir", "--dry-run"}
    assert "--json" in bash_complete("-", cwd=folders)
    # an option's value is not the command: `--dir sql up`
    assert set(bash_complete("--dir", "sql", "up", "--d", cwd=folders)) == {"--dir", "--dry-run"}
    assert "--exit-code" in bash_complete("--url", "sqlite:///x.db", "status", "--", cwd=folders)


@pytest.mark.parametrize(
    "words",
    [
        ("up", "--to"),
        ("down", "--to"),
        ("show",),
        ("migrate", "--version"),
        ("verify", "--from"),
        ("baseline",),
        ("repair", "1"),
        ("repair", "--reason", "hotfix"),
    ],
)
def test_completion_offers_the_versions_in_sql(folders: Path, words: tuple[str, ...]) -> None:
    assert bash_complete(*words, "", cwd=folders) == ["1", "2", "3", "4"]


@pytest.mark.parametrize(
    "words",
    [
        ("--dir", "other", "show"),
        ("show", "--dir", "other"),
        ("--dir", "=", "other", "up", "--to"),
        ("--dir=other", "up", "--to"),
    ],
)
def test_completion_reads_versions_from_the_dir_option(folders: Path, words: tuple[str, ...]) -> None:
    assert bash_complete(*words, "", cwd=folders) == ["7", "42", "100"]
    assert bash_complete(*words, "4", cwd=folders) == ["42"]


def test_completion_finds_the_folder_as_migrator_does(folders: Path) -> None:
    assert bash_complete("show", "", cwd=folders, MIGRATOR_DIR="other") == ["7", "42", "100"]
    (folders / "pyproject.toml").write_text('[project]\nname = "app"\n\n[tool.migrator]\ndir = "other"\n')
    assert bash_complete("show", "", cwd=folders) == ["7", "42", "100"]
    (folders / "migrator.toml").write_text('dir = "sql"\n')  # migrator.toml wins over pyproject
    assert bash_complete("show", "", cwd=folders) == ["1", "2", "3", "4"]
    assert bash_complete("show", "", cwd=folders / "other") == []  # no sql/ here: nothing, no error


def test_completion_of_option_values(folders: Path) -> None:
    assert bash_complete("completion", "", cwd=folders) == ["bash", "zsh"]
    assert bash_complete("new", "--dialect", "p", cwd=folders) == ["postgres"]
    assert bash_complete("--dir", "ot", cwd=folders) == ["other"]
    assert bash_complete("show", "1", "", cwd=folders)[0].startswith("-")  # one version only
    assert bash_complete("up", "--url", "", cwd=folders) == []


def test_zsh_script_is_the_bash_one_behind_bashcompinit(folders: Path) -> None:
    bash = run("completion", "bash", cwd=folders).out
    zsh = run("completion", "zsh", cwd=folders).out
    assert "bashcompinit" in zsh and zsh.rstrip().endswith("complete -F _migrator migrator")
    assert zsh.split("\n", 2)[2].replace("completion zsh", "completion bash") == bash
    if not shutil.which("zsh"):
        pytest.skip("zsh is not installed: only the script's shape was checked")
    syntax = subprocess.run(["zsh", "-n"], input=zsh, capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    # bashcompinit's compgen -F runs the function in sh emulation (0-based arrays); zsh filters
    # the words itself, so the function's whole list comes back
    driver = (
        'eval "$("$MIGRATOR_PYTHON" -m migrator completion zsh)" || exit 3\n'
        'COMP_WORDS=(migrator "$@"); COMP_CWORD=$#; words=("${COMP_WORDS[@]}"); '
        'CURRENT=$(( $# + 1 ))\ncompgen -F _migrator -- "${@[-1]}"\n'
    )

    def zsh_complete(*words: str) -> list[str]:
        proc = subprocess.run(
            ["zsh", "-f", "-c", driver, "zsh", *words],
            cwd=folders,
            capture_output=True,
            text=True,
            timeout=60,
            env=_env({"MIGRATOR_PYTHON": sys.executable}),
        )
        assert proc.returncode == 0 and not proc.stderr, proc.stderr
        return [w for w in proc.stdout.splitlines() if w]

    assert zsh_complete("--dir", "other", "show", "") == ["7", "42", "100"]
    assert "--dry-run" in zsh_complete("up", "")
    assert "status" in zsh_complete("")


def test_a_missing_env_file_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    r = run_cli("--env-file", str(tmp_path / "nope.env"), "status", cwd=tmp_path)
    assert r.code == 2
    assert r.err.startswith(f"error: --env-file {tmp_path / 'nope.env'}: no such file")
    assert "Traceback" not in r.err


def test_a_quick_run_on_a_terminal_draws_no_progress_and_never_imports_rich(tmp_path: Path) -> None:
    """A bar that would flash for a fraction of a second is not drawn (rich alone takes 30 ms
    to import): the run leaves the line the display would have left."""
    for attempt in range(3):  # a loaded machine may need longer than the delay: run again
        work = tmp_path / str(attempt)
        for v in range(1, 32):
            write_migration(
                work / "sql", f"{v:04d}_t{v}", f"CREATE TABLE t{v} (id INT);\n", f"DROP TABLE t{v};\n"
            )
        r = run_on_terminal("up", cwd=work, PYTHONPROFILEIMPORTTIME="1")
        assert r.code == 0, r.err
        took = re.search(r"applied 31 versions in (\d+) ms", _SGR.sub("", r.out))
        if took and int(took[1]) < 400:
            break
    assert not _CURSOR.search(r.out), r.out  # no progress display was drawn
    lines = _SGR.sub("", r.out).strip().splitlines()
    # what the display would have left: the summary of the slowest, then the one total
    assert lines[0].strip() == "Summary: the 10 slowest of 31 versions", r.out
    assert lines[1].split() == ["version", "name", "file", "statements", "time"] and len(lines) == 14
    assert re.fullmatch(r"applied 31 versions in (\d+ ms|[\d.]+ s); database is at version 31", lines[-1])
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in r.err.splitlines() if line.startswith("import time:")
    }
    assert "migrator.cli" in imported and not {m for m in imported if m.startswith("rich")}


def test_a_slow_file_on_a_terminal_gets_its_progress_display(tmp_path: Path) -> None:
    """The display starts while the file runs (a timer), not only once it is done."""
    slow = (
        "CREATE TABLE slow AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 12000000) SELECT count(*) AS c FROM n;\n"
    )  # a second or more
    write_migration(tmp_path / "sql", "0001_slow", slow, "DROP TABLE slow;\n")
    code, seen, err = _run_on_pty(("up",), tmp_path, {})
    ended = seen[-1][0]  # the last output: the summary, once the file was done
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(d for _, d in seen).decode(errors="replace"))
    assert code == 0, err
    assert "✓ applied 0001_slow" in text
    first = next(t for t, d in seen if b"Applying 1 version" in d)
    assert ended - first > 0.3, ended - first  # on screen well before the run ended


def test_init_creates_a_project_that_validates_and_never_overwrites(tmp_path: Path) -> None:
    first = run("init", cwd=tmp_path)
    assert first.code == 0, first.err
    assert first.out.splitlines() == [
        "created sql/0001_initial_schema",
        "created migrator.toml",
        "created .gitignore",
        "next: write the change in sql/0001_initial_schema/up.sql and its undo in down.sql, "
        "then run `migrator up`",
    ]
    assert (tmp_path / "sql" / "0001_initial_schema" / "up.sql").is_file()
    assert 'dir = "sql"' in (tmp_path / "migrator.toml").read_text()
    (tmp_path / "migrator.toml").write_text((tmp_path / "migrator.toml").read_text() + "# mine\n")
    again = run("init", cwd=tmp_path)
    assert again.code == 0
    assert again.out.strip() == "nothing to create: sql/ and migrator.toml already exist"
    assert (tmp_path / "migrator.toml").read_text().endswith("# mine\n")  # not overwritten
    assert run("hash", cwd=tmp_path).code == 0  # a layout migrator reads without a problem
    assert run("validate", "--offline", cwd=tmp_path).code == 0
    assert run("status", cwd=tmp_path).code == 0  # its toml has only known settings


# -- --help -------------------------------------------------------------------------------------
def _subparsers() -> dict[str, argparse.ArgumentParser]:
    from migrator.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"": parser, **sub.choices}


def test_every_option_and_argument_of_every_command_has_help() -> None:
    lacking = [
        f"migrator {name} {'/'.join(a.option_strings) or a.metavar or a.dest}".replace("  ", " ")
        for name, parser in _subparsers().items()
        for a in parser._actions
        if a.help != argparse.SUPPRESS and not (a.help or "").strip()
    ]
    assert not lacking, "no help text: " + ", ".join(lacking)


@pytest.mark.parametrize("command", sorted(n for n in _subparsers() if n))
def test_each_commands_help_says_every_option_and_argument(command: str, tmp_path: Path) -> None:
    """What a person reads: in `migrator COMMAND --help`, every listed option or argument has
    text beside it or on the next, deeper-indented line."""
    r = run(command, "--help", cwd=tmp_path)
    assert r.code == 0, r.err
    entries = r.out.split("\n\n", 2)[-1].splitlines()  # after the usage and description
    for i, line in enumerate(entries):
        m = re.match(r"^ {2}(\S+(?: \S+)*?)(?: {2,}(\S.*))?$", line)
        if not m or line.endswith(":"):
            continue
        following = entries[i + 1] if i + 1 < len(entries) else ""
        explained = m.group(2) or re.match(r"^ {4,}\S", following) and not following.lstrip().startswith("-")
        assert explained, f"`migrator {command} --help` lists {m.group(1)!r} without a word:\n{r.out}"


def test_a_command_lists_only_the_global_options_that_apply_to_it(tmp_path: Path) -> None:
    init = run("init", "--help", cwd=tmp_path)
    assert "--dir" in init.out and "--lock-timeout" not in init.out and "--url" not in init.out
    assert "--targets" not in run("show", "--help", cwd=tmp_path).out
    assert "--json" not in run("completion", "--help", cwd=tmp_path).out
    up = run("up", "--help", cwd=tmp_path).out
    assert all(
        o in up for o in ("--url", "--targets", "--lock-timeout", "--statement-timeout", "--batch-pause")
    )
    # SPEC §6: every global option is accepted before the command and after it, also where it
    # has nothing to do (a deploy script may append `--url` to every command it runs)
    assert run("--lock-timeout", "5", "init", cwd=tmp_path).code == 0
    assert run("status", "--lock-timeout", "5", "--no-env-file", cwd=tmp_path).code == 0
    assert run("hash", "--url", "sqlite:///x.db", "--lock-timeout", "5", cwd=tmp_path).code == 0
    unknown = run("status", "--nope", cwd=tmp_path)
    assert unknown.code == 2 and unknown.err.splitlines()[-2:] == [
        "error: unrecognized arguments: --nope",
        "hint: `migrator status --help` lists the options `status` takes",
    ]
    assert "Traceback" not in unknown.err


def test_no_command_is_a_usage_error_on_stderr_and_in_json(tmp_path: Path) -> None:
    """Exit 2 like every usage error: the help goes to stderr (stdout stays for results), and
    under --json stdout carries the one JSON document, also for this failure."""
    bare = run(cwd=tmp_path)
    assert (bare.code, bare.out) == (2, "")
    assert bare.err.startswith("usage: migrator") and "global options:" in bare.err
    as_json = run("--json", cwd=tmp_path)
    assert as_json.code == 2
    assert json.loads(as_json.out) == {
        "ok": False,
        "exit_code": 2,
        "error": {
            "kind": "usage",
            "message": "a command is required",
            "hint": "`migrator --help` lists commands and options",
        },
    }


def test_show_marks_its_version_as_required(tmp_path: Path) -> None:
    out = run("show", "--help", cwd=tmp_path).out
    assert out.startswith("usage: migrator show V [options]\n"), out
    assert "[V]" not in out


def test_global_options_after_the_command_work(project: Path) -> None:
    (project / ".env").write_text("MIGRATOR_URL=sqlite:///from_env.db\n")
    r = run("status", "--no-env-file", "--url", "sqlite:///app.db", cwd=project)
    assert r.code == 0, r.err
    assert "database: sqlite:///app.db" in r.out
    r = run("status", "--env-file", ".env", cwd=project)
    assert r.code == 0 and "database: sqlite:///from_env.db" in r.out, r.err


def test_a_url_in_the_real_environment_wins_over_any_url_in_dot_env(db: Db, tmp_path: Path, cli: Any) -> None:
    """.env never overrides the real environment: a deploy's DATABASE_URL is not outranked by
    a MIGRATOR_URL left in .env (the two name one setting); without a real one, .env's
    MIGRATOR_URL still comes before its DATABASE_URL."""
    write_migration(tmp_path / "sql", "0001_a", "CREATE TABLE a (id INT);\n", "DROP TABLE a;\n")
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///other.db\nMIGRATOR_URL=sqlite:///dotenv.db\n")
    deploy = cli("up", env={"DATABASE_URL": db.url})
    assert deploy.code == 0, deploy.err
    assert db.versions() == [(1, "applied")]
    assert not (tmp_path / "dotenv.db").exists() and not (tmp_path / "other.db").exists()
    local = cli("status", "--json")
    assert json.loads(local.out)["url"] == "sqlite:///dotenv.db"


# -- init and git --------------------------------------------------------------------------------
def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


def test_after_init_and_up_git_status_shows_no_lock_file(tmp_path: Path) -> None:
    _git("init", "-q", cwd=tmp_path)
    first = run("init", cwd=tmp_path)
    assert first.code == 0, first.err
    assert "created .gitignore" in first.out.splitlines()
    # (`up` refuses the placeholder init wrote: the first change, as a person writes it)
    (tmp_path / "sql" / "0001_initial_schema" / "up.sql").write_text("CREATE TABLE a (id INT);\n")
    assert run("up", cwd=tmp_path).code == 0
    assert (tmp_path / "migrator.db.migrator-lock").exists()  # left beside the database
    untracked = _git("status", "--porcelain", "--untracked-files=all", cwd=tmp_path)
    assert "migrator-lock" not in untracked, untracked


def test_init_adds_the_lock_pattern_to_an_existing_gitignore_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules")  # no final newline
    r = run("init", cwd=tmp_path)
    assert r.code == 0 and "added *.migrator-lock to .gitignore" in r.out.splitlines(), r.out
    assert (tmp_path / ".gitignore").read_text().splitlines()[0] == "node_modules"
    assert (tmp_path / ".gitignore").read_text().count("*.migrator-lock") == 1
    again = run("init", "--json", cwd=tmp_path)
    assert json.loads(again.out) == {"ok": True, "exit_code": 0, "created": [], "updated": []}
    assert (tmp_path / ".gitignore").read_text().count("*.migrator-lock") == 1


def test_the_projects_own_gitignore_covers_the_first_readme_command(tmp_path: Path) -> None:
    """README: `migrator up` in a checkout applies sql/ to ./migrator.db; git stays clean."""
    root = Path(__file__).resolve().parent.parent
    shutil.copy(root / ".gitignore", tmp_path / ".gitignore")
    shutil.copytree(EXAMPLE_SQL, tmp_path / "sql")
    _git("init", "-q", cwd=tmp_path)
    before = _git("status", "--porcelain", "--untracked-files=all", cwd=tmp_path)
    assert run("up", "--no-env-file", cwd=tmp_path).code == 0
    assert (tmp_path / "migrator.db.migrator-lock").exists()
    assert _git("status", "--porcelain", "--untracked-files=all", cwd=tmp_path) == before


# -- --json carries the exit status ------------------------------------------------------------
def test_every_commands_json_carries_its_exit_status(db: Db, cli: Any, sqldir: Path, tmp_path: Path) -> None:
    """docs/exit-codes.md: with --json, `exit_code` in the document equals the exit status,
    for every command, whether it succeeds, finds drift or finds versions pending."""
    write_migration(sqldir, "0001_t", "CREATE TABLE t (id INT);\n", "DROP TABLE t;\n")
    write_migration(sqldir, "0002_u", "CREATE TABLE u (id INT);\n", "DROP TABLE u;\n")
    url = ("--url", db.url)
    seen: dict[str, int] = {}

    def expect(code: int, *args: str, cwd: Path = tmp_path) -> dict[str, Any]:
        r = cli(*args, "--json", *url if args[0] not in ("new", "hash", "init", "import") else (), cwd=cwd)
        assert r.code == code, f"{args}: {r.code}\n{r.out}\n{r.err}"
        doc = json.loads(r.out)
        assert doc["exit_code"] == r.code, f"{args}: exit {r.code}, JSON says {doc.get('exit_code')}"
        assert list(doc)[:2] == ["ok", "exit_code"], list(doc)
        seen[" ".join(a for a in args if a in (args[0], "--exit-code", "--offline", "--schema-file"))] = code
        return doc

    expect(5, "status", "--exit-code")
    expect(0, "up", "--to", "1")
    expect(0, "pending")
    expect(0, "up")
    expect(0, "status", "--exit-code")
    expect(0, "status")
    expect(0, "history")
    expect(0, "show", "1")
    expect(0, "schema")
    expect(0, "validate")
    expect(0, "verify")
    expect(0, "drift")
    expect(0, "hash")
    expect(0, "validate", "--offline")
    assert cli("schema", "--write", *url).code == 0
    expect(0, "validate", "--schema-file")
    expect(0, "down", "--yes")
    expect(0, "redo", "--yes")
    assert cli("up", *url).code == 0  # back at version 2
    expect(0, "baseline", "2", "--force", "--dry-run")
    expect(0, "wait", "--timeout", "10")
    # drift: an applied file edited
    (sqldir / "0001_t" / "up.sql").write_text("CREATE TABLE t (id INT, extra INT);\n")
    expect(3, "validate")
    expect(3, "validate", "--offline")
    expect(3, "status", "--exit-code")
    expect(0, "repair", "1", "--yes")
    expect(3, "drift")  # the live table lacks the column the accepted file now adds
    expect(3, "validate", "--schema-file")
    expect(0, "new", "next")
    (sqldir / "0003_next" / "up.sql").write_text("CREATE TABLE n (id INT);\n")  # not the placeholder
    assert cli("up", "--backup", "--backup-dir", str(tmp_path / "bk"), *url).code == 0  # the new version
    (backup,) = (tmp_path / "bk").iterdir()
    expect(0, "restore", str(backup), "--yes")
    (tmp_path / "fresh").mkdir()
    expect(0, "init", cwd=tmp_path / "fresh")
    dbmate = tmp_path / "dbmate"
    dbmate.mkdir()
    (dbmate / "20240101000000_a.sql").write_text(
        "-- migrate:up\nCREATE TABLE a (id INT);\n-- migrate:down\nDROP TABLE a;\n"
    )
    expect(0, "import", "--from", "dbmate", str(dbmate), "--dir", str(tmp_path / "imported"))
    assert {"up", "down", "redo", "status", "status --exit-code", "pending", "history", "validate",
            "validate --offline", "validate --schema-file", "show", "schema", "verify", "drift", "hash",
            "baseline", "repair", "wait", "new", "init", "import", "restore"} <= set(seen)  # fmt: skip
