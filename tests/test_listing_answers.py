"""Listing answers built from remembered rows (adapters.common.rows, gateway.http.listing), over real HTTP:
every dialect's listed row is the row its lookup renders afresh, before and after the client changes;
a listing's ETag follows its rows; a listing longer than a page is streamed whole, with its length,
ETag, 304, HEAD and `pretty` as any other answer has them."""

from __future__ import annotations

import socket

import aiohttp
import attrs
import orjson
import pytest

from gateway.config import HttpConfig
from gateway.http.listing import STREAM_ROWS
from tests.http_helpers import Gateway
from tests.mqtt_helpers import TIMEOUT, Client, connect_bytes, wait_for
from tests.v5_helpers import basic

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}
NODE = "emqgw@127.0.0.1"


async def body_of(gw, path: str, headers: dict, **kw) -> tuple[aiohttp.ClientResponse, bytes]:
    r = await gw.http.get(path, headers=headers, **kw)
    return r, await r.read()


def rows_of(doc) -> list:
    return doc["result"]["objects"] if "result" in doc else doc["data"]


# (how to list, how to look one client up, the id key of a row) per dialect and listing
LISTINGS = {
    "v2 clients": (f"/api/v2/nodes/{NODE}/clients?page_size=100", "/api/v2/clients/{}", "client_id"),
    "v2 sessions": (f"/api/v2/nodes/{NODE}/sessions?page_size=100", "/api/v2/sessions/{}", "client_id"),
    "v5 clients": ("/api/v5/clients?limit=100", "/api/v5/clients/{}", "clientid"),
    "nanomq clients": ("/api/v4/clients", "/api/v4/clients/{}", "client_id"),
    "emqx4 clients": ("/api/v4/clients?_limit=100", "/api/v4/clients/{}", "clientid"),
}


@attrs.define
class AllDialects:
    """A gateway serving every dialect (`/api/v4` in one flavor) and an API key for `/api/v5`."""

    gw: Gateway
    flavor: str
    v5_auth: dict

    @property
    def broker(self):
        return self.gw.broker

    @property
    def http(self):
        return self.gw.http

    @property
    def ctx(self):
        return self.gw.ctx


@pytest.fixture(params=["nanomq", "emqx4"])
async def gw(request, gateway) -> AllDialects:
    gw = await gateway("v2", "v4", "v5", http=HttpConfig(v4_flavor=request.param))
    key, secret = gw.accounts.create_api_key("listing", "", True, None)
    return AllDialects(gw, request.param, basic(key.api_key, secret))


def served(gw: AllDialects) -> dict:
    other = "emqx4" if gw.flavor == "nanomq" else "nanomq"
    return {name: spec for name, spec in LISTINGS.items() if not name.startswith(other)}


def auth(gw: AllDialects, name: str) -> dict:
    return gw.v5_auth if name.startswith("v5") else ADMIN


async def listed_and_looked_up(gw, name: str) -> tuple[dict, dict]:
    listing, lookup, key = served(gw)[name]
    r, raw = await body_of(gw, listing, auth(gw, name))
    assert r.status == 200, raw
    rows = {row[key]: row for row in rows_of(orjson.loads(raw))}
    fresh = {}
    for cid in rows:
        r, one = await body_of(gw, lookup.format(cid), auth(gw, name))
        doc = orjson.loads(one)
        fresh[cid] = doc if name.startswith("v5") else rows_of(doc)[0]
    if name.startswith("v5"):
        # EMQX 5's heap_size is filled in by the one-client lookup only: it costs a walk of the queues.
        for doc in (*rows.values(), *fresh.values()):
            doc.pop("heap_size", None)
    return rows, fresh


async def test_listed_rows_are_the_rows_lookups_render_afresh(gw):
    clients = [Client(gw.broker, cid, username=user) for cid, user in (("la", "ann"), ("lb", None), ("lc", "cy"))]
    try:
        before = {}
        for name in served(gw):
            rows, fresh = await listed_and_looked_up(gw, name)
            assert set(rows) == {"la", "lb", "lc"} and rows == fresh, name
            before[name] = rows
        # Every kind of row moves: a subscription (sessions' and v4/v5 counts), traffic (counters) and a
        # keepalive set over the API (v2 clients show it).
        clients[0].subscribe("moved/#", 1)
        clients[0].publish("moved/1", b"x", qos=1)
        clients[0].expect()
        await gw.ctx.control.set_keepalive("la", 99)
        for name in served(gw):
            rows, fresh = await listed_and_looked_up(gw, name)
            assert rows == fresh, name
            assert rows["la"] != before[name]["la"], name
            assert rows["lb"] == before[name]["lb"] and rows["lc"] == before[name]["lc"], name
    finally:
        for c in clients:
            c.disconnect()


async def test_a_listing_etag_follows_its_rows(gw):
    c = Client(gw.broker, "tagged")
    try:
        for name, (listing, _, _) in served(gw).items():
            r1, b1 = await body_of(gw, listing, auth(gw, name))
            r2, b2 = await body_of(gw, listing, auth(gw, name))
            etag = r1.headers["ETag"]
            assert b1 == b2 and r2.headers["ETag"] == etag, name
            r3, b3 = await body_of(gw, listing, {**auth(gw, name), "If-None-Match": etag})
            assert (r3.status, b3) == (304, b""), name
        tags = {
            name: (await body_of(gw, listing, auth(gw, name)))[0].headers["ETag"]
            for name, (listing, _, _) in served(gw).items()
        }
        # A keepalive (v2 clients show it) and a subscription (v2 sessions count them).
        await gw.ctx.control.set_keepalive("tagged", 7)
        c.subscribe("tagged/#")
        for name, (listing, _, _) in served(gw).items():
            r, _ = await body_of(gw, listing, {**auth(gw, name), "If-None-Match": tags[name]})
            assert r.status == 200 and r.headers["ETag"] != tags[name], name
    finally:
        c.disconnect()


def offline_sessions(rb, n: int) -> None:
    """``n`` persistent sessions whose clients have gone, each subscribed to `bulk/<i>` (raw CONNECT,
    SUBSCRIBE, then DISCONNECT)."""
    for i in range(n):
        with socket.create_connection(("127.0.0.1", rb.port()), timeout=TIMEOUT) as s:
            s.sendall(connect_bytes(f"bulk{i:05d}", clean=False))
            assert s.recv(4)[3] == 0
            topic = f"bulk/{i}".encode()
            body = b"\x00\x01" + len(topic).to_bytes(2, "big") + topic + b"\x01"
            s.sendall(bytes([0x82, len(body)]) + body)
            assert s.recv(5)[0] == 0x90
            s.sendall(b"\xe0\x00")
            # The broker closes first, so the socket's TIME_WAIT does not hold one of the machine's
            # ephemeral ports (1,200 of them, every run).
            assert s.recv(1) == b""
    wait_for(lambda: rb.call(lambda: not rb.broker.channels))


async def test_a_long_listing_is_streamed_as_any_answer(gateway):
    gw = await gateway("v4")  # NanoMQ: every client in one answer
    n = STREAM_ROWS + 200
    offline_sessions(gw.broker, n)
    r, compact = await body_of(gw, "/api/v4/clients", ADMIN)
    assert r.status == 200 and "Transfer-Encoding" not in r.headers
    assert int(r.headers["Content-Length"]) == len(compact)
    doc = orjson.loads(compact)
    assert doc["code"] == 0 and [row["client_id"] for row in doc["data"]] == [
        f"bulk{i:05d}" for i in reversed(range(n))
    ]
    one = orjson.loads((await body_of(gw, "/api/v4/clients/bulk00042", ADMIN))[1])["data"][0]
    assert doc["data"][n - 1 - 42] == one
    etag = r.headers["ETag"]
    again, same = await body_of(gw, "/api/v4/clients", ADMIN)
    assert (again.headers["ETag"], same) == (etag, compact)
    not_modified, empty = await body_of(gw, "/api/v4/clients", {**ADMIN, "If-None-Match": etag})
    assert (not_modified.status, empty, not_modified.headers["ETag"]) == (304, b"", etag)
    pretty, indented = await body_of(gw, "/api/v4/clients?pretty=true", ADMIN)
    assert pretty.status == 200 and pretty.headers["ETag"] == etag
    assert indented == orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    head = await gw.http.head("/api/v4/clients", headers=ADMIN)
    assert head.status == 200 and await head.read() == b"" and head.headers["ETag"] == etag
    # A change anywhere in the listing gives it a new validator.
    await gw.ctx.control.kick_client("bulk00007")
    changed, _ = await body_of(gw, "/api/v4/clients", {**ADMIN, "If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag
    # Subscription rows are encoded for each answer (nothing remembers them): streamed all the same.
    r, raw = await body_of(gw, "/api/v4/subscriptions", ADMIN)
    subs = orjson.loads(raw)["data"]
    assert int(r.headers["Content-Length"]) == len(raw) and len(subs) == n - 1
    assert subs[0] == {"clientid": f"bulk{n - 1:05d}", "topic": f"bulk/{n - 1}", "qos": 1}


async def test_a_long_emqx4_page_is_streamed_too(gateway):
    gw = await gateway("v4", http=HttpConfig(v4_flavor="emqx4"))
    offline_sessions(gw.broker, STREAM_ROWS + 5)
    r, raw = await body_of(gw, "/api/v4/clients?_limit=2000", ADMIN)
    doc = orjson.loads(raw)
    assert int(r.headers["Content-Length"]) == len(raw) and len(doc["data"]) == STREAM_ROWS + 5
    assert doc["meta"] == {"page": 1, "limit": 2000, "count": STREAM_ROWS + 5, "hasnext": False}
    pretty = await (await gw.http.get("/api/v4/clients?_limit=2000&pretty=1", headers=ADMIN)).read()
    assert pretty == orjson.dumps(doc, option=orjson.OPT_INDENT_2)
