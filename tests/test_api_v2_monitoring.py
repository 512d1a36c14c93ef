"""Nodes, listeners, metrics, stats, alarms: 2.3's shapes, wrappings and value formats, real numbers."""

from __future__ import annotations

import json
import os
import re

from adapters.common.fields import METRICS_V2, STATS_V2
from tests.mqtt_helpers import Client
from tests.v2_helpers import NODE, V2, settle

DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
MEMORY = re.compile(r"^\d+\.\d\d[GMK]$")
LOAD = re.compile(r"^\d+\.\d\d$")
UPTIME = re.compile(r"^(\d+ days,)?(\d+ hours, )?(\d+ minutes, )?\d+ seconds$")


async def test_management_nodes_list_and_one(v2):
    nodes = await v2.result("GET", "/management/nodes")
    assert [n["name"] for n in nodes] == [NODE]
    one = await v2.result("GET", f"/management/nodes/{NODE}")
    assert set(one) == {"version", "sysdescr", "uptime", "datetime", "otp_release", "node_status"}
    stable = ("version", "sysdescr", "otp_release", "node_status")
    assert {k: nodes[0][k] for k in stable} == {k: one[k] for k in stable}
    assert DATETIME.match(one["datetime"]) and UPTIME.match(one["uptime"])
    assert one["node_status"] == "Running" and one["otp_release"].startswith("Python/")


async def test_monitoring_nodes_values_from_the_os(v2):
    c = Client(v2.broker)
    try:
        [node] = await v2.result("GET", "/monitoring/nodes")
        assert set(node) == set(await v2.result("GET", f"/monitoring/nodes/{NODE}"))
        assert node["name"] == NODE and node["node_status"] == "Running"
        assert MEMORY.match(node["memory_total"]) and MEMORY.match(node["memory_used"])
        assert all(LOAD.match(node[k]) for k in ("load1", "load5", "load15"))
        assert abs(float(node["load1"]) - os.getloadavg()[0]) < 1
        assert node["clients"] == 1
        assert 0 < node["process_used"] <= node["process_available"] == node["max_fds"]
    finally:
        c.disconnect()


async def test_listeners_all_wrapped_by_node_and_per_node(v2):
    c = Client(v2.broker)
    try:
        [wrapped] = await v2.result("GET", "/monitoring/listeners")
        listeners = wrapped[NODE]
        assert listeners == await v2.result("GET", f"/monitoring/listeners/{NODE}")
        tcp = next(x for x in listeners if x["protocol"] == "mqtt:tcp")
        assert tcp["listen"] == f"127.0.0.1:{v2.broker.port('tcp')}"
        assert tcp["current_clients"] == 1 and tcp["shutdown_count"] == []
        assert set(tcp) == {"protocol", "listen", "acceptors", "max_clients", "current_clients", "shutdown_count"}
        assert {x["protocol"] for x in listeners} == {"mqtt:tcp", "mqtt:ws"}
    finally:
        c.disconnect()


async def test_metrics_keys_and_real_counters(v2):
    c = Client(v2.broker)
    c.subscribe("m/#", 1)
    c.publish("m/1", b"x", qos=1)
    c.expect()
    c.disconnect()
    [wrapped] = await v2.result("GET", "/monitoring/metrics")
    metrics = wrapped[NODE]
    assert set(metrics) == set(METRICS_V2) | {"messages/retained"}
    one = await v2.result("GET", f"/monitoring/metrics/{NODE}")
    assert one["packets/connect"] >= 1 and one["packets/subscribe"] >= 1
    assert one["messages/qos1/received"] >= 1 and one["bytes/received"] > 0
    assert one["packets/connect"] == v2.broker.metric("packets.connect.received")


async def test_stats_keys_wrapping_and_values(v2):
    c = Client(v2.broker)
    try:
        c.subscribe("s/1")
        c.publish("r/1", b"kept", retain=True, qos=1)
        [wrapped] = await v2.result("GET", "/monitoring/stats")
        stats = wrapped[NODE]
        assert set(stats) == set(STATS_V2)
        assert stats["clients/count"] == 1 and stats["subscriptions/count"] == 1 and stats["retained/count"] == 1
        one = await v2.result("GET", f"/monitoring/stats/{NODE}")
        assert one["clients/max"] >= 1 and one["routes/count"] == 1
    finally:
        c.disconnect()


async def test_alarms_none_raised(v2):
    assert await v2.result("GET", f"/nodes/{NODE}/alarms") == []


async def test_alarms_in_2_3s_shape(gateway):
    v2 = V2(await gateway("v2", os_check_interval=1, sysmem_high_watermark=0.0))
    (alarm,) = await settle(lambda: v2.result("GET", f"/nodes/{NODE}/alarms"))
    assert set(alarm) == {"id", "severity", "title", "summary", "occurred_at"}
    assert alarm["id"] == "high_system_memory_usage" and alarm["severity"] == "warning"
    assert alarm["title"] == "System memory usage is higher than 0%" and DATETIME.match(alarm["occurred_at"])
    assert json.loads(alarm["summary"])["high_watermark"] == 0.0


async def test_unknown_node_is_2_3s_empty_404(v2):
    for path in (
        "/management/nodes/x@y",
        "/monitoring/nodes/x@y",
        "/monitoring/listeners/x@y",
        "/monitoring/metrics/x@y",
        "/monitoring/stats/x@y",
        "/nodes/x@y/clients",
        "/nodes/x@y/sessions",
        "/nodes/x@y/subscriptions",
        "/nodes/x@y/plugins",
        "/nodes/x@y/configs",
        "/nodes/x@y/alarms",
        "/nodes/x@y/clients/c1",
        "/nodes/x@y/sessions/c1",
        "/nodes/x@y/subscriptions/c1",
    ):
        r = await v2.call("GET", path, raw=True)
        assert r.status == 404 and await r.read() == b"" and r.content_type == "text/plain", path
    r = await v2.call("PUT", "/nodes/x@y/plugins/emq_retainer", json={"active": False}, raw=True)
    assert r.status == 404


def test_listener_listen_and_shutdown_forms():
    from adapters.v2.monitoring import listener_object
    from schemas.records import ListenerInfo

    info = ListenerInfo(
        id="tcp:default",
        type="tcp",
        name="default",
        bind="0.0.0.0",
        port=1883,
        enable=True,
        running=True,
        max_connections=10,
        current_connections=10,
        shutdown_count=2,
    )
    row = listener_object(info)
    assert row["listen"] == "1883" and row["protocol"] == "mqtt:tcp"
    assert row["shutdown_count"] == {"max_clients": 2} and row["max_clients"] == row["current_clients"] == 10
