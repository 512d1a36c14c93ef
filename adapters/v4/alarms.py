"""EMQX 4.4's alarm calls (emqx_mgmt_api_alarms.erl, the 4.2+ design), served in either flavor: all,
activated or deactivated alarms, cluster-wide (`[{"node", "alarms"}]`) or on one node (the bare list);
deactivate one; delete the deactivated ones. Times and `duration` are integer microseconds,
`deactivate_at` is "infinity" while the alarm is up; failures are minirest's message-only bodies
(`{"message": "missing_param"}`, HTTP 200).
"""

from __future__ import annotations

import functools
import time

from aiohttp import web

from adapters.common.fields import ALARM, project
from gateway.http.routes import Call, Routes
from schemas.errors import NotFound
from schemas.records import Alarm

from . import emqx4_http
from .emqx4_http import cluster_and_node_views

US = 1_000_000
# The three listings: path suffix, which alarms (None: both), the word naming them in EMQX's route names.
LISTINGS = (("", None, "all"), ("/activated", True, "activated"), ("/deactivated", False, "deactivated"))

emqx4 = Routes(**emqx4_http.ROUTES)


def _us(t: float) -> int:
    return int(t * US)


FORMATTERS = {"time": _us, "until": lambda t: "infinity" if t is None else _us(t)}


def alarm_doc(a: Alarm, now: float) -> dict:
    doc = project(a, ALARM, "emqx4", FORMATTERS)
    end = doc["deactivate_at"]
    doc["duration"] = (_us(now) if end == "infinity" else end) - doc["activate_at"]
    return doc


async def _rows(call: Call, node: str, activated: bool | None) -> list[dict]:
    now = time.time()
    return [alarm_doc(a, now) for a in await call.control.list_alarms(activated=activated) if a.node == node]


for suffix, activated, what in LISTINGS:
    name = "alarms" if activated is None else f"{what}_alarms"
    cluster_and_node_views(
        emqx4,
        "/alarms" + suffix,
        "/nodes/{node}/alarms" + suffix,
        "alarms",
        cluster=(f"list_all_{name}", f"List {what} alarms in the cluster"),
        node=(f"list_node_{name}", f"List {what} alarms of a node"),
    )(functools.partial(_rows, activated=activated))


@emqx4.post(
    "/alarms/deactivated",
    name="deactivate_alarm",
    summary="Deactivate an alarm",
    body={"type": "object", "properties": {"node": {"type": "string"}, "name": {"type": "string"}}},
)
async def deactivate(call: Call) -> web.StreamResponse:
    node, name = call.body.get("node"), call.body.get("name")
    if not isinstance(node, str) or not isinstance(name, str):
        raise emqx4_http.fail(None, "missing_param")
    if node not in await call.control.node_names():
        raise NotFound(f"node {node!r} not found", kind="node")
    await call.control.deactivate_alarm(name)
    return emqx4_http.ok()


@emqx4.delete(
    "/nodes/{node}/alarms/deactivated",
    name="delete_node_deactivated_alarms",
    summary="Delete the deactivated alarms of a node",
)
@emqx4.delete(
    "/alarms/deactivated", name="delete_all_deactivated_alarms", summary="Delete all deactivated alarms in the cluster"
)
async def delete_deactivated(call: Call) -> web.StreamResponse:
    await call.control.clear_alarm_history()
    return emqx4_http.ok()
