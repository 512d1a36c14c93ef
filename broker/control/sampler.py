"""The dashboard's history (EMQX's emqx_dashboard_monitor), which the embedded broker keeps no record
of itself: a sample every 10 s kept in memory, downsampled with age as EMQX does (≤1 h: 10 s,
≤1 d: 1 min, ≤3 d: 5 min, else 10 min) for 7 days; current values with per-second rates against the
previous sample. It reads the broker only through the controller's stats and metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

log = logging.getLogger("emqgw.monitor")

SAMPLE_INTERVAL = 10  # seconds, dashboard.sample_interval default
BOUNDARY_SLACK = 0.05  # seconds
RETENTION = 7 * 24 * 3600
# (max age in seconds, bucket width in seconds), from emqx_dashboard_monitor's downsampling.
DOWNSAMPLE = ((3600, 10), (86400, 60), (3 * 86400, 300), (RETENTION, 600))

GAUGES = ("connections", "live_connections", "subscriptions", "topics")
ZERO_GAUGES = ("disconnected_durable_sessions", "subscriptions_durable")  # no durable sessions here
# sample key -> broker counter whose growth over the bucket it is
DELTAS = {
    "received": "messages.received",
    "sent": "messages.sent",
    "dropped": "messages.dropped",
    "validation_succeeded": "messages.validation_succeeded",
    "validation_failed": "messages.validation_failed",
    "transformation_succeeded": "messages.transformation_succeeded",
    "transformation_failed": "messages.transformation_failed",
    "persisted": "messages.persisted",
}
RATES = {
    "received_msg_rate": "received",
    "sent_msg_rate": "sent",
    "dropped_msg_rate": "dropped",
    "persisted_rate": "persisted",
    "validation_succeeded_rate": "validation_succeeded",
    "validation_failed_rate": "validation_failed",
    "transformation_succeeded_rate": "transformation_succeeded",
    "transformation_failed_rate": "transformation_failed",
}


def _gauges(stats: dict) -> dict:
    out = {g: stats.get(f"{g}.count", 0) for g in GAUGES}
    out.update(dict.fromkeys(ZERO_GAUGES, 0))
    return out


def downsample(samples: list[dict], now_ms: int) -> list[dict]:
    """Merge samples into coarser buckets as they age: gauges keep the last value, deltas add up."""
    out: list[dict] = []
    for s in samples:
        age = (now_ms - s["time_stamp"]) / 1000
        if age > RETENTION:
            continue
        width = next(w for limit, w in DOWNSAMPLE if age <= limit) * 1000
        bucket = s["time_stamp"] - s["time_stamp"] % width
        if out and out[-1]["_bucket"] == (width, bucket):
            last = out[-1]
            for k in DELTAS:
                last[k] += s[k]
            for k in (*GAUGES, *ZERO_GAUGES):
                last[k] = s[k]
        else:
            out.append({**s, "time_stamp": bucket, "_bucket": (width, bucket)})
    return out


class Sampler:
    """Samples ``control``'s stats and metrics (any object with those two coroutines)."""

    def __init__(self, control: Any, interval: float = SAMPLE_INTERVAL):
        self.control = control
        self.interval = interval
        self.samples: list[dict] = []
        self._last_counters: dict | None = None
        self._last: dict | None = None  # deltas of the newest sample, for rates
        self._task: asyncio.Task | None = None
        self._since_compaction = 0

    async def start(self) -> None:
        await self.sample()  # the baseline the first rates are measured against
        self._task = asyncio.create_task(self._run())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            # Wake just past the next boundary, so that a sleep ending a hair early (monotonic vs wall
            # clock) cannot stamp two samples with the same bucket.
            await asyncio.sleep(self.interval - time.time() % self.interval + BOUNDARY_SLACK)
            try:
                await self.sample()
            except Exception:  # a failed sample must not end the sampler
                log.exception("monitor sample failed")

    async def sample(self) -> dict | None:
        """Take one sample now; the first one only sets the baseline (no deltas to report yet)."""
        stats = (await self.control.stats()).stats
        counters = (await self.control.metrics()).counters
        now_ms = int(time.time() * 1000)
        prev, self._last_counters = self._last_counters, dict(counters)
        if prev is None:
            return None
        s = {
            "time_stamp": now_ms - now_ms % int(self.interval * 1000),
            **_gauges(stats),
            **{k: max(counters.get(c, 0) - prev.get(c, 0), 0) for k, c in DELTAS.items()},
        }
        self._last = s
        self.samples.append(s)
        self._since_compaction += 1
        if self._since_compaction * self.interval >= 60:
            self.samples = downsample(self.samples, now_ms)
            self._since_compaction = 0
        return s

    def history(self, latest: int | None, cluster: bool) -> list[dict]:
        rows = self.samples
        if latest is not None:
            since = int(time.time() * 1000) - latest * 1000
            rows = [s for s in rows if s["time_stamp"] >= since]
        out = []
        for s in rows:
            row = {k: v for k, v in s.items() if k != "_bucket"}
            if cluster:
                row["subscriptions_ram"] = row["subscriptions"]
            out.append(row)
        return out

    def clear(self) -> None:
        self.samples.clear()

    def current(self, stats: dict, uptime_ms: int | None) -> dict:
        """Gauges now and rates over the last sample; ``uptime_ms`` given: one node's form."""
        last = self._last or {}
        doc = {
            **_gauges(stats),
            "subscriptions_ram": stats.get("subscriptions.count", 0),
            "retained_msg_count": stats.get("retained.count", 0),
            "shared_subscriptions": stats.get("subscriptions.shared.count", 0),
            **{name: int(last.get(key, 0) / self.interval) for name, key in RATES.items()},
        }
        if uptime_ms is not None:
            for k in ZERO_GAUGES:
                doc.pop(k)
            doc["node_uptime"] = uptime_ms
        return doc
