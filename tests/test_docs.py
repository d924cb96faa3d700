"""The docs stay honest. Every `migrator ...` command they show (in code blocks and inline
code, README.md and docs/*.md) is parsed by the real argument parser, so an option that does
not exist or is refused fails here; the getting-started walk-through is run for real with
SQLite in a temporary folder and its outputs compared with the ones the page quotes; the
claims about behaviour that were once false are checked against the code; and every relative
link points at a file that exists."""

from __future__ import annotations

import contextlib
import getpass
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migrator.cli import build_parser
from tests.conftest import EXAMPLE_SQL, Db, run_cli, write_migration

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
README = ROOT / "README.md"
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
FENCE = re.compile(r"^[ \t]*(```|~~~)([^\n]*)\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)
# `migrator` where a shell would run it: at the start of a line (after a `$ ` prompt, a YAML
# `- run: ` or `- ` item, or indentation), after `&&`, `||`, `;`, `|`, `$(`, or inside
# `backticks` in a message; `VAR=value` may come first. The shell words after it are read by
# shlex, up to the next shell operator, closing backtick or `# comment`.
INVOCATION = re.compile(
    r"(?:^|&&|\|\||[;|`(])[ \t]*(?:\$[ \t]+|-[ \t]+(?:run:[ \t]+)?)?(?:\w+=\S*[ \t]+)*"
    r"(?:[\w./-]*/)?migrator(?=[ \t]|$)",
    re.MULTILINE,
)
OPERATORS = "();<>|&`"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _code_blocks(text: str) -> list[str]:
    """Fenced blocks, and the `inline code` spans of the prose around them."""
    spans = re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
    return [m.group(3).replace("\\\n", " ") for m in FENCE.finditer(text)] + spans


def _words(rest: str) -> list[str] | None:
    """The shell words of one command line, up to a shell operator or comment; None when the
    line is not one command (an unclosed quote: prose that happens to start with migrator)."""
    lex = shlex.shlex(rest, posix=True, punctuation_chars=OPERATORS)
    lex.whitespace_split = True
    words = []
    try:
        for token in lex:
            if token and all(c in OPERATORS for c in token):
                break
            words.append(token)
    except ValueError:
        return None
    return words


def _invocations(path: Path) -> list[tuple[list[str], str]]:
    """(the words after `migrator`, the line they are on) for every call in the file."""
    found = []
    for block in _code_blocks(path.read_text(encoding="utf-8")):
        for m in INVOCATION.finditer(block):
            end = block.find("\n", m.end())
            line = block[m.end() : None if end < 0 else end]
            line = re.sub(r"(?<=[\w-])(\|[\w-]+)+", "", line)  # `dbmate|flyway`: the first choice
            words = _words(line)
            if words is None or not words or re.match(r"\d", words[0]):  # `migrator 0.1.0`: output
                continue
            found.append((words, block[block.rfind("\n", 0, m.start()) + 1 : end].strip()))
    return found


def _parse(words: list[str]) -> str:
    """What the real parser says of `migrator WORDS`: "" when it accepts them."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser(words).parse_args(words)
    except SystemExit as exc:
        if exc.code:
            return err.getvalue().splitlines()[-2] if err.getvalue() else f"exit {exc.code}"
    return ""


def _placeholders_filled(words: list[str]) -> list[str]:
    """`V`, `N`, `FILE`, `URL`, `D`, ... stand for a value: a value the parser accepts."""
    from migrator.cli import _positive, _version

    parser = build_parser(words)
    sub = next(a for a in parser._actions if a.dest == "command")
    actions = {o: a for p in (parser, *sub.choices.values()) for a in p._actions for o in a.option_strings}
    filled = []
    for i, word in enumerate(words):
        if re.fullmatch(r"[A-Z][A-Z_]*", word):
            action = actions.get(words[i - 1]) if i else None
            if action is not None and action.choices:
                word = str(next(iter(action.choices)))
            elif action is not None and action.type is _positive:
                word = "2"
            elif action is None or action.type is _version:
                word = "7"
            else:
                word = "placeholder"
        filled.append(word)
    return filled


def _is_synopsis(words: list[str]) -> bool:
    """`migrator [GLOBAL OPTIONS] COMMAND [OPTIONS]`: a syntax line, not a command."""
    return any(w.startswith("[") or w == "COMMAND" for w in words)


def _naming_a_command(words: list[str], problem: str) -> bool:
    """`migrator baseline` in a sentence names the command; it is not a call to run."""
    return len(words) == 1 and "arguments are required" in problem


@pytest.mark.parametrize("path", [*DOCS, README], ids=lambda p: p.name)
def test_every_migrator_command_in_the_docs_parses(path: Path) -> None:
    refused = []
    for words, line in _invocations(path):
        if _is_synopsis(words):
            continue
        problem = _parse(_placeholders_filled(words))
        if problem and not _naming_a_command(words, problem):
            refused.append(f"{line}\n    -> {problem}")
    assert not refused, f"{path.name} shows commands migrator refuses:\n" + "\n".join(refused)


def test_the_docs_do_show_commands() -> None:
    # guards the scanner itself: if it found nothing, the test above would prove nothing
    shown = {words[0] for path in [*DOCS, README] for words, _ in _invocations(path)}
    assert {"init", "new", "up", "down", "status", "validate", "verify", "repair", "--url"} <= shown
    lines = [line for path in [*DOCS, README] for _, line in _invocations(path)]
    assert any(line.startswith("- run: migrator") for line in lines)  # CI steps in YAML


def test_the_scanner_and_parser_check_catch_what_they_should() -> None:
    block = (
        "$ migrator --dir db verify\nDATABASE_URL=x migrator up && migrator frobnicate\n"
        "hint: run `migrator validate` for details\n# migrator settings; flags win\n"
        'migrator repair 2 --reason "a; b" --yes   # a comment\n'
        "  - run: migrator init --lock-timeout 5\n"
        'eval "$(migrator completion bash)"\n'
    )
    found = [_words(block[m.end() :].split("\n", 1)[0]) for m in INVOCATION.finditer(block)]
    assert found == [
        ["--dir", "db", "verify"],
        ["up"],
        ["frobnicate"],
        ["validate"],
        ["repair", "2", "--reason", "a; b", "--yes"],
        ["init", "--lock-timeout", "5"],
        ["completion", "bash"],
    ]
    assert _parse(["--dir", "db", "verify"]) == ""
    assert "invalid choice: 'frobnicate'" in _parse(["frobnicate"])
    assert _parse(["init", "--lock-timeout", "5"]) == ""  # SPEC §6: globals may follow the command
    assert "unrecognized arguments: --nope" in _parse(["status", "--nope"])
    assert _parse(_placeholders_filled(["repair", "--mark-applied", "V", "--url", "URL"])) == ""
    assert _placeholders_filled(["new", "NAME", "--dialect", "D"]) == ["new", "7", "--dialect", "sqlite"]
    assert LINK.findall("see [a](layout.md#settings) and [b](https://x.org)") == [
        "layout.md#settings",
        "https://x.org",
    ]


@pytest.mark.parametrize("path", [*DOCS, README], ids=lambda p: p.name)
def test_every_relative_link_points_at_a_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    prose = FENCE.sub("", text)  # a [x](y) inside a code block is not a link
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # https:, mailto:, and anchors within the page
        file_part = target.split("#", 1)[0]
        if not (path.parent / file_part).exists():
            broken.append(target)
    assert not broken, f"{path.name} links to files that do not exist: {broken}"


# -- the getting-started walk-through, run for real ------------------------------------------
def _fences(text: str) -> list[tuple[str, str, int]]:
    """(info string, body, offset) of each fenced block, in order."""
    return [(m.group(2).strip(), m.group(3), m.start()) for m in FENCE.finditer(text)]


def _shown_after(text: str, marker: str) -> str:
    """The output block the page shows after `marker`: the first plain (no language) fenced
    block after the first sh block or sentence that contains it."""
    blocks = _fences(text)
    start = next(
        (offset for info, body, offset in blocks if info == "sh" and marker in body.splitlines()),
        None,
    )
    if start is None:
        start = text.index(marker)
    return next(body for info, body, offset in blocks if offset > start and info == "")


def _file_shown(text: str, rel: str) -> str:
    """The sql block the page gives for `rel` (after a "`rel`:" or "`rel` (...):" line)."""
    at = re.search(rf"^`{re.escape(rel)}`[^\n]*:\n", text, re.MULTILINE)
    assert at, f"getting-started.md shows no {rel}"
    return next(body for info, body, offset in _fences(text) if offset > at.start() and info == "sql")


def _normal(text: str) -> str:
    """Output as the page may quote it: times, timestamps and the user name vary; table
    columns widen with them."""
    text = re.sub(r"<1 ms\b|\b\d+ ms\b|\b\d+\.\d s\b", "N ms", text)  # (a slow machine: 1.2 s)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "TIME", text)
    text = re.sub(rf"(?<=\s){re.escape(getpass.getuser())}(?=\s)", "USER", text)
    text = re.sub(r"(?<=\s)root(?=\s)", "USER", text)
    return "\n".join(re.sub(r"[ \t]{2,}", "  ", line.rstrip()) for line in text.strip().splitlines())


def test_the_getting_started_walk_through_runs_as_shown(tmp_path: Path) -> None:
    page = GETTING_STARTED.read_text(encoding="utf-8")
    shop = tmp_path / "shop"
    shop.mkdir()

    def run(*args: str, code: int = 0, shown: str | None = None) -> str:
        r = run_cli(*args, cwd=shop)
        assert r.code == code, f"migrator {' '.join(args)}: exit {r.code}\n{r.out}\n{r.err}"
        if shown is not None:
            assert _normal(r.out + r.err) == _normal(shown), (
                f"migrator {' '.join(args)} prints:\n{r.out}{r.err}"
            )
        return r.out

    def write(rel: str, text: str | None = None) -> None:
        (shop / rel).write_text(_file_shown(page, rel) if text is None else text, encoding="utf-8")

    run("init", shown=_shown_after(page, "migrator init"))
    write("sql/0001_initial_schema/up.sql")
    write("sql/0001_initial_schema/down.sql")
    run("new", "add_orders", shown=_shown_after(page, "migrator new add_orders"))
    write("sql/0002_add_orders/up.sql")
    write("sql/0002_add_orders/down.sql")
    run("up", "--dry-run", shown=_shown_after(page, "migrator up --dry-run"))
    run("up", shown=_shown_after(page, "Piped or in CI, the same run"))
    assert "nothing to do; database is at version 2" in page
    assert run("up").strip() == "nothing to do; database is at version 2"
    run("status", shown=_shown_after(page, "migrator status"))
    run("history", shown=_shown_after(page, "migrator history"))
    run("down", code=2, shown=_shown_after(page, "`down` needs `--yes`"))
    run("down", "--yes")
    run("up")
    run("validate", shown=_shown_after(page, "migrator validate"))
    # "a second column added to the index"
    up = shop / "sql/0002_add_orders/up.sql"
    applied = up.read_text()
    up.write_text(applied.replace("(customer_id);", "(customer_id, created_at);"))
    run("validate", code=3, shown=_shown_after(page, "Edit an applied file"))
    up.write_text(applied)  # restored
    shown = _shown_after(page, "migrator validate --offline")
    assert _normal(run("hash") + run("validate", "--offline")) == _normal(shown)
    run("verify", shown=_shown_after(page, "migrator verify"))


def test_the_getting_started_files_run_on_a_server_as_step_8_shows(server_db: Db, tmp_path: Path) -> None:
    page = GETTING_STARTED.read_text(encoding="utf-8")
    assert run_cli("init", cwd=tmp_path).code == 0
    assert run_cli("new", "add_orders", cwd=tmp_path).code == 0
    for rel in (
        "sql/0001_initial_schema/up.sql",
        "sql/0001_initial_schema/down.sql",
        "sql/0002_add_orders/up.sql",
        "sql/0002_add_orders/down.sql",
    ):
        (tmp_path / rel).write_text(_file_shown(page, rel), encoding="utf-8")
    marker = {
        "postgres": "export DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop",
        "mysql": "On MariaDB (`mysql://root@127.0.0.1:3306/shop`)",
    }[server_db.dialect]
    r = run_cli("up", cwd=tmp_path, env={"DATABASE_URL": server_db.url})
    assert r.code == 0, r.err
    assert _normal(r.err + r.out) == _normal(_shown_after(page, marker))


def test_the_readme_first_command_applies_the_bundled_example(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE_SQL, tmp_path / "sql")
    versions = sorted(int(p.name.split("_", 1)[0]) for p in EXAMPLE_SQL.iterdir() if p.name[0].isdigit())
    r = run_cli("up", cwd=tmp_path)
    assert r.code == 0, r.err
    assert r.out.strip().endswith(f"database is at version {versions[-1]}")
    assert (tmp_path / "migrator.db").is_file()
    assert run_cli("validate", "--offline", cwd=tmp_path).code == 0  # the bundled migrator.sum is true


# -- claims that were once false ---------------------------------------------------------------
def test_layout_md_an_unknown_setting_is_an_error(tmp_path: Path) -> None:
    assert "Unknown keys are ignored" not in (ROOT / "docs" / "layout.md").read_text()
    assert "An unknown key is an error (exit 2)" in (ROOT / "docs" / "layout.md").read_text()
    (tmp_path / "migrator.toml").write_text('dir = "sql"\ncolour = 1\n')
    (tmp_path / "sql").mkdir()
    r = run_cli("status", cwd=tmp_path)
    assert r.code == 2
    assert r.err.startswith("error: migrator.toml: unknown setting colour\n")
    assert "hint: known settings: url, dir, table" in r.err


def test_readme_ci_examples_use_only_what_pip_install_gives(tmp_path: Path) -> None:
    """The wheel ships the `migrator` command, not scripts/; and no placeholder URL."""
    readme = README.read_text(encoding="utf-8")
    ci = readme[readme.index("### In CI") : readme.index("## Library")]
    yaml_blocks = [body for info, body, _ in _fences(ci) if info == "yaml"]
    assert yaml_blocks, "the README lost its CI examples"
    for body in yaml_blocks:
        assert "scripts/" not in body and "OWNER" not in body, body
        assert "migrator validate --offline" in body, body
    shipped = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.metadata as m; print(m.entry_points(group='console_scripts'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "migrator.cli:main" in shipped


def test_readme_global_options_may_follow_the_command(tmp_path: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    assert "global options may also follow the command" in readme
    for words in (
        ["status", "--no-env-file"],
        ["status", "--env-file", ".env"],
        ["up", "--json", "--url", "x"],
    ):
        assert _parse(words) == "", words


def test_readme_names_the_fields_a_library_failure_carries(tmp_path: Path) -> None:
    from migrator import Migrator
    from migrator.errors import MigrationFailedError

    readme = README.read_text(encoding="utf-8")
    sentence = readme[readme.index("`MigrationFailedError.failure` carries") :].split(". In the", 1)[0]
    fields = re.findall(r"`([a-z_]+)`", sentence)
    assert {"path", "statement_index", "line", "column", "db_message"} <= set(fields), sentence
    write_migration(tmp_path / "sql", "0001_bad", "CREATE TABLE t (id INT);\nNOT SQL;\n")
    with pytest.raises(MigrationFailedError) as caught:
        Migrator(f"sqlite:///{tmp_path / 'a.db'}", str(tmp_path / "sql")).up()
    failure = caught.value.failure
    missing = [f for f in fields if not hasattr(failure, f)]
    assert not missing, f"README names fields a failure does not have: {missing}"
    assert (failure.path, failure.statement_index, failure.line) == ("0001_bad/up.sql", 2, 2)


_NOT_ATOMIC = ": not atomic:"


def test_dialects_md_which_files_the_dry_run_warns_about(mysql_db: Db, tmp_path: Path) -> None:
    """dialects.md: on MySQL a dry run warns about each file of several statements with DDL
    among them (DDL only, or DDL and data); a file of data statements only is atomic."""
    page = (ROOT / "docs" / "dialects.md").read_text(encoding="utf-8")
    assert "every file of more than one statement with DDL among them" in page
    sql = tmp_path / "sql"
    write_migration(sql, "0001_ddl_only", "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\n")
    write_migration(sql, "0002_mixed", "CREATE TABLE c (id INT);\nINSERT INTO c VALUES (1);\n")
    write_migration(sql, "0003_data_only", "INSERT INTO a VALUES (1);\nINSERT INTO b VALUES (2);\n")
    write_migration(sql, "0004_one_ddl", "CREATE TABLE d (id INT);\n")
    r = run_cli("up", "--dry-run", "--url", mysql_db.url, cwd=tmp_path)
    assert r.code == 0, r.err
    warned = {
        line.split("/", 1)[0].split()[-1] for line in (r.out + r.err).splitlines() if _NOT_ATOMIC in line
    }
    assert warned == {"0001_ddl_only", "0002_mixed"}, r.out + r.err
    assert "0003_data_only/up.sql (transaction, atomic, 2 statements)" in r.out


def test_exit_codes_md_json_example_matches_a_real_failure(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    (tmp_path / "sql").mkdir()
    assert "equals the exit status, for every command" in " ".join(page.split())
    shown = json.loads(next(body for info, body, _ in _fences(page) if info == "json"))
    r = run_cli("--json", "--url", "postgres://app@127.0.0.1:5999/app", "status", cwd=tmp_path)
    doc: dict[str, Any] = json.loads(r.out)
    assert r.code == shown["exit_code"] == doc["exit_code"] == 4
    assert list(doc) == list(shown) and list(doc["error"]) == list(shown["error"])
    assert doc["error"]["kind"] == shown["error"]["kind"] and doc["error"]["hint"] == shown["error"]["hint"]
