"""Configuration changed over the APIs outlives a restart of the real `emqgw serve`, and nothing a
restart reads back undoes a later change made through another dialect."""

import base64
import json
import signal
import socket
import urllib.error
import urllib.request

from tests.mqtt_helpers import TIMEOUT
from tests.serve_helpers import listening_lines, port_of, serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.proc = None
        self.token = None

    def start(self):
        self.proc = serve("--mqtt-port", "0", "--ws-port", "off", tmp_path=self.tmp_path)
        lines = listening_lines(self.proc, 2)
        assert len(lines) >= 2, self.proc.stderr.read() if self.proc.poll() is not None else lines
        self.http = port_of(lines, "listening: http")
        self.token = None
        return self

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(15)

    def call(self, method, path, body=None, auth="basic"):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
        )
        req.add_header("Content-Type", "application/json")
        if auth == "bearer":
            if self.token is None:
                self.token = self.call("POST", "/api/v5/login", {"username": "admin", "password": "public"})["token"]
            req.add_header("Authorization", f"Bearer {self.token}")
        elif auth == "basic":
            req.add_header("Authorization", "Basic " + base64.b64encode(b"admin:public").decode())
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            text = r.read()
        return json.loads(text) if text else None


def test_api_configuration_outlives_a_restart(tmp_path):
    gw = Gateway(tmp_path).start()
    port = free_port()
    try:
        # NanoMQ first: one of its own keys, and one the broker holds ...
        gw.call("POST", "/api/v4/configuration", {"data": {"msq_len": 11, "num_taskq_thread": 8}})
        # ... which EMQX 5 changes afterwards
        mqtt = gw.call("GET", "/api/v5/configs/global_zone", auth="bearer")["mqtt"]
        mqtt.update(max_mqueue_len=50, session_expiry_interval="1h")
        gw.call("PUT", "/api/v5/configs/global_zone", {"mqtt": mqtt}, auth="bearer")
        gw.call("PUT", "/api/v5/configs/alarm", {"size_limit": 5, "validity_period": "1h"}, auth="bearer")
        gw.call("PUT", "/api/v2/configs/emqttd", {"key": "sys_heartbeat", "value": "1m"})
        body = {"type": "tcp", "name": "extra", "bind": f"127.0.0.1:{port}"}
        gw.call("POST", "/api/v5/listeners", body, auth="bearer")
        gw.call("PUT", "/api/v5/prometheus", {"enable_basic_auth": True}, auth="bearer")
    finally:
        gw.stop()

    gw.start()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()  # the created listener serves
        mqtt = gw.call("GET", "/api/v5/configs/global_zone", auth="bearer")["mqtt"]
        assert (mqtt["max_mqueue_len"], mqtt["session_expiry_interval"]) == (50, "1h")
        doc = gw.call("GET", "/api/v4/configuration")["data"]
        assert doc["msq_len"] == 50  # EMQX 5's later change, not NanoMQ's earlier 11
        assert doc["num_taskq_thread"] == 8  # NanoMQ's own key, from its file
        assert gw.call("GET", "/api/v5/configs/alarm", auth="bearer")["validity_period"] == "1h"
        assert gw.call("GET", "/api/v5/configs/sys_topics", auth="bearer")["sys_heartbeat_interval"] == "1m"
        listener = gw.call("GET", "/api/v5/listeners/tcp:extra", auth="bearer")
        assert listener["running"] is True and listener["bind"] == f"127.0.0.1:{port}"
        try:
            gw.call("GET", "/api/v5/prometheus/stats", auth=None)
            raise AssertionError("prometheus answered without credentials")
        except urllib.error.HTTPError as e:
            assert e.code == 401
    finally:
        gw.stop()
