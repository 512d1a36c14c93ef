"""`/api/v5/clients*` against real paho clients on the real broker."""

import re

from tests.mqtt_helpers import wait_for

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


async def test_connected_client_fields(v5):
    v5.client("dev-1", v5=True, username="alice", keepalive=30)
    v5.client("dev-0")
    doc = await v5.json("get", "/clients/dev-1")
    assert doc["clientid"] == "dev-1" and doc["username"] == "alice" and doc["node"] == v5.node
    assert doc["ip_address"] == "127.0.0.1" and doc["port"] == doc["peerport"] and isinstance(doc["port"], int)
    assert doc["listener"] == "tcp:default" and doc["connected"] is True and "disconnected_at" not in doc
    assert RFC3339_MS.match(doc["connected_at"]) and RFC3339_MS.match(doc["created_at"])
    assert (doc["keepalive"], doc["clean_start"], doc["expiry_interval"]) == (30, True, 0)
    assert (doc["proto_name"], doc["proto_ver"], doc["is_bridge"]) == ("MQTT", 5, False)
    assert doc["mountpoint"] is None and doc["subscriptions_max"] == 1000
    fixed = (doc["is_persistent"], doc["durable"], doc["is_expired"], doc["client_attrs"])
    assert fixed == (False, False, False, {})
    assert doc["recv_pkt"] >= 1 and doc["recv_oct"] > 0 and doc["send_pkt"] >= 1
    for key in (
        "inflight_cnt",
        "inflight_max",
        "mqueue_len",
        "mqueue_max",
        "mqueue_dropped",
        "awaiting_rel_cnt",
        "awaiting_rel_max",
        "recv_msg.qos1",
        "send_msg.dropped.too_large",
    ):
        assert isinstance(doc[key], int), key
    assert (await v5.json("get", "/clients/dev-0"))["username"] is None
    assert (await v5.json("get", "/clients/dev-0"))["proto_ver"] == 4
    body = await v5.json("get", "/clients/nobody", status=404)
    assert body == {"code": "CLIENTID_NOT_FOUND", "message": "Client ID not found"}


async def test_paging_meta_and_bad_paging(v5):
    v5.clients_of("a", "b", "c")
    doc = await v5.json("get", "/clients?limit=2")
    assert [d["clientid"] for d in doc["data"]] == ["c", "b"]  # descending client id, as EMQX
    assert doc["meta"] == {"page": 1, "limit": 2, "count": 3, "hasnext": True}
    doc = await v5.json("get", "/clients?limit=2&page=2&unknown_param=1")
    assert [d["clientid"] for d in doc["data"]] == ["a"] and doc["meta"]["hasnext"] is False
    doc = await v5.json("get", "/clients?limit=5&page=10")
    assert doc == {"data": [], "meta": {"page": 10, "limit": 5, "count": 3, "hasnext": False}}
    doc = await v5.json("get", "/clients")
    assert doc["meta"] == {"page": 1, "limit": 100, "count": 3, "hasnext": False}
    for query in ("page=0", "limit=0", "limit=10001", "page=x", "limit=1.5"):
        body = await v5.json("get", f"/clients?{query}", status=400)
        assert body["code"] == "BAD_REQUEST" and '"kind":"validation_error"' in body["message"], query
    assert (await v5.json("get", "/clients?limit=10000"))["meta"]["limit"] == 10000


async def test_filters_and_count_rules(v5):
    v5.clients_of("sensor-1", "sensor-2", "pump-1", username="u1")
    v5.client("x", v5=True, username="u2")
    doc = await v5.json("get", "/clients?like_clientid=sensor")
    assert [d["clientid"] for d in doc["data"]] == ["sensor-2", "sensor-1"]
    assert doc["meta"] == {"page": 1, "limit": 100, "hasnext": False}  # substring filter: no count
    doc = await v5.json("get", "/clients?clientid=pump-1&clientid=x")
    assert [d["clientid"] for d in doc["data"]] == ["x", "pump-1"] and doc["meta"]["count"] == 2
    doc = await v5.json("get", "/clients?username=u2")
    assert [d["clientid"] for d in doc["data"]] == ["x"] and doc["meta"]["count"] == 1
    assert (await v5.json("get", "/clients?like_username=u"))["meta"].get("count") is None
    assert [d["clientid"] for d in (await v5.json("get", "/clients?proto_ver=5"))["data"]] == ["x"]
    assert len((await v5.json("get", f"/clients?conn_state=connected&node={v5.node}"))["data"]) == 4
    assert (await v5.json("get", "/clients?conn_state=disconnected"))["data"] == []
    assert len((await v5.json("get", "/clients?clean_start=true&ip_address=127.0.0.1"))["data"]) == 4
    assert len((await v5.json("get", "/clients?gte_connected_at=2000-01-01T00:00:00Z"))["data"]) == 4
    assert (await v5.json("get", "/clients?lte_connected_at=946684800000"))["data"] == []
    body = await v5.json("get", "/clients?ip_address=127.0.0.1:8080", status=400)
    assert body == {
        "code": "INVALID_PARAMETER",
        "message": "the ip_address parameter expected type is ip, but the value is 127.0.0.1:8080",
    }
    body = await v5.json("get", "/clients?proto_ver=five", status=400)
    assert body == {
        "code": "INVALID_PARAMETER",
        "message": "the proto_ver parameter expected type is integer, but the value is five",
    }
    for query in ("conn_state=sleeping", "clean_start=yes", "gte_created_at=yesterday", "fields=clientid,bogus"):
        assert (await v5.json("get", f"/clients?{query}", status=400))["code"] == "BAD_REQUEST", query
    body = await v5.json("get", "/clients?node=other@host", status=404)
    assert body == {"code": "NOT_FOUND", "message": "Node not found: other@host"}
    doc = await v5.json("get", "/clients?fields=clientid,username,heap_size")
    assert doc["data"][0] == {"clientid": "x", "username": "u2"}


async def test_clients_v2_cursor(v5):
    v5.clients_of("a", "b", "c")
    first = await v5.json("get", "/clients_v2?limit=2&fields=clientid")
    assert [d["clientid"] for d in first["data"]] == ["c", "b"] and first["meta"]["count"] == 2
    assert "hasnext" not in first["meta"] and "connected" in first["data"][0]  # fields ignored, as 5.8.9
    last = await v5.json("get", f"/clients_v2?limit=2&cursor={first['meta']['cursor']}")
    assert [d["clientid"] for d in last["data"]] == ["a"] and last["meta"] == {"count": 1}
    assert await v5.json("get", "/clients_v2?cursor=!!!", status=400) == {
        "code": "BAD_REQUEST",
        "message": "bad cursor",
    }
    assert (await v5.json("get", "/clients_v2?limit=0", status=400))["code"] == "BAD_REQUEST"
    # A bad filter is the filter's INVALID_PARAMETER, not the cursor's BAD_REQUEST (told apart by the field).
    body = await v5.json("get", "/clients_v2?ip_address=nowhere", status=400)
    assert body == {
        "code": "INVALID_PARAMETER",
        "message": "the ip_address parameter expected type is ip, but the value is nowhere",
    }


async def test_kick_and_bulk_kick(v5):
    a, b, c = v5.clients_of("a", "b", "c")
    await v5.json("delete", "/clients/a", status=204)
    a.disconnects.get(timeout=5)
    await v5.json("delete", "/clients/a", status=404)
    await v5.json("post", "/clients/kickout/bulk", ["b", "c", "ghost"], status=204)
    b.disconnects.get(timeout=5)
    c.disconnects.get(timeout=5)
    wait_for(lambda: v5.broker.call(lambda: len(v5.broker.broker.sessions)) == 0)
    assert (await v5.json("get", "/clients"))["meta"]["count"] == 0
    assert (await v5.json("post", "/clients/kickout/bulk", {"a": 1}, status=400))["code"] == "BAD_REQUEST"


async def test_disconnected_session_is_listed(v5):
    c = v5.client("keeper", clean=False)
    c.disconnect()
    wait_for(lambda: v5.broker.call(lambda: len(v5.broker.broker.channels)) == 0)
    doc = await v5.json("get", "/clients/keeper")
    assert doc["connected"] is False and RFC3339_MS.match(doc["disconnected_at"])
    assert doc["expiry_interval"] > 0 and doc["clean_start"] is False
    doc = await v5.json("get", "/clients?conn_state=disconnected")
    assert [d["clientid"] for d in doc["data"]] == ["keeper"]


async def test_subscribe_on_behalf_and_unsubscribe(v5):
    c = v5.client("sub", v5=True)
    got = await v5.json("post", "/clients/sub/subscribe", {"topic": "t/+", "qos": 1})
    assert got == {"topic": "t/+", "qos": 1, "nl": 0, "rap": 0, "rh": 0, "node": v5.node, "clientid": "sub"}
    assert (await v5.json("post", "/publish", {"topic": "t/1", "payload": "hi", "qos": 1}))["id"]
    msg = c.expect()
    assert (msg.topic, msg.payload, msg.qos) == ("t/1", b"hi", 1)
    subs = await v5.json("get", "/clients/sub/subscriptions")
    assert subs == [
        {"clientid": "sub", "topic": "t/+", "node": v5.node, "qos": 1, "nl": 0, "rap": 0, "rh": 0, "durable": False}
    ]
    body = await v5.json("post", "/clients/sub/subscribe", {"topic": "$share/g/t", "nl": 1}, status=400)
    assert body["code"] == "INVALID_PARAMETER" and "no_local" in body["message"]
    assert (await v5.json("post", "/clients/sub/subscribe", {"topic": "a/#/b"}, status=400))[
        "code"
    ] == "INVALID_PARAMETER"
    for bad in (
        {"topic": "x", "colour": "red"},
        {"topic": "x", "qos": 3},
        {"qos": 1},
        {"topic": 5},
        {"topic": "x", "nl": True},
    ):
        assert (await v5.json("post", "/clients/sub/subscribe", bad, status=400))["code"] == "BAD_REQUEST", bad
    assert (await v5.json("post", "/clients/ghost/subscribe", {"topic": "x"}, status=404))[
        "code"
    ] == "CLIENTID_NOT_FOUND"
    assert len(await v5.json("get", "/clients/sub/subscriptions")) == 1  # the refused ones changed nothing
    bulk = await v5.json("post", "/clients/sub/subscribe/bulk", [{"topic": "a"}, {"topic": "b", "qos": 2}])
    assert [(s["topic"], s["qos"]) for s in bulk] == [("a", 0), ("b", 2)]
    partial = await v5.json("post", "/clients/sub/subscribe/bulk", [{"topic": "c"}, {"topic": "d/#/x"}])
    assert [s["topic"] for s in partial["succeed"]] == ["c"]
    assert partial["failed"][0]["data"] == ["sub", "d/#/x", {"qos": 0, "nl": 0, "rap": 0, "rh": 0}]
    await v5.json("post", "/clients/sub/unsubscribe", {"topic": "t/+"}, status=204)
    await v5.json("post", "/clients/sub/unsubscribe", {"topic": "never"}, status=204)
    await v5.json("post", "/clients/sub/unsubscribe/bulk", [{"topic": "a"}, {"topic": "b"}], status=204)
    assert [s["topic"] for s in await v5.json("get", "/clients/sub/subscriptions")] == ["c"]
    await v5.json("post", "/publish", {"topic": "t/1", "payload": "gone"}, status=202)
    c.expect_none(0.2)
    await v5.json("post", "/clients/ghost/unsubscribe", {"topic": "x"}, status=404)
    assert (await v5.json("get", "/clients/ghost/subscriptions", status=404))["code"] == "CLIENTID_NOT_FOUND"


async def test_keepalive(v5):
    v5.client("ka", keepalive=60)
    assert (await v5.json("put", "/clients/ka/keepalive", {"interval": 120}))["keepalive"] == 120
    assert (await v5.json("get", "/clients/ka"))["keepalive"] == 120
    for bad in ({"interval": 70000}, {}, {"interval": "10"}):
        assert (await v5.json("put", "/clients/ka/keepalive", bad, status=400))["code"] == "BAD_REQUEST"
    assert (await v5.json("get", "/clients/ka"))["keepalive"] == 120
    await v5.json("put", "/clients/ghost/keepalive", {"interval": 1}, status=404)


async def test_listing_follows_activity_and_pretty_prints_remembered_rows(v5):
    sub = v5.client("busy")
    sub.subscribe("act/#", 1)
    first = await v5.json("get", "/clients?limit=10")
    again = await v5.json("get", "/clients?limit=10")  # served from remembered rows
    assert again == first
    v5.client("other").publish("act/1", b"x", qos=1)
    sub.expect()
    row = (await v5.json("get", "/clients?limit=10&clientid=busy"))["data"][0]
    assert row["send_msg"] == 1 and row["send_oct"] > first["data"][-1]["send_oct"]
    r = await v5.get("/clients?limit=10&pretty=true")
    text = await r.text()
    assert r.status == 200 and '\n      "clientid": "busy",' in text  # indented inside the rows too
