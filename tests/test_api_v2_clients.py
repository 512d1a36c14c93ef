"""Clients, sessions, subscriptions, routes, kick and mqtt/* against the real broker with paho clients."""

from __future__ import annotations

import re

from adapters.common.fields import V2_CLIENT_ROW, V2_SESSION_ROW
from schemas.records import AuthzRule, AuthzRuleSet
from tests.mqtt_helpers import Client, wait_for
from tests.v2_helpers import NODE, settle

DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
PAGE_KEYS = {"current_page", "page_size", "total_num", "total_page", "objects"}


async def test_clients_paged_rows_and_lookups(v2):
    a = Client(v2.broker, "cl-a", username="alice", keepalive=30)
    b = Client(v2.broker, "cl-b")
    c = Client(v2.broker, "cl/c")
    try:
        page = await v2.result("GET", f"/nodes/{NODE}/clients?curr_page=1&page_size=2&timestamps=1")
        assert set(page) == PAGE_KEYS
        assert (page["current_page"], page["page_size"], page["total_num"], page["total_page"]) == (1, 2, 3, 2)
        assert len(page["objects"]) == 2
        page2 = await v2.result("GET", f"/nodes/{NODE}/clients?curr_page=2&page_size=2")
        assert len(page2["objects"]) == 1
        default = await v2.result("GET", f"/nodes/{NODE}/clients")
        assert default["page_size"] == 20 and default["current_page"] == 1 and default["total_num"] == 3
        rows = {r["client_id"]: r for r in default["objects"]}
        row = rows["cl-a"]
        assert tuple(row) == V2_CLIENT_ROW
        assert row["username"] == "alice" and rows["cl-b"]["username"] == "undefined"
        assert row["ipaddress"] == "127.0.0.1" and isinstance(row["port"], int) and row["port"] > 0
        assert row["clean_sess"] is True and row["proto_ver"] == 4 and row["keepalive"] == 30
        assert DATETIME.match(row["connected_at"])
        # Key lookups: only `objects`; `%2F` in a client id works.
        assert await v2.result("GET", f"/nodes/{NODE}/clients/cl-a") == {"objects": [row]}
        assert await v2.result("GET", "/clients/cl-a") == {"objects": [row]}
        assert (await v2.result("GET", "/clients/cl%2Fc"))["objects"][0]["client_id"] == "cl/c"
        assert await v2.result("GET", "/clients/nobody") == {"objects": []}
        assert await v2.result("GET", f"/nodes/{NODE}/clients/nobody") == {"objects": []}
    finally:
        for cl in (a, b, c):
            cl.disconnect()


async def test_kick_connected_and_112_for_offline(v2):
    c = Client(v2.broker, "kick-me")
    assert await v2.result("DELETE", "/clients/kick-me") == []
    wait_for(lambda: not c.disconnects.empty())
    assert await v2.code("DELETE", "/clients/kick-me") == {"code": 112}
    assert await v2.code("DELETE", "/clients/never-seen") == {"code": 112}
    # A persistent session whose client is offline is not "online" either, and stays.
    p = Client(v2.broker, "offline-p", clean=False)
    p.disconnect()
    await settle(lambda: _offline(v2, "offline-p"))
    assert await v2.code("DELETE", "/clients/offline-p") == {"code": 112}
    assert (await v2.result("GET", "/sessions/offline-p"))["objects"]


async def _offline(v2, clientid):
    return (await v2.result("GET", f"/clients/{clientid}"))["objects"] == []


async def test_clean_acl_cache(v2):
    deny = AuthzRuleSet(who_type="all", who="", rules=[AuthzRule(topic="t", permission="deny", action="publish")])
    await v2.gw.ctx.control.put_authz_rules(deny)
    c = Client(v2.broker, "acl-c")
    try:
        for topic in ("t", "u"):
            c.publish(topic, b"", qos=1)
        assert [e.topic for e in await v2.gw.ctx.control.authz_cache("acl-c")] == ["t", "u"]
        assert await v2.result("PUT", "/clients/acl-c/clean_acl_cache", json={"topic": "t"}) == []
        assert [e.topic for e in await v2.gw.ctx.control.authz_cache("acl-c")] == ["u"]
        assert (await v2.code("PUT", "/clients/acl-c/clean_acl_cache"))["code"] == 107
        assert (await v2.code("PUT", "/clients/acl-c/clean_acl_cache", json={"topic": 1}))["code"] == 108
        assert await v2.code("PUT", "/clients/gone/clean_acl_cache", json={"topic": "t"}) == {"code": 112}
    finally:
        c.disconnect()


async def test_sessions_carry_real_state_online_and_offline(v2):
    online = Client(v2.broker, "sess-on")
    online.subscribe("sess/#", 1)
    offline = Client(v2.broker, "sess-off", clean=False)
    offline.subscribe("sess/#", 1)
    offline.disconnect()
    await settle(lambda: _offline(v2, "sess-off"))
    pub = Client(v2.broker, "sess-pub")
    for i in range(3):
        pub.publish(f"sess/{i}", b"m", qos=1)
    for _ in range(3):
        online.expect()
    pub.disconnect()
    try:
        # The PUBACKs of the online client may still be on their way.
        await settle(lambda: _inflight_drained(v2, "sess-on"))
        page = await v2.result("GET", f"/nodes/{NODE}/sessions?page_size=50")
        rows = {r["client_id"]: r for r in page["objects"]}
        assert {"sess-on", "sess-off"} <= set(rows)
        off = rows["sess-off"]
        assert tuple(off) == V2_SESSION_ROW
        assert off["clean_sess"] is False and off["subscriptions"] == 1
        assert off["mqueue_len"] == 3 and off["enqueue_msg"] == 3 and off["mqueue_dropped"] == 0
        assert isinstance(off["max_inflight"], int) and off["max_inflight"] > 0
        assert DATETIME.match(off["created_at"])
        on = rows["sess-on"]
        assert on["deliver_msg"] == 3 and on["inflight_len"] == 0 and on["awaiting_rel_len"] == 0
        assert await v2.result("GET", f"/nodes/{NODE}/sessions/sess-off") == {"objects": [off]}
        assert await v2.result("GET", "/sessions/sess-off") == {"objects": [off]}
        assert await v2.result("GET", "/sessions/none") == {"objects": []}
    finally:
        online.disconnect()


async def _inflight_drained(v2, clientid):
    return (await v2.result("GET", f"/sessions/{clientid}"))["objects"][0]["inflight_len"] == 0


async def test_subscriptions_paged_and_by_client(v2):
    c = Client(v2.broker, "sub-c")
    try:
        c.subscribe("a/b", 1)
        c.subscribe("x/#", 2)
        page = await v2.result("GET", f"/nodes/{NODE}/subscriptions?curr_page=1&page_size=1")
        assert set(page) == PAGE_KEYS and page["total_num"] == 2 and page["total_page"] == 2
        mine = await v2.result("GET", "/subscriptions/sub-c")
        assert sorted(mine["objects"], key=lambda r: r["topic"]) == [
            {"client_id": "sub-c", "topic": "a/b", "qos": 1},
            {"client_id": "sub-c", "topic": "x/#", "qos": 2},
        ]
        assert await v2.result("GET", f"/nodes/{NODE}/subscriptions/sub-c") == mine
        assert await v2.result("GET", "/subscriptions/nobody") == {"objects": []}
    finally:
        c.disconnect()


async def test_routes_paged_and_by_topic_slashes_and_encoded(v2):
    c = Client(v2.broker, "route-c")
    try:
        c.subscribe("r/one/two")
        c.subscribe("r/+")
        page = await v2.result("GET", "/routes?curr_page=1&page_size=20")
        assert set(page) == PAGE_KEYS and page["total_num"] == 2
        assert {"topic": "r/one/two", "node": NODE} in page["objects"]
        assert await v2.result("GET", "/route") == page
        want = {"objects": [{"topic": "r/one/two", "node": NODE}]}
        assert await v2.result("GET", "/routes/r/one/two") == want
        assert await v2.result("GET", "/routes/r%2Fone%2Ftwo") == want
        assert await v2.result("GET", "/routes/r%2F%2B") == {"objects": [{"topic": "r/+", "node": NODE}]}
        assert await v2.result("GET", "/routes/no/such") == {"objects": []}
    finally:
        c.disconnect()


async def test_publish_defaults_and_delivery(v2):
    c = Client(v2.broker, "pub-sub")
    try:
        c.subscribe("p/#", 2)
        assert await v2.result("POST", "/mqtt/publish", json={"topic": "p/1", "payload": "hello", "qos": 1}) == []
        m = c.expect()
        assert (m.topic, m.payload, m.qos, m.retain) == ("p/1", b"hello", 1, False)
        assert await v2.result("POST", "/mqtt/publish", json={"topic": "p/2"}) == []
        m = c.expect()
        assert (m.payload, m.qos) == (b"", 0)
        await v2.result(
            "POST", "/mqtt/publish", json={"topic": "p/kept", "payload": "r", "retain": True, "client_id": "someone"}
        )
        c.expect()
        late = Client(v2.broker, "late")
        late.subscribe("p/kept")
        assert late.expect().payload == b"r"
        late.disconnect()
        assert await v2.code("POST", "/mqtt/publish", json={"topic": "p/#"}) == {
            "code": 102,
            "message": "validate topic: p/# fail",
        }
        # The message quotes the topic as sent, braces and all.
        assert await v2.code("POST", "/mqtt/publish", json={"topic": "p/{client_id}/#"}) == {
            "code": 102,
            "message": "validate topic: p/{client_id}/# fail",
        }
    finally:
        c.disconnect()


async def test_subscribe_unsubscribe_on_behalf(v2):
    c = Client(v2.broker, "behalf")
    try:
        assert await v2.result("POST", "/mqtt/subscribe", json={"client_id": "behalf", "topic": "b/1", "qos": 1}) == []
        assert (await v2.result("GET", "/subscriptions/behalf"))["objects"] == [
            {"client_id": "behalf", "topic": "b/1", "qos": 1}
        ]
        await v2.result("POST", "/mqtt/publish", json={"topic": "b/1", "payload": "x"})
        assert c.expect().payload == b"x"
        assert await v2.result("POST", "/mqtt/unsubscribe", json={"client_id": "behalf", "topic": "b/1"}) == []
        assert (await v2.result("GET", "/subscriptions/behalf"))["objects"] == []
        assert await v2.code("POST", "/mqtt/subscribe", json={"client_id": "ghost", "topic": "b/1"}) == {
            "code": 102,
            "message": "Clientid: ghost not found",
        }
        assert await v2.code("POST", "/mqtt/unsubscribe", json={"client_id": "ghost", "topic": "b/1"}) == {
            "code": 102,
            "message": "Clientid: ghost not found",
        }
        assert await v2.code("POST", "/mqtt/subscribe", json={"client_id": "behalf", "topic": "b/#/x"}) == {
            "code": 102,
            "message": "validate topic: b/#/x fail",
        }
        assert (await v2.code("POST", "/mqtt/subscribe", json={"topic": "b/1"}))["code"] == 107
        assert (await v2.code("POST", "/mqtt/unsubscribe", json={"client_id": 5, "topic": "b/1"}))["code"] == 108
    finally:
        c.disconnect()


async def test_kick_keeps_a_persistent_session_as_2_3_did(v2):
    c = Client(v2.broker, "stay", clean=False)
    c.subscribe("keep/#", 1)
    assert await v2.result("DELETE", "/clients/stay") == []
    assert c.disconnects.get(timeout=5) is not None
    [row] = (await v2.result("GET", "/sessions/stay"))["objects"]
    assert row["client_id"] == "stay" and row["subscriptions"] == 1
