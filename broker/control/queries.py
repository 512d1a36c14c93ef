"""Client queries evaluated against sessions, and the cursor of the cursor listing."""

from __future__ import annotations

import base64
import binascii

import attrs

from schemas.errors import InvalidArgument
from schemas.records import ClientQuery

from ..core import Broker
from ..session import Session


def client_matches(q: ClientQuery, info_src: Session, b: Broker) -> bool:
    s = info_src
    ch = s.channel or b.last_channels.get(s.clientid)
    if q.clientid is not None and s.clientid not in q.clientid:
        return False
    if q.username is not None and s.username not in q.username:
        return False
    if q.like_clientid is not None and q.like_clientid not in s.clientid:
        return False
    if q.like_username is not None and (s.username is None or q.like_username not in s.username):
        return False
    if q.conn_state is not None:
        state = "connected" if s.channel is not None else "disconnected"
        if q.conn_state != state:
            return False
    if q.clean_start is not None and s.clean_start != q.clean_start:
        return False
    if q.ip_address is not None and (ch is None or ch.peerhost != q.ip_address):
        return False
    if q.proto_ver is not None and (ch is None or ch.version != q.proto_ver):
        return False
    if q.gte_created_at is not None and s.created_at < q.gte_created_at:
        return False
    if q.lte_created_at is not None and s.created_at > q.lte_created_at:
        return False
    if q.proto_name is not None and (ch is None or ch.proto_name != q.proto_name):
        return False
    if q.gte_mqueue_len is not None and len(s.mqueue) < q.gte_mqueue_len:
        return False
    if q.lte_mqueue_len is not None and len(s.mqueue) > q.lte_mqueue_len:
        return False
    if q.gte_mqueue_dropped is not None and s.mqueue_dropped < q.gte_mqueue_dropped:
        return False
    if q.lte_mqueue_dropped is not None and s.mqueue_dropped > q.lte_mqueue_dropped:
        return False
    if q.gte_connected_at is not None or q.lte_connected_at is not None:
        at = ch.connected_at if ch is not None else None
        if at is None:
            return False
        if q.gte_connected_at is not None and at < q.gte_connected_at:
            return False
        if q.lte_connected_at is not None and at > q.lte_connected_at:
            return False
    return True


def is_unfiltered(q: ClientQuery) -> bool:
    return all(v is None for v in attrs.astuple(q))


def encode_cursor(clientid: str) -> str:
    return base64.urlsafe_b64encode(clientid.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise InvalidArgument("bad cursor", field="cursor") from e
