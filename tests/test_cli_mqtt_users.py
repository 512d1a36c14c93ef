"""`emqgw mqtt-users`: MQTT users provisioned on the database file, then met by a real `emqgw serve` and real
MQTT clients."""

import signal
import subprocess
import sys

from tests.mqtt_helpers import TIMEOUT, Client
from tests.serve_helpers import ROOT, listening_lines, port_of, serve


def cli(tmp_path, *args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "mqtt-users", *args, "--data-dir", str(tmp_path / "data")],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Port:
    def __init__(self, port):
        self._port = port

    def port(self, transport="tcp"):
        return self._port


def connack(port, **kw):
    c = Client(Port(port), v5=True, connect=False, **kw)
    _, rc, _ = c.connect(expect_ok=False)
    c.c.loop_stop()
    return rc.value


def test_provision_then_serve(tmp_path):
    r = cli(tmp_path, "add", "alice", "--password-stdin", stdin="s3cret\n")
    assert r.returncode == 0 and "alice added" in r.stdout, r.stderr
    r = cli(tmp_path, "add", "alice", "--password-stdin", stdin="x\n")
    assert r.returncode == 2 and "already exists" in r.stderr
    r = cli(tmp_path, "add", "root", "--superuser", "--clientid", "--password-stdin", stdin="r00t\n")
    assert r.returncode == 0
    users = tmp_path / "users.csv"
    users.write_text("user_id,password,is_superuser\nbob,b0b,false\nalice,changed,false\n,nobody,false\n")
    r = cli(tmp_path, "import", str(users))
    assert r.stdout.strip() == "total 3, success 2, override 1, skipped 0, failed 1", r.stderr
    bad = tmp_path / "users.xml"
    bad.write_text("<users/>")
    r = cli(tmp_path, "import", str(bad))
    assert r.returncode == 2 and "unsupported_file_format" in r.stderr
    listed = cli(tmp_path, "list").stdout
    assert [line.split()[0] for line in listed.splitlines()[1:]] == ["alice", "bob"]
    assert "changed" not in listed and "s3cret" not in listed and "b0b" not in listed
    assert "root" in cli(tmp_path, "list", "--clientid").stdout
    assert cli(tmp_path, "delete", "bob").returncode == 0
    r = cli(tmp_path, "delete", "bob")
    assert r.returncode == 2 and "no such MQTT user: bob" in r.stderr
    r = cli(tmp_path, "add", "", "--password-stdin", stdin="p\n")
    assert r.returncode == 2

    proc = serve("--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
    try:
        lines = listening_lines(proc, 2)
        port = port_of(lines, "listening: mqtt tcp")
        assert connack(port, username="alice", password="changed") == 0
        assert connack(port, username="alice", password="s3cret") == 0x86
        assert connack(port, clientid="root", username="x", password="r00t") == 0
        assert connack(port, username="bob", password="b0b") == 0  # deleted: unknown, so anonymous
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(TIMEOUT)
