"""The portal's SQLite file (``<data dir>/portal/portal.sqlite3``): accounts, sessions, failed logins, uploads.

A new connection per operation, in WAL mode with a busy timeout: request threads, the background
inbox runner and a ``jianfu office`` command in another process may all write at once, and SQLite
serialises them. The file and its folder are private to the account that runs the portal.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jianfu.store.database import private_dir

__all__ = ["Database", "SCHEMA"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('office', 'researcher')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (name TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures (name, at);
CREATE TABLE IF NOT EXISTS lockouts (name TEXT PRIMARY KEY, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    office TEXT NOT NULL,
    account TEXT NOT NULL,
    filename TEXT NOT NULL,
    stored_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    wave TEXT NOT NULL,
    status TEXT NOT NULL,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_accepted INTEGER NOT NULL DEFAULT 0,
    rows_quarantined INTEGER NOT NULL DEFAULT 0,
    flags TEXT NOT NULL DEFAULT '{}',
    problems TEXT NOT NULL DEFAULT '[]',
    received_at TEXT NOT NULL,
    processed_at TEXT,
    UNIQUE (office, sha256)
);
CREATE TABLE IF NOT EXISTS batches (
    batch TEXT NOT NULL,
    seq INTEGER NOT NULL,
    upload_id TEXT NOT NULL,
    duplicate INTEGER NOT NULL,
    office TEXT NOT NULL,
    PRIMARY KEY (batch, seq)
);
"""


class Database:
    """The portal database at ``path`` (created, with its schema, on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        private_dir(self.path.parent)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)
        finally:
            con.close()
        os.chmod(self.path, 0o600)

    @contextmanager
    def connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection whose block is one transaction (committed at the end, rolled back on error).

        A writing block takes the write lock at once (``BEGIN IMMEDIATE``), so a read-then-write in it
        never fails halfway with "database is locked"; a reading block does not block writers (WAL).
        """
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA busy_timeout=30000")
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()
