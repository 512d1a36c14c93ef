"""Bad input never earns a 5xx: every route of the three dialects (both `/api/v4` flavors), walked from
the route tables with one bad element per request (tests/bad_input_helpers.py) — an integer beyond 64
bits (or beyond what a machine integer holds) in each query and path parameter, a NUL byte (`%00`) in
each path parameter, each body property of the wrong type or out of any number's range — must answer
the dialect's own 4xx (or a success that ignores the value), never a 5xx, and log no traceback.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from yarl import URL

from gateway.config import HttpConfig
from tests.bad_input_helpers import CLIENTID, sweep
from tests.mqtt_helpers import Client

BASIC = {"Authorization": "Basic " + base64.b64encode(b"admin:public").decode()}


@pytest.mark.parametrize("flavor", ["nanomq", "emqx4"])
async def test_no_5xx_on_bad_input_anywhere(gateway, tmp_path, caplog, flavor):
    dashboard = tmp_path / "dashboard"
    (dashboard / "static").mkdir(parents=True)
    (dashboard / "index.html").write_text("<html></html>")
    (dashboard / "static" / "app.js").write_text("")
    gw = await gateway(http=HttpConfig(v4_flavor=flavor, dashboard_dir=str(dashboard)))
    node = gw.ctx.control.node_name
    login = await gw.http.post("/api/v5/login", json={"username": "admin", "password": "public"})
    token = (await login.json())["token"]
    auth = {"v2": BASIC, "v4": BASIC, "v5": {"Authorization": f"Bearer {token}"}}
    connected = Client(gw.broker, CLIENTID)
    caplog.set_level(logging.WARNING)

    async def send(dialect: str, method: str, url: str, body) -> tuple[int, str]:
        kw: dict = {"headers": {**auth.get(dialect, BASIC), "Content-Type": "application/json"}}
        if body is not None:
            kw["json"] = body
        async with gw.http.request(method, URL(url, encoded=True), **kw) as r:
            return r.status, await r.text()

    try:
        sent, failures = await sweep(send, gw.dialects.values(), node)
    finally:
        connected.disconnect()
    assert not failures, f"{len(failures)} of {sent} requests answered 5xx:\n" + "\n".join(failures[:60])
    tracebacks = [rec for rec in caplog.records if rec.exc_info]
    assert not tracebacks, [rec.getMessage() for rec in tracebacks[:10]]
    assert sent > 2000  # the walk covered the tables, not an empty list


@pytest.mark.parametrize("flavor", ["nanomq", "emqx4"])
async def test_oversized_paging_answers_each_dialects_own_error(gateway, tmp_path, flavor):
    gw = await gateway(http=HttpConfig(v4_flavor=flavor))
    node = gw.ctx.control.node_name
    key, secret = gw.accounts.create_api_key("sweep", "", True, None)
    v5_auth = {"Authorization": "Basic " + base64.b64encode(f"{key.api_key}:{secret}".encode()).decode()}

    r = await gw.http.get("/api/v5/clients?page=99999999999999999999", headers=v5_auth)
    body = await r.json()
    assert r.status == 400 and body["code"] == "BAD_REQUEST"
    # The value comes back as text: no JSON reader has to take a number beyond 64 bits.
    assert json.loads(body["message"])["value"] == "99999999999999999999"
    r = await gw.http.get("/api/v5/clients?limit=10001", headers=v5_auth)
    assert r.status == 400 and json.loads((await r.json())["message"])["value"] == 10001

    too_big = "9223372036854775808"
    for resource in ("clients", "routes", "banned", "subscriptions"):
        r = await gw.http.get(f"/api/v4/{resource}?_limit={too_big}", headers=BASIC)
        body = await r.json()
        if flavor == "nanomq" and resource == "clients":
            assert (r.status, body) == (400, {"code": 108})  # NanoMQ refuses any paging key
        elif flavor == "nanomq" and resource == "subscriptions":
            assert r.status == 200 and body == {"code": 0, "data": []}  # NanoMQ's listing takes no paging
        else:
            # EMQX 4's business error: HTTP 200 with its code, as for any other bad `_limit`.
            assert (r.status, body) == (200, {"code": 108, "message": "bad limit"})

    r = await gw.http.get(f"/api/v2/nodes/{node}/clients?page_size={too_big}", headers=BASIC)
    assert r.status == 404 and await r.read() == b""  # EMQ 2.3's answer to paging it could not read
