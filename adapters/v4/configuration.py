"""NanoMQ's configuration calls over the live document (``settings.py``; shape and rules: ``document.py``):
`/configuration` whole or by section, and `/reload`, its hot-updatable subset.

`GET /configuration` answers in seed 003's flat form; with `?layout=sections` in NanoMQ 0.25's sectioned
form, whose sections `GET /configuration/{section}` serves one by one. A POST carries `{"data": {...}}`
(not an object: 400 `{"code":109}`) in either form; the merged document is validated before anything
changes (400 `{"code":108}`).

Sections that are not views of the document (NanoMQ's `auth`, `auth_http`: the accounts MQTT clients
log in with) are kept by modules of their own, handed to ``routes`` as ``Section`` objects, and served
by the same routes: in the sectioned form, one by one, and in a POST of either form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from gateway.http.routes import Call, Param, Routes

from . import codes, nanomq_http
from . import document as docmod
from .document import RELOAD_KEYS, SECTIONS, DocumentError
from .settings import NanoSettings

DATA = {"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}}
LAYOUTS = ("flat", "sections")


class Section(Protocol):
    """A section of NanoMQ's configuration that another module keeps. ``check`` and ``write`` are handed
    what `POST /configuration/<name>` carries in ``data``: the section's value under its name (absent:
    left as it is) and NanoMQ's ``enable`` beside it; a POST of the whole configuration hands each
    section ``{name: value}``. ``check`` raises DocumentError (or the interface's NotSupported) for what
    it would refuse, so that a POST of several sections is checked whole before any is written."""

    async def read(self) -> Any: ...
    async def check(self, posted: dict) -> None: ...
    async def write(self, posted: dict) -> None: ...


def _data(call: Call) -> dict:
    data = call.body.get("data")
    if not isinstance(data, dict):
        raise nanomq_http.fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL)
    return data


def routes(settings: NanoSettings, sections: Mapping[str, Section] | None = None) -> Routes:
    nanomq = Routes(**nanomq_http.ROUTES)
    others: Mapping[str, Section] = sections or {}
    data_dir = settings.ctx.config.data_dir

    def section_name(call: Call) -> str:
        name = call.args["section"]
        if name not in SECTIONS and name not in others:
            raise nanomq_http.fail(404, codes.RPC_ERROR, body={"code": codes.RPC_ERROR, "data": {}})
        return name

    async def update(document: dict[str, Any], theirs: Mapping[str, dict]) -> web.StreamResponse:
        """Apply a POST: the other modules' sections checked first, then the document checked and
        written, then the other sections written."""
        try:
            for name, posted in theirs.items():
                await others[name].check(posted)
            if document:
                await settings.update(document)
        except DocumentError as e:
            raise nanomq_http.NanoMQError(400, e.code, str(e)) from None
        for name, posted in theirs.items():
            await others[name].write(posted)
        return nanomq_http.ok()

    @nanomq.get("/reload", name="get_hot_updatable_configuration", summary="show hot update configuration")
    async def get_reload(call: Call) -> web.StreamResponse:
        doc = await settings.document()
        data = {k: doc[k] for k in RELOAD_KEYS}
        data.update(enable_mqtt_stream=False, bridge_mode=doc["bridge"]["bridge_mode"])
        return nanomq_http.ok(data)

    @nanomq.post("/reload", name="set_hot_updatable_configuration", summary="set hot update configuration", body=DATA)
    async def post_reload(call: Call) -> web.StreamResponse:
        data = _data(call)
        # NanoMQ's documented example wraps the settings in a second "data".
        if data.keys() == {"data"} and isinstance(data["data"], dict):
            data = data["data"]
        if not data.keys() <= set(RELOAD_KEYS):
            raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR)
        return await update(data, {})

    @nanomq.get(
        "/configuration",
        name="get_broker_configuration",
        summary="show broker configuration (?layout=sections: NanoMQ 0.25's sectioned form)",
        params=(Param(name="layout", enum=LAYOUTS, default="flat"),),
    )
    async def get_configuration(call: Call) -> web.StreamResponse:
        doc = await settings.document()
        if call.args.get("layout") != "sections":
            return nanomq_http.ok(doc)
        out = docmod.to_sections(doc, data_dir)
        for name, other in others.items():
            out[name] = await other.read()
        return nanomq_http.ok(out)

    @nanomq.get(
        "/configuration/{section}",
        name="get_configuration_section",
        summary="show one section of the broker configuration (" + ", ".join((*SECTIONS, *others)) + ")",
    )
    async def get_section(call: Call) -> web.StreamResponse:
        name = section_name(call)
        if name in others:
            return nanomq_http.ok({name: await others[name].read()})
        return nanomq_http.ok({name: docmod.section(await settings.document(), name, data_dir)})

    @nanomq.post("/configuration", name="set_broker_configuration", summary="set broker configuration", body=DATA)
    async def post_configuration(call: Call) -> web.StreamResponse:
        data = _data(call)
        theirs = {name: {name: data[name]} for name in others if name in data}
        return await update({k: v for k, v in data.items() if k not in theirs}, theirs)

    @nanomq.post(
        "/configuration/{section}",
        name="set_configuration_section",
        summary="set one section of the broker configuration",
        body=DATA,
    )
    async def post_section(call: Call) -> web.StreamResponse:
        name = section_name(call)
        data = _data(call)
        if name in others:
            return await update({}, {name: data})
        if name not in data:
            raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR)
        return await update({name: data[name]}, {})

    return nanomq
