"""Alarms: the book of activated and deactivated alarms, and the monitor that raises and clears the
ones the broker can observe, under EMQX's names.

- ``high_system_memory_usage``: system memory in use above ``sysmem_high_watermark`` percent.
- ``high_cpu_usage``: CPU use over the last check interval above ``cpu_high_watermark``; clears below
  ``cpu_low_watermark`` (the gap keeps a load hovering at the mark from flapping).
- ``conn_congestion/<clientid>/<username>``: a connection whose writes backed up past
  ``write_buffer_high``; clears when it writes again, after at least the sustain duration, or when
  it closes.

Sans-IO like SysPublisher: ``AlarmMonitor.tick(now)`` is driven by the server's timer; the host figures
come from ``osinfo``. Activation and deactivation are broker events (``alarm.activated`` /
``alarm.deactivated``), which `$SYS` publishes.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import attrs

from schemas.records import Alarm, BrokerConfig

from . import osinfo

if TYPE_CHECKING:
    from .channel import Channel
    from .core import Broker

SYSMEM = "high_system_memory_usage"
CPU = "high_cpu_usage"
CONGESTION = "conn_congestion"


class AlarmBook:
    """The activated alarms and the history of deactivated ones; plain data, changed only by the
    broker's alarm commands (``Broker.raise_alarm`` ...), which also tell the observers."""

    __slots__ = ("active", "history")

    def __init__(self) -> None:
        self.active: dict[str, Alarm] = {}
        self.history: deque[Alarm] = deque()  # newest first

    def activate(self, alarm: Alarm) -> bool:
        """Record ``alarm`` as up unless one of its name already is; True when it was recorded."""
        if alarm.name in self.active:
            return False
        self.active[alarm.name] = alarm
        return True

    def deactivate(self, name: str, now: float, keep: int) -> Alarm | None:
        """Move ``name`` into the history (at most ``keep`` entries); the deactivated record, or None
        when it was not up."""
        alarm = self.active.pop(name, None)
        if alarm is None:
            return None
        done = attrs.evolve(alarm, deactivate_at=now)
        history = self.history
        history.appendleft(done)
        while len(history) > keep:
            history.pop()
        return done

    def clear_history(self) -> None:
        self.history.clear()

    def expire(self, oldest: float) -> None:
        """Forget history deactivated before ``oldest``."""
        history = self.history
        while history and (history[-1].deactivate_at or 0.0) < oldest:
            history.pop()

    def listing(self, activated: bool | None) -> list[Alarm]:
        if activated is None:
            return self.listing(True) + list(self.history)
        if activated:
            return sorted(self.active.values(), key=lambda a: a.activate_at, reverse=True)
        return list(self.history)


class AlarmMonitor:
    def __init__(self, broker: Broker):
        self.broker = broker
        self._last_os_check: float | None = None
        self._cpu_last: tuple[int, int] | None = None
        # Congestion alarm name -> the channel it is about.
        self._congested: dict[str, Channel] = {}

    def tick(self, now: float) -> None:
        cfg = self.broker.config
        self.broker.expire_alarms(now)
        interval = cfg.os_check_interval
        if interval and (self._last_os_check is None or now - self._last_os_check >= interval):
            self._last_os_check = now
            self._check_memory(cfg, now)
            self._check_cpu(cfg, now)
        self._check_congestion(cfg, now)

    def _check_memory(self, cfg: BrokerConfig, now: float) -> None:
        usage = osinfo.system_memory_usage()
        if usage is None:
            return
        high = cfg.sysmem_high_watermark
        if usage > high:
            self.broker.raise_alarm(
                SYSMEM,
                f"System memory usage is higher than {high:g}%",
                {"high_watermark": high, "usage": round(usage, 2)},
                now,
            )
        else:
            self.broker.clear_alarm(SYSMEM, now)

    def _check_cpu(self, cfg: BrokerConfig, now: float) -> None:
        reading = osinfo.cpu_times()
        last, self._cpu_last = self._cpu_last, reading
        if reading is None or last is None or reading[1] <= last[1]:
            return  # the first reading only sets the baseline
        usage = (reading[0] - last[0]) * 100.0 / (reading[1] - last[1])
        high, low = cfg.cpu_high_watermark, cfg.cpu_low_watermark
        if usage > high:
            self.broker.raise_alarm(
                CPU,
                f"CPU usage is higher than {high:g}%",
                {"high_watermark": high, "low_watermark": low, "usage": round(usage, 2)},
                now,
            )
        elif usage < low:
            self.broker.clear_alarm(CPU, now)

    def _check_congestion(self, cfg: BrokerConfig, now: float) -> None:
        broker = self.broker
        channels = broker.channels
        congested = broker.congested_channels()
        if cfg.conn_congestion_alarm:
            for ch in congested:
                name = f"{CONGESTION}/{ch.clientid}/{ch.username or 'unknown_user'}"
                if broker.raise_alarm(
                    name,
                    f"connection congested: {ch.clientid}",
                    {
                        "clientid": ch.clientid,
                        "username": ch.username,
                        "peername": f"{ch.peerhost}:{ch.peerport}",
                        "listener": ch.listener_id,
                        "proto_name": ch.proto_name,
                        "proto_ver": ch.version,
                    },
                    now,
                ):
                    self._congested[name] = ch
        sustain = cfg.conn_congestion_min_alarm_sustain_duration
        for name, ch in list(self._congested.items()):
            alarm = broker.alarms.active.get(name)
            if alarm is None:  # cleared over the API
                del self._congested[name]
            elif channels.get(ch.clientid) is not ch or (ch.writable and now - alarm.activate_at >= sustain):
                broker.clear_alarm(name, now)  # a closed connection clears at once, as in EMQX
                del self._congested[name]
