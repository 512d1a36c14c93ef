"""Dashboard users, login and password change (reference §1.4, §2.3), over the gateway's account store.

2.3 called a user's description its `tags`. It accepted any password, so the store's password policy
is not applied here.
"""

from __future__ import annotations

import asyncio

from adapters.common.auth import password_ok
from gateway.http.routes import Call, Param, Routes
from schemas.errors import NotFound

from .envelope import USER_NOT_FOUND, fail, ok
from .params import body_schema

EMPTY = "Username or password is empty"

LOGIN = body_schema(Param(name="username", type="string"), Param(name="password", type="string"))
CREATE = body_schema(
    Param(name="username", type="string", required=True),
    Param(name="password", type="string", required=True),
    Param(name="tags", type="string", required=True),
)
UPDATE = body_schema(Param(name="tags", type="string", required=True))
CHANGE_PWD = body_schema(
    Param(name="old_pwd", type="string", required=True), Param(name="new_pwd", type="string", required=True)
)

routes = Routes(tags=("users",))


def user_object(user) -> dict:
    return {"username": user.username, "tags": user.description}


def _exists(call: Call, username: str) -> bool:
    try:
        call.ctx.accounts.get_user(username)
    except NotFound:
        return False
    return True


@routes.post("/auth", auth="none", body=LOGIN, summary="Check a dashboard login (no Basic needed)")
async def auth(call: Call):
    """The login form's call (no Basic): 103 with 2.3's reason when the credentials do not match."""
    username, password = call.body["username"], call.body["password"]
    if username is None:
        raise fail(103, "Username undefined")
    if password is None:
        raise fail(103, "Password undefined")
    if not _exists(call, username):
        raise fail(103, USER_NOT_FOUND)
    if not await password_ok(call.ctx.accounts, username, password):
        raise fail(103, "Password error")
    return ok()


@routes.get("/users", summary="Dashboard users")
async def list_users(call: Call):
    return ok([user_object(u) for u in call.ctx.accounts.list_users()])


@routes.post("/users", body=CREATE, summary="Add a dashboard user")
async def create_user(call: Call):
    b = call.body
    if not b["username"] or not b["password"]:
        raise fail(104, EMPTY)
    # A name outside the store's safe charset (2.3 took any) is refused: 102 with the store's reason.
    await asyncio.to_thread(call.ctx.accounts.add_user, b["username"], b["password"], b["tags"], enforce_policy=False)
    return ok()


@routes.get("/users/{username}", summary="A dashboard user ([] if absent)")
async def get_user(call: Call):
    try:
        return ok(user_object(call.ctx.accounts.get_user(call.args["username"])))
    except NotFound:
        return ok([])


@routes.put("/users/{username}", body=UPDATE, summary="Change a user's tags")
async def update_user(call: Call):
    call.ctx.accounts.update_user(call.args["username"], call.body["tags"])
    return ok()


@routes.delete("/users/{username}", summary="Delete a user (not admin)")
async def delete_user(call: Call):
    call.ctx.accounts.delete_user(call.args["username"])
    return ok()


@routes.put("/change_pwd/{username}", body=CHANGE_PWD, summary="Change a user's password")
async def change_pwd(call: Call):
    b = call.body
    if not b["new_pwd"]:
        raise fail(104, EMPTY)
    await asyncio.to_thread(
        call.ctx.accounts.change_password, call.args["username"], b["old_pwd"], b["new_pwd"], enforce_policy=False
    )
    return ok()
