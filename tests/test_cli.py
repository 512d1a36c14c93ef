"""`emqgw serve` as an operator runs it: a real subprocess, real ports, real signals."""

import os
import signal
import socket
import time

import attrs
import pytest

from gateway import config
from schemas.records import BrokerConfig
from tests.mqtt_helpers import TIMEOUT
from tests.serve_helpers import ROOT, listening_lines, port_of, serve


def test_example_config_lists_every_key():
    text = open(os.path.join(ROOT, "examples", "emqgw.toml")).read()
    keys = [f.name for f in attrs.fields(BrokerConfig) if f.name not in ("node_name", "listeners")]
    keys += [f.name for f in attrs.fields(config.HttpConfig)]
    keys += [f.name for f in attrs.fields(config.UpstreamConfig)]
    missing = [k for k in keys if f"# {k} =" not in text]
    assert not missing, f"examples/emqgw.toml does not list {missing}"


def test_example_config_is_the_defaults():
    cfg = config.load(os.path.join(ROOT, "examples", "emqgw.toml"))
    assert attrs.evolve(cfg.broker, listeners=[]) == attrs.evolve(BrokerConfig(), listeners=[])
    assert [(lc.id, lc.port) for lc in cfg.broker.listeners] == [("tcp:default", 1883), ("ws:default", 8083)]


def test_serve_prints_real_ports_and_shuts_down_cleanly_with_wills(tmp_path):
    import paho.mqtt.client as paho

    proc = serve("--mqtt-port", "0", "--ws-port", "0", tmp_path=tmp_path)
    try:
        lines = listening_lines(proc, 3)
        assert lines[0].startswith("listening: http 127.0.0.1:") and lines[0].endswith("(/api/v2 /api/v4 /api/v5)")
        assert lines[1].startswith("listening: mqtt tcp 127.0.0.1:")
        assert lines[2].startswith("listening: mqtt ws 127.0.0.1:") and lines[2].endswith("/mqtt")
        port = port_of(lines, "listening: mqtt tcp")
        http_port = port_of(lines, "listening: http")
        assert port != 0 and http_port != 0
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/status") as r:
            assert r.status == 200 and b"is started" in r.read()
        got = []
        watcher = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="watcher")
        watcher.on_message = lambda c, u, m: got.append(m.payload)
        watcher.connect("127.0.0.1", port)
        watcher.subscribe("gone", 0)
        watcher.loop_start()
        # The will of a raw client (no paho reconnect logic) must go out at shutdown.
        s = socket.create_connection(("127.0.0.1", port))
        body = b"\x00\x04MQTT\x04\x06\x00\x3c\x00\x01w\x00\x04gone\x00\x03bye"
        s.sendall(bytes([0x10, len(body)]) + body)
        assert s.recv(4) == b"\x20\x02\x00\x00"
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT) == 0
        watcher.loop_stop()
        assert s.recv(16) == b""
        assert b"bye" in got
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()


def test_bad_config_value_names_the_key(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[mqtt]\nmax_inflight = "lots"\n')
    proc = serve("--config", str(f), tmp_path=tmp_path)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2
    assert "mqtt.max_inflight" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "text, key",
    [
        ("[mqtt]\nno_such_thing = 1\n", "mqtt.no_such_thing"),
        ("[mqtt]\nallow_anonymous = 1\n", "mqtt.allow_anonymous"),
        ('[listeners.tcp.default]\nbind = "nope"\n', "listeners.tcp.default.bind"),
        ('[listeners.ssl.default]\nbind = "0.0.0.0:8883"\n', "listeners.ssl.default"),
        ("bogus = 1\n", "bogus"),
        ("[mqtt]\nretry_interval = -1\n", "mqtt.retry_interval"),
        ("[mqtt]\nsysmem_high_watermark = 101.0\n", "mqtt.sysmem_high_watermark"),
        ("[mqtt]\ncpu_high_watermark = 50.0\n", "mqtt.cpu_low_watermark"),
    ],
)
def test_config_errors(tmp_path, text, key):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(config.ConfigError, match=key.replace(".", r"\.")):
        config.load(str(f))


def test_busy_port_is_one_line_and_exit_2(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        proc = serve("--mqtt-port", str(port), "--ws-port", "off", tmp_path=tmp_path)
        out, err = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 2
        assert err.startswith("emqgw: ") and "Traceback" not in err
        assert "listening" not in out
    finally:
        busy.close()


def test_bad_acl_file_is_one_line_and_exit_2(tmp_path):
    acl = tmp_path / "acl.conf"
    acl.write_text('{allow, {username, "x"}, publish\n')
    f = tmp_path / "c.toml"
    f.write_text(f'[mqtt]\nacl_file = "{acl}"\n')
    proc = serve("--config", str(f), "--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2
    assert "acl.conf" in err and "Traceback" not in err


def test_api_key_bootstrap_file(tmp_path):
    import base64
    import urllib.request

    keys = tmp_path / "keys.txt"
    keys.write_text("# operator-provisioned\nops-key:ops-secret-0123456789\n")
    conf = tmp_path / "c.toml"
    conf.write_text(f'[http]\napi_key_bootstrap_file = "{keys}"\n')
    proc = serve("--config", str(conf), "--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
    try:
        http_port = port_of(listening_lines(proc, 2), "listening: http")
        auth = base64.b64encode(b"ops-key:ops-secret-0123456789").decode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{http_port}/api/v5/nodes", headers={"Authorization": f"Basic {auth}"}
        )
        with urllib.request.urlopen(req) as r:
            assert r.status == 200
    finally:
        proc.kill()
    keys.write_text("not a key line\n")
    proc = serve("--config", str(conf), "--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2 and "keys.txt" in err and "Traceback" not in err
