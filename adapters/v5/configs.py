"""Configuration over HTTP (emqx_mgmt_api_configs): `/configs/global_zone`, `/configs/{root}`,
`/configs?key=` and `POST /configs_reset/{root}`, over the one broker configuration every dialect
reads and changes (auth-config-apis.md §4; the documents are ``config_roots``).

A PUT is checked against the document's schema, then every field it leaves out takes its default
(EMQX's semantics: send whole sub-objects); the result is applied live through
``BrokerControl.apply_config``, which persists it. A bad value changes nothing.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson
from aiohttp import web

from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, NotSupported

from . import knobs
from .config_roots import ALL_ROOTS, GLOBAL_ZONE, ROOTS
from .knobs import Doc
from .validation import check, path, q

# EMQX's root names for `GET /configs?key=` (emqx_conf_schema roots, 5.8): the ones served here are
# ALL_ROOTS; the others belong to features this broker does not have.
EMQX_ROOTS = (
    "actions",
    "alarm",
    "api_key",
    "authentication",
    "authorization",
    "auto_subscribe",
    "banned",
    "bridges",
    "cluster",
    "conn_congestion",
    "connectors",
    "crl_cache",
    "dashboard",
    "delayed",
    "durable_sessions",
    "durable_storage",
    "exhook",
    "flapping_detect",
    "force_gc",
    "force_shutdown",
    "gateway",
    "limiter",
    "listeners",
    "log",
    "mqtt",
    "node",
    "opentelemetry",
    "overload_protection",
    "prometheus",
    "psk_authentication",
    "retainer",
    "rewrite",
    "rpc",
    "rule_engine",
    "slow_subs",
    "sources",
    "sys_topics",
    "sysmon",
    "telemetry",
    "topic_metrics",
)
# `Accept: application/json` gets these roots, whatever `key` says (the deprecated JSON mode).
JSON_MODE_ROOTS = ("alarm", "sys_topics", "sysmon", "log", "broker")
UPDATE_FAILED = {InvalidArgument: (400, "UPDATE_FAILED")}


async def show(call: Call, doc: Doc) -> web.Response:
    return Dialect.json(knobs.render(doc, await call.control.get_config()))


async def change(call: Call, doc: Doc, body: dict) -> dict:
    """Apply a PUT of ``body`` to ``doc`` (left-out fields: defaults); the document as it now stands."""
    cfg = await call.control.get_config()
    new = attrs.evolve(cfg, **knobs.changes(doc, body, cfg))
    await call.control.apply_config(new)
    return knobs.render(doc, await call.control.get_config())


routes = Routes(tags=("Configs",))


def document_endpoints(table: Routes, at: str, doc: Doc, *, names: tuple[str, str], what: str) -> None:
    """`GET` and `PUT` of one configuration document at ``at`` (EMQX's PUT: left-out fields get their
    defaults); ``names`` are the two operations', ``what`` the document as a summary names it."""
    schema = knobs.schema(doc)

    async def get_document(call: Call) -> web.Response:
        return await show(call, doc)

    async def put_document(call: Call) -> web.Response:
        return Dialect.json(await change(call, doc, call.body))

    get_name, put_name = names
    table.add(
        "GET", at, get_document, name=get_name, summary=what[0].upper() + what[1:], responses={200: {"schema": schema}}
    )
    table.add(
        "PUT",
        at,
        put_document,
        name=put_name,
        summary=f"Change {what} (left-out fields get their defaults)",
        body=schema,
        responses={200: {"schema": schema}, 400: {"description": "UPDATE_FAILED / NOT_SUPPORTED"}},
        errors=UPDATE_FAILED,
    )


for _name, _doc in ROOTS.items():
    document_endpoints(
        routes, f"/configs/{_name}", _doc, names=(f"get_{_name}", f"update_{_name}"), what=f"the {_name} configuration"
    )

ZONE_SCHEMA = knobs.schema(GLOBAL_ZONE)


@routes.get("/configs/global_zone", summary="The zone's MQTT settings", responses={200: {"schema": ZONE_SCHEMA}})
async def get_global_zone(call: Call) -> web.Response:
    return await show(call, GLOBAL_ZONE)


@routes.put(
    "/configs/global_zone",
    summary="Change the zone's MQTT settings (each sub-object sent is replaced whole)",
    body=ZONE_SCHEMA,
    responses={200: {"schema": ZONE_SCHEMA}, 400: {"description": "UPDATE_FAILED / NOT_SUPPORTED"}},
    errors=UPDATE_FAILED,
)
async def update_global_zone(call: Call) -> web.Response:
    # Only the sub-objects sent change (emqx_mgmt_api_configs updates the changed ones).
    sent = {name: sub for name, sub in GLOBAL_ZONE.items() if name in call.body}
    await change(call, sent, call.body)
    return await show(call, GLOBAL_ZONE)


def _accepts_text(accept: str) -> bool | None:
    """HOCON text (True), JSON (False) or neither (None), as emqx_mgmt_api_configs reads `Accept`."""
    kinds = [part.split(";")[0].strip() for part in accept.split(",")]
    if not accept or "text/plain" in kinds or "*/*" in kinds:
        return True
    if kinds == ["application/json"]:
        return False
    return None


@routes.get(
    "/configs",
    summary="Configuration roots: HOCON text (the default), or JSON with Accept: application/json",
    params=(q("key", enum=EMQX_ROOTS, description="One root; all roots without it"), q("node")),
    responses={
        200: {"content_type": "text/plain", "schema": {"type": "string"}},
        400: {"description": "INVALID_ACCEPT"},
        404: {"description": "Bad node"},
    },
)
async def get_configs(call: Call) -> web.Response:
    node = call.args.get("node")
    if node is not None and node != call.control.node_name:
        raise ApiError(404, "NOT_FOUND", f"Bad node {node}, reason not found")
    text = _accepts_text(call.request.headers.get("Accept", ""))
    if text is None:
        raise ApiError(400, "INVALID_ACCEPT", "Only text/plain or application/json is accepted")
    cfg = await call.control.get_config()
    if not text:
        return Dialect.json({name: knobs.render(ALL_ROOTS[name], cfg) for name in JSON_MODE_ROOTS})
    key = call.args.get("key")
    if key is not None and key not in ALL_ROOTS:
        raise NotSupported(f"this broker has no {key} configuration", kind="config")
    names = [key] if key is not None else list(ALL_ROOTS)
    # HOCON reads JSON: the roots are written as JSON objects, which any HOCON parser takes.
    doc = {name: knobs.render(ALL_ROOTS[name], cfg) for name in names}
    return web.Response(body=orjson.dumps(doc, option=orjson.OPT_INDENT_2), content_type="text/plain")


def _merged(current: dict, given: dict) -> dict:
    """``given`` laid over ``current`` key by key, objects merged (EMQX's `mode=merge`)."""
    out = dict(current)
    for key, value in given.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both else value
    return out


@routes.put(
    "/configs",
    summary="Change configuration roots, given as HOCON text in its JSON form",
    params=(
        q("mode", enum=("merge", "replace"), default="merge", description="merge into the roots, or replace them"),
        q("ignore_readonly", "boolean", default=False),
    ),
    json_body=False,
    responses={200: {"description": "updated"}, 400: {"description": "UPDATE_FAILED / NOT_SUPPORTED"}},
    errors=UPDATE_FAILED,
)
async def update_configs(call: Call) -> web.Response:
    """Every root is checked and the changes applied together, or none. This gateway reads HOCON's JSON
    form (what `GET /configs` writes): other HOCON syntax is refused, never half-read. No root here is
    read-only, so `ignore_readonly` changes nothing."""
    try:
        given = orjson.loads(await call.request.read())
    except orjson.JSONDecodeError as e:
        raise ApiError(400, "UPDATE_FAILED", f"only HOCON's JSON form is read here: {e}") from None
    if not isinstance(given, dict):
        raise ApiError(400, "UPDATE_FAILED", "expected an object of configuration roots")
    for name in given:
        if name in ALL_ROOTS:
            continue
        if name in EMQX_ROOTS:
            raise NotSupported(f"this broker has no {name} configuration", kind="config")
        raise ApiError(400, "UPDATE_FAILED", f"{{root_key_not_found,{name}}}")
    cfg = await call.control.get_config()
    new: dict[str, Any] = {}
    for name, value in given.items():
        if not isinstance(value, dict):
            raise ApiError(400, "UPDATE_FAILED", f"{name}: expected an object")
        doc = ALL_ROOTS[name]
        body = value if call.args["mode"] == "replace" else _merged(knobs.render(doc, cfg), value)
        new.update(knobs.changes(doc, check(body, knobs.schema(doc), name), cfg))
    await call.control.apply_config(attrs.evolve(cfg, **new))
    return web.Response(status=200)


def _without(doc: dict, dotted: str) -> dict:
    """``doc`` less the field at ``dotted`` (which a PUT then resets to its default)."""
    out: dict[str, Any] = dict(doc)
    head, _, rest = dotted.partition(".")
    if rest:
        out[head] = _without(out[head], rest)
    else:
        out.pop(head)
    return out


@routes.post(
    "/configs_reset/{rootname}",
    summary="Reset a root, or one path in it (conf_path=a.b), to its defaults",
    params=(path("rootname", enum=tuple(ROOTS)), q("conf_path", description="a.b: only this part")),
    responses={200: {"description": "reset"}, 400: {"description": "NO_DEFAULT_VALUE"}},
    errors=UPDATE_FAILED,
)
async def reset_root(call: Call) -> web.Response:
    doc = ROOTS[call.args["rootname"]]
    conf_path = call.args.get("conf_path")
    body: dict = {}
    if conf_path is not None:
        if knobs.at_path(doc, conf_path) is None:
            raise ApiError(400, "NO_DEFAULT_VALUE", "No Default Value.")
        body = _without(knobs.render(doc, await call.control.get_config()), conf_path)
    await change(call, doc, body)
    return web.Response(status=200)
