"""MQTT authorization (emqx_authz_api_settings, _sources, _mnesia, _cache @ 5.8; the client cache calls of
emqx_mgmt_api_clients). Reference: auth-config-apis.md §3, emqx-v5-api.md §3.2.

Sources are ``file`` (the ACL rules text, checked before it applies) and ``built_in_database``; EMQX's
other types answer 400 NOT_SUPPORTED when created and 404 otherwise (there are none).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, LimitExceeded, NotFound
from schemas.records import AuthzCacheEntry, AuthzRule, AuthzRuleSet, AuthzSettings, AuthzSource

from .authentication import status_doc
from .errors import bad_request, validation_error
from .paging import PAGING, envelope_schema, page_request, paged
from .validation import path, q

# Every type EMQX 5.8 CE knows (the path enum); this broker has the first two.
SOURCE_TYPES = ("file", "built_in_database", "http", "redis", "mysql", "postgresql", "mongodb", "ldap")
STR = {"type": "string"}
BOOL = {"type": "boolean"}
RETAIN = {"anyOf": [{"type": "boolean"}, {"type": "string"}], "description": 'true, false or "all"', "default": "all"}
RULE = {
    "type": "object",
    "properties": {
        "topic": STR,
        "permission": {**STR, "enum": ["allow", "deny"]},
        "action": {**STR, "enum": ["publish", "subscribe", "all"]},
        "qos": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 2}, "default": [0, 1, 2]},
        "retain": RETAIN,
    },
    "required": ["topic", "permission", "action"],
}
RULES = {"type": "array", "items": RULE}
CACHE = {
    "type": "object",
    "properties": {
        "enable": {**BOOL, "default": True},
        "max_size": {"type": "integer", "minimum": 1, "maximum": 1_048_576, "default": 32},
        "ttl": {**STR, "default": "1m", "description": 'a duration: "1m", "30s", "1h5m", "500ms"'},
        "excludes": {"type": "array", "items": STR, "default": []},
    },
    "required": ["enable"],
}
SETTINGS = {
    "type": "object",
    "properties": {
        "no_match": {**STR, "enum": ["allow", "deny"], "default": "allow"},
        "deny_action": {**STR, "enum": ["ignore", "disconnect"], "default": "ignore"},
        "cache": CACHE,
    },
    "required": ["no_match", "deny_action"],
}
SOURCE = {
    "type": "object",
    "description": 'file: {"type": "file", "enable", "rules"}; built_in_database: {"type", "enable", "max_rules"}',
    "properties": {
        "type": {**STR, "enum": list(SOURCE_TYPES)},
        "enable": {**BOOL, "description": "default true"},
        "rules": STR,
        "max_rules": {"type": "integer", "minimum": 1, "description": "default 100"},
    },
    "required": ["type"],
    "additionalProperties": True,
}
METRICS = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("total", "allow", "deny", "nomatch", "ignore")}
    | {k: {"type": "number"} for k in ("rate", "rate_max", "rate_last5m")},
}
STATUS = {"type": "object", "properties": {"status": STR, "metrics": METRICS}}
CACHE_ENTRY = {
    "type": "object",
    "properties": {
        "access": {"type": "object", "properties": {"action_type": STR, "qos": {"type": "integer"}, "retain": BOOL}},
        "topic": STR,
        "result": STR,
        "updated_time": {"type": "integer"},
    },
}
TYPE = path("type", enum=SOURCE_TYPES)
NONE = {204: {"description": "done"}}
NOT_FOUND = {404: {"description": "NOT_FOUND"}}
B = "/authorization/sources/built_in_database/rules"
# The built-in database's own answers (emqx_authz_api_mnesia): a rules list over max_rules is a bad
# request, and a missing record (field "who") has its own words per call.
TOO_MANY = (400, "BAD_REQUEST", None)

routes = Routes(tags=("Authorization",))


# -- durations ("1m", "1h5m", "500ms"; a bare number is milliseconds, as in EMQX's hocon) --------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, where: str) -> float:
    if text.isdigit():
        return int(text) / 1000
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise validation_error(where, "invalid_duration", text)
    return sum(float(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    ms = round(seconds * 1000)
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit] * 1000
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


# -- documents -----------------------------------------------------------------------------------


def settings_doc(s: AuthzSettings) -> dict:
    return {
        "no_match": s.no_match,
        "deny_action": s.deny_action,
        "cache": {
            "enable": s.cache_enable,
            "max_size": s.cache_max_size,
            "ttl": format_duration(s.cache_ttl),
            "excludes": list(s.cache_excludes),
        },
    }


def source_doc(s: AuthzSource) -> dict:
    if s.type == "file":
        return {"type": "file", "enable": s.enable, "rules": s.rules or ""}
    return {"type": s.type, "enable": s.enable, "max_rules": s.max_rules}


def rule_doc(r: AuthzRule) -> dict:
    return {
        "topic": r.topic,
        "permission": r.permission,
        "action": r.action,
        "qos": list(r.qos),
        "retain": "all" if r.retain is None else r.retain,
    }


def rule_of(doc: dict, where: str) -> AuthzRule:
    retain = doc.get("retain", "all")
    if isinstance(retain, str) and retain != "all":
        raise validation_error(f"{where}.retain", 'expected true, false or "all"', retain)
    return AuthzRule(
        topic=doc["topic"],
        permission=doc["permission"],
        action=doc["action"],
        qos=list(doc["qos"]),
        retain=None if retain == "all" else retain,
    )


def rules_of(docs: list, where: str = "root.rules") -> list[AuthzRule]:
    return [rule_of(d, f"{where}.{i + 1}") for i, d in enumerate(docs)]


def cache_entry_doc(e: AuthzCacheEntry) -> dict:
    access: dict[str, Any] = {"action_type": e.action, "qos": e.qos}
    if e.action == "publish":
        access["retain"] = e.retain
    return {"access": access, "topic": e.topic, "result": e.result, "updated_time": int(e.updated_at * 1000)}


# -- settings ------------------------------------------------------------------------------------


@routes.get("/authorization/settings", summary="Authorization settings", responses={200: {"schema": SETTINGS}})
async def get_settings(call: Call) -> web.Response:
    return Dialect.json(settings_doc(await call.control.authz_settings()))


@routes.put(
    "/authorization/settings",
    summary="Change the settings (send all three keys: what is left out becomes the default)",
    body=SETTINGS,
    responses={200: {"schema": SETTINGS}, 400: {"description": "BAD_REQUEST"}},
)
async def put_settings(call: Call) -> web.Response:
    b = call.body
    cache = b.get("cache", {"enable": True, "max_size": 32, "ttl": "1m", "excludes": []})
    settings = AuthzSettings(
        no_match=b["no_match"],
        deny_action=b["deny_action"],
        cache_enable=cache["enable"],
        cache_max_size=cache["max_size"],
        cache_ttl=parse_duration(cache["ttl"], "root.cache.ttl"),
        cache_excludes=list(cache["excludes"]),
    )
    return Dialect.json(settings_doc(await call.control.set_authz_settings(settings)))


# -- sources -------------------------------------------------------------------------------------


def source_of(doc: dict) -> AuthzSource:
    kind = doc["type"]
    known = {"file": {"type", "enable", "rules"}, "built_in_database": {"type", "enable", "max_rules"}}.get(kind)
    if known is not None:
        unknown = sorted(set(doc) - known)
        if unknown:
            raise validation_error("root", "unknown_fields", unknown=", ".join(unknown))
    if kind == "file" and not isinstance(doc.get("rules"), str):
        raise validation_error("root.rules", "required_field")
    defaults = AuthzSource(type=kind)
    return AuthzSource(
        type=kind,
        enable=doc.get("enable", defaults.enable),
        rules=doc.get("rules"),
        max_rules=doc.get("max_rules", defaults.max_rules),
    )


@routes.get(
    "/authorization/sources",
    summary="Authorization sources, in check order",
    responses={200: {"schema": {"type": "object", "properties": {"sources": {"type": "array", "items": SOURCE}}}}},
)
async def list_sources(call: Call) -> web.Response:
    return Dialect.json({"sources": [source_doc(s) for s in await call.control.authz_sources()]})


@routes.post(
    "/authorization/sources",
    summary="Add a source, first in the order",
    body=SOURCE,
    responses={**NONE, 400: {"description": "BAD_REQUEST / NOT_SUPPORTED"}},
)
async def create_source(call: Call) -> web.Response:
    await call.control.create_authz_source(source_of(call.body))
    return web.Response(status=204)


@routes.put(
    "/authorization/sources/order",
    summary="Put every source in a new order",
    body={"type": "array", "items": {"type": "object", "properties": {"type": STR}, "required": ["type"]}},
    responses={**NONE, 400: {"description": "BAD_REQUEST"}},
)
async def order_sources(call: Call) -> web.Response:
    await call.control.order_authz_sources([item["type"] for item in call.body])
    return web.Response(status=204)


@routes.get(
    "/authorization/sources/{type}",
    summary="One source (file: with its rules text)",
    params=(TYPE,),
    responses={200: {"schema": SOURCE}, **NOT_FOUND},
)
async def get_source(call: Call) -> web.Response:
    return Dialect.json(source_doc(await call.control.get_authz_source(call.args["type"])))


@routes.put(
    "/authorization/sources/{type}",
    summary="Replace a source (file: a rules text that does not parse changes nothing)",
    params=(TYPE,),
    body=SOURCE,
    responses={**NONE, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
)
async def update_source(call: Call) -> web.Response:
    await call.control.update_authz_source(call.args["type"], source_of(call.body))
    return web.Response(status=204)


@routes.delete(
    "/authorization/sources/{type}",
    summary="Remove a source (the built-in database keeps its rules)",
    params=(TYPE,),
    responses={**NONE, **NOT_FOUND},
)
async def delete_source(call: Call) -> web.Response:
    await call.control.delete_authz_source(call.args["type"])
    return web.Response(status=204)


@routes.get(
    "/authorization/sources/{type}/status",
    summary="A source's status and counters",
    params=(TYPE,),
    responses={200: {"schema": STATUS}, **NOT_FOUND},
)
async def source_status(call: Call) -> web.Response:
    status = await call.control.authz_source_status(call.args["type"])
    return Dialect.json(status_doc(status, call.control.node_name))


@routes.post(
    "/authorization/sources/{type}/move",
    summary="Move a source: front, rear, before:<type>, after:<type>",
    params=(TYPE,),
    body={"type": "object", "properties": {"position": STR}, "required": ["position"]},
    responses={**NONE, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
    errors={InvalidArgument: (400, "BAD_REQUEST", "Invalid parameter. Unknow position")},
)
async def move_source(call: Call) -> web.Response:
    await call.control.move_authz_source(call.args["type"], call.body["position"])
    return web.Response(status=204)


# -- the built-in database's rules ---------------------------------------------------------------

# (path segment, who_type, the name's key in bodies, its like_* filter, what EMQX calls it when missing)
KINDS = {
    "users": ("username", "username", "like_username", "Username Not Found"),
    "clients": ("clientid", "clientid", "like_clientid", "ClientID Not Found"),
}


def _record_doc(rs: AuthzRuleSet, key: str) -> dict:
    return {key: rs.who, "rules": [rule_doc(r) for r in rs.rules]}


def _declare_kind(segment: str) -> None:
    who_type, key, like, missing = KINDS[segment]
    record = {"type": "object", "properties": {key: STR, "rules": RULES}, "required": [key]}
    name = path(key)

    async def list_records(call: Call) -> web.Response:
        args = call.args
        pr = page_request(args)
        page = await call.control.list_authz_rules(who_type, like=args.get(like), offset=pr.offset, limit=pr.limit)
        return paged(args, [_record_doc(rs, key) for rs in page.items], page.total, page.hasnext)

    async def create_records(call: Call) -> web.Response:
        sets = [
            AuthzRuleSet(who_type=who_type, who=doc[key], rules=rules_of(doc.get("rules", []), f"root.{i + 1}.rules"))
            for i, doc in enumerate(call.body)
        ]
        await call.control.add_authz_rules(sets)
        return web.Response(status=204)

    async def get_record(call: Call) -> web.Response:
        return Dialect.json(_record_doc(await call.control.get_authz_rules(who_type, call.args[key]), key))

    async def put_record(call: Call) -> web.Response:
        if call.body[key] != call.args[key]:
            raise bad_request(f"the {key} in the body must be the one in the path")
        rs = AuthzRuleSet(who_type=who_type, who=call.args[key], rules=rules_of(call.body.get("rules", [])))
        await call.control.put_authz_rules(rs)
        return web.Response(status=204)

    async def delete_record(call: Call) -> web.Response:
        await call.control.delete_authz_rules(who_type, call.args[key])
        return web.Response(status=204)

    routes.add(
        "GET",
        f"{B}/{segment}",
        list_records,
        name=f"list_{segment}_rules",
        summary=f"Rules by {key}",
        params=(*PAGING, q(like, description="substring")),
        responses={200: {"schema": envelope_schema(record)}, **NOT_FOUND},
    )
    routes.add(
        "POST",
        f"{B}/{segment}",
        create_records,
        name=f"create_{segment}_rules",
        summary=f"Add rules for {key}s that have none yet (all or none)",
        body={"type": "array", "items": record},
        responses={**NONE, 400: {"description": "BAD_REQUEST"}, 409: {"description": "ALREADY_EXISTS"}},
        errors={LimitExceeded: TOO_MANY},
    )
    routes.add(
        "GET",
        f"{B}/{segment}/{{{key}}}",
        get_record,
        name=f"get_{segment}_rules",
        summary=f"The rules of one {key}",
        params=(name,),
        responses={200: {"schema": record}, **NOT_FOUND},
        errors={NotFound: {"who": (404, "NOT_FOUND", "Not Found")}},
    )
    routes.add(
        "PUT",
        f"{B}/{segment}/{{{key}}}",
        put_record,
        name=f"put_{segment}_rules",
        summary=f"Set the rules of one {key} (created if absent)",
        params=(name,),
        body=record,
        responses={**NONE, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
        errors={LimitExceeded: (400, "BAD_REQUEST", "The rules length exceeds the maximum limit.")},
    )
    routes.add(
        "DELETE",
        f"{B}/{segment}/{{{key}}}",
        delete_record,
        name=f"delete_{segment}_rules",
        summary=f"Delete the rules of one {key}",
        params=(name,),
        responses={**NONE, **NOT_FOUND},
        errors={NotFound: {"who": (404, "NOT_FOUND", missing)}},
    )


for _segment in KINDS:
    _declare_kind(_segment)


@routes.get(
    f"{B}/all",
    summary="The rules for all clients",
    responses={200: {"schema": {"type": "object", "properties": {"rules": RULES}}}, **NOT_FOUND},
)
async def get_all_rules(call: Call) -> web.Response:
    page = await call.control.list_authz_rules("all", offset=0, limit=1)
    return Dialect.json({"rules": [rule_doc(r) for rs in page.items for r in rs.rules]})


@routes.post(
    f"{B}/all",
    summary="Set the rules for all clients",
    body={"type": "object", "properties": {"rules": RULES}},
    responses={**NONE, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
    errors={LimitExceeded: (400, "BAD_REQUEST", "The length of rules exceeds the maximum limit.")},
)
async def set_all_rules(call: Call) -> web.Response:
    rules = rules_of(call.body.get("rules", []))
    await call.control.put_authz_rules(AuthzRuleSet(who_type="all", who="", rules=rules))
    return web.Response(status=204)


@routes.delete(f"{B}/all", summary="Delete the rules for all clients", responses={**NONE, **NOT_FOUND})
async def delete_all_rules(call: Call) -> web.Response:
    try:
        await call.control.delete_authz_rules("all", "")
    except NotFound as e:
        if e.field != "who":
            raise
    return web.Response(status=204)


@routes.delete(
    B,
    summary="Delete every rule (the source must be disabled first)",
    responses={**NONE, 400: {"description": "BAD_REQUEST"}, **NOT_FOUND},
)
async def purge_rules(call: Call) -> web.Response:
    await call.control.purge_authz_rules()
    return web.Response(status=204)


# -- caches ----------------------------------------------------------------------------------------


@routes.delete("/authorization/cache", summary="Clean every client's authorization cache", responses=NONE)
async def clean_all_caches(call: Call) -> web.Response:
    await call.control.clean_all_authz_caches()
    return web.Response(status=204)


@routes.get(
    "/clients/{clientid}/authorization/cache",
    summary="A connected client's cached authorization verdicts",
    params=(path("clientid"),),
    responses={200: {"schema": {"type": "array", "items": CACHE_ENTRY}}, 404: {"description": "CLIENTID_NOT_FOUND"}},
    tags=("Clients",),
)
async def client_cache(call: Call) -> web.Response:
    return Dialect.json([cache_entry_doc(e) for e in await call.control.authz_cache(call.args["clientid"])])


@routes.delete(
    "/clients/{clientid}/authorization/cache",
    summary="Clean a connected client's authorization cache",
    params=(path("clientid"),),
    responses={**NONE, 404: {"description": "CLIENTID_NOT_FOUND"}},
    tags=("Clients",),
)
async def clean_client_cache(call: Call) -> web.Response:
    await call.control.clean_authz_cache(call.args["clientid"])
    return web.Response(status=204)
