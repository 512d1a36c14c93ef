"""NanoMQ's `auth` and `auth_http` configuration sections (nanomq/rest_api.c, conf_api.c @ 0.25), where they
map onto this broker. Reference: auth-config-apis.md §1.6.

- `auth` is NanoMQ's list of MQTT logins: here, the built-in credential database's users by username.
  GET lists them as NanoMQ does (``login``) but with ``"password": null``: only hashes are kept. POST
  ``{"data": {"auth": [{"username"|"login": .., "password": ..}], "enable": bool}}`` replaces the whole
  list, as NanoMQ does (users left out are deleted; a ``null`` password keeps that user's, which is what
  a GET sent back unchanged says), and ``enable`` switches the built-in database authenticator. The list
  is checked whole first: a bad entry (400 ``{"code":108}``) changes nothing.
- `auth_http` is NanoMQ's HTTP authentication, which this broker does not have: GET shows it disabled;
  POSTing ``"enable": true`` answers NanoMQ's "not supported" (``{"code":111}``), anything else changes
  nothing there is to change.
"""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from gateway.http.routes import Call, Routes
from schemas.errors import NotFound, NotSupported
from schemas.records import BUILT_IN_DATABASE, AuthenticatorConfig, MqttUserQuery

from . import codes, nanomq_http

ALL = 1 << 30
DATA = {"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}}

nanomq = Routes(**nanomq_http.ROUTES)


def _bad() -> nanomq_http.NanoMQError:
    return nanomq_http.fail(400, codes.REQ_PARAM_ERROR)


async def _usernames(call: Call) -> list[str]:
    try:
        page = await call.control.list_mqtt_users(MqttUserQuery(user_id_type="username"), offset=0, limit=ALL)
    except NotFound:  # no built-in database authenticator: no logins
        return []
    return [u.user_id for u in page.items]


def _logins(entries: Any, existing: set[str]) -> dict[str, str | None]:
    """login -> password (None: keep it) for a POSTed list; 400 108 for anything NanoMQ could not read."""
    if not isinstance(entries, list):
        raise _bad()
    out: dict[str, str | None] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise _bad()
        login = entry.get("username", entry.get("login"))
        password = entry.get("password")
        if not isinstance(login, str) or not login or login in out:
            raise _bad()
        if password is None and login not in existing:
            raise _bad()  # nothing to keep for a new login
        if password is not None and (not isinstance(password, str) or not password):
            raise _bad()
        out[login] = password
    return out


@nanomq.get("/configuration/auth", name="get_auth_configuration", summary="show the MQTT logins (no passwords)")
async def get_auth(call: Call) -> web.StreamResponse:
    return nanomq_http.ok({"auth": [{"login": u, "password": None} for u in await _usernames(call)]})


@nanomq.post(
    "/configuration/auth",
    name="set_auth_configuration",
    summary="replace the MQTT logins (a null password keeps that login's) and switch them on or off",
    body=DATA,
)
async def post_auth(call: Call) -> web.StreamResponse:
    data = call.body.get("data")
    if not isinstance(data, dict):
        raise nanomq_http.fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL)
    enable = data.get("enable")
    if enable is not None and not isinstance(enable, bool):
        raise _bad()
    existing = await _usernames(call)
    logins = _logins(data["auth"], set(existing)) if "auth" in data else None
    control = call.control
    try:
        current = await control.get_authenticator(BUILT_IN_DATABASE)
    except NotFound:
        current = await control.create_authenticator(AuthenticatorConfig(enable=enable is not False))
    if enable is not None and current.enable != enable:
        await control.update_authenticator(BUILT_IN_DATABASE, attrs.evolve(current, enable=enable))
    if logins is None:
        return nanomq_http.ok()
    for login, password in logins.items():
        if password is None:
            continue
        if login in existing:
            await control.update_mqtt_user("username", login, password=password)
        else:
            await control.add_mqtt_user("username", login, password)
    for login in existing:
        if login not in logins:
            await control.delete_mqtt_user("username", login)
    return nanomq_http.ok()


@nanomq.get("/configuration/auth_http", name="get_auth_http_configuration", summary="show HTTP authentication (off)")
async def get_auth_http(call: Call) -> web.StreamResponse:
    return nanomq_http.ok({"auth_http": {"enable": False}})


@nanomq.post(
    "/configuration/auth_http",
    name="set_auth_http_configuration",
    summary="HTTP authentication: not supported by this broker",
    body=DATA,
)
async def post_auth_http(call: Call) -> web.StreamResponse:
    data = call.body.get("data")
    if not isinstance(data, dict):
        raise nanomq_http.fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL)
    section = data.get("auth_http", {})
    if data.get("enable") is True or (isinstance(section, dict) and section.get("enable") is True):
        raise NotSupported("HTTP authentication is not supported by this broker", kind="authenticator")
    return nanomq_http.ok()
