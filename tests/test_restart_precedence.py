"""Precedence at restart, as EMQX has it: what the operator states when starting `emqgw serve` (flags, the
environment, the config file) wins over the configuration stored over an API, key by key, and one line
at start names each stored value overridden; a key the operator does not state keeps its stored value.
The real process, restarted over the same data directory."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import urllib.request

import pytest

from gateway import config
from gateway.precedence import operator_wins
from schemas.records import BrokerConfig, ListenerConfig
from tests.serve_helpers import listening_lines, port_of, serve

BASIC = "Basic " + base64.b64encode(b"admin:public").decode()
OVERRIDDEN = "stored configuration overridden by the command line, environment or config file: "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port: int, method: str, path: str, body=None) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, data=None if body is None else json.dumps(body).encode()
    )
    req.add_header("Authorization", BASIC)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


class Gateway:
    """`emqgw serve` over one data directory, started and stopped as often as a test likes."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.proc = None

    def start(self, *args: str, env: dict | None = None) -> Gateway:
        self.proc = serve(*args, "--ws-port", "off", tmp_path=self.tmp_path, env=env)
        lines = listening_lines(self.proc, 2)
        assert len(lines) == 2, self.proc.stderr.read() if self.proc.poll() is not None else lines
        self.http = port_of(lines, "listening: http")
        self.mqtt = port_of(lines, "listening: mqtt tcp")
        return self

    def node(self) -> str:
        return call(self.http, "GET", "/api/v2/management/nodes")["result"][0]["name"]

    def stop(self) -> str:
        """SIGTERM; what the process wrote on stderr."""
        self.proc.send_signal(signal.SIGTERM)
        _out, err = self.proc.communicate(timeout=10)
        assert self.proc.returncode == 0, err
        return err


@pytest.fixture
def gateway(tmp_path):
    gw = Gateway(tmp_path)
    yield gw
    if gw.proc is not None and gw.proc.poll() is None:
        gw.proc.kill()
        gw.proc.wait(10)


def test_flags_win_over_what_an_api_stored(gateway):
    first, stored_port, flag_port = free_port(), free_port(), free_port()
    gw = gateway.start("--node-name", "first@127.0.0.1", "--mqtt-port", str(first))
    # Stored over the APIs: a setting (v2), and a listener port (NanoMQ's settings, taken at restart).
    call(gw.http, "PUT", "/api/v2/configs/emqttd", {"key": "max_inflight", "value": "7"})
    call(gw.http, "POST", "/api/v4/configuration", {"data": {"url": f"nmq-tcp://127.0.0.1:{stored_port}"}})
    call(gw.http, "POST", "/api/v4/ctrl/restart")
    assert gw.stop().count(OVERRIDDEN) == 0

    # No flag for the port or the name: the stored values stand, and nothing is said.
    gw = gateway.start()
    assert gw.mqtt == stored_port and gw.node() == "first@127.0.0.1"
    assert gw.stop().count(OVERRIDDEN) == 0

    # The operator states both: the flags win, and one line says which stored values they replaced.
    gw = gateway.start("--node-name", "second@127.0.0.1", "--mqtt-port", str(flag_port))
    assert gw.mqtt == flag_port and gw.node() == "second@127.0.0.1"
    socket.create_connection(("127.0.0.1", flag_port), timeout=2).close()
    configs = call(gw.http, "GET", "/api/v2/configs")["result"]["second@127.0.0.1"]
    assert {"key": "max_inflight", "value": "7", "datatpye": "number", "app": "emqttd"} in configs  # not stated
    err = gw.stop()
    lines = [line for line in err.splitlines() if OVERRIDDEN in line]
    assert len(lines) == 1, err
    assert "node_name 'first@127.0.0.1' -> 'second@127.0.0.1'" in lines[0]
    assert f"listeners.tcp.default.port {stored_port} -> {flag_port}" in lines[0]


def test_the_environment_and_the_file_win_too(gateway, tmp_path):
    port = free_port()
    gw = gateway.start("--mqtt-port", str(port))
    call(gw.http, "PUT", "/api/v2/configs/emqttd", {"key": "max_inflight", "value": "7"})
    call(gw.http, "PUT", "/api/v2/configs/emqttd", {"key": "max_mqueue_len", "value": "70"})
    gw.stop()

    conf = tmp_path / "emqgw.toml"
    conf.write_text("[mqtt]\nmax_mqueue_len = 500\n")
    env = {**os.environ, "EMQGW_MQTT__MAX_INFLIGHT": "9"}
    gw = gateway.start("--config", str(conf), "--mqtt-port", str(port), env=env)
    values = {row["key"]: row["value"] for row in call(gw.http, "GET", "/api/v2/configs")["result"][gw.node()]}
    assert (values["max_inflight"], values["max_mqueue_len"]) == ("9", "500")
    line = next(line for line in gw.stop().splitlines() if OVERRIDDEN in line)
    assert "mqtt.max_inflight 7 -> 9" in line and "mqtt.max_mqueue_len 70 -> 500" in line
    assert "listeners" not in line  # the flag's port is the stored one: nothing to say


def test_a_key_is_stated_only_where_the_operator_wrote_it(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('node_name = "n@h"\n[mqtt]\nmax_inflight = 5\n[listeners.tcp.default]\nbind = "127.0.0.1:1999"\n')
    cfg = config.load(str(f), environ={"EMQGW_MQTT__RETRY_INTERVAL": "3"})
    assert cfg.stated == {
        "node_name",
        "mqtt.max_inflight",
        "mqtt.retry_interval",
        "listeners",
        "listeners.tcp.default.bind",
        "listeners.tcp.default.port",
    }
    config.set_listener_port(cfg, "ws", "off")
    assert "listeners.ws.default.enable" in cfg.stated and "listeners.ws.default.port" not in cfg.stated


def test_listeners_merge_by_id_and_field():
    stored = BrokerConfig(
        listeners=[
            ListenerConfig(type="tcp", port=1999, max_connections=10),
            ListenerConfig(type="ws", port=8083, path="/stored"),
        ]
    )
    given = BrokerConfig(listeners=[ListenerConfig(type="tcp", port=1884)])
    merged, said = operator_wins(stored, given, {"listeners.tcp.default.port"})
    # The port is the operator's, the rest of the tcp listener and the ws one the API's.
    assert [(lc.id, lc.port, lc.max_connections, lc.path) for lc in merged.listeners] == [
        ("tcp:default", 1884, 10, "/mqtt"),
        ("ws:default", 8083, 1_024_000, "/stored"),
    ]
    assert said == ["listeners.tcp.default.port 1999 -> 1884"]
    # A [listeners] section gives the set: a stored listener it lacks is dropped, and said so.
    merged, said = operator_wins(stored, given, {"listeners", "listeners.tcp.default.port"})
    assert [lc.id for lc in merged.listeners] == ["tcp:default"]
    assert said == ["listeners.tcp.default.port 1999 -> 1884", "listeners.ws.default dropped"]
    # How state is kept is the operator's, stated or not, and never reported.
    stored = BrokerConfig(durability="sync", max_inflight=7)
    merged, said = operator_wins(stored, BrokerConfig(), set())
    assert (merged.durability, merged.max_inflight, said) == ("periodic", 7, [])
