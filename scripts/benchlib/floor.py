"""The floor: the least any Python migrator can do. The bench copies this file into its temp dir
and runs it as a subprocess with the project's venv python, so interpreter start and driver
imports count exactly as they do for migrator.

usage: floor.py DIALECT TARGET DIR up|down|status

- one connection, the same driver as migrator (sqlite3, psycopg, mysql.connector pure Python);
- up: per pending version (ascending) read up.sql, split on ";\\n", run the statements and one
  INSERT into the version table (with the file's sha256) in one transaction, commit;
- down: per applied version (descending) the same with down.sql and a DELETE of the version row;
- status: SELECT the version table, list the folders, sha256 every up.sql and down.sql, compare
  the up checksum with the applied one, print one line per version and a summary line.
"""

import hashlib
import os
import sys

TABLE = "floor_version"


def connect(dialect, target):
    if dialect == "sqlite":
        import sqlite3

        return sqlite3.connect(target, isolation_level=None), "?"
    if dialect == "postgres":
        import psycopg

        return psycopg.connect(target), "%s"
    import mysql.connector

    host, port, user, db = target.split(":")
    return mysql.connector.connect(
        host=host, port=int(port), user=user, database=db, charset="utf8mb4", use_pure=True
    ), "%s"


def folders(mdir):
    out = []
    for name in os.listdir(mdir):
        head = name.split("_", 1)[0]
        if head.isdigit():
            out.append((int(head), name))
    out.sort()
    return out


def main():
    dialect, target, mdir, action = sys.argv[1:5]
    conn, ph = connect(dialect, target)
    cur = conn.cursor()
    sqlite = dialect == "sqlite"

    def begin():
        if sqlite:
            cur.execute("BEGIN")  # psycopg and mysql.connector open the transaction implicitly

    def commit():
        if sqlite:
            cur.execute("COMMIT")
        else:
            conn.commit()

    def run_file(path):
        with open(path, "rb") as f:
            data = f.read()
        for stmt in data.decode().split(";\n"):
            if stmt.strip():
                cur.execute(stmt)
        return data

    if action == "up":
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (version INTEGER NOT NULL PRIMARY KEY, "
            "name VARCHAR(255) NOT NULL, checksum CHAR(64) NOT NULL)"
        )
        if not sqlite:  # sqlite runs it in autocommit mode
            conn.commit()
        cur.execute(f"SELECT version FROM {TABLE}")
        applied = {row[0] for row in cur.fetchall()}
        done = 0
        for version, name in folders(mdir):
            if version in applied:
                continue
            begin()
            data = run_file(os.path.join(mdir, name, "up.sql"))
            cur.execute(
                f"INSERT INTO {TABLE} (version, name, checksum) VALUES ({ph}, {ph}, {ph})",
                (version, name, hashlib.sha256(data).hexdigest()),
            )
            commit()
            done += 1
        print(f"applied {done}")
    elif action == "down":
        cur.execute(f"SELECT version, name FROM {TABLE} ORDER BY version DESC")
        rows = cur.fetchall()
        for version, name in rows:
            begin()
            run_file(os.path.join(mdir, name, "down.sql"))
            cur.execute(f"DELETE FROM {TABLE} WHERE version = {ph}", (version,))
            commit()
        print(f"rolled back {len(rows)}")
    elif action == "status":
        try:
            cur.execute(f"SELECT version, checksum FROM {TABLE}")
            applied = dict(cur.fetchall())
        except Exception:  # no version table yet: nothing applied
            applied = {}
        pending = changed = 0
        lines = []
        for version, name in folders(mdir):
            sums = []
            for fname in ("up.sql", "down.sql"):
                with open(os.path.join(mdir, name, fname), "rb") as f:
                    sums.append(hashlib.sha256(f.read()).hexdigest())
            if version not in applied:
                state = "pending"
                pending += 1
            elif applied[version] != sums[0]:
                state = "changed"
                changed += 1
            else:
                state = "applied"
            lines.append(f"{version}\t{name}\t{state}")
        print("\n".join(lines))
        print(f"applied {len(applied)} pending {pending} changed {changed}")
    conn.close()


if __name__ == "__main__":
    main()
