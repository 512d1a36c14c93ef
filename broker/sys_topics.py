"""`$SYS/brokers/<node>/...` topics, published the way EMQ does.

Heartbeat topics (uptime, datetime) every ``sys_heartbeat`` seconds, stats and metrics every
``sys_interval``, version/sysdescr retained at start, and client presence events as they happen (the
`presence_events` feature); alarms as they are raised and cleared (`alarms/activate|deactivate`,
times in microseconds as EMQX publishes them). Sans-IO: ``tick(now)`` is driven by the server's timer.
"""

from __future__ import annotations

import time

import orjson

from schemas.version import VERSION

from .core import Broker
from .stats import gauges

SYSDESCR = "emqgw"


def uptime_phrase(seconds: float) -> str:
    """EMQ's `emqx_misc:uptime` wording: "2 days, 3 hours, 4 minutes, 5 seconds" (leading zeros dropped)."""
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    parts = [(days, "days"), (hours, "hours"), (minutes, "minutes")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    return ", ".join([f"{n} {unit}" for n, unit in parts] + [f"{s} seconds"])


class SysPublisher:
    def __init__(self, broker: Broker):
        self.broker = broker
        self._last_heartbeat = 0.0
        self._last_stats = time.time()
        self._announced = False
        broker.observe(self._on_event)

    @property
    def prefix(self) -> str:
        return f"$SYS/brokers/{self.broker.config.node_name}"

    def tick(self, now: float) -> None:
        b = self.broker
        cfg = b.config
        if not self._announced:
            self._announced = True
            b.publish_internal("$SYS/brokers", cfg.node_name.encode(), retain=True)
            b.publish_internal(f"{self.prefix}/version", VERSION.encode(), retain=True)
            b.publish_internal(f"{self.prefix}/sysdescr", SYSDESCR.encode(), retain=True)
        if cfg.sys_heartbeat and now - self._last_heartbeat >= cfg.sys_heartbeat:
            self._last_heartbeat = now
            b.publish_internal(f"{self.prefix}/uptime", uptime_phrase(now - b.started_at).encode())
            b.publish_internal(
                f"{self.prefix}/datetime", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)).encode()
            )
        if cfg.sys_interval and now - self._last_stats >= cfg.sys_interval:
            self._last_stats = now
            for name, value in b.metrics.stats(gauges(b)).items():
                b.publish_internal(f"{self.prefix}/stats/{name.replace('.', '/')}", str(value).encode())
            for name, value in b.metrics.counters.items():
                b.publish_internal(f"{self.prefix}/metrics/{name.replace('.', '/')}", str(value).encode())

    def _on_event(self, event: str, **data) -> None:
        b = self.broker
        if event in ("alarm.activated", "alarm.deactivated"):
            alarm = data["alarm"]
            info = {
                "name": alarm.name,
                "message": alarm.message,
                "details": alarm.details,
                "activate_at": int(alarm.activate_at * 1_000_000),
                "activated": alarm.activated,
                "deactivate_at": "infinity" if alarm.activated else int(alarm.deactivate_at * 1_000_000),
            }
            action = "activate" if alarm.activated else "deactivate"
            b.publish_internal(f"{self.prefix}/alarms/{action}", orjson.dumps(info))
            return
        if not b.config.presence_events or event not in ("client.connected", "client.disconnected"):
            return
        ch = data["channel"]
        info = {
            "clientid": ch.clientid,
            "username": ch.username,
            "ipaddress": ch.peerhost,
            "sockport": ch.peerport,
            "proto_name": ch.proto_name,
            "proto_ver": ch.version,
            "keepalive": ch.keepalive,
            "clean_start": ch.clean_start,
            "expiry_interval": ch.session_expiry,
            "connected_at": int((ch.connected_at or 0) * 1000),
            "ts": int(time.time() * 1000),
        }
        if event == "client.connected":
            info["connack"] = 0
            suffix = "connected"
        else:
            info["reason"] = "normal" if ch._close_reason is None else f"0x{ch._close_reason:02X}"
            info["disconnected_at"] = int((ch.disconnected_at or time.time()) * 1000)
            suffix = "disconnected"
        b.publish_internal(f"{self.prefix}/clients/{ch.clientid}/{suffix}", orjson.dumps(info))
