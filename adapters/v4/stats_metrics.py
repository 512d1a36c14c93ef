"""Stats and metrics: EMQX 4's `/stats` and `/metrics` (cluster-wide and per node), NanoMQ's `/metrics`
(bridges, CPU, memory, connections; no `code`) and `/prometheus` (text exposition)."""

from __future__ import annotations

import resource

from aiohttp import web

from adapters.common.fields import METRICS_EMQX4_RENAMES
from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes

from . import emqx4_http, nanomq_http
from .emqx4_http import cluster_and_node_views
from .nanomq_state import NanoMQState

# Stats EMQX 4.4 lists that the broker names otherwise or does not have.
STATS_ALIASES = {"routes.count": "topics.count", "routes.max": "topics.max"}
STATS_NOT_IN_EMQX4 = ("cluster_sessions.", "delayed.")

emqx4 = Routes(**emqx4_http.ROUTES)


@cluster_and_node_views(
    emqx4,
    "/stats",
    "/nodes/{node}/stats",
    "stats",
    cluster=("list_stats", "A list of stats of all nodes in the cluster"),
    node=("lookup_node_stats", "A list of stats of a node"),
)
async def emqx4_stats(call: Call, node: str) -> dict:
    raw = (await call.control.stats(node)).stats
    out = {k: v for k, v in raw.items() if not k.startswith(STATS_NOT_IN_EMQX4)}
    out.update({k: raw.get(src, 0) for k, src in STATS_ALIASES.items()})
    return out


@cluster_and_node_views(
    emqx4,
    "/metrics",
    "/nodes/{node}/metrics",
    "metrics",
    cluster=("list_all_metrics", "A list of metrics of all nodes in the cluster"),
    node=("list_node_metrics", "A list of metrics of a node"),
)
async def emqx4_metrics(call: Call, node: str) -> dict:
    counters = (await call.control.metrics(node)).counters
    return {METRICS_EMQX4_RENAMES.get(k, k): v for k, v in counters.items()}


def nanomq_routes(state: NanoMQState) -> Routes:
    """NanoMQ's two, over the dialect's bridge and CPU sampler."""
    nanomq = Routes(**nanomq_http.ROUTES)

    @nanomq.get("/metrics", name="metrics", summary="show broker metrics")
    async def metrics(call: Call) -> web.StreamResponse:
        info = await call.control.node_info()
        bridge = state.bridge.current
        bridges = [bridge.counters.as_nanomq(bridge.name)] if bridge is not None else []
        return Dialect.json(
            {
                "metrics": bridges,
                "cpuinfo": f"{state.cpu.percent():.2f}%",
                "memory": str(info.memory_used),
                "connections": info.live_connections,
            }
        )

    # NanoMQ's subscribers are the clients with a subscription (dbhash_get_pipe_cnt), and its `*_max` the
    # highest value a scrape saw; the broker's own peaks (connections, sessions, topics) are never
    # below that, and the process's peak resident memory is the truer maximum where it is higher.
    @nanomq.get("/prometheus", name="prometheus", summary="show broker metrics in prometheus format")
    async def prometheus(call: Call) -> web.StreamResponse:
        stats = (await call.control.stats()).stats
        counters = (await call.control.metrics()).counters
        info = await call.control.node_info()
        subscribers = await call.control.subscribing_clients()
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        cpu = state.cpu.percent()
        peak = state.peaks
        lines = []

        def put(name, kind, value, help_):
            lines.extend((f"# TYPE {name} {kind}", f"# HELP {name} {help_}", f"{name} {value}"))

        for what, key in (("connections", "live_connections"), ("sessions", "sessions"), ("topics", "topics")):
            put(f"nanomq_{what}_count", "gauge", stats.get(key + ".count", 0), f"Current {what}")
            put(f"nanomq_{what}_max", "gauge", stats.get(key + ".max", 0), f"Peak {what}")
        put("nanomq_subscribers_count", "gauge", subscribers, "Clients with a subscription")
        put("nanomq_subscribers_max", "gauge", peak("subscribers", subscribers), "Peak clients with a subscription")
        for what in ("received", "sent", "dropped"):
            put(f"nanomq_messages_{what}", "counter", counters.get(f"messages.{what}", 0), f"Messages {what}")
        put("nanomq_memory_usage", "gauge", info.memory_used, "Resident memory in bytes")
        put("nanomq_memory_usage_max", "gauge", peak("memory", max(peak_rss, info.memory_used)), "Peak resident memory")
        put("nanomq_cpu_usage", "gauge", f"{cpu:.2f}", "CPU usage in percent")
        put("nanomq_cpu_usage_max", "gauge", f"{peak('cpu', cpu):.2f}", "Peak CPU usage in percent")
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    return nanomq
