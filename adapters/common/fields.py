"""The field crosswalk: every field's name in each dialect, in one table (data the adapters render with).

Columns: the record attribute (``schemas.records``), then its name in EMQ 2.x (`v2`), EMQX 4.4
(`emqx4`), NanoMQ (`nanomq`) and EMQX 5 (`v5`); None where that dialect has no such field. ``kind``
tells the dialect which of its formatters to apply (times, absent usernames ...), so the format stays
with the dialect and the name stays here. Source: ../shared/reference/api-migration-maps.md §3.2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

DIALECTS = ("v2", "emqx4", "nanomq", "v5")


@attrs.define(slots=True, frozen=True)
class Field:
    attr: str
    v2: str | None
    emqx4: str | None
    nanomq: str | None
    v5: str | None
    kind: str = "plain"  # plain | time | username | bool | bytes
    note: str = ""  # what changes besides the name (type, unit, meaning); shown by `emqgw translate`

    def name(self, dialect: str) -> str | None:
        return getattr(self, dialect)


F = Field

# Client (v2 splits it in a client row and a session row; both are rendered from ClientInfo).
CLIENT: tuple[Field, ...] = (
    F("clientid", "client_id", "clientid", "client_id", "clientid"),
    F("username", "username", "username", "username", "username", "username"),
    F("node", None, "node", None, "node"),
    F("ip_address", "ipaddress", "ip_address", None, "ip_address"),
    F("port", "port", "port", None, "port"),
    F("port", None, None, None, "peerport"),
    F("listener", None, None, None, "listener"),
    F("clean_start", "clean_sess", "clean_start", "clean_start", "clean_start"),
    F("proto_name", None, "proto_name", "proto_name", "proto_name"),
    F("proto_ver", "proto_ver", "proto_ver", "proto_ver", "proto_ver"),
    F("keepalive", "keepalive", "keepalive", "keepalive", "keepalive"),
    F("connected", None, "connected", None, "connected"),
    F("conn_state", None, None, "conn_state", None),
    F("connected_at", "connected_at", "connected_at", None, "connected_at", "time"),
    F("disconnected_at", None, "disconnected_at", None, "disconnected_at", "time"),
    F("created_at", "created_at", "created_at", None, "created_at", "time"),
    F("expiry_interval", None, "expiry_interval", None, "expiry_interval"),
    F("is_bridge", None, "is_bridge", None, "is_bridge"),
    F("mountpoint", None, None, None, "mountpoint"),
    F("subscriptions_cnt", "subscriptions", "subscriptions_cnt", None, "subscriptions_cnt"),
    F("subscriptions_max", None, "max_subscriptions", None, "subscriptions_max", "infinity"),
    F("inflight_cnt", "inflight_len", "inflight", None, "inflight_cnt"),
    F("inflight_max", "max_inflight", "max_inflight", None, "inflight_max"),
    F("awaiting_rel_cnt", "awaiting_rel_len", "awaiting_rel", None, "awaiting_rel_cnt"),
    F("awaiting_rel_max", None, "max_awaiting_rel", None, "awaiting_rel_max"),
    F("mqueue_len", "mqueue_len", "mqueue_len", None, "mqueue_len"),
    F("mqueue_max", None, "max_mqueue", None, "mqueue_max"),
    F("mqueue_dropped", "mqueue_dropped", "mqueue_dropped", None, "mqueue_dropped"),
    F("deliver_msg", "deliver_msg", None, None, None),
    F("enqueue_msg", "enqueue_msg", None, None, None),
    F("recv_oct", None, "recv_oct", None, "recv_oct"),
    F("send_oct", None, "send_oct", None, "send_oct"),
    F("recv_cnt", None, "recv_cnt", None, "recv_cnt"),
    F("send_cnt", None, "send_cnt", None, "send_cnt"),
    F("recv_pkt", None, "recv_pkt", None, "recv_pkt"),
    F("send_pkt", None, "send_pkt", None, "send_pkt"),
    F("recv_msg", None, "recv_msg", None, "recv_msg"),
    F("recv_msg_qos0", None, "recv_msg.qos0", None, "recv_msg.qos0"),
    F("recv_msg_qos1", None, "recv_msg.qos1", None, "recv_msg.qos1"),
    F("recv_msg_qos2", None, "recv_msg.qos2", None, "recv_msg.qos2"),
    F("recv_msg_dropped", None, "recv_msg.dropped", None, "recv_msg.dropped"),
    F(
        "recv_msg_dropped_await_pubrel_timeout",
        None,
        "recv_msg.dropped.await_pubrel_timeout",
        None,
        "recv_msg.dropped.await_pubrel_timeout",
    ),
    F("send_msg", None, "send_msg", None, "send_msg"),
    F("send_msg_qos0", None, "send_msg.qos0", None, "send_msg.qos0"),
    F("send_msg_qos1", None, "send_msg.qos1", None, "send_msg.qos1"),
    F("send_msg_qos2", None, "send_msg.qos2", None, "send_msg.qos2"),
    F("send_msg_dropped", None, "send_msg.dropped", None, "send_msg.dropped"),
    F("send_msg_dropped_expired", None, "send_msg.dropped.expired", None, "send_msg.dropped.expired"),
    F("send_msg_dropped_queue_full", None, "send_msg.dropped.queue_full", None, "send_msg.dropped.queue_full"),
    F("send_msg_dropped_too_large", None, "send_msg.dropped.too_large", None, "send_msg.dropped.too_large"),
    F("will_topic", None, None, "will_topic", None),
    F("will_msg", None, None, "will_msg", None, "bytes"),
)

# The v2 client row and session row are two views of one client.
V2_CLIENT_ROW = ("client_id", "username", "ipaddress", "port", "clean_sess", "proto_ver", "keepalive", "connected_at")
V2_SESSION_ROW = (
    "client_id",
    "clean_sess",
    "subscriptions",
    "max_inflight",
    "inflight_len",
    "mqueue_len",
    "mqueue_dropped",
    "awaiting_rel_len",
    "deliver_msg",
    "enqueue_msg",
    "created_at",
)

# EMQX 5's `fields=` enum of GET /clients (emqx_mgmt_api_clients, 5.8.9): other names are a 400. Our
# /api/v5 accepts each (the Erlang process stats and durable-session counters are simply absent); in
# front of an EMQX, a listing asks for the fields its dialect shows (adapters.upstream.convert).
CLIENT_FIELDS_ENUM = frozenset(
    (
        "client_attrs",
        "awaiting_rel_cnt",
        "awaiting_rel_max",
        "clean_start",
        "clientid",
        "connected",
        "connected_at",
        "created_at",
        "disconnected_at",
        "expiry_interval",
        "heap_size",
        "inflight_cnt",
        "inflight_max",
        "ip_address",
        "is_bridge",
        "is_expired",
        "keepalive",
        "mailbox_len",
        "mqueue_dropped",
        "mqueue_len",
        "mqueue_max",
        "node",
        "port",
        "proto_name",
        "proto_ver",
        "recv_cnt",
        "recv_msg",
        "recv_msg.dropped",
        "recv_msg.dropped.await_pubrel_timeout",
        "recv_msg.qos0",
        "recv_msg.qos1",
        "recv_msg.qos2",
        "recv_oct",
        "recv_pkt",
        "reductions",
        "send_cnt",
        "send_msg",
        "send_msg.dropped",
        "send_msg.dropped.expired",
        "send_msg.dropped.queue_full",
        "send_msg.dropped.too_large",
        "send_msg.qos0",
        "send_msg.qos1",
        "send_msg.qos2",
        "send_oct",
        "send_pkt",
        "subscriptions_cnt",
        "subscriptions_max",
        "username",
        "mountpoint",
        "durable",
        "n_streams",
        "seqno_q1_comm",
        "seqno_q1_dup",
        "seqno_q1_next",
        "seqno_q2_comm",
        "seqno_q2_dup",
        "seqno_q2_rec",
        "seqno_q2_next",
    )
)

SUBSCRIPTION: tuple[Field, ...] = (
    F("clientid", "client_id", "clientid", "clientid", "clientid"),
    F("node", None, "node", None, "node"),
    F("topic", "topic", "topic", "topic", "topic"),
    F("qos", "qos", "qos", "qos", "qos"),
    F("no_local", None, None, None, "nl", "int"),
    F("retain_as_published", None, None, None, "rap", "int"),
    F("retain_handling", None, None, None, "rh"),
)

# Alarm (api-migration-maps.md, "Alarm"): EMQ 2.3's #mqtt_alarm, EMQX 4.2+'s alarm (times in µs), EMQX 5's
# (RFC 3339). `duration` (4.x µs, 5 ms) is derived by the dialects; `deactivate_at` is "until" (None while up).
ALARM: tuple[Field, ...] = (
    F("node", None, None, None, "node"),
    F("name", "id", "name", None, "name"),
    F("message", "title", "message", None, "message"),
    F("details", "summary", "details", None, "details", "details", "v2 shows them as text"),
    F("activate_at", "occurred_at", "activate_at", None, "activate_at", "time"),
    F(
        "deactivate_at",
        None,
        "deactivate_at",
        None,
        "deactivate_at",
        "until",
        'EMQX 4 "infinity" while up; EMQX 5 only in the history',
    ),
    F("activated", None, "activated", None, None),
)

# Stats: v2 names (slash form, EMQ 2.3) against the broker's EMQX 5 names.
STATS_V2 = {
    "clients/count": "live_connections.count",
    "clients/max": "live_connections.max",
    "sessions/count": "sessions.count",
    "sessions/max": "sessions.max",
    "topics/count": "topics.count",
    "topics/max": "topics.max",
    "subscribers/count": "subscribers.count",
    "subscribers/max": "subscribers.max",
    "subscriptions/count": "subscriptions.count",
    "subscriptions/max": "subscriptions.max",
    "routes/count": "topics.count",
    "routes/max": "topics.max",
    "retained/count": "retained.count",
    "retained/max": "retained.max",
}

# Metrics: EMQ 2.3's keys against the broker's counters (EMQX 5 names).
METRICS_V2 = {
    "bytes/received": "bytes.received",
    "bytes/sent": "bytes.sent",
    "packets/received": "packets.received",
    "packets/sent": "packets.sent",
    "packets/connect": "packets.connect.received",
    "packets/connack": "packets.connack.sent",
    "packets/publish/received": "packets.publish.received",
    "packets/publish/sent": "packets.publish.sent",
    "packets/puback/received": "packets.puback.received",
    "packets/puback/sent": "packets.puback.sent",
    "packets/puback/missed": "packets.puback.missed",
    "packets/pubrec/received": "packets.pubrec.received",
    "packets/pubrec/sent": "packets.pubrec.sent",
    "packets/pubrec/missed": "packets.pubrec.missed",
    "packets/pubrel/received": "packets.pubrel.received",
    "packets/pubrel/sent": "packets.pubrel.sent",
    "packets/pubrel/missed": "packets.pubrel.missed",
    "packets/pubcomp/received": "packets.pubcomp.received",
    "packets/pubcomp/sent": "packets.pubcomp.sent",
    "packets/pubcomp/missed": "packets.pubcomp.missed",
    "packets/subscribe": "packets.subscribe.received",
    "packets/suback": "packets.suback.sent",
    "packets/unsubscribe": "packets.unsubscribe.received",
    "packets/unsuback": "packets.unsuback.sent",
    "packets/pingreq": "packets.pingreq.received",
    "packets/pingresp": "packets.pingresp.sent",
    "packets/disconnect": "packets.disconnect.received",
    "messages/received": "messages.received",
    "messages/sent": "messages.sent",
    "messages/qos0/received": "messages.qos0.received",
    "messages/qos0/sent": "messages.qos0.sent",
    "messages/qos1/received": "messages.qos1.received",
    "messages/qos1/sent": "messages.qos1.sent",
    "messages/qos2/received": "messages.qos2.received",
    "messages/qos2/sent": "messages.qos2.sent",
    "messages/qos2/dropped": "messages.dropped.await_pubrel_timeout",
    "messages/dropped": "messages.dropped",
}
# EMQ 2.3 also showed `messages/retained`; it is the retained-message count (stats `retained.count`).
METRICS_V2_FROM_STATS = {"messages/retained": "retained.count"}

# EMQX 4.4 spelled a few counters differently from EMQX 5 (api-migration-maps.md §1.3).
METRICS_EMQX4_RENAMES = {"client.authorize": "client.check_acl", "session.takenover": "session.takeovered"}


_TIME_NOTE = "v4 takes epoch seconds; v5 takes RFC 3339 or epoch milliseconds"
# Client listing filters: the ClientQuery attribute each one fills, then the query parameter that names
# it in each dialect (None: no such filter there). ``kind`` says how the text is read
# (``adapters.common.queries``); "list" filters take the parameter repeated, for several values.
CLIENT_FILTERS: tuple[Field, ...] = (
    F("clientid", None, "clientid", "clientid", "clientid", "list", "v5 takes it repeated, for several ids"),
    F("clientid", None, None, "client_id", None, "list", "NanoMQ reads either name"),
    F("username", None, "username", "username", "username", "list", "v5 takes it repeated"),
    F("like_clientid", None, "_like_clientid", None, "like_clientid"),
    F("like_username", None, "_like_username", None, "like_username"),
    F("ip_address", None, "ip_address", None, "ip_address"),
    F("conn_state", None, "conn_state", "conn_state", "conn_state", "conn_state"),
    F("clean_start", None, "clean_start", "clean_start", "clean_start", "bool"),
    F("proto_name", None, "proto_name", "proto_name", None, "plain", "EMQX 5 dropped it"),
    F("proto_ver", None, "proto_ver", "proto_ver", "proto_ver", "int"),
    F("gte_created_at", None, "_gte_created_at", None, "gte_created_at", "time", _TIME_NOTE),
    F("lte_created_at", None, "_lte_created_at", None, "lte_created_at", "time", _TIME_NOTE),
    F("gte_connected_at", None, "_gte_connected_at", None, "gte_connected_at", "time", _TIME_NOTE),
    F("lte_connected_at", None, "_lte_connected_at", None, "lte_connected_at", "time", _TIME_NOTE),
    F("gte_mqueue_len", None, "_gte_mqueue_len", None, None, "int", "EMQX 5 dropped it"),
    F("lte_mqueue_len", None, "_lte_mqueue_len", None, None, "int", "EMQX 5 dropped it"),
    F("gte_mqueue_dropped", None, "_gte_mqueue_dropped", None, None, "int", "EMQX 5 dropped it"),
    F("lte_mqueue_dropped", None, "_lte_mqueue_dropped", None, None, "int", "EMQX 5 dropped it"),
)


def project(
    record: Any,
    fields: Iterable[Field],
    dialect: str,
    formatters: dict[str, Callable[[Any], Any]] | None = None,
    only: Iterable[str] | None = None,
) -> dict:
    """Render a record as a dialect's dict: its names, its formats, in table order.

    ``only`` restricts the output to those dialect names (EMQX 5's `fields=`, EMQ 2.x's row shapes).
    """
    return renderer(fields, dialect, formatters, only)(record)


# Listings render every row through the same few (table, dialect, formatters, subset) combinations, so
# each combination is compiled once into a function whose body is one dict display over the record's
# attributes: CPython builds a dict that way faster than by any loop, zip or getter over the table.
_renderers: dict[tuple, tuple[Callable[[Any], dict], tuple]] = {}


def renderer(
    fields: Iterable[Field],
    dialect: str,
    formatters: dict[str, Callable[[Any], Any]] | None = None,
    only: Iterable[str] | None = None,
) -> Callable[[Any], dict]:
    """The compiled `project` for one combination: record -> the dialect's dict."""
    key = (
        id(fields),
        dialect,
        tuple(formatters.items()) if formatters else (),
        frozenset(only) if only is not None else None,
    )
    hit = _renderers.get(key)
    if hit is None:
        fmt = formatters or {}
        wanted = set(only) if only is not None else None
        chosen = [
            f for f in fields if getattr(f, dialect) is not None and (wanted is None or getattr(f, dialect) in wanted)
        ]
        kinds = sorted({f.kind for f in chosen if f.kind in fmt})
        entries = []
        for f in chosen:
            value = f"r.{f.attr}"
            if f.kind in fmt:
                value = f"_fmt{kinds.index(f.kind)}({value})"
            entries.append(f"{getattr(f, dialect)!r}: {value}")
        namespace = {f"_fmt{i}": fmt[kind] for i, kind in enumerate(kinds)}
        exec(f"def render(r):\n    return {{{', '.join(entries)}}}\n", namespace)  # noqa: S102 (our table)
        # The entry holds `fields` too, so the table whose id() is in the key can never be freed and reused.
        hit = _renderers[key] = (namespace["render"], fields)
    return hit[0]


def reads(fields: Iterable[Field], dialect: str, only: Iterable[str] | None = None) -> frozenset[str]:
    """The record attributes that rendering in ``dialect`` (only the names ``only``) reads: what a listing
    tells the control it needs (``ClientQuery.fields``), so that a backend fetching the records from
    elsewhere fetches no more than is shown."""
    wanted = None if only is None else frozenset(only)
    return frozenset(f.attr for f in fields if (n := f.name(dialect)) is not None and (wanted is None or n in wanted))


def names(fields: Iterable[Field], dialect: str) -> list[str]:
    return [n for n in (getattr(f, dialect) for f in fields) if n is not None]
