"""Static lint rules (SPEC §11): what a statement's text says it will do to production.

Each statement is read once into a `Flat` (comments and string literals gone, names
unquoted, upper case, one space between words); every rule is a cheap look at that text.
Rules never guess what they cannot know from the text: a table created earlier in the same
file, or by an earlier pending version deployed in the same run, is new (no traffic, no
rows); everything else is assumed to be busy and large.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from migrator.lint.model import ERROR, WARNING

ALL = ("sqlite", "postgres", "mysql")
PG = ("postgres",)
MY = ("mysql",)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    dialects: tuple[str, ...]
    why: str  # the finding's message: what is dangerous and why
    hint: str  # the safer way


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "drop-table",
            ERROR,
            ALL,
            "DROP TABLE deletes the table and every row in it; code still reading it fails",
            "stop using the table in the code first, deploy, keep a backup (`-- migrator: backup`), "
            "then drop it in a later version; or rename it away and drop it once nobody missed it",
        ),
        Rule(
            "drop-column",
            ERROR,
            ALL,
            "DROP COLUMN deletes the column's data; code still selecting or writing it fails",
            "stop reading and writing the column in the code first, deploy, then drop it in a later "
            "version with a backup (`-- migrator: backup`)",
        ),
        Rule(
            "drop-schema",
            ERROR,
            ("postgres", "mysql"),
            "DROP SCHEMA / DROP DATABASE deletes every table in it with all their rows",
            "drop the objects one by one in versions of their own, after a backup",
        ),
        Rule(
            "truncate",
            ERROR,
            ("postgres", "mysql"),
            "TRUNCATE deletes every row (under an ACCESS EXCLUSIVE lock on postgres); "
            "it cannot be undone by down.sql",
            "delete the rows you mean with a WHERE clause in a `batch` file, after a backup",
        ),
        Rule(
            "delete-without-where",
            ERROR,
            ALL,
            "DELETE without WHERE deletes every row of the table in one transaction",
            "say which rows with WHERE; for many rows, delete in a `batch` file "
            "(`-- migrator: batch`) so each batch commits on its own",
        ),
        Rule(
            "update-without-where",
            ERROR,
            ALL,
            "UPDATE without WHERE rewrites every row in one transaction, locking them all until commit",
            "say which rows with WHERE; for a backfill, update in a `batch` file "
            "(`-- migrator: batch`) that selects only rows not done yet",
        ),
        Rule(
            "add-unique",
            WARNING,
            ALL,
            "adding a UNIQUE constraint fails on the first duplicate already in the table, and "
            "builds its index while blocking writes",
            "postgres: CREATE UNIQUE INDEX CONCURRENTLY in a `no-transaction` file, then "
            "ADD CONSTRAINT ... UNIQUE USING INDEX; elsewhere look for duplicates first",
        ),
        Rule(
            "set-not-null",
            WARNING,
            ("postgres", "mysql"),
            "SET NOT NULL fails if any row holds NULL, and scans the whole table under an "
            "ACCESS EXCLUSIVE lock (mysql: MODIFY ... NOT NULL copies the table)",
            "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it in a later file, then "
            "SET NOT NULL (postgres 12+ skips the scan when such a CHECK is validated)",
        ),
        Rule(
            "add-column-not-null",
            WARNING,
            ("postgres", "sqlite"),
            "adding a NOT NULL column without a DEFAULT fails as soon as the table has a row",
            "add the column nullable (or with a DEFAULT), backfill it in a `batch` file, then add a "
            "validated CHECK (col IS NOT NULL) and SET NOT NULL",
        ),
        Rule(
            "narrowing-type",
            WARNING,
            ("postgres", "mysql"),
            "changing a column to a bounded type (varchar(n), smallint, numeric(p,s), ...) fails or "
            "truncates when a value does not fit",
            "check the longest/largest value first; prefer a new column, backfilled in a `batch` "
            "file, or a CHECK constraint added NOT VALID",
        ),
        Rule(
            "rename-column",
            WARNING,
            ALL,
            "renaming a column breaks every running copy of the code that still uses the old name",
            "add the new column, write both, backfill in a `batch` file, switch the code, then drop "
            "the old column in a later version (or use a view during the change)",
        ),
        Rule(
            "rename-table",
            WARNING,
            ALL,
            "renaming a table breaks every running copy of the code that still uses the old name",
            "create the new table (or an updatable view under the new name), move the code, then "
            "remove the old name in a later version",
        ),
        Rule(
            "create-index-not-concurrently",
            WARNING,
            PG,
            "CREATE INDEX takes a SHARE lock: writes to the table wait until the index is built",
            "CREATE INDEX CONCURRENTLY in a file with `-- migrator: no-transaction`",
        ),
        Rule(
            "drop-index-not-concurrently",
            WARNING,
            PG,
            "DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes wait",
            "DROP INDEX CONCURRENTLY in a file with `-- migrator: no-transaction`",
        ),
        Rule(
            "constraint-not-valid",
            WARNING,
            PG,
            "adding a CHECK or FOREIGN KEY constraint checks every row while holding a lock that "
            "blocks writes (ACCESS EXCLUSIVE for CHECK, SHARE ROW EXCLUSIVE for FOREIGN KEY)",
            "add it NOT VALID (instant), then VALIDATE CONSTRAINT in a later file: validation "
            "takes only a SHARE UPDATE EXCLUSIVE lock",
        ),
        Rule(
            "column-type-rewrite",
            WARNING,
            PG,
            "ALTER COLUMN ... TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE "
            "lock: reads and writes wait until commit",
            "add a new column of the new type, backfill it in a `batch` file, switch the code, "
            "drop the old one later (varchar(n) -> text or a longer varchar does not rewrite)",
        ),
        Rule(
            "volatile-default",
            WARNING,
            PG,
            "a column added with a volatile DEFAULT (random(), clock_timestamp(), "
            "gen_random_uuid(), nextval / serial) rewrites the whole table under ACCESS EXCLUSIVE",
            "add the column without a default (or with a constant one), backfill it in a `batch` "
            "file, then SET DEFAULT for new rows",
        ),
        Rule(
            "missing-lock-timeout",
            WARNING,
            ("postgres", "mysql"),
            "a statement that needs an exclusive table lock waits behind long transactions, and "
            "every query on that table queues behind it: the site stalls",
            "add `-- migrator: lock-wait-timeout 5s` at the top of the file (or SET lock_timeout / "
            "lock_wait_timeout first) and retry when it times out",
        ),
        Rule(
            "mysql-not-online",
            WARNING,
            MY,
            "this ALTER cannot run instantly: the server rebuilds or copies the table (a MODIFY/CHANGE of "
            "the type, CONVERT TO, a primary key, FULLTEXT; a column added FIRST/AFTER before "
            "MariaDB 10.4 / MySQL 8.0.29), and writes wait while it does",
            "say ALGORITHM=INSTANT or ALGORITHM=INPLACE, LOCK=NONE in the ALTER so the server "
            "refuses instead of copying; or use an online schema change tool (gh-ost, "
            "pt-online-schema-change)",
        ),
        Rule(
            "mysql-mixed-ddl-data",
            WARNING,
            MY,
            "DDL commits implicitly on mysql: a file mixing DDL and data statements cannot run "
            "atomically, and a failure leaves it half done",
            "put the data statements in a version of their own (they then run in one transaction)",
        ),
        Rule(
            "down-cannot-restore",
            WARNING,
            ALL,
            "up.sql destroys data that its down.sql cannot bring back: a rollback recreates the "
            "structure, empty",
            "take a backup first (`-- migrator: backup`), copy the data aside in up.sql and back in "
            "down.sql, or mark down.sql `-- migrator: irreversible`",
        ),
    )
}


@dataclass
class Context:
    """What earlier statements of this run (this dialect) made: new tables, new indexes."""

    dialect: str
    new_tables: set[str] = field(default_factory=set)  # created earlier in this run
    file_tables: set[str] = field(default_factory=set)  # created earlier in this file
    new_indexes: set[str] = field(default_factory=set)  # on tables created in this run
    not_null_checks: set[tuple[str, str]] = field(default_factory=set)
    # (table, column) added earlier in this file with no default and not NOT NULL, and not
    # written since: every row holds NULL there, and NULLs never collide in a unique index
    null_columns: set[tuple[str, str]] = field(default_factory=set)
    # tables whose rows this file copied whole (INSERT INTO new SELECT ... FROM old, no WHERE)
    # into a table it created: the table rebuild (sqlite's ALTER TABLE recipe, Django, alembic
    # batch) drops the old table and renames the copy, and loses no row
    copied: set[str] = field(default_factory=set)

    def is_new(self, table: str) -> bool:
        """No traffic and no rows to lock or rewrite: lock and rewrite rules stay quiet."""
        return table in self.new_tables

    def is_new_here(self, table: str) -> bool:
        """Created in this very file: dropping or renaming it loses nothing. A table an earlier
        version created may be in production already, holding data: destructive rules speak."""
        return table in self.file_tables

    def start_file(self, *, same_run: bool) -> None:
        """A new file. `same_run`: it deploys together with the files before it (the pending
        versions of one database), so what they created is still new; otherwise (every
        version, checked without a database) each version may ship on its own, long after the
        ones before it, when their tables hold data and serve traffic."""
        self.file_tables, self.copied = set(), set()
        if not same_run:
            self.new_tables, self.new_indexes = set(), set()
        self.null_columns = set()

    def all_null(self, table: str, columns: list[str] | None) -> bool:
        """A unique index on these columns cannot meet a duplicate already in the table."""
        return bool(columns) and all((table, c) in self.null_columns for c in columns or [])

    def written(self, table: str) -> None:
        self.null_columns = {tc for tc in self.null_columns if tc[0] != table}


Hit = tuple[str, list[str]]  # (rule id, tables it touches)

# -- reading a statement once -------------------------------------------------------------------
_QUOTED_NAMES = r""""((?:[^"]|"")*)"|`((?:[^`]|``)*)`"""
# per dialect family: mysql has `#` comments and backslash escapes in strings; postgres and
# sqlite have neither (`#>` is a postgres jsonb operator), and postgres has $tag$ bodies
# what a statement's text hides from the rules, by the dialect's lexing: with `#` comments (the
# mysql client family, which also has backslash escapes and /*! */ code) or with dollar quotes
_NOISE = {
    True: re.compile(rf"""--[^\n]*|\#[^\n]*|/\*M?!\d*|\*/|'(?:[^'\\]|''|\\.)*'|{_QUOTED_NAMES}"""),
    False: re.compile(rf"""--[^\n]*|\*/|'(?:[^']|'')*'|{_QUOTED_NAMES}|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\3\$"""),
}
_BLOCK_COMMENT = re.compile(r"/\*(?!M?!)[\s\S]*?\*/")  # a mysql /*! ... */ comment holds code
_SPACE = re.compile(r"\s+")


def _denoise(m: re.Match[str]) -> str:
    text = m[0]
    if text[0] == "'":
        return "''"
    if text[0] == "$":
        return " $BODY$ "
    if text[0] in '"`':
        return m[1] if m[1] is not None else m[2]
    return " "  # a comment, or the brackets of a mysql executable comment


def hash_commented(dialect: str) -> bool:
    """Does the dialect read `#` as a comment (and backslash escapes, /*! */ code)? From its
    lexing rules in the registry, never from its name."""
    from migrator.dialects.registry import spec

    return spec(dialect).lex.hash_comments


def flatten(text: str, dialect: str = "postgres") -> str:
    """Upper-case words, single spaces; comments, strings and dollar bodies gone; names
    unquoted. The one reading of a statement every rule shares."""
    text = _BLOCK_COMMENT.sub(" ", text)
    text = _NOISE[hash_commented(dialect)].sub(_denoise, text)
    return _SPACE.sub(" ", text).strip().upper()


_NAME = r"((?:[\w$]+\.)?[\w$]+)"
_IF_EXISTS = r"(?:IF (?:NOT )?EXISTS )?"
_ALTER_TABLE = re.compile(rf"^ALTER TABLE {_IF_EXISTS}(?:ONLY )?{_NAME}")
_CREATE_TABLE = re.compile(
    rf"^CREATE (?:(?:GLOBAL |LOCAL )?(?:TEMP|TEMPORARY|UNLOGGED) )?TABLE {_IF_EXISTS}{_NAME}"
)
_CREATE_INDEX = re.compile(
    rf"^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?{_IF_EXISTS}(?:{_NAME} )?ON (?:ONLY )?{_NAME}"
)
_DROP_INDEX = re.compile(rf"^DROP INDEX (CONCURRENTLY )?{_IF_EXISTS}{_NAME}(?: ON {_NAME})?")
_DROP_TABLE = re.compile(rf"^DROP TABLE {_IF_EXISTS}(.*?)(?: CASCADE| RESTRICT)?$")
_TRUNCATE = re.compile(rf"^TRUNCATE (?:TABLE )?(?:ONLY )?{_NAME}")
_DELETE = re.compile(rf"^DELETE (?:LOW_PRIORITY |QUICK |IGNORE )*FROM (?:ONLY )?{_NAME}")
_UPDATE = re.compile(rf"^UPDATE (?:LOW_PRIORITY |IGNORE |ONLY )*{_NAME}")
_RENAME_TABLE = re.compile(rf"^RENAME TABLE {_NAME}")
_WITH = re.compile(r"^WITH ")
_COPY_ROWS = re.compile(
    rf"^(?:INSERT|REPLACE) (?:OR \w+ )?(?:IGNORE )?INTO {_NAME} ?(?:\([^()]*\) ?)?SELECT .*? FROM {_NAME}"
)
_TOP_WHERE = re.compile(r"\bWHERE\b")
_SET_LOCK_TIMEOUT = re.compile(
    r"^SET (?:SESSION |LOCAL )?(?:LOCK_TIMEOUT|LOCK_WAIT_TIMEOUT|INNODB_LOCK_WAIT_TIMEOUT)\b"
)

_ONLINE = re.compile(r"\bALGORITHM ?= ?(?:INSTANT|INPLACE|NOCOPY)\b|\bLOCK ?= ?NONE\b")
_VOLATILE = re.compile(
    r"\bDEFAULT \(?(?:RANDOM|CLOCK_TIMESTAMP|TIMEOFDAY|GEN_RANDOM_UUID|UUID_GENERATE_V[14]\w*|NEXTVAL)\b"
    r"|\b(?:SMALL|BIG)?SERIAL\d?\b"
)
_BOUNDED = re.compile(
    r"^(?:VAR)?CHAR(?:ACTER)?(?: VARYING)? ?\(|^(?:N?VARCHAR|CHAR) ?\(|^SMALLINT\b|^TINYINT\b|^MEDIUMINT\b"
    r"|^INT(?:EGER|2|4)?\b|^NUMERIC ?\(|^DECIMAL ?\(|^REAL\b|^FLOAT\b|^BIT\b|^TINYTEXT\b"
)
_NO_REWRITE_TYPE = re.compile(r"^(?:TEXT|VARCHAR|CHARACTER VARYING)(?: |$|,|;)")


def _unqualified(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower()


_PUNCT = re.compile(r"[(),]")


def _actions(body: str) -> list[str]:
    """The comma-separated actions of an ALTER TABLE, split outside parentheses."""
    if "(" not in body:
        return [a for a in (part.strip() for part in body.split(",")) if a]
    out, depth, start = [], 0, 0
    for m in _PUNCT.finditer(body):
        ch = m[0]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(body[start : m.start()].strip())
            start = m.end()
    out.append(body[start:].strip())
    return [a for a in out if a]


def _type_after(action: str, keyword: str) -> str:
    i = action.find(keyword)
    return action[i + len(keyword) :].strip() if i >= 0 else ""


# -- the rules, per kind of statement ----------------------------------------------------------


def _alter_table(flat: str, ctx: Context) -> Iterator[Hit]:
    m = _ALTER_TABLE.match(flat)
    if m is None:
        return
    table = _unqualified(m[1])
    body = flat[m.end() :]
    for hit in _alter_hits(table, body, ctx):
        if hit[0] in _LOSSY:
            if not ctx.is_new_here(table):
                yield hit
        elif not ctx.is_new(table):
            yield hit


# rules that speak about a table unless this same file created it (the others: this run)
_LOSSY = frozenset(
    {
        "drop-table",
        "drop-column",
        "truncate",
        "delete-without-where",
        "update-without-where",
        "rename-column",
        "rename-table",
    }
)


def _alter_hits(table: str, body: str, ctx: Context) -> Iterator[Hit]:
    d = ctx.dialect
    touches = [table]
    online = d == "mysql" and _ONLINE.search(body) is not None
    for action in _actions(body):
        if not action.startswith("ADD "):  # ALTER ... TYPE ... USING, SET DEFAULT, ...: may fill it
            ctx.written(table)
        if action.startswith("DROP ") and not re.match(
            r"DROP (?:CONSTRAINT|INDEX|KEY|FOREIGN KEY|PRIMARY KEY|DEFAULT|CHECK|PARTITION|TRIGGER)\b", action
        ):
            if (
                not action.startswith("DROP COLUMN")
                and re.match(r"DROP (?:IF EXISTS )?[\w$]+", action) is None
            ):
                continue
            yield "drop-column", touches
        elif action.startswith("RENAME COLUMN") or (
            action.startswith("RENAME ")
            and " TO " in action
            and not action.startswith(("RENAME TO", "RENAME AS"))
            and not action.startswith(("RENAME INDEX", "RENAME KEY", "RENAME CONSTRAINT"))
        ):
            yield "rename-column", touches
        elif action.startswith(("RENAME TO ", "RENAME AS ")) or (
            d == "mysql" and re.match(r"RENAME [\w$.]+$", action)
        ):
            yield "rename-table", touches
        elif action.startswith("ADD "):
            yield from _add(action, d, touches, online, ctx.all_null(table, _key_columns(action)))
            _learn_check(action, table, ctx)
            _learn_null_column(action, table, ctx)
        elif action.startswith("ALTER ") and " SET NOT NULL" in action:
            col = re.match(r"ALTER (?:COLUMN )?([\w$]+)", action)
            if not (col and (table, col[1].lower()) in ctx.not_null_checks):
                yield "set-not-null", touches
        elif action.startswith("ALTER ") and re.search(r" (?:SET DATA )?TYPE ", action):
            new_type = _type_after(action, " TYPE ")
            if _BOUNDED.match(new_type):
                yield "narrowing-type", touches
            if not _NO_REWRITE_TYPE.match(new_type + " "):
                yield "column-type-rewrite", touches
        elif action.startswith(("MODIFY ", "CHANGE ")) and d == "mysql":
            parts = action.split()
            skip = 1 + (parts[1] == "COLUMN") + (action.startswith("CHANGE "))
            new_type = " ".join(parts[1 + skip :])
            if action.startswith("CHANGE ") and parts[skip - 1] != parts[skip]:
                yield "rename-column", touches
            if _BOUNDED.match(new_type):
                yield "narrowing-type", touches
            if " NOT NULL" in action:
                yield "set-not-null", touches
            if not online:
                yield "mysql-not-online", touches
        elif d == "mysql" and not online and re.match(r"(?:CONVERT TO |FORCE\b|ENGINE ?=|ORDER BY )", action):
            yield "mysql-not-online", touches
        elif d == "mysql" and re.search(r"\bALGORITHM ?= ?COPY\b", action):
            yield "mysql-not-online", touches


def _add(action: str, d: str, touches: list[str], online: bool, all_null: bool) -> Iterator[Hit]:
    rest = re.sub(r"^ADD (?:CONSTRAINT [\w$]+ )?", "", action)
    if action.startswith("ADD CONSTRAINT") or rest.startswith(
        ("UNIQUE", "CHECK", "FOREIGN KEY", "PRIMARY KEY")
    ):
        if rest.startswith("UNIQUE") and " USING INDEX" not in rest and not all_null:
            yield "add-unique", touches
        if d == "postgres" and rest.startswith(("CHECK", "FOREIGN KEY")) and " NOT VALID" not in rest:
            yield "constraint-not-valid", touches
        if d == "mysql" and not online and rest.startswith("PRIMARY KEY"):
            yield "mysql-not-online", touches
        return
    if rest.startswith(("INDEX", "KEY", "FULLTEXT", "SPATIAL")):
        if d == "mysql" and not online and rest.startswith(("FULLTEXT", "SPATIAL")):
            yield "mysql-not-online", touches
        return
    # ADD [COLUMN] name type ...
    column = re.sub(r"^COLUMN (?:IF NOT EXISTS )?", "", rest)
    if " NOT NULL" in column and " DEFAULT " not in column and " GENERATED " not in column:
        yield "add-column-not-null", touches
    if " UNIQUE" in column:
        yield "add-unique", touches
    if d == "postgres" and _VOLATILE.search(column):
        yield "volatile-default", touches
    if d == "postgres" and " REFERENCES " in column:
        yield "constraint-not-valid", touches
    if (
        d == "mysql"
        and not online
        and (re.search(r" (?:AFTER [\w$]+|FIRST)$", column) or " AUTO_INCREMENT" in column)
    ):
        yield "mysql-not-online", touches


_KEY_COLUMNS = re.compile(r"^[^(]*?\( ?([\w$]+(?: ?, ?[\w$]+)*) ?\)")


def _key_columns(text: str) -> list[str] | None:
    """The plain column names of the first `( ... )` (index columns, UNIQUE (...)); None for
    expressions, NULLS NOT DISTINCT (NULLs then collide) or anything else not understood."""
    if "NULLS NOT DISTINCT" in text:
        return None
    m = _KEY_COLUMNS.match(text)
    return [c.strip().lower() for c in m[1].split(",")] if m else None


def _learn_null_column(action: str, table: str, ctx: Context) -> None:
    m = re.match(r"ADD (?:COLUMN )?(?:IF NOT EXISTS )?([\w$]+) (.*)$", action)
    if m is None or m[1] in ("CONSTRAINT", "UNIQUE", "CHECK", "FOREIGN", "PRIMARY", "INDEX", "KEY"):
        return
    if not re.search(r"\b(?:DEFAULT|NOT NULL|GENERATED|AS|AUTO_INCREMENT|PRIMARY KEY|SERIAL\w*)\b", m[2]):
        ctx.null_columns.add((table, m[1].lower()))


def _learn_check(action: str, table: str, ctx: Context) -> None:
    m = re.search(r"CHECK ?\( ?([\w$]+) IS NOT NULL ?\)", action)
    if m:
        ctx.not_null_checks.add((table, m[1].lower()))


# statements that may write rows without saying which (a function call, a DO block, COPY)
_MAY_WRITE = ("MERGE", "COPY", "DO ", "CALL", "SELECT", "EXECUTE", "LOAD")


def statement_hits(flat: str, ctx: Context) -> Iterator[Hit]:
    """The rules one statement breaks, learning what it creates for the next statements."""
    head = flat[:7]
    if flat.startswith(_DATA) or _WITH.match(flat) or head.startswith(_MAY_WRITE):
        ctx.null_columns = set()  # rows may now hold values in the columns added before
    if head.startswith("ALTER"):
        yield from _alter_table(flat, ctx)
        return
    if head.startswith("CREATE"):
        if m := _CREATE_TABLE.match(flat):
            ctx.new_tables.add(_unqualified(m[1]))
            ctx.file_tables.add(_unqualified(m[1]))
        elif m := _CREATE_INDEX.match(flat):
            unique, concurrently, name, table = m[1], m[2], m[3], _unqualified(m[4])
            if ctx.is_new(table):
                if name:  # dropping it later locks only a table nobody uses yet
                    ctx.new_indexes.add(_unqualified(name))
                return
            # CONCURRENTLY is the safe rewrite add-unique recommends; columns this file just
            # added (all NULL) hold no duplicate to fail on
            if unique and not concurrently and not ctx.all_null(table, _key_columns(flat[m.end() :])):
                yield "add-unique", [table]
            if ctx.dialect == "postgres" and not concurrently:
                yield "create-index-not-concurrently", [table]
        return
    if head.startswith("DROP"):
        if m := _DROP_TABLE.match(flat):
            tables = [_unqualified(t.strip()) for t in m[1].split(",")]
            old = [t for t in tables if not ctx.is_new_here(t) and t not in ctx.copied]
            if old:
                yield "drop-table", old
        elif m := _DROP_INDEX.match(flat):
            index = _unqualified(m[2])
            if ctx.dialect == "postgres" and not m[1] and index not in ctx.new_indexes:
                yield "drop-index-not-concurrently", []
        elif re.match(r"^DROP (?:SCHEMA|DATABASE)\b", flat):
            yield "drop-schema", []
        return
    if head.startswith("TRUNCAT"):
        if (m := _TRUNCATE.match(flat)) and not ctx.is_new_here(_unqualified(m[1])):
            yield "truncate", [_unqualified(m[1])]
        return
    if _WITH.match(flat):
        flat = re.sub(r"^WITH .*?\) (?=DELETE |UPDATE )", "", flat)
    if flat.startswith("DELETE"):
        if (m := _DELETE.match(flat)) and not _TOP_WHERE.search(flat, m.end()):
            table = _unqualified(m[1])
            if not ctx.is_new_here(table):
                yield "delete-without-where", [table]
        return
    if flat.startswith("UPDATE"):
        if (m := _UPDATE.match(flat)) and not _TOP_WHERE.search(flat, m.end()):
            table = _unqualified(m[1])
            if not ctx.is_new_here(table):
                yield "update-without-where", [table]
        return
    if (m := _COPY_ROWS.match(flat)) and ctx.is_new_here(_unqualified(m[1])):
        if not _TOP_WHERE.search(flat, m.end()):
            ctx.copied.add(_unqualified(m[2]))
        return
    if flat.startswith("RENAME TABLE") and (m := _RENAME_TABLE.match(flat)):
        if not ctx.is_new_here(_unqualified(m[1])):
            yield "rename-table", [_unqualified(m[1])]


# -- facts about a statement that file-level rules use -------------------------------------------
_DATA = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_DDL = ("CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE")
DESTRUCTIVE = frozenset({"drop-table", "drop-column", "truncate", "delete-without-where", "drop-schema"})
# rules whose statement needs an exclusive lock on an existing table
EXCLUSIVE = frozenset(
    {
        "drop-table",
        "drop-column",
        "truncate",
        "rename-column",
        "rename-table",
        "set-not-null",
        "column-type-rewrite",
        "volatile-default",
        "constraint-not-valid",
        "drop-index-not-concurrently",
        "add-unique",
        "add-column-not-null",
        "narrowing-type",
        "mysql-not-online",
    }
)


def is_data(flat: str) -> bool:
    return flat.startswith(_DATA) or (
        flat.startswith("WITH ") and re.search(r"\) (?:INSERT|UPDATE|DELETE) ", flat) is not None
    )


def is_ddl(flat: str) -> bool:
    return flat.startswith(_DDL)


def sets_lock_timeout(flat: str) -> bool:
    return _SET_LOCK_TIMEOUT.match(flat) is not None


def copies_data(flat: str) -> bool:
    """An INSERT ... SELECT or CREATE TABLE ... AS SELECT: a down.sql that brings rows back."""
    return (flat.startswith(("INSERT", "REPLACE")) and " SELECT " in f" {flat} ") or (
        flat.startswith("CREATE TABLE") and " AS SELECT " in flat
    )


Checker = Callable[[str, Context], Iterator[Hit]]


_LIGHT_ALTER = re.compile(r"^(?:VALIDATE CONSTRAINT|SET STATISTICS|ALTER (?:COLUMN )?[\w$]+ SET STATISTICS)")


def takes_exclusive_lock(flat: str, ctx: Context) -> list[str] | None:
    """The existing tables a statement must lock exclusively (postgres ACCESS EXCLUSIVE, mysql
    an exclusive metadata lock), or None: such a statement queues every query behind it while
    it waits for its lock."""
    if m := _ALTER_TABLE.match(flat):
        table = _unqualified(m[1])
        actions = _actions(flat[m.end() :])
        if ctx.is_new(table) or (actions and all(_LIGHT_ALTER.match(a) for a in actions)):
            return None
        return [table]
    if m := _DROP_TABLE.match(flat):
        old = [t for t in (_unqualified(t.strip()) for t in m[1].split(",")) if not ctx.is_new(t)]
        return old or None
    if (m := _TRUNCATE.match(flat)) or (m := _RENAME_TABLE.match(flat)):
        return None if ctx.is_new(_unqualified(m[1])) else [_unqualified(m[1])]
    if (m := _DROP_INDEX.match(flat)) and not m[1] and _unqualified(m[2]) not in ctx.new_indexes:
        return []
    if flat.startswith(("LOCK TABLE", "VACUUM FULL", "CLUSTER ")):
        return []
    return None
