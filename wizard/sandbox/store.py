"""The sandbox's persistent store: one SQLite file in the data dir.

Everything is an object of a kind under a key (ARM resources under their lower-cased id), with an
optional parent for listing. One lock serialises all access: the sandbox is small, and a single
writer keeps every request's read-modify-write atomic without per-table locking.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    data   TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS objects_parent ON objects (kind, parent);
"""


def _private_files(path: Path) -> None:
    """Create the database 0600 before SQLite opens it: SQLite creates its -wal and -shm files with the database
    file's mode, so they are never readable by others either (they hold the same secrets as the database)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):  # and tighten the files of a sandbox made before this rule
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.chmod(0o600)


class Store:
    """A tiny document store: kind + key -> JSON, with parent-based listing."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        _private_files(Path(path))
        self.lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and one SQLite transaction for a read-modify-write."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._db.execute("SELECT data FROM objects WHERE kind=? AND key=?",
                                   (kind, key.lower())).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, key: str, data: dict[str, Any], parent: str = "") -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO objects(kind, key, parent, data) VALUES (?,?,?,?) "
                "ON CONFLICT(kind, key) DO UPDATE SET parent=excluded.parent, data=excluded.data",
                (kind, key.lower(), parent.lower(), json.dumps(data)))

    def delete(self, kind: str, key: str) -> bool:
        with self.lock:
            cur = self._db.execute("DELETE FROM objects WHERE kind=? AND key=?", (kind, key.lower()))
        return cur.rowcount > 0

    def list(self, kind: str, parent: str | None = None, key_prefix: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT data FROM objects WHERE kind=?", [kind]
        if parent is not None:
            sql += " AND parent=?"
            args.append(parent.lower())
        if key_prefix is not None:
            sql += " AND substr(key, 1, ?)=?"
            args += [len(key_prefix), key_prefix.lower()]
        sql += " ORDER BY rowid"
        with self.lock:
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def clear(self) -> None:
        with self.lock:
            self._db.execute("DELETE FROM objects")

    def close(self) -> None:
        with self.lock:
            self._db.close()
