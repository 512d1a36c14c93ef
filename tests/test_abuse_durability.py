"""Acknowledged means stored (issue "Hold up under abuse", item 5, its MQTT part).

With ``durability = "sync"`` a retained PUBLISH follows the rule of a message queued for an offline
session: its PUBACK / PUBREC comes only once it is committed, so `kill -9` right after the
acknowledgement loses nothing. (``periodic`` writes every ``durability_interval_ms`` and may lose
that window, retained messages included: README, "Durability".)
"""

import signal

from tests.mqtt_helpers import TIMEOUT, Client, Raw, connect_bytes
from tests.serve_helpers import listening_lines, port_of, serve


def _start(tmp_path, cfg):
    proc = serve("--config", str(cfg), "--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
    lines = listening_lines(proc, 2)
    assert len(lines) == 2, proc.stderr.read() if proc.poll() is not None else lines
    return proc, port_of(lines, "listening: mqtt tcp")


def _retained_publish(pid: int, topic: str, payload: bytes, qos: int) -> bytes:
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + pid.to_bytes(2, "big") + payload
    return bytes([0x30 | qos << 1 | 1, len(body)]) + body


class Port:
    def __init__(self, port):
        self.mqtt = port

    def port(self, transport="tcp"):
        return self.mqtt


def test_retained_acknowledged_in_sync_mode_survives_kill_9(tmp_path):
    cfg = tmp_path / "emqgw.toml"
    cfg.write_text('[mqtt]\ndurability = "sync"\n')
    proc, port = _start(tmp_path, cfg)
    try:
        raw = Raw(port)
        raw.send(connect_bytes("keeper"))
        assert raw.recv(4) == b"\x20\x02\x00\x00"
        for i in range(1, 21):
            qos = 1 if i % 2 else 2
            raw.send(_retained_publish(i, f"kept/{i}", f"v{i}".encode(), qos))
            ack = raw.recv(4)
            assert ack == bytes([0x40 if qos == 1 else 0x50, 2, 0, i])  # PUBACK / PUBREC
        proc.send_signal(signal.SIGKILL)  # at once: every message above was acknowledged
        proc.wait(TIMEOUT)
        raw.close()

        proc, port = _start(tmp_path, cfg)
        watcher = Client(Port(port))
        watcher.subscribe("kept/#", 1)
        got = {m.topic: m.payload for m in (watcher.expect() for _ in range(20))}
        assert got == {f"kept/{i}": f"v{i}".encode() for i in range(1, 21)}
        watcher.disconnect()
    finally:
        proc.kill()
        proc.wait(TIMEOUT)
