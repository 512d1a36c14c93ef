"""NanoMQ's `/topic-tree`: the subscription tree, level by level."""

from __future__ import annotations

from aiohttp import web

from gateway.http.routes import Call, Routes

from . import nanomq_http

nanomq = Routes(**nanomq_http.ROUTES)


@nanomq.get("/topic-tree", name="list_topic-tree", summary="A list of topic-tree in the cluster")
async def topic_tree(call: Call) -> web.StreamResponse:
    levels = await call.control.topic_tree()
    out = [
        [{"topic": n.topic, "cld_cnt": n.cld_cnt, **({"clientid": n.clientid} if n.clientid else {})} for n in level]
        for level in levels
    ]
    out.append([])  # NanoMQ closes the list with the (empty) level below the leaves
    return nanomq_http.ok(out)
