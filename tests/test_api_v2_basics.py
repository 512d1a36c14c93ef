"""`/api/v2` envelope, auth and error forms as EMQ 2.3 answered (reference §1.1-1.3)."""

from __future__ import annotations

import pytest

from gateway.config import HttpConfig
from tests.v2_helpers import NODE, basic

REALM = 'Basic Realm="emqx control center"'


async def test_401_is_empty_with_the_2_3_realm(v2):
    for headers in ({}, basic("admin", "wrong"), basic("nobody", "public")):
        r = await v2.gw.http.get("/api/v2/management/nodes", headers=headers)
        assert r.status == 401 and await r.read() == b""
        assert r.headers["WWW-Authenticate"] == REALM
    for header in ("Bearer abc", "Basic !!!", "Basic " + "bm9jb2xvbg=="):  # "nocolon"
        r = await v2.gw.http.get("/api/v2/management/nodes", headers={"Authorization": header})
        assert r.status == 401 and await r.read() == b""


async def test_success_envelope_and_unknown_query_params_ignored(v2):
    body = await v2.get("/management/nodes?timestamps=1700000000000")
    assert body["code"] == 0 and isinstance(body["result"], list)


async def test_unknown_route_wrong_method_and_crash_forms(v2):
    r = await v2.call("GET", "/no/such/route", raw=True)
    assert r.status == 404 and r.content_type == "text/plain" and await r.read() == b""
    r = await v2.call("POST", "/management/nodes", raw=True)
    assert r.status == 405 and await r.read() == b"" and r.content_type == "text/plain"
    assert r.headers["Allow"] == "GET, HEAD"
    # Paging values 2.3 crashed on: 404 with an empty body, no traceback.
    for q in ("curr_page=x", "page_size=0", "curr_page=0"):
        r = await v2.call("GET", f"/nodes/{NODE}/clients?{q}", raw=True)
        assert r.status == 404 and await r.read() == b""


async def test_unknown_route_404_even_without_credentials(v2):
    r = await v2.gw.http.get("/api/v2/nope")
    assert r.status == 404 and await r.read() == b""


async def test_trailing_slash_as_2_3_regexes(v2):
    assert (await v2.result("GET", "/monitoring/metrics/"))[0][NODE]["packets/received"] >= 0
    assert (await v2.result("GET", "/management/nodes/"))[0]["name"] == NODE


async def test_body_rules_109_107_108(v2):
    # Any Content-Type is parsed as JSON; a non-JSON body is 109.
    body = await v2.code("POST", "/mqtt/publish", data=b"topic=a", headers={"Content-Type": "text/plain"})
    assert body == {"code": 109, "message": "Body not json"}
    assert await v2.result("POST", "/mqtt/publish", data=b'{"topic":"a"}', headers={"Content-Type": "text/plain"}) == []
    assert await v2.code("POST", "/mqtt/publish", data=b"[1]") == {"code": 109, "message": "Body not json"}
    # Empty body = no params: a required one is missing.
    assert await v2.code("POST", "/mqtt/publish") == {"code": 107, "message": "params error"}
    assert await v2.code("POST", "/mqtt/publish", json={"payload": "x"}) == {"code": 107, "message": "params error"}
    for bad in ({"topic": 1}, {"topic": "a", "retain": "yes"}, {"topic": "a", "qos": "1"}, {"topic": "a", "qos": 3}):
        assert await v2.code("POST", "/mqtt/publish", json=bad) == {"code": 108, "message": "params type error"}


async def test_every_non_get_body_must_be_json(v2):
    assert await v2.code("DELETE", "/clients/anyone", data=b"junk") == {"code": 109, "message": "Body not json"}
    assert await v2.code("PUT", "/nodes/x@y/plugins/emq_retainer", data=b"{") == {
        "code": 109,
        "message": "Body not json",
    }


async def test_query_string_ignored_for_non_get(v2):
    body = await v2.code("POST", "/mqtt/publish?topic=a")
    assert body["code"] == 107


async def test_gateway_manners_rendered_empty(gateway):
    from tests.v2_helpers import V2

    v = V2(await gateway("v2", http=HttpConfig(body_limit=64)))
    r = await v.call("POST", "/mqtt/publish", json={"topic": "a", "payload": "x" * 100}, raw=True)
    assert r.status == 413 and await r.read() == b""
    r = await v.call(
        "PUT", f"/nodes/{NODE}/plugins/emq_retainer", json={"active": False}, headers={"If-Match": '"stale"'}, raw=True
    )
    assert r.status == 412 and await r.read() == b""
    # Nothing changed.
    plugins = await v.result("GET", f"/nodes/{NODE}/plugins")
    assert next(p for p in plugins if p["name"] == "emq_retainer")["active"] is True
    # Method override reaches the DELETE handler.
    body = await v.code("POST", "/clients/nobody", headers={"X-HTTP-Method-Override": "DELETE"})
    assert body == {"code": 112}


async def test_pretty_and_etag_on_success(v2):
    r = await v2.call("GET", "/users?pretty=true", raw=True)
    assert r.status == 200 and b"\n" in await r.read() and r.headers["ETag"]
    r2 = await v2.call("GET", "/users", raw=True, headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status == 304


async def test_legacy_listener_lists_paths_without_auth(gateway):
    gw = await gateway("v2", legacy=True)
    r = await gw.http.get("/")
    assert r.status == 200 and r.content_type == "application/json"
    paths = (await r.json())["paths"]
    assert len(paths) == 29 and paths[0] == "api/v2/management/nodes"
    assert "api/v2/monitoring/metrics/" in paths and all(not p.startswith("/") for p in paths)
    # The main listener does not answer `/` with the path list (it serves the home page, gateway.http.home).
    gw2 = await gateway("v2")
    r = await gw2.http.get("/")
    assert r.content_type == "text/html" and "api/v2/management/nodes" not in await r.text()


@pytest.mark.parametrize("path", ["/auth"])
async def test_auth_needs_no_basic(v2, path):
    r = await v2.gw.http.post("/api/v2" + path, json={"username": "admin", "password": "public"})
    assert r.status == 200 and await r.json() == {"code": 0, "result": []}


async def test_openapi_document_from_the_route_table(v2):
    from gateway.http.openapi import document

    doc = document(v2.gw.dialects["v2"])
    paths = doc["paths"]
    assert "/api/v2/routes/{topic}" in paths and not any(p.endswith("/") for p in paths)
    publish = paths["/api/v2/mqtt/publish"]["post"]
    assert publish["requestBody"]["content"]["application/json"]["schema"]["required"] == ["topic"]
    assert paths["/api/v2/auth"]["post"]["security"] == []
    assert doc["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))


async def test_internal_error_is_2_3s_crash_404_without_traceback(v2):
    class Broken:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        async def node_info(self):
            raise RuntimeError("secret internals")

    v2.gw.ctx.control = Broken(v2.gw.ctx.control)
    r = await v2.call("GET", "/management/nodes", raw=True)
    assert r.status == 404 and r.content_type == "text/plain" and await r.read() == b""
