"""NanoMQ's bridge section for real: our broker <-> a mosquitto started by the test."""

import asyncio
import shutil
import socket
import subprocess
import time

import aiohttp
import pytest

from tests.mqtt_helpers import Client

AUTH = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}
MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if shutil.os.path.exists("/usr/sbin/mosquitto") else None
)

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto binary not installed (apt-get install mosquitto)")


def off_loop(fn, *args):
    """Blocking paho waits run in a thread: the bridge's gmqtt clients live on this test's loop."""
    return asyncio.to_thread(fn, *args)


class Remote:
    """Enough of RunningBroker for tests.mqtt_helpers.Client."""

    def __init__(self, port):
        self._port = port

    def port(self, kind="tcp"):
        return self._port


@pytest.fixture
def mosquitto(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("mosquitto did not start")
            time.sleep(0.05)
    yield Remote(port)
    proc.terminate()
    proc.wait(5)


async def bridge_subscribed(gw, n):
    """The bridge's local client has its forwards in place (SUBACKs are not awaited by start())."""
    from schemas.records import SubscriptionQuery

    for _ in range(200):
        page = await gw.ctx.control.list_subscriptions(SubscriptionQuery(), offset=0, limit=1000)
        if sum(1 for sub in page.items if "-local-" in sub.clientid) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("bridge did not subscribe")


async def configure(gw, bridge):
    r = await gw.http.post("/api/v4/configuration", headers=AUTH, json={"data": {"bridge": bridge}})
    assert await r.json() == {"code": 0}
    r = await gw.http.post("/api/v4/ctrl/restart", headers=AUTH)
    assert await r.json() == {"code": 0}


@pytest.mark.parametrize("proto_ver", [4, 5])
async def test_bridge_forwards_and_subscribes(gateway, mosquitto, proto_ver):
    gw = await gateway("v4")
    await configure(
        gw,
        {
            "bridge_mode": True,
            "address": f"mqtt-tcp://127.0.0.1:{mosquitto.port()}",
            "proto_ver": proto_ver,
            "clientid": f"bridge-{proto_ver}",
            "keepalive": 30,
            "clean_start": True,
            "forwards": ["up/#", "both/#"],
            "subscription": [{"topic": "down/#", "qos": 1}, {"topic": "both/#", "qos": 1}],
        },
    )
    assert gw.dialects["v4"].nanomq.bridge.current is not None
    remote = await off_loop(Client, mosquitto, "remote-watcher")
    await off_loop(remote.subscribe, "#", 1)
    local = await off_loop(Client, gw.broker, "local-watcher")
    await off_loop(local.subscribe, "down/#", 1)
    await off_loop(local.subscribe, "both/#", 1)
    await bridge_subscribed(gw, 2)

    await off_loop(lambda: local.publish("up/1", b"to-remote", qos=1))
    m = await off_loop(remote.expect)
    assert (m.topic, m.payload) == ("up/1", b"to-remote")

    await off_loop(lambda: remote.publish("down/1", b"to-local", qos=1))
    m = await off_loop(local.expect)
    assert (m.topic, m.payload) == ("down/1", b"to-local")
    (await off_loop(remote.expect))  # the watcher sees its own down/1 on mosquitto
    await off_loop(local.expect_none)

    # a topic both forwarded and subscribed does not loop
    await off_loop(lambda: remote.publish("both/x", b"once", qos=1))
    assert (await off_loop(local.expect)).payload == b"once"
    assert (await off_loop(remote.expect)).payload == b"once"  # its own publish
    await off_loop(local.expect_none, 0.3)
    if proto_ver == 5:
        # No Local on both sides: a local publish on a forwarded and subscribed topic comes back to nobody
        await off_loop(lambda: local.publish("both/y", b"up-once", qos=1))
        assert (await off_loop(local.expect)).payload == b"up-once"
        assert (await off_loop(remote.expect)).payload == b"up-once"
        await off_loop(local.expect_none, 0.3)
        await off_loop(remote.expect_none, 0.3)

    r = await gw.http.get("/api/v4/metrics", headers=AUTH)
    [row] = (await r.json())["metrics"]
    assert row["bridge name"] == f"bridge-{proto_ver}" and row["sent messages"] >= 1
    assert row["received messages"] >= 1
    remote.disconnect()
    local.disconnect()


async def test_bridge_stops_with_broker_and_returns(gateway, mosquitto):
    gw = await gateway("v4")
    await configure(
        gw,
        {
            "bridge_mode": True,
            "address": f"mqtt-tcp://127.0.0.1:{mosquitto.port()}",
            "proto_ver": 5,
            "forwards": ["up/#"],
            "subscription": [],
        },
    )
    assert gw.dialects["v4"].nanomq.bridge.current is not None
    await gw.http.post("/api/v4/ctrl/stop", headers=AUTH)
    assert gw.dialects["v4"].nanomq.bridge.current is None
    await gw.http.post("/api/v4/ctrl/restart", headers=AUTH)
    assert gw.dialects["v4"].nanomq.bridge.current is not None
    await configure(gw, {"bridge_mode": False})
    assert gw.dialects["v4"].nanomq.bridge.current is None
