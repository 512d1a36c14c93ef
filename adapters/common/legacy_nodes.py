"""A node as EMQ 2.3's management API described it, which EMQX 4.4 kept (emqx_mgmt) and NanoMQ's
status word copied: `/brokers`' object and the figures of `/nodes`, for the v2 and v4 dialects."""

from __future__ import annotations

from schemas.records import NodeInfo

from .runtime import runtime_release
from .timefmt import legacy_datetime, memory_string, uptime_emq


def node_status(info: NodeInfo) -> str:
    return "Running" if info.node_status == "running" else "Stopped"


def as_broker(info: NodeInfo) -> dict:
    """`/brokers/{node}` (2.3: without the node's name, which EMQX 4.4 adds)."""
    return {
        "version": info.version,
        "sysdescr": info.sysdescr,
        "uptime": uptime_emq(info.uptime),
        "datetime": legacy_datetime(info.datetime),
        "otp_release": runtime_release(info),
        "node_status": node_status(info),
    }


def node_figures(info: NodeInfo) -> dict:
    """What `/nodes/{node}` says of the runtime in both versions; each adds its names and counts."""
    return {
        "otp_release": runtime_release(info),
        "node_status": node_status(info),
        "memory_total": memory_string(info.memory_total),
        "memory_used": memory_string(info.memory_used),
        "process_available": info.process_available,
        "process_used": info.process_used,
        "max_fds": info.max_fds,
        "load1": f"{info.load1:.2f}",
        "load5": f"{info.load5:.2f}",
        "load15": f"{info.load15:.2f}",
    }
