"""Dashboard login/logout, users and API keys (emqx_dashboard_api, emqx_mgmt_api_api_keys).

The store hashes passwords slowly (scrypt): those calls run in a thread so the loop keeps serving.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from adapters.common.timefmt import parse_time_s, rfc3339_s
from gateway.accounts import DEFAULT_USERNAME
from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Call, Routes
from schemas.errors import Conflict, LimitExceeded, NotFound

from .dialect import BEARER_ONLY, TOKEN, USERNAME
from .errors import bad_request
from .validation import path

LICENSE = {"edition": "opensource"}


def _obj(required: tuple = (), **props) -> dict:
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


STR = {"type": "string"}
USER = _obj(username=STR, description=STR)
EXPIRED_AT = {
    "anyOf": [{"type": "string"}, {"type": "integer"}],
    "description": '"infinity", epoch seconds or RFC 3339',
}
APP = _obj(
    name=STR,
    api_key=STR,
    api_secret=STR,
    enable={"type": "boolean"},
    expired_at=EXPIRED_AT,
    created_at=STR,
    desc=STR,
    expired={"type": "boolean"},
)
USERNAME_PATH = path("username")
NAME = path("name")
KEY_NOT_FOUND = {404: {"description": "NOT_FOUND"}}
# emqx_dashboard_api / emqx_mgmt_api_api_keys answer every refused creation with 400 BAD_REQUEST.
REFUSED_AS_BAD_REQUEST = {Conflict: (400, "BAD_REQUEST"), LimitExceeded: (400, "BAD_REQUEST")}

dashboard = Routes(tags=("Dashboard",))
api_keys = Routes(tags=("API Keys",), auth=BEARER_ONLY)


# -- login / logout ----------------------------------------------------------------------------


# Both fields are optional in EMQX's schema: credentials left out simply fail.
@dashboard.post(
    "/login",
    auth="none",
    summary="Log in, get a token",
    body=_obj(username={**STR, "maxLength": 100}, password={**STR, "maxLength": 100}),
    responses={
        200: {"schema": _obj(token=STR, version=STR, license=_obj(edition=STR))},
        401: {"description": "BAD_USERNAME_OR_PWD"},
    },
)
async def login(call: Call) -> web.Response:
    store = call.ctx.accounts
    b = call.body
    # EMQX accepts the default admin/public here although it breaks the password policy.
    if (
        "username" not in b
        or "password" not in b
        or not await asyncio.to_thread(store.check_password, b["username"], b["password"])
    ):
        raise ApiError(401, "BAD_USERNAME_OR_PWD", "Auth failed")
    token = store.issue_token(b["username"])
    version = (await call.control.node_info()).version
    return Dialect.json({"token": token, "version": version, "license": LICENSE})


@dashboard.post(
    "/logout",
    auth=BEARER_ONLY,
    summary="Log out (destroy the token); the username defaults to the token's",
    body=_obj(username={**STR, "maxLength": 100}),
    responses={204: {"description": "logged out"}, 401: {"description": "WRONG_TOKEN_OR_USERNAME"}},
)
async def logout(call: Call) -> web.Response:
    username = call.body.get("username", call.request[USERNAME])
    if not call.ctx.accounts.revoke_token(call.request[TOKEN], username):
        raise ApiError(401, "WRONG_TOKEN_OR_USERNAME", "Ensure your token & username")
    return web.Response(status=204)


# -- users -------------------------------------------------------------------------------------


def user_doc(u) -> dict:
    return {"username": u.username, "description": u.description}


@dashboard.get(
    "/users",
    auth=BEARER_ONLY,
    summary="List dashboard users",
    responses={200: {"schema": {"type": "array", "items": USER}}},
)
async def list_users(call: Call) -> web.Response:
    return Dialect.json([user_doc(u) for u in call.ctx.accounts.list_users()])


@dashboard.post(
    "/users",
    auth=BEARER_ONLY,
    summary="Create a dashboard user",
    body=_obj(username=STR, password=STR, description=STR),
    responses={200: {"schema": USER}, 400: {"description": "BAD_REQUEST"}},
    errors=REFUSED_AS_BAD_REQUEST,
)
async def create_user(call: Call) -> web.Response:
    b = call.body
    if not b.get("username") or not b.get("password"):
        raise bad_request("Username or password undefined")
    user = await asyncio.to_thread(call.ctx.accounts.add_user, b["username"], b["password"], b.get("description", ""))
    return Dialect.json(user_doc(user))


@dashboard.put(
    "/users/{username}",
    auth=BEARER_ONLY,
    summary="Update a user (a description left out stays)",
    params=(USERNAME_PATH,),
    body=_obj(description=STR),
    responses={200: {"schema": USER}, 404: {"description": "USER_NOT_FOUND"}},
)
async def update_user(call: Call) -> web.Response:
    store, username = call.ctx.accounts, call.args["username"]
    description = call.body.get("description")
    if description is None:
        return Dialect.json(user_doc(store.get_user(username)))
    return Dialect.json(user_doc(store.update_user(username, description)))


@dashboard.delete(
    "/users/{username}",
    auth=BEARER_ONLY,
    summary="Delete a user",
    params=(USERNAME_PATH,),
    responses={
        204: {"description": "deleted"},
        400: {"description": "NOT_ALLOWED"},
        404: {"description": "USER_NOT_FOUND"},
    },
)
async def delete_user(call: Call) -> web.Response:
    username = call.args["username"]
    store = call.ctx.accounts
    store.get_user(username)  # an unknown user is a 404 before it is "self"
    if username == call.request.get(USERNAME) and username != DEFAULT_USERNAME:
        raise ApiError(400, "NOT_ALLOWED", "Cannot delete self")
    store.delete_user(username)
    return web.Response(status=204)


@dashboard.post(
    "/users/{username}/change_pwd",
    summary="Change a password",
    params=(USERNAME_PATH,),
    body=_obj(old_pwd=STR, new_pwd=STR),
    responses={
        204: {"description": "changed"},
        400: {"description": "ERROR_PWD_NOT_MATCH / BAD_REQUEST"},
        404: {"description": "USER_NOT_FOUND"},
    },
    errors={NotFound: (404, "USER_NOT_FOUND", "User not found")},
)
async def change_password(call: Call) -> web.Response:
    b = call.body
    if not b.get("old_pwd") or not b.get("new_pwd"):
        raise bad_request("Old password or new password undefined")
    await asyncio.to_thread(call.ctx.accounts.change_password, call.args["username"], b["old_pwd"], b["new_pwd"])
    return web.Response(status=204)


# -- API keys ----------------------------------------------------------------------------------


def app_doc(k, secret: str | None = None) -> dict:
    doc = {
        "name": k.name,
        "api_key": k.api_key,
        "enable": k.enable,
        "expired_at": "infinity" if k.expired_at is None else rfc3339_s(k.expired_at),
        "created_at": rfc3339_s(k.created_at),
        "desc": k.desc,
        "expired": k.expired,
    }
    if secret is not None:
        doc["api_secret"] = secret
    return doc


def _expiry(body: dict) -> float | None:
    value = body.get("expired_at", "infinity")
    if value == "infinity":
        return None
    try:
        return parse_time_s(value)
    except ValueError as e:
        raise bad_request(str(e)) from None


@api_keys.get("/api_key", summary="List API keys", responses={200: {"schema": {"type": "array", "items": APP}}})
async def list_keys(call: Call) -> web.Response:
    return Dialect.json([app_doc(k) for k in call.ctx.accounts.list_api_keys()])


@api_keys.post(
    "/api_key",
    summary="Create an API key",
    body=_obj(
        ("name",),
        name={**STR, "minLength": 1, "maxLength": 256},
        desc={**STR, "default": ""},
        enable={"type": "boolean", "default": True},
        expired_at=EXPIRED_AT,
    ),
    responses={200: {"schema": APP}, 400: {"description": "BAD_REQUEST"}},
    errors=REFUSED_AS_BAD_REQUEST,
)
async def create_key(call: Call) -> web.Response:
    b = call.body
    key, secret = call.ctx.accounts.create_api_key(b["name"], b["desc"], b["enable"], _expiry(b))
    return Dialect.json(app_doc(key, secret))


@api_keys.get(
    "/api_key/{name}", summary="Get an API key", params=(NAME,), responses={200: {"schema": APP}, **KEY_NOT_FOUND}
)
async def get_key(call: Call) -> web.Response:
    return Dialect.json(app_doc(call.ctx.accounts.get_api_key(call.args["name"])))


# `expired` is what GET computes from expired_at: a dashboard sends it back, and it is computed again.
@api_keys.put(
    "/api_key/{name}",
    summary="Update an API key",
    params=(NAME,),
    body=_obj(enable={"type": "boolean"}, desc=STR, expired_at=EXPIRED_AT, expired={"type": "boolean"}),
    responses={200: {"schema": APP}, **KEY_NOT_FOUND},
)
async def update_key(call: Call) -> web.Response:
    b = call.body
    key = call.ctx.accounts.update_api_key(
        call.args["name"], enable=b.get("enable"), desc=b.get("desc"), expired_at=_expiry(b)
    )
    return Dialect.json(app_doc(key))


@api_keys.delete(
    "/api_key/{name}",
    summary="Delete an API key",
    params=(NAME,),
    responses={204: {"description": "deleted"}, **KEY_NOT_FOUND},
)
async def delete_key(call: Call) -> web.Response:
    call.ctx.accounts.delete_api_key(call.args["name"])
    return web.Response(status=204)
