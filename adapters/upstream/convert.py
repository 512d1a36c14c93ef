"""EMQX 5's JSON (its `/api/v5` objects) to the interface's records and back.

Field names come from the crosswalk's EMQX 5 column (``adapters.common.fields``), the same table the
`/api/v5` dialect renders with, so a name is spelled in one place; times are read as EMQX writes them
(RFC 3339, or epoch milliseconds), memory figures as its "1.23G" strings.
"""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable
from typing import Any

import attrs
import orjson

from adapters.common import units
from adapters.common.fields import CLIENT, CLIENT_FIELDS_ENUM, SUBSCRIPTION
from adapters.common.timefmt import parse_time, parse_time_s, rfc3339_s
from schemas.binds import format_bind, parse_bind
from schemas.records import (
    NO_CONNECTION_LIMIT,
    Alarm,
    BannedEntry,
    ClientInfo,
    ListenerConfig,
    ListenerInfo,
    NodeInfo,
    RetainedMessage,
    Route,
    SessionMessage,
    SubscribeRequest,
    Subscription,
)
from schemas.topics import parse_share

# EMQX 5 client key -> (record attribute, kind); `peerport` repeats `port` and is left out.
_CLIENT_KEYS = {f.v5: (f.attr, f.kind) for f in CLIENT if f.v5 is not None and f.v5 != "peerport"}
_CLIENT_REQUIRED = {a.name for a in attrs.fields(ClientInfo) if a.default is attrs.NOTHING}
# Record attribute -> its EMQX 5 key, in the table's order (what a `fields=` list is written from).
_CLIENT_FIELDS = {attr: key for key, (attr, _kind) in _CLIENT_KEYS.items()}
# The record's worked-out attributes, and the one each is worked out from.
_CLIENT_DERIVED = {"conn_state": "connected"}
_CLIENT_STORED = frozenset(attrs.fields_dict(ClientInfo))


def client_fields(attributes: frozenset[str] | None) -> str | None:
    """EMQX's `fields=` for a listing whose reader needs only these record attributes (with the client
    id, which the records are known by), or None for every field: when nothing is said, or one of them
    is not in EMQX's enum (those come only in whole objects). A v2 page then weighs 20 KB, not 100.

    EMQX has served `fields=` since 5.6 (the API spoken here is 5.8's)."""
    if attributes is None:
        return None
    needed = {_CLIENT_DERIVED.get(a, a) for a in attributes} | {"clientid"}
    if not needed <= _CLIENT_STORED:
        return None  # a worked-out attribute this does not know the making of
    # Attributes EMQX has no key for (EMQ 2.x's counters, NanoMQ's will) stay unknown either way.
    wanted = [key for attr, key in _CLIENT_FIELDS.items() if attr in needed]
    if not CLIENT_FIELDS_ENUM.issuperset(wanted):
        return None
    return ",".join(wanted)


# A client's times are fixed instants (created, connected, disconnected) listed again and again.
_parse_time = functools.lru_cache(maxsize=1 << 16)(parse_time)


def _time(value: Any) -> float | None:
    return None if value in (None, "") else _parse_time(value)


# How the values of a client's few keys that are not taken as they are (the crosswalk's kinds) are read.
_READERS: dict[str, Callable[[Any], Any]] = {
    "time": _time,
    "infinity": units.count_or_infinity,
    "username": lambda name: name or None,  # EMQX 5 writes "" or null for a client without one
}
_CLIENT_PLAIN = {key: attr for key, (attr, kind) in _CLIENT_KEYS.items() if kind not in _READERS}
_CLIENT_READ = {key: (attr, _READERS[kind]) for key, (attr, kind) in _CLIENT_KEYS.items() if kind in _READERS}


def _memory(figure: Any) -> int:
    """EMQX's node memory figures ("1.23G", "120.50M", "512.00K", or bytes below 1 KiB) as bytes: what
    ``adapters.common.timefmt.memory_string`` writes, read back."""
    if isinstance(figure, int):
        return figure
    text = str(figure).strip()
    scale = {"K": units.KB, "M": units.KB**2, "G": units.KB**3}.get(text[-1:].upper())
    if scale is None:
        return int(float(text))
    return round(float(text[:-1]) * scale)


def node_info(doc: dict) -> NodeInfo:
    now = time.time()
    uptime = doc.get("uptime", 0) / 1000
    edition = doc.get("edition")
    return NodeInfo(
        node=doc["node"],
        node_status=doc.get("node_status", "running"),
        version=doc.get("version", ""),
        sysdescr=f"EMQX {edition}" if edition else "EMQX",
        uptime=uptime,
        started_at=now - uptime,
        datetime=now,
        connections=doc.get("connections", 0),
        live_connections=doc.get("live_connections", 0),
        load1=float(doc.get("load1", 0)),
        load5=float(doc.get("load5", 0)),
        load15=float(doc.get("load15", 0)),
        memory_total=_memory(doc.get("memory_total", 0)),
        memory_used=_memory(doc.get("memory_used", 0)),
        max_fds=doc.get("max_fds", 0),
        process_available=doc.get("process_available", 0),
        process_used=doc.get("process_used", 0),
        os_pid=0,  # EMQX does not say
        # The runtime's release where emqgw reports Python's: EMQX's OTP release.
        python_version=doc.get("otp_release", ""),
    )


@attrs.frozen
class ListingPage:
    """Decodes a page of an EMQX listing (``{"data": [...], "meta": {...}}``) with its rows converted by
    ``row``; equal for the same ``row``, so that an identical page's decoding is reused (client.SameBodies)."""

    row: Callable[[dict], Any]

    def __call__(self, body: bytes) -> dict:
        doc = orjson.loads(body)
        doc["data"] = [self.row(r) for r in doc.get("data") or ()]
        return doc


class ClientRecords:
    """ClientInfo records by client id, handed out again while EMQX sends the very same object (every
    key and value equal): the dialects then find the row they rendered from it (adapters.common.rows),
    as with the embedded broker's records. Nothing is answered from here: each listing is fetched."""

    MAX = 10_000  # remembered records; beyond that the memo starts over

    def __init__(self) -> None:
        self.memo: dict[str, tuple[dict, ClientInfo]] = {}

    def __call__(self, doc: dict) -> ClientInfo:
        hit = self.memo.get(doc.get("clientid", ""))
        if hit is not None and hit[0] == doc:
            return hit[1]
        if len(self.memo) >= self.MAX:
            self.memo.clear()
        info = client_info(doc)
        self.memo[info.clientid] = (doc, info)
        return info


def client_info(doc: dict) -> ClientInfo:
    # A changed page of 100 clients is 100 of these: the keys taken as they are in one pass, then the few
    # values that need reading.
    plain = _CLIENT_PLAIN
    values: dict[str, Any] = {plain[key]: value for key, value in doc.items() if key in plain}
    for key, (attr, read) in _CLIENT_READ.items():
        if key in doc:
            values[attr] = read(doc[key])
    if "port" not in values and "peerport" in doc:
        values["port"] = doc["peerport"]
    for name in _CLIENT_REQUIRED - values.keys():
        values[name] = None  # absent from EMQX's object: not known (a disconnected client's address ...)
    if values["created_at"] is None:
        values["created_at"] = values["connected_at"] or 0.0
    for name, fallback in (("keepalive", 0), ("clean_start", True), ("expiry_interval", 0), ("proto_ver", 4)):
        if values[name] is None:
            values[name] = fallback
    if values["proto_name"] is None:
        values["proto_name"] = "MQTT"
    values["connected"] = bool(values["connected"])
    return ClientInfo(**values)


# EMQX 5 subscription key -> record attribute (the table read once, not per row of a listing).
_SUBSCRIPTION_KEYS = {f.v5: f.attr for f in SUBSCRIPTION if f.v5 is not None}


def subscription(doc: dict) -> Subscription:
    group, _real = parse_share(doc["topic"])
    names = _SUBSCRIPTION_KEYS
    values = {names[k]: v for k, v in doc.items() if k in names}
    for flag in ("no_local", "retain_as_published"):
        values[flag] = bool(values.get(flag, 0))
    return Subscription(share_group=group, **values)


def subscribe_body(r: SubscribeRequest) -> dict:
    return {
        "topic": r.topic,
        "qos": r.qos,
        "nl": int(r.no_local),
        "rap": int(r.retain_as_published),
        "rh": r.retain_handling,
    }


def route(doc: dict) -> Route:
    return Route(topic=doc["topic"], node=doc["node"])


def retained(doc: dict) -> RetainedMessage:
    payload = doc.get("payload")
    return RetainedMessage(
        topic=doc["topic"],
        qos=doc.get("qos", 0),
        payload=base64.b64decode(payload) if payload else b"",
        msgid=doc.get("msgid", ""),
        publish_at=_time(doc.get("publish_at")) or 0.0,
        from_clientid=doc.get("from_clientid", ""),
        from_username=doc.get("from_username") or None,
    )


def session_message(doc: dict, queue: str) -> SessionMessage:
    """A message of EMQX's `mqueue_messages` / `inflight_messages`; its position is what EMQX pages by:
    the insert time for the inflight window, insert time and priority for the queue."""
    position = str(doc.get("inserted_at", ""))
    if queue == "mqueue":
        position = f"{position}_{doc.get('mqueue_priority', 0)}"
    payload = doc.get("payload")
    return SessionMessage(
        position=position,
        msgid=doc.get("msgid", ""),
        topic=doc["topic"],
        qos=doc.get("qos", 0),
        payload=base64.b64decode(payload) if payload else b"",
        publish_at=(doc.get("publish_at") or 0) / 1000.0,
        from_clientid=doc.get("from_clientid", ""),
        from_username=doc.get("from_username") or None,
    )


def listener_body(config: ListenerConfig) -> dict:
    """A listener as EMQX's `POST /listeners` takes it (a PUT adds its `id`): the fields this interface
    has, EMQX's defaults for the rest."""
    body: dict[str, Any] = {
        "type": config.type,
        "name": config.name,
        "bind": format_bind(config.bind, config.port),
        "enable": config.enable,
        "max_connections": "infinity" if config.max_connections >= NO_CONNECTION_LIMIT else config.max_connections,
    }
    if config.type in ("ws", "wss"):
        body["websocket"] = {"mqtt_path": config.path}
    if config.type in ("ssl", "wss"):
        body["ssl_options"] = {
            k: v
            for k, v in (("certfile", config.certfile), ("keyfile", config.keyfile), ("cacertfile", config.cacertfile))
            if v is not None
        }
    return body


def ban(doc: dict) -> BannedEntry:
    until = doc.get("until")
    return BannedEntry(
        as_=doc["as"],
        who=doc["who"],
        by=doc.get("by", ""),
        reason=doc.get("reason", ""),
        at=parse_time_s(doc["at"]) if doc.get("at") not in (None, "") else 0.0,
        until=None if until in (None, "infinity") else parse_time_s(until),
    )


def ban_body(e: BannedEntry) -> dict:
    body: dict[str, str | None] = {"as": e.as_, "who": e.who, "by": e.by, "reason": e.reason}
    if e.at:
        body["at"] = rfc3339_s(e.at)
    body["until"] = "infinity" if e.until is None else rfc3339_s(e.until)
    return body


def alarm(doc: dict) -> Alarm:
    deactivated = doc.get("deactivate_at")
    return Alarm(
        name=doc["name"],
        message=doc.get("message", ""),
        details=doc.get("details") or {},
        node=doc.get("node", ""),
        activate_at=_time(doc.get("activate_at")) or 0.0,
        deactivate_at=None if deactivated in (None, "", "infinity") else _time(deactivated),
    )


def _status_of(status: dict) -> tuple[bool, int, int]:
    running = status.get("running") is True
    max_conns = units.count_or_infinity(status.get("max_connections", 0))
    return running, max_conns, status.get("current_connections", 0)


def listener(doc: dict, node: str | None) -> ListenerInfo | None:
    """One listener as seen on ``node`` (None: the whole cluster); None when that node does not have it.
    ``doc`` is an entry of EMQX's listing, with ``path`` added for a WebSocket listener."""
    if node is None:
        running, max_conns, current = _status_of(doc.get("status") or {})
    else:
        mine = next((s for s in doc.get("node_status", ()) if s.get("node") == node), None)
        if mine is None:
            return None
        running, max_conns, current = _status_of(mine.get("status") or {})
    parsed = parse_bind(str(doc["bind"]))
    if parsed is None:
        raise ValueError(f"EMQX listed a listener bound to {doc['bind']!r}, which is no bind")
    bind, port = parsed
    return ListenerInfo(
        id=doc["id"],
        type=doc["type"],
        name=doc["name"],
        bind=bind,
        port=port,
        enable=doc.get("enable", True),
        running=running,
        max_connections=max_conns,
        current_connections=current,
        shutdown_count=0,  # EMQX does not count refused connections per listener
        path=doc.get("path"),
    )
