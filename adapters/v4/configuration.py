"""NanoMQ's configuration calls over the live document (``settings.py``; shape and rules: ``document.py``):
`/configuration` whole (flat) or by section, and `/reload`, its hot-updatable subset.

A POST carries `{"data": {...}}` (not an object: 400 `{"code":109}`); the merged document is validated
before anything changes (400 `{"code":108}`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.http.routes import Call, Routes

from . import codes, nanomq_http
from .document import RELOAD_KEYS, SECTIONS, DocumentError, section
from .settings import NanoSettings

DATA = {"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}}


def _data(call: Call) -> dict:
    data = call.body.get("data")
    if not isinstance(data, dict):
        raise nanomq_http.fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL)
    return data


def _section_name(call: Call) -> str:
    name = call.args["section"]
    if name not in SECTIONS:
        raise nanomq_http.fail(404, codes.RPC_ERROR, body={"code": codes.RPC_ERROR, "data": {}})
    return name


def routes(settings: NanoSettings) -> Routes:
    nanomq = Routes(**nanomq_http.ROUTES)

    async def update(data: dict[str, Any]) -> web.StreamResponse:
        try:
            await settings.update(data)
        except DocumentError as e:
            raise nanomq_http.NanoMQError(400, e.code, str(e)) from None
        return nanomq_http.ok()

    @nanomq.get("/reload", name="get_hot_updatable_configuration", summary="show hot update configuration")
    async def get_reload(call: Call) -> web.StreamResponse:
        doc = await settings.current()
        data = {k: doc[k] for k in RELOAD_KEYS}
        data.update(enable_mqtt_stream=False, bridge_mode=doc["bridge"]["bridge_mode"])
        return nanomq_http.ok(data)

    @nanomq.post("/reload", name="set_hot_updatable_configuration", summary="set hot update configuration", body=DATA)
    async def post_reload(call: Call) -> web.StreamResponse:
        data = _data(call)
        if not data.keys() <= set(RELOAD_KEYS):
            raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR)
        return await update(data)

    @nanomq.get("/configuration", name="get_broker_configuration", summary="show broker configuration")
    async def get_configuration(call: Call) -> web.StreamResponse:
        return nanomq_http.ok(await settings.current())

    @nanomq.get(
        "/configuration/{section}",
        name="get_configuration_section",
        summary="show one section of the broker configuration (" + ", ".join(SECTIONS) + ")",
    )
    async def get_section(call: Call) -> web.StreamResponse:
        name = _section_name(call)
        return nanomq_http.ok({name: section(await settings.current(), name)})

    @nanomq.post("/configuration", name="set_broker_configuration", summary="set broker configuration", body=DATA)
    async def post_configuration(call: Call) -> web.StreamResponse:
        return await update(_data(call))

    @nanomq.post(
        "/configuration/{section}",
        name="set_configuration_section",
        summary="set one section of the broker configuration",
        body=DATA,
    )
    async def post_section(call: Call) -> web.StreamResponse:
        name = _section_name(call)
        data = _data(call)
        if not isinstance(data.get(name), dict):
            raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR)
        return await update({name: data[name]})

    return nanomq
