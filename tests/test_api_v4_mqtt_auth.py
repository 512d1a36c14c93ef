"""`/api/v4` auth calls: EMQX 4.4's `/auth_username`, `/auth_clientid`, `/acl`, `/apps`, `/modules` and ACL
cache, NanoMQ's `/configuration/auth` and `/configuration/auth_http` (reference: auth-config-apis.md §1),
each felt by real MQTT clients."""

import aiohttp
import pytest

from gateway.config import HttpConfig
from schemas.records import AuthzSource
from tests.mqtt_helpers import Client

AUTH = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}
DB = "password_based:built_in_database"


@pytest.fixture
async def gw(gateway):
    return await gateway("v4", http=HttpConfig(v4_flavor="emqx4"), allow_anonymous=False)


async def call(gw, method, path, body=None, headers=AUTH):
    r = await gw.http.request(method, "/api/v4" + path, json=body, headers=headers)
    if r.content_type == "application/json":
        return r.status, await r.json()
    return r.status, await r.text()


def rc_of(gw, **kw):
    c = Client(gw.broker, v5=True, connect=False, **kw)
    _, rc, _ = c.connect(expect_ok=False)
    c.c.loop_stop()
    return rc.value


def puback(c, topic):
    c.publish(topic, b"", qos=1)
    return c.acks.get(timeout=5)[1].value


async def test_auth_username_and_clientid(gw):
    assert await call(gw, "POST", "/auth_username", {"username": "u1", "password": "p1"}) == (200, {"code": 0})
    assert rc_of(gw, username="u1", password="p1") == 0
    assert rc_of(gw, username="u1", password="nope") == 0x86
    assert await call(gw, "POST", "/auth_username", {"username": "u1", "password": "p"}) == (
        200,
        {"message": "existed"},
    )
    assert await call(gw, "POST", "/auth_username", {"username": "", "password": "p"}) == (200, {"message": "login"})
    assert await call(gw, "POST", "/auth_username", {"username": "x"}) == (200, {"message": "password"})
    batch = [{"username": "u2", "password": "p"}, {"username": "u1", "password": "p"}, {"password": "p"}]
    assert await call(gw, "POST", "/auth_username", batch) == (
        200,
        {"code": 0, "data": {"u2": "ok", "u1": "{error,existed}", "undefined": "{error,login}"}},
    )
    status, body = await call(gw, "GET", "/auth_username")
    assert [r["username"] for r in body["data"]] == ["u2", "u1"]  # newest first within the page
    assert body["meta"] == {"page": 1, "limit": 10000, "count": 2, "hasnext": False}
    assert all(set(r) == {"username", "created_at"} for r in body["data"])
    _, body = await call(gw, "GET", "/auth_username?_like_username=2")
    assert [r["username"] for r in body["data"]] == ["u2"] and body["meta"]["count"] == -1
    assert (await call(gw, "GET", "/auth_username/u1"))[1]["data"]["username"] == "u1"
    assert await call(gw, "GET", "/auth_username/ghost") == (200, {"code": 0, "data": {}})
    assert await call(gw, "PUT", "/auth_username/u1", {"password": "p9"}) == (200, {"code": 0})
    assert rc_of(gw, username="u1", password="p9") == 0
    assert await call(gw, "PUT", "/auth_username/ghost", {"password": "p"}) == (200, {"message": "noexisted"})
    assert await call(gw, "PUT", "/auth_username/u1", {}) == (200, {"message": "password"})
    assert await call(gw, "DELETE", "/auth_username/u1") == (200, {"code": 0})
    assert await call(gw, "DELETE", "/auth_username/u1") == (200, {"code": 0})
    assert rc_of(gw, username="u1", password="p9") == 0x87
    # Client ids: EMQX 4 tries a client's id row whatever its username.
    assert await call(gw, "POST", "/auth_clientid", {"clientid": "dev-9", "password": "k"}) == (200, {"code": 0})
    assert rc_of(gw, clientid="dev-9", username="whoever", password="k") == 0
    assert [r["clientid"] for r in (await call(gw, "GET", "/auth_clientid"))[1]["data"]] == ["dev-9"]


async def test_auth_calls_vanish_with_the_built_in_database(gw):
    await gw.ctx.control.delete_authenticator(DB)
    assert await call(gw, "GET", "/auth_username") == (404, "Not found.")
    assert await call(gw, "POST", "/auth_clientid", {"clientid": "c", "password": "p"}) == (404, "Not found.")
    await gw.ctx.control.delete_authz_source("built_in_database")
    assert await call(gw, "GET", "/acl/clientid") == (404, "Not found.")


async def test_acl_rows_upsert_delete_and_enforcement(gw):
    await gw.ctx.control.add_mqtt_user("username", "bob", "pw")
    bob = Client(gw.broker, "bob-dev", v5=True, username="bob", password="pw")
    row = {"username": "bob", "topic": "t/#", "action": "pub", "access": "deny"}
    assert await call(gw, "POST", "/acl", row) == (200, {"code": 0, "data": {**row, "result": "ok"}})
    assert puback(bob, "t/1") == 0x87
    # The same (who, topic, action) replaces; pubsub adds both rows.
    await call(gw, "POST", "/acl", {**row, "access": "allow"})
    assert puback(bob, "t/1") == 0x10
    await call(gw, "POST", "/acl", {"clientid": "bob-dev", "topic": "c/#", "action": "pubsub", "access": "deny"})
    assert puback(bob, "c/1") == 0x87
    assert [rc.value for rc in bob.subscribe("c/#", 0)] == [0x87]
    _, body = await call(gw, "GET", "/acl/clientid")
    assert body == {
        "code": 0,
        "data": [
            {"clientid": "bob-dev", "topic": "c/#", "action": "sub", "access": "deny"},
            {"clientid": "bob-dev", "topic": "c/#", "action": "pub", "access": "deny"},
        ],
        "meta": {"page": 1, "limit": 50, "count": 2},
    }
    _, body = await call(gw, "GET", "/acl/clientid?action=pub")
    assert [r["action"] for r in body["data"]] == ["pub"] and body["meta"]["count"] == 1
    assert (await call(gw, "GET", "/acl/username/bob"))[1]["data"] == [
        {"username": "bob", "topic": "t/#", "action": "pub", "access": "allow"}
    ]
    assert await call(gw, "GET", "/acl/username/nobody") == (200, {"code": 0, "data": []})
    await call(gw, "POST", "/acl", {"topic": "everyone/#", "action": "sub", "access": "deny"})
    assert (await call(gw, "GET", "/acl/$all"))[1]["data"] == [
        {"all": "$all", "topic": "everyone/#", "action": "sub", "access": "deny"}
    ]
    assert await call(gw, "DELETE", "/acl/clientid/bob-dev/topic/c%2F%23") == (200, {"code": 0})
    assert puback(bob, "c/1") == 0x10
    assert (await call(gw, "GET", "/acl/clientid"))[1]["data"] == []
    assert await call(gw, "DELETE", "/acl/$all/topic/none") == (200, {"code": 0})
    bob.disconnect()


async def test_acl_errors_name_the_first_bad_field(gw):
    _, body = await call(gw, "POST", "/acl", {"username": "u", "topic": "t", "action": "publish", "access": "allow"})
    assert body == {
        "message": '{add,#{access => <<"allow">>,action => <<"publish">>,result => <<"{error,action}">>,'
        'topic => <<"t">>,username => <<"u">>}}'
    }
    _, body = await call(gw, "POST", "/acl", {"username": "u", "topic": "a/#/b", "action": "pub", "access": "allow"})
    assert "{error,topic}" in body["message"]
    batch = [
        {"clientid": "c", "topic": "x", "action": "pub", "access": "allow"},
        {"clientid": "c", "topic": "y", "action": "pub", "access": "maybe"},
    ]
    _, body = await call(gw, "POST", "/acl", batch)
    assert [r["result"] for r in body["data"]] == ["{error,access}", "ok"]  # reverse input order
    assert (await call(gw, "GET", "/acl/clientid"))[1]["meta"]["count"] == 1


async def test_apps_are_api_keys_in_both_dialects(gateway):
    gw = await gateway("v4", "v5", http=HttpConfig(v4_flavor="emqx4"))
    status, body = await call(gw, "POST", "/apps", {"app_id": "ops", "name": "Ops", "desc": "d", "status": True})
    secret = body["data"]["secret"]
    assert status == 200 and secret
    assert (await call(gw, "GET", "/apps"))[1]["data"] == [
        {"app_id": "ops", "name": "ops", "desc": "d", "status": True, "expired": "undefined"}
    ]
    # The app logs in to /api/v4 with app_id:secret, and to /api/v5 as the API key of that name.
    app = {"Authorization": aiohttp.encode_basic_auth("ops", secret)}
    assert (await call(gw, "GET", "/brokers", headers=app))[0] == 200
    key = gw.accounts.get_api_key("ops")
    r = await gw.http.get("/api/v5/nodes", headers={"Authorization": aiohttp.encode_basic_auth(key.api_key, secret)})
    assert r.status == 200
    assert await call(gw, "POST", "/apps", {"app_id": "ops"}) == (200, {"message": "already_existed"})
    assert await call(gw, "POST", "/apps", {"app_id": "bad id"}) == (
        200,
        {"message": "required: ^[A-Za-z0-9]+[A-Za-z0-9-_]*$"},
    )
    status, body = await call(gw, "POST", "/apps", {"app_id": "chosen", "secret": "my-secret"})
    assert body["data"]["secret"] == "my-secret"
    assert (
        await call(gw, "GET", "/brokers", headers={"Authorization": aiohttp.encode_basic_auth("chosen", "my-secret")})
    )[0] == 200
    # PUT writes all four fields: status left out is undefined, and the app can no longer log in.
    assert await call(gw, "PUT", "/apps/ops", {"desc": "new"}) == (200, {"code": 0})
    assert (await call(gw, "GET", "/apps/ops"))[1]["data"]["status"] is False
    assert (await call(gw, "GET", "/brokers", headers=app))[0] == 401
    assert await call(gw, "PUT", "/apps/ghost", {}) == (200, {"message": "not_found"})
    assert await call(gw, "GET", "/apps/ghost") == (200, {"code": 0, "data": {}})
    assert await call(gw, "DELETE", "/apps/ops") == (200, {"code": 0})
    assert await call(gw, "DELETE", "/apps/ops") == (200, {"code": 0})
    assert [k.name for k in gw.accounts.list_api_keys()] == ["chosen"]


async def test_modules_switch_the_acl_file_and_presence(gw):
    node = gw.ctx.control.node_name
    _, body = await call(gw, "GET", "/modules")
    modules = {m["name"]: m["active"] for m in body["data"][0]["modules"]}
    assert len(modules) == 8 and modules["emqx_mod_acl_internal"] and modules["emqx_mod_presence"]
    assert not modules["emqx_mod_delayed"]
    await gw.ctx.control.update_authz_source("file", AuthzSource(type="file", rules='{deny, all, publish, ["f/#"]}.'))
    await gw.ctx.control.add_mqtt_user("username", "m", "pw")
    c = Client(gw.broker, v5=True, username="m", password="pw")
    assert puback(c, "f/1") == 0x87
    assert await call(gw, "PUT", f"/nodes/{node}/modules/emqx_mod_acl_internal/unload") == (200, {"code": 0})
    assert puback(c, "f/1") == 0x10
    assert await call(gw, "PUT", "/modules/emqx_mod_acl_internal/unload") == (200, {"message": "not_started"})
    assert await call(gw, "PUT", f"/nodes/{node}/modules/emqx_mod_acl_internal/load") == (200, {"code": 0})
    assert puback(c, "f/1") == 0x87
    assert await call(gw, "PUT", "/modules/emqx_mod_presence/load") == (200, {"message": "already_started"})
    assert await call(gw, "PUT", "/modules/emqx_mod_presence/unload") == (200, {"code": 0})
    assert not any(f.enabled for f in await gw.ctx.control.features() if f.name == "presence_events")
    _, body = await call(gw, "PUT", "/modules/emqx_mod_delayed/load")
    assert "not supported" in body["message"]
    assert await call(gw, "PUT", "/modules/emqx_mod_nothing/load") == (200, {"message": "not_found"})
    assert (await call(gw, "GET", f"/nodes/{node}/modules"))[1]["data"][0]["name"] == "emqx_mod_acl_internal"
    c.disconnect()


async def test_acl_cache_calls(gw):
    await call(gw, "POST", "/acl", {"topic": "d/#", "action": "pub", "access": "deny"})
    await call(gw, "POST", "/auth_clientid", {"clientid": "cc", "password": "pw"})
    c = Client(gw.broker, "cc", v5=True, username="x", password="pw")
    puback(c, "d/1")
    _, body = await call(gw, "GET", "/clients/cc/acl_cache")
    assert [(e["access"], e["topic"], e["result"]) for e in body["data"]] == [("publish", "d/1", "deny")]
    assert await call(gw, "DELETE", "/clients/cc/acl_cache") == (200, {"code": 0})
    assert (await call(gw, "GET", "/clients/cc/acl_cache"))[1]["data"] == []
    puback(c, "d/1")
    assert await call(gw, "DELETE", "/acl-cache") == (200, {"code": 0})
    assert (await call(gw, "GET", "/clients/cc/acl_cache"))[1]["data"] == []
    assert (await call(gw, "GET", "/clients/gone/acl_cache"))[1]["code"] == 112
    c.disconnect()


async def test_nanomq_auth_sections(gateway):
    gw = await gateway("v4", allow_anonymous=False)
    body = {"data": {"auth": [{"username": "n1", "password": "p1"}, {"login": "n2", "password": "p2"}], "enable": True}}
    assert await call(gw, "POST", "/configuration/auth", body) == (200, {"code": 0})
    assert rc_of(gw, username="n1", password="p1") == 0
    _, got = await call(gw, "GET", "/configuration/auth")
    assert got == {"code": 0, "data": {"auth": [{"login": "n1", "password": None}, {"login": "n2", "password": None}]}}
    # Sent back unchanged, the list keeps every password; a login left out is gone.
    assert await call(gw, "POST", "/configuration/auth", {"data": {"auth": got["data"]["auth"][:1]}}) == (
        200,
        {"code": 0},
    )
    assert rc_of(gw, username="n1", password="p1") == 0
    assert rc_of(gw, username="n2", password="p2") == 0x87
    for bad in (
        [{"username": "new", "password": None}],
        [{"username": ""}],
        "x",
        [{"username": "a", "password": "p"}] * 2,
    ):
        assert await call(gw, "POST", "/configuration/auth", {"data": {"auth": bad}}) == (400, {"code": 108})
    assert [e["login"] for e in (await call(gw, "GET", "/configuration/auth"))[1]["data"]["auth"]] == ["n1"]
    assert await call(gw, "POST", "/configuration/auth", {"data": {"enable": False}}) == (200, {"code": 0})
    assert rc_of(gw, username="n1", password="wrong") == 0x87  # not checked: anonymous rules apply
    assert await call(gw, "GET", "/configuration/auth_http") == (
        200,
        {"code": 0, "data": {"auth_http": {"enable": False}}},
    )
    assert await call(gw, "POST", "/configuration/auth_http", {"data": {"auth_http": {"enable": True}}}) == (
        200,
        {"code": 111},
    )
    assert await call(gw, "POST", "/configuration/auth_http", {"data": {"enable": False}}) == (200, {"code": 0})


async def test_nanomq_auth_sections_in_the_whole_configuration(gateway):
    gw = await gateway("v4", allow_anonymous=False)
    body = {"data": {"auth": [{"username": "n1", "password": "p1"}]}}
    assert await call(gw, "POST", "/configuration/auth", body) == (200, {"code": 0})
    sections = (await call(gw, "GET", "/configuration?layout=sections"))[1]["data"]
    assert (sections["auth"], sections["auth_http"]) == ([{"login": "n1", "password": None}], {"enable": False})
    # Sent back whole, the sectioned document changes nothing, logins included.
    before = await gw.ctx.control.get_config()
    assert await call(gw, "POST", "/configuration", {"data": sections}) == (200, {"code": 0})
    assert await gw.ctx.control.get_config() == before
    assert rc_of(gw, username="n1", password="p1") == 0
    # A POST of several sections is checked whole: one refused, none is written.
    msq_len = sections["basic"]["msq_len"]
    longer = {**sections["basic"], "msq_len": msq_len + 1}
    for bad, answer in (
        ({"basic": longer, "auth": [{"username": "new"}]}, (400, {"code": 108})),
        ({"basic": {"msq_len": "many"}, "auth": [{"username": "n2", "password": "p2"}]}, (400, {"code": 108})),
        ({"basic": longer, "auth_http": {"enable": True}}, (200, {"code": 111})),
    ):
        assert await call(gw, "POST", "/configuration", {"data": bad}) == answer, bad
        assert (await call(gw, "GET", "/configuration/basic"))[1]["data"]["basic"]["msq_len"] == msq_len
        assert (await call(gw, "GET", "/configuration/auth"))[1]["data"]["auth"] == sections["auth"]
    good = {"basic": longer, "auth": [{"login": "n1", "password": None}, {"username": "n2", "password": "p2"}]}
    assert await call(gw, "POST", "/configuration", {"data": good}) == (200, {"code": 0})
    assert (await call(gw, "GET", "/configuration/basic"))[1]["data"]["basic"]["msq_len"] == msq_len + 1
    assert rc_of(gw, username="n1", password="p1") == 0
    assert rc_of(gw, username="n2", password="p2") == 0
