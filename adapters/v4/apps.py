"""EMQX 4.4's API applications (emqx_mgmt_api_apps @ v4.4.19): the gateway's API keys, as EMQX 5's
`/api_key` shows them, so an app made through one dialect works through the other. Reference:
auth-config-apis.md §1.4.

``app_id`` is the key's name; an app authenticates on `/api/v4` with Basic ``app_id:secret`` while it is
enabled and not expired (``emqx4_http.authenticate``), and on `/api/v5` with the key's ``api_key`` and the
same secret. EMQX 4's separate ``name`` is not kept (an app's name is its ``app_id``), and the secret is
shown once, at creation: it is stored hashed, so ``GET /apps/{id}`` cannot show it. ``PUT`` writes all
four fields as EMQX 4 does: one left out is ``undefined`` (``status``: disabled, ``expired``: never).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from gateway.accounts import ApiKey
from gateway.http.routes import Call, Routes
from schemas.errors import Conflict, InvalidArgument, NotFound

from . import emqx4_http
from .emqx4_http import fail, ok

APP_ID = re.compile(r"[A-Za-z0-9]+[A-Za-z0-9_-]*")
MAX_APP_ID = 256
UNDEFINED = "undefined"  # how minirest prints Erlang's `undefined`

emqx4 = Routes(**emqx4_http.ROUTES, errors={InvalidArgument: (None, None)})


def app_doc(k: ApiKey) -> dict:
    return {
        "app_id": k.name,
        "name": k.name,
        "desc": k.desc,
        "status": k.enable,
        "expired": UNDEFINED if k.expired_at is None else int(k.expired_at),
    }


def _expiry(value: Any) -> float | None:
    if value is None or value == UNDEFINED:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(None, "expired: epoch seconds or undefined")
    return float(value)


@emqx4.get("/apps", name="list_apps", summary="List API applications")
async def list_apps(call: Call) -> web.StreamResponse:
    return ok([app_doc(k) for k in call.ctx.accounts.list_api_keys()])


@emqx4.get("/apps/{appid}", name="lookup_app", summary="One API application (its secret is shown once, at creation)")
async def lookup_app(call: Call) -> web.StreamResponse:
    try:
        return ok(app_doc(call.ctx.accounts.get_api_key(call.args["appid"])))
    except NotFound:
        return ok({})  # EMQX 4 answers an unknown app with empty data


@emqx4.post(
    "/apps",
    name="add_app",
    summary="Create an API application",
    body={
        "type": "object",
        "properties": {
            "app_id": {"type": "string"},
            "name": {"type": "string"},
            "secret": {"type": "string"},
            "desc": {"type": "string"},
            "status": {"type": "boolean"},
            "expired": {"type": "integer"},
        },
    },
    errors={Conflict: (None, "already_existed"), InvalidArgument: (None, None)},
)
async def add_app(call: Call) -> web.StreamResponse:
    b = call.body
    app_id = b.get("app_id")
    if not isinstance(app_id, str):
        raise fail(None, "required: app_id")
    if not 0 < len(app_id) <= MAX_APP_ID:
        raise fail(None, f"0 < Length =< {MAX_APP_ID}")
    if not APP_ID.fullmatch(app_id):
        raise fail(None, "required: ^[A-Za-z0-9]+[A-Za-z0-9-_]*$")
    chosen = b.get("secret")
    # A chosen secret gets the slow hash: off the loop.
    _key, secret = await asyncio.to_thread(
        call.ctx.accounts.create_api_key,
        app_id,
        str(b.get("desc", "")),
        b.get("status", True) is True,
        _expiry(b.get("expired")),
        secret=chosen if isinstance(chosen, str) and chosen else None,
    )
    return ok({"secret": secret})


@emqx4.put(
    "/apps/{appid}",
    name="update_app",
    summary="Update an API application (fields left out become undefined)",
    body={"type": "object"},
    errors={NotFound: (None, "not_found")},
)
async def update_app(call: Call) -> web.StreamResponse:
    b = call.body
    call.ctx.accounts.update_api_key(
        call.args["appid"],
        enable=b.get("status") is True,
        desc=str(b.get("desc", "")),
        expired_at=_expiry(b.get("expired")),
    )
    return ok()


@emqx4.delete("/apps/{appid}", name="del_app", summary="Delete an API application")
async def delete_app(call: Call) -> web.StreamResponse:
    try:
        call.ctx.accounts.delete_api_key(call.args["appid"])
    except NotFound:
        pass  # deleting what is not there succeeds
    return ok()
