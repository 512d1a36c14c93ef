"""Where each ``BrokerConfig`` field lives in EMQX 5's configuration, and how its value is written there.

One table: field -> (section, key path inside the section's document, read, write). A section is one
EMQX endpoint read with GET and written back whole with PUT (so that keys emqgw does not know keep
their values). Fields without a row have no EMQX counterpart: reading them gives the record's default
(EMQX's own, by the records' design), changing them is NotSupported.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import attrs

from adapters.common import units

log = logging.getLogger("emqgw.upstream")

# section -> the EMQX path that serves it
SECTIONS = {
    "zone": "/configs/global_zone",
    "sys_topics": "/configs/sys_topics",
    "alarm": "/configs/alarm",
    "sysmon": "/configs/sysmon",
    "retainer": "/mqtt/retainer",
    "authz": "/authorization/settings",
}


@attrs.define(slots=True, frozen=True)
class Place:
    section: str
    path: tuple[str, ...]
    read: Callable[[Any], Any]
    write: Callable[[Any], Any]


def _same(v: Any) -> Any:
    return v


# (read, write) of each value format, in EMQX's spelling (adapters.common.units).
SAME = (_same, _same)
DURATION = (units.duration_s, units.format_duration)
SIZE = (units.size_bytes, units.format_size)
COUNT = (units.count_or_infinity, units.format_count_or_infinity)
PERCENT = (units.percent, units.format_percent)


def _duration_or(sentinel: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """A duration whose record 0 EMQX writes as ``sentinel`` ("infinity", "disabled")."""
    return functools.partial(units.duration_or, sentinel), functools.partial(units.format_duration_or, sentinel)


def _keepalive(v: Any) -> int | None:
    return None if v == units.DISABLED else int(v)


def _keepalive_text(v: int | None) -> int | str:
    return units.DISABLED if v is None else v


def _zone(key: str, read: Callable = _same, write: Callable = _same) -> Place:
    return Place("zone", ("mqtt", key), read, write)


FIELDS: dict[str, Place] = {
    "max_packet_size": _zone("max_packet_size", *SIZE),
    "max_clientid_len": _zone("max_clientid_len"),
    "max_topic_levels": _zone("max_topic_levels"),
    "max_qos_allowed": _zone("max_qos_allowed"),
    "max_topic_alias": _zone("max_topic_alias"),
    "retain_available": _zone("retain_available"),
    "wildcard_subscription": _zone("wildcard_subscription"),
    "shared_subscription": _zone("shared_subscription"),
    "server_keepalive": _zone("server_keepalive", _keepalive, _keepalive_text),
    "keepalive_multiplier": _zone("keepalive_multiplier", float),
    "session_expiry_interval": _zone("session_expiry_interval", *DURATION),
    "max_subscriptions": _zone("max_subscriptions", *COUNT),
    "max_inflight": _zone("max_inflight"),
    "max_mqueue_len": _zone("max_mqueue_len", *COUNT),
    "mqueue_store_qos0": _zone("mqueue_store_qos0"),
    "max_awaiting_rel": _zone("max_awaiting_rel", *COUNT),
    "await_rel_timeout": _zone("await_rel_timeout", *DURATION),
    "upgrade_qos": _zone("upgrade_qos"),
    # EMQX's "infinity" is the records' 0: never resend.
    "retry_interval": _zone("retry_interval", *_duration_or(units.INFINITY)),
    "sys_interval": Place("sys_topics", ("sys_msg_interval",), *_duration_or(units.DISABLED)),
    "sys_heartbeat": Place("sys_topics", ("sys_heartbeat_interval",), *_duration_or(units.DISABLED)),
    "alarm_size_limit": Place("alarm", ("size_limit",), *SAME),
    "alarm_validity_period": Place("alarm", ("validity_period",), *DURATION),
    "os_check_interval": Place("sysmon", ("os", "cpu_check_interval"), *DURATION),
    "sysmem_high_watermark": Place("sysmon", ("os", "sysmem_high_watermark"), *PERCENT),
    "cpu_high_watermark": Place("sysmon", ("os", "cpu_high_watermark"), *PERCENT),
    "cpu_low_watermark": Place("sysmon", ("os", "cpu_low_watermark"), *PERCENT),
    "acl_no_match": Place("authz", ("no_match",), *SAME),
    "retainer": Place("retainer", ("enable",), bool, bool),
}
# The broker features (BrokerControl.features) and where EMQX switches them: presence events are the
# two client event messages of `sys_topics`.
PRESENCE_EVENTS = ("sys_event_messages", ("client_connected", "client_disconnected"))


def dig(doc: dict, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            raise KeyError(key)
        doc = doc[key]
    return doc


def put(doc: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc.setdefault(key, {})
    doc[path[-1]] = value


def read(sections: dict[str, dict | None]) -> dict[str, Any]:
    """The BrokerConfig fields the sections' documents give (a section of None, or a key EMQX did not
    send or sent in a form it does not write, leaves its fields out)."""
    values: dict[str, Any] = {}
    for field, place in FIELDS.items():
        doc = sections.get(place.section)
        if doc is None:
            continue
        try:
            values[field] = place.read(dig(doc, place.path))
        except (KeyError, ValueError, TypeError):
            log.warning("upstream %s: no usable %s", SECTIONS[place.section], "/".join(place.path))
    return values


def write(doc: dict, section: str, config: Any, fields: list[str]) -> None:
    """Set ``fields`` of ``config`` (a BrokerConfig) in ``section``'s document, as EMQX writes them."""
    for field in fields:
        place = FIELDS[field]
        assert place.section == section
        put(doc, place.path, place.write(getattr(config, field)))
