"""Dashboard users, login and password change (reference §1.4, §2.3), over the gateway's account store.

2.3 called a user's description its `tags`. It accepted any password, so the store's password policy
is not applied here.
"""
from __future__ import annotations

import asyncio

from adapters.common.auth import password_ok
from gateway.accounts import NotAllowed, PasswordMismatch
from gateway.http.routes import Param
from schemas.errors import Conflict, InvalidArgument, NotFound

from .envelope import fail, ok
from .params import body_params
from .routing import add

TAGS = ("users",)
USER_NOT_FOUND = "User not found"
EMPTY = "Username or password is empty"

LOGIN = (Param(name="username", type="string"), Param(name="password", type="string"))
CREATE = (Param(name="username", type="string", required=True), Param(name="password", type="string", required=True),
          Param(name="tags", type="string", required=True))
UPDATE = (Param(name="tags", type="string", required=True),)
CHANGE_PWD = (Param(name="old_pwd", type="string", required=True), Param(name="new_pwd", type="string", required=True))


def user_object(user) -> dict:
    return {"username": user.username, "tags": user.description}


def _exists(ctx, username: str) -> bool:
    try:
        ctx.accounts.get_user(username)
    except NotFound:
        return False
    return True


async def auth(ctx, request):
    """The login form's call (no Basic): 103 with 2.3's reason when the credentials do not match."""
    p = await body_params(request, LOGIN)
    username, password = p["username"], p["password"]
    if username is None:
        raise fail(103, "Username undefined")
    if password is None:
        raise fail(103, "Password undefined")
    if not _exists(ctx, username):
        raise fail(103, USER_NOT_FOUND)
    if not await password_ok(ctx.accounts, username, password):
        raise fail(103, "Password error")
    return ok()


async def list_users(ctx, request):
    return ok([user_object(u) for u in ctx.accounts.list_users()])


async def get_user(ctx, request):
    try:
        return ok(user_object(ctx.accounts.get_user(request.match_info["username"])))
    except NotFound:
        return ok([])


async def create_user(ctx, request):
    p = await body_params(request, CREATE)
    if not p["username"] or not p["password"]:
        raise fail(104, EMPTY)
    try:
        await asyncio.to_thread(ctx.accounts.add_user, p["username"], p["password"], p["tags"],
                                enforce_policy=False)
    except Conflict:
        raise fail(113, "User already exist") from None
    except InvalidArgument as e:  # a name outside the store's safe charset (2.3 took any)
        raise fail(102, str(e)) from None
    return ok()


async def update_user(ctx, request):
    p = await body_params(request, UPDATE)
    try:
        ctx.accounts.update_user(request.match_info["username"], p["tags"])
    except NotFound:
        raise fail(105, USER_NOT_FOUND) from None
    return ok()


async def delete_user(ctx, request):
    try:
        ctx.accounts.delete_user(request.match_info["username"])
    except NotAllowed:
        raise fail(106, "admin cannot be deleted") from None
    except NotFound:
        raise fail(105, USER_NOT_FOUND) from None
    return ok()


async def change_pwd(ctx, request):
    p = await body_params(request, CHANGE_PWD)
    if not p["new_pwd"]:
        raise fail(104, EMPTY)
    try:
        await asyncio.to_thread(ctx.accounts.change_password, request.match_info["username"], p["old_pwd"],
                                p["new_pwd"], enforce_policy=False)
    except NotFound:
        raise fail(105, USER_NOT_FOUND) from None
    except PasswordMismatch:
        raise fail(114, "OldPassword error") from None
    return ok()


def register(dl) -> None:
    add(dl, "POST", "/auth", auth, auth="none", body=LOGIN, summary="Check a dashboard login (no Basic needed)",
        tags=TAGS)
    add(dl, "GET", "/users", list_users, summary="Dashboard users", tags=TAGS)
    add(dl, "POST", "/users", create_user, body=CREATE, summary="Add a dashboard user", tags=TAGS)
    add(dl, "GET", "/users/{username}", get_user, summary="A dashboard user ([] if absent)", tags=TAGS)
    add(dl, "PUT", "/users/{username}", update_user, body=UPDATE, summary="Change a user's tags", tags=TAGS)
    add(dl, "DELETE", "/users/{username}", delete_user, summary="Delete a user (not admin)", tags=TAGS)
    add(dl, "PUT", "/change_pwd/{username}", change_pwd, body=CHANGE_PWD, summary="Change a user's password",
        tags=TAGS)
