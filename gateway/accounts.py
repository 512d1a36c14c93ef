"""Dashboard users, login tokens and API keys, kept in one SQLite file (``<data_dir>/emqgw.db``).

The facts copied from EMQX 5 (reference: emqx-v5-api.md §1.1-1.3; emqx/emqx
apps/emqx_dashboard/src/emqx_dashboard_admin.erl, emqx_dashboard_token.erl,
apps/emqx_management/src/emqx_mgmt_auth.erl):

* the default user ``admin`` / ``public`` is created when there are no users at all, and cannot be deleted;
* usernames ``^[_a-zA-Z0-9]*$``; passwords 8-64 bytes with two of {letters, digits, specials} (the EMQ 2.x
  and EMQX 4 dialects switch the password rule off: they accept ``public``);
* login tokens are opaque to their holder, valid for a sliding TTL (default 60 min), dropped when the
  user's password changes or the user is deleted, and lost on restart;
* an API key's ``api_key`` is the first 16 hex chars of sha512(name); its secret is base62 of 32 random
  bytes, shown once; at most 100 keys; a key is refused when disabled or past ``expired_at``.

The store is synchronous: every SQLite call is a primary-key lookup or a one-row write (a few µs), so
the HTTP and MQTT layers call it directly. The one slow thing is the password hash (below); it runs
outside the store's lock, so a caller may move a check to a thread (``asyncio.to_thread``) without
serialising the others.

Several processes may use the file at once (``emqgw users passwd`` while the gateway runs): every check
reads the current row, verified-credential caches are keyed by the stored hash as well as the
credentials, and a token remembers the password hash it was issued under, so a password change or a
deletion made by another process takes effect at the next request.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import attrs

from schemas.errors import Conflict, ControlError, InvalidArgument, LimitExceeded, NotFound

__all__ = [
    "AccountStore", "AccountStoreError", "ApiKey", "BadToken", "KEEP", "NotAllowed", "PasswordMismatch",
    "TokenExpired", "User", "api_key_for_name", "validate_api_key_name", "validate_password",
    "validate_username",
]

# --- limits and defaults -------------------------------------------------------------------------

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "public"           # EMQX dashboard.default_password
DEFAULT_USER_DESCRIPTION = "administrator"  # what EMQX writes for its default user
TOKEN_TTL = 3600.0                    # EMQX dashboard.token_expired_time = 60m
# Verified credentials are remembered this long. Basic auth (EMQ 2.x / EMQX 4 dialects, MQTT CONNECT)
# sends the password with every request; without the cache each one would cost a slow hash.
CREDENTIAL_CACHE_TTL = 300.0
# Bound on remembered credentials (only successful checks are cached, so this is a bound on distinct
# valid username/password or key/secret pairs seen within CREDENTIAL_CACHE_TTL).
CREDENTIAL_CACHE_MAX = 10_000
MAX_API_KEYS = 100                    # emqx_mgmt_auth: table size < 100 before create
MAX_USERNAME_LEN = 100                # emqx_dashboard_api: username maxLength 100
MAX_API_KEY_NAME_BYTES = 256          # emqx_mgmt_api_api_keys:validate_name/1
API_KEY_HEX_LEN = 16                  # emqx_mgmt_auth ?DEFAULT_HASH_LEN
BOOTSTRAP_NAME_PREFIX = "from_bootstrap_file_"
BOOTSTRAP_DESC = "Bootstrapped From File"
# EMQX Enterprise roles that a bootstrap line may name; the open-source edition (what emqgw mirrors)
# has no RBAC, so the role is checked and then not stored.
API_ROLES = ("administrator", "viewer", "publisher")

# Password hashing. scrypt with n=2**14, r=8, p=1 (16 MiB, the parameters of RFC 7914 §2's
# interactive-login example). Measured on the development machine (2 vCPU, Python 3.11, OpenSSL 3):
#   one scrypt check ........................ ~47-56 ms
#   (PBKDF2-SHA256 at 600k iterations, the OWASP 2023 figure, took ~136 ms there: scrypt is both
#    cheaper for us and costlier for a GPU attacker)
#   cached check_password / check_api_key (row SELECT ~4 µs, blake2b MAC + dict probe ~1 µs,
#   locking and Python overhead) ........................................... ~10 µs
#   check_token (SELECT of the user's hash included) ........................ ~7 µs
#   uncached check_api_key of a generated secret (salted SHA-256) ........... ~60 µs
# The stored string names the algorithm and its parameters, so they can change later without
# invalidating existing hashes (``_verify_hash`` dispatches on the prefix).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SCRYPT_DKLEN = 32
SALT_BYTES = 16

SCHEMA_VERSION = 1

# --- messages (EMQX's own, so that dialects can pass them through) -------------------------------

MSG_USERNAME_EMPTY = "Username cannot be empty"
MSG_USERNAME_BAD = "Bad Username. Only upper and lower case letters, numbers and underscores are supported"
MSG_USERNAME_LONG = f"Bad Username. The maximum length is {MAX_USERNAME_LEN}"
MSG_PASSWORD_EMPTY = "Password cannot be empty"
MSG_PASSWORD_LEN = "The range of password length is 8~64"
MSG_PASSWORD_WEAK = (
    "Bad password. At least two different kind of characters from groups of letters, numbers, and special "
    "characters. For example, if password is composed from letters, it must contain at least one number or a "
    "special character.")
MSG_USERNAME_EXISTS = "username_already_exists"
MSG_USERNAME_NOT_FOUND = "username_not_found"
MSG_OLD_PASSWORD = "Old password not match"
MSG_TOKEN_EXPIRED = "Token expired, get new token by POST /login"
MSG_BAD_TOKEN = "Get a token by POST /login"
API_KEY_NAME_RE = "^[A-Za-z]+[A-Za-z0-9-_]*$"
MSG_API_KEY_NAME = "Name should be " + API_KEY_NAME_RE
MSG_API_KEY_NAME_LEN = "Name Length must =< 256"
MSG_API_KEY_EXISTS = "name_already_existed"
MSG_API_KEY_KEY_EXISTS = "api_key_already_existed"
MSG_API_KEY_LIMIT = "Maximum number of ApiKeys reached."
MSG_API_KEY_NOT_FOUND = "Name NOT FOUND"


# --- errors --------------------------------------------------------------------------------------

# The database file inside the data directory.
DB_NAME = "emqgw.db"

class AccountStoreError(Exception):
    """The database cannot be used (unreadable, corrupt, newer schema, IO error).

    Not a ControlError: it is the server's trouble, not the caller's mistake, and should surface as a
    500 or a failed start, never as a 4xx.
    """


class NotAllowed(ControlError):
    """The operation is refused by rule (deleting the default user)."""


class PasswordMismatch(ControlError):
    """``change_password``: the old password is wrong (EMQX ERROR_PWD_NOT_MATCH)."""


class TokenExpired(ControlError):
    """A known token past its expiry (EMQX TOKEN_TIME_OUT)."""


class BadToken(ControlError):
    """An unknown or revoked token (EMQX BAD_TOKEN)."""


# --- records -------------------------------------------------------------------------------------

record = attrs.define(slots=True, kw_only=True, frozen=True)


@record
class User:
    username: str
    description: str = ""
    created_at: float = 0.0


@record
class ApiKey:
    name: str
    api_key: str
    enable: bool = True
    expired_at: float | None = None  # epoch seconds; None = EMQX's "infinity"
    created_at: float = 0.0
    desc: str = ""

    def expired_by(self, now: float) -> bool:
        # emqx_mgmt_auth:is_expired/1: ExpiredAt < now.
        return self.expired_at is not None and self.expired_at < now

    @property
    def expired(self) -> bool:
        return self.expired_by(time.time())


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


# ``update_api_key(..., expired_at=KEEP)`` leaves the expiry alone; the default (None) follows EMQX's
# PUT /api_key/{name}, where an omitted expired_at becomes infinity.
KEEP = _Keep()


# --- validation (pure functions) -----------------------------------------------------------------

_USERNAME_RE = re.compile(r"[_a-zA-Z0-9]*")
_API_KEY_NAME_RE = re.compile(r"[A-Za-z]+[A-Za-z0-9_-]*")
# emqx_dashboard_admin: ?LETTER, ?NUMBER, ?SPECIAL_CHARS (note: space is special, backslash is not).
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_SPECIALS = frozenset("!@#$%^&*()_+-=[]{}\"|;':,./<>?`~ ")


def validate_username(username: str) -> None:
    """EMQX 5 rule; InvalidArgument with EMQX's message. Applied in every dialect (usernames end up in
    URL paths and in ``user:password`` Basic credentials, so the safe charset is kept everywhere)."""
    if not username:
        raise InvalidArgument(MSG_USERNAME_EMPTY, field="username")
    if len(username) > MAX_USERNAME_LEN:
        raise InvalidArgument(MSG_USERNAME_LONG, field="username")
    if not _USERNAME_RE.fullmatch(username):
        raise InvalidArgument(MSG_USERNAME_BAD, field="username")


def validate_password(password: str, *, enforce_policy: bool = True) -> None:
    """EMQX 5 ``legal_password/1`` when ``enforce_policy``; otherwise only non-empty (EMQ 2.x, EMQX 4)."""
    if not enforce_policy:
        if not password:
            raise InvalidArgument(MSG_PASSWORD_EMPTY, field="password")
        return
    # EMQX measures binary_to_list(Password): bytes, not characters.
    if not 8 <= len(password.encode("utf-8", "surrogatepass")) <= 64:
        raise InvalidArgument(MSG_PASSWORD_LEN, field="password")
    kinds = sum(1 for group in (_DIGITS, _LETTERS, _SPECIALS) if any(c in group for c in password))
    if kinds < 2:
        raise InvalidArgument(MSG_PASSWORD_WEAK, field="password")


def validate_api_key_name(name: str) -> None:
    size = len(name.encode("utf-8", "surrogatepass"))
    if not 0 < size <= MAX_API_KEY_NAME_BYTES:
        raise InvalidArgument(MSG_API_KEY_NAME_LEN, field="name")
    # fullmatch, not EMQX's PCRE `$` (which also lets a trailing newline through).
    if not _API_KEY_NAME_RE.fullmatch(name):
        raise InvalidArgument(MSG_API_KEY_NAME, field="name")


def _sha512_prefix(text: str) -> str:
    return hashlib.sha512(text.encode("utf-8")).hexdigest()[:API_KEY_HEX_LEN]


def api_key_for_name(name: str) -> str:
    """EMQX: the api_key of a key created by name is the first 16 hex chars of sha512(name)."""
    return _sha512_prefix(name)


def bootstrap_name(api_key: str) -> str:
    """EMQX: a bootstrapped key is named from its api_key (``from_bootstrap_file_`` + sha512 prefix)."""
    return BOOTSTRAP_NAME_PREFIX + _sha512_prefix(api_key)


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(reversed(out)) or "0"


def new_api_secret() -> str:
    """emqx_mgmt_auth:generate_api_secret/0: base62 of 32 random bytes (~43 chars)."""
    return _base62(secrets.token_bytes(32))


# --- hashing -------------------------------------------------------------------------------------

def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _storable(text: str) -> bool:
    """False for strings SQLite cannot bind (lone surrogates, e.g. from a surrogateescape decode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def hash_password(password: str) -> str:
    """``scrypt:n=16384,r=8,p=1:<salt hex>:<hash hex>``."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(_bytes(password), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_DKLEN)
    return f"scrypt:n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}:{salt.hex()}:{digest.hex()}"


def hash_random_secret(secret: str) -> str:
    """``sha256:<salt hex>:<hash hex>`` — for secrets we generated ourselves.

    A slow hash protects low-entropy secrets against guessing. A generated API secret has 256 bits of
    entropy, so no hash speed makes guessing it feasible; the salt only keeps equal secrets from
    having equal hashes. A fast hash also keeps an uncached API-key check at microseconds. Secrets
    chosen by a person (bootstrap file) get ``hash_password`` instead.
    """
    salt = secrets.token_bytes(SALT_BYTES)
    return f"sha256:{salt.hex()}:{hashlib.sha256(salt + _bytes(secret)).hexdigest()}"


def _verify_hash(secret: str, stored: str) -> bool:
    """Constant-time comparison against any hash format this module has ever written."""
    try:
        algo, rest = stored.split(":", 1)
        if algo == "scrypt":
            params, salt_hex, want_hex = rest.split(":")
            p = dict(kv.split("=") for kv in params.split(","))
            want = bytes.fromhex(want_hex)
            got = hashlib.scrypt(_bytes(secret), salt=bytes.fromhex(salt_hex), n=int(p["n"]), r=int(p["r"]),
                                 p=int(p["p"]), dklen=len(want), maxmem=64 * 1024 * 1024)
        elif algo == "pbkdf2_sha256":
            iterations, salt_hex, want_hex = rest.split(":")
            want = bytes.fromhex(want_hex)
            got = hashlib.pbkdf2_hmac("sha256", _bytes(secret), bytes.fromhex(salt_hex), int(iterations), len(want))
        elif algo == "sha256":
            salt_hex, want_hex = rest.split(":")
            want = bytes.fromhex(want_hex)
            got = hashlib.sha256(bytes.fromhex(salt_hex) + _bytes(secret)).digest()
        else:
            return False
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(got, want)


class _VerifiedCache:
    """Credentials that passed the slow check recently: MAC -> (expiry, owner), indexed by owner.

    The MAC is blake2b keyed with a per-process random key over (owner, stored hash, secret), so the
    table holds nothing an attacker could test guesses against, a lookup is a dict probe on a value
    the attacker cannot steer, and a changed stored hash (a password change, even by another
    process) makes old entries unreachable. ``drop(owner)`` frees them at once as well.
    """

    def __init__(self, ttl: float, clock: Callable[[], float]):
        self._key = secrets.token_bytes(32)
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[bytes, tuple[float, str]] = {}
        self._by_owner: dict[str, set[bytes]] = {}

    def mac(self, owner: str, stored: str, secret: str) -> bytes:
        h = hashlib.blake2b(key=self._key, digest_size=32)
        for part in (owner, stored, secret):
            data = _bytes(part)
            h.update(len(data).to_bytes(8, "big"))
            h.update(data)
        return h.digest()

    def hit(self, mac: bytes) -> bool:
        entry = self._entries.get(mac)
        if entry is None:
            return False
        if entry[0] > self._clock():
            return True
        self._remove(mac)
        return False

    def add(self, mac: bytes, owner: str) -> None:
        if self._ttl <= 0:
            return
        if len(self._entries) >= CREDENTIAL_CACHE_MAX:
            self._prune()
        self._entries[mac] = (self._clock() + self._ttl, owner)
        self._by_owner.setdefault(owner, set()).add(mac)

    def drop(self, owner: str) -> None:
        for mac in self._by_owner.pop(owner, ()):
            self._entries.pop(mac, None)

    def clear(self) -> None:
        self._entries.clear()
        self._by_owner.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _remove(self, mac: bytes) -> None:
        _, owner = self._entries.pop(mac)
        macs = self._by_owner.get(owner)
        if macs is not None:
            macs.discard(mac)
            if not macs:
                del self._by_owner[owner]

    def _prune(self) -> None:
        now = self._clock()
        for mac in [m for m, (exp, _) in self._entries.items() if exp <= now]:
            self._remove(mac)
        while len(self._entries) >= CREDENTIAL_CACHE_MAX:  # still full: forget the oldest
            self._remove(next(iter(self._entries)))


@attrs.define(slots=True)
class _Token:
    username: str
    expires_at: float
    # blake2b of the password hash the token was issued under: a password change or re-creation of
    # the user (by this process or another) voids the token.
    fingerprint: bytes


# --- the store -----------------------------------------------------------------------------------

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
_MIGRATIONS: dict[int, tuple[str, ...]] = {}

_API_KEY_COLUMNS = "name, api_key, enable, expired_at, created_at, description"


def _api_key_record(row) -> ApiKey:
    name, api_key, enable, expired_at, created_at, desc = row
    return ApiKey(name=name, api_key=api_key, enable=bool(enable), expired_at=expired_at,
                  created_at=created_at, desc=desc)


class AccountStore:
    def __init__(self, db_path: str, *, token_ttl: float = TOKEN_TTL, clock: Callable[[], float] = time.time,
                 cache_ttl: float = CREDENTIAL_CACHE_TTL):
        self.path = str(db_path)
        self.token_ttl = token_ttl
        self._clock = clock
        self._lock = threading.RLock()
        self._passwords = _VerifiedCache(cache_ttl, clock)
        self._secrets = _VerifiedCache(cache_ttl, clock)
        self._fp_key = secrets.token_bytes(32)
        self._tokens: dict[bytes, _Token] = {}      # sha256(token) -> _Token
        self._tokens_by_user: dict[str, set[bytes]] = {}
        self._next_token_sweep = 0.0
        self._dummy_hash: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._conn = self._open()

    # -- opening ----------------------------------------------------------------------------------

    def _broken(self, what: str) -> AccountStoreError:
        return AccountStoreError(
            f"{self.path}: {what}. Stop emqgw, then restore this file from a backup or move it (and any "
            f"-wal/-shm files beside it) aside; emqgw then starts a new one with the default user admin/public")

    def _open(self) -> sqlite3.Connection:
        try:
            # Created 0600 before SQLite sees it: the file holds password hashes. (SQLite gives the
            # -wal/-shm files the main file's mode.)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as e:
            raise AccountStoreError(f"{self.path}: cannot create the account database: {e.strerror or e}") from e
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")  # the first read: "file is not a database" shows here
            conn.execute("PRAGMA synchronous=NORMAL")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise self._broken(f"the account database is damaged ({check})")
            self._migrate(conn)
            self._ensure_default_user(conn)
        except sqlite3.Error as e:
            if conn is not None:
                conn.close()
            raise self._broken(f"the account database cannot be read ({e})") from e
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                for stmt in _SCHEMA_V1:
                    conn.execute(stmt)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif "schema_version" not in tables:
                raise self._broken("this SQLite file is not an emqgw account database")
            else:
                row = conn.execute("SELECT version FROM schema_version").fetchone()
                version = row[0] if row else None
                if not isinstance(version, int):
                    raise self._broken("the account database has no schema version")
                if version > SCHEMA_VERSION:
                    raise AccountStoreError(
                        f"{self.path}: the account database was written by a newer emqgw (schema {version}, "
                        f"this one knows {SCHEMA_VERSION}); run that version or restore a backup")
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

    def _ensure_default_user(self, conn: sqlite3.Connection) -> None:
        if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():
            return
        pw_hash = hash_password(DEFAULT_PASSWORD)  # outside the write lock: 50 ms
        now = self._clock()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():  # another process may have won
                conn.execute("INSERT INTO users (username, password_hash, description, created_at, "
                             "password_changed_at) VALUES (?, ?, ?, ?, ?)",
                             (DEFAULT_USERNAME, pw_hash, DEFAULT_USER_DESCRIPTION, now, now))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._passwords.clear()
            self._secrets.clear()
            self._tokens.clear()
            self._tokens_by_user.clear()

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
        if not _storable(username):
            return None
        with self._db() as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
        return row[0] if row else None

    def add_user(self, username: str, password: str, description: str = "", *,
                 enforce_policy: bool = True) -> User:
        validate_username(username)
        validate_password(password, enforce_policy=enforce_policy)
        if self._password_hash_of(username) is not None:  # cheap refusal before the slow hash
            raise Conflict(MSG_USERNAME_EXISTS, kind="user")
        pw_hash = hash_password(password)
        now = self._clock()
        with self._db(write=True) as conn:
            try:
                conn.execute("INSERT INTO users (username, password_hash, description, created_at, "
                             "password_changed_at) VALUES (?, ?, ?, ?, ?)",
                             (username, pw_hash, description, now, now))
            except sqlite3.IntegrityError:
                raise Conflict(MSG_USERNAME_EXISTS, kind="user") from None
        return User(username=username, description=description, created_at=now)

    def list_users(self) -> list[User]:
        with self._db() as conn:
            rows = conn.execute("SELECT username, description, created_at FROM users "
                                "ORDER BY created_at, username").fetchall()
        return [User(username=u, description=d, created_at=c) for u, d, c in rows]

    def get_user(self, username: str) -> User:
        with self._db() as conn:
            row = conn.execute("SELECT username, description, created_at FROM users WHERE username = ?",
                               (username,)).fetchone()
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
                cur = conn.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE username = ?",
                                   (pw_hash, self._clock(), username))
            else:
                cur = conn.execute("UPDATE users SET password_hash = ?, password_changed_at = ? "
                                   "WHERE username = ? AND password_hash = ?",
                                   (pw_hash, self._clock(), username, expected))
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
            _verify_hash(password, self._dummy())
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
        if not _verify_hash(password, stored):  # the slow part, outside the lock
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

    # -- login tokens (memory only) ---------------------------------------------------------------

    @staticmethod
    def _token_id(token: str) -> bytes:
        # Tokens are 256-bit random: a plain SHA-256 is enough to keep them out of memory dumps.
        return hashlib.sha256(_bytes(token)).digest()

    def _fingerprint(self, stored: str) -> bytes:
        return hashlib.blake2b(_bytes(stored), key=self._fp_key, digest_size=16).digest()

    def issue_token(self, username: str) -> str:
        """A new login token for a user the caller has authenticated; NotFound for an unknown user."""
        stored = self._password_hash_of(username)
        if stored is None:
            raise NotFound(MSG_USERNAME_NOT_FOUND, kind="user")
        token = secrets.token_urlsafe(32)
        tid = self._token_id(token)
        with self._lock:
            now = self._clock()
            self._sweep_tokens(now)
            self._tokens[tid] = _Token(username, now + self.token_ttl, self._fingerprint(stored))
            self._tokens_by_user.setdefault(username, set()).add(tid)
        return token

    def check_token(self, token: str) -> str:
        """The token's username; slides its expiry to now + TTL. TokenExpired / BadToken."""
        tid = self._token_id(token)
        with self._lock:
            now = self._clock()
            entry = self._tokens.get(tid)
            if entry is None:
                raise BadToken(MSG_BAD_TOKEN)
            if entry.expires_at <= now:
                raise TokenExpired(MSG_TOKEN_EXPIRED)
            stored = self._password_hash_of(entry.username)
            if stored is None or not hmac.compare_digest(self._fingerprint(stored), entry.fingerprint):
                # Deleted, or the password changed in another process (emqgw users passwd).
                self._drop_token(tid)
                raise BadToken(MSG_BAD_TOKEN)
            entry.expires_at = now + self.token_ttl
            return entry.username

    def revoke_token(self, token: str, username: str) -> bool:
        """Logout: False when the token is unknown or belongs to someone else (EMQX WRONG_TOKEN_OR_USERNAME)."""
        tid = self._token_id(token)
        with self._lock:
            entry = self._tokens.get(tid)
            if entry is None or entry.username != username:
                return False
            self._drop_token(tid)
            return True

    def revoke_user_tokens(self, username: str) -> None:
        with self._lock:
            for tid in self._tokens_by_user.pop(username, ()):
                self._tokens.pop(tid, None)

    def _drop_token(self, tid: bytes) -> None:
        entry = self._tokens.pop(tid, None)
        if entry is not None:
            tids = self._tokens_by_user.get(entry.username)
            if tids is not None:
                tids.discard(tid)
                if not tids:
                    del self._tokens_by_user[entry.username]

    def _sweep_tokens(self, now: float) -> None:
        # An expired token is kept for one more TTL so that its holder is told TOKEN_TIME_OUT rather
        # than BAD_TOKEN (EMQX's token cleaner likewise runs only periodically); then it is dropped.
        if now < self._next_token_sweep:
            return
        self._next_token_sweep = now + min(60.0, self.token_ttl)
        for tid in [t for t, e in self._tokens.items() if e.expires_at + self.token_ttl <= now]:
            self._drop_token(tid)

    # -- API keys ---------------------------------------------------------------------------------

    def create_api_key(self, name: str, desc: str = "", enable: bool = True,
                       expired_at: float | None = None) -> tuple[ApiKey, str]:
        """The new key and its secret; the secret is not stored and cannot be shown again."""
        validate_api_key_name(name)
        secret = new_api_secret()
        key = ApiKey(name=name, api_key=api_key_for_name(name), enable=bool(enable), expired_at=expired_at,
                     created_at=self._clock(), desc=desc)
        with self._db(write=True) as conn:
            if conn.execute("SELECT count(*) FROM api_keys").fetchone()[0] >= MAX_API_KEYS:
                raise LimitExceeded(MSG_API_KEY_LIMIT, kind="api_key")
            if conn.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone():
                raise Conflict(MSG_API_KEY_EXISTS, kind="api_key")
            if conn.execute("SELECT 1 FROM api_keys WHERE api_key = ?", (key.api_key,)).fetchone():
                raise Conflict(MSG_API_KEY_KEY_EXISTS, kind="api_key")  # only a bootstrapped key can collide
            conn.execute("INSERT INTO api_keys (name, api_key, secret_hash, enable, expired_at, created_at, "
                         "description) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (key.name, key.api_key, hash_random_secret(secret), int(key.enable), key.expired_at,
                          key.created_at, key.desc))
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

    def update_api_key(self, name: str, *, enable: bool | None = None, desc: str | None = None,
                       expired_at: float | None | _Keep = None) -> ApiKey:
        """EMQX PUT /api_key/{name}: None keeps ``enable``/``desc``; ``expired_at`` defaults to infinity
        (None) as in EMQX, pass KEEP to leave it unchanged."""
        with self._db(write=True) as conn:
            row = conn.execute(f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(MSG_API_KEY_NOT_FOUND, kind="api_key")
            old = _api_key_record(row)
            new = attrs.evolve(old, enable=old.enable if enable is None else bool(enable),
                               desc=old.desc if desc is None else desc,
                               expired_at=old.expired_at if expired_at is KEEP else expired_at)
            conn.execute("UPDATE api_keys SET enable = ?, expired_at = ?, description = ? WHERE name = ?",
                         (int(new.enable), new.expired_at, new.desc, name))
            self._secrets.drop(old.api_key)
        return new

    def delete_api_key(self, name: str) -> None:
        with self._db(write=True) as conn:
            row = conn.execute("SELECT api_key FROM api_keys WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(MSG_API_KEY_NOT_FOUND, kind="api_key")
            conn.execute("DELETE FROM api_keys WHERE name = ?", (name,))
            self._secrets.drop(row[0])

    def check_api_key(self, api_key: str, api_secret: str) -> ApiKey | None:
        """The key when the pair is valid, enabled and not expired; None otherwise (EMQX answers all
        four cases with the same BAD_API_KEY_OR_SECRET)."""
        if not _storable(api_key):
            return None
        with self._db() as conn:
            row = conn.execute(f"SELECT {_API_KEY_COLUMNS}, secret_hash FROM api_keys WHERE api_key = ?",
                               (api_key,)).fetchone()
        if row is None:
            return None
        key, stored = _api_key_record(row[:-1]), row[-1]
        if not key.enable or key.expired_by(self._clock()):
            return None
        mac = self._secrets.mac(api_key, stored, api_secret)
        with self._lock:
            if self._secrets.hit(mac):
                return key
        if not _verify_hash(api_secret, stored):
            return None
        with self._lock:
            self._secrets.add(mac, api_key)
        return key

    def bootstrap_api_keys(self, path: str) -> list[str]:
        """Load EMQX's ``api_key.bootstrap_file``: lines ``api_key:api_secret[:role]``.

        Each line creates or overwrites the key named ``from_bootstrap_file_<sha512(api_key) prefix>``,
        enabled, never expiring, desc "Bootstrapped From File" (emqx_mgmt_auth:init_bootstrap_file/1;
        the file wins over the database, as in EMQX, so a key disabled through the API is re-enabled at
        the next load). A key with the same api_key under another name is replaced. The limit of 100
        keys does not apply. Blank lines and ``#`` comments are skipped. The file is parsed completely
        before anything is written: a malformed line changes nothing. Returns the names loaded.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise AccountStoreError(f"{path}: cannot read the API key bootstrap file: {reason}") from e
        pairs: dict[str, str] = {}  # api_key -> secret; a repeated key: the last line wins (EMQX)
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, rest = line.partition(":")
            secret, _, role = rest.partition(":")
            if not sep or not key or not secret or (role and role not in API_ROLES):
                # The line itself is not quoted: it holds a secret.
                raise AccountStoreError(
                    f"{path}:{lineno}: expected api_key:api_secret[:role] (role one of {', '.join(API_ROLES)})")
            pairs.pop(key, None)
            pairs[key] = secret
        hashed = {}
        for key, secret in pairs.items():  # slow hashes before taking the write lock
            hashed[key] = hash_password(secret)  # a person chose it: slow hash
        now = self._clock()
        names = []
        with self._db(write=True) as conn:
            for key, secret_hash in hashed.items():
                name = bootstrap_name(key)
                conn.execute("DELETE FROM api_keys WHERE api_key = ? AND name != ?", (key, name))
                cur = conn.execute("UPDATE api_keys SET api_key = ?, secret_hash = ?, enable = 1, expired_at = NULL, "
                                   "description = ? WHERE name = ?", (key, secret_hash, BOOTSTRAP_DESC, name))
                if cur.rowcount == 0:
                    conn.execute("INSERT INTO api_keys (name, api_key, secret_hash, enable, expired_at, created_at, "
                                 "description) VALUES (?, ?, ?, 1, NULL, ?, ?)",
                                 (name, key, secret_hash, now, BOOTSTRAP_DESC))
                self._secrets.drop(key)
                names.append(name)
        return names
