"""The authentication and authorization state survives `kill -9`: the real `emqgw serve`, users, rules,
settings and an edited ACL text made over HTTP, a crash, a restart, and MQTT clients that meet the
same verdicts."""

import json
import signal
import sqlite3
import urllib.error
import urllib.request

from tests.mqtt_helpers import TIMEOUT, Client, wait_for
from tests.serve_helpers import listening_lines, port_of, serve

DB = "password_based:built_in_database"


class Gw:
    """Just enough of a running gateway for these tests: its ports, an HTTP caller, MQTT clients."""

    def __init__(self, tmp_path):
        self.proc = serve("--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
        lines = listening_lines(self.proc, 2)
        assert len(lines) == 2, self.proc.stderr.read() if self.proc.poll() is not None else lines
        self.http = port_of(lines, "listening: http")
        self.mqtt = port_of(lines, "listening: mqtt tcp")
        self.token = self.call("POST", "/api/v5/login", {"username": "admin", "password": "public"}, auth=False)[
            "token"
        ]

    def port(self, transport="tcp"):
        return self.mqtt

    def call(self, method, path, body=None, auth=True):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
        )
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            text = r.read()
        return json.loads(text) if text else None

    def connack(self, **kw):
        c = Client(self, v5=True, connect=False, **kw)
        _, rc, _ = c.connect(expect_ok=False)
        return c, rc.value

    def puback(self, c, topic):
        c.publish(topic, b"", qos=1)
        return c.acks.get(timeout=TIMEOUT)[1].value

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(TIMEOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(TIMEOUT)


def stored_chain(tmp_path) -> str:
    conn = sqlite3.connect(tmp_path / "data" / "emqgw.db")
    try:
        rows = conn.execute("SELECT doc FROM auth_config WHERE name = 'authn_chain'").fetchall()
    finally:
        conn.close()
    return rows[0][0] if rows else ""


def test_auth_state_survives_kill_9(tmp_path):
    gw = Gw(tmp_path)
    try:
        gw.call(
            "PUT",
            f"/api/v5/authentication/{DB}",
            {
                "mechanism": "password_based",
                "backend": "built_in_database",
                "password_hash_algorithm": {"name": "sha512", "salt_position": "suffix"},
            },
        )
        gw.call("POST", f"/api/v5/authentication/{DB}/users", {"user_id": "dev", "password": "pw-1"})
        gw.call(
            "POST", f"/api/v5/authentication/{DB}/users", {"user_id": "root", "password": "r", "is_superuser": True}
        )
        gw.call("POST", "/api/v5/authentication/" + DB + "/users", {"user_id": "gone", "password": "g"})
        gw.call("DELETE", f"/api/v5/authentication/{DB}/users/gone")
        rule = {"topic": "secret/#", "permission": "deny", "action": "all"}
        gw.call("POST", "/api/v5/authorization/sources/built_in_database/rules/all", {"rules": [rule]})
        gw.call(
            "PUT", "/api/v5/authorization/sources/file", {"type": "file", "rules": '{deny, all, publish, ["file/#"]}.'}
        )
        gw.call(
            "PUT",
            "/api/v5/authorization/settings",
            {"no_match": "allow", "deny_action": "ignore", "cache": {"enable": True, "max_size": 7, "ttl": "2m"}},
        )
        gw.call("PUT", "/api/v5/authentication/password_based:dashboard_accounts/position/front")
        # The state store writes right after the answer; the crash comes once the last change is on disk.
        wait_for(lambda: '"dashboard_accounts"' in stored_chain(tmp_path).split("built_in_database")[0])
        gw.kill9()
        gw = Gw(tmp_path)
        assert [a["id"] for a in gw.call("GET", "/api/v5/authentication")] == ["password_based:dashboard_accounts", DB]
        algo = gw.call("GET", f"/api/v5/authentication/{DB}")["password_hash_algorithm"]
        assert algo == {"name": "sha512", "salt_position": "suffix"}
        users = gw.call("GET", f"/api/v5/authentication/{DB}/users")["data"]
        assert users == [{"user_id": "dev", "is_superuser": False}, {"user_id": "root", "is_superuser": True}]
        _, rc = gw.connack(username="dev", password="pw-2")
        assert rc == 0x86
        dev, rc = gw.connack(username="dev", password="pw-1")
        assert rc == 0
        assert gw.puback(dev, "secret/x") == 0x87
        assert gw.puback(dev, "file/x") == 0x87
        assert gw.puback(dev, "open/x") == 0x10
        root, rc = gw.connack(username="root", password="r")
        assert gw.puback(root, "secret/x") == 0x10
        assert gw.call("GET", "/api/v5/authorization/settings")["cache"] == {
            "enable": True,
            "max_size": 7,
            "ttl": "2m",
            "excludes": [],
        }
        # Nothing kept in the file is a password: only salted hashes.
        conn = sqlite3.connect(tmp_path / "data" / "emqgw.db")
        stored = conn.execute("SELECT user_id, password_hash, salt FROM auth_users ORDER BY user_id").fetchall()
        conn.close()
        assert [row[0] for row in stored] == ["dev", "root"]
        assert all("pw-1" not in h and len(s) == 32 for _, h, s in stored)
        for c in (dev, root):
            c.disconnect()
    finally:
        gw.stop()


def test_a_rules_text_that_does_not_parse_is_neither_applied_nor_kept(tmp_path):
    gw = Gw(tmp_path)
    try:
        good = '{deny, all, publish, ["kept/#"]}.'
        gw.call("PUT", "/api/v5/authorization/sources/file", {"type": "file", "rules": good})
        try:
            gw.call("PUT", "/api/v5/authorization/sources/file", {"type": "file", "rules": "{allow"})
            raise AssertionError("a broken rules text was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 400
        gw.stop()
        gw = Gw(tmp_path)
        assert gw.call("GET", "/api/v5/authorization/sources/file")["rules"] == good
        c, _ = gw.connack()
        assert gw.puback(c, "kept/1") == 0x87
        c.disconnect()
    finally:
        gw.stop()
