"""The account database file: created private, checked, migrated to the current schema, and seeded with
EMQX's default user when it has no user at all."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable

from .errors import AccountStoreError
from .hashing import hash_password
from .policy import DEFAULT_PASSWORD, DEFAULT_USER_DESCRIPTION, DEFAULT_USERNAME

# The database file inside the data directory.
DB_NAME = "emqgw.db"

SCHEMA_VERSION = 2

_SCHEMA_V1 = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE users (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        password_changed_at REAL NOT NULL
    )""",
    """CREATE TABLE api_keys (
        name TEXT PRIMARY KEY,
        api_key TEXT NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,
        enable INTEGER NOT NULL,
        expired_at REAL,
        created_at REAL NOT NULL,
        description TEXT NOT NULL DEFAULT ''
    )""",
)

# version -> statements that bring a database from that version to the next one.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    # Logged-out signed tokens (tokens.SignedTokens), kept until they would have expired anyway.
    1: ("CREATE TABLE revoked_tokens (token_id BLOB PRIMARY KEY, expires_at REAL NOT NULL)",),
}


def damaged(path: str, what: str) -> AccountStoreError:
    """The error for a file we cannot use, with what the operator can do about it."""
    return AccountStoreError(
        f"{path}: {what}. Stop emqgw, then restore this file from a backup or move it (and any "
        f"-wal/-shm files beside it) aside; emqgw then starts a new one with the default user admin/public"
    )


def open_database(path: str, clock: Callable[[], float], *, synced: bool = False) -> sqlite3.Connection:
    """An autocommit connection to a checked, current database; AccountStoreError when it cannot be used.

    Every write commits before it returns, so a change whose answer went out survives the process being
    killed (WAL); ``synced`` has each commit wait for the disk too, so it also survives a power cut (the
    broker state's ``durability = "sync"``)."""
    try:
        # Created 0600 before SQLite sees it: the file holds password hashes. (SQLite gives the
        # -wal/-shm files the main file's mode.)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as e:
        raise AccountStoreError(f"{path}: cannot create the account database: {e.strerror or e}") from e
    conn = None
    try:
        conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")  # the first read: "file is not a database" shows here
        conn.execute("PRAGMA synchronous=FULL" if synced else "PRAGMA synchronous=NORMAL")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise damaged(path, f"the account database is damaged ({check})")
        _migrate(conn, path)
        _ensure_default_user(conn, clock)
    except sqlite3.Error as e:
        if conn is not None:
            conn.close()
        raise damaged(path, f"the account database cannot be read ({e})") from e
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            # A new file is made as the first schema was, then migrated like any other.
            for stmt in _SCHEMA_V1:
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        elif "schema_version" not in tables:
            raise damaged(path, "this SQLite file is not an emqgw account database")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        version = row[0] if row else None
        if not isinstance(version, int):
            raise damaged(path, "the account database has no schema version")
        if version > SCHEMA_VERSION:
            raise AccountStoreError(
                f"{path}: the account database was written by a newer emqgw (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); run that version or restore a backup"
            )
        while version < SCHEMA_VERSION:
            for stmt in _MIGRATIONS[version]:
                conn.execute(stmt)
            version += 1
            conn.execute("UPDATE schema_version SET version = ?", (version,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _ensure_default_user(conn: sqlite3.Connection, clock: Callable[[], float]) -> None:
    if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():
        return
    pw_hash = hash_password(DEFAULT_PASSWORD)  # outside the write lock: 50 ms
    now = clock()
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():  # another process may have won
            conn.execute(
                "INSERT INTO users (username, password_hash, description, created_at, "
                "password_changed_at) VALUES (?, ?, ?, ?, ?)",
                (DEFAULT_USERNAME, pw_hash, DEFAULT_USER_DESCRIPTION, now, now),
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
