"""One broker state, three dialects that agree.

Real paho clients build the state (a connected client with plain and shared subscriptions, a persistent
session gone offline with a queued message, a retained message, a ban); every fact is then read through
EMQ 2.x, NanoMQ/EMQX 4 and EMQX 5 and brought to one form with the field crosswalk and the unit
conversions a migrating script needs (times, uptime strings, memory strings, 0-means-unlimited).
The other way round: an action taken through any one dialect is seen identically through the others.
"""

import datetime as dt
import re

import aiohttp
import pytest

from adapters.common.fields import CLIENT, METRICS_EMQX4_RENAMES, METRICS_V2, STATS_V2, SUBSCRIPTION
from tests.mqtt_helpers import Client

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}


class Views:
    """The same broker read through each dialect, every answer unwrapped from its envelope."""

    def __init__(self, gw):
        self.gw = gw
        self.upstream = gw.upstream is not None  # gateway A in front of B (the ``chain`` fixture)
        self.node = gw.ctx.control.node_name
        key, secret = gw.accounts.create_api_key("equivalence", "", True, None)
        self.key = {"Authorization": aiohttp.encode_basic_auth(key.api_key, secret)}

    async def v2(self, method, path, **kw):
        r = await self.gw.http.request(method, "/api/v2" + path, headers=ADMIN, **kw)
        body = await r.json()
        assert r.status == 200 and body["code"] == 0, body
        return body["result"]

    async def v4(self, method, path, **kw):
        r = await self.gw.http.request(method, "/api/v4" + path, headers=ADMIN, **kw)
        body = await r.json()
        assert r.status == 200 and body.get("code", 0) == 0, body
        return body.get("data")

    async def v5(self, method, path, status=200, **kw):
        r = await self.gw.http.request(method, "/api/v5" + path, headers=self.key, **kw)
        assert r.status == status, await r.text()
        return await r.json() if r.status != 204 else None

    # -- facts, one canonical form per fact ---------------------------------------------------------

    async def clients(self):
        """{clientid: connected} through each dialect (v2: sessions of the node, clients = connected)."""
        n = self.node
        sessions = (await self.v2("GET", f"/nodes/{n}/sessions?page_size=1000"))["objects"]
        live = {row["client_id"] for row in (await self.v2("GET", f"/nodes/{n}/clients?page_size=1000"))["objects"]}
        v2 = {row["client_id"]: row["client_id"] in live for row in sessions}
        nanomq = {row["client_id"]: row["conn_state"] == "connected" for row in await self.v4("GET", "/clients")}
        emqx4 = {row["clientid"]: row["connected"] for row in await self.v4("GET", f"/nodes/{n}/clients")}
        v5 = {row["clientid"]: row["connected"] for row in (await self.v5("GET", "/clients?limit=1000"))["data"]}
        return {"v2": v2, "nanomq": nanomq, "emqx4": emqx4, "v5": v5}

    async def subscriptions(self):
        def rows(items, dialect):
            key = next(f for f in SUBSCRIPTION if f.attr == "clientid").name(dialect)
            return sorted((r[key], r["topic"], r["qos"]) for r in items)

        n = self.node
        return {
            "v2": rows((await self.v2("GET", f"/nodes/{n}/subscriptions?page_size=1000"))["objects"], "v2"),
            "nanomq": rows(await self.v4("GET", "/subscriptions"), "nanomq"),
            "emqx4": rows(await self.v4("GET", f"/nodes/{n}/subscriptions"), "emqx4"),
            "v5": rows((await self.v5("GET", "/subscriptions?limit=1000"))["data"], "v5"),
        }

    async def topics(self):
        return {
            "v2": sorted(r["topic"] for r in (await self.v2("GET", "/routes?page_size=1000"))["objects"]),
            "emqx4": sorted(r["topic"] for r in await self.v4("GET", "/routes")),
            "v5": sorted(r["topic"] for r in (await self.v5("GET", "/topics?limit=1000"))["data"]),
        }


def seconds(uptime) -> int:
    """EMQ/NanoMQ uptime strings and EMQX 5 milliseconds, as whole seconds."""
    if isinstance(uptime, int):
        return uptime // 1000
    units = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}
    return sum(int(n) * units[u.lower()] for n, u in re.findall(r"(\d+)\s*(day|hour|minute|second)", uptime, re.I))


def size(text) -> float:
    """`"23.54G"` memory strings as bytes (two decimals: compared within 1%)."""
    if isinstance(text, int):
        return float(text)
    return float(text[:-1]) * {"K": 1024, "M": 1024**2, "G": 1024**3}[text[-1]]


def epoch(text) -> int:
    """`YYYY-MM-DD HH:MM:SS` (node-local) and RFC 3339 as epoch seconds."""
    if isinstance(text, int):
        return text
    parsed = dt.datetime.fromisoformat(text.replace(" ", "T"))
    return int((parsed if parsed.tzinfo else parsed.astimezone()).timestamp())


@pytest.fixture
async def state(any_gateway):
    gw = await any_gateway()
    views = Views(gw)
    live = Client(gw.broker, "eq-live", username="u1")
    live.subscribe("plain/+", 1)
    live.subscribe("$share/g1/shared/t", 0)
    offline = Client(gw.broker, "eq-offline", clean=False)
    offline.subscribe("queue/#", 1)
    offline.disconnect()
    live.publish("retained/one", b"r", 1, retain=True)
    live.publish("queue/x", b"q", 1)
    await views.v5("POST", "/banned", status=200, json={"as": "clientid", "who": "eq-banned", "reason": "test"})
    yield views, live
    live.disconnect()


async def test_clients_subscriptions_topics_agree(state):
    views, _ = state
    clients = await views.clients()
    assert clients["v5"] == {"eq-live": True, "eq-offline": False}
    assert all(c == clients["v5"] for c in clients.values()), clients
    subs = await views.subscriptions()
    assert subs["v5"] == [("eq-live", "$share/g1/shared/t", 0), ("eq-live", "plain/+", 1), ("eq-offline", "queue/#", 1)]
    assert all(s == subs["v5"] for s in subs.values()), subs
    topics = await views.topics()
    assert all(t == topics["v5"] for t in topics.values()) and "queue/#" in topics["v5"]


async def test_session_counters_agree_after_renaming(state):
    views, _ = state
    n = views.node
    v5 = {r["clientid"]: r for r in (await views.v5("GET", "/clients"))["data"]}
    emqx4 = {r["clientid"]: r for r in await views.v4("GET", f"/nodes/{n}/clients")}
    v2 = {r["client_id"]: r for r in (await views.v2("GET", f"/nodes/{n}/sessions"))["objects"]}
    assert v5["eq-offline"]["mqueue_len"] == 1 and v5["eq-live"]["subscriptions_cnt"] == 2
    counters = (
        "subscriptions_cnt",
        "inflight_cnt",
        "inflight_max",
        "awaiting_rel_cnt",
        "mqueue_len",
        "mqueue_dropped",
        "clean_start",
        "created_at",
        "subscriptions_max",
        "mqueue_max",
        "awaiting_rel_max",
        "expiry_interval",
    )
    for field in (f for f in CLIENT if f.attr in counters):
        for cid in ("eq-live", "eq-offline"):
            want = v5[cid][field.v5]
            if field.kind == "time":
                want = epoch(want)
            for dialect, rows in (("v2", v2), ("emqx4", emqx4)):
                name = field.name(dialect)
                if name is None or name not in rows[cid]:
                    continue
                got = rows[cid][name]
                if field.kind == "time":
                    got = epoch(got)
                if field.kind == "infinity" and got == 0:  # EMQX 4: 0 = no limit
                    got = "infinity"
                assert got == want, (cid, dialect, name, got, want)


async def test_stats_and_metrics_agree_by_the_crosswalk(state):
    views, _ = state
    n = views.node
    v2_stats = (await views.v2("GET", "/monitoring/stats"))[0][n]
    v4_stats = (await views.v4("GET", "/stats"))[0]["stats"]
    v5_stats = (await views.v5("GET", "/stats"))[0]
    assert v5_stats["live_connections.count"] == 1 and v5_stats["sessions.count"] == 2
    assert v5_stats["retained.count"] == 1 and v5_stats["subscriptions.shared.count"] == 1
    for v2_key, v5_key in STATS_V2.items():
        assert v2_stats[v2_key] == v4_stats[v5_key] == v5_stats[v5_key], (v2_key, v5_key)
    # metrics: no MQTT traffic happens between the three reads ($SYS is off in tests)
    v2_metrics = (await views.v2("GET", "/monitoring/metrics"))[0][n]
    v4_metrics = await views.v4("GET", f"/nodes/{n}/metrics")
    v5_metrics = (await views.v5("GET", "/metrics"))[0]
    assert v5_metrics["packets.connect.received"] == 2 and v5_metrics["messages.received"] >= 2
    for v2_key, v5_key in METRICS_V2.items():
        assert v2_metrics[v2_key] == v4_metrics[v5_key] == v5_metrics[v5_key], (v2_key, v5_key)
    for v5_key, v4_key in METRICS_EMQX4_RENAMES.items():
        assert v4_metrics[v4_key] == v5_metrics[v5_key]


async def test_node_facts_agree_after_unit_conversion(state):
    views, _ = state
    n = views.node
    v2 = (await views.v2("GET", "/management/nodes"))[0]
    v2_mon = (await views.v2("GET", "/monitoring/nodes"))[0]
    emqx4 = await views.v4("GET", f"/nodes/{n}")
    nanomq = (await views.v4("GET", "/nodes"))[0]
    v5 = (await views.v5("GET", "/nodes"))[0]
    assert v2["name"] == emqx4["node"] == v5["node"] == n
    assert v2["node_status"] == emqx4["node_status"] == nanomq["node_status"] == "Running"
    assert v5["node_status"] == "running"
    ups = [seconds(v2["uptime"]), seconds(emqx4["uptime"]), seconds(nanomq["uptime"]), seconds(v5["uptime"])]
    assert max(ups) - min(ups) <= 2, ups
    assert size(v2_mon["memory_total"]) == size(emqx4["memory_total"]) == size(v5["memory_total"])
    used = [size(v2_mon["memory_used"]), size(emqx4["memory_used"]), size(v5["memory_used"])]
    assert max(used) / min(used) < 1.5, used
    # Connected clients: EMQ 2.x `clients`, NanoMQ `connections`, EMQX 4.4 and 5 `live_connections`.
    # EMQX 4.4's and 5's `connections` both count channels, offline persistent sessions included
    # (emqx_mgmt:node_info counts the emqx_channel table), so they agree with each other, not with 2.x.
    live = (v2_mon["clients"], nanomq["connections"], emqx4["live_connections"], v5["live_connections"])
    assert live == (1, 1, 1, 1), live
    assert emqx4["connections"] == v5["connections"] == 2
    assert float(v2_mon["load1"]) == pytest.approx(v5["load1"], abs=0.5)


async def test_bans_agree(state):
    views, _ = state
    v4 = next(b for b in await views.v4("GET", "/banned") if b["who"] == "eq-banned")
    v5 = next(b for b in (await views.v5("GET", "/banned"))["data"] if b["who"] == "eq-banned")
    assert (v4["as"], v4["reason"], v4["by"]) == (v5["as"], v5["reason"], v5["by"])
    assert v4["at"] == epoch(v5["at"])
    assert v4["until"] is None and v5["until"] == "infinity"  # no end: v4 null, v5 "infinity"


# -- actions: taken through one dialect, seen through the others ------------------------------------

PUBLISH = {"v2": "/api/v2/mqtt/publish", "v4": "/api/v4/mqtt/publish", "v5": "/api/v5/publish"}


@pytest.mark.parametrize("via", ["v2", "v4", "v5"])
async def test_actions_through_one_dialect_seen_by_all(state, via):
    views, live = state
    call = {"v2": views.v2, "v4": views.v4, "v5": views.v5}[via]
    gw = views.gw
    # publish (retained): delivered, and the retained count moves in every dialect
    # published as the API itself (no client named): an EMQX cluster cannot publish as a given client
    r = await gw.http.post(
        PUBLISH[via],
        json={"topic": f"plain/{via}", "payload": via, "qos": 1, "retain": True},
        headers=views.key if via == "v5" else ADMIN,
    )
    assert r.status == 200, await r.text()
    assert live.expect().payload == via.encode()
    stats = await views.v2("GET", "/monitoring/stats")
    assert stats[0][views.node]["retained/count"] == 2
    assert (await views.v5("GET", "/stats"))[0]["retained.count"] == 2
    retained = [m["topic"] for m in (await views.v5("GET", "/mqtt/retainer/messages"))["data"]]
    assert f"plain/{via}" in retained

    # subscribe on behalf: seen in every subscription list
    topic = f"behalf/{via}"
    if via == "v5":
        await views.v5("POST", "/clients/eq-live/subscribe", json={"topic": topic, "qos": 1})
    else:
        await call(
            "POST",
            "/mqtt/subscribe",
            json={"topic": topic, "qos": 1, ("client_id" if via == "v2" else "clientid"): "eq-live"},
        )
    subs = await views.subscriptions()
    assert all(("eq-live", topic, 1) in s for s in subs.values()), subs

    # kick: gone (connected=False or absent) everywhere
    Client(gw.broker, "eq-victim")
    if via == "v5":
        await views.v5("DELETE", "/clients/eq-victim", status=204)
    else:
        await call("DELETE", "/clients/eq-victim")
    await wait_clients(views, lambda seen: "eq-victim" not in seen)


async def wait_clients(views, pred):
    import asyncio

    for _ in range(100):
        clients = await views.clients()
        if all(pred(c) for c in clients.values()):
            return clients
        await asyncio.sleep(0.02)
    raise AssertionError(clients)


async def test_ban_through_v4_seen_by_v5_and_lifted_through_v5(state):
    views, _ = state
    await views.v4("POST", "/banned", json={"who": "u-bad", "as": "username", "reason": "r", "until": 4102444800})
    v5 = {b["who"]: b for b in (await views.v5("GET", "/banned"))["data"]}
    assert epoch(v5["u-bad"]["until"]) == 4102444800 and v5["u-bad"]["as"] == "username"
    await views.v5("DELETE", "/banned/username/u-bad", status=204)
    assert "u-bad" not in {b["who"] for b in await views.v4("GET", "/banned")}


async def test_plugin_toggle_through_v2_seen_by_v4_and_back(state):
    views, _ = state
    n = views.node

    async def active():
        v2 = {p["name"]: p["active"] for p in await views.v2("GET", f"/nodes/{n}/plugins")}
        v4 = {p["name"]: p["active"] for p in (await views.v4("GET", "/plugins"))[0]["plugins"]}
        return v2["emq_retainer"], v4["retainer"]

    assert await active() == (True, True)
    await views.v2("PUT", f"/nodes/{n}/plugins/emq_retainer", json={"active": False})
    assert await active() == (False, False)
    await views.v4("PUT", f"/nodes/{n}/plugins/retainer/load")
    assert await active() == (True, True)


# -- MQTT users, ACL rules and API credentials: made through one dialect, seen and enforced through all

USERS_V5 = "/authentication/password_based:built_in_database/users"
RULES_V5 = "/authorization/sources/built_in_database/rules"


def connack(gw, **kw):
    c = Client(gw.broker, v5=True, connect=False, **kw)
    _, rc, _ = c.connect(expect_ok=False)
    c.c.loop_stop()
    return rc.value


async def mqtt_users(views):
    """{user id} through EMQX 4.4, NanoMQ and EMQX 5."""
    return {
        "emqx4": {r["username"] for r in await views.v4("GET", "/auth_username")},
        "nanomq": {r["login"] for r in (await views.v4("GET", "/configuration/auth"))["auth"]},
        "v5": {r["user_id"] for r in (await views.v5("GET", USERS_V5))["data"]},
    }


ADD_USER = {
    "emqx4": ("/api/v4/auth_username", lambda u, p: {"username": u, "password": p}),
    "v5": ("/api/v5" + USERS_V5, lambda u, p: {"user_id": u, "password": p}),
}


@pytest.mark.parametrize("via", ["emqx4", "nanomq", "v5"])
async def test_an_mqtt_user_made_through_one_dialect_is_seen_and_enforced_by_all(gateway, via):
    gw = await gateway(allow_anonymous=False)
    views = Views(gw)
    user = f"user-{via}"
    if via == "nanomq":
        await views.v4("POST", "/configuration/auth", json={"data": {"auth": [{"username": user, "password": "pw"}]}})
    else:
        path, body = ADD_USER[via]
        r = await gw.http.post(path, json=body(user, "pw"), headers=views.key if via == "v5" else ADMIN)
        assert r.status in (200, 201), await r.text()
    seen = await mqtt_users(views)
    assert all(users == {user} for users in seen.values()), seen
    assert connack(gw, username=user, password="pw") == 0
    assert connack(gw, username=user, password="not-it") == 0x86
    # ... and a password changed through the other dialect is the one that counts.
    if via == "v5":
        await views.v4("PUT", f"/auth_username/{user}", json={"password": "pw2"})
    else:
        await views.v5("PUT", f"{USERS_V5}/{user}", json={"password": "pw2"})
    assert connack(gw, username=user, password="pw") == 0x86
    assert connack(gw, username=user, password="pw2") == 0


async def test_an_acl_rule_made_through_one_dialect_is_seen_and_enforced_by_the_other(gateway):
    gw = await gateway()
    views = Views(gw)
    # EMQX 4 row -> EMQX 5 record, enforced.
    await views.v4("POST", "/acl", json={"clientid": "eq-acl", "topic": "t/#", "action": "pub", "access": "deny"})
    assert await views.v5("GET", f"{RULES_V5}/clients/eq-acl") == {
        "clientid": "eq-acl",
        "rules": [{"topic": "t/#", "permission": "deny", "action": "publish", "qos": [0, 1, 2], "retain": "all"}],
    }
    c = Client(gw.broker, "eq-acl", v5=True, username="eq-user")
    c.publish("t/1", b"", qos=1)
    assert c.acks.get(timeout=5)[1].value == 0x87
    # EMQX 5 record -> EMQX 4 rows (an "all" rule is its two rows), enforced on the next SUBSCRIBE.
    rule = {"topic": "s/#", "permission": "deny", "action": "all"}
    await views.v5("PUT", f"{RULES_V5}/users/eq-user", json={"username": "eq-user", "rules": [rule]}, status=204)
    assert await views.v4("GET", "/acl/username/eq-user") == [
        {"username": "eq-user", "topic": "s/#", "action": "pub", "access": "deny"},
        {"username": "eq-user", "topic": "s/#", "action": "sub", "access": "deny"},
    ]
    assert [rc.value for rc in c.subscribe("s/x", 0)] == [0x87]
    # Deleted through EMQX 4: the next PUBLISH is allowed again, and EMQX 5 sees an empty record.
    await views.v4("DELETE", "/acl/clientid/eq-acl/topic/t%2F%23")
    c.publish("t/1", b"", qos=1)
    assert c.acks.get(timeout=5)[1].value == 0x10
    assert (await views.v5("GET", f"{RULES_V5}/clients/eq-acl"))["rules"] == []
    # Both see the same cache.
    v4_cache = [(e["access"], e["topic"], e["result"]) for e in await views.v4("GET", "/clients/eq-acl/acl_cache")]
    v5_cache = await views.v5("GET", "/clients/eq-acl/authorization/cache")
    assert v4_cache == [(e["access"]["action_type"], e["topic"], e["result"]) for e in v5_cache] != []
    c.disconnect()


async def test_an_app_made_through_emqx4_is_an_api_key_of_emqx5_and_back(gateway):
    gw = await gateway()
    views = Views(gw)
    r = await gw.http.post("/api/v5/login", json={"username": "admin", "password": "public"})
    bearer = {"Authorization": "Bearer " + (await r.json())["token"]}
    secret = (await views.v4("POST", "/apps", json={"app_id": "eqapp", "desc": "d"}))["secret"]
    r = await gw.http.get("/api/v5/api_key/eqapp", headers=bearer)
    key = await r.json()
    assert (key["name"], key["desc"], key["enable"], key["expired_at"]) == ("eqapp", "d", True, "infinity")
    api = {"Authorization": aiohttp.encode_basic_auth(key["api_key"], secret)}
    assert (await gw.http.get("/api/v5/nodes", headers=api)).status == 200
    r = await gw.http.put("/api/v5/api_key/eqapp", json={"enable": False}, headers=bearer)
    assert r.status == 200
    assert next(a for a in await views.v4("GET", "/apps") if a["app_id"] == "eqapp")["status"] is False
    assert (await gw.http.get("/api/v5/nodes", headers=api)).status == 401


async def test_translated_auth_requests_do_the_same_thing(gateway):
    """The crosswalk's rows, run: an EMQX 4 call translated to EMQX 5 and run there has the effect the EMQX 4
    call has."""
    from adapters.common.translate import translate

    gw = await gateway(allow_anonymous=False)
    views = Views(gw)
    v5 = next(
        t
        for t in translate('POST /api/v4/auth_username {"username":"tr","password":"tp"}').targets
        if t.dialect == "v5"
    )
    r = await gw.http.request(v5.method, v5.path, json=v5.body, headers=views.key)
    assert r.status == 201, await r.text()
    assert connack(gw, username="tr", password="tp") == 0
    listing = next(t for t in translate("GET /api/v4/auth_username?_like_username=t").targets if t.dialect == "v5")
    r = await gw.http.get(listing.path, headers=views.key)
    assert [u["user_id"] for u in (await r.json())["data"]] == ["tr"]
    tr = translate("DELETE /api/v4/clients/tr-c/acl_cache")
    assert next(t for t in tr.targets if t.dialect == "v5").path == "/api/v5/clients/tr-c/authorization/cache"
    tr = translate('PUT /api/v2/configs/emqttd {"key": "acl_no_match", "value": "deny"}')
    put = next(t for t in tr.targets if t.dialect == "v5")
    r = await gw.http.request(put.method, put.path, json={**put.body, "deny_action": "ignore"}, headers=views.key)
    assert r.status == 200 and (await r.json())["no_match"] == "deny"
    assert gw.broker.call(lambda: gw.broker.broker.config.acl_no_match) == "deny"


# -- the examples: the same ops job per dialect, and the walkthrough diffing v2 against v5 ----------


def test_example_scripts_agree_on_a_real_gateway(tmp_path):
    import json
    import os
    import signal
    import subprocess
    import sys

    import paho.mqtt.client as paho

    from tests.serve_helpers import listening_lines, port_of, serve

    examples = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    conf = tmp_path / "emqgw.toml"
    conf.write_text("[mqtt]\nsys_interval = 0\nsys_heartbeat = 0\n")  # no $SYS retained messages mid-run
    proc = serve("--config", str(conf), "--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
    clients = []
    try:
        lines = listening_lines(proc, 2)
        http, mqtt = port_of(lines, "listening: http"), port_of(lines, "listening: mqtt tcp")
        base = f"http://127.0.0.1:{http}"
        for cid in ("ex-1", "ex-2", "ex-3", "ex-4"):
            c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=cid)
            # no loop thread: it would reconnect a kicked client; the broker keeps the idle socket
            c.connect("127.0.0.1", mqtt)
            for _ in range(20):
                c.loop(0.05)
                if c.is_connected():
                    break
            assert c.is_connected()
            clients.append(c)
        c.subscribe("ops/#", 1)
        for _ in range(5):
            c.loop(0.05)

        def run(script, *args):
            r = subprocess.run(
                [sys.executable, os.path.join(examples, script), "--base", base, *args],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 0, r.stdout + r.stderr
            return r.stdout

        import time

        end = time.monotonic() + 5
        # settled: every client listed, and the broker's three retained $SYS announcements made (first tick)
        while time.monotonic() < end:
            warm = run("ops_v5.py", "--login", "--topic", "warmup")
            if '"ex-4"' in warm and '"retained.count": 3' in warm:
                break
            time.sleep(0.05)
        v4 = json.loads(run("ops_v4.py", "--kick", "ex-1", "--retain"))
        assert v4["clients"] == ["ex-2", "ex-3", "ex-4"] and v4["kicked_gone"] and v4["published"]
        out = run("migrate_walkthrough.py", "--login", "--kick", "ex-2")
        assert "the EMQ 2.x and EMQX 5 scripts agree" in out
        assert "EMQX 5: GET /api/v5/clients?node=" in out and "`curr_page` → `page`" in out
        assert '"ex-2"' not in out.split("== 4.")[1] and '"ex-3"' in out.split("== 4.")[1]
    finally:
        for c in clients:
            c.disconnect()
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


# -- configuration: one state, whichever dialect changes it -------------------------------------------


async def settings(views):
    """The same settings read through v5 (EMQX units), v2 (record units) and NanoMQ (its units)."""
    v5 = (await views.v5("GET", "/configs/global_zone"))["mqtt"]
    v2 = {row["key"]: row["value"] for row in (await views.v2("GET", "/configs"))[views.node]}
    nanomq = await views.v4("GET", "/configuration")
    return v5, v2, nanomq


@pytest.mark.parametrize("via", ["v2", "v4", "v5"])
async def test_a_setting_changed_through_one_dialect_is_what_the_others_show(state, via):
    views, _ = state
    if via == "v5":
        mqtt = (await views.v5("GET", "/configs/global_zone"))["mqtt"]
        change = {"max_mqueue_len": 64, "retry_interval": "20s", "max_packet_size": "64KB", "max_inflight": 7}
        await views.v5("PUT", "/configs/global_zone", json={"mqtt": {**mqtt, **change}})
    elif via == "v2":
        for key, value in (("max_mqueue_len", "64"), ("retry_interval", "20"), ("max_packet_size", "64KB")):
            await views.v2("PUT", "/configs/emqttd", json={"key": key, "value": value})
        await views.v2("PUT", "/configs/emqttd", json={"key": "max_inflight", "value": "7"})
    else:
        await views.v4(
            "POST", "/configuration", json={"data": {"msq_len": 64, "qos_duration": 20, "max_packet_size": 64}}
        )
        await views.v2("PUT", "/configs/emqttd", json={"key": "max_inflight", "value": "7"})  # NanoMQ has no knob
    v5, v2, nanomq = await settings(views)
    assert (v5["max_mqueue_len"], v5["retry_interval"], v5["max_packet_size"], v5["max_inflight"]) == (
        64,
        "20s",
        "64KB",
        7,
    )
    assert (v2["max_mqueue_len"], v2["retry_interval"], v2["max_packet_size"], v2["max_inflight"]) == (
        "64",
        "20",
        "65536",
        "7",
    )
    assert (nanomq["msq_len"], nanomq["qos_duration"], nanomq["max_packet_size"]) == (64, 20, 64)
    # EMQX 4 has no configuration API: it shows the change in what it says about a new client's session
    fresh = Client(views.gw.broker, f"eq-fresh-{via}")
    try:
        row = (await views.v4("GET", f"/nodes/{views.node}/clients/eq-fresh-{via}"))[0]
        assert (row["max_inflight"], row["max_mqueue"]) == (7, 64)
    finally:
        fresh.disconnect()


async def test_no_limit_reads_the_same_everywhere(state):
    views, _ = state
    await views.v5("PUT", "/configs/global_zone", json={"mqtt": {"max_mqueue_len": "infinity"}})
    v5, v2, nanomq = await settings(views)
    assert (v5["max_mqueue_len"], v2["max_mqueue_len"], nanomq["msq_len"]) == ("infinity", "0", 2**31 - 1)


async def test_a_listener_made_through_v5_is_listed_by_every_dialect(state):
    views, _ = state
    made = await views.v5("POST", "/listeners", json={"type": "tcp", "name": "eq", "bind": "127.0.0.1:0"})
    port = int(made["bind"].rsplit(":", 1)[1])
    assert port  # the port the system gave it

    async def listed():
        v2 = (await views.v2("GET", "/monitoring/listeners"))[0][views.node]
        emqx4 = (await views.v4("GET", "/listeners"))[0]["listeners"]
        v5 = await views.v5("GET", "/listeners")
        return (
            any(row["listen"].endswith(f":{port}") for row in v2),
            any(row["identifier"] == "mqtt:tcp:eq" for row in emqx4),
            any(row["id"] == "tcp:eq" for row in v5),
        )

    assert await listed() == (True, True, True)
    await views.v5("DELETE", "/listeners/tcp:eq", status=204)
    assert await listed() == (False, False, False)
