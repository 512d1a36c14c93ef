"""`/api/v5` listeners, banned and retainer against the real broker and paho clients."""

import base64
import re
import socket

import orjson
import pytest

from tests.mqtt_helpers import wait_for

RFC3339_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


async def test_listeners_and_actions(v5):
    v5.client("l1")
    rows = {r["id"]: r for r in await v5.json("get", "/listeners")}
    assert set(rows) == {"tcp:default", "ws:default"}
    tcp = rows["tcp:default"]
    assert (tcp["type"], tcp["name"], tcp["enable"], tcp["number"]) == ("tcp", "default", True, 1)
    assert tcp["bind"] == f"127.0.0.1:{v5.broker.port()}"
    assert tcp["status"] == {"running": True, "max_connections": 1_024_000, "current_connections": 1}
    assert tcp["node_status"] == [{"node": v5.node, "status": tcp["status"]}]
    assert [r["id"] for r in await v5.json("get", "/listeners?type=ws")] == ["ws:default"]
    assert (await v5.json("get", "/listeners?type=nope", status=400))["code"] == "BAD_REQUEST"
    status = {s["type"]: s for s in await v5.json("get", "/listeners_status")}
    assert status["tcp"]["ids"] == ["tcp:default"] and status["tcp"]["status"]["running"] is True
    one = await v5.json("get", "/listeners/tcp:default")
    assert one["running"] is True and one["current_connections"] == 1 and one["bind"] == tcp["bind"]
    assert (await v5.json("get", "/listeners/ws:default"))["websocket"] == {"mqtt_path": "/mqtt"}
    assert await v5.json("get", "/listeners/tcp:nope", status=404) == {
        "code": "BAD_LISTENER_ID",
        "message": "Listener id not found",
    }
    port = v5.broker.port()
    await v5.json("post", "/listeners/tcp:default/stop")
    assert (await v5.json("get", "/listeners/tcp:default"))["running"] is False
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    await v5.json("post", "/listeners/tcp:default/start")
    v5.client("back").disconnect()
    await v5.json("post", "/listeners/tcp:default/restart")
    assert (await v5.json("get", "/listeners/tcp:default"))["running"] is True
    await v5.json("post", "/listeners/tcp:nope/stop", status=404)
    assert (await v5.json("post", "/listeners/tcp:default/explode", status=400))["code"] == "BAD_REQUEST"


async def test_banned(v5):
    victim = v5.client("evil")
    ban = await v5.json("post", "/banned", {"as": "clientid", "who": "evil"})
    assert ban["as"] == "clientid" and ban["who"] == "evil" and ban["by"] == "mgmt_api" and ban["reason"] == ""
    assert RFC3339_S.match(ban["at"]) and ban["until"] == "infinity"
    victim.disconnects.get(timeout=5)  # a ban kicks the connected client
    refused = v5.client("evil", connect=False)
    _flags, rc, _props = refused.connect(expect_ok=False)
    assert rc.is_failure
    refused.c.loop_stop()
    body = await v5.json("post", "/banned", {"as": "clientid", "who": "evil"}, status=400)
    assert body["code"] == "ALREADY_EXISTS" and orjson.loads(body["message"])["who"] == "evil"
    await v5.json(
        "post", "/banned", {"as": "username", "who": "mallory", "reason": "spam", "until": "2099-01-01T00:00:00Z"}
    )
    await v5.json("post", "/banned", {"as": "peerhost_net", "who": "10.0.0.0/8", "at": 1700000000})
    body = await v5.json("post", "/banned", {"as": "clientid", "who": "late", "until": 1000}, status=400)
    assert body["code"] == "BAD_REQUEST" and body["message"].startswith("Cannot create expired banned, ")
    for bad in (
        {"as": "peerhost", "who": "not-an-ip"},
        {"as": "thing", "who": "x"},
        {"as": "clientid"},
        {"as": "clientid", "who": "x", "colour": 1},
        {"as": "clientid_re", "who": "(("},
    ):
        assert (await v5.json("post", "/banned", bad, status=400))["code"] == "BAD_REQUEST", bad
    doc = await v5.json("get", "/banned")
    assert doc["meta"] == {"page": 1, "limit": 100, "count": 3}  # no `hasnext` when unfiltered
    assert {b["who"] for b in doc["data"]} == {"evil", "mallory", "10.0.0.0/8"}
    mallory = next(b for b in doc["data"] if b["who"] == "mallory")
    assert RFC3339_S.match(mallory["until"]) and mallory["reason"] == "spam"
    doc = await v5.json("get", "/banned?clientid=evil")
    assert len(doc["data"]) == 1 and doc["meta"] == {"page": 1, "limit": 100, "count": 1, "hasnext": False}
    doc = await v5.json("get", "/banned?like_username=^mal")
    assert [b["who"] for b in doc["data"]] == ["mallory"] and doc["meta"] == {"page": 1, "limit": 100, "hasnext": False}
    assert await v5.json("get", "/banned?clientid=a&username=b", status=400) == {
        "code": "BAD_REQUEST",
        "message": "too_many_filters",
    }
    body = await v5.json("get", "/banned?like_clientid=((", status=400)
    assert orjson.loads(body["message"])["message"] == "The filter is not a validation regex expression"
    await v5.json("delete", "/banned/peerhost_net/10.0.0.0%2F8", status=204)
    await v5.json("delete", "/banned/clientid/evil", status=204)
    assert await v5.json("delete", "/banned/clientid/evil", status=404) == {
        "code": "NOT_FOUND",
        "message": "clientid: evil not found",
    }
    v5.client("evil").disconnect()  # lifted
    await v5.json("delete", "/banned", status=204)
    assert (await v5.json("get", "/banned"))["meta"]["count"] == 0


async def test_retainer(v5):
    p = v5.client("pubber", username="pat")
    p.publish("r/1", b"one", qos=1, retain=True)
    p.publish("r/2", b"two", qos=1, retain=True)
    wait_for(lambda: v5.broker.call(lambda: len(v5.broker.broker.retained)) == 2)
    doc = await v5.json("get", "/mqtt/retainer/messages")
    assert doc["meta"] == {"page": 1, "limit": 100, "count": 2, "hasnext": False}
    first = doc["data"][0]
    assert set(first) == {"msgid", "topic", "qos", "publish_at", "from_clientid", "from_username"}
    assert re.fullmatch(r"[0-9A-F]{32}", first["msgid"]) and RFC3339_MS.match(first["publish_at"])
    assert (first["from_clientid"], first["from_username"], first["qos"]) == ("pubber", "pat", 1)
    # EMQX's quirk: a full page says hasnext even when nothing follows.
    assert (await v5.json("get", "/mqtt/retainer/messages?limit=2"))["meta"]["hasnext"] is True
    doc = await v5.json("get", "/mqtt/retainer/messages?topic=r/%2B")
    assert len(doc["data"]) == 2 and "count" not in doc["meta"]
    detail = await v5.json("get", "/mqtt/retainer/message/r%2F1")
    assert base64.b64decode(detail["payload"]) == b"one" and detail["topic"] == "r/1"
    await v5.json("post", "/publish", {"topic": "r/api", "payload": "x", "retain": True}, status=202)
    api = await v5.json("get", "/mqtt/retainer/message/r%2Fapi")
    assert (api["from_clientid"], api["from_username"]) == ("http_api", "")
    await v5.json("delete", "/mqtt/retainer/message/r%2F1", status=204)
    assert await v5.json("get", "/mqtt/retainer/message/r%2F1", status=404) == {
        "code": "NOT_FOUND",
        "message": "Viewed message doesn't exist",
    }
    await v5.json("delete", "/mqtt/retainer/message/r%2F1", status=404)
    assert (await v5.json("get", "/mqtt/retainer/messages?page=0", status=400))["code"] == "BAD_REQUEST"
    await v5.json("delete", "/mqtt/retainer/messages", status=204)
    assert (await v5.json("get", "/mqtt/retainer/messages"))["meta"]["count"] == 0
