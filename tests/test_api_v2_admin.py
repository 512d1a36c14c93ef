"""Plugins (real feature toggles), dashboard users, login, password change and configs."""

from __future__ import annotations

import attrs

from schemas.records import DASHBOARD_ACCOUNTS
from tests.mqtt_helpers import Client
from tests.v2_helpers import NODE, V2

PRESENCE = "$SYS/brokers/+/clients/+/connected"


def _plugin(plugins, name):
    return next(p for p in plugins if p["name"] == name)


async def test_plugins_list_only_real_features(v2):
    plugins = await v2.result("GET", f"/nodes/{NODE}/plugins")
    features = await v2.gw.ctx.control.features()
    assert len(plugins) == len(features)
    assert {p["name"] for p in plugins} >= {"emq_retainer", "emq_modules"}
    for p in plugins:
        assert set(p) == {"name", "version", "description", "active"} and isinstance(p["active"], bool)
    assert _plugin(plugins, "emq_retainer") == {
        "name": "emq_retainer",
        "version": features[0].version,
        "description": "EMQ Retainer",
        "active": True,
    }


async def test_retainer_toggle_is_real_with_110_111(v2):
    path = f"/nodes/{NODE}/plugins/emq_retainer"
    assert await v2.code("PUT", path, json={"active": True}) == {"code": 110, "message": "already_started"}
    assert await v2.result("PUT", path, json={"active": False}) == []
    assert await v2.code("PUT", path, json={"active": False}) == {"code": 111, "message": "not_started"}
    assert not _plugin(await v2.result("GET", f"/nodes/{NODE}/plugins"), "emq_retainer")["active"]
    await v2.result("POST", "/mqtt/publish", json={"topic": "ret/off", "payload": "x", "retain": True})
    c = Client(v2.broker)
    c.subscribe("ret/#")
    c.expect_none()
    await v2.result("PUT", path, json={"active": True})
    await v2.result("POST", "/mqtt/publish", json={"topic": "ret/on", "payload": "y", "retain": True})
    c2 = Client(v2.broker)
    c2.subscribe("ret/on")
    assert c2.expect().payload == b"y"
    # The default publisher id is `http`.
    assert (await v2.gw.ctx.control.get_retained("ret/on")).from_clientid == "http"
    c.disconnect()
    c2.disconnect()


async def test_modules_toggle_presence_events(v2):
    watcher = Client(v2.broker)
    watcher.subscribe(PRESENCE)
    Client(v2.broker, "seen").disconnect()
    assert watcher.expect().topic.endswith("/clients/seen/connected")
    await v2.result("PUT", f"/nodes/{NODE}/plugins/emq_modules", json={"active": False})
    Client(v2.broker, "unseen").disconnect()
    watcher.expect_none()
    watcher.disconnect()


async def test_auth_username_plugin_checks_mqtt_logins_against_the_accounts(v2):
    path = f"/nodes/{NODE}/plugins/emq_auth_username"
    assert not _plugin(await v2.result("GET", f"/nodes/{NODE}/plugins"), "emq_auth_username")["active"]
    await v2.result("PUT", path, json={"active": True})
    bad = Client(v2.broker, username="admin", password="nope", connect=False)
    _flags, rc, _p = bad.connect(expect_ok=False)
    assert rc.is_failure
    bad.c.loop_stop()
    Client(v2.broker, username="admin", password="public").disconnect()
    await v2.result("PUT", path, json={"active": False})
    Client(v2.broker).disconnect()


async def test_auth_username_plugin_is_the_chains_dashboard_accounts_authenticator(v2):
    """One switch, two doors: the plugin changes the chain as an API call to the chain would (the broker
    tells its observers, so the change is kept), and a change to the chain is what the plugin shows."""
    control = v2.gw.ctx.control
    path = f"/nodes/{NODE}/plugins/emq_auth_username"
    chains: list[list[str]] = []

    def seen(event, **data):
        if event == "authn.chain":
            chains.append([c.id for c in data["configs"] if c.enable])

    v2.broker.call(v2.broker.broker.observe, seen)
    await v2.result("PUT", path, json={"active": True})
    assert (await control.get_authenticator(DASHBOARD_ACCOUNTS)).enable
    assert DASHBOARD_ACCOUNTS in chains[-1]
    current = await control.get_authenticator(DASHBOARD_ACCOUNTS)
    await control.update_authenticator(DASHBOARD_ACCOUNTS, attrs.evolve(current, enable=False))
    assert not _plugin(await v2.result("GET", f"/nodes/{NODE}/plugins"), "emq_auth_username")["active"]
    assert DASHBOARD_ACCOUNTS not in chains[-1]


async def test_plugin_toggle_errors(v2):
    assert await v2.code("PUT", f"/nodes/{NODE}/plugins/emq_nothing", json={"active": True}) == {
        "code": 102,
        "message": "unknown",
    }
    path = f"/nodes/{NODE}/plugins/emq_retainer"
    assert (await v2.code("PUT", path, json={}))["code"] == 107
    assert (await v2.code("PUT", path, json={"active": "true"}))["code"] == 108
    # Another node's path is 2.3's badrpc crash (404, empty) before the parameters are looked at.
    r = await v2.call("PUT", "/nodes/other@host/plugins/emq_retainer", json={}, raw=True)
    assert r.status == 404 and await r.read() == b""


async def test_users_crud_with_2_3_codes(v2):
    assert await v2.result("GET", "/users") == [{"username": "admin", "tags": "administrator"}]
    # 2.3 accepted any password; the dashboard also sends `tag` and `repeatPassword`.
    body = {"username": "ops", "password": "p", "tags": "viewer", "tag": "viewer", "repeatPassword": "p"}
    assert await v2.result("POST", "/users", json=body) == []
    assert await v2.code("POST", "/users", json=body) == {"code": 113, "message": "User already exist"}
    assert (await v2.code("POST", "/users", json={"username": "x", "password": "p"}))["code"] == 107
    assert (await v2.code("POST", "/users", json={"username": "", "password": "p", "tags": ""}))["code"] == 104
    assert (await v2.code("POST", "/users", json={"username": "x", "password": 1, "tags": ""}))["code"] == 108
    # A refusal with no 2.3 code of its own is 2.3's catch-all 102, with the reason; nothing is created.
    body = await v2.code("POST", "/users", json={"username": "no spaces", "password": "p", "tags": ""})
    assert body["code"] == 102 and body["message"].startswith("Bad Username")
    assert [u["username"] for u in await v2.result("GET", "/users")] == ["admin", "ops"]
    assert await v2.result("GET", "/users/ops") == {"username": "ops", "tags": "viewer"}
    assert await v2.result("GET", "/users/ghost") == []
    assert await v2.result("PUT", "/users/ops", json={"username": "ops", "tags": "operator"}) == []
    assert await v2.result("GET", "/users/ops") == {"username": "ops", "tags": "operator"}
    assert await v2.code("PUT", "/users/ghost", json={"tags": "t"}) == {"code": 105, "message": "User not found"}
    # The new user can call the API.
    assert await V2(v2.gw, auth=("ops", "p")).result("GET", "/users")
    assert await v2.code("DELETE", "/users/admin") == {"code": 106, "message": "admin cannot be deleted"}
    assert await v2.result("DELETE", "/users/ops") == []
    assert await v2.code("DELETE", "/users/ops") == {"code": 105, "message": "User not found"}
    r = await v2.call("GET", "/users", auth=("ops", "p"), raw=True)
    assert r.status == 401


async def test_auth_answers(v2):
    async def auth(body):
        r = await v2.gw.http.post("/api/v2/auth", json=body)
        assert r.status == 200
        return await r.json()

    assert await auth({"username": "admin", "password": "public"}) == {"code": 0, "result": []}
    assert await auth({"username": "admin", "password": "x"}) == {"code": 103, "message": "Password error"}
    assert await auth({"username": "ghost", "password": "x"}) == {"code": 103, "message": "User not found"}
    assert await auth({"password": "x"}) == {"code": 103, "message": "Username undefined"}
    assert await auth({"username": "admin"}) == {"code": 103, "message": "Password undefined"}
    assert (await auth({"username": 1, "password": "x"}))["code"] == 108
    r = await v2.gw.http.post("/api/v2/auth", data=b"nope")
    assert await r.json() == {"code": 109, "message": "Body not json"}


async def test_change_pwd_as_the_dashboard_sends_it(v2):
    await v2.result("POST", "/users", json={"username": "eve", "password": "old", "tags": ""})
    assert await v2.code("PUT", "/change_pwd/eve/", json={"old_pwd": "bad", "new_pwd": "new"}) == {
        "code": 114,
        "message": "OldPassword error",
    }
    assert await v2.result("PUT", "/change_pwd/eve/", json={"old_pwd": "old", "new_pwd": "new"}) == []
    assert (await v2.call("GET", "/users", auth=("eve", "old"), raw=True)).status == 401
    assert await V2(v2.gw, auth=("eve", "new")).result("GET", "/users")
    assert await v2.code("PUT", "/change_pwd/ghost", json={"old_pwd": "a", "new_pwd": "b"}) == {
        "code": 105,
        "message": "User not found",
    }
    assert (await v2.code("PUT", "/change_pwd/eve", json={"old_pwd": "new"}))["code"] == 107
    assert (await v2.code("PUT", "/change_pwd/eve", json={"old_pwd": "new", "new_pwd": ""}))["code"] == 104


async def test_configs_are_the_broker_settings_and_apply(v2):
    rows = (await v2.result("GET", "/configs"))[NODE]
    assert rows == await v2.result("GET", f"/nodes/{NODE}/configs")
    by_key = {r["key"]: r for r in rows}
    assert by_key["max_inflight"] == {"key": "max_inflight", "value": "32", "datatpye": "number", "app": "emqttd"}
    assert by_key["allow_anonymous"]["value"] == "true"
    assert await v2.result("PUT", "/configs/emqttd", json={"key": "max_inflight", "value": "7"}) == []
    assert (await v2.gw.ctx.control.get_config()).max_inflight == 7
    c = Client(v2.broker, "after-config")
    try:
        row = (await v2.result("GET", "/sessions/after-config"))["objects"][0]
        assert row["max_inflight"] == 7
    finally:
        c.disconnect()
    assert await v2.result("PUT", f"/nodes/{NODE}/configs/emqttd", json={"key": "upgrade_qos", "value": "on"}) == []
    assert (await v2.gw.ctx.control.get_config()).upgrade_qos is True
    for bad in (
        {"key": "max_inflight", "value": "many"},
        {"key": "nope", "value": "1"},
        {"key": "node_name", "value": "x@y"},
        {"key": "acl_no_match", "value": "maybe"},
        {"key": "max_inflight", "value": "-1"},
    ):
        assert await v2.code("PUT", "/configs/emqttd", json=bad) == {"code": 102}, bad
    assert await v2.code("PUT", "/configs/emq_other", json={"key": "max_inflight", "value": "1"}) == {"code": 102}
    assert (await v2.code("PUT", "/configs/emqttd", json={"key": "max_inflight"}))["code"] == 107
    assert (await v2.code("PUT", "/configs/emqttd", json={"key": "max_inflight", "value": 3}))["code"] == 108
    assert (await v2.gw.ctx.control.get_config()).max_inflight == 7


async def test_configs_take_emq_conf_units(v2):
    """A value as emq.conf wrote it ("64KB", "1m", "80%", "infinity"), or a number in the setting's unit."""
    for key, value in (
        ("max_packet_size", "64KB"),
        ("retry_interval", "1m"),
        ("cpu_high_watermark", "85%"),
        ("max_mqueue_len", "infinity"),
        ("session_expiry_interval", "2h"),
    ):
        assert await v2.result("PUT", "/configs/emqttd", json={"key": key, "value": value}) == [], key
    cfg = await v2.gw.ctx.control.get_config()
    assert (cfg.max_packet_size, cfg.retry_interval, cfg.cpu_high_watermark, cfg.max_mqueue_len) == (65536, 60, 85, 0)
    rows = {r["key"]: r["value"] for r in (await v2.result("GET", "/configs"))[NODE]}
    assert (rows["max_packet_size"], rows["retry_interval"], rows["session_expiry_interval"]) == ("65536", "60", "7200")
    for bad in (
        {"key": "retry_interval", "value": "1500ms"},  # whole seconds
        {"key": "max_packet_size", "value": "1XB"},
        {"key": "cpu_low_watermark", "value": "95%"},  # above the high mark
        {"key": "durability", "value": "sync"},  # taken at start only
    ):
        assert await v2.code("PUT", "/configs/emqttd", json=bad) == {"code": 102}, bad
    assert (await v2.gw.ctx.control.get_config()).retry_interval == 60


async def test_plugin_configs_none_yet(v2):
    path = f"/nodes/{NODE}/plugin_configs/emq_retainer"
    assert await v2.result("GET", path) == []
    assert await v2.result("PUT", path, json={}) == []
    assert await v2.code("PUT", path, json={"retainer.max_retained_messages": "10"}) == {"code": 102}
    r = await v2.call("GET", f"/nodes/{NODE}/plugin_configs/emq_nothing", raw=True)
    assert r.status == 404 and await r.read() == b""
