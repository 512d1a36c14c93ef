"""Password hashes of the built-in credential database, computed as EMQX 5 computes them
(emqx_authn_password_hashing, emqx_authn_mnesia @ v5.8.9), so that exported rows import either way.

- md5, sha, sha256, sha512: the lowercase hex digest of ``salt + password`` (salt position ``prefix``),
  ``password + salt`` (``suffix``) or the password alone (``disable``); the salt is 32 lowercase hex
  characters (16 random bytes), empty when disabled.
- bcrypt: ``bcrypt.hashpw`` with a fresh ``gensalt(salt_rounds)``; the salt kept is that ``$2b$..`` prefix.
- pbkdf2: the hex of ``pbkdf2_hmac(mac_fun, password, salt, iterations, dk_length)``, salt as above.
- plain: EMQX keeps the (salted) password itself. Passwords are never stored in clear here, so a user
  created under ``plain`` is stored as salted SHA-256 (``stored_algorithm``); a hashed import of plain
  rows is still read correctly (``verify``), and nothing outside can tell the difference since no
  dialect ever shows a hash.

Every comparison is constant-time (``hmac.compare_digest``). bcrypt and pbkdf2 are slow on purpose:
``is_slow`` tells the caller to run them off the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import attrs

from schemas.errors import InvalidArgument, NotSupported
from schemas.records import HASH_ALGORITHMS, PBKDF2_MACS, SALT_POSITIONS, PasswordHash

try:
    import bcrypt as _bcrypt
except ImportError:  # an optional dependency: bcrypt is refused as not supported without it
    _bcrypt = None  # type: ignore[assignment]

_SIMPLE = {"md5": hashlib.md5, "sha": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_MACS = {"sha": "sha1"}  # EMQX's mac_fun name -> hashlib's, where they differ
SALT_BYTES = 16  # emqx_authn_password_hashing:gen_salt/0: 16 random bytes, hex-encoded
# emqx_authn_password_hashing: bcrypt salt_rounds 5..10 (the API's range), default 10.
BCRYPT_ROUNDS = (5, 10)
# bcrypt reads at most 72 bytes of a password; longer ones are cut there, as every bcrypt always did.
BCRYPT_MAX_PASSWORD = 72
# What the database stores for a user created under `plain` (see the module docstring).
PLAIN_STORAGE = PasswordHash(name="sha256", salt_position="prefix")


def _bad(message: str) -> InvalidArgument:
    return InvalidArgument(message, field="password_hash_algorithm")


def _mac_available(mac: str) -> bool:
    try:
        hashlib.new(_MACS.get(mac, mac))
    except ValueError:  # md4 and ripemd160 need OpenSSL's legacy provider
        return False
    return True


def validate(algo: PasswordHash) -> None:
    """InvalidArgument for a name or parameter EMQX refuses; NotSupported for one this host cannot compute."""
    if algo.name not in HASH_ALGORITHMS:
        raise _bad(f"unknown password hash algorithm {algo.name!r}; one of {', '.join(HASH_ALGORITHMS)}")
    if algo.name in _SIMPLE or algo.name == "plain":
        if algo.salt_position not in SALT_POSITIONS:
            raise _bad(f"salt_position must be one of {', '.join(SALT_POSITIONS)}, not {algo.salt_position!r}")
    elif algo.name == "bcrypt":
        lo, hi = BCRYPT_ROUNDS
        if not lo <= algo.salt_rounds <= hi:
            raise _bad(f"bcrypt salt_rounds must be between {lo} and {hi}, not {algo.salt_rounds}")
        if _bcrypt is None:
            raise NotSupported("bcrypt is not available: install the bcrypt package", kind="authenticator")
    else:
        if algo.mac_fun not in PBKDF2_MACS:
            raise _bad(f"pbkdf2 mac_fun must be one of {', '.join(PBKDF2_MACS)}, not {algo.mac_fun!r}")
        if algo.iterations < 1 or (algo.dk_length is not None and algo.dk_length < 1):
            raise _bad("pbkdf2 iterations and dk_length must be 1 or more")
        if not _mac_available(algo.mac_fun):
            raise NotSupported(f"pbkdf2 with {algo.mac_fun} is not available on this host", kind="authenticator")


def is_slow(algo: PasswordHash) -> bool:
    return algo.name in ("bcrypt", "pbkdf2")


def stored_algorithm(algo: PasswordHash) -> PasswordHash:
    """The algorithm a new password is stored under when the authenticator asks for ``algo``."""
    return PLAIN_STORAGE if algo.name == "plain" else attrs.evolve(algo)


def _salted(algo: PasswordHash, password: bytes, salt: str) -> bytes:
    if algo.salt_position == "prefix":
        return salt.encode() + password
    if algo.salt_position == "suffix":
        return password + salt.encode()
    return password


def _compute(algo: PasswordHash, password: bytes, salt: str) -> str:
    if algo.name == "plain":
        return _salted(algo, password, salt).decode("utf-8", "surrogateescape")
    if algo.name == "pbkdf2":
        mac = _MACS.get(algo.mac_fun, algo.mac_fun)
        return hashlib.pbkdf2_hmac(mac, password, salt.encode(), algo.iterations, algo.dk_length).hex()
    return _SIMPLE[algo.name](_salted(algo, password, salt)).hexdigest()


def hash_password(algo: PasswordHash, password: str) -> tuple[str, str, PasswordHash]:
    """(hash, salt, the algorithm they are under) for a new password; slow for bcrypt and pbkdf2."""
    algo = stored_algorithm(algo)
    raw = password.encode("utf-8", "surrogatepass")
    if algo.name == "bcrypt":
        assert _bcrypt is not None  # validate() refuses bcrypt without the package
        bcrypt_salt = _bcrypt.gensalt(algo.salt_rounds)
        return _bcrypt.hashpw(raw[:BCRYPT_MAX_PASSWORD], bcrypt_salt).decode(), bcrypt_salt.decode(), algo
    salt = "" if algo.name != "pbkdf2" and algo.salt_position == "disable" else secrets.token_hex(SALT_BYTES)
    return _compute(algo, raw, salt), salt, algo


def verify(algo: PasswordHash, password: bytes, stored_hash: str, salt: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` (with ``salt``, under ``algo``) was made from."""
    if algo.name == "bcrypt":
        if _bcrypt is None:
            return False
        try:
            return _bcrypt.checkpw(password[:BCRYPT_MAX_PASSWORD], stored_hash.encode())
        except ValueError:  # not a bcrypt hash (a bad import row): it matches nothing
            return False
    computed = _compute(algo, password, salt)
    return hmac.compare_digest(
        computed.encode("utf-8", "surrogateescape"), stored_hash.encode("utf-8", "surrogateescape")
    )
