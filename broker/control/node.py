"""Node information, metrics and stats."""

from __future__ import annotations

import os
import resource
import sys
import time

from schemas.records import (
    MetricsSnapshot,
    NodeInfo,
    StatsSnapshot,
)
from schemas.version import VERSION

from .. import osinfo
from ..stats import gauges
from ..sys_topics import SYSDESCR
from .base import ControlBase


class NodeControl(ControlBase):
    """Node information, metrics and stats."""

    @property
    def running(self) -> bool:
        return self.broker.running

    async def is_running(self) -> bool:
        return self.broker.running

    async def node_names(self) -> list[str]:
        return [self.node_name]

    async def nodes(self) -> list[NodeInfo]:
        return [await self.node_info()]

    async def node_info(self, node: str | None = None) -> NodeInfo:
        self._only_here(node)
        b = self.broker
        now = time.time()
        total, used = osinfo.memory_total(), osinfo.process_rss()
        load1, load5, load15 = os.getloadavg()
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            fds = len(os.listdir(f"/proc/{os.getpid()}/fd"))
        except OSError:
            fds = 0
        return NodeInfo(
            node=b.config.node_name,
            node_status="running" if b.running else "stopped",
            version=VERSION,
            sysdescr=SYSDESCR,
            uptime=now - b.started_at,
            started_at=b.started_at,
            datetime=now,
            connections=len(b.sessions),
            live_connections=len(b.channels),
            load1=load1,
            load5=load5,
            load15=load15,
            memory_total=total,
            memory_used=used,
            max_fds=soft,
            process_available=soft,
            process_used=fds,
            os_pid=os.getpid(),
            python_version=sys.version.split()[0],
        )

    async def metrics(self, node: str | None = None) -> MetricsSnapshot:
        self._only_here(node)  # one node: the cluster's sums are its own
        return MetricsSnapshot(node=self.node_name, counters=dict(self.broker.metrics.counters))

    async def stats(self, node: str | None = None) -> StatsSnapshot:
        self._only_here(node)
        b = self.broker
        return StatsSnapshot(node=self.node_name, stats=b.metrics.stats(gauges(b)))

    async def metrics_per_node(self) -> list[MetricsSnapshot]:
        return [await self.metrics()]

    async def stats_per_node(self) -> list[StatsSnapshot]:
        return [await self.stats()]
