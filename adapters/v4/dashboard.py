"""The EMQX 4 dashboard's own calls (emqx_dashboard_api.erl @ v4.4): login, users, password changes.

Failures are minirest's message-only bodies (`{"message": ..}`, HTTP 200) — the 4.x frontend treats any
body without `"code": 0` as an error. Users are the gateway's account store; EMQX 4's `tags` is its
`description`, and EMQX 4 had no password policy (so none is enforced here).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from adapters.common.auth import password_ok
from gateway.accounts import PasswordMismatch
from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, NotFound

from . import emqx4_http

# emqx_dashboard_admin (4.4): a failed login is answered after this penalty.
AUTH_FAILURE_DELAY = 2.0
ADMIN = "admin"  # the user EMQX 4 never deletes

# The account store's refusals (an empty name, say), in its own words and without a code.
ERRORS = {InvalidArgument: (None, None)}

emqx4 = Routes(**emqx4_http.ROUTES, errors=ERRORS)

_TEXT = {"type": "string"}
CREDENTIALS = {"type": "object", "properties": {"username": _TEXT, "password": _TEXT}}
USER = {"type": "object", "properties": {"username": _TEXT, "password": _TEXT, "tags": _TEXT}}
TAGS = {"type": "object", "properties": {"tags": _TEXT}}


@emqx4.post("/auth", name="auth_user", summary="Authenticate a dashboard user", auth="none", body=CREDENTIALS)
async def login(call: Call) -> web.StreamResponse:
    user, password = call.body.get("username"), call.body.get("password")
    if not isinstance(user, str):
        raise emqx4_http.fail(None, "Username undefined")
    if not isinstance(password, str):
        raise emqx4_http.fail(None, "Password undefined")
    if not await password_ok(call.ctx.accounts, user, password):
        await asyncio.sleep(AUTH_FAILURE_DELAY)
        raise emqx4_http.fail(None, "Username/Password error")
    return emqx4_http.ok()


@emqx4.get("/users", name="list_users", summary="List dashboard users")
async def users(call: Call) -> web.StreamResponse:
    return emqx4_http.ok([{"username": u.username, "tags": u.description} for u in call.ctx.accounts.list_users()])


@emqx4.post("/users", name="create_user", summary="Create a dashboard user", body=USER)
async def add_user(call: Call) -> web.StreamResponse:
    user, password, tags = call.body.get("username"), call.body.get("password"), call.body.get("tags", "")
    if not isinstance(user, str) or not isinstance(password, str):
        raise emqx4_http.fail(None, "Username or password undefined")
    call.ctx.accounts.add_user(user, password, str(tags), enforce_policy=False)
    return emqx4_http.ok()


@emqx4.put("/users/{name}", name="update_user", summary="Update a dashboard user's tags", body=TAGS)
async def update_user(call: Call) -> web.StreamResponse:
    call.ctx.accounts.update_user(call.args["name"], str(call.body.get("tags", "")))
    return emqx4_http.ok()


@emqx4.delete("/users/{name}", name="delete_user", summary="Delete a dashboard user")
async def delete_user(call: Call) -> web.StreamResponse:
    if call.args["name"] == ADMIN:
        raise emqx4_http.fail(None, "Cannot delete admin")
    call.ctx.accounts.delete_user(call.args["name"])
    return emqx4_http.ok()


@emqx4.put(
    "/change_pwd/{username}",
    name="change_pwd",
    summary="Change a dashboard user's password",
    body={"type": "object", "properties": {"old_pwd": {"type": "string"}, "new_pwd": {"type": "string"}}},
    # EMQX 4 does not tell an unknown user from a wrong password.
    errors={**ERRORS, PasswordMismatch: (None, "Password Error"), NotFound: (None, "Password Error")},
)
async def change_pwd(call: Call) -> web.StreamResponse:
    old, new = call.body.get("old_pwd"), call.body.get("new_pwd")
    if not isinstance(old, str) or not isinstance(new, str):
        raise emqx4_http.fail(None, "Password undefined")
    call.ctx.accounts.change_password(call.args["username"], old, new, enforce_policy=False)
    return emqx4_http.ok()
