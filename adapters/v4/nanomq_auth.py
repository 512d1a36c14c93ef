"""NanoMQ's `auth` and `auth_http` configuration sections (nanomq/rest_api.c, conf_api.c @ 0.25), where they
map onto this broker. Reference: auth-config-apis.md §1.6, legacy-v2-v4-api.md §3.4.

Both are ``configuration.Section``s: served by `/configuration` (``?layout=sections``) and
`/configuration/{auth,auth_http}` with the document's own sections, and checked with them before any is
written. What a section is handed is what `POST /configuration/<name>` carries in ``data``: its value
under its name, and NanoMQ's ``enable`` beside it.

- `auth` is NanoMQ's list of MQTT logins: here, the built-in credential database's users by username.
  It reads as NanoMQ lists them (``login``) but with ``"password": null``: only hashes are kept. A POST
  of ``{"auth": [{"username"|"login": .., "password": ..}], "enable": bool}`` replaces the whole list,
  as NanoMQ does (users left out are deleted; a ``null`` password keeps that user's, which is what a
  GET sent back unchanged says), and ``enable`` switches the built-in database authenticator. The list
  is checked whole first: a bad entry (400 ``{"code":108}``) changes nothing.
- `auth_http` is NanoMQ's HTTP authentication, which this broker does not have: it reads disabled;
  asking for ``"enable": true`` answers NanoMQ's "not supported" (``{"code":111}``), anything else
  changes nothing there is to change.
"""

from __future__ import annotations

from typing import Any

import attrs

from schemas.errors import NotFound, NotSupported
from schemas.records import BUILT_IN_DATABASE, AuthenticatorConfig, MqttUserQuery

from . import codes
from .configuration import Section
from .document import DocumentError

ALL = 1 << 30


def sections(ctx) -> dict[str, Section]:
    """The sections this module keeps, by NanoMQ's name, for ``configuration.routes``."""
    return {"auth": Logins(ctx), "auth_http": HttpAuth()}


def _enable(posted: dict) -> bool | None:
    enable = posted.get("enable")
    if enable is not None and not isinstance(enable, bool):
        raise DocumentError(codes.REQ_PARAM_ERROR, "enable: true or false")
    return enable


def _logins(entries: Any) -> dict[str, str | None]:
    """login -> password (None: keep it) for a POSTed list, as NanoMQ reads it (``username``, or the
    ``login`` its GET writes)."""
    if not isinstance(entries, list):
        raise DocumentError(codes.REQ_PARAM_ERROR, "auth: a list of logins")
    out: dict[str, str | None] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise DocumentError(codes.REQ_PARAM_ERROR, "auth: a list of logins")
        login = entry.get("username", entry.get("login"))
        password = entry.get("password")
        if not isinstance(login, str) or not login or login in out:
            raise DocumentError(codes.REQ_PARAM_ERROR, "auth: every login named once")
        if password is not None and (not isinstance(password, str) or not password):
            raise DocumentError(codes.REQ_PARAM_ERROR, f"auth: the password of {login!r}")
        out[login] = password
    return out


@attrs.define
class Logins:
    """`auth`: the built-in database's users by username."""

    ctx: Any

    async def _usernames(self) -> list[str]:
        query = MqttUserQuery(user_id_type="username")
        try:
            page = await self.ctx.control.list_mqtt_users(query, offset=0, limit=ALL)
        except NotFound:  # no built-in database authenticator: no logins
            return []
        return [u.user_id for u in page.items]

    async def read(self) -> list[dict]:
        return [{"login": u, "password": None} for u in await self._usernames()]

    async def check(self, posted: dict) -> None:
        _enable(posted)
        if "auth" in posted:
            existing = set(await self._usernames())
            for login, password in _logins(posted["auth"]).items():
                if password is None and login not in existing:
                    raise DocumentError(codes.REQ_PARAM_ERROR, f"auth: no password to keep for {login!r}")

    async def write(self, posted: dict) -> None:
        control = self.ctx.control
        enable = _enable(posted)
        try:
            current = await control.get_authenticator(BUILT_IN_DATABASE)
        except NotFound:
            current = await control.create_authenticator(AuthenticatorConfig(enable=enable is not False))
        if enable is not None and current.enable != enable:
            await control.update_authenticator(BUILT_IN_DATABASE, attrs.evolve(current, enable=enable))
        if "auth" not in posted:
            return
        logins = _logins(posted["auth"])
        existing = await self._usernames()
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


class HttpAuth:
    """`auth_http`: off, and it cannot be turned on."""

    async def read(self) -> dict:
        return {"enable": False}

    async def check(self, posted: dict) -> None:
        section = posted.get("auth_http", {})
        if posted.get("enable") is True or (isinstance(section, dict) and section.get("enable") is True):
            raise NotSupported("HTTP authentication is not supported by this broker", kind="authenticator")

    async def write(self, posted: dict) -> None:
        """Nothing to keep: what check let through leaves HTTP authentication off, as it is."""
