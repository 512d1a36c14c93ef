"""Plugins: EMQ 2.3's names for the features that really switch on and off (reference §1.4).

Only what ``BrokerControl.features()`` returns is listed, so nothing is shown that does nothing; a
feature with no 2.3 counterpart is shown as `emq_<name>`.
"""

from __future__ import annotations

from gateway.http.routes import Call, Param, Routes
from schemas.records import Feature

from . import params
from .envelope import fail, ok

TAGS = ("plugins",)
# feature -> (2.3 plugin name, 2.3 description)
PLUGINS = {
    "retainer": ("emq_retainer", "EMQ Retainer"),
    "presence_events": ("emq_modules", "EMQ Modules"),
    "auth_username": ("emq_auth_username", "Authentication with Username/Password"),
    "dashboard": ("emq_dashboard", "EMQ Web Dashboard"),
}
TOGGLE = params.body_schema(Param(name="active", type="boolean", required=True))


def plugin_name(feature: str) -> str:
    return PLUGINS.get(feature, (f"emq_{feature}",))[0]


def plugin_object(f: Feature) -> dict:
    description = PLUGINS[f.name][1] if f.name in PLUGINS else f.description
    return {"name": plugin_name(f.name), "version": f.version, "description": description, "active": f.enabled}


routes = Routes(tags=TAGS)


async def _find(call: Call) -> Feature | None:
    name = call.args["plugin"]
    return next((f for f in await call.control.features() if plugin_name(f.name) == name), None)


@routes.get("/nodes/{node}/plugins", name="node_list_plugins", summary="Plugins (switchable features) of a node")
async def list_plugins(call: Call):
    return ok([plugin_object(f) for f in await call.control.features()])


@routes.put("/nodes/{node}/plugins/{plugin}", name="node_toggle", body=TOGGLE, summary="Start or stop a plugin")
async def toggle(call: Call):
    active = call.body["active"]
    feature = await _find(call)
    if feature is None:
        # emqttd_plugins:load/unload of an unknown plugin: {error, not_found} -> 102 "unknown".
        raise fail(102, "unknown")
    if feature.enabled == active:
        raise fail(110, "already_started") if active else fail(111, "not_started")
    await call.control.set_feature(feature.name, active)
    return ok()


async def _feature_named(call: Call) -> Feature:
    feature = await _find(call)
    if feature is None:
        raise params.not_found()
    return feature


@routes.get("/nodes/{node}/plugin_configs/{plugin}", name="node_plugin_configs", summary="A plugin's settings")
async def plugin_configs(call: Call):
    """A feature's own settings: none of them has any yet (its knobs live in `configs`), so `[]`."""
    await _feature_named(call)
    return ok([])


@routes.put(
    "/nodes/{node}/plugin_configs/{plugin}",
    name="node_set_plugin_configs",
    body={"type": "object", "additionalProperties": {"type": "string"}},
    summary="Change a plugin's settings",
)
async def set_plugin_configs(call: Call):
    """Free-form `{"<key>":"<value>"}`; with no settings, any key is unknown (2.3's failure: 102)."""
    await _feature_named(call)
    if call.body:
        raise fail(102)
    return ok()
