"""EMQX 4's ACL cache calls (emqx_mgmt_api_clients, emqx_mgmt_api_acl_cache @ v4.4): a connected client's
cached verdicts (`GET`/`DELETE /clients/{clientid}/acl_cache`, 112 when it is not connected) and the
cleaning of every cache (`DELETE /acl-cache`, cluster-wide or on a node)."""

from __future__ import annotations

from aiohttp import web

from gateway.http.routes import Call, Routes

from . import emqx4_http
from .emqx4_http import ok, on_cluster_and_node

emqx4 = Routes(**emqx4_http.ROUTES)


@emqx4.get("/clients/{clientid}/acl_cache", name="list_acl_cache", summary="A connected client's ACL cache")
async def list_acl_cache(call: Call) -> web.StreamResponse:
    entries = await call.control.authz_cache(call.args["clientid"])
    return ok(
        [
            {"access": e.action, "topic": e.topic, "result": e.result, "updated_time": int(e.updated_at * 1000)}
            for e in entries
        ]
    )


@emqx4.delete("/clients/{clientid}/acl_cache", name="clean_acl_cache", summary="Clean a connected client's ACL cache")
async def clean_acl_cache(call: Call) -> web.StreamResponse:
    await call.control.clean_authz_cache(call.args["clientid"])
    return ok()


@on_cluster_and_node(
    emqx4, "DELETE", "/acl-cache", name="clean_acl_cache_all", summary="Clean every client's ACL cache"
)
async def clean_all(call: Call) -> web.StreamResponse:
    await call.control.clean_all_authz_caches()
    return ok()
