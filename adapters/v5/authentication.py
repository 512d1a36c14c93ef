"""MQTT authentication (emqx_authn_api, emqx_authn_user_import_api @ 5.8): the authenticator chain and
the built-in database's users. Reference: auth-config-apis.md §2.

Authenticators are ``password_based:built_in_database`` and this gateway's own
``password_based:dashboard_accounts`` (the dashboard accounts, EMQ 2.x's emq_auth_username); other
mechanisms and backends answer 400 NOT_SUPPORTED. Bodies are checked with defaults filled, as EMQX's
hocon does: a PUT sets what it leaves out back to the default. Hashes are never shown.
"""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from adapters.common import mqtt_user_files
from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, NotFound
from schemas.records import (
    AUTHN_BACKENDS,
    HASH_ALGORITHMS,
    PBKDF2_MACS,
    SALT_POSITIONS,
    USER_ID_TYPES,
    AuthenticatorConfig,
    AuthStatus,
    MqttUser,
    MqttUserQuery,
    PasswordHash,
)

from .errors import bad_request
from .paging import PAGING, envelope_schema, page_request, paged
from .validation import check, path, q

STR = {"type": "string"}
BOOL = {"type": "boolean"}
SIMPLE_HASHES = ("plain", "md5", "sha", "sha256", "sha512")
HASH_SCHEMAS: dict[str, dict] = {
    **{
        name: {
            "type": "object",
            "properties": {"name": STR, "salt_position": {**STR, "enum": list(SALT_POSITIONS), "default": "prefix"}},
        }
        for name in SIMPLE_HASHES
    },
    "bcrypt": {
        "type": "object",
        "properties": {"name": STR, "salt_rounds": {"type": "integer", "minimum": 5, "maximum": 10, "default": 10}},
    },
    "pbkdf2": {
        "type": "object",
        "properties": {
            "name": STR,
            "mac_fun": {**STR, "enum": list(PBKDF2_MACS)},
            "iterations": {"type": "integer", "minimum": 1},
            "dk_length": {"type": "integer", "minimum": 1},
        },
        "required": ["name", "mac_fun", "iterations"],
    },
}
HASH = {
    "type": "object",
    "description": 'e.g. {"name": "sha256", "salt_position": "prefix"}, {"name": "bcrypt", "salt_rounds": 10}',
    "properties": {"name": {**STR, "enum": list(HASH_ALGORITHMS)}},
    "additionalProperties": True,
}
AUTHENTICATOR = {
    "type": "object",
    "properties": {
        "mechanism": {**STR, "description": "password_based"},
        "backend": {**STR, "description": " | ".join(AUTHN_BACKENDS)},
        "enable": {**BOOL, "default": True},
        "user_id_type": {**STR, "enum": list(USER_ID_TYPES), "default": "username"},
        "password_hash_algorithm": HASH,
    },
    "required": ["mechanism", "backend"],
}
AUTHENTICATOR_OUT = {
    "type": "object",
    "properties": {**AUTHENTICATOR["properties"], "id": STR},
}
METRICS = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("total", "success", "failed", "nomatch")}
    | {k: {"type": "number"} for k in ("rate", "rate_max", "rate_last5m")},
}
STATUS = {
    "type": "object",
    "properties": {
        "status": STR,
        "metrics": METRICS,
        "resource_metrics": {"type": "object"},
        "node_status": {"type": "array", "items": {"type": "object"}},
        "node_metrics": {"type": "array", "items": {"type": "object"}},
        "node_resource_metrics": {"type": "array", "items": {"type": "object"}},
        "node_error": {"type": "array", "items": {"type": "object"}},
    },
}
USER = {"type": "object", "properties": {"user_id": STR, "is_superuser": BOOL}, "required": ["user_id"]}
USER_CREATE = {
    "type": "object",
    "properties": {"user_id": STR, "password": STR, "is_superuser": {**BOOL, "default": False}},
    "required": ["user_id", "password"],
}
USER_UPDATE = {
    "type": "object",
    "properties": {"password": STR, "is_superuser": {**BOOL, "default": False}},
    "required": ["password"],
}
IMPORT_RESULT = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("total", "success", "override", "skipped", "failed")},
}
ID = path("id", "authenticator id, e.g. password_based:built_in_database")
USER_ID = path("user_id")
NONE = {204: {"description": "done"}}
NOT_FOUND = {404: {"description": "NOT_FOUND"}}
# emqx_authn_api: a bad position is 400 with this message whatever is wrong with it.
BAD_POSITION = {InvalidArgument: (400, "BAD_REQUEST", "Invalid value for 'position'")}
# An empty user id, as emqx_authn_mnesia refuses it.
BAD_USER_ID = {InvalidArgument: {"user_id": (400, "BAD_REQUEST", "User error: invalid_user_id")}}

routes = Routes(tags=("Authentication",))


# -- documents -----------------------------------------------------------------------------------


def hash_doc(h: PasswordHash) -> dict:
    if h.name == "bcrypt":
        return {"name": "bcrypt", "salt_rounds": h.salt_rounds}
    if h.name == "pbkdf2":
        doc: dict[str, Any] = {"name": "pbkdf2", "mac_fun": h.mac_fun, "iterations": h.iterations}
        if h.dk_length is not None:
            doc["dk_length"] = h.dk_length
        return doc
    return {"name": h.name, "salt_position": h.salt_position}


def authenticator_doc(c: AuthenticatorConfig) -> dict:
    doc: dict[str, Any] = {"id": c.id, "mechanism": c.mechanism, "backend": c.backend, "enable": c.enable}
    if c.backend == "built_in_database":
        doc["user_id_type"] = c.user_id_type
        doc["password_hash_algorithm"] = hash_doc(c.password_hash)
    return doc


def status_doc(s: AuthStatus, node: str) -> dict:
    metrics = {**s.counts, "rate": s.rate, "rate_max": s.rate_max, "rate_last5m": s.rate_last5m}
    return {
        "status": s.status,
        "metrics": metrics,
        "resource_metrics": {},
        "node_status": [{"node": node, "status": s.status}],
        "node_metrics": [{"node": node, "metrics": metrics}],
        "node_resource_metrics": [{"node": node, "metrics": {}}],
        "node_error": [],
    }


def user_doc(u: MqttUser) -> dict:
    return {"user_id": u.user_id, "is_superuser": u.is_superuser}


def password_hash_of(doc: Any) -> PasswordHash:
    """EMQX's ``password_hash_algorithm`` object, checked against the schema its name picks."""
    where = "root.password_hash_algorithm"
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise bad_request(f"{where}: an object with a name, one of {', '.join(HASH_ALGORITHMS)}")
    schema = HASH_SCHEMAS.get(doc["name"])
    if schema is None:
        raise bad_request(f"{where}.name: unknown password hash algorithm {doc['name']!r}")
    doc = check(doc, schema, where)
    fields = {k: v for k, v in doc.items() if k in attrs.fields_dict(PasswordHash)}
    return PasswordHash(**fields)


def authenticator_of(body: dict) -> AuthenticatorConfig:
    """The configuration a body gives; what it leaves out is the default, as EMQX's hocon fills it."""
    algo = body.get("password_hash_algorithm")
    return AuthenticatorConfig(
        mechanism=body["mechanism"],
        backend=body["backend"],
        enable=body["enable"],
        user_id_type=body["user_id_type"],
        password_hash=PasswordHash() if algo is None else password_hash_of(algo),
    )


# -- the chain -----------------------------------------------------------------------------------


@routes.get(
    "/authentication",
    summary="List authenticators, in chain order",
    responses={200: {"schema": {"type": "array", "items": AUTHENTICATOR_OUT}}},
)
async def list_authenticators(call: Call) -> web.Response:
    return Dialect.json([authenticator_doc(c) for c in await call.control.authenticators()])


@routes.post(
    "/authentication",
    summary="Add an authenticator at the end of the chain",
    body=AUTHENTICATOR,
    responses={200: {"schema": AUTHENTICATOR_OUT}, 400: {"description": "BAD_REQUEST / NOT_SUPPORTED"}},
)
async def create_authenticator(call: Call) -> web.Response:
    created = await call.control.create_authenticator(authenticator_of(call.body))
    return Dialect.json(authenticator_doc(created))


@routes.put(
    "/authentication/order",
    summary="Put every authenticator in a new order",
    body={"type": "array", "items": {"type": "object", "properties": {"id": STR}, "required": ["id"]}},
    responses={**NONE, 400: {"description": "BAD_REQUEST"}},
)
async def order_authenticators(call: Call) -> web.Response:
    await call.control.order_authenticators([item["id"] for item in call.body])
    return web.Response(status=204)


@routes.get(
    "/authentication/{id}",
    summary="One authenticator",
    params=(ID,),
    responses={200: {"schema": AUTHENTICATOR_OUT}, **NOT_FOUND},
)
async def get_authenticator(call: Call) -> web.Response:
    return Dialect.json(authenticator_doc(await call.control.get_authenticator(call.args["id"])))


@routes.put(
    "/authentication/{id}",
    summary="Replace an authenticator's configuration (what is left out becomes the default)",
    params=(ID,),
    body=AUTHENTICATOR,
    responses={**NONE, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
)
async def update_authenticator(call: Call) -> web.Response:
    await call.control.update_authenticator(call.args["id"], authenticator_of(call.body))
    return web.Response(status=204)


@routes.delete(
    "/authentication/{id}",
    summary="Remove an authenticator (the built-in database's users go with it)",
    params=(ID,),
    responses=NONE,
)
async def delete_authenticator(call: Call) -> web.Response:
    try:
        await call.control.delete_authenticator(call.args["id"])
    except NotFound:
        pass  # EMQX answers 204 for an id it does not have
    return web.Response(status=204)


@routes.put(
    "/authentication/{id}/position/{position}",
    summary="Move an authenticator: front, rear, before:<id>, after:<id>",
    params=(ID, path("position", "front | rear | before:<id> | after:<id>")),
    responses={**NONE, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
    errors=BAD_POSITION,
)
async def move_authenticator(call: Call) -> web.Response:
    await call.control.move_authenticator(call.args["id"], call.args["position"])
    return web.Response(status=204)


@routes.get(
    "/authentication/{id}/status",
    summary="An authenticator's status and counters",
    params=(ID,),
    responses={200: {"schema": STATUS}, **NOT_FOUND},
)
async def authenticator_status(call: Call) -> web.Response:
    status = await call.control.authenticator_status(call.args["id"])
    return Dialect.json(status_doc(status, call.control.node_name))


# -- users -----------------------------------------------------------------------------------------


async def user_id_type(call: Call) -> str:
    """The built-in database's user id type, if ``{id}`` names it; EMQX's answers for every other id."""
    ident = call.args["id"]
    configs = await call.control.authenticators()
    if not configs:
        raise ApiError(404, "NOT_FOUND", "Authenticator not found in the 'global' scope")
    found = next((c for c in configs if c.id == ident), None)
    if found is None:
        raise bad_request(f'User error: {{not_found,{{authenticator,<<"{ident}">>}}}}')
    if found.backend != "built_in_database":
        raise bad_request("User error: unsupported_operation")
    return found.user_id_type


@routes.get(
    "/authentication/{id}/users",
    summary="The built-in database's users (ascending; no count with like_user_id)",
    params=(
        ID,
        *PAGING,
        q("like_user_id", description="case-sensitive substring"),
        q("is_superuser", "boolean"),
    ),
    responses={200: {"schema": envelope_schema(USER)}, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
)
async def list_mqtt_users(call: Call) -> web.Response:
    args = call.args
    pr = page_request(args)
    query = MqttUserQuery(
        user_id_type=await user_id_type(call),
        like_user_id=args.get("like_user_id"),
        is_superuser=args.get("is_superuser"),
    )
    page = await call.control.list_mqtt_users(query, offset=pr.offset, limit=pr.limit)
    return paged(args, [user_doc(u) for u in page.items], page.total, page.hasnext)


@routes.post(
    "/authentication/{id}/users",
    summary="Add a user",
    params=(ID,),
    body=USER_CREATE,
    responses={
        201: {"schema": USER},
        400: {"description": "BAD_REQUEST"},
        404: {"description": "NOT_FOUND"},
        409: {"description": "ALREADY_EXISTS"},
    },
    errors=BAD_USER_ID,
)
async def create_mqtt_user(call: Call) -> web.Response:
    b = call.body
    user = await call.control.add_mqtt_user(
        await user_id_type(call), b["user_id"], b["password"], is_superuser=b["is_superuser"]
    )
    return Dialect.json(user_doc(user), status=201)


@routes.get(
    "/authentication/{id}/users/{user_id}",
    summary="One user",
    params=(ID, USER_ID),
    responses={200: {"schema": USER}, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
)
async def get_mqtt_user(call: Call) -> web.Response:
    return Dialect.json(user_doc(await call.control.get_mqtt_user(await user_id_type(call), call.args["user_id"])))


@routes.put(
    "/authentication/{id}/users/{user_id}",
    summary="Change a user's password and superuser flag (is_superuser left out: false)",
    params=(ID, USER_ID),
    body=USER_UPDATE,
    responses={200: {"schema": USER}, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
)
async def update_mqtt_user(call: Call) -> web.Response:
    b = call.body
    user = await call.control.update_mqtt_user(
        await user_id_type(call), call.args["user_id"], password=b["password"], is_superuser=b["is_superuser"]
    )
    return Dialect.json(user_doc(user))


@routes.delete(
    "/authentication/{id}/users/{user_id}",
    summary="Delete a user",
    params=(ID, USER_ID),
    responses={**NONE, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
)
async def delete_mqtt_user(call: Call) -> web.Response:
    await call.control.delete_mqtt_user(await user_id_type(call), call.args["user_id"])
    return web.Response(status=204)


async def _import_rows(request: web.Request, hashed: bool) -> list:
    """The rows of a multipart upload (field ``filename``, .csv or .json) or of a JSON array body."""
    try:
        if request.content_type == "multipart/form-data":
            form = await request.post()
            upload = form.get("filename")
            if not isinstance(upload, web.FileField):
                raise bad_request("Missing required parameter: filename")
            fmt = mqtt_user_files.format_of(upload.filename)
            return mqtt_user_files.parse(upload.file.read(), fmt, hashed)
        return mqtt_user_files.parse(await request.read(), "json", hashed)
    except mqtt_user_files.UserFileError as e:
        raise bad_request(e.reason) from None


@routes.post(
    "/authentication/{id}/import_users",
    summary="Import users from a CSV or JSON file (multipart field `filename`) or a JSON array",
    params=(ID, q("type", enum=("plain", "hash"), default="hash")),
    json_body=False,
    responses={200: {"schema": IMPORT_RESULT}, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
)
async def import_users(call: Call) -> web.Response:
    hashed = call.args["type"] == "hash"
    kind = await user_id_type(call)
    rows = await _import_rows(call.request, hashed)
    result = await call.control.import_mqtt_users(kind, rows, hashed=hashed)
    return Dialect.json(attrs.asdict(result))
