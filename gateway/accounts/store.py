"""The account store: dashboard users, API keys (in the SQLite file) and login tokens (in memory, or
signed with a key several gateways share).

The store is synchronous: every SQLite call is a primary-key lookup or a one-row write (a few µs), so
the HTTP and MQTT layers call it directly. The one slow thing is the password hash (``hashing``); it runs
outside the store's lock, so a caller may move a check to a thread (``asyncio.to_thread``) without
serialising the others.

Several processes may use the file at once (``emqgw users passwd`` while the gateway runs): every check
sees the current state of the file, verified-credential caches are keyed by the stored hash as well as
the credentials, and a token remembers the password hash it was issued under, so a password change or a
deletion made by another process takes effect at the next request. A password check reads the user's
row. API keys, checked on every `/api/v5` request, are held in memory instead (the table is small) and
read again when the file has changed since: SQLite's ``PRAGMA data_version`` moves whenever another
connection commits, and answers from the file's shared memory without reading a table; this store's own
writes drop the copy. A key revoked, disabled, re-dated or deleted by another process is refused at the
next request, as before.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs

from schemas.errors import Conflict, InvalidArgument, LimitExceeded, NotFound
from schemas.rules import storable

from .bootstrap import BOOTSTRAP_DESC, bootstrap_name, read_bootstrap_file
from .database import open_database
from .errors import AccountStoreError, NotAllowed, PasswordMismatch
from .hashing import hash_password, hash_random_secret, verify_hash
from .policy import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    api_key_for_name,
    new_api_secret,
    validate_api_key_name,
    validate_password,
    validate_username,
)
from .records import ApiKey, KeepType, User
from .tokens import TOKEN_TTL, LoginTokens, SignedTokens
from .verified_cache import CREDENTIAL_CACHE_TTL, VerifiedCache

MAX_API_KEYS = 100  # emqx_mgmt_auth: table size < 100 before create

# EMQX's messages, so that the dialects can pass them through.
MSG_USERNAME_EXISTS = "username_already_exists"
MSG_USERNAME_NOT_FOUND = "username_not_found"
MSG_OLD_PASSWORD = "Old password not match"
MSG_API_KEY_EXISTS = "name_already_existed"
MSG_API_KEY_KEY_EXISTS = "api_key_already_existed"
MSG_API_KEY_LIMIT = "Maximum number of ApiKeys reached."
MSG_API_KEY_NOT_FOUND = "Name NOT FOUND"

_API_KEY_COLUMNS = "name, api_key, enable, expired_at, created_at, description"


def _api_key_record(row) -> ApiKey:
    name, api_key, enable, expired_at, created_at, desc = row
    return ApiKey(
        name=name, api_key=api_key, enable=bool(enable), expired_at=expired_at, created_at=created_at, desc=desc
    )


class AccountStore:
    def __init__(
        self,
        db_path: str,
        *,
        token_ttl: float = TOKEN_TTL,
        clock: Callable[[], float] = time.time,
        cache_ttl: float = CREDENTIAL_CACHE_TTL,
        token_key: bytes | None = None,
        synced: bool = False,
    ):
        """``token_key``: sign login tokens with it (``SignedTokens``, for gateways sharing this file
        behind one load balancer) rather than keep them in this process's memory. ``synced``: every
        commit is synced to disk (the broker's ``durability = "sync"``)."""
        self.path = str(db_path)
        self._clock = clock
        self._lock = threading.RLock()
        self._passwords = VerifiedCache(cache_ttl, clock)
        self._secrets = VerifiedCache(cache_ttl, clock)
        self._tokens: LoginTokens | SignedTokens = (
            LoginTokens(token_ttl, clock) if token_key is None else SignedTokens(token_key, token_ttl, clock, self)
        )
        self._dummy_hash: str | None = None
        # api_key -> (record, secret hash), as of data_version ``_keys_version``; None: read it again.
        self._keys: dict[str, tuple[ApiKey, str]] | None = None
        self._keys_version = -1
        self._conn: sqlite3.Connection | None = None
        self._conn = open_database(self.path, clock, synced=synced)

    @property
    def token_ttl(self) -> float:
        return self._tokens.ttl

    @token_ttl.setter
    def token_ttl(self, seconds: float) -> None:
        self._tokens.ttl = seconds

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._passwords.clear()
            self._secrets.clear()
            self._tokens.clear()
            self._keys = None

    @contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; ``write`` wraps the block in BEGIN IMMEDIATE ... COMMIT."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise AccountStoreError(f"{self.path}: the account store is closed")
            try:
                if write:
                    conn.execute("BEGIN IMMEDIATE")
                yield conn
                if write:
                    conn.execute("COMMIT")
            except sqlite3.Error as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise AccountStoreError(f"{self.path}: {e}") from e
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # -- users ------------------------------------------------------------------------------------

    def _password_hash_of(self, username: str) -> str | None:
        if not storable(username):
            return None
        with self._db() as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
        return row[0] if row else None

    def add_user(self, username: str, password: str, description: str = "", *, enforce_policy: bool = True) -> User:
        validate_username(username)
        validate_password(password, enforce_policy=enforce_policy)
        if self._password_hash_of(username) is not None:  # cheap refusal before the slow hash
            raise Conflict(MSG_USERNAME_EXISTS, kind="user")
        pw_hash = hash_password(password)
        now = self._clock()
        with self._db(write=True) as conn:
            try:
                conn.execute(
                    "INSERT INTO users (username, password_hash, description, created_at, "
                    "password_changed_at) VALUES (?, ?, ?, ?, ?)",
                    (username, pw_hash, description, now, now),
                )
            except sqlite3.IntegrityError:
                raise Conflict(MSG_USERNAME_EXISTS, kind="user") from None
        return User(username=username, description=description, created_at=now)

    def list_users(self) -> list[User]:
        with self._db() as conn:
            rows = conn.execute(
                "SELECT username, description, created_at FROM users ORDER BY created_at, username"
            ).fetchall()
        return [User(username=u, description=d, created_at=c) for u, d, c in rows]

    def get_user(self, username: str) -> User:
        with self._db() as conn:
            row = conn.execute(
                "SELECT username, description, created_at FROM users WHERE username = ?", (username,)
            ).fetchone()
        if row is None:
            raise NotFound(MSG_USERNAME_NOT_FOUND, kind="user")
        return User(username=row[0], description=row[1], created_at=row[2])

    def update_user(self, username: str, description: str) -> User:
        with self._db(write=True) as conn:
            cur = conn.execute("UPDATE users SET description = ? WHERE username = ?", (description, username))
            if cur.rowcount == 0:
                raise NotFound(MSG_USERNAME_NOT_FOUND, kind="user")
        return self.get_user(username)

    def delete_user(self, username: str) -> None:
        # EMQX refuses to delete its default user ("Cannot delete self" is the HTTP layer's rule: it
        # knows who is asking).
        if username == DEFAULT_USERNAME:
            raise NotAllowed(f'Cannot delete user "{DEFAULT_USERNAME}"')
        with self._db(write=True) as conn:
            cur = conn.execute("DELETE FROM users WHERE username = ?", (username,))
            if cur.rowcount == 0:
                raise NotFound(MSG_USERNAME_NOT_FOUND, kind="user")
            self._forget_user(username)

    def set_password(self, username: str, new: str, *, enforce_policy: bool = True) -> None:
        """Administrator reset (CLI, EMQ 2.x/EMQX 4 admin APIs): no old password needed."""
        if self._password_hash_of(username) is None:
            raise NotFound(MSG_USERNAME_NOT_FOUND, kind="user")
        validate_password(new, enforce_policy=enforce_policy)
        self._store_password(username, hash_password(new), expected=None)

    def change_password(self, username: str, old: str, new: str, *, enforce_policy: bool = True) -> None:
        """EMQX 5 ``change_pwd``: checks in EMQX's order (user, old password, new-password policy)."""
        stored = self._password_hash_of(username)
        if stored is None:
            raise NotFound(MSG_USERNAME_NOT_FOUND, kind="user")
        if not self._verify_user(username, old, stored):
            raise PasswordMismatch(MSG_OLD_PASSWORD)
        validate_password(new, enforce_policy=enforce_policy)
        # Compare-and-swap on the hash we verified against, so a concurrent change is not overwritten.
        self._store_password(username, hash_password(new), expected=stored)

    def _store_password(self, username: str, pw_hash: str, *, expected: str | None) -> None:
        with self._db(write=True) as conn:
            if expected is None:
                cur = conn.execute(
                    "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE username = ?",
                    (pw_hash, self._clock(), username),
                )
            else:
                cur = conn.execute(
                    "UPDATE users SET password_hash = ?, password_changed_at = ? "
                    "WHERE username = ? AND password_hash = ?",
                    (pw_hash, self._clock(), username, expected),
                )
            if cur.rowcount == 0:
                exists = conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
                raise PasswordMismatch(MSG_OLD_PASSWORD) if exists else NotFound(MSG_USERNAME_NOT_FOUND)
            self._forget_user(username)

    def _forget_user(self, username: str) -> None:
        """Drop everything remembered about a user whose password changed or who was deleted."""
        self._passwords.drop(username)
        self.revoke_user_tokens(username)

    def check_password(self, username: str, password: str) -> bool:
        stored = self._password_hash_of(username)
        if stored is None:
            # Spend the same time as for a real user, so that timing does not tell which users exist.
            verify_hash(password, self._dummy())
            return False
        return self._verify_user(username, password, stored)

    def recently_verified(self, username: str, password: str) -> bool:
        """True when this exact credential passed a check within the cache time; never slow.

        Callers on an event loop try this first and run ``check_password`` in a thread only on a miss.
        """
        stored = self._password_hash_of(username)
        if stored is None:
            return False
        mac = self._passwords.mac(username, stored, password)
        with self._lock:
            return self._passwords.hit(mac)

    def _verify_user(self, username: str, password: str, stored: str) -> bool:
        mac = self._passwords.mac(username, stored, password)
        with self._lock:
            if self._passwords.hit(mac):
                return True
        if not verify_hash(password, stored):  # the slow part, outside the lock
            return False
        with self._lock:
            self._passwords.add(mac, username)
        return True

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = hash_password(secrets.token_urlsafe(16))
        return self._dummy_hash

    def default_password_in_use(self) -> bool:
        return self.check_password(DEFAULT_USERNAME, DEFAULT_PASSWORD)

    # -- login tokens ----------------------------------------------------------------------------

    def issue_token(self, username: str) -> str:
        """A new login token for a user the caller has authenticated; NotFound for an unknown user."""
        stored = self._password_hash_of(username)
        if stored is None:
            raise NotFound(MSG_USERNAME_NOT_FOUND, kind="user")
        with self._lock:
            return self._tokens.issue(username, stored)

    def check_token(self, token: str) -> str:
        """The token's username; slides its expiry to now + TTL. TokenExpired / BadToken."""
        with self._lock:
            return self._tokens.check(token, self._password_hash_of)

    def revoke_token(self, token: str, username: str) -> bool:
        """Logout: False when the token is unknown or belongs to someone else (EMQX WRONG_TOKEN_OR_USERNAME)."""
        with self._lock:
            return self._tokens.revoke(token, username)

    def revoke_user_tokens(self, username: str) -> None:
        with self._lock:
            self._tokens.revoke_user(username)

    # tokens.Revocations, for signed tokens
    def is_revoked(self, token_id: bytes) -> bool:
        with self._db() as conn:
            return conn.execute("SELECT 1 FROM revoked_tokens WHERE token_id = ?", (token_id,)).fetchone() is not None

    def revoke(self, token_id: bytes, expires_at: float) -> None:
        with self._db(write=True) as conn:
            conn.execute("DELETE FROM revoked_tokens WHERE expires_at <= ?", (self._clock(),))
            conn.execute("INSERT OR IGNORE INTO revoked_tokens VALUES (?, ?)", (token_id, expires_at))

    # -- API keys ---------------------------------------------------------------------------------

    def create_api_key(
        self,
        name: str,
        desc: str = "",
        enable: bool = True,
        expired_at: float | None = None,
        *,
        secret: str | None = None,
    ) -> tuple[ApiKey, str]:
        """The new key and its secret; the secret is not stored and cannot be shown again. A ``secret``
        given (EMQX 4's apps may choose theirs) is one a person chose: it gets the slow hash."""
        validate_api_key_name(name)
        chosen = secret is not None
        if chosen and not secret:
            raise InvalidArgument("the secret must not be empty", field="secret")
        secret = secret if secret is not None else new_api_secret()
        secret_hash = hash_password(secret) if chosen else hash_random_secret(secret)
        key = ApiKey(
            name=name,
            api_key=api_key_for_name(name),
            enable=bool(enable),
            expired_at=expired_at,
            created_at=self._clock(),
            desc=desc,
        )
        with self._db(write=True) as conn:
            if conn.execute("SELECT count(*) FROM api_keys").fetchone()[0] >= MAX_API_KEYS:
                raise LimitExceeded(MSG_API_KEY_LIMIT, kind="api_key")
            if conn.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone():
                raise Conflict(MSG_API_KEY_EXISTS, kind="api_key")
            if conn.execute("SELECT 1 FROM api_keys WHERE api_key = ?", (key.api_key,)).fetchone():
                raise Conflict(MSG_API_KEY_KEY_EXISTS, kind="api_key")  # only a bootstrapped key can collide
            conn.execute(
                "INSERT INTO api_keys (name, api_key, secret_hash, enable, expired_at, created_at, "
                "description) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key.name,
                    key.api_key,
                    secret_hash,
                    int(key.enable),
                    key.expired_at,
                    key.created_at,
                    key.desc,
                ),
            )
            self._keys = None
        return key, secret

    def list_api_keys(self) -> list[ApiKey]:
        with self._db() as conn:
            rows = conn.execute(f"SELECT {_API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, name").fetchall()
        return [_api_key_record(r) for r in rows]

    def get_api_key(self, name: str) -> ApiKey:
        with self._db() as conn:
            row = conn.execute(f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(MSG_API_KEY_NOT_FOUND, kind="api_key")
        return _api_key_record(row)

    def update_api_key(
        self,
        name: str,
        *,
        enable: bool | None = None,
        desc: str | None = None,
        expired_at: float | None | KeepType = None,
    ) -> ApiKey:
        """EMQX PUT /api_key/{name}: None keeps ``enable``/``desc``; ``expired_at`` defaults to infinity
        (None) as in EMQX, pass KEEP to leave it unchanged."""
        with self._db(write=True) as conn:
            row = conn.execute(f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(MSG_API_KEY_NOT_FOUND, kind="api_key")
            old = _api_key_record(row)
            new = attrs.evolve(
                old,
                enable=old.enable if enable is None else bool(enable),
                desc=old.desc if desc is None else desc,
                expired_at=old.expired_at if isinstance(expired_at, KeepType) else expired_at,
            )
            conn.execute(
                "UPDATE api_keys SET enable = ?, expired_at = ?, description = ? WHERE name = ?",
                (int(new.enable), new.expired_at, new.desc, name),
            )
            self._secrets.drop(old.api_key)
            self._keys = None
        return new

    def delete_api_key(self, name: str) -> None:
        with self._db(write=True) as conn:
            row = conn.execute("SELECT api_key FROM api_keys WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(MSG_API_KEY_NOT_FOUND, kind="api_key")
            conn.execute("DELETE FROM api_keys WHERE name = ?", (name,))
            self._secrets.drop(row[0])
            self._keys = None

    def check_api_key(self, api_key: str, api_secret: str) -> ApiKey | None:
        """The key when the pair is valid, enabled and not expired; None otherwise (EMQX answers all
        four cases with the same BAD_API_KEY_OR_SECRET)."""
        found = self._api_key(api_key)
        if found is None:
            return None
        key, stored = found
        if not key.enable or key.expired_by(self._clock()):
            return None
        mac = self._secrets.mac(api_key, stored, api_secret)
        with self._lock:
            if self._secrets.hit(mac):
                return key
        if not verify_hash(api_secret, stored):
            return None
        with self._lock:
            self._secrets.add(mac, api_key)
        return key

    def _api_key(self, api_key: str) -> tuple[ApiKey, str] | None:
        """The key's record and secret hash, from the copy in memory unless the file changed since."""
        with self._db() as conn:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if self._keys is None or version != self._keys_version:
                rows = conn.execute(f"SELECT {_API_KEY_COLUMNS}, secret_hash FROM api_keys").fetchall()
                self._keys = {row[1]: (_api_key_record(row[:-1]), row[-1]) for row in rows}
                self._keys_version = version
            return self._keys.get(api_key)

    def bootstrap_api_keys(self, path: str) -> list[str]:
        """Load EMQX's ``api_key.bootstrap_file``: lines ``api_key:api_secret[:role]``.

        Each line creates or overwrites the key named ``from_bootstrap_file_<sha512(api_key) prefix>``,
        enabled, never expiring, desc "Bootstrapped From File" (emqx_mgmt_auth:init_bootstrap_file/1;
        the file wins over the database, as in EMQX, so a key disabled through the API is re-enabled at
        the next load). A key with the same api_key under another name is replaced. The limit of 100
        keys does not apply. Blank lines and ``#`` comments are skipped. The file is parsed completely
        before anything is written: a malformed line changes nothing. Returns the names loaded.
        """
        hashed = {}
        for key, secret in read_bootstrap_file(path).items():  # slow hashes before taking the write lock
            hashed[key] = hash_password(secret)  # a person chose it: slow hash
        now = self._clock()
        names = []
        with self._db(write=True) as conn:
            for key, secret_hash in hashed.items():
                name = bootstrap_name(key)
                conn.execute("DELETE FROM api_keys WHERE api_key = ? AND name != ?", (key, name))
                cur = conn.execute(
                    "UPDATE api_keys SET api_key = ?, secret_hash = ?, enable = 1, expired_at = NULL, "
                    "description = ? WHERE name = ?",
                    (key, secret_hash, BOOTSTRAP_DESC, name),
                )
                if cur.rowcount == 0:
                    conn.execute(
                        "INSERT INTO api_keys (name, api_key, secret_hash, enable, expired_at, created_at, "
                        "description) VALUES (?, ?, ?, 1, NULL, ?, ?)",
                        (name, key, secret_hash, now, BOOTSTRAP_DESC),
                    )
                self._secrets.drop(key)
                names.append(name)
            self._keys = None
        return names
