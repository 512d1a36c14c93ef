"""`/api/v4`, NanoMQ flavor: every endpoint and result code over real HTTP against the real broker."""

import json
import re
import socket

import aiohttp
import pytest

from schemas.records import ListenerConfig
from tests.mqtt_helpers import Client, PacketTypes, v5props


def basic(user, password):
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


AUTH = basic("admin", "public")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def get(gw, path, auth=AUTH, **kw):
    kw["headers"] = {**(auth or {}), **kw.get("headers", {})}
    r = await gw.http.get("/api/v4" + path, **kw)
    return r.status, await r.json(content_type=None)


async def post(gw, path, body=None, auth=AUTH, **kw):
    kw["headers"] = {**(auth or {}), **kw.get("headers", {})}
    if body is not None:
        kw["json"] = body
    r = await gw.http.post("/api/v4" + path, **kw)
    return r.status, await r.json(content_type=None)


@pytest.fixture
async def gw(gateway):
    return await gateway("v4")


@pytest.fixture
def connect(gw):
    """paho clients on the gateway's broker, disconnected at teardown."""
    made = []

    def make(*args, **kw):
        made.append(Client(gw.broker, *args, **kw))
        return made[-1]

    yield make
    for c in made:
        c.disconnect()


def subscribed(connect, plan: dict) -> None:
    for clientid, filters in plan.items():
        c = connect(clientid)
        for topic, qos in filters:
            c.subscribe(topic, qos)


async def test_endpoint_list_and_routing(gw):
    status, body = await get(gw, "")
    assert status == 200 and body["code"] == 0
    paths = {(e["method"], e["path"]) for e in body["data"]}
    assert ("GET", "/brokers/") in paths and ("GET", "/clients/:clientid") in paths
    assert ("POST", "/ctrl/:action") in paths and ("GET", "/topic-tree/") in paths
    assert set(body["data"][0]) == {"path", "name", "method", "descr"}
    assert (await get(gw, "/"))[0] == 200
    assert await get(gw, "/?a=b") == (404, {"code": 102})
    assert await get(gw, "/nope") == (404, {"code": 102})
    r = await gw.http.delete("/api/v4/brokers", headers=AUTH)
    assert r.status == 405 and await r.json() == {"code": 102}
    # a trailing slash is ignored, as NanoMQ ignores it
    assert (await get(gw, "/brokers/"))[0] == 200


async def test_basic_auth_codes(gw):
    assert await get(gw, "/brokers", auth=None) == (401, {"code": 104})
    assert await get(gw, "/brokers", auth=basic("admin", "nope")) == (401, {"code": 103})
    assert await get(gw, "/brokers", auth=None, headers={"Authorization": "Basic %%%"}) == (401, {"code": 108})
    assert await get(gw, "/brokers", auth=None, headers={"Authorization": "Bearer x"}) == (401, {"code": 104})


async def test_error_content_type_echoes_request(gw):
    r = await gw.http.get("/api/v4/nope", headers={**AUTH, "Content-Type": "text/x-mine"})
    assert r.status == 404 and r.headers["Content-Type"] == "text/x-mine"
    assert json.loads(await r.read()) == {"code": 102}


async def test_brokers_and_nodes(gw):
    c = Client(gw.broker)
    status, body = await get(gw, "/brokers")
    [b] = body["data"]
    assert set(b) == {"datetime", "node_status", "sysdescr", "uptime", "version"}
    assert b["node_status"] == "Running" and b["sysdescr"] == "NanoMQ Broker"
    assert re.fullmatch(r"\d+ Hours, \d+ minutes, \d+ seconds", b["uptime"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", b["datetime"])
    _, body = await get(gw, "/nodes")
    assert body["data"][0]["connections"] == 1 and set(body["data"][0]) == {
        "connections",
        "node_status",
        "uptime",
        "version",
    }
    c.disconnect()


async def test_clients_filters_and_shapes(gw, connect):
    connect("cli-a", username="alvin", v5=True)
    connect("cli-b", will=("w/t", b"bye", 0, False))
    _, body = await get(gw, "/clients")
    rows = {r["client_id"]: r for r in body["data"]}
    assert rows["cli-a"] == {
        "client_id": "cli-a",
        "username": "alvin",
        "keepalive": 60,
        "conn_state": "connected",
        "clean_start": True,
        "proto_name": "MQTT",
        "proto_ver": 5,
    }
    assert rows["cli-b"]["username"] == "" and rows["cli-b"]["will_topic"] == "w/t"
    assert rows["cli-b"]["will_msg"] == "bye" and rows["cli-b"]["proto_ver"] == 4
    for q, expect in (
        ("clientid=cli-a", ["cli-a"]),
        ("client_id=cli-b", ["cli-b"]),
        ("username=alvin", ["cli-a"]),
        ("proto_ver=5", ["cli-a"]),
        ("conn_state=CONNECTED", ["cli-a", "cli-b"]),
        ("conn_state=disconnected", []),
        ("clean_start=true", ["cli-a", "cli-b"]),
        ("proto_name=MQTT&proto_ver=4", ["cli-b"]),
        ("proto_name=CoAP", []),
        ("username=", ["cli-a", "cli-b"]),
    ):
        _, body = await get(gw, "/clients?" + q)
        assert sorted(r["client_id"] for r in body["data"]) == expect, q
    for q in ("_page=1", "_limit=10", "conn_state=idle", "clean_start=yes", "proto_ver=6"):
        assert await get(gw, "/clients?" + q) == (400, {"code": 108}), q
    _, body = await get(gw, "/clients/cli-a")
    assert [r["client_id"] for r in body["data"]] == ["cli-a"]
    assert await get(gw, "/clients/ghost") == (200, {"code": 0, "data": []})
    _, body = await get(gw, "/clients/username/alvin")
    assert [r["client_id"] for r in body["data"]] == ["cli-a"]
    assert await get(gw, "/clients/username/alvin?bogus=1") == (400, {"code": 108})


async def test_subscriptions_and_filters(gw, connect):
    subscribed(connect, {"sub-a": [("a/b", 1), ("$share/g1/x/#", 2)], "sub-b": [("a/b", 0)]})
    _, body = await get(gw, "/subscriptions")
    assert {"clientid": "sub-a", "topic": "a/b", "qos": 1} in body["data"]
    assert len(body["data"]) == 3
    for q, n in (("clientid=sub-a", 2), ("topic=a/b", 2), ("qos=2", 1), ("share=g1", 1), ("clientid=sub-b&qos=1", 0)):
        _, body = await get(gw, "/subscriptions?" + q)
        assert len(body["data"]) == n, q
    assert await get(gw, "/subscriptions?qos=5") == (400, {"code": 108})
    _, body = await get(gw, "/subscriptions/sub-b")
    assert body == {"code": 0, "data": [{"clientid": "sub-b", "topic": "a/b", "qos": 0}]}
    assert await get(gw, "/subscriptions/ghost") == (200, {"code": 0, "data": []})


async def test_topic_tree_from_real_subscriptions(gw, connect):
    subscribed(connect, {"tt-a": [("a/b", 0)], "tt-b": [("a/+", 0), ("x", 0)]})
    _, body = await get(gw, "/topic-tree")
    levels = body["data"]
    assert levels[0] == [{"topic": "", "cld_cnt": 2}]
    assert sorted(levels[1], key=lambda n: n["topic"]) == [
        {"topic": "a", "cld_cnt": 2},
        {"topic": "x", "cld_cnt": 0, "clientid": ["tt-b"]},
    ]
    assert sorted(levels[2], key=lambda n: n["topic"]) == [
        {"topic": "+", "cld_cnt": 0, "clientid": ["tt-b"]},
        {"topic": "b", "cld_cnt": 0, "clientid": ["tt-a"]},
    ]
    assert levels[-1] == []


async def test_publish_plain_base64_properties_and_codes(gw):
    sub = Client(gw.broker, "p-sub", v5=True)
    sub.subscribe("p/#", 1)
    assert await post(gw, "/mqtt/publish", {"topic": "p/1", "payload": "hi", "qos": 1}) == (200, {"code": 0})
    m = sub.expect()
    assert (m.topic, m.payload, m.qos) == ("p/1", b"hi", 1)
    await post(gw, "/mqtt/publish", {"topics": "p/2,p/3", "payload": "aGk=", "decoding": "base64"})
    assert sorted((m.topic, m.payload) for m in (sub.expect(), sub.expect())) == [("p/2", b"hi"), ("p/3", b"hi")]
    await post(gw, "/mqtt/publish", {"topic": "p/4", "payload": "hi", "encoding": "base64", "retain": True})
    m = sub.expect()
    assert m.payload == b"aGk="
    props = {
        "payload_format_indicator": 1,
        "message_expiry_interval": 60,
        "response_topic": "r/t",
        "correlation_data": "cd",
        "content_type": "text/plain",
        "user_properties": {"k": "v"},
    }
    await post(gw, "/mqtt/publish", {"topic": "p/5", "payload": "x", "properties": props})
    p = sub.expect().properties
    assert p.ResponseTopic == "r/t" and p.CorrelationData == b"cd" and p.ContentType == "text/plain"
    assert p.UserProperty == [("k", "v")] and p.PayloadFormatIndicator == 1
    # NanoMQ answers publish validation errors with HTTP 200
    assert await post(gw, "/mqtt/publish", {"topic": "p/6"}) == (200, {"code": 108})
    assert await post(gw, "/mqtt/publish", {"payload": "x"}) == (200, {"code": 108})
    assert await post(gw, "/mqtt/publish", {"topic": "p/#", "payload": "x"}) == (200, {"code": 108})
    assert await post(gw, "/mqtt/publish", {"topic": "p/7", "payload": "x", "qos": 3}) == (200, {"code": 108})
    assert await post(gw, "/mqtt/publish", [1]) == (400, {"code": 109})
    assert await post(gw, "/mqtt/publish", data=b"{not json") == (400, {"code": 109})
    status, body = await post(gw, "/mqtt/publish_batch", [{"topic": "p/8", "payload": "a"}, {"payload": "b"}])
    assert body == {"code": 0, "data": [{"topic": "p/8", "code": 0}, {"code": 108}]}
    assert sub.expect().topic == "p/8"
    assert await post(gw, "/mqtt/publish_batch", {"topic": "x"}) == (400, {"code": 109})
    sub.disconnect()


async def test_metrics_and_prometheus(gw):
    c = Client(gw.broker)
    status, body = await get(gw, "/metrics")
    assert "code" not in body and body["metrics"] == [] and body["connections"] == 1
    assert re.fullmatch(r"\d+\.\d\d%", body["cpuinfo"]) and body["memory"].isdigit()
    r = await gw.http.get("/api/v4/prometheus", headers=AUTH)
    text = await r.text()
    assert r.content_type == "text/plain"
    assert "# TYPE nanomq_connections_count gauge" in text and "\nnanomq_connections_count 1\n" in text
    for name in (
        "nanomq_sessions_max",
        "nanomq_topics_count",
        "nanomq_subscribers_count",
        "nanomq_messages_received",
        "nanomq_messages_sent",
        "nanomq_messages_dropped",
        "nanomq_memory_usage",
        "nanomq_cpu_usage",
    ):
        assert f"\n{name} " in text
    c.disconnect()


async def test_configuration_round_trip_and_sections(gw):
    status, body = await get(gw, "/configuration")
    doc = body["data"]
    for key in (
        "url",
        "num_taskq_thread",
        "max_taskq_thread",
        "parallel",
        "property_size",
        "msq_len",
        "allow_anonymous",
        "daemon",
        "tls",
        "websocket",
        "http_server",
        "bridge",
    ):
        assert key in doc
    assert doc["url"] == f"nmq-tcp://127.0.0.1:{gw.broker.port()}"
    assert await post(gw, "/configuration", {"data": doc}) == (200, {"code": 0})
    assert (await get(gw, "/configuration"))[1]["data"] == doc
    _, body = await get(gw, "/configuration/basic")
    assert body["data"]["basic"]["msq_len"] == doc["msq_len"] and "tls" not in body["data"]["basic"]
    # the sections are NanoMQ 0.25's: its one bridge as `bridge.nodes`
    _, body = await get(gw, "/configuration/bridge")
    [node] = body["data"]["bridge"]["nodes"]
    assert node["enable"] == doc["bridge"]["bridge_mode"] and node["connector"]["server"] == doc["bridge"]["address"]
    assert await get(gw, "/configuration/webhook") == (404, {"code": 101, "data": {}})
    # the sectioned shape is accepted too
    assert await post(gw, "/configuration", {"data": {"basic": {"qos_duration": 20}}}) == (200, {"code": 0})
    assert await post(gw, "/configuration/tls", {"data": {"tls": {"verify_peer": True}}}) == (200, {"code": 0})
    _, body = await get(gw, "/configuration")
    assert body["data"]["qos_duration"] == 20 and body["data"]["tls"]["verify_peer"] is True


async def test_invalid_configuration_changes_nothing(gw, tmp_path):
    before = (await get(gw, "/configuration"))[1]["data"]
    for bad in (
        {"msq_len": "many"},
        {"allow_anonymous": 1},
        {"url": "http://x"},
        {"nonsense": 1},
        {"bridge": {"proto_ver": 7}},
        {"bridge": {"forwards": ["a/#/b"]}},
        {"http_server": {"auth_type": "jwt"}},
        {"tls": {"enable": True}},
        {"allow_anonymous": False, "msq_len": -1},
    ):
        assert await post(gw, "/configuration", {"data": bad}) == (400, {"code": 108}), bad
    # the account store refuses an empty password: 108, and nothing else changed either
    assert await post(gw, "/configuration", {"data": {"msq_len": 5, "http_server": {"password": ""}}}) == (
        400,
        {"code": 108},
    )
    for raw in (b"[]", b"{", b'{"data": 3}'):
        assert await post(gw, "/configuration", data=raw) == (400, {"code": 109}), raw
    assert (await get(gw, "/configuration"))[1]["data"] == before
    cfg = await gw.ctx.control.get_config()
    assert cfg.allow_anonymous is True
    assert not (tmp_path / "nanomq.json").exists()


async def test_live_settings_apply_at_once_and_persist(gw, tmp_path):
    status, body = await post(
        gw,
        "/configuration",
        {
            "data": {
                "allow_anonymous": False,
                "msq_len": 7,
                "max_packet_size": 2,
                "keepalive_backoff": 2.0,
                "http_server": {"username": "ops", "password": "s3cret-pass"},
            }
        },
    )
    assert (status, body) == (200, {"code": 0})
    cfg = await gw.ctx.control.get_config()
    assert (cfg.allow_anonymous, cfg.max_mqueue_len, cfg.max_packet_size, cfg.keepalive_multiplier) == (
        False,
        7,
        2048,
        2.0,
    )
    c = Client(gw.broker, connect=False)
    _, rc, _ = c.connect(expect_ok=False)
    assert rc.is_failure  # anonymous refused at once
    c.c.loop_stop()
    assert (await get(gw, "/brokers", auth=basic("ops", "s3cret-pass")))[0] == 200
    saved = json.loads((tmp_path / "nanomq.json").read_text())
    assert saved["http_server"]["username"] == "ops"
    # only NanoMQ's own keys: the broker's are its configuration's (persisted with it), never copies
    assert "msq_len" not in saved and "url" not in saved
    assert (tmp_path / "nanomq.json").stat().st_mode & 0o777 == 0o600
    # reload: NanoMQ's hot-updatable subset
    _, body = await get(gw, "/reload")
    assert body["data"]["msq_len"] == 7 and body["data"]["bridge_mode"] is False
    assert set(body["data"]) == {
        "property_size",
        "max_packet_size",
        "client_max_packet_size",
        "msq_len",
        "qos_duration",
        "keepalive_backoff",
        "allow_anonymous",
        "enable_mqtt_stream",
        "bridge_mode",
    }
    assert await post(gw, "/reload", {"data": {"allow_anonymous": True, "msq_len": 9}}) == (200, {"code": 0})
    assert (await gw.ctx.control.get_config()).max_mqueue_len == 9
    assert await post(gw, "/reload", {"data": {"url": "nmq-tcp://0.0.0.0:1"}}) == (400, {"code": 108})
    assert await post(gw, "/reload", data=b"x") == (400, {"code": 109})


async def test_saved_document_is_loaded_at_start(gateway, tmp_path):
    port = free_port()
    gw = await gateway("v4", listeners=[ListenerConfig(type="tcp", bind="127.0.0.1", port=port)])
    await post(gw, "/configuration", {"data": {"msq_len": 11, "num_taskq_thread": 8}})
    await gw.dialects["v4"].stop()
    await gw.ctx.control.stop()  # the "process" ends; a new one starts on the same data_dir
    # ... with the broker's configuration as another dialect left it (the state store's to restore)
    gw2 = await gateway("v4", listeners=[ListenerConfig(type="tcp", bind="127.0.0.1", port=port)], max_mqueue_len=50)
    _, body = await get(gw2, "/configuration")
    assert body["data"]["num_taskq_thread"] == 8  # NanoMQ's own key: from nanomq.json
    assert body["data"]["msq_len"] == 50  # the broker's: never resurrected from the file
    assert (await gw2.ctx.control.get_config()).max_mqueue_len == 50


async def test_ctrl_stop_restart_with_clients_reconnecting(gateway):
    port = free_port()
    gw = await gateway("v4", listeners=[ListenerConfig(type="tcp", bind="127.0.0.1", port=port)])
    c = Client(gw.broker, "survivor")
    c.c.reconnect_delay_set(0.05, 0.2)
    assert await post(gw, "/ctrl/stop") == (200, {"code": 0})
    assert c.disconnects.get(timeout=5) is not None
    _, body = await get(gw, "/brokers")
    assert body["data"][0]["node_status"] == "Stopped"
    assert (await get(gw, "/nodes"))[1]["data"][0]["node_status"] == "Stopped"
    assert await post(gw, "/mqtt/publish", {"topic": "t", "payload": "x"}) == (200, {"code": 102})
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert await post(gw, "/ctrl/restart") == (200, {"code": 0})
    c.connack.get(timeout=5)  # paho reconnected by itself
    _, body = await get(gw, "/clients/survivor")
    assert body["data"][0]["conn_state"] == "connected"
    assert (await get(gw, "/brokers"))[1]["data"][0]["node_status"] == "Running"
    assert await post(gw, "/ctrl/reboot") == (404, {"code": 101})
    c.disconnect()


async def test_listener_url_waits_for_restart(gateway):
    old, new = free_port(), free_port()
    gw = await gateway("v4", listeners=[ListenerConfig(type="tcp", bind="127.0.0.1", port=old)])
    assert await post(gw, "/configuration", {"data": {"url": f"nmq-tcp://127.0.0.1:{new}"}}) == (200, {"code": 0})
    socket.create_connection(("127.0.0.1", old), timeout=1).close()  # still the old one
    assert await post(gw, "/ctrl/restart") == (200, {"code": 0})
    socket.create_connection(("127.0.0.1", new), timeout=1).close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", old), timeout=1).close()


async def test_emqx4_only_routes_served_in_their_own_shape(gw):
    c = Client(gw.broker, "k1")
    status, body = await get(gw, "/stats")
    assert body["data"][0]["stats"]["connections.count"] == 1
    assert (await post(gw, "/mqtt/subscribe", {"clientid": "k1", "topic": "q/1"}))[1] == {"code": 0}
    _, body = await get(gw, "/subscriptions/k1")
    assert body["data"] == [{"clientid": "k1", "topic": "q/1", "qos": 0}]  # a shared path: NanoMQ's shape
    r = await gw.http.delete("/api/v4/clients/k1", headers=AUTH)
    assert await r.json() == {"code": 0}
    r = await gw.http.delete("/api/v4/clients/k1", headers=AUTH)
    assert r.status == 200 and await r.json() == {"code": 112, "message": "not_found"}
    r = await gw.http.get("/api/v4/nodes/elsewhere@x/stats", headers=AUTH)
    assert r.status == 404 and await r.text() == "Not found."  # EMQX 4's own 404 for an unknown node
    c.disconnect()
    # credentials stay the NanoMQ flavor's
    assert await get(gw, "/stats", auth=None) == (401, {"code": 104})


async def test_tls_and_websocket_sections_take_effect_on_restart(gateway, tmp_path):
    import ssl
    import subprocess

    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
    )
    gw = await gateway("v4")
    tls_port, ws_port = free_port(), free_port()
    status, body = await post(
        gw,
        "/configuration",
        {
            "data": {
                "tls": {
                    "enable": True,
                    "url": f"tls+nmq-tcp://127.0.0.1:{tls_port}",
                    "key": str(key),
                    "cert": str(crt),
                },
                "websocket": {"url": f"nmq-ws://127.0.0.1:{ws_port}/mqtt"},
            }
        },
    )
    assert (status, body) == (200, {"code": 0})
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
    assert await post(gw, "/ctrl/restart") == (200, {"code": 0})
    ctx = ssl.create_default_context(cafile=str(crt))
    with socket.create_connection(("127.0.0.1", tls_port), timeout=2) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version()
    c = Client(gw.broker, transport="ws")
    assert c.port == ws_port
    c.disconnect()


async def test_restart_onto_a_taken_port_is_500_101(gateway):
    gw = await gateway("v4")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert (await post(gw, "/configuration", {"data": {"url": f"nmq-tcp://127.0.0.1:{port}"}}))[1] == {"code": 0}
        assert await post(gw, "/ctrl/restart") == (500, {"code": 101})


async def test_qos_duration_property_size_client_max_packet_size_apply_at_once(gw, connect):
    doc = (await get(gw, "/configuration"))[1]["data"]
    # the broker's own values; its "no limit" as the largest value that means as much
    assert (doc["qos_duration"], doc["property_size"], doc["client_max_packet_size"]) == (30, 131070, 262144)
    assert await post(
        gw, "/configuration", {"data": {"qos_duration": 7, "property_size": 16, "client_max_packet_size": 1}}
    ) == (200, {"code": 0})
    cfg = await gw.ctx.control.get_config()
    assert (cfg.retry_interval, cfg.max_user_property_size, cfg.client_max_packet_size) == (7, 16, 1024)
    _, body = await get(gw, "/reload")
    assert (body["data"]["qos_duration"], body["data"]["property_size"], body["data"]["client_max_packet_size"]) == (
        7,
        16,
        1,
    )
    sub = connect("lim-sub")
    sub.subscribe("lim/#", 1)
    pub = connect("lim-pub", v5=True)
    pub.publish("lim/small", b"s", qos=1)
    assert sub.expect().payload == b"s"
    pub.publish("lim/big", b"b" * 2000, qos=1)
    sub.expect_none()  # over 1 KB for a client that announced no limit
    big = v5props(PacketTypes.PUBLISH, UserProperty=[("name", "value-of-17-bytes")])
    pub.publish("lim/prop", b"p", properties=big, wait=False)
    assert pub.disconnects.get(timeout=5).value == 0x95
    # /reload takes the same keys; the "no limit" values set 0 again
    assert await post(
        gw, "/reload", {"data": {"qos_duration": 2**31 - 1, "property_size": 131070, "client_max_packet_size": 262144}}
    ) == (200, {"code": 0})
    cfg = await gw.ctx.control.get_config()
    assert (cfg.retry_interval, cfg.max_user_property_size, cfg.client_max_packet_size) == (0, 0, 0)
    sub2 = connect("lim-sub2")
    sub2.subscribe("lim/#", 1)
    pub2 = connect("lim-pub2", v5=True)
    pub2.publish("lim/prop", b"p", qos=1, properties=big)  # no limit now
    assert sub.expect().payload == b"p" and sub2.expect().payload == b"p"
    pub2.publish("lim/big", b"b" * 2000, qos=1)
    assert sub2.expect().payload == b"b" * 2000
    sub.expect_none()  # connected under the 1 KB limit: keeps it
    for bad in ({"qos_duration": 0}, {"property_size": 0}, {"client_max_packet_size": 0}):
        assert await post(gw, "/configuration", {"data": bad}) == (400, {"code": 108}), bad


@pytest.mark.parametrize(
    "overrides",
    [{}, {"retry_interval": 0, "max_user_property_size": 500, "client_max_packet_size": 4096, "max_mqueue_len": 77}],
)
async def test_get_then_post_same_document_changes_nothing(gateway, overrides):
    gw = await gateway("v4", **overrides)
    before = await gw.ctx.control.get_config()
    doc = (await get(gw, "/configuration"))[1]["data"]
    if overrides:
        assert (doc["qos_duration"], doc["property_size"], doc["client_max_packet_size"]) == (2**31 - 1, 500, 4)
    assert await post(gw, "/configuration", {"data": doc}) == (200, {"code": 0})
    assert await gw.ctx.control.get_config() == before
    assert (await get(gw, "/configuration"))[1]["data"] == doc


async def test_topic_tree_shows_shared_subscriptions_under_their_share_levels(gw, connect):
    subscribed(connect, {"sh-1": [("$share/g1/a/b", 1)], "sh-2": [("$share/g1/a/b", 0)], "plain": [("a/b", 0)]})
    levels = (await get(gw, "/topic-tree"))[1]["data"]
    assert levels[0] == [{"topic": "", "cld_cnt": 2}]  # `a` and `$share`
    by_level = [{n["topic"]: n for n in level} for level in levels]
    assert by_level[1]["$share"] == {"topic": "$share", "cld_cnt": 1}
    assert by_level[2]["g1"] == {"topic": "g1", "cld_cnt": 1}
    assert by_level[2]["b"] == {"topic": "b", "cld_cnt": 0, "clientid": ["plain"]}
    assert by_level[3]["a"] == {"topic": "a", "cld_cnt": 1}
    assert by_level[4]["b"] == {"topic": "b", "cld_cnt": 0, "clientid": ["sh-1", "sh-2"]}
    assert levels[-1] == []


async def test_prometheus_counts_subscribing_clients_and_never_a_max_below_its_value(gw, connect):
    subscribed(connect, {"p-1": [("a", 0), ("b", 0), ("$share/g/c", 0)], "p-2": [("a", 1)]})
    connect("p-idle")

    async def gauges():
        text = await (await gw.http.get("/api/v4/prometheus", headers=AUTH)).text()
        return {k: float(v) for k, v in (line.split() for line in text.splitlines() if not line.startswith("#"))}

    first = await gauges()
    assert first["nanomq_subscribers_count"] == 2  # clients with a subscription, not subscriptions
    assert first["nanomq_subscribers_max"] >= 2
    for _ in range(3):
        g = await gauges()
        for what in ("memory_usage", "cpu_usage", "subscribers", "connections", "sessions", "topics"):
            count = "count" if what in ("subscribers", "connections", "sessions", "topics") else None
            value = g[f"nanomq_{what}_{count}"] if count else g[f"nanomq_{what}"]
            peak = g[f"nanomq_{what}_max"] if count else g[f"nanomq_{what}_max"]
            assert peak >= value, (what, value, peak)


async def test_reload_takes_nanomq_documented_example(gw):
    # NanoMQ's own documented request: the settings wrapped in a second "data", keepalive_backoff in
    # thousandths (1250 = a multiplier of 1.25).
    example = {
        "data": {
            "data": {
                "property_size": 32,
                "max_packet_size": 1024,
                "client_max_packet_size": 1024,
                "msq_len": 4096,
                "qos_duration": 20,
                "keepalive_backoff": 1250,
                "allow_anonymous": True,
            }
        }
    }
    assert await post(gw, "/reload", example) == (200, {"code": 0})
    cfg = await gw.ctx.control.get_config()
    assert (cfg.keepalive_multiplier, cfg.max_mqueue_len, cfg.retry_interval, cfg.max_packet_size) == (
        1.25,
        4096,
        20,
        1024 * 1024,
    )
    assert (await get(gw, "/reload"))[1]["data"]["keepalive_backoff"] == 1.25
    assert await post(gw, "/reload", {"data": {"keepalive_backoff": 1.5}}) == (200, {"code": 0})
    assert (await gw.ctx.control.get_config()).keepalive_multiplier == 1.5
    for bad in (50, 20000, 0.1):  # neither a multiplier of 1 to 10 nor its thousandths
        assert await post(gw, "/reload", {"data": {"keepalive_backoff": bad}}) == (400, {"code": 108}), bad
    assert (await gw.ctx.control.get_config()).keepalive_multiplier == 1.5


async def test_configuration_in_nanomq_025_sections(gw, tmp_path):
    flat = (await get(gw, "/configuration"))[1]["data"]
    sections = (await get(gw, "/configuration?layout=sections"))[1]["data"]
    assert set(sections) == {"basic", "tls", "auth", "auth_http", "websocket", "http_server", "sqlite", "bridge"}
    assert (sections["auth"], sections["auth_http"]) == ([], {"enable": False})
    assert sections["basic"]["msq_len"] == flat["msq_len"] and "tls" not in sections["basic"]
    assert sections["sqlite"] == {"enable": True, "mounted_file_path": str(tmp_path)}
    assert (await get(gw, "/configuration/sqlite"))[1]["data"] == {"sqlite": sections["sqlite"]}
    [node] = sections["bridge"]["nodes"]
    assert node["enable"] is False and node["forwards"] == []
    # POSTed back in the same form: nothing changes
    before = await gw.ctx.control.get_config()
    assert await post(gw, "/configuration", {"data": sections}) == (200, {"code": 0})
    assert await gw.ctx.control.get_config() == before
    assert (await get(gw, "/configuration"))[1]["data"] == flat
    # a bridge node in 0.25's form is the document's one bridge
    node = {
        **node,
        "connector": {**node["connector"], "server": "mqtt-tcp://127.0.0.1:1", "keepalive": 30},
        "forwards": [{"remote_topic": "up/#", "local_topic": "up/#"}],
        "subscription": [{"remote_topic": "down/1", "local_topic": "down/1", "qos": 1}],
    }
    assert await post(gw, "/configuration/bridge", {"data": {"bridge": {"nodes": [node]}}}) == (200, {"code": 0})
    bridge = (await get(gw, "/configuration"))[1]["data"]["bridge"]
    assert (bridge["address"], bridge["keepalive"], bridge["forwards"]) == ("mqtt-tcp://127.0.0.1:1", 30, ["up/#"])
    assert bridge["subscription"] == [{"topic": "down/1", "qos": 1}]
    renamed = {**node, "forwards": [{"remote_topic": "up/#", "local_topic": "mine/#"}]}
    for bad in (
        {"bridge": {"nodes": [node, node]}},  # one bridge here
        {"bridge": {"nodes": [renamed]}},  # topics are bridged as they are
        {"sqlite": {"enable": False}},  # the state is always in SQLite
        {"sqlite": {"disk_cache_size": 10}},
    ):
        assert await post(gw, "/configuration", {"data": bad}) == (400, {"code": 108}), bad
    assert await get(gw, "/configuration/no_such_section") == (404, {"code": 101, "data": {}})
