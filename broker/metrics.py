"""Broker-wide counters and gauges, kept once under their EMQX 5 names.

Every dialect renders from here (v2 `packets/connect`, v4/v5 `packets.connect.received`); the renaming
lives with the dialects, the counting lives here. Counters are plain dict entries because the hot path
increments a handful of them per packet and a dict update is the cheapest thing CPython offers.
"""

from __future__ import annotations

METRIC_NAMES = (
    "bytes.received",
    "bytes.sent",
    "packets.received",
    "packets.sent",
    "packets.connect.received",
    "packets.connack.sent",
    "packets.connack.error",
    "packets.connack.auth_error",
    "packets.publish.received",
    "packets.publish.sent",
    "packets.publish.inuse",
    "packets.publish.error",
    "packets.publish.auth_error",
    "packets.publish.dropped",
    "packets.puback.received",
    "packets.puback.sent",
    "packets.puback.inuse",
    "packets.puback.missed",
    "packets.pubrec.received",
    "packets.pubrec.sent",
    "packets.pubrec.inuse",
    "packets.pubrec.missed",
    "packets.pubrel.received",
    "packets.pubrel.sent",
    "packets.pubrel.missed",
    "packets.pubcomp.received",
    "packets.pubcomp.sent",
    "packets.pubcomp.inuse",
    "packets.pubcomp.missed",
    "packets.subscribe.received",
    "packets.subscribe.error",
    "packets.subscribe.auth_error",
    "packets.suback.sent",
    "packets.unsubscribe.received",
    "packets.unsubscribe.error",
    "packets.unsuback.sent",
    "packets.pingreq.received",
    "packets.pingresp.sent",
    "packets.disconnect.received",
    "packets.disconnect.sent",
    "packets.auth.received",
    "packets.auth.sent",
    "messages.received",
    "messages.sent",
    "messages.qos0.received",
    "messages.qos0.sent",
    "messages.qos1.received",
    "messages.qos1.sent",
    "messages.qos2.received",
    "messages.qos2.sent",
    "messages.publish",
    "messages.dropped",
    "messages.validation_failed",
    "messages.validation_succeeded",
    "messages.transformation_failed",
    "messages.transformation_succeeded",
    "messages.dropped.await_pubrel_timeout",
    "messages.dropped.no_subscribers",
    "messages.forward",
    "messages.delayed",
    "messages.delivered",
    "messages.acked",
    "messages.persisted",
    "delivery.dropped",
    "delivery.dropped.no_local",
    "delivery.dropped.too_large",
    "delivery.dropped.qos0_msg",
    "delivery.dropped.queue_full",
    "delivery.dropped.expired",
    "client.connect",
    "client.connack",
    "client.connected",
    "client.authenticate",
    "client.auth.anonymous",
    "client.authorize",
    "client.subscribe",
    "client.unsubscribe",
    "client.disconnected",
    "session.created",
    "session.resumed",
    "session.takenover",
    "session.discarded",
    "session.terminated",
    "authorization.allow",
    "authorization.deny",
    "authorization.cache_hit",
    "authorization.cache_miss",
    "authentication.success",
    "authentication.success.anonymous",
    "authentication.failure",
    "overload_protection.delay.ok",
    "overload_protection.delay.timeout",
    "overload_protection.hibernation",
    "overload_protection.gc",
    "overload_protection.new_conn",
)

# Gauges whose peak is kept beside them, as EMQX's emqx_stats does (`*.count` / `*.max`).
STAT_NAMES = (
    "connections",
    "live_connections",
    "channels",
    "sessions",
    "cluster_sessions",
    "topics",
    "suboptions",
    "subscribers",
    "subscriptions",
    "subscriptions.shared",
    "retained",
    "delayed",
)


class Metrics:
    __slots__ = ("counters", "peaks")

    def __init__(self) -> None:
        self.counters: dict[str, int] = dict.fromkeys(METRIC_NAMES, 0)
        self.peaks: dict[str, int] = dict.fromkeys(STAT_NAMES, 0)

    def inc(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def stats(self, gauges: dict[str, int]) -> dict[str, int]:
        """Render `<name>.count` / `<name>.max` for the given current gauge values, raising peaks."""
        out = {}
        peaks = self.peaks
        for name in STAT_NAMES:
            value = gauges.get(name, 0)
            if value > peaks[name]:
                peaks[name] = value
            out[name + ".count"] = value
            out[name + ".max"] = peaks[name]
        return out

    def observe(self, name: str, value: int) -> None:
        """Record a gauge value so that a peak between two reads is not missed."""
        if value > self.peaks[name]:
            self.peaks[name] = value
