"""The dashboard's monitor: history and current values from the controller's own sampler."""

from __future__ import annotations

from .node import NodeControl


class MonitorControl(NodeControl):
    """The dashboard's monitor: history and current values from the controller's own sampler."""

    async def monitor(self, *, node: str | None = None, latest: int | None = None) -> list[dict[str, int]]:
        self._only_here(node)
        return self.sampler.history(latest, cluster=node is None)

    async def monitor_current(self, *, node: str | None = None) -> dict[str, int]:
        self._only_here(node)
        stats = (await self.stats()).stats
        uptime = None if node is None else int((await self.node_info()).uptime * 1000)
        return self.sampler.current(stats, uptime)

    async def clear_monitor(self) -> None:
        self.sampler.clear()
