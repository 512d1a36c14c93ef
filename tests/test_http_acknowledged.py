"""Acknowledged means stored: an HTTP write (ban, unban, configuration, retained message, user, API key)
answers success only once it is committed, in both durability modes. The real `emqgw serve` is killed
with SIGKILL the moment the client has read the status line of the answer, and the database file it
leaves is read as it is (SQLite, WAL included): the write must be there. Many processes per mode, run
side by side, so that a write that races its commit is caught. A write the store cannot commit is not
answered as a success."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from typing import Any, NamedTuple

import aiohttp
import pytest

from gateway.config import GatewayConfig, HttpConfig
from gateway.runtime import GatewayRuntime
from schemas.records import ListenerConfig
from tests.serve_helpers import NO_LEGACY_HTTP, ROOT, listening_lines, port_of

BASIC = "Basic " + base64.b64encode(b"admin:public").decode()


class Write(NamedTuple):
    name: str
    method: str
    path: str
    body: Any
    stored: str  # a query on emqgw.db that finds a row once the write is there


WRITES = [
    Write("ban", "POST", "/api/v5/banned", {"as": "clientid", "who": "gone-{n}"},
          "SELECT 1 FROM broker_banned WHERE who = 'gone-{n}'"),
    Write("unban", "DELETE", "/api/v5/banned/clientid/old-{n}", None,
          "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM broker_banned WHERE who = 'old-{n}')"),
    # (3{n}: an inflight window of 0 is refused, and 2.3 answers a refusal with HTTP 200 too)
    Write("config", "PUT", "/api/v2/configs/emqttd", {"key": "max_inflight", "value": "3{n}"},
          "SELECT 1 FROM broker_config WHERE doc LIKE '%\"max_inflight\": 3{n},%'"),
    Write("retained", "POST", "/api/v5/publish", {"topic": "kept/{n}", "payload": "x", "retain": True},
          "SELECT 1 FROM broker_retained WHERE topic = 'kept/{n}'"),
    Write("user", "POST", "/api/v5/users", {"username": "ops{n}", "password": "secret-pw-{n}", "description": ""},
          "SELECT 1 FROM users WHERE username = 'ops{n}'"),
    Write("api_key", "POST", "/api/v5/api_key", {"name": "key{n}", "enable": True},
          "SELECT 1 FROM api_keys WHERE name = 'key{n}'"),
]  # fmt: skip
ROUNDS = 2  # processes per write and mode


def _fill(template, n: int):
    if isinstance(template, dict):
        return {k: _fill(v, n) for k, v in template.items()}
    return template.replace("{n}", str(n)) if isinstance(template, str) else template


def _request(port: int, method: str, path: str, body, token: str | None) -> bytes:
    data = b"" if body is None else json.dumps(body).encode()
    auth = f"Bearer {token}" if token and path.startswith("/api/v5") else BASIC
    return (
        f"{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode() + data


def _call(port: int, method: str, path: str, body=None, token: str | None = None) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(_request(port, method, path, body, token))
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    head, _, rest = got.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


def _login(port: int) -> str:
    status, body = _call(port, "POST", "/api/v5/login", {"username": "admin", "password": "public"})
    assert status == 200, body
    return json.loads(body)["token"]


def _write_then_kill(proc: subprocess.Popen, port: int, method: str, path: str, body, token: str) -> int:
    """Send the write; SIGKILL the server as soon as the status line is read. Returns the status."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(_request(port, method, path, body, token))
        got = b""
        while b"\r\n" not in got:
            chunk = s.recv(64)
            if not chunk:
                break
            got += chunk
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return int(got.split()[1])


@pytest.mark.parametrize("mode", ["sync", "periodic"])
def test_an_acknowledged_http_write_survives_kill_9(tmp_path, mode):
    conf = tmp_path / "emqgw.toml"
    conf.write_text(f'[mqtt]\ndurability = "{mode}"\n')
    runs = [(w.name, n) for n in range(ROUNDS) for w in WRITES]
    procs = {}
    for name, n in runs:
        data = tmp_path / f"{name}-{n}"
        procs[(name, n)] = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(conf), "--data-dir", str(data)]
            + [*NO_LEGACY_HTTP, "--mqtt-port", "off", "--ws-port", "off"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    lost = []
    try:
        for (name, n), proc in procs.items():
            write = next(w for w in WRITES if w.name == name)
            lines = listening_lines(proc, 1)
            assert lines, proc.stderr.read() if proc.poll() is not None else "no listening line"
            port = port_of(lines, "listening: http")
            token = _login(port)
            if name == "unban":  # what the write removes, made (and stored) well before it
                status, answer = _call(port, "POST", "/api/v5/banned", {"as": "clientid", "who": f"old-{n}"}, token)
                assert status == 200, answer
                time.sleep(0.3)
            status = _write_then_kill(proc, port, write.method, _fill(write.path, n), _fill(write.body, n), token)
            assert 200 <= status < 300, (name, status)
            db = sqlite3.connect(tmp_path / f"{name}-{n}" / "emqgw.db")
            try:
                if db.execute(_fill(write.stored, n)).fetchone() is None:
                    lost.append(f"{name} #{n}")
            finally:
                db.close()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert not lost, f"{mode}: acknowledged, then lost to kill -9: {lost}"


@pytest.fixture
async def runtime(tmp_path):
    """``await runtime(mode)``: the whole gateway in this process over ``tmp_path``, stopped at teardown."""
    made: list[GatewayRuntime] = []

    async def start(mode: str = "periodic") -> GatewayRuntime:
        cfg = GatewayConfig(data_dir=str(tmp_path), http=HttpConfig(port=0, v2_port=None, v4_port=None))
        cfg.broker.listeners = [ListenerConfig(type="tcp", port=0)]
        cfg.broker.durability = mode
        rt = GatewayRuntime(cfg)
        await rt.start()
        made.append(rt)
        return rt

    yield start
    for rt in made:
        await rt.stop()


async def test_a_write_that_cannot_be_stored_is_not_acknowledged(runtime, tmp_path, caplog):
    rt = await runtime()
    base = f"http://127.0.0.1:{rt.http.bound[0][1]}"
    with sqlite3.connect(tmp_path / "emqgw.db") as db:  # the ban table goes: the next ban cannot be written
        db.execute("DROP TABLE broker_banned")
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{base}/api/v5/login", json={"username": "admin", "password": "public"}) as r:
            auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        async with s.post(f"{base}/api/v5/banned", json={"as": "clientid", "who": "x"}, headers=auth) as r:
            body = await r.json()
            assert r.status == 503 and body["code"] == "SERVICE_UNAVAILABLE", body
            assert "could not be stored" in body["message"]
        config = {"key": "max_inflight", "value": "7"}
        async with s.put(f"{base}/api/v2/configs/emqttd", json=config, headers={"Authorization": BASIC}) as r:
            assert r.status == 200  # a write the store can still take is answered as before
    assert any("writing broker state failed" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize(("mode", "synchronous"), [("sync", 2), ("periodic", 1)])
async def test_sync_mode_puts_account_commits_on_disk_too(runtime, mode, synchronous):
    rt = await runtime(mode)
    # FULL (2) waits for the disk at each commit, NORMAL (1) for the OS: both survive kill -9.
    assert rt.accounts._conn.execute("PRAGMA synchronous").fetchone()[0] == synchronous
