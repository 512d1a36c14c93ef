"""Durability end to end: the real `emqgw serve`, state made over all three dialects and MQTT, `kill -9`,
a restart, and fresh clients that find everything again (README, "Durability")."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import paho.mqtt.client as paho
import pytest

from tests.mqtt_helpers import TIMEOUT, Client, PacketTypes, Raw, connect_bytes, v5props
from tests.serve_helpers import listening_lines, port_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    """One `emqgw serve` process over a data dir that outlives it."""

    def __init__(self, tmp_path, mode: str):
        self.cfg = tmp_path / "emqgw.toml"
        self.cfg.write_text(f'[mqtt]\ndurability = "{mode}"\n[http]\nv4_flavor = "emqx4"\n')
        self.data = tmp_path / "data"
        self.proc = None

    def spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "serve",
                "--config",
                str(self.cfg),
                "--data-dir",
                str(self.data),
                "--http-port",
                "0",
                "--v2-port",
                "off",
                "--v4-port",
                "off",
                "--mqtt-port",
                "0",
                "--ws-port",
                "off",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start(self):
        self.proc = self.spawn()
        lines = listening_lines(self.proc, 2)
        assert len(lines) == 2, self.proc.stderr.read() if self.proc.poll() is not None else lines
        self.http = port_of(lines, "listening: http")
        self.mqtt = port_of(lines, "listening: mqtt tcp")
        self.token = None
        return self

    def port(self, transport="tcp"):
        return self.mqtt

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(TIMEOUT)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)

    def call(self, method, path, body=None, bearer=False):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
        )
        req.add_header("Content-Type", "application/json")
        if bearer:
            if self.token is None:
                self.token = self.call("POST", "/api/v5/login", {"username": "admin", "password": "public"})["token"]
            req.add_header("Authorization", f"Bearer {self.token}")
        else:
            req.add_header("Authorization", "Basic " + base64.b64encode(b"admin:public").decode())
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            text = r.read()
        return json.loads(text) if text else None


def _subscribe_bytes(pid: int, topic: str, qos: int) -> bytes:
    t = topic.encode()
    body = pid.to_bytes(2, "big") + len(t).to_bytes(2, "big") + t + bytes([qos])
    return bytes([0x82, len(body)]) + body


def _read_publishes(raw: Raw, n: int) -> list[bytes]:
    """First bytes of the next ``n`` PUBLISH packets (small ones: one length byte)."""
    buf = b""
    out = []
    end = time.monotonic() + TIMEOUT
    while len(out) < n and time.monotonic() < end:
        buf += raw.recv()
        while len(buf) >= 2 and len(buf) >= 2 + buf[1]:
            packet, buf = buf[: 2 + buf[1]], buf[2 + buf[1] :]
            if packet[0] >> 4 == 3:
                out.append(packet)
    return out


@pytest.mark.parametrize("mode", ["sync", "periodic"])
def test_state_survives_kill_9(tmp_path, mode):
    srv = Server(tmp_path, mode).start()
    try:
        # --- state over the three dialects
        srv.call("POST", "/api/v2/users", {"username": "ops2", "password": "secret-2", "tags": "v2"})
        srv.call("PUT", "/api/v2/configs/emqttd", {"key": "max_inflight", "value": "7"})
        srv.call("POST", "/api/v4/banned", {"who": "bad-v4", "as": "clientid", "until": int(time.time()) + 3600})
        key = srv.call("POST", "/api/v5/api_key", {"name": "fleet", "enable": True}, bearer=True)
        srv.call("POST", "/api/v5/banned", {"as": "username", "who": "evil5"}, bearer=True)

        # --- MQTT state: retained, persistent sessions with options, a short-lived one, queued messages
        pub = Client(srv, "pub", v5=True)
        pub.publish("r/1", b"keep", qos=1, retain=True)
        pub.publish("r/2", b"gone", qos=1, retain=True)
        pub.publish("r/2", b"", qos=1, retain=True)  # deleted again
        sub5 = Client(
            srv, "sub5", v5=True, clean=False, properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=3600)
        )
        sub5.subscribe(
            "q/#", 2, no_local=True, rap=True, rh=1, properties=v5props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=7)
        )
        sub5.disconnect()
        sub3 = Client(srv, "sub3", clean=False)
        sub3.subscribe("q/+", 1)
        sub3.disconnect()
        short = Client(
            srv, "short", v5=True, clean=False, properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=1)
        )
        short.subscribe("q/#", 1)
        short.disconnect()
        # A raw 3.1.1 subscriber that receives one QoS 1 message and vanishes without acknowledging it.
        raw = Raw(srv.mqtt)
        raw.send(connect_bytes("rawsub", clean=False))
        assert raw.recv(4) == b"\x20\x02\x00\x00"
        raw.send(_subscribe_bytes(1, "inflight/x", 1))
        assert raw.recv(5)[0] == 0x90
        pub.publish("inflight/x", b"unacked", qos=1)
        assert _read_publishes(raw, 1)[0][0] & 0x06 == 0x02
        raw.close()
        time.sleep(0.2)

        for i in range(5):
            pub.publish("q/a", f"m{i}".encode(), qos=1)
        pub.publish("q/b", b"two", qos=2)
        expired = v5props(PacketTypes.PUBLISH, MessageExpiryInterval=1)
        pub.publish("q/a", b"expires", qos=1, properties=expired)
        pub.disconnect()
        if mode == "periodic":
            time.sleep(0.5)  # several flush intervals (100 ms)
        # In sync mode the PUBACKs above came after the disk: nothing to wait for.
        srv.kill9()
        time.sleep(1.5)  # "short" and the "expires" message expire while the process is down

        # --- restart: everything is back, seen by fresh clients
        srv.start()
        assert "ops2" in json.dumps(srv.call("GET", "/api/v2/users"))
        assert any(k["name"] == "fleet" for k in srv.call("GET", "/api/v5/api_key", bearer=True))
        req = urllib.request.Request(f"http://127.0.0.1:{srv.http}/api/v5/nodes")
        req.add_header(
            "Authorization", "Basic " + base64.b64encode(f"{key['api_key']}:{key['api_secret']}".encode()).decode()
        )
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            assert r.status == 200
        bans = {(b["as"], b["who"]) for b in srv.call("GET", "/api/v5/banned", bearer=True)["data"]}
        assert {("clientid", "bad-v4"), ("username", "evil5")} <= bans
        configs = json.dumps(srv.call("GET", "/api/v2/configs"))
        assert '"key": "max_inflight", "value": "7"' in configs

        banned = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bad-v4")
        rcs = []
        banned.on_connect = lambda c, u, f, rc, p: rcs.append(rc)
        banned.connect("127.0.0.1", srv.mqtt)
        banned.loop_start()
        end = time.monotonic() + TIMEOUT
        while not rcs and time.monotonic() < end:
            time.sleep(0.02)
        banned.loop_stop()
        assert rcs and rcs[0].is_failure

        watcher = Client(srv, "watcher", v5=True)
        watcher.subscribe("r/#", 1)
        m = watcher.expect()
        assert (m.topic, m.payload, m.retain) == ("r/1", b"keep", True)
        watcher.expect_none()

        subs = srv.call("GET", "/api/v5/subscriptions?clientid=sub5", bearer=True)["data"]
        assert len(subs) == 1
        s = subs[0]
        assert (s["topic"], s["qos"], s["nl"], s["rap"], s["rh"]) == ("q/#", 2, 1, 1, 1)

        sub5 = Client(
            srv,
            "sub5",
            v5=True,
            clean=False,
            properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=3600),
            connect=False,
        )
        flags, rc, _ = sub5.connect()
        assert flags.session_present
        got = [sub5.expect() for _ in range(6)]
        assert [g.payload for g in got] == [b"m0", b"m1", b"m2", b"m3", b"m4", b"two"]
        assert got[5].qos == 2 and got[0].qos == 1
        assert all(g.properties.SubscriptionIdentifier == [7] for g in got)
        sub5.expect_none()

        sub3 = Client(srv, "sub3", clean=False, connect=False)
        flags, rc, _ = sub3.connect()
        assert flags.session_present
        assert [sub3.expect().payload for _ in range(6)] == [b"m0", b"m1", b"m2", b"m3", b"m4", b"two"]
        sub3.expect_none()

        short = Client(
            srv,
            "short",
            v5=True,
            clean=False,
            properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=1),
            connect=False,
        )
        flags, rc, _ = short.connect()
        assert not flags.session_present

        raw = Raw(srv.mqtt)
        raw.send(connect_bytes("rawsub", clean=False))
        assert raw.recv(4) == b"\x20\x02\x01\x00"  # session present
        again = _read_publishes(raw, 1)
        assert again and again[0][0] == 0x3A and b"unacked" in again[0]  # QoS 1 with DUP set
        raw.close()
        for c in (watcher, sub5, sub3, short):
            c.disconnect()
    finally:
        srv.stop()


def test_clean_restart_keeps_sessions_and_queue(tmp_path):
    srv = Server(tmp_path, "periodic").start()
    try:
        sub = Client(srv, "keeper", clean=False)
        sub.subscribe("k", 1)
        sub.disconnect()
        pub = Client(srv, "p")
        for i in range(3):
            pub.publish("k", f"k{i}".encode(), qos=1)
        pub.disconnect()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(TIMEOUT) == 0
        srv.start()
        sub = Client(srv, "keeper", clean=False, connect=False)
        flags, _, _ = sub.connect()
        assert flags.session_present
        assert [sub.expect().payload for _ in range(3)] == [b"k0", b"k1", b"k2"]
        sub.disconnect()
    finally:
        srv.stop()


def test_corrupt_database_is_one_line_and_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "emqgw.db").write_bytes(b"this is not a database" * 100)
    proc = Server(tmp_path, "sync").spawn()
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2
    assert "emqgw.db" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (data / "emqgw.db").read_bytes().startswith(b"this is not a database")  # never reset


def test_bad_durability_value_names_the_key(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[mqtt]\ndurability = "always"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(f), "--data-dir", str(tmp_path / "d")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2
    assert "mqtt.durability" in err and "Traceback" not in err
