"""What NanoMQ's own calls share, one per dialect: the configuration document, the bridge it describes, the
check of callers by its `http_server` section, and the CPU sampler of `/metrics` and `/prometheus`.

Served in either flavor (NanoMQ's routes are served beside EMQX 4's), so it starts with the dialect.
"""

from __future__ import annotations

import time

from .auth import NanoMQAuth
from .bridge import BridgeRunner
from .settings import NanoSettings


class CpuSampler:
    """The process's CPU use since the previous reading, in percent (NanoMQ's `cpuinfo`)."""

    def __init__(self) -> None:
        self._last = (time.monotonic(), time.process_time())

    def percent(self) -> float:
        now, cpu = time.monotonic(), time.process_time()
        then, cpu_then = self._last
        self._last = (now, cpu)
        return 100.0 * (cpu - cpu_then) / (now - then) if now > then else 0.0


class Peaks:
    """The highest value of each gauge seen at a reading, as NanoMQ's `/prometheus` keeps its `*_max`
    (rest_api.c update_max_stats: the largest value any scrape saw)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def __call__(self, name: str, value: float) -> float:
        peak = self._seen[name] = max(self._seen.get(name, value), value)
        return peak


class NanoMQState:
    def __init__(self, ctx) -> None:
        self.settings = NanoSettings(ctx)
        self.bridge = BridgeRunner(ctx.control)
        self.auth = NanoMQAuth(ctx.accounts)
        self.cpu = CpuSampler()
        self.peaks = Peaks()

    async def start(self) -> None:
        await self.settings.load()
        if self.settings.loaded:  # else the broker could not be asked: no bridge to build yet
            await self.bridge.start(self.settings.own)

    async def stop(self) -> None:
        await self.bridge.stop()
