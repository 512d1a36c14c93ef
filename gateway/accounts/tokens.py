"""Dashboard login tokens, opaque to their holder. ``LoginTokens``: sliding expiry, memory only (lost on
restart, as in EMQX, whose emqx_dashboard_token keeps them in a RAM table). ``SignedTokens``: for
several gateways behind one load balancer, any of which must accept a token another one issued."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Protocol

import attrs
import orjson

from .errors import BadToken, TokenExpired
from .hashing import secret_bytes

TOKEN_TTL = 3600.0  # EMQX dashboard.token_expired_time = 60m

MSG_TOKEN_EXPIRED = "Token expired, get new token by POST /login"
MSG_BAD_TOKEN = "Get a token by POST /login"


@attrs.define(slots=True)
class _Token:
    username: str
    expires_at: float
    # blake2b of the password hash the token was issued under: a password change or re-creation of
    # the user (by this process or another) voids the token.
    fingerprint: bytes


class LoginTokens:
    """The tokens issued by this process. Not locked: the account store calls it under its lock."""

    def __init__(self, ttl: float, clock: Callable[[], float]):
        self.ttl = ttl
        self._clock = clock
        self._fp_key = secrets.token_bytes(32)
        self._by_id: dict[bytes, _Token] = {}  # sha256(token) -> _Token
        self._by_user: dict[str, set[bytes]] = {}
        self._next_sweep = 0.0

    @staticmethod
    def _token_id(token: str) -> bytes:
        # Tokens are 256-bit random: a plain SHA-256 is enough to keep them out of memory dumps.
        return hashlib.sha256(secret_bytes(token)).digest()

    def _fingerprint(self, password_hash: str) -> bytes:
        return hashlib.blake2b(secret_bytes(password_hash), key=self._fp_key, digest_size=16).digest()

    def issue(self, username: str, password_hash: str) -> str:
        """A new token for a user the caller has authenticated, whose stored hash is ``password_hash``."""
        token = secrets.token_urlsafe(32)
        tid = self._token_id(token)
        now = self._clock()
        self._sweep(now)
        self._by_id[tid] = _Token(username, now + self.ttl, self._fingerprint(password_hash))
        self._by_user.setdefault(username, set()).add(tid)
        return token

    def check(self, token: str, password_hash_of: Callable[[str], str | None]) -> str:
        """The token's username; slides its expiry to now + TTL. TokenExpired / BadToken.

        ``password_hash_of`` reads the user's current hash, so that a deletion or a password change made
        by another process (``emqgw users passwd``) voids the token at its next use.
        """
        tid = self._token_id(token)
        now = self._clock()
        entry = self._by_id.get(tid)
        if entry is None:
            raise BadToken(MSG_BAD_TOKEN)
        if entry.expires_at <= now:
            raise TokenExpired(MSG_TOKEN_EXPIRED)
        stored = password_hash_of(entry.username)
        if stored is None or not hmac.compare_digest(self._fingerprint(stored), entry.fingerprint):
            self._drop(tid)
            raise BadToken(MSG_BAD_TOKEN)
        entry.expires_at = now + self.ttl
        return entry.username

    def revoke(self, token: str, username: str) -> bool:
        """Logout: False when the token is unknown or belongs to someone else (EMQX WRONG_TOKEN_OR_USERNAME)."""
        tid = self._token_id(token)
        entry = self._by_id.get(tid)
        if entry is None or entry.username != username:
            return False
        self._drop(tid)
        return True

    def revoke_user(self, username: str) -> None:
        for tid in self._by_user.pop(username, ()):
            self._by_id.pop(tid, None)

    def clear(self) -> None:
        self._by_id.clear()
        self._by_user.clear()

    def _drop(self, tid: bytes) -> None:
        entry = self._by_id.pop(tid, None)
        if entry is not None:
            tids = self._by_user.get(entry.username)
            if tids is not None:
                tids.discard(tid)
                if not tids:
                    del self._by_user[entry.username]

    def _sweep(self, now: float) -> None:
        # An expired token is kept for one more TTL so that its holder is told TOKEN_TIME_OUT rather
        # than BAD_TOKEN (EMQX's token cleaner likewise runs only periodically); then it is dropped.
        if now < self._next_sweep:
            return
        self._next_sweep = now + min(60.0, self.ttl)
        for tid in [t for t, e in self._by_id.items() if e.expires_at + self.ttl <= now]:
            self._drop(tid)


class Revocations(Protocol):
    """Where signed tokens that were logged out are remembered until they would have expired anyway:
    the account database, which every gateway of a deployment reads."""

    def is_revoked(self, token_id: bytes) -> bool: ...
    def revoke(self, token_id: bytes, expires_at: float) -> None: ...


class SignedTokens:
    """Tokens any gateway holding ``key`` accepts: gateways behind one load balancer need no sticky
    sessions. A token carries its user, its expiry and a fingerprint of the password hash it was issued
    under, MACed with the key; nothing about it is kept in memory.

    Unlike ``LoginTokens`` the expiry does not slide (a token is checked by whichever gateway gets the
    request, none of which could move it): a token lives TTL seconds from its login. A logout is
    remembered in ``revocations``; a password change or a deletion voids the user's tokens through
    the fingerprint, as with ``LoginTokens``.
    """

    PREFIX = "emqgw1"

    def __init__(self, key: bytes, ttl: float, clock: Callable[[], float], revocations: Revocations):
        if len(key) < 16:
            raise ValueError("a token key needs at least 16 bytes")
        self.ttl = ttl
        self._key = key
        self._clock = clock
        self._revocations = revocations

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, b"token\0" + payload, hashlib.sha256).digest()

    def _fingerprint(self, password_hash: str) -> str:
        digest = hmac.new(self._key, b"fingerprint\0" + secret_bytes(password_hash), hashlib.sha256).digest()
        return _b64(digest[:16])

    def issue(self, username: str, password_hash: str) -> str:
        exp = self._clock() + self.ttl
        payload = orjson.dumps({"u": username, "exp": exp, "fp": self._fingerprint(password_hash)})
        return f"{self.PREFIX}.{_b64(payload)}.{_b64(self._mac(payload))}"

    def _claims(self, token: str) -> dict | None:
        """The token's content when it is one of ours, untouched; None otherwise."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != self.PREFIX:
            return None
        try:
            payload, mac = _unb64(parts[1]), _unb64(parts[2])
        except ValueError:
            return None
        if not hmac.compare_digest(self._mac(payload), mac):
            return None
        claims = orjson.loads(payload)
        return claims if isinstance(claims, dict) else None

    def check(self, token: str, password_hash_of: Callable[[str], str | None]) -> str:
        claims = self._claims(token)
        if claims is None or self._revocations.is_revoked(LoginTokens._token_id(token)):
            raise BadToken(MSG_BAD_TOKEN)
        if claims["exp"] <= self._clock():
            raise TokenExpired(MSG_TOKEN_EXPIRED)
        stored = password_hash_of(claims["u"])
        if stored is None or not hmac.compare_digest(self._fingerprint(stored), claims["fp"]):
            raise BadToken(MSG_BAD_TOKEN)
        return claims["u"]

    def revoke(self, token: str, username: str) -> bool:
        claims = self._claims(token)
        if claims is None or claims["u"] != username:
            return False
        tid = LoginTokens._token_id(token)
        if self._revocations.is_revoked(tid):
            return False
        self._revocations.revoke(tid, claims["exp"])
        return True

    def revoke_user(self, username: str) -> None:
        """Nothing to forget: the user's tokens are void once the password hash they name is gone."""

    def clear(self) -> None:
        """Nothing is held in memory."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError("not base64url") from e
