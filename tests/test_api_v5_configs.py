"""`/api/v5` configuration: `/configs/...`, `/mqtt/retainer`, `/prometheus`, `/telemetry/status`, over
the real broker configuration (changes reach new MQTT connections, the other dialects, the alarms)."""

import logging

import attrs
import orjson
import pytest

from tests.mqtt_helpers import Client, wait_for


async def test_global_zone_shows_the_broker_settings_in_emqx_formats(v5):
    zone = await v5.json("get", "/configs/global_zone")
    mqtt = zone["mqtt"]
    assert mqtt["max_packet_size"] == "1MB" and mqtt["session_expiry_interval"] == "2h"
    assert mqtt["max_subscriptions"] == 1000 and mqtt["max_mqueue_len"] == 1000
    assert mqtt["server_keepalive"] == "disabled" and mqtt["await_rel_timeout"] == "5m"
    assert mqtt["ignore_loop_deliver"] is False and mqtt["idle_timeout"] == "15s"
    assert zone["durable_sessions"] == {"enable": False}
    assert "force_gc" not in zone  # an Erlang knob: left out, not faked


async def test_put_global_zone_applies_live_and_resets_what_it_leaves_out(v5):
    mqtt = (await v5.json("get", "/configs/global_zone"))["mqtt"]
    await v5.json("put", "/configs/global_zone", {"mqtt": {**mqtt, "max_inflight": 7, "max_mqueue_len": "infinity"}})
    cfg = await v5.gw.ctx.control.get_config()
    assert (cfg.max_inflight, cfg.max_mqueue_len) == (7, 0)
    c = v5.client("after-put")
    assert (await v5.json("get", "/clients/after-put"))["inflight_max"] == 7  # a new connection has it
    c.disconnect()
    # EMQX's PUT semantics: a field left out of a sent sub-object gets its default, not its old value.
    back = await v5.json("put", "/configs/global_zone", {"mqtt": {"max_inflight": 9}})
    assert back["mqtt"]["max_inflight"] == 9 and back["mqtt"]["max_mqueue_len"] == 1000
    # A sub-object not sent is left alone.
    await v5.json("put", "/configs/global_zone", {"durable_sessions": {"enable": False}})
    assert (await v5.gw.ctx.control.get_config()).max_inflight == 9


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"mqtt": {"max_inflight": 0}}, 400, "BAD_REQUEST"),  # below the schema's minimum
        ({"mqtt": {"session_expiry_interval": "2 fortnights"}}, 400, "UPDATE_FAILED"),
        ({"mqtt": {"max_packet_size": "1XB"}}, 400, "UPDATE_FAILED"),
        ({"mqtt": {"retry_interval": "1500ms"}}, 400, "UPDATE_FAILED"),  # whole seconds here
        ({"mqtt": {"max_clientid_len": 5}}, 400, "BAD_REQUEST"),
        ({"mqtt": {"strict_mode": True}}, 400, "BAD_REQUEST"),  # not a field of this document
        ({"mqtt": {"ignore_loop_deliver": True}}, 400, "NOT_SUPPORTED"),  # a fact: nothing else accepted
        ({"flapping_detect": {"enable": True}}, 400, "NOT_SUPPORTED"),
    ],
)
async def test_bad_global_zone_changes_nothing(v5, body, status, code):
    before = await v5.gw.ctx.control.get_config()
    answer = await v5.json("put", "/configs/global_zone", {"mqtt": {"max_inflight": 3}, **body}, status=status)
    assert answer["code"] == code, answer
    assert await v5.gw.ctx.control.get_config() == before


async def test_sys_topics_alarm_and_sysmon_roots(v5):
    sys_topics = await v5.json("get", "/configs/sys_topics")
    assert sys_topics["sys_event_messages"] == {
        "client_connected": True,
        "client_disconnected": True,
        "client_subscribed": False,
        "client_unsubscribed": False,
    }
    events = {"client_connected": False, "client_disconnected": False}
    put = await v5.json("put", "/configs/sys_topics", {"sys_msg_interval": "2m", "sys_event_messages": events})
    assert put["sys_msg_interval"] == "2m" and put["sys_heartbeat_interval"] == "30s"  # left out: default
    cfg = await v5.gw.ctx.control.get_config()
    assert (cfg.sys_interval, cfg.sys_heartbeat, cfg.presence_events) == (120, 30, False)
    # One switch here publishes both presence events: they must agree.
    split = {"sys_event_messages": {"client_connected": True, "client_disconnected": False}}
    assert (await v5.json("put", "/configs/sys_topics", split, status=400))["code"] == "NOT_SUPPORTED"

    alarm = await v5.json("put", "/configs/alarm", {"size_limit": 5, "validity_period": "1h"})
    assert alarm == {"actions": ["publish"], "size_limit": 5, "validity_period": "1h"}
    assert (await v5.gw.ctx.control.get_config()).alarm_validity_period == 3600

    sysmon = await v5.json("get", "/configs/sysmon")
    assert sysmon["os"]["sysmem_high_watermark"] == "70%"
    os_ = {"cpu_check_interval": "10s", "mem_check_interval": "10s", "cpu_high_watermark": "90%"}
    await v5.json("put", "/configs/sysmon", {"os": os_})
    cfg = await v5.gw.ctx.control.get_config()
    assert (cfg.os_check_interval, cfg.cpu_high_watermark, cfg.cpu_low_watermark) == (10, 90.0, 60.0)
    for bad in (
        {"os": {"cpu_check_interval": "10s", "mem_check_interval": "20s"}},  # one interval paces both here
        {"os": {"cpu_low_watermark": "95%"}},  # above the high mark
        {"os": {"cpu_high_watermark": "180%"}},
        {"vm": {}},  # the Erlang VM's monitor: not ours
    ):
        assert (await v5.json("put", "/configs/sysmon", bad, status=400))["code"] in (
            "NOT_SUPPORTED",
            "UPDATE_FAILED",
            "BAD_REQUEST",
        ), bad
    assert (await v5.gw.ctx.control.get_config()).os_check_interval == 10


async def test_log_level_applies_to_the_process(v5):
    root = logging.getLogger()
    before = root.level
    try:
        got = await v5.json("put", "/configs/log", {"console": {"level": "debug"}})
        assert got["console"] == {"enable": True, "level": "debug", "formatter": "text"}
        assert root.level == logging.DEBUG
        await v5.json("put", "/configs/log", {"console": {"level": "notice"}})
        assert root.level == 25 and not root.isEnabledFor(logging.INFO) and root.isEnabledFor(logging.WARNING)
        assert (await v5.json("put", "/configs/log", {"console": {"level": "loud"}}, status=400))["code"] == (
            "BAD_REQUEST"
        )
        body = {"console": {"level": "info", "formatter": "json"}}
        assert (await v5.json("put", "/configs/log", body, status=400))["code"] == "NOT_SUPPORTED"
        assert root.level == 25
    finally:
        root.setLevel(before)


async def test_configs_reset_and_the_hocon_listing(v5):
    await v5.json("put", "/configs/alarm", {"size_limit": 5, "validity_period": "1h"})
    await v5.json("post", "/configs_reset/alarm?conf_path=size_limit")
    assert await v5.json("get", "/configs/alarm") == {
        "actions": ["publish"],
        "size_limit": 1000,
        "validity_period": "1h",
    }
    await v5.json("post", "/configs_reset/alarm")
    assert (await v5.json("get", "/configs/alarm"))["validity_period"] == "1d"
    answer = await v5.json("post", "/configs_reset/alarm?conf_path=nothing.here", status=400)
    assert answer == {"code": "NO_DEFAULT_VALUE", "message": "No Default Value."}
    assert (await v5.json("post", "/configs_reset/dashboard", status=400))["code"] == "BAD_REQUEST"

    r = await v5.get("/configs?key=mqtt")
    assert r.status == 200 and r.content_type == "text/plain"
    hocon = orjson.loads(await r.read())  # the JSON form of HOCON
    assert list(hocon) == ["mqtt"] and hocon["mqtt"]["max_inflight"] == 32
    everything = orjson.loads(await (await v5.get("/configs")).read())
    assert {"mqtt", "sys_topics", "sysmon", "retainer", "prometheus"} <= set(everything)
    json_mode = await v5.json("get", "/configs?key=mqtt", headers={"Accept": "application/json"})
    assert set(json_mode) == {"alarm", "sys_topics", "sysmon", "log", "broker"}  # EMQX's JSON mode ignores key
    assert (await v5.json("get", "/configs", headers={"Accept": "image/png"}, status=400))["code"] == "INVALID_ACCEPT"
    assert (await v5.json("get", "/configs?node=x@y", status=404))["message"] == "Bad node x@y, reason not found"
    assert (await v5.json("get", "/configs?key=bridges", status=400))["code"] == "NOT_SUPPORTED"
    assert (await v5.json("get", "/configs?key=bogus", status=400))["code"] == "BAD_REQUEST"


async def test_session_history_and_sessions_count(v5):
    c = v5.client("counted")
    assert await v5.json("get", "/sessions_count") == 1
    await v5.json("put", "/configs/broker", {"session_history_retain": "1h"})
    c.disconnect()
    await v5.json("delete", "/clients/counted", status=404)  # clean session: gone with its connection
    assert await v5.json("get", "/sessions_count") == 0  # since 0: before the window, the registry only
    assert await v5.json("get", "/sessions_count?since=1") == 0
    import time

    since = int(time.time()) - 60
    assert await v5.json("get", f"/sessions_count?since={since}") == 1  # it ended within the window
    v5.client("counted")
    assert await v5.json("get", f"/sessions_count?since={since}") == 1  # one client id, counted once
    assert (await v5.json("get", "/sessions_count?since=-1", status=400))["code"] == "BAD_REQUEST"


async def test_retainer_config_switches_the_retainer(v5):
    doc = await v5.json("get", "/mqtt/retainer")
    assert doc["enable"] is True and doc["backend"]["max_retained_messages"] == 0
    assert doc["max_payload_size"] == "1MB"  # what max_packet_size allows
    await v5.json("put", "/mqtt/retainer", {**doc, "enable": False})
    pub = v5.client("pub")
    pub.publish("kept/not", b"x", qos=1, retain=True)
    assert (await v5.json("get", "/mqtt/retainer/messages"))["data"] == []
    assert (await v5.json("put", "/mqtt/retainer", {"enable": True})) == {**doc, "enable": True}
    pub.publish("kept/yes", b"x", qos=1, retain=True)
    wait_for(lambda: v5.broker.call(lambda: len(v5.broker.broker.retained)) == 1)
    for bad in ({"backend": {"max_retained_messages": 10}}, {"max_payload_size": "2MB"}, {"delivery_rate": "10/s"}):
        assert (await v5.json("put", "/mqtt/retainer", bad, status=400))["code"] == "NOT_SUPPORTED", bad


async def test_prometheus_config_and_basic_auth(v5):
    doc = await v5.json("get", "/prometheus")
    assert doc["enable_basic_auth"] is False and doc["push_gateway"] == {"enable": False}
    assert set(doc["collectors"].values()) == {"disabled"}
    assert (await v5.http.get("/api/v5/prometheus/stats")).status == 200  # open
    await v5.json("put", "/prometheus", {**doc, "enable_basic_auth": True})
    assert (await v5.http.get("/api/v5/prometheus/stats")).status == 401
    assert (await v5.get("/prometheus/stats")).status == 200  # with the API key
    assert (await v5.http.get("/api/v5/prometheus/data_integration")).status == 401
    legacy = {"enable": False, "interval": "15s", "vm_dist_collector": "disabled"}
    assert (await v5.json("put", "/prometheus", legacy))["enable_basic_auth"] is False  # legacy form: defaults
    assert (await v5.http.get("/api/v5/prometheus/stats")).status == 200
    assert (await v5.json("put", "/prometheus", {**legacy, "enable": True}, status=400))["code"] == "NOT_SUPPORTED"
    text = await (await v5.http.get("/api/v5/prometheus/data_integration")).text()
    assert "emqx_rules_count 0" in text


async def test_telemetry_is_honestly_off(v5):
    assert await v5.json("get", "/telemetry/status") == {"enable": False}
    assert await v5.json("put", "/telemetry/status", {"enable": False}) == {"enable": False}
    assert (await v5.json("put", "/telemetry/status", {"enable": True}, status=400))["code"] == "NOT_SUPPORTED"


async def test_max_mqueue_len_zero_means_no_limit(v5):
    await v5.json("put", "/configs/global_zone", {"mqtt": {"max_mqueue_len": 0}})
    sub = Client(v5.broker, "unbounded", clean=False)
    sub.subscribe("q/#", 1)
    sub.disconnect()
    pub = v5.client("pub")
    for i in range(5):
        pub.publish("q/x", str(i).encode(), qos=1)
    wait_for(lambda: v5.broker.call(lambda: len(v5.broker.broker.sessions["unbounded"].mqueue)) == 5)
    row = await v5.json("get", "/clients/unbounded")
    assert (row["mqueue_len"], row["mqueue_dropped"]) == (5, 0)


async def test_put_configs_takes_hocon_in_its_json_form_all_or_nothing(v5):
    async def put(body: bytes, query: str = ""):
        r = await v5.http.put(f"/api/v5/configs{query}", data=body, headers={**v5.auth, "Content-Type": "text/plain"})
        return r.status, await r.text()

    # merge (the default): the roots' other fields stay
    assert await put(orjson.dumps({"mqtt": {"max_inflight": 5}, "alarm": {"size_limit": 7}})) == (200, "")
    cfg = await v5.gw.ctx.control.get_config()
    assert (cfg.max_inflight, cfg.alarm_size_limit, cfg.max_mqueue_len) == (5, 7, 1000)
    await v5.json("put", "/configs/global_zone", {"mqtt": {"max_mqueue_len": 9}})
    # replace: a root sent is replaced whole, its left-out fields get their defaults
    assert (await put(orjson.dumps({"mqtt": {"max_inflight": 6}}), "?mode=replace"))[0] == 200
    cfg = await v5.gw.ctx.control.get_config()
    assert (cfg.max_inflight, cfg.max_mqueue_len) == (6, 1000)
    # what GET /configs writes, PUT /configs takes back (setting the log level to the one in force)
    text = await (await v5.get("/configs")).read()
    level = logging.getLogger().level
    try:
        assert (await put(text))[0] == 200
    finally:
        logging.getLogger().setLevel(level)
    before = await v5.gw.ctx.control.get_config()
    assert attrs.evolve(before, log_level=None) == cfg
    for body, code in (
        (b"mqtt { max_inflight = 3 }", "UPDATE_FAILED"),  # HOCON beyond its JSON form is not read
        (orjson.dumps({"mqtt": {"max_inflight": 3}, "alarm": {"size_limit": "many"}}), "BAD_REQUEST"),
        (orjson.dumps({"mqtt": {"max_inflight": 3}, "nonsense": {}}), "UPDATE_FAILED"),
        (orjson.dumps({"mqtt": {"max_inflight": 3}, "bridges": {}}), "NOT_SUPPORTED"),
        (orjson.dumps([1]), "UPDATE_FAILED"),
    ):
        status, text = await put(body)
        assert (status, orjson.loads(text)["code"]) == (400, code), body
    assert await v5.gw.ctx.control.get_config() == before  # nothing half-applied


async def test_data_integration_is_not_supported_rather_than_missing(v5):
    for method, path in (("get", "/rules"), ("post", "/bridges"), ("get", "/connectors/x"), ("put", "/actions/a")):
        answer = await getattr(v5, method)(path)
        assert answer.status == 400 and (await answer.json())["code"] == "NOT_SUPPORTED", (method, path)
