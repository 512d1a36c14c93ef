"""`GET /prometheus/stats` (emqx_prometheus): the text exposition format [Prometheus exposition format
0.0.4], or grouped JSON for `Accept: application/json`. Open like EMQX unless `enable_basic_auth` is set
in the configuration (`GET/PUT /prometheus`, the document ``config_roots.PROMETHEUS``; its PUT takes
EMQX's legacy flat form too). `/prometheus/data_integration` counts rules, actions and connectors:
this broker has none.

Besides EMQX's own families it exposes the gateway's request counts per dialect:
`emqgw_http_requests_total{dialect,method,route,status}` from ``ctx.requests``, and the persisted usage
report (gateway.http.usage): `emqgw_api_usage_total{dialect,method,route,principal,legacy}` and
`emqgw_api_usage_last_seen_seconds{...}` (epoch seconds of the last call).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes

from . import knobs
from .config_roots import COLLECTORS, PROMETHEUS
from .configs import UPDATE_FAILED, change, show
from .dialect import PROMETHEUS as OPEN_UNLESS_CONFIGURED
from .validation import check, q

MODES = ("node", "all_nodes_aggregated", "all_nodes_unaggregated")
# EMQX's two renamed families; every other name is `emqx_` + the key with dots as underscores.
RENAMED = {
    "packets.connect.received": "emqx_packets_connect",
    "messages.dropped.await_pubrel_timeout": "emqx_messages_dropped_expired",
}
# JSON groups by key prefix (emqx_prometheus collectors).
GROUPS = (
    ("packets.", "packets"),
    ("bytes.", "packets"),
    ("messages.", "messages"),
    ("delivery.", "delivery"),
    ("client.", "client"),
    ("session.", "session"),
    ("overload_protection.", "olp"),
    ("authorization.", "acl"),
    ("authentication.", "authn"),
)


def metric_name(key: str) -> str:
    return RENAMED.get(key) or "emqx_" + key.replace(".", "_")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


async def _families(call: Call) -> list[tuple[str, str, dict[str, float]]]:
    """(group, type, {metric name: value}) for this node."""
    c = call.control
    stats = (await c.stats()).stats
    counters = (await c.metrics()).counters
    info = await c.node_info()
    nodes = await c.nodes()
    running = sum(n.node_status == "running" for n in nodes)
    cluster = {"emqx_cluster_nodes_running": running, "emqx_cluster_nodes_stopped": len(nodes) - running}
    out = [
        ("stats", "gauge", {metric_name(k): v for k, v in stats.items()}),
        ("metrics", "gauge", {"emqx_vm_total_memory": info.memory_total, "emqx_vm_used_memory": info.memory_used}),
        ("cluster", "gauge", cluster),
    ]
    grouped: dict[str, dict[str, float]] = {}
    for key, value in counters.items():
        group = next((g for prefix, g in GROUPS if key.startswith(prefix)), "messages")
        grouped.setdefault(group, {})[metric_name(key)] = value
    out.extend((g, "counter", values) for g, values in grouped.items())
    return out


def request_lines(requests) -> list[str]:
    lines = ["# TYPE emqgw_http_requests_total counter"]
    for (dialect, method, route, status), n in sorted(requests.items(), key=lambda kv: tuple(map(str, kv[0]))):
        labels = _labels({"dialect": dialect, "method": method, "route": route, "status": status})
        lines.append(f"emqgw_http_requests_total{labels} {n}")
    return lines


def usage_lines(log) -> list[str]:
    """The usage report as two families (blocking: reads the usage file)."""
    rows = log.report()
    total = ["# TYPE emqgw_api_usage_total counter"]
    last = ["# TYPE emqgw_api_usage_last_seen_seconds gauge"]
    for u in sorted(rows, key=lambda u: (u.dialect, u.route, u.method, u.principal)):
        labels = _labels(
            {
                "dialect": u.dialect,
                "method": u.method,
                "route": u.route,
                "principal": u.principal,
                "legacy": str(u.legacy).lower(),
            }
        )
        total.append(f"emqgw_api_usage_total{labels} {u.count}")
        last.append(f"emqgw_api_usage_last_seen_seconds{labels} {int(u.last_seen)}")
    return total + last


CONFIG = knobs.schema(PROMETHEUS)
# EMQX 5.0's flat form, which `PUT /prometheus` still takes: `enable` is the push gateway's switch.
LEGACY_CONFIG = {
    "type": "object",
    "properties": {
        "enable": {"type": "boolean", "default": False},
        "push_gateway_server": {"type": "string"},
        "interval": {"type": "string"},
        "headers": {"type": "object"},
        "job_name": {"type": "string"},
        **{f"{name}_collector": {"type": "string", "enum": ["enabled", "disabled"]} for name in COLLECTORS},
    },
    "additionalProperties": False,
}
MODE = q(
    "mode",
    description="node | all_nodes_aggregated | all_nodes_unaggregated; anything else means node",
    default="node",
)

routes = Routes(tags=("Monitor",))


@routes.get("/prometheus", summary="The Prometheus configuration", responses={200: {"schema": CONFIG}})
async def get_prometheus_config(call: Call) -> web.Response:
    return await show(call, PROMETHEUS)


def _from_legacy(body: dict) -> dict:
    """The flat form as the current one; the push gateway's address and timing only matter while it
    pushes, which it never does here (`enable: true` is refused)."""
    collectors = {name: body[f"{name}_collector"] for name in COLLECTORS if f"{name}_collector" in body}
    return {"push_gateway": {"enable": body["enable"]}, "collectors": collectors}


@routes.put(
    "/prometheus",
    summary="Change the Prometheus configuration (the current form, or the legacy flat one)",
    body={"type": "object", "additionalProperties": True},
    responses={200: {"schema": CONFIG}, 400: {"description": "BAD_REQUEST / NOT_SUPPORTED"}},
    errors=UPDATE_FAILED,
)
async def update_prometheus_config(call: Call) -> web.Response:
    body = call.body
    if body.keys() & CONFIG["properties"].keys() or not body:
        body = check(body, CONFIG)
    else:
        body = _from_legacy(check(body, LEGACY_CONFIG))
    return Dialect.json(await change(call, PROMETHEUS, body))


@routes.get(
    "/prometheus/data_integration",
    auth=OPEN_UNLESS_CONFIGURED,
    summary="Rule engine, action and connector counts (none here)",
    params=(MODE,),
    responses={200: {"content_type": "text/plain", "schema": {"type": "string"}}},
)
async def data_integration(call: Call) -> web.Response:
    counts = {"emqx_rules_count": 0, "emqx_actions_count": 0, "emqx_connectors_count": 0}
    if "application/json" in call.request.headers.get("Accept", ""):
        return Dialect.json({"data_integration_overview": counts, "rules": [], "actions": [], "connectors": []})
    lines = [line for name, value in counts.items() for line in (f"# TYPE {name} gauge", f"{name} {value}")]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


@routes.get(
    "/prometheus/stats",
    auth=OPEN_UNLESS_CONFIGURED,
    summary="Prometheus metrics (text, or JSON with Accept: application/json)",
    params=(MODE,),
    responses={200: {"content_type": "text/plain", "schema": {"type": "string"}}},
)
async def prometheus_stats(call: Call) -> web.Response:
    mode = call.args.get("mode")
    if mode not in MODES:
        mode = "node"  # EMQX falls back silently
    families = await _families(call)
    labels = {"node": call.control.node_name} if mode == "all_nodes_unaggregated" else {}
    if "application/json" in call.request.headers.get("Accept", ""):
        doc: dict[str, dict] = {}
        for group, _kind, values in families:
            doc.setdefault(group, {}).update(values)
        return Dialect.json(doc)
    lines = []
    for _group, kind, values in families:
        for name, value in values.items():
            lines.append(f"# TYPE {name} {kind}")
            lines.append(f"{name}{_labels(labels)} {value}")
    lines.extend(request_lines(call.ctx.requests))
    lines.extend(await asyncio.to_thread(usage_lines, call.ctx.usage))
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
