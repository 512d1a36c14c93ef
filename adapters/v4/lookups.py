"""Lookups both flavors make the same way (their renderings differ, the question does not)."""
from __future__ import annotations

from schemas.errors import NotFound
from schemas.records import Subscription


async def subscriptions_of(control, clientid: str) -> list[Subscription]:
    """A client's subscriptions; an unknown client has none (both products answer an empty list)."""
    try:
        return await control.client_subscriptions(clientid)
    except NotFound:
        return []
