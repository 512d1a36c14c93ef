"""Bad input never earns a 5xx: every route of the three dialects (both `/api/v4` flavors), walked from
the route tables, with one bad element per request — an integer beyond 64 bits (or beyond what a
machine integer holds) in each query and path parameter, a NUL byte (`%00`) in each path parameter,
each body property of the wrong type or out of any number's range — must answer the dialect's own
4xx (or a success that ignores the value), never a 5xx, and log no traceback.

Every request carries exactly one bad element; the rest is plausible (this node's name, a connected
client's id, each body property of its declared type), so that the bad element is the one read.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from typing import Any

import pytest
from yarl import URL

from gateway.config import HttpConfig
from tests.mqtt_helpers import Client

# Query and path values: beyond 64 bits, just beyond a signed 64-bit integer either way, the signed
# 64-bit extremes themselves (which reach the handlers), a few hundred digits (beyond any float), and
# past the digits Python converts at all (int() refuses more than 4300).
BIG_TEXTS = (
    "99999999999999999999",
    "9223372036854775808",
    "-9223372036854775809",
    "9223372036854775807",
    "-9223372036854775808",
    "9" * 400,
    "9" * 5000,
)
# Body values: orjson reads integers beyond 64 bits as floats, so these are what a handler can be
# handed: the 64-bit extremes, floats far beyond any integer field, and wrong types.
BAD_BODY_VALUES: tuple[Any, ...] = (
    18446744073709551615,
    9223372036854775807,
    -9223372036854775808,
    1e300,
    -1e300,
    "x",
    [],
    {},
    None,
)
NUL = "x%00y"
CLIENTID = "sweeper"

BASIC = {"Authorization": "Basic " + base64.b64encode(b"admin:public").decode()}
PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def plausible(schema: dict) -> Any:
    """A value of the schema's type (its first enum value, its default), for the fields not under test."""
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type") or (schema.get("anyOf") or [{}])[0].get("type")
    if kind == "object":
        return {k: plausible(v) for k, v in schema.get("properties", {}).items() if k in schema.get("required", ())}
    return {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": []}.get(kind, "x")


def bad_bodies(schema: Any) -> list[Any]:
    """Each property of the body, in turn, given each bad value; and the whole body replaced by each."""
    out: list[Any] = list(BAD_BODY_VALUES)
    if not isinstance(schema, dict):
        return out
    props = schema.get("properties", {})
    if props:
        base = {k: plausible(v) for k, v in props.items()}
        for name in props:
            out.extend({**base, name: value} for value in BAD_BODY_VALUES)
    items = schema.get("items")
    if schema.get("type") == "array":
        item = plausible(items) if isinstance(items, dict) else {}
        out.extend([value] for value in BAD_BODY_VALUES)
        if isinstance(item, dict) and isinstance(items, dict):
            for name in items.get("properties", {}):
                out.extend([{**item, name: value}] for value in BAD_BODY_VALUES)
    return out


def requests_for(prefix: str, ep, node: str) -> list[tuple[str, str, Any]]:
    """(method, url, body) with one bad element each; body None means none sent."""
    names = [m.group(1) for m in PLACEHOLDER.finditer(ep.path)]
    good = {name: node if name == "node" else CLIENTID if name == "clientid" else "x" for name in names}

    def url(path_values: dict[str, str], query: str = "") -> str:
        path = PLACEHOLDER.sub(lambda m: path_values[m.group(1)], ep.path)
        return f"{prefix}{path}{'?' + query if query else ''}"

    out: list[tuple[str, str, Any]] = []
    for name in names:
        for bad in (NUL, *BIG_TEXTS):
            out.append((ep.method, url({**good, name: bad}), None))
    for p in ep.params:
        if p.where != "query":
            continue
        out.extend((ep.method, url(good, f"{p.name}={v}"), None) for v in BIG_TEXTS)
        out.append((ep.method, url(good, f"{p.name}={NUL}"), None))
    if ep.body is not None:
        out.extend((ep.method, url(good), body) for body in bad_bodies(ep.body))
    return out


# Routes outside the dialect tables: the health check, the OpenAPI documents and their assets, the home
# page's assets and the EMQ 2.3 dashboard directory served at `/`.
EXTRA_PATHS = (
    "/status?format=" + NUL,
    "/" + NUL,
    "/static/" + NUL,
    "/static/a" + NUL + "/b",
    "/index.html" + NUL,
    "/api-docs/assets/" + NUL,
    "/api-docs/" + NUL,
    "/api/v5/" + NUL,
    "/api/v4/" + NUL,
    "/api/v2/" + NUL,
    "/assets/" + NUL,
)


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
    failures: list[str] = []
    sent = 0
    try:
        for name, dialect in gw.dialects.items():
            for ep in dialect.table.endpoints:
                for method, url, body in requests_for(dialect.prefix, ep, node):
                    kw: dict[str, Any] = {"headers": {**auth[name], "Content-Type": "application/json"}}
                    if body is not None:
                        kw["json"] = body
                    async with gw.http.request(method, URL(url, encoded=True), **kw) as r:
                        sent += 1
                        if r.status >= 500:
                            failures.append(f"{r.status} {method} {url[:120]} {body!r:.80} -> {(await r.text())[:120]}")
        for path in EXTRA_PATHS:
            async with gw.http.get(URL(path, encoded=True), headers=BASIC) as r:
                sent += 1
                if r.status >= 500:
                    failures.append(f"{r.status} GET {path}")
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
