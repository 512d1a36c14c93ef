"""Records in each flavor's names and formats; the names come from the crosswalk (`adapters/common/fields.py`)."""

from __future__ import annotations

from adapters.common.fields import CLIENT, SUBSCRIPTION, project, reads
from adapters.common.rows import RenderedRows, encoded
from adapters.common.timefmt import legacy_datetime
from gateway.http.listing import EncodedRow
from schemas.records import ClientInfo, Subscription


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


# EMQX 4 puts every client in the zone of its listener; this broker has one set of MQTT settings for
# all, which is EMQX 4's default zone for the default listeners.
EMQX4_ZONE = "external"
NANOMQ_FORMATS = {"username": lambda u: u if u is not None else "", "bytes": _text}
EMQX4_FORMATS = {"time": legacy_datetime, "username": lambda u: u, "infinity": lambda n: n, "bytes": _text}


# What each flavor's client object shows: a listing asks the control for no more (ClientQuery.fields).
NANOMQ_CLIENT_READS = reads(CLIENT, "nanomq")
EMQX4_CLIENT_READS = reads(CLIENT, "emqx4")


def nanomq_client(c: ClientInfo) -> dict:
    out = project(c, CLIENT, "nanomq", NANOMQ_FORMATS)
    # NanoMQ adds the will keys only when a will is set.
    for key in ("will_topic", "will_msg"):
        if out.get(key) is None:
            out.pop(key, None)
    return out


def emqx4_client(c: ClientInfo) -> dict:
    out = project(c, CLIENT, "emqx4", EMQX4_FORMATS)
    out["zone"] = EMQX4_ZONE
    if c.connected:
        out.pop("disconnected_at", None)
    return out


def nanomq_subscription(s: Subscription) -> dict:
    return project(s, SUBSCRIPTION, "nanomq")


def emqx4_subscription(s: Subscription) -> dict:
    return project(s, SUBSCRIPTION, "emqx4")


# Listing rows, encoded: clients once per record (what NanoMQ's list-everything and EMQX 4's pages of
# up to 10,000 rows repeat), subscriptions per answer (their records are built per listing).
nanomq_client_json = RenderedRows(nanomq_client)
emqx4_client_json = RenderedRows(emqx4_client)


def nanomq_subscription_json(s: Subscription) -> EncodedRow:
    return encoded(nanomq_subscription(s))
