"""Credentials that passed the slow hash check recently, so that a repeated check costs microseconds.

Basic auth (EMQ 2.x / EMQX 4 dialects, MQTT CONNECT) sends the password with every request; without
this cache each one would cost a slow hash (see ``hashing``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from .hashing import secret_bytes

# Verified credentials are remembered this long.
CREDENTIAL_CACHE_TTL = 300.0
# Bound on remembered credentials (only successful checks are cached, so this is a bound on distinct
# valid username/password or key/secret pairs seen within CREDENTIAL_CACHE_TTL).
CREDENTIAL_CACHE_MAX = 10_000


class VerifiedCache:
    """MAC -> (expiry, owner), indexed by owner. Not locked: the account store calls it under its lock.

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
            data = secret_bytes(part)
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
