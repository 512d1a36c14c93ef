"""EMQX 4.4's alarm calls (emqx_mgmt_api_alarms.erl, the 4.2+ design): all, activated or deactivated
alarms, cluster-wide (`[{"node", "alarms"}]`) or on one node (the bare list); deactivate one; delete the
deactivated ones. Times and `duration` are integer microseconds, `deactivate_at` is "infinity" while
the alarm is up; failures are minirest's message-only bodies (`{"message": "missing_param"}`, HTTP 200).
"""
from __future__ import annotations

import time

from adapters.common.fields import ALARM, project
from schemas.errors import NotFound
from schemas.records import Alarm

from .minirest import Fail

US = 1_000_000
# The path suffix -> which alarms it lists (None: both).
KINDS = {"": None, "/activated": True, "/deactivated": False}


def _us(t: float) -> int:
    return int(t * US)


FORMATTERS = {"time": _us, "until": lambda t: "infinity" if t is None else _us(t)}


def alarm_doc(a: Alarm, now: float) -> dict:
    doc = project(a, ALARM, "emqx4", FORMATTERS)
    end = doc["deactivate_at"]
    doc["duration"] = (_us(now) if end == "infinity" else end) - doc["activate_at"]
    return doc


def register(dl) -> None:
    """Add the alarm endpoints to an Emqx4Dialect ``dl``."""
    async def rows(activated: bool | None) -> list[dict]:
        now = time.time()
        return [alarm_doc(a, now) for a in await dl.ctx.control.list_alarms(activated=activated)]

    def listing(activated: bool | None):
        async def cluster(request):
            return dl.ok([{"node": dl.ctx.node_name, "alarms": await rows(activated)}])

        async def one_node(request):
            dl._check_node(request)
            return dl.ok(await rows(activated))
        return cluster, one_node

    async def deactivate(request):
        body = await dl._object(request)
        node, name = body.get("node"), body.get("name")
        if not isinstance(node, str) or not isinstance(name, str):
            raise Fail(None, "missing_param")
        try:
            if node != dl.ctx.node_name:
                raise NotFound(node, kind="node")
            await dl.ctx.control.deactivate_alarm(name)
        except NotFound:
            raise Fail(None, "not_found") from None
        return dl.ok()

    async def delete_deactivated(request):
        dl._check_node(request)
        await dl.ctx.control.clear_alarm_history()
        return dl.ok()

    for suffix, activated in KINDS.items():
        cluster, one_node = listing(activated)
        what = {None: "all", True: "activated", False: "deactivated"}[activated]
        name = "alarms" if activated is None else f"{what}_alarms"
        dl._add("GET", "/alarms" + suffix, cluster, f"list_all_{name}", f"List {what} alarms in the cluster")
        dl._add("GET", "/nodes/{node}/alarms" + suffix, one_node, f"list_node_{name}", f"List {what} alarms of a node")
    dl._add("POST", "/alarms/deactivated", deactivate, "deactivate_alarm", "Deactivate an alarm",
            body={"type": "object", "properties": {"node": {"type": "string"}, "name": {"type": "string"}}})
    dl._add("DELETE", "/alarms/deactivated", delete_deactivated, "delete_all_deactivated_alarms",
            "Delete all deactivated alarms in the cluster")
    dl._add("DELETE", "/nodes/{node}/alarms/deactivated", delete_deactivated, "delete_node_deactivated_alarms",
            "Delete the deactivated alarms of a node")
