"""The usage report: requests counted per dialect, route and credentials, persisted in usage.db, shown by
`GET /api/v5/gateway/usage`, the Prometheus endpoint and `emqgw usage` (against a real `emqgw serve`)."""

import asyncio
import base64
import json
import signal
import subprocess
import sys
import urllib.request

import aiohttp

from gateway.http.usage import USAGE_DB, UsageLog
from tests.serve_helpers import ROOT, listening_lines, port_of, serve

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}


def test_log_merges_file_and_pending_and_survives_reopen(tmp_path):
    path = tmp_path / USAGE_DB
    log = UsageLog(path)
    log.record("v2", "GET", "/routes", 200, "admin", now=100.0)
    log.record("v2", "GET", "/routes", 200, "admin", now=200.0)
    assert log.flush() == 1
    log.record("v2", "GET", "/routes", 404, "admin", now=300.0)
    log.record("v5", "GET", "/status", 200, None, now=150.0)
    rows = {(u.dialect, u.route, u.principal): u for u in log.report()}
    routes = rows[("v2", "/routes", "admin")]
    assert (routes.count, routes.first_seen, routes.last_seen, routes.last_status) == (3, 100.0, 300.0, 404)
    assert rows[("v5", "/status", "-")].legacy is False and routes.legacy is True
    log.flush()
    again = {(u.dialect, u.route): u.count for u in UsageLog(path).report()}
    assert again == {("v2", "/routes"): 3, ("v5", "/status"): 1}
    assert [u.route for u in UsageLog(path).report(legacy_only=True)] == ["/routes"]


async def test_usage_endpoint_names_principals_and_v5_replacements(gateway):
    gw = await gateway()
    key, secret = gw.accounts.create_api_key("ops-script", "", True, None)
    v5 = {"Authorization": aiohttp.encode_basic_auth(key.api_key, secret)}
    node = gw.ctx.control.node_name
    for _ in range(3):
        assert (await gw.http.get(f"/api/v2/nodes/{node}/clients", headers=ADMIN)).status == 200
    assert (await gw.http.get("/api/v4/routes", headers=ADMIN)).status == 200
    assert (
        await gw.http.post("/api/v2/mqtt/publish", json={"topic": "t", "payload": "x"}, headers=ADMIN)
    ).status == 200
    assert (await gw.http.get("/api/v5/nodes", headers=v5)).status == 200
    r = await gw.http.get("/api/v5/gateway/usage?legacy=true", headers=v5)
    assert r.status == 200
    rows = {(x["dialect"], x["method"], x["route"]): x for x in (await r.json())["data"]}
    clients = rows[("v2", "GET", "/nodes/{node}/clients")]
    assert (clients["count"], clients["principal"], clients["last_status"], clients["legacy"]) == (
        3,
        "admin",
        200,
        True,
    )
    assert clients["v5_equivalent"] == {"operation": "clients.list_node", "call": "GET /api/v5/clients", "instead": ""}
    assert rows[("v4", "GET", "/routes")]["v5_equivalent"]["call"] == "GET /api/v5/topics"
    assert rows[("v2", "POST", "/mqtt/publish")]["v5_equivalent"]["call"] == "POST /api/v5/publish"
    assert all(x["legacy"] for x in rows.values())
    r = await gw.http.get("/api/v5/gateway/usage?dialect=v5", headers=v5)
    mine = [x for x in (await r.json())["data"] if x["route"] == "/nodes"]
    assert mine[0]["principal"] == "api_key:ops-script"
    assert (await gw.http.get("/api/v5/gateway/usage")).status == 401
    # Prometheus, and the flush to the file (what the flusher runs every few seconds)
    text = await (await gw.http.get("/api/v5/prometheus/stats")).text()
    assert (
        'emqgw_api_usage_total{dialect="v2",method="GET",route="/nodes/{node}/clients",principal="admin",'
        'legacy="true"} 3' in text
    )
    assert "emqgw_api_usage_last_seen_seconds{" in text
    await asyncio.to_thread(gw.ctx.usage.flush)
    persisted = {(u.dialect, u.route): u.count for u in UsageLog(gw.ctx.usage.path).report()}
    assert persisted[("v2", "/nodes/{node}/clients")] == 3


ADMIN_BASIC = "Basic " + base64.b64encode(b"admin:public").decode()


def test_translate_endpoint_and_usage_cli_on_a_real_serve(tmp_path):
    """`POST /api/v5/gateway/translate` on a real `emqgw serve`, then `emqgw usage` on its data dir."""
    proc = serve(tmp_path=tmp_path)
    try:
        port = port_of(listening_lines(proc, 3), "listening: http")
        base = f"http://127.0.0.1:{port}"

        def call(method, path, body=None, auth=ADMIN_BASIC):
            req = urllib.request.Request(
                base + path,
                method=method,
                data=None if body is None else json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Authorization": auth},
            )
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status, json.loads(r.read() or b"null")
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read() or b"null")

        assert call("GET", "/api/v2/routes")[0] == 200
        assert call("GET", "/api/v4/brokers")[0] == 200
        token = call("POST", "/api/v5/login", {"username": "admin", "password": "public"})[1]["token"]

        def bearer(method, path, body):
            return call(method, path, body, auth=f"Bearer {token}")

        status, doc = bearer("POST", "/api/v5/gateway/translate", {"request": "GET /api/v2/routes?curr_page=1"})
        assert status == 200 and doc["operation"] == "routes.list"
        v5 = next(t for t in doc["targets"] if t["dialect"] == "v5")
        assert v5["path"] == "/api/v5/topics?page=1"
        status, doc = bearer("POST", "/api/v5/gateway/translate", {"request": "GET /api/v2/nothing"})
        assert status == 400 and doc["code"] == "BAD_REQUEST"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    r = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "usage", "--legacy", "--data-dir", str(tmp_path / "data")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["DIALECT", "METHOD", "ROUTE", "PRINCIPAL"]
    routes = next(line for line in lines if "/routes" in line)
    assert routes.split()[:5] == ["v2", "GET", "/routes", "admin", "1"] and "GET /api/v5/topics" in routes
    brokers = next(line for line in lines if "/brokers" in line)
    assert "GET /api/v5/nodes" in brokers
    assert not any(line.startswith("v5 ") for line in lines)
    r = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "usage", "--json", "--data-dir", str(tmp_path / "data")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    rows = json.loads(r.stdout)
    assert any(x["route"] == "/gateway/translate" and x["principal"] == "admin" and x["count"] == 2 for x in rows)
    r = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "usage", "--data-dir", str(tmp_path / "none")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and "no usage recorded" in r.stderr
