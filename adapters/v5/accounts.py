"""Dashboard login/logout, users and API keys (emqx_dashboard_api, emqx_mgmt_api_api_keys).

The store hashes passwords slowly (scrypt): those calls run in a thread so the loop keeps serving.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from adapters.common.timefmt import parse_time_s, rfc3339_s
from gateway.accounts import DEFAULT_USERNAME, NotAllowed, PasswordMismatch
from gateway.http.dialect import ApiError, Dialect
from schemas.errors import Conflict, InvalidArgument, LimitExceeded, NotFound

from .dialect import BEARER_ONLY, TOKEN, USERNAME
from .errors import bad_request
from .validation import path

LICENSE = {"edition": "opensource"}


# -- login / logout ----------------------------------------------------------------------------

async def login(call) -> web.Response:
    store = call.ctx.accounts
    b = call.body
    # EMQX accepts the default admin/public here although it breaks the password policy.
    if not await asyncio.to_thread(store.check_password, b["username"], b["password"]):
        raise ApiError(401, "BAD_USERNAME_OR_PWD", "Auth failed")
    token = store.issue_token(b["username"])
    version = (await call.control.node_info()).version
    return Dialect.json({"token": token, "version": version, "license": LICENSE})


async def logout(call) -> web.Response:
    if not call.ctx.accounts.revoke_token(call.request[TOKEN], call.body["username"]):
        raise ApiError(401, "WRONG_TOKEN_OR_USERNAME", "Ensure your token & username")
    return web.Response(status=204)


# -- users -------------------------------------------------------------------------------------

def user_doc(u) -> dict:
    return {"username": u.username, "description": u.description}


async def list_users(call) -> web.Response:
    return Dialect.json([user_doc(u) for u in call.ctx.accounts.list_users()])


async def create_user(call) -> web.Response:
    b = call.body
    if not b.get("username") or not b.get("password"):
        raise bad_request("Username or password undefined")
    try:
        user = await asyncio.to_thread(call.ctx.accounts.add_user, b["username"], b["password"],
                                       b.get("description", ""))
    except (InvalidArgument, Conflict) as e:
        raise bad_request(str(e)) from None
    return Dialect.json(user_doc(user))


def _user_not_found(message: str = "username_not_found") -> ApiError:
    return ApiError(404, "USER_NOT_FOUND", message)


async def update_user(call) -> web.Response:
    try:
        user = call.ctx.accounts.update_user(call.args["username"], call.body["description"])
    except NotFound:
        raise _user_not_found() from None
    return Dialect.json(user_doc(user))


async def delete_user(call) -> web.Response:
    username = call.args["username"]
    store = call.ctx.accounts
    try:
        store.get_user(username)
        if username == call.request.get(USERNAME) and username != DEFAULT_USERNAME:
            raise ApiError(400, "NOT_ALLOWED", "Cannot delete self")
        store.delete_user(username)
    except NotAllowed as e:
        raise ApiError(400, "NOT_ALLOWED", str(e)) from None
    except NotFound:
        raise _user_not_found() from None
    return web.Response(status=204)


async def change_password(call) -> web.Response:
    b = call.body
    if not b.get("old_pwd") or not b.get("new_pwd"):
        raise bad_request("Old password or new password undefined")
    try:
        await asyncio.to_thread(call.ctx.accounts.change_password, call.args["username"], b["old_pwd"], b["new_pwd"])
    except NotFound:
        raise _user_not_found("User not found") from None
    except PasswordMismatch:
        raise ApiError(400, "ERROR_PWD_NOT_MATCH", "Old password not match") from None
    except InvalidArgument as e:
        raise bad_request(str(e)) from None
    return web.Response(status=204)


# -- API keys ----------------------------------------------------------------------------------

def app_doc(k, secret: str | None = None) -> dict:
    doc = {"name": k.name, "api_key": k.api_key, "enable": k.enable,
           "expired_at": "infinity" if k.expired_at is None else rfc3339_s(k.expired_at),
           "created_at": rfc3339_s(k.created_at), "desc": k.desc, "expired": k.expired}
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


def _key_not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "Name NOT FOUND")


async def list_keys(call) -> web.Response:
    return Dialect.json([app_doc(k) for k in call.ctx.accounts.list_api_keys()])


async def create_key(call) -> web.Response:
    b = call.body
    try:
        key, secret = call.ctx.accounts.create_api_key(b["name"], b["desc"], b["enable"], _expiry(b))
    except (InvalidArgument, Conflict, LimitExceeded) as e:
        raise bad_request(str(e)) from None
    return Dialect.json(app_doc(key, secret))


async def get_key(call) -> web.Response:
    try:
        return Dialect.json(app_doc(call.ctx.accounts.get_api_key(call.args["name"])))
    except NotFound:
        raise _key_not_found() from None


async def update_key(call) -> web.Response:
    b = call.body
    try:
        key = call.ctx.accounts.update_api_key(call.args["name"], enable=b.get("enable"), desc=b.get("desc"),
                                               expired_at=_expiry(b))
    except NotFound:
        raise _key_not_found() from None
    return Dialect.json(app_doc(key))


async def delete_key(call) -> web.Response:
    try:
        call.ctx.accounts.delete_api_key(call.args["name"])
    except NotFound:
        raise _key_not_found() from None
    return web.Response(status=204)


# -- routes ------------------------------------------------------------------------------------

def _obj(required: tuple = (), **props) -> dict:
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


STR = {"type": "string"}
USER = _obj(username=STR, description=STR)
EXPIRED_AT = {"anyOf": [{"type": "string"}, {"type": "integer"}],
              "description": "\"infinity\", epoch seconds or RFC 3339"}
APP = _obj(name=STR, api_key=STR, api_secret=STR, enable={"type": "boolean"}, expired_at=EXPIRED_AT,
           created_at=STR, desc=STR, expired={"type": "boolean"})
USERNAME_PATH = path("username")
NAME = path("name")


def register(dl) -> None:
    tags = ("Dashboard",)
    dl.endpoint("POST", "/login", login, auth="none", tags=tags, summary="Log in, get a token",
                body=_obj(("username", "password"), username={**STR, "maxLength": 100},
                          password={**STR, "maxLength": 100}),
                responses={200: {"schema": _obj(token=STR, version=STR, license=_obj(edition=STR))},
                           401: {"description": "BAD_USERNAME_OR_PWD"}})
    dl.endpoint("POST", "/logout", logout, auth=BEARER_ONLY, tags=tags, summary="Log out (destroy the token)",
                body=_obj(("username",), username=STR),
                responses={204: {"description": "logged out"}, 401: {"description": "WRONG_TOKEN_OR_USERNAME"}})
    dl.endpoint("GET", "/users", list_users, auth=BEARER_ONLY, tags=tags, summary="List dashboard users",
                responses={200: {"schema": {"type": "array", "items": USER}}})
    dl.endpoint("POST", "/users", create_user, auth=BEARER_ONLY, tags=tags, summary="Create a dashboard user",
                body=_obj(username=STR, password=STR, description=STR),
                responses={200: {"schema": USER}, 400: {"description": "BAD_REQUEST"}})
    dl.endpoint("PUT", "/users/{username}", update_user, auth=BEARER_ONLY, tags=tags, summary="Update a user",
                params=(USERNAME_PATH,), body=_obj(("description",), description=STR),
                responses={200: {"schema": USER}, 404: {"description": "USER_NOT_FOUND"}})
    dl.endpoint("DELETE", "/users/{username}", delete_user, auth=BEARER_ONLY, tags=tags, summary="Delete a user",
                params=(USERNAME_PATH,),
                responses={204: {"description": "deleted"}, 400: {"description": "NOT_ALLOWED"},
                           404: {"description": "USER_NOT_FOUND"}})
    dl.endpoint("POST", "/users/{username}/change_pwd", change_password, tags=tags, summary="Change a password",
                params=(USERNAME_PATH,), body=_obj(old_pwd=STR, new_pwd=STR),
                responses={204: {"description": "changed"}, 400: {"description": "ERROR_PWD_NOT_MATCH / BAD_REQUEST"},
                           404: {"description": "USER_NOT_FOUND"}})
    tags = ("API Keys",)
    key_not_found = {404: {"description": "NOT_FOUND"}}
    dl.endpoint("GET", "/api_key", list_keys, auth=BEARER_ONLY, tags=tags, summary="List API keys",
                responses={200: {"schema": {"type": "array", "items": APP}}})
    dl.endpoint("POST", "/api_key", create_key, auth=BEARER_ONLY, tags=tags, summary="Create an API key",
                body=_obj(("name",), name={**STR, "minLength": 1, "maxLength": 256},
                          desc={**STR, "default": ""}, enable={"type": "boolean", "default": True},
                          expired_at=EXPIRED_AT),
                responses={200: {"schema": APP}, 400: {"description": "BAD_REQUEST"}})
    dl.endpoint("GET", "/api_key/{name}", get_key, auth=BEARER_ONLY, tags=tags, summary="Get an API key",
                params=(NAME,), responses={200: {"schema": APP}, **key_not_found})
    dl.endpoint("PUT", "/api_key/{name}", update_key, auth=BEARER_ONLY, tags=tags, summary="Update an API key",
                params=(NAME,), body=_obj(enable={"type": "boolean"}, desc=STR, expired_at=EXPIRED_AT),
                responses={200: {"schema": APP}, **key_not_found})
    dl.endpoint("DELETE", "/api_key/{name}", delete_key, auth=BEARER_ONLY, tags=tags, summary="Delete an API key",
                params=(NAME,), responses={204: {"description": "deleted"}, **key_not_found})
