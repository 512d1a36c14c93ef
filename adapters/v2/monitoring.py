"""Nodes, listeners, metrics, stats and alarms (reference §1.4-1.5), all from live numbers.

The all-node forms wrap each node as 2.3 did: `management/nodes` and `monitoring/nodes` are arrays of
objects carrying `name`; `monitoring/{listeners,metrics,stats}` are a one-element array holding an
object keyed by node name (the 2.3 dashboard reads `monitoring/stats` that way).
"""

from __future__ import annotations

import orjson

from adapters.common.fields import ALARM, METRICS_V2, METRICS_V2_FROM_STATS, STATS_V2, project
from adapters.common.legacy_nodes import as_broker, node_figures
from adapters.common.runtime import ACCEPTORS
from adapters.common.timefmt import legacy_datetime
from gateway.http.routes import Call, Routes
from schemas.records import Alarm, ListenerInfo, NodeInfo

from .envelope import ok

TAGS = ("monitoring",)


def node_object(info: NodeInfo) -> dict:
    return {"name": info.node, **node_figures(info), "clients": info.live_connections}


def listener_object(lst: ListenerInfo) -> dict:
    # 2.3 echoed the configured `listen`: a bare port when bound to every interface.
    listen = str(lst.port) if lst.bind in ("", "0.0.0.0", "::") else f"{lst.bind}:{lst.port}"
    # esockd's shutdown_count was `[]` or `{"<reason>":n}`; ours counts connections refused at max_clients.
    shutdown = {"max_clients": lst.shutdown_count} if lst.shutdown_count else []
    return {
        "protocol": f"mqtt:{lst.type}",
        "listen": listen,
        "acceptors": ACCEPTORS,
        "max_clients": lst.max_connections,
        "current_clients": lst.current_connections,
        "shutdown_count": shutdown,
    }


async def _listeners(control, node: str) -> list[dict]:
    return [listener_object(lst) for lst in await control.listeners(node) if lst.running]


async def _metrics(control, node: str) -> dict:
    counters = (await control.metrics(node)).counters
    stats = (await control.stats(node)).stats
    out = {k: counters.get(v, 0) for k, v in METRICS_V2.items()}
    out.update({k: stats.get(v, 0) for k, v in METRICS_V2_FROM_STATS.items()})
    return out


async def _stats(control, node: str) -> dict:
    stats = (await control.stats(node)).stats
    return {k: stats.get(v, 0) for k, v in STATS_V2.items()}


async def _broker(control, node: str) -> dict:
    return as_broker(await control.node_info(node))


async def _node(control, node: str) -> dict:
    return node_object(await control.node_info(node))


def _named(node: str, data: dict) -> dict:
    return {"name": node, **data}


def _as_is(node: str, data: dict) -> dict:
    return data


def _keyed(node: str, data) -> dict:
    return {node: data}


# path, what one node shows, how the all-nodes array wraps it, tag, what it is
SECTIONS = (
    ("/management/nodes", _broker, _named, "management", "version, uptime, datetime"),
    ("/monitoring/nodes", _node, _as_is, "monitoring", "memory, load, processes"),
    ("/monitoring/listeners", _listeners, _keyed, "monitoring", "MQTT listeners"),
    ("/monitoring/metrics", _metrics, _keyed, "monitoring", "packet and message counters"),
    ("/monitoring/stats", _stats, _keyed, "monitoring", "connection and session gauges"),
)


def _all_nodes(produce, wrap):
    async def handler(call: Call):
        return ok([wrap(node, await produce(call.control, node)) for node in await call.control.node_names()])

    return handler


def _one_node(produce):
    async def handler(call: Call):
        return ok(await produce(call.control, call.args["node"]))

    return handler


def _section_routes() -> Routes:
    """Each section for all nodes and for one node."""
    out = Routes()
    for path, produce, wrap, tag, what in SECTIONS:
        name = path.strip("/").replace("/", "_")
        out.add("GET", path, _all_nodes(produce, wrap), name=name + "_all", summary=f"All nodes: {what}", tags=(tag,))
        out.add(
            "GET", path + "/{node}", _one_node(produce), name=name + "_node", summary=f"One node: {what}", tags=(tag,)
        )
    return out


routes = _section_routes()


ALARM_FORMATS = {"details": lambda d: orjson.dumps(d).decode(), "time": legacy_datetime}


def alarm_row(a: Alarm) -> dict:
    """2.3's #mqtt_alarm: our alarms are all resource warnings; the details become the summary text."""
    return {**project(a, ALARM, "v2", ALARM_FORMATS), "severity": "warning"}


@routes.get("/nodes/{node}/alarms", name="node_alarms", summary="Active alarms of a node", tags=TAGS)
async def alarms(call: Call):
    node = call.args["node"]
    return ok([alarm_row(a) for a in await call.control.list_alarms(activated=True) if a.node == node])
