"""`emqgw serve` with an `[upstream]`: no embedded broker, no MQTT listener, every dialect in front of
the upstream; the upstream's key read from an EMQX bootstrap file; `/status` follows the upstream."""

import signal
import time
import urllib.error
import urllib.request

import aiohttp
import paho.mqtt.client as paho

from gateway.config import GatewayConfig, HttpConfig, UpstreamConfig
from gateway.runtime import GatewayRuntime
from tests.mqtt_helpers import Client
from tests.serve_helpers import listening_lines, port_of, serve

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}


async def test_the_runtime_starts_no_broker_in_front_of_an_upstream(gateway, tmp_path):
    b = await gateway("v5")
    key, secret = b.accounts.create_api_key("front", "", True, None)
    up = UpstreamConfig(url=str(b.http.make_url("/api/v5")), api_key=key.api_key, api_secret=secret)
    cfg = GatewayConfig(data_dir=str(tmp_path / "a"), http=HttpConfig(port=0, v2_port=0, v4_port=0), upstream=up)
    rt = GatewayRuntime(cfg)
    await rt.start()
    try:
        lines = rt.listening_lines()
        assert len(lines) == 3 and all(line.startswith("listening: http") for line in lines)
        assert rt.embedded is None
        Client(b.broker, "seen-through")
        port = rt.http.bound[0][1]
        async with aiohttp.ClientSession(headers=ADMIN) as http:
            r = await http.get(f"http://127.0.0.1:{port}/api/v4/clients")
            assert [c["client_id"] for c in (await r.json())["data"]] == ["seen-through"]
            r = await http.get(f"http://127.0.0.1:{port}/api/v2/plugins")
            # no MQTT auth against the accounts: EMQX authenticates its own clients
            assert "emq_auth_username" not in await r.text()
    finally:
        await rt.stop()


def _status(port: int) -> int:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code


def test_serve_in_front_of_a_cluster_that_goes_away(tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("upkey:an-upstream-secret-0123456789\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    b_conf = tmp_path / "b.toml"
    b_conf.write_text(f'[http]\napi_key_bootstrap_file = "{keys}"\n')
    upstream = serve("--config", str(b_conf), "--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path / "b")
    front = None
    try:
        lines = listening_lines(upstream, 2)
        b_http, b_mqtt = port_of(lines, "listening: http"), port_of(lines, "listening: mqtt tcp")
        a_conf = tmp_path / "a.toml"
        a_conf.write_text(
            f'[upstream]\nurl = "http://127.0.0.1:{b_http}/api/v5"\nbootstrap_file = "{keys}"\ntimeout = 1\n'
        )
        front = serve("--config", str(a_conf), tmp_path=tmp_path / "a")
        [line] = listening_lines(front, 1)
        a_http = port_of([line], "listening: http")
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="far-away")
        c.connect("127.0.0.1", b_mqtt)
        c.loop_start()
        try:
            seen = b""
            for _ in range(50):
                req = urllib.request.Request(f"http://127.0.0.1:{a_http}/api/v4/clients")
                req.add_header("Authorization", aiohttp.encode_basic_auth("admin", "public"))
                with urllib.request.urlopen(req, timeout=5) as r:
                    seen = r.read()
                if b"far-away" in seen:
                    break
                time.sleep(0.1)
            assert b"far-away" in seen
            assert _status(a_http) == 200
        finally:
            c.loop_stop()
            c.disconnect()
        upstream.send_signal(signal.SIGTERM)
        upstream.wait(15)
        assert _status(a_http) == 503
    finally:
        for proc in (front, upstream):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
    assert front.returncode == 0
    out, err = front.communicate()
    assert "an-upstream-secret" not in out + err


async def test_the_gateway_starts_while_the_upstream_is_down(tmp_path, unused_tcp_port):
    up = UpstreamConfig(url=f"http://127.0.0.1:{unused_tcp_port}/api/v5", api_key="k", api_secret="s", timeout=1)
    cfg = GatewayConfig(data_dir=str(tmp_path), http=HttpConfig(port=0, v2_port=None, v4_port=None), upstream=up)
    rt = GatewayRuntime(cfg)
    await rt.start()
    try:
        port = rt.http.bound[0][1]
        async with aiohttp.ClientSession(headers={"Authorization": aiohttp.encode_basic_auth("admin", "public")}) as s:
            r = await s.get(f"http://127.0.0.1:{port}/status")
            assert r.status == 503
            r = await s.get(f"http://127.0.0.1:{port}/api/v4/configuration")
            assert (r.status, (await r.json(content_type=None))["code"]) == (500, 101)  # NanoMQ's RPC error
            r = await s.get(f"http://127.0.0.1:{port}/api/v2/monitoring/nodes")
            assert (r.status, (await r.json())["code"]) == (200, 102)
    finally:
        await rt.stop()
