"""The MaxScale manners of the gateway core, over real HTTP, with a small dialect of the test's own."""

import base64

import orjson
import pytest
from aiohttp import web

from gateway.config import GatewayConfig, HttpConfig
from gateway.http import dialect as d
from gateway.http.app import build_app
from gateway.http.context import GatewayContext
from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Routes
from tests.mqtt_helpers import RunningBroker


class EchoDialect(Dialect):
    """Errors as {"err": reason}; Basic auth with user:pass; a tiny mutable resource."""

    name = "echo"
    prefix = "/api/echo"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.item = {"value": 1}
        routes = Routes()
        routes.add("GET", "/item", self.get_item)
        routes.add("PUT", "/item", self.put_item)
        routes.add("DELETE", "/item", self.delete_item)
        routes.add("GET", "/open", self.get_item, auth="none", name="open")
        routes.add("GET", "/boom", self.boom)
        self.include(routes)

    async def get_item(self, call):
        return self.json(self.item)

    async def put_item(self, call):
        self.item = await call.request.json()
        return self.json(self.item)

    async def delete_item(self, call):
        self.item = {}
        return web.Response(status=204)

    async def boom(self, call):
        raise RuntimeError("secret internals")

    def error_response(self, request, err):
        return self.json({"err": err.code, "message": err.message}, status=err.status, headers=err.headers)

    def manners_error(self, reason, message=""):
        status = {
            d.METHOD_NOT_ALLOWED: 405,
            d.TOO_LARGE: 413,
            d.UNSUPPORTED_MEDIA_TYPE: 415,
            d.PRECONDITION_FAILED: 412,
            d.NOT_FOUND: 404,
            d.INTERNAL: 500,
        }[reason]
        return ApiError(status, reason, message)

    async def authenticate(self, request, endpoint):
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(b"user:pass").decode():
            raise ApiError(401, d.UNAUTHORIZED, "who are you", headers={"WWW-Authenticate": 'Basic realm="echo"'})
        return "user"


AUTH = {"Authorization": "Basic " + base64.b64encode(b"user:pass").decode()}


@pytest.fixture
async def client(aiohttp_client):
    rb = RunningBroker()
    ctx = GatewayContext(config=GatewayConfig(http=HttpConfig(body_limit=100)), control=rb.control)
    dl = EchoDialect(ctx)
    c = await aiohttp_client(build_app(ctx, [dl]))
    c.ctx = ctx
    yield c
    rb.close()


async def test_auth_and_www_authenticate(client):
    r = await client.get("/api/echo/item")
    assert r.status == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="echo"'
    assert (await r.json())["err"] == d.UNAUTHORIZED
    assert (await client.get("/api/echo/open")).status == 200


async def test_allow_on_every_answer_and_405(client):
    r = await client.get("/api/echo/item", headers=AUTH)
    assert r.headers["Allow"] == "DELETE, GET, HEAD, PUT"
    r = await client.post("/api/echo/item", headers=AUTH, json={})
    assert r.status == 405 and r.headers["Allow"] == "DELETE, GET, HEAD, PUT"
    assert (await r.json())["err"] == d.METHOD_NOT_ALLOWED


async def test_etag_and_if_none_match(client):
    r = await client.get("/api/echo/item", headers=AUTH)
    etag = r.headers["ETag"]
    r2 = await client.get("/api/echo/item", headers={**AUTH, "If-None-Match": etag})
    assert r2.status == 304 and await r2.read() == b""
    await client.put("/api/echo/item", headers=AUTH, json={"value": 2})
    r3 = await client.get("/api/echo/item", headers={**AUTH, "If-None-Match": etag})
    assert r3.status == 200 and r3.headers["ETag"] != etag


async def test_if_match_guards_updates_and_changes_nothing(client):
    etag = (await client.get("/api/echo/item", headers=AUTH)).headers["ETag"]
    r = await client.put("/api/echo/item", headers={**AUTH, "If-Match": '"stale"'}, json={"value": 9})
    assert r.status == 412
    assert (await (await client.get("/api/echo/item", headers=AUTH)).json()) == {"value": 1}
    r = await client.put("/api/echo/item", headers={**AUTH, "If-Match": etag}, json={"value": 3})
    assert r.status == 200 and (await r.json()) == {"value": 3}


async def test_method_override(client):
    r = await client.post("/api/echo/item", headers={**AUTH, "X-HTTP-Method-Override": "DELETE"})
    assert r.status == 204
    assert (await (await client.get("/api/echo/item", headers=AUTH)).json()) == {}


async def test_pretty(client):
    compact = await (await client.get("/api/echo/item", headers=AUTH)).read()
    pretty = await (await client.get("/api/echo/item?pretty=true", headers=AUTH)).read()
    assert b"\n" not in compact and b"\n" in pretty
    assert orjson.loads(pretty) == orjson.loads(compact)


async def test_413_and_415_change_nothing(client):
    r = await client.put("/api/echo/item", headers=AUTH, json={"value": "x" * 200})
    assert r.status == 413 and (await r.json())["err"] == d.TOO_LARGE
    r = await client.put("/api/echo/item", headers={**AUTH, "Content-Type": "text/plain"}, data=b"{}")
    assert r.status == 415
    assert (await (await client.get("/api/echo/item", headers=AUTH)).json()) == {"value": 1}


async def test_unknown_path_in_dialect_envelope_and_500_without_traceback(client):
    r = await client.get("/api/echo/nope")
    assert r.status == 404 and (await r.json())["err"] == d.NOT_FOUND
    r = await client.get("/elsewhere")
    assert r.status == 404 and "html" not in r.content_type
    r = await client.get("/api/echo/boom", headers=AUTH)
    body = await r.text()
    assert r.status == 500 and "secret internals" not in body and "Traceback" not in body


async def test_status_open_plain_and_json(client):
    r = await client.get("/status")
    assert r.status == 200 and "is started" in await r.text()
    r = await client.get("/status?format=json")
    assert (await r.json())["broker_status"] == "started"


async def test_requests_counted_per_dialect(client):
    await client.get("/api/echo/item", headers=AUTH)
    assert client.ctx.requests[("echo", "GET", "/item", 200)] == 1


async def test_openapi_document_from_the_route_table(client):
    # The echo dialect is not one of the three documented ones; build its document directly.
    from gateway.http.openapi import document

    dl = EchoDialect(client.ctx)
    doc = document(dl)
    assert set(doc["paths"]["/api/echo/item"]) == {"get", "put", "delete"}
    assert doc["paths"]["/api/echo/open"]["get"]["security"] == []
    r = await client.get("/api-docs/index.html")
    assert r.status == 200 and "swagger-ui-bundle.js" in await r.text()
    r = await client.get("/api-docs/assets/swagger-ui-bundle.js")
    assert r.status == 200 and len(await r.read()) > 100_000
