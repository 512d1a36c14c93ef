"""Plugins: EMQ 2.3's names for the features that really switch on and off (reference §1.4).

Only what ``BrokerControl.features()`` returns is listed, so nothing is shown that does nothing; a
feature with no 2.3 counterpart is shown as `emq_<name>`.
"""
from __future__ import annotations

from gateway.http.routes import Param
from schemas.errors import NotFound
from schemas.records import Feature

from . import params
from .envelope import fail, ok
from .routing import add, on_node

TAGS = ("plugins",)
# feature -> (2.3 plugin name, 2.3 description)
PLUGINS = {
    "retainer": ("emq_retainer", "EMQ Retainer"),
    "presence_events": ("emq_modules", "EMQ Modules"),
    "auth_username": ("emq_auth_username", "Authentication with Username/Password"),
    "dashboard": ("emq_dashboard", "EMQ Web Dashboard"),
}
TOGGLE = (Param(name="active", type="boolean", required=True),)


def plugin_name(feature: str) -> str:
    return PLUGINS.get(feature, (f"emq_{feature}",))[0]


def plugin_object(f: Feature) -> dict:
    description = PLUGINS[f.name][1] if f.name in PLUGINS else f.description
    return {"name": plugin_name(f.name), "version": f.version, "description": description, "active": f.enabled}


async def _find(ctx, request) -> Feature | None:
    name = request.match_info["plugin"]
    return next((f for f in await ctx.control.features() if plugin_name(f.name) == name), None)


async def list_plugins(ctx, request):
    return ok([plugin_object(f) for f in await ctx.control.features()])


async def toggle(ctx, request):
    active = (await params.body_params(request, TOGGLE))["active"]
    feature = await _find(ctx, request)
    if feature is None:
        # emqttd_plugins:load/unload of an unknown plugin: {error, not_found} -> 102 "unknown".
        raise fail(102, "unknown")
    if feature.enabled == active:
        raise fail(110, "already_started") if active else fail(111, "not_started")
    try:
        await ctx.control.set_feature(feature.name, active)
    except NotFound:
        raise fail(102, "unknown") from None
    return ok()


async def _feature_named(ctx, request) -> Feature:
    feature = await _find(ctx, request)
    if feature is None:
        raise params.not_found()
    return feature


async def plugin_configs(ctx, request):
    """A feature's own settings: none of them has any yet (its knobs live in `configs`), so `[]`."""
    await _feature_named(ctx, request)
    return ok([])


async def set_plugin_configs(ctx, request):
    """Free-form `{"<key>":"<value>"}`; with no settings, any key is unknown (2.3's failure: 102)."""
    await _feature_named(ctx, request)
    if await params.json_body(request):
        raise fail(102)
    return ok()


def register(dl) -> None:
    add(dl, "GET", "/nodes/{node}/plugins", on_node(list_plugins), summary="Plugins (switchable features) of a node",
        tags=TAGS)
    add(dl, "PUT", "/nodes/{node}/plugins/{plugin}", on_node(toggle), body=TOGGLE, summary="Start or stop a plugin",
        tags=TAGS)
    add(dl, "GET", "/nodes/{node}/plugin_configs/{plugin}", on_node(plugin_configs), summary="A plugin's settings",
        tags=TAGS)
    add(dl, "PUT", "/nodes/{node}/plugin_configs/{plugin}", on_node(set_plugin_configs),
        body={"type": "object", "additionalProperties": {"type": "string"}}, summary="Change a plugin's settings",
        tags=TAGS)
