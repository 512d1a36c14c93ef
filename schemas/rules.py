"""Argument rules every implementation of the control interface applies before it changes anything, so that
a request is refused the same way whichever broker is behind (and an upstream is never sent a request it
would have to refuse)."""

from __future__ import annotations

import ipaddress

from .errors import InvalidArgument
from .records import BAN_KINDS, BannedEntry


def storable(text: str) -> bool:
    """False for strings the state databases cannot store (lone surrogates, e.g. from a lenient decode):
    a user id, a password or an account name that is one is refused, never half-written."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_banned(entry: BannedEntry) -> None:
    if entry.as_ not in BAN_KINDS:
        raise InvalidArgument(f"bad 'as' {entry.as_!r}", field="as")
    if not entry.who:
        raise InvalidArgument("'who' is required", field="who")
    if entry.as_ == "peerhost_net":
        try:
            ipaddress.ip_network(entry.who, strict=False)
        except ValueError as e:
            raise InvalidArgument(f"bad network {entry.who!r}", field="who") from e
