"""`/api/v4`, EMQX 4.4 flavor (`[http] v4_flavor = "emqx4"`): minirest envelope, paging, filters."""

import platform
import re
import time

import aiohttp
import pytest

from adapters.v4 import dashboard
from gateway.config import HttpConfig
from tests.mqtt_helpers import Client

AUTH = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}


@pytest.fixture
async def gw(gateway, monkeypatch):
    monkeypatch.setattr(dashboard, "AUTH_FAILURE_DELAY", 0)
    return await gateway("v4", http=HttpConfig(v4_flavor="emqx4"))


async def call(gw, method, path, body=None, headers=AUTH, **kw):
    r = await gw.http.request(method, "/api/v4" + path, json=body, headers=headers, **kw)
    if r.content_type == "application/json":
        return r.status, await r.json()
    return r.status, await r.text()


async def get(gw, path, **kw):
    return await call(gw, "GET", path, **kw)


async def test_envelope_auth_and_not_found(gw):
    status, body = await get(gw, "")
    assert status == 200 and body["code"] == 0
    names = {(e["method"], e["path"]) for e in body["data"]}
    assert ("GET", "/clients/:clientid") in names and ("POST", "/mqtt/subscribe") in names
    assert set(body["data"][0]) == {"name", "method", "path", "descr"}
    r = await gw.http.get("/api/v4/brokers")
    assert r.status == 401 and await r.text() == "UNAUTHORIZED"
    assert r.headers["WWW-Authenticate"] == 'Basic Realm="minirest-server"'
    r = await gw.http.get("/api/v4/brokers", headers={"Authorization": aiohttp.encode_basic_auth("admin", "x")})
    assert r.status == 401
    assert await get(gw, "/nope") == (404, "Not found.")
    assert await get(gw, "/nodes/other@host") == (404, "Not found.")
    r = await gw.http.post("/api/v4/mqtt/publish", data=b"{bad", headers=AUTH)
    assert r.status == 400 and await r.text() == "Bad Request"


async def test_nanomq_only_routes_served_in_their_own_shape(gw):
    c = Client(gw.broker, "tt")
    c.subscribe("x/y", 0)
    _, body = await get(gw, "/topic-tree")
    assert body["data"][1] == [{"topic": "x", "cld_cnt": 1}]
    _, body = await get(gw, "/configuration")
    assert body["code"] == 0 and "url" in body["data"]
    assert await get(gw, "/configuration/webhook") == (404, {"code": 101, "data": {}})
    assert (await get(gw, "/reload"))[1]["data"]["allow_anonymous"] is True
    r = await gw.http.get("/api/v4/prometheus", headers=AUTH)
    assert "nanomq_connections_count 1" in await r.text()
    # shared paths answer as EMQX 4, without NanoMQ's trailing-slash twins; NanoMQ's own paths keep theirs
    _, body = await get(gw, "/metrics")
    assert body["code"] == 0 and "metrics" in body["data"][0]
    assert await get(gw, "/brokers/") == (404, "Not found.")
    assert (await get(gw, "/configuration/"))[1]["code"] == 0
    c.disconnect()


async def test_brokers_nodes(gw):
    node = gw.ctx.node_name
    _, body = await get(gw, "/brokers")
    [b] = body["data"]
    assert b["node"] == node and b["node_status"] == "Running"
    assert b["otp_release"] == f"Python/{platform.python_version()}"  # what runs, not an Erlang release
    assert re.fullmatch(r"(\d+ hours, )?(\d+ minutes, )?\d+ seconds", b["uptime"])
    _, body = await get(gw, f"/brokers/{node}")
    assert body["data"]["node"] == node
    _, body = await get(gw, "/nodes")
    n = body["data"][0]
    assert {"memory_total", "memory_used", "load1", "connections", "live_connections", "max_fds"} <= set(n)
    assert (await get(gw, f"/nodes/{node}"))[1]["data"]["node"] == node
    assert n["otp_release"] == b["otp_release"]


async def test_clients_paging_filters_kick_keepalive(gw):
    cs = [Client(gw.broker, f"e4-{i}", username="u1" if i < 2 else "u2") for i in range(3)]
    _, body = await get(gw, "/clients?_page=1&_limit=2")
    assert body["meta"] == {"page": 1, "limit": 2, "count": 3, "hasnext": True}
    assert [c["clientid"] for c in body["data"]] == ["e4-2", "e4-1"]
    c = body["data"][0]
    assert c["connected"] is True and c["node"] == gw.ctx.node_name and "client_id" not in c
    assert c["zone"] == "external"  # EMQX 4's default zone: one set of MQTT settings for every client
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", c["connected_at"])
    _, body = await get(gw, "/clients?_page=2&_limit=2")
    assert [c["clientid"] for c in body["data"]] == ["e4-0"] and body["meta"]["hasnext"] is False
    _, body = await get(gw, "/clients?username=u1")
    assert body["meta"]["count"] == -1 and len(body["data"]) == 2
    _, body = await get(gw, "/clients?_like_clientid=e4-&proto_name=MQTT&_lte_mqueue_len=0")
    assert len(body["data"]) == 3 and body["meta"]["count"] == -1
    _, body = await get(gw, f"/clients?_gte_connected_at={int(time.time()) + 100}")
    assert body["data"] == []
    _, body = await get(gw, "/clients?proto_name=CoAP")
    assert body["data"] == []
    _, body = await get(gw, "/clients?proto_ver=x")
    assert body == {"code": 108, "message": "Can't convert x to integer type (proto_ver)"}
    _, body = await get(gw, "/clients?conn_state=zzz")
    assert body == {"code": 108, "message": "Can't convert zzz to atom type (conn_state)"}
    _, body = await get(gw, "/clients?_gte_created_at=soon")
    assert body == {"code": 108, "message": "Can't convert soon to integer type (_gte_created_at)"}
    _, body = await get(gw, "/subscriptions?qos=high")
    assert body == {"code": 108, "message": "Can't convert high to integer type (qos)"}
    _, body = await get(gw, "/clients?_page=0")
    assert body["code"] == 108
    _, body = await get(gw, "/clients?whatever=1")  # unknown params are ignored
    assert body["code"] == 0 and body["meta"]["count"] == 3
    _, body = await get(gw, f"/nodes/{gw.ctx.node_name}/clients")
    assert len(body["data"]) == 3
    _, body = await get(gw, "/clients/e4-1")
    assert [c["clientid"] for c in body["data"]] == ["e4-1"] and "meta" not in body
    assert (await get(gw, "/clients/ghost"))[1] == {"code": 0, "data": []}
    _, body = await get(gw, "/clients/username/u2")
    assert [c["clientid"] for c in body["data"]] == ["e4-2"]
    _, body = await get(gw, f"/nodes/{gw.ctx.node_name}/clients/username/u1")
    assert len(body["data"]) == 2
    assert (await call(gw, "PUT", "/clients/e4-0/keepalive", {"interval": 30}))[1] == {"code": 0}
    assert (await get(gw, "/clients/e4-0"))[1]["data"][0]["keepalive"] == 30
    assert (await call(gw, "PUT", "/clients/e4-0/keepalive", {}))[1]["code"] == 107
    assert (await call(gw, "PUT", "/clients/e4-0/keepalive", {"interval": "x"}))[1]["code"] == 108
    assert (await call(gw, "PUT", "/clients/ghost/keepalive", {"interval": 3}))[1]["code"] == 112
    assert (await call(gw, "DELETE", "/clients/e4-0"))[1] == {"code": 0}
    assert cs[0].disconnects.get(timeout=5) is not None
    assert await call(gw, "DELETE", "/clients/e4-0") == (200, {"code": 112, "message": "not_found"})
    for c in cs[1:]:
        c.disconnect()


async def test_subscriptions_routes_and_mqtt_calls(gw):
    c = Client(gw.broker, "e4-sub")
    status, body = await call(gw, "POST", "/mqtt/subscribe", {"clientid": "e4-sub", "topics": "a/1,a/2", "qos": 1})
    assert body == {"code": 0}
    c.subscribe("$share/g/s/#", 2)
    _, body = await get(gw, "/subscriptions")
    assert (
        body["meta"]["count"] == 3
        and {"node": gw.ctx.node_name, "clientid": "e4-sub", "topic": "a/1", "qos": 1} in body["data"]
    )
    _, body = await get(gw, "/subscriptions?qos=2")
    assert [s["topic"] for s in body["data"]] == ["$share/g/s/#"] and body["meta"]["count"] == -1
    _, body = await get(gw, "/subscriptions?share=g")
    assert len(body["data"]) == 1
    _, body = await get(gw, "/subscriptions?_match_topic=a/2")
    assert [s["topic"] for s in body["data"]] == ["a/2"]
    _, body = await get(gw, "/subscriptions?topic=a/1")
    assert "meta" not in body and len(body["data"]) == 1
    _, body = await get(gw, "/subscriptions/e4-sub")
    assert len(body["data"]) == 3
    _, body = await get(gw, f"/nodes/{gw.ctx.node_name}/subscriptions/e4-sub")
    assert len(body["data"]) == 3
    _, body = await get(gw, "/routes?_limit=1")
    assert body["meta"] == {"page": 1, "limit": 1, "count": 3} and len(body["data"]) == 1
    _, body = await get(gw, "/routes/a%2F1")
    assert body["data"] == [{"topic": "a/1", "node": gw.ctx.node_name}]
    assert (await get(gw, "/routes/zz"))[1]["data"] == []

    assert (await call(gw, "POST", "/mqtt/publish", {"topic": "a/1", "payload": "hi", "qos": 1}))[1] == {"code": 0}
    assert c.expect().payload == b"hi"
    await call(gw, "POST", "/mqtt/publish", {"topic": "a/2", "payload": "aGk=", "encoding": "base64"})
    assert c.expect().payload == b"hi"
    _, body = await call(gw, "POST", "/mqtt/publish", {"topics": "a/1,a/2", "payload": {"k": 1}, "return": True})
    assert len(body["data"]["msgids"]) == 2
    assert {c.expect().payload for _ in range(2)} == {b'{"k":1}'}
    _, body = await call(gw, "POST", "/mqtt/publish", {"topic": "a/#", "payload": "x"})
    assert body == {"code": 115, "message": "bad_topic"}
    assert (await call(gw, "POST", "/mqtt/publish", {"payload": "x"}))[1]["code"] == 115
    assert (await call(gw, "POST", "/mqtt/publish", {"topic": "a/1", "payload": "x", "qos": 5}))[1]["code"] == 116
    assert (await call(gw, "POST", "/mqtt/publish", {"topic": "a/1"}))[1]["code"] == 108
    _, body = await call(
        gw, "POST", "/mqtt/publish_batch", [{"topic": "a/1", "payload": "1"}, {"topic": "+", "payload": "2"}]
    )
    assert body == {"code": 0, "data": [{"topic": "a/1", "code": 0}, {"topic": "+", "code": 115}]}
    assert c.expect().payload == b"1"

    assert (await call(gw, "POST", "/mqtt/subscribe", {"clientid": "ghost", "topic": "x"}))[1] == {
        "code": 112,
        "message": "channel_not_found",
    }
    assert (await call(gw, "POST", "/mqtt/subscribe", {"clientid": "e4-sub", "topic": "x", "qos": 3}))[1]["code"] == 116
    assert (await call(gw, "POST", "/mqtt/subscribe", {"clientid": "e4-sub", "topic": "a/#/b"}))[1]["code"] == 115
    assert (await call(gw, "POST", "/mqtt/subscribe", {"topic": "x"}))[1]["code"] == 107
    assert (await call(gw, "POST", "/mqtt/unsubscribe", {"clientid": "e4-sub", "topic": "a/2"}))[1] == {"code": 0}
    _, body = await call(
        gw,
        "POST",
        "/mqtt/subscribe_batch",
        [{"clientid": "e4-sub", "topic": "b/1"}, {"clientid": "ghost", "topic": "b/1"}],
    )
    assert body["data"] == [
        {"clientid": "e4-sub", "topic": "b/1", "code": 0},
        {"clientid": "ghost", "topic": "b/1", "code": 112},
    ]
    _, body = await call(gw, "POST", "/mqtt/unsubscribe_batch", [{"clientid": "e4-sub", "topic": "b/1"}])
    assert body["data"] == [{"clientid": "e4-sub", "topic": "b/1", "code": 0}]
    assert (await call(gw, "POST", "/mqtt/subscribe_batch", {"no": "array"}))[1]["code"] == 108
    _, body = await get(gw, "/subscriptions/e4-sub")
    assert sorted(s["topic"] for s in body["data"]) == ["$share/g/s/#", "a/1"]
    c.disconnect()


async def test_stats_metrics_listeners(gw):
    c = Client(gw.broker)
    node = gw.ctx.node_name
    _, body = await get(gw, "/stats")
    stats = body["data"][0]["stats"]
    assert body["data"][0]["node"] == node and stats["connections.count"] == 1 and "routes.count" in stats
    assert not any(k.startswith("delayed.") for k in stats)
    assert (await get(gw, f"/nodes/{node}/stats"))[1]["data"]["live_connections.count"] == 1
    _, body = await get(gw, "/metrics")
    metrics = body["data"][0]["metrics"]
    assert metrics["packets.connect.received"] >= 1 and "client.check_acl" in metrics
    assert "client.authorize" not in metrics
    assert (await get(gw, f"/nodes/{node}/metrics"))[1]["data"]["bytes.received"] > 0
    _, body = await get(gw, "/listeners")
    rows = body["data"][0]["listeners"]
    tcp = next(r for r in rows if r["protocol"] == "mqtt:tcp")
    assert tcp["identifier"] == "mqtt:tcp:default" and tcp["current_conns"] == 1
    assert tcp["listen_on"].endswith(f":{gw.broker.port()}")
    assert (await get(gw, f"/nodes/{node}/listeners"))[1]["data"][0]["protocol"].startswith("mqtt:")
    assert (await call(gw, "PUT", "/listeners/mqtt:ws:default/restart"))[1] == {"code": 0}
    assert (await call(gw, "PUT", f"/nodes/{node}/listeners/mqtt:ws:default/restart"))[1] == {"code": 0}
    assert (await call(gw, "PUT", "/listeners/mqtt:tcp:nope/restart"))[1]["code"] == 101
    c.disconnect()


async def test_plugins(gw):
    node = gw.ctx.node_name
    _, body = await get(gw, "/plugins")
    plugins = {p["name"]: p for p in body["data"][0]["plugins"]}
    assert plugins["retainer"]["active"] is True and plugins["retainer"]["type"] == "feature"
    assert (await get(gw, f"/nodes/{node}/plugins"))[1]["data"][0]["name"]
    assert (await call(gw, "PUT", f"/nodes/{node}/plugins/retainer/load"))[1] == {"message": "already_started"}
    assert (await call(gw, "PUT", "/plugins/retainer/unload"))[1] == {"code": 0}
    assert (await gw.ctx.control.get_config()).retainer is False
    assert (await call(gw, "PUT", "/plugins/retainer/unload"))[1] == {"message": "not_started"}
    assert (await call(gw, "PUT", f"/nodes/{node}/plugins/retainer/load"))[1] == {"code": 0}
    assert (await call(gw, "PUT", "/plugins/retainer/reload"))[1] == {"code": 0}
    assert (await call(gw, "PUT", "/plugins/nope/reload"))[1] == {"message": "not_found"}
    assert (await call(gw, "PUT", "/plugins/retainer/load"))[0] == 404  # no cluster-wide load in 4.4


async def test_banned(gw):
    victim = Client(gw.broker, "bad-boy")
    _, body = await call(gw, "POST", "/banned", {"who": "bad-boy", "as": "clientid", "reason": "spam"})
    assert body["code"] == 0 and body["data"]["until"] - body["data"]["at"] == 300
    assert victim.disconnects.get(timeout=5) is not None
    _, body = await get(gw, "/banned")
    assert body["data"][0]["who"] == "bad-boy" and body["meta"] == {"page": 1, "limit": 10000, "count": 1}
    assert (await call(gw, "POST", "/banned", {"who": "x"}))[1]["code"] == 107
    assert (await call(gw, "POST", "/banned", {"who": "x", "as": "zone"}))[1]["code"] == 108
    assert (await call(gw, "DELETE", "/banned/clientid/bad-boy"))[1] == {"code": 0}
    assert (await get(gw, "/banned"))[1]["data"] == []


async def test_dashboard_auth_users_change_pwd(gw):
    assert (await call(gw, "POST", "/auth", {"username": "admin", "password": "public"}, headers={}))[1] == {"code": 0}
    assert (await call(gw, "POST", "/auth", {"username": "admin", "password": "x"}, headers={}))[1] == {
        "message": "Username/Password error"
    }
    assert (await call(gw, "POST", "/auth", {"password": "x"}, headers={}))[1] == {"message": "Username undefined"}
    assert (await call(gw, "POST", "/users", {"username": "bob", "password": "public", "tags": "viewer"}))[1] == {
        "code": 0
    }
    assert (await call(gw, "POST", "/users", {"username": "bob", "password": "public"}))[1] == {
        "message": "Username already exists"
    }
    assert (await call(gw, "POST", "/users", {"username": "bob"}))[1] == {"message": "Username or password undefined"}
    status, body = await call(gw, "POST", "/users", {"username": "", "password": "x"})  # the store refuses it
    assert status == 200 and set(body) == {"message"}
    _, body = await get(gw, "/users")
    assert {"username": "bob", "tags": "viewer"} in body["data"]
    assert (await call(gw, "PUT", "/users/bob", {"tags": "ops"}))[1] == {"code": 0}
    assert {"username": "bob", "tags": "ops"} in (await get(gw, "/users"))[1]["data"]
    assert (await call(gw, "PUT", "/users/nobody", {"tags": "x"}))[1] == {"message": "Username Not Found"}
    assert (await call(gw, "PUT", "/change_pwd/bob", {"old_pwd": "wrong", "new_pwd": "x1"}))[1] == {
        "message": "Password Error"
    }
    assert (await call(gw, "PUT", "/change_pwd/bob", {"old_pwd": "public", "new_pwd": "newpass"}))[1] == {"code": 0}
    bob = {"Authorization": aiohttp.encode_basic_auth("bob", "newpass")}
    assert (await get(gw, "/brokers", headers=bob))[0] == 200
    assert (await call(gw, "DELETE", "/users/admin"))[1] == {"message": "Cannot delete admin"}
    assert (await call(gw, "DELETE", "/users/bob"))[1] == {"code": 0}
    assert (await call(gw, "DELETE", "/users/bob"))[1] == {"message": "Username Not Found"}
    assert (await get(gw, "/brokers", headers=bob))[0] == 401


async def test_stopped_broker_and_nanomq_ctrl(gw):
    assert (await call(gw, "POST", "/ctrl/stop"))[1] == {"code": 0}
    _, body = await get(gw, "/brokers")
    assert body["data"][0]["node_status"] == "Stopped"
    _, body = await call(gw, "POST", "/mqtt/publish", {"topic": "a", "payload": "x"})
    assert body["code"] == 102
    assert (await call(gw, "POST", "/ctrl/restart"))[1] == {"code": 0}
    assert (await get(gw, "/brokers"))[1]["data"][0]["node_status"] == "Running"
