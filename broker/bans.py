"""The banned list: who may not connect, by client id, username or address, exactly or by pattern.

Plain data and matching; the broker owns the one instance, changes it through its commands
(``Broker.add_ban`` ...) and tells its observers. An entry past its ``until`` is forgotten the next
time the list is read.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterator

from schemas.records import BannedEntry


def ban_matches(kind: str, who: str, clientid: str, username: str | None, peerhost: str) -> bool:
    if kind == "clientid":
        return clientid == who
    if kind == "username":
        return username is not None and username == who
    if kind == "peerhost":
        return peerhost == who
    if kind == "clientid_re":
        return re.search(who, clientid) is not None
    if kind == "username_re":
        return username is not None and re.search(who, username) is not None
    if kind == "peerhost_net":
        try:
            return ipaddress.ip_address(peerhost) in ipaddress.ip_network(who, strict=False)
        except ValueError:
            return False
    return False


class BanList:
    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], BannedEntry] = {}

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __contains__(self, key: object) -> bool:
        """``(kind, who)`` is banned (expired entries included until the next read)."""
        return key in self._entries

    def add(self, entry: BannedEntry) -> None:
        self._entries[(entry.as_, entry.who)] = entry

    def delete(self, kind: str, who: str) -> bool:
        return self._entries.pop((kind, who), None) is not None

    def clear(self) -> None:
        self._entries.clear()

    def entries(self) -> list[BannedEntry]:
        """The entries still in force, in the order they were added."""
        return list(self._live())

    def matches(self, clientid: str, username: str | None, peerhost: str) -> bool:
        return any(ban_matches(e.as_, e.who, clientid, username, peerhost) for e in self._live())

    def _live(self) -> Iterator[BannedEntry]:
        now = time.time()
        entries = self._entries
        for key, entry in list(entries.items()):
            if entry.until is not None and entry.until <= now:
                del entries[key]
                continue
            yield entry
