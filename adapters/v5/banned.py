"""The ban list (emqx_mgmt_api_banned): paged listing with one filter at most, add, delete, clear."""

from __future__ import annotations

import ipaddress
import re
import time

import orjson
from aiohttp import web

from adapters.common.timefmt import parse_time_s, rfc3339_s
from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Call, Routes
from schemas.errors import Conflict
from schemas.records import BAN_KINDS, BannedEntry

from .errors import bad_request
from .paging import PAGING, envelope_schema, page_request, paged
from .validation import path, q

EXACT = ("clientid", "username", "peerhost")
# like_* filters are regular expressions over `who` of the matching kind (re:run in EMQX).
LIKE = {
    "like_clientid": "clientid",
    "like_username": "username",
    "like_peerhost": "peerhost",
    "like_peerhost_net": "peerhost_net",
}
ALL_ROWS = 1 << 62


def ban_doc(e: BannedEntry) -> dict:
    return {
        "as": e.as_,
        "who": e.who,
        "by": e.by,
        "reason": e.reason,
        "at": rfc3339_s(e.at),
        "until": "infinity" if e.until is None else rfc3339_s(e.until),
    }


TIME = {"anyOf": [{"type": "integer"}, {"type": "string"}], "description": "epoch seconds or RFC 3339"}
BAN = {
    "type": "object",
    "properties": {
        "as": {"type": "string", "enum": list(BAN_KINDS)},
        "who": {"type": "string", "minLength": 1},
        "by": {"type": "string", "default": "mgmt_api"},
        "reason": {"type": "string", "default": ""},
        "at": TIME,
        "until": {**TIME, "description": '"infinity", epoch seconds or RFC 3339'},
    },
    "required": ["as", "who"],
}
FILTERS = tuple(q(n, description="exact") for n in EXACT) + tuple(q(n, description="regex") for n in LIKE)

routes = Routes(tags=("Banned",))


async def _all(control) -> list[BannedEntry]:
    return (await control.list_banned(offset=0, limit=ALL_ROWS)).items


@routes.get(
    "/banned",
    summary="List bans",
    params=(*PAGING, *FILTERS),
    responses={200: {"schema": envelope_schema(BAN)}, 400: {"description": "too_many_filters"}},
)
async def list_banned(call: Call) -> web.Response:
    args = call.args
    given = [k for k in (*EXACT, *LIKE) if k in args]
    pr = page_request(args)
    if not given:
        page = await call.control.list_banned(offset=pr.offset, limit=pr.limit)
        return paged(args, [ban_doc(e) for e in page.items], page.total, None)  # no `hasnext`, as EMQX
    if len(given) > 1:
        raise bad_request("too_many_filters")
    name = given[0]
    value = args[name]
    if name in EXACT:
        rows = [e for e in await _all(call.control) if e.as_ == name and e.who == value]
        return paged(args, [ban_doc(e) for e in rows[pr.offset : pr.offset + pr.limit]], len(rows), False)
    try:
        pattern = re.compile(value)
    except re.error:
        raise bad_request(
            orjson.dumps({"message": "The filter is not a validation regex expression", "filter": value}).decode()
        ) from None
    rows = [e for e in await _all(call.control) if e.as_ == LIKE[name] and pattern.search(e.who)]
    page = rows[pr.offset : pr.offset + pr.limit]
    return paged(args, [ban_doc(e) for e in page], None, pr.offset + pr.limit < len(rows))


def _check_who(kind: str, who: str) -> None:
    try:
        if kind == "peerhost":
            ipaddress.ip_address(who)
        elif kind == "peerhost_net":
            ipaddress.ip_network(who, strict=False)
        elif kind.endswith("_re"):
            re.compile(who)
    except (ValueError, re.error) as e:
        raise bad_request(f"invalid {kind}: {who} ({e})") from None


@routes.post(
    "/banned",
    summary="Ban a client, user or address",
    body=BAN,
    responses={200: {"schema": BAN}, 400: {"description": "ALREADY_EXISTS / BAD_REQUEST"}},
)
async def add_banned(call: Call) -> web.Response:
    b = call.body
    _check_who(b["as"], b["who"])
    now = time.time()
    try:
        at = parse_time_s(b["at"]) if "at" in b else now
        until = None if b.get("until", "infinity") == "infinity" else parse_time_s(b["until"])
    except ValueError as e:
        raise bad_request(str(e)) from None
    if until is not None and until <= now:
        raise bad_request(f"Cannot create expired banned, {rfc3339_s(at)} to {rfc3339_s(until)}")
    entry = BannedEntry(as_=b["as"], who=b["who"], by=b["by"], reason=b["reason"], at=at, until=until)
    try:
        added = await call.control.add_banned(entry)
    except Conflict:
        # Not a re-rendering: EMQX's answer is the entry already there, which the error does not carry.
        existing = next((e for e in await _all(call.control) if (e.as_, e.who) == (entry.as_, entry.who)), entry)
        raise ApiError(400, "ALREADY_EXISTS", orjson.dumps(ban_doc(existing)).decode()) from None
    return Dialect.json(ban_doc(added))


@routes.delete("/banned", summary="Clear all bans", responses={204: {"description": "cleared"}})
async def clear_banned(call: Call) -> web.Response:
    await call.control.clear_banned()
    return web.Response(status=204)


@routes.delete(
    "/banned/{as}/{who:.+}",
    summary="Lift one ban",
    params=(path("as", enum=BAN_KINDS), path("who", "URL-encoded")),
    responses={204: {"description": "lifted"}, 404: {"description": "NOT_FOUND"}},
)
async def delete_banned(call: Call) -> web.Response:
    await call.control.delete_banned(call.args["as"], call.args["who"])
    return web.Response(status=204)
