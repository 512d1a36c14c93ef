"""EMQX 4's ban list (emqx_mgmt_api_banned): paged listing, add (a repeated ban replaces the old one, as
mnesia's write does), delete (idempotent). Times are integer epoch seconds."""

from __future__ import annotations

import time

from aiohttp import web

from adapters.common.timefmt import epoch_seconds
from gateway.http.routes import Call, Param, Routes
from schemas.errors import Conflict, NotFound
from schemas.records import BannedEntry

from . import codes, emqx4_http

BAN_DEFAULT_SECONDS = 300  # emqx_banned: `until` defaults to now + 5 minutes
KINDS = ("clientid", "username", "peerhost")

emqx4 = Routes(**emqx4_http.ROUTES)


def _row(b: BannedEntry) -> dict:
    return {
        "who": b.who,
        "as": b.as_,
        "by": b.by,
        "reason": b.reason,
        "at": int(b.at),
        "until": int(b.until) if b.until is not None else None,
    }


@emqx4.get(
    "/banned",
    name="list_banned",
    summary="List banned",
    params=(Param(name="_page", type="integer"), Param(name="_limit", type="integer")),
)
async def list_banned(call: Call) -> web.StreamResponse:
    page = emqx4_http.page_of(call.args)
    found = await call.control.list_banned(offset=page.offset, limit=page.limit)
    return emqx4_http.ok([_row(b) for b in found.items], meta=emqx4_http.page_meta(page, found.total))


@emqx4.post(
    "/banned",
    name="create_banned",
    summary="Create banned",
    body={
        "type": "object",
        "required": ["who", "as"],
        "properties": {
            "who": {"type": "string"},
            "as": {"type": "string", "enum": list(KINDS)},
            "by": {"type": "string"},
            "reason": {"type": "string"},
            "at": {"type": "integer"},
            "until": {"type": "integer"},
        },
    },
)
async def add_banned(call: Call) -> web.StreamResponse:
    body = call.body
    if not isinstance(body.get("who"), str) or "as" not in body:
        raise emqx4_http.fail(codes.MISSING_KEY_REQUEST_PARAMS, "missing_required_params")
    if body["as"] not in KINDS:
        raise emqx4_http.fail(codes.REQ_PARAM_ERROR, "bad_as")
    try:
        at = epoch_seconds(body.get("at", time.time()))
        until = epoch_seconds(body.get("until", at + BAN_DEFAULT_SECONDS))
    except ValueError:
        raise emqx4_http.fail(codes.REQ_PARAM_ERROR, "bad at/until") from None
    entry = BannedEntry(
        as_=body["as"],
        who=body["who"],
        by=str(body.get("by", "user")),
        reason=str(body.get("reason", "")),
        at=float(at),
        until=float(until),
    )
    try:
        await call.control.add_banned(entry)
    except Conflict:
        await call.control.delete_banned(entry.as_, entry.who)
        await call.control.add_banned(entry)
    return emqx4_http.ok(
        {"who": entry.who, "as": entry.as_, "by": entry.by, "reason": entry.reason, "at": at, "until": until}
    )


@emqx4.delete("/banned/{as}/{who}", name="delete_banned", summary="Delete banned")
async def delete_banned(call: Call) -> web.StreamResponse:
    try:
        await call.control.delete_banned(call.args["as"], call.args["who"])
    except NotFound:
        pass  # deleting what is not there succeeds
    return emqx4_http.ok()
