"""Credentials as every dialect receives them: the Basic header, and the dashboard password check."""

from __future__ import annotations

import asyncio
import base64
import binascii


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic` header; None if absent, another scheme or garbled."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        text = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    return (user, password) if sep else None


async def password_ok(accounts, username: str, password: str) -> bool:
    """The account store's check without stalling the event loop.

    A credential verified recently answers from memory at once; anything else costs a slow hash
    (~50 ms), which runs in a thread so that other requests and MQTT clients go on meanwhile.
    """
    if accounts.recently_verified(username, password):
        return True
    return await asyncio.to_thread(accounts.check_password, username, password)
