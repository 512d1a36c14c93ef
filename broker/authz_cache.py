"""A connection's authorization cache (EMQX's ``authorization.cache``): the verdicts of its recent checks,
so that a client publishing to the same topics is not checked against every rule each time.

It lives on the Channel (``authz_cache``) and dies with it. An entry is kept for ``ttl`` seconds; when
``max_size`` entries are held the oldest goes first. Every change to the rules or settings bumps the
authorizer's generation, and a cache of an older generation is empty from then on (EMQX drains every
cache on a change), so a rule added over HTTP applies to the very next PUBLISH of a connected client.
"""

from __future__ import annotations

import time

from schemas.records import AuthzCacheEntry

# (action, topic, qos, retain): what EMQX 5 keys an entry by.
Key = tuple[str, str, int, bool]


class AuthzCache:
    __slots__ = ("generation", "entries")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        # key -> (allowed, expires at (monotonic), updated at (epoch seconds)); insertion order = age.
        # Read by Authorization.check directly (a PUBLISH's hot path); an expired entry is replaced by put.
        self.entries: dict[Key, tuple[bool, float, float]] = {}

    def put(self, key: Key, allowed: bool, now: float, ttl: float, max_size: int) -> None:
        entries = self.entries
        entries.pop(key, None)
        while len(entries) >= max_size:
            del entries[next(iter(entries))]
        entries[key] = (allowed, now + ttl, time.time())

    def listing(self, now: float) -> list[AuthzCacheEntry]:
        return [
            AuthzCacheEntry(
                action=k[0], topic=k[1], qos=k[2], retain=k[3], result="allow" if v[0] else "deny", updated_at=v[2]
            )
            for k, v in self.entries.items()
            if v[1] > now
        ]

    def drop_topic(self, topic: str) -> None:
        for key in [k for k in self.entries if k[1] == topic]:
            del self.entries[key]
