"""EMQX 4.4's modules (lib-ce/emqx_modules, emqx_modules_api @ v4.4.19): the eight CE modules, listed
always, each mapped onto what this broker really switches. Reference: auth-config-apis.md §1.5.

- ``emqx_mod_acl_internal`` (the ACL file): the authorizer's ``file`` source, enabled or not;
- ``emqx_mod_presence``: the ``presence_events`` feature ($SYS connected/disconnected messages);
- the other six (subscription, rewrite, topic metrics, delayed publish, trace, slow subscribers): this
  broker has none of them, so they are listed inactive and loading one answers "not supported".

The retainer is a plugin in EMQX 4.4, not a module: `/plugins` switches it. Failures are message-only.
"""

from __future__ import annotations

import attrs
from aiohttp import web

from gateway.http.routes import Call, Param, Routes
from schemas.errors import NotFound, NotSupported

from . import emqx4_http
from .emqx4_http import cluster_and_node_views, fail, ok

# EMQX 4.4 CE's modules and their descriptions, in the order 4.4 lists them.
MODULES = {
    "emqx_mod_acl_internal": "EMQX Internal ACL Module",
    "emqx_mod_presence": "EMQX Presence Module",
    "emqx_mod_subscription": "EMQX Subscription Module",
    "emqx_mod_rewrite": "EMQX Topic Rewrite Module",
    "emqx_mod_topic_metrics": "EMQX Topic Metrics Module",
    "emqx_mod_delayed": "EMQX Delayed Publish Module",
    "emqx_mod_trace": "EMQX Trace Module",
    "emqx_mod_slow_subs": "EMQX Slow Subscribers Statistics Module",
}
PRESENCE_FEATURE = "presence_events"

emqx4 = Routes(**emqx4_http.ROUTES, errors={NotSupported: (None, None)})


async def _active(call: Call, name: str) -> bool:
    if name == "emqx_mod_acl_internal":
        return any(s.type == "file" and s.enable for s in await call.control.authz_sources())
    if name == "emqx_mod_presence":
        return any(f.name == PRESENCE_FEATURE and f.enabled for f in await call.control.features())
    return False


async def _switch(call: Call, name: str, on: bool) -> None:
    if name == "emqx_mod_presence":
        await call.control.set_feature(PRESENCE_FEATURE, on)
        return
    if name != "emqx_mod_acl_internal":
        raise NotSupported(f"{name} is not supported by this broker", kind="feature")
    try:
        source = await call.control.get_authz_source("file")
    except NotFound:
        raise NotSupported(
            "the ACL file source was removed; add it back with POST /api/v5/authorization/sources", kind="feature"
        ) from None
    await call.control.update_authz_source("file", attrs.evolve(source, enable=on))


@cluster_and_node_views(
    emqx4,
    "/modules",
    "/nodes/{node}/modules",
    "modules",
    cluster=("list_all_modules", "List all modules in the cluster"),
    node=("list_node_modules", "List all modules on a node"),
)
async def modules(call: Call, node: str) -> list:
    # The switches are the cluster's: every node shows the same.
    return [{"name": n, "description": d, "active": await _active(call, n)} for n, d in MODULES.items()]


@emqx4.put(
    "/modules/{module}/{action}",
    name="module_action",
    summary="Load, unload or reload a module in the cluster",
    params=(Param(name="action", where="path", enum=("load", "unload", "reload")),),
)
@emqx4.put(
    "/nodes/{node}/modules/{module}/{action}",
    name="module_action_on_node",
    summary="Load, unload or reload a module on a node",
    params=(Param(name="action", where="path", enum=("load", "unload", "reload")),),
)
async def module_action(call: Call) -> web.StreamResponse:
    name, action = call.args["module"], call.args["action"]
    if name not in MODULES:
        raise fail(None, "not_found")
    active = await _active(call, name)
    if action == "load" and active:
        raise fail(None, "already_started")
    if action in ("unload", "reload") and not active:
        raise fail(None, "not_started")
    if action == "reload":
        await _switch(call, name, False)
    await _switch(call, name, action != "unload")
    return ok()
