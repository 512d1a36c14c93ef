"""The EMQX 4 dashboard's own calls (emqx_dashboard_api.erl @ v4.4): login, users, password changes.

Failures are minirest's message-only bodies (`{"message": ..}`, HTTP 200) — the 4.x frontend treats any
body without `"code": 0` as an error. Users are the gateway's account store; EMQX 4's `tags` is its
`description`, and EMQX 4 had no password policy (so none is enforced here).
"""
from __future__ import annotations

import asyncio

from adapters.common.auth import password_ok
from gateway.accounts import PasswordMismatch
from schemas.errors import Conflict, InvalidArgument, NotFound

from .minirest import Fail

# emqx_dashboard_admin (4.4): a failed login is answered after this penalty.
AUTH_FAILURE_DELAY = 2.0


def register(dl) -> None:
    """Add the dashboard endpoints to an Emqx4Dialect ``dl``."""
    async def login(request):
        body = await dl._object(request)
        user, password = body.get("username"), body.get("password")
        if not isinstance(user, str):
            raise Fail(None, "Username undefined")
        if not isinstance(password, str):
            raise Fail(None, "Password undefined")
        if not await password_ok(dl.ctx.accounts, user, password):
            await asyncio.sleep(dl.auth_failure_delay)
            raise Fail(None, "Username/Password error")
        return dl.ok()

    async def users(request):
        return dl.ok([{"username": u.username, "tags": u.description} for u in dl.ctx.accounts.list_users()])

    async def add_user(request):
        body = await dl._object(request)
        user, password, tags = body.get("username"), body.get("password"), body.get("tags", "")
        if not isinstance(user, str) or not isinstance(password, str):
            raise Fail(None, "Username or password undefined")
        try:
            # EMQX 4 had no password policy ("public" was fine).
            dl.ctx.accounts.add_user(user, password, str(tags), enforce_policy=False)
        except Conflict:
            raise Fail(None, "Username already exists") from None
        except InvalidArgument as e:
            raise Fail(None, str(e)) from None
        return dl.ok()

    async def update_user(request):
        body = await dl._object(request)
        try:
            dl.ctx.accounts.update_user(request.match_info["name"], str(body.get("tags", "")))
        except NotFound:
            raise Fail(None, "Username Not Found") from None
        return dl.ok()

    async def delete_user(request):
        name = request.match_info["name"]
        if name == "admin":
            raise Fail(None, "Cannot delete admin")
        try:
            dl.ctx.accounts.delete_user(name)
        except NotFound:
            raise Fail(None, "Username Not Found") from None
        return dl.ok()

    async def change_pwd(request):
        body = await dl._object(request)
        old, new = body.get("old_pwd"), body.get("new_pwd")
        if not isinstance(old, str) or not isinstance(new, str):
            raise Fail(None, "Password undefined")
        try:
            dl.ctx.accounts.change_password(request.match_info["username"], old, new, enforce_policy=False)
        except (PasswordMismatch, NotFound):
            raise Fail(None, "Password Error") from None
        except InvalidArgument as e:
            raise Fail(None, str(e)) from None
        return dl.ok()

    a = dl._add
    a("POST", "/auth", login, "auth_user", "Authenticate a dashboard user", auth="none")
    a("GET", "/users", users, "list_users", "List dashboard users")
    a("POST", "/users", add_user, "create_user", "Create a dashboard user")
    a("PUT", "/users/{name}", update_user, "update_user", "Update a dashboard user's tags")
    a("DELETE", "/users/{name}", delete_user, "delete_user", "Delete a dashboard user")
    a("PUT", "/change_pwd/{username}", change_pwd, "change_pwd", "Change a dashboard user's password")
