"""EMQX 4.4's mnesia auth and ACL (emqx_auth_mnesia: emqx_auth_mnesia_api, emqx_acl_mnesia_api @ v4.4.19):
`/auth_username`, `/auth_clientid` and `/acl`, over the built-in credential and rule databases that
EMQX 5's `/authentication` and `/authorization` calls manage too. Reference: auth-config-apis.md §1.2-1.3.

As in EMQX 4 the calls exist only while the plugin runs: here, while the chain has the built-in database
authenticator (auth) or the authorizer has the built_in_database source (ACL); otherwise 404
``Not found.``. Business errors are minirest's HTTP 200 ``{"message": ..}``. Passwords are hashed
with the built-in authenticator's algorithm and never shown.

An ACL row is EMQX 4's (who, topic, action pub|sub, access); a record's rules are the rows newest first,
which is also their match order. A row added for a (who, topic, action) that has one replaces it;
``pubsub`` adds the two rows; a rule made through EMQX 5 for ``all`` actions shows as its two rows.
"""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from gateway.http import dialect as d
from gateway.http.routes import Call, Param, Routes
from schemas.errors import Conflict, InvalidArgument, NotFound
from schemas.records import AuthzRule, AuthzRuleSet, MqttUserQuery

from . import emqx4_http
from .emqx4_http import fail, ok

ALL_ROWS = 1 << 30
ACL_DEFAULT_LIMIT = 50  # emqx_acl_mnesia_api: `_limit` defaults to 50 there
ACTIONS = {"pub": ("publish",), "sub": ("subscribe",), "pubsub": ("publish", "subscribe")}
SHORT = {"publish": "pub", "subscribe": "sub"}
ACCESS = ("allow", "deny")

emqx4 = Routes(**emqx4_http.ROUTES)


# -- /auth_username, /auth_clientid ------------------------------------------------------------------


async def _require_authenticator(call: Call) -> None:
    if not any(c.backend == "built_in_database" for c in await call.control.authenticators()):
        raise emqx4_http.manners_error(d.NOT_FOUND)


def _declare_users(kind: str) -> None:
    """The five calls of `/auth_<kind>`, ``kind`` being EMQX 4's table: "username" or "clientid"."""
    base = f"/auth_{kind}"
    like = f"_like_{kind}"
    # A user id or password EMQX 4 cannot take is `login` / `password`; a taken id `existed`.
    add_errors = {
        InvalidArgument: {"user_id": (None, "login"), "password": (None, "password")},
        Conflict: (None, "existed"),
    }

    def row(u) -> dict:
        return {kind: u.user_id, "created_at": int(u.created_at * 1000)}

    async def list_users(call: Call) -> web.StreamResponse:
        await _require_authenticator(call)
        args = call.args
        page = emqx4_http.page_of(args)
        query = MqttUserQuery(user_id_type=kind, user_id=args.get(kind), like_user_id=args.get(like))
        found = await call.control.list_mqtt_users(query, offset=page.offset, limit=page.limit)
        rows = sorted((row(u) for u in found.items), key=lambda r: r["created_at"], reverse=True)
        filtered = kind in args or like in args
        return ok(rows, meta=emqx4_http.page_meta(page, -1 if filtered else found.total, hasnext=found.hasnext))

    async def add(call: Call, item: Any) -> None:
        if not isinstance(item, dict) or not isinstance(item.get(kind), str):
            raise InvalidArgument("bad user id", field="user_id")
        if not isinstance(item.get("password"), str):
            raise InvalidArgument("bad password", field="password")
        await call.control.add_mqtt_user(kind, item[kind], item["password"])

    async def add_users(call: Call) -> web.StreamResponse:
        await _require_authenticator(call)
        body = call.body
        if not isinstance(body, list):
            await add(call, body)
            return ok()
        results: dict[str, str] = {}
        for item in body:
            key = item.get(kind) if isinstance(item, dict) and isinstance(item.get(kind), str) else "undefined"
            try:
                await add(call, item)
                results[key] = "ok"
            except (Conflict, InvalidArgument) as e:
                what = "existed" if isinstance(e, Conflict) else "login" if e.field == "user_id" else "password"
                results[key] = f"{{error,{what}}}"
        return ok(results)

    async def get_user(call: Call) -> web.StreamResponse:
        await _require_authenticator(call)
        try:
            return ok(row(await call.control.get_mqtt_user(kind, call.args[kind])))
        except NotFound:
            return ok({})  # EMQX 4 answers an unknown id with empty data

    async def update_user(call: Call) -> web.StreamResponse:
        await _require_authenticator(call)
        password = call.body.get("password")
        if not isinstance(password, str):
            raise fail(None, "password")
        await call.control.update_mqtt_user(kind, call.args[kind], password=password)
        return ok()

    async def delete_user(call: Call) -> web.StreamResponse:
        await _require_authenticator(call)
        try:
            await call.control.delete_mqtt_user(kind, call.args[kind])
        except NotFound:
            pass  # deleting what is not there succeeds
        return ok()

    paging = (
        Param(name="_page", type="integer"),
        Param(name="_limit", type="integer"),
        Param(name=kind),
        Param(name=like),
    )
    emqx4.add("GET", base, list_users, name=f"list_{kind}", summary=f"List {kind} auth entries", params=paging)
    emqx4.add(
        "POST",
        base,
        add_users,
        name=f"add_{kind}",
        summary=f"Add {kind} auth entries (an object, or an array of them)",
        body={"description": f'{{"{kind}": .., "password": ..}} or an array of them'},
        errors=add_errors,
    )
    emqx4.add("GET", f"{base}/{{{kind}}}", get_user, name=f"lookup_{kind}", summary=f"Lookup a {kind} auth entry")
    emqx4.add(
        "PUT",
        f"{base}/{{{kind}}}",
        update_user,
        name=f"update_{kind}",
        summary=f"Change a {kind}'s password",
        body={"type": "object", "properties": {"password": {"type": "string"}}},
        errors={InvalidArgument: (None, "password"), NotFound: (None, "noexisted")},
    )
    emqx4.add("DELETE", f"{base}/{{{kind}}}", delete_user, name=f"delete_{kind}", summary=f"Delete a {kind} auth entry")


for _kind in ("username", "clientid"):
    _declare_users(_kind)


# -- /acl ----------------------------------------------------------------------------------------------

# EMQX 4's ACL tables -> ours: path segment -> (who_type, the row's key for the name, its like_* filter).
WHO = {"clientid": ("clientid", "clientid", "_like_clientid"), "username": ("username", "username", "_like_username")}


async def _require_source(call: Call) -> None:
    if not any(s.type == "built_in_database" for s in await call.control.authz_sources()):
        raise emqx4_http.manners_error(d.NOT_FOUND)


def acl_rows(rs: AuthzRuleSet) -> list[dict]:
    """A record as EMQX 4 rows, in match order (newest first)."""
    key = "all" if rs.who_type == "all" else rs.who_type
    who = "$all" if rs.who_type == "all" else rs.who
    out = []
    for r in rs.rules:
        for action in ACTIONS["pubsub"] if r.action == "all" else (r.action,):
            out.append({key: who, "topic": r.topic, "action": SHORT[action], "access": r.permission})
    return out


def with_row(rules: list[AuthzRule], topic: str, action: str, access: str) -> list[AuthzRule]:
    """``rules`` with (topic, action) set to ``access``, newest first: an older rule for that topic and
    action goes; one for both actions keeps the other."""
    kept = []
    other = "subscribe" if action == "publish" else "publish"
    for r in rules:
        if r.topic == topic and r.action in (action, "all"):
            if r.action == "all":
                kept.append(attrs.evolve(r, action=other))
            continue
        kept.append(r)
    return [AuthzRule(topic=topic, permission=access, action=action), *kept]


def _erlang_bin_map(doc: dict) -> str:
    """An EMQX 4 error term: ``#{access => <<"x">>, ...}`` with the keys sorted, as Erlang prints maps."""
    return "#{" + ",".join(f'{k} => <<"{v}">>' for k, v in sorted(doc.items())) + "}"


async def _add_rule(call: Call, item: Any) -> dict:
    """One row of `POST /acl`: the row as answered, its ``result`` "ok" or EMQX 4's error word
    (``{error,login}``; login, topic, action and access are checked in that order)."""
    item = item if isinstance(item, dict) else {}
    shown = {k: item[k] for k in ("clientid", "username", "topic", "action", "access") if isinstance(item.get(k), str)}
    ids = [k for k in ("clientid", "username") if k in item]
    if len(ids) > 1 or any(not isinstance(item[k], str) or not item[k] for k in ids):
        return {**shown, "result": "{error,login}"}
    if not isinstance(item.get("topic"), str) or not item["topic"]:
        return {**shown, "result": "{error,topic}"}
    if item.get("action") not in ACTIONS:
        return {**shown, "result": "{error,action}"}
    if item.get("access") not in ACCESS:
        return {**shown, "result": "{error,access}"}
    who_type, who = (ids[0], item[ids[0]]) if ids else ("all", "")
    try:
        current = (await call.control.get_authz_rules(who_type, who)).rules
    except NotFound as e:
        if e.field != "who":
            raise
        current = []
    for action in ACTIONS[item["action"]]:
        current = with_row(current, item["topic"], action, item["access"])
    try:
        await call.control.put_authz_rules(AuthzRuleSet(who_type=who_type, who=who, rules=current))
    except InvalidArgument:  # a topic the broker cannot read
        return {**shown, "result": "{error,topic}"}
    return {**shown, "result": "ok"}


@emqx4.post(
    "/acl",
    name="add_acl",
    summary="Add ACL rules (an object, or an array of them)",
    body={"description": "a rule object or an array"},
)
async def add_acl(call: Call) -> web.StreamResponse:
    await _require_source(call)
    body = call.body
    if isinstance(body, list):
        return ok(list(reversed([await _add_rule(call, item) for item in body])))
    row = await _add_rule(call, body)
    if row["result"] != "ok":
        raise fail(None, "{add," + _erlang_bin_map(row) + "}")
    return ok(row)


def _matches(row: dict, args: dict) -> bool:
    return all(args[k] == row[k] for k in ("topic", "action", "access") if k in args)


def _declare_acl_listing(segment: str) -> None:
    who_type, key, like = WHO[segment]

    async def list_rows(call: Call) -> web.StreamResponse:
        await _require_source(call)
        args = call.args
        page = emqx4_http.page_of(args, ACL_DEFAULT_LIMIT)
        records = (await call.control.list_authz_rules(who_type, like=args.get(like), offset=0, limit=ALL_ROWS)).items
        rows = [r for rs in records for r in acl_rows(rs) if _matches(r, args) and args.get(key, r[key]) == r[key]]
        return ok(rows[page.offset : page.offset + page.limit], meta=emqx4_http.page_meta(page, len(rows)))

    async def rows_of(call: Call) -> web.StreamResponse:
        await _require_source(call)
        try:
            return ok(acl_rows(await call.control.get_authz_rules(who_type, call.args[key])))
        except NotFound as e:
            if e.field != "who":
                raise
            return ok([])

    filters = tuple(Param(name=n) for n in ("_page", "_limit", key, like, "topic", "action", "access"))
    emqx4.add(
        "GET", f"/acl/{segment}", list_rows, name=f"list_{segment}_acl", summary=f"ACL rules by {key}", params=filters
    )
    emqx4.add(
        "GET", f"/acl/{segment}/{{{key}}}", rows_of, name=f"lookup_{segment}_acl", summary=f"The ACL rules of one {key}"
    )


for _segment in WHO:
    _declare_acl_listing(_segment)


@emqx4.get(
    "/acl/$all",
    name="list_all_acl",
    summary="ACL rules for all clients",
    params=tuple(Param(name=n) for n in ("_page", "_limit", "topic", "action", "access")),
)
async def list_all_rows(call: Call) -> web.StreamResponse:
    await _require_source(call)
    args = call.args
    page = emqx4_http.page_of(args, ACL_DEFAULT_LIMIT)
    records = (await call.control.list_authz_rules("all", offset=0, limit=1)).items
    rows = [r for rs in records for r in acl_rows(rs) if _matches(r, args)]
    return ok(rows[page.offset : page.offset + page.limit], meta=emqx4_http.page_meta(page, len(rows)))


async def _delete_topic(call: Call, who_type: str, who: str) -> web.StreamResponse:
    """Every rule of ``who`` for the topic goes (every action); nothing there is not an error."""
    await _require_source(call)
    try:
        rs = await call.control.get_authz_rules(who_type, who)
    except NotFound as e:
        if e.field != "who":
            raise
        return ok()
    kept = [r for r in rs.rules if r.topic != call.args["topic"]]
    if len(kept) != len(rs.rules):
        await call.control.put_authz_rules(attrs.evolve(rs, rules=kept))
    return ok()


@emqx4.delete(
    "/acl/clientid/{clientid}/topic/{topic:.+}",
    name="delete_clientid_acl",
    summary="Delete a client's rules for a topic",
)
async def delete_clientid_topic(call: Call) -> web.StreamResponse:
    return await _delete_topic(call, "clientid", call.args["clientid"])


@emqx4.delete(
    "/acl/username/{username}/topic/{topic:.+}", name="delete_username_acl", summary="Delete a user's rules for a topic"
)
async def delete_username_topic(call: Call) -> web.StreamResponse:
    return await _delete_topic(call, "username", call.args["username"])


@emqx4.delete(
    "/acl/$all/topic/{topic:.+}", name="delete_all_acl", summary="Delete the rules for all clients for a topic"
)
async def delete_all_topic(call: Call) -> web.StreamResponse:
    return await _delete_topic(call, "all", "")
