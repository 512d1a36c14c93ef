"""`/api/v5` nodes, stats, metrics, monitor and Prometheus against the real broker."""

import re

from broker.control.sampler import downsample
from tests.mqtt_helpers import wait_for
from tests.v5_helpers import API

MEMORY = re.compile(r"^\d+(\.\d\d[GMK])?$")


async def test_nodes(v5):
    v5.client("n1")
    [node] = await v5.json("get", "/nodes")
    assert node["node"] == v5.node and node["node_status"] == "running"
    assert (node["edition"], node["role"]) == ("Opensource", "core")
    assert node["connections"] == node["live_connections"] == 1 and isinstance(node["uptime"], int)
    assert MEMORY.match(node["memory_total"]) and MEMORY.match(node["memory_used"])
    assert isinstance(node["load1"], float) and node["max_fds"] > 0
    assert (await v5.json("get", f"/nodes/{v5.node}"))["node"] == v5.node
    for path in (
        "/nodes/ghost@x",
        "/nodes/ghost@x/metrics",
        "/nodes/ghost@x/stats",
        "/monitor/nodes/ghost@x",
        "/monitor_current/nodes/ghost@x",
    ):
        assert await v5.json("get", path, status=404) == {"code": "NOT_FOUND", "message": "Node not found: ghost@x"}


async def test_stats_and_metrics(v5):
    c = v5.client("m1")
    c.subscribe("s/#")
    stats = await v5.json("get", f"/nodes/{v5.node}/stats")
    assert "node" not in stats and stats["connections.count"] == 1 and stats["subscriptions.count"] == 1
    assert stats["live_connections.max"] >= 1 and stats["topics.count"] == 1
    [per_node] = await v5.json("get", "/stats")
    assert per_node["node"] == v5.node and per_node["subscriptions.count"] == 1
    assert (await v5.json("get", "/stats?aggregate=true"))["connections.count"] == 1
    assert (await v5.json("get", "/stats?aggregate=maybe", status=400))["code"] == "BAD_REQUEST"
    before = (await v5.json("get", f"/nodes/{v5.node}/metrics"))["messages.publish"]
    await v5.json("post", "/publish", {"topic": "s/1", "payload": "x"})
    c.expect()
    metrics = await v5.json("get", f"/nodes/{v5.node}/metrics")
    assert len(metrics) == 95 and "node" not in metrics and metrics["messages.publish"] == before + 1
    assert "packets.connect.received" in metrics and "packets.connect" not in metrics
    [row] = await v5.json("get", "/metrics")
    assert row["node"] == v5.node and row["packets.connect.received"] >= 1
    assert await v5.json("get", "/metrics?node=ghost@x") == []
    assert len(await v5.json("get", f"/metrics?node={v5.node}")) == 1
    assert "node" not in await v5.json("get", "/metrics?aggregate=true")


async def test_monitor_samples_and_rates(v5):
    sampler = v5.broker.control.sampler
    assert sampler.running  # started with the broker
    cur = await v5.json("get", "/monitor_current")
    assert cur["received_msg_rate"] == 0 and cur["connections"] == 0
    pub, sub = v5.client("pub"), v5.client("sub")
    sub.subscribe("m/#")
    base = v5.broker.metric("messages.received")
    for _ in range(30):
        pub.publish("m/1", b"x")
    wait_for(lambda: v5.broker.metric("messages.received") == base + 30)
    for _ in range(30):
        sub.expect()
    v5.broker.run(sampler.sample())
    rows = await v5.json("get", "/monitor")
    last = rows[-1]
    assert set(last) == {
        "time_stamp",
        "connections",
        "live_connections",
        "subscriptions",
        "topics",
        "disconnected_durable_sessions",
        "subscriptions_durable",
        "received",
        "sent",
        "dropped",
        "validation_succeeded",
        "validation_failed",
        "transformation_succeeded",
        "transformation_failed",
        "persisted",
        "subscriptions_ram",
    }
    assert (last["received"], last["sent"], last["connections"], last["subscriptions"]) == (30, 30, 2, 1)
    assert last["time_stamp"] % 10000 == 0
    assert (await v5.json("get", "/monitor?latest=3600"))[-1] == last
    node_rows = await v5.json("get", f"/monitor/nodes/{v5.node}?latest=60")
    assert "subscriptions_ram" not in node_rows[-1] and node_rows[-1]["received"] == 30
    assert (await v5.json("get", "/monitor?latest=0", status=400))["code"] == "BAD_REQUEST"
    cur = await v5.json("get", "/monitor_current")
    assert (cur["received_msg_rate"], cur["sent_msg_rate"], cur["live_connections"]) == (3, 3, 2)
    assert cur["subscriptions_ram"] == cur["subscriptions"] == 1 and "node_uptime" not in cur
    node_cur = await v5.json("get", f"/monitor_current/nodes/{v5.node}")
    assert node_cur["node_uptime"] > 0 and "subscriptions_durable" not in node_cur
    await v5.json("delete", "/monitor", status=204)
    assert await v5.json("get", "/monitor") == []


def test_downsampling_merges_old_samples():
    now = 10 * 86400 * 1000
    ten_s = [
        {
            "time_stamp": now - 7200_000 + i * 10_000,
            "connections": i,
            "live_connections": i,
            "subscriptions": 0,
            "topics": 0,
            "disconnected_durable_sessions": 0,
            "subscriptions_durable": 0,
            "received": 1,
            "sent": 2,
            "dropped": 0,
            "validation_succeeded": 0,
            "validation_failed": 0,
            "transformation_succeeded": 0,
            "transformation_failed": 0,
            "persisted": 0,
        }
        for i in range(12)
    ]
    ancient = dict(ten_s[0], time_stamp=now - 8 * 86400 * 1000)
    out = downsample([ancient, *ten_s], now)
    # two hours old: one-minute buckets; 12 ten-second samples are two buckets; 8 days old: dropped.
    assert [r["time_stamp"] % 60_000 for r in out] == [0, 0] and len(out) == 2
    assert (out[0]["received"], out[0]["sent"], out[0]["connections"]) == (6, 12, 5)


async def test_prometheus_text_and_json(v5):
    v5.client("p1")
    for _ in range(3):
        await v5.json("get", "/clients")
    r = await v5.http.get(API + "/prometheus/stats")  # no auth, as EMQX by default
    text = await r.text()
    assert r.status == 200 and r.content_type == "text/plain"
    assert "# TYPE emqx_connections_count gauge\nemqx_connections_count 1\n" in text
    assert re.search(r"^emqx_packets_connect \d+$", text, re.M) and "emqx_packets_connect_received" not in text
    assert re.search(r"^emqx_messages_dropped_expired \d+$", text, re.M)
    assert 'emqgw_http_requests_total{dialect="v5",method="GET",route="/clients",status="200"} 3\n' in text
    r = await v5.http.get(API + "/prometheus/stats?mode=all_nodes_unaggregated")
    assert f'emqx_connections_count{{node="{v5.node}"}} 1' in await r.text()
    r = await v5.http.get(API + "/prometheus/stats?mode=bogus")
    assert r.status == 200 and "emqx_connections_count 1" in await r.text()
    doc = await (await v5.http.get(API + "/prometheus/stats", headers={"Accept": "application/json"})).json()
    assert doc["stats"]["emqx_connections_count"] == 1 and doc["packets"]["emqx_packets_connect"] >= 1
    assert doc["cluster"]["emqx_cluster_nodes_running"] == 1
