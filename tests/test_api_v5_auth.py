"""EMQX 5 auth over real HTTP: Basic = API key only, Bearer = login token, every 401 code; login,
logout, dashboard users and API keys through `/api/v5` against the real SQLite account store."""

import asyncio
import time
from datetime import UTC, datetime

from tests.v5_helpers import API, basic, bearer

CHALLENGE = 'Basic Realm="emqx-dashboard"'


async def _login(v5, username="admin", password="public"):
    r = await v5.http.post(API + "/login", json={"username": username, "password": password})
    assert r.status == 200, await r.text()
    return await r.json()


async def _err(r, status, code):
    body = await r.json()
    assert (r.status, body["code"]) == (status, code), body
    return body


async def test_header_errors_and_api_key_failures(v5):
    http = v5.http
    r = await http.get(API + "/nodes")
    body = await _err(r, 401, "AUTHORIZATION_HEADER_ERROR")
    assert body["message"] == "Support authorization: basic/bearer " and r.headers["WWW-Authenticate"] == CHALLENGE
    await _err(
        await http.get(API + "/nodes", headers={"Authorization": "Digest abc"}), 401, "AUTHORIZATION_HEADER_ERROR"
    )
    # Dashboard credentials are not API keys.
    r = await http.get(API + "/nodes", headers=basic("admin", "public"))
    body = await _err(r, 401, "BAD_API_KEY_OR_SECRET")
    assert body["message"] == "Check api_key/api_secret" and r.headers["WWW-Authenticate"] == CHALLENGE
    key, secret = v5.gw.accounts.create_api_key("other", "", True, None)
    await _err(await http.get(API + "/nodes", headers=basic(key.api_key, secret + "x")), 401, "BAD_API_KEY_OR_SECRET")
    assert (await http.get(API + "/nodes", headers=basic(key.api_key, secret))).status == 200
    v5.gw.accounts.update_api_key("other", enable=False)
    await _err(await http.get(API + "/nodes", headers=basic(key.api_key, secret)), 401, "BAD_API_KEY_OR_SECRET")
    old, old_secret = v5.gw.accounts.create_api_key("old", "", True, time.time() - 10)
    await _err(await http.get(API + "/nodes", headers=basic(old.api_key, old_secret)), 401, "BAD_API_KEY_OR_SECRET")


async def test_api_keys_refused_on_user_and_key_paths(v5):
    for method, path, resource in (
        ("get", "/users", "users"),
        ("put", "/users/admin", "users"),
        ("post", "/logout", "logout"),
        ("get", "/api_key", "api_key"),
        ("delete", "/api_key/tests", "api_key"),
    ):
        r = await getattr(v5.http, method)(API + path, headers=v5.auth, json={})
        body = await _err(r, 401, "API_KEY_NOT_ALLOW")
        assert body["message"] == (
            f"Please use bearer Token instead, using API key/secret in {resource} path is not permitted"
        )
    # change_pwd is not among them: the key gets through to the handler.
    r = await v5.post("/users/admin/change_pwd", {})
    assert (await _err(r, 400, "BAD_REQUEST"))["message"] == "Old password or new password undefined"
    assert (await v5.http.get(API + "/api_key", headers=v5.auth)).status == 401
    assert v5.gw.accounts.get_api_key("tests")  # nothing deleted


async def test_login_tokens_and_logout(v5):
    http = v5.http
    r = await http.post(API + "/login", json={"username": "admin", "password": "nope"})
    body = await _err(r, 401, "BAD_USERNAME_OR_PWD")
    assert body["message"] == "Auth failed"
    await _err(
        await http.post(API + "/login", json={"username": "ghost", "password": "public1234"}),
        401,
        "BAD_USERNAME_OR_PWD",
    )
    doc = await _login(v5)  # admin/public breaks the policy and is still accepted
    assert set(doc) == {"token", "version", "license"} and doc["license"] == {"edition": "opensource"}
    token = doc["token"]
    assert (await http.get(API + "/nodes", headers=bearer(token))).status == 200
    r = await http.get(API + "/nodes", headers=bearer("not-a-token"))
    assert (await _err(r, 401, "BAD_TOKEN"))["message"] == "Get a token by POST /login"
    r = await http.post(API + "/logout", headers=bearer(token), json={"username": "someone"})
    assert (await _err(r, 401, "WRONG_TOKEN_OR_USERNAME"))["message"] == "Ensure your token & username"
    assert (await http.post(API + "/logout", headers=bearer(token), json={"username": "admin"})).status == 204
    await _err(await http.get(API + "/nodes", headers=bearer(token)), 401, "BAD_TOKEN")


async def test_expired_token(v5):
    v5.gw.accounts.token_ttl = 0.3
    token = (await _login(v5))["token"]
    assert (await v5.http.get(API + "/nodes", headers=bearer(token))).status == 200  # slides the expiry
    await asyncio.sleep(0.4)
    r = await v5.http.get(API + "/nodes", headers=bearer(token))
    assert (await _err(r, 401, "TOKEN_TIME_OUT"))["message"] == "Token expired, get new token by POST /login"


async def test_users_crud_and_change_password(v5):
    v5.auth = bearer((await _login(v5))["token"])
    assert await v5.json("get", "/users") == [{"username": "admin", "description": "administrator"}]
    body = await v5.json("post", "/users", {"username": "bob", "password": "short"}, status=400)
    assert body == {"code": "BAD_REQUEST", "message": "The range of password length is 8~64"}
    body = await v5.json("post", "/users", {"username": "bad-name", "password": "secret123"}, status=400)
    assert body["message"].startswith("Bad Username.")
    body = await v5.json("post", "/users", {"username": "bob"}, status=400)
    assert body["message"] == "Username or password undefined"
    assert await v5.json("post", "/users", {"username": "bob", "password": "secret123", "description": "B"}) == {
        "username": "bob",
        "description": "B",
    }
    body = await v5.json("post", "/users", {"username": "bob", "password": "secret123"}, status=400)
    assert body["message"] == "username_already_exists"
    assert await v5.json("put", "/users/bob", {"description": "Bobby"}) == {"username": "bob", "description": "Bobby"}
    body = await v5.json("put", "/users/nobody", {"description": "x"}, status=404)
    assert body["code"] == "USER_NOT_FOUND"
    body = await v5.json("delete", "/users/admin", status=400)
    assert body == {"code": "NOT_ALLOWED", "message": 'Cannot delete user "admin"'}
    # bob logs in, cannot delete himself, changes his password (his tokens die), is deleted by admin.
    bob = bearer((await _login(v5, "bob", "secret123"))["token"])
    r = await v5.http.delete(API + "/users/bob", headers=bob)
    assert (await _err(r, 400, "NOT_ALLOWED"))["message"] == "Cannot delete self"
    body = await v5.json("post", "/users/bob/change_pwd", {"old_pwd": "wrong1234", "new_pwd": "newpass123"}, status=400)
    assert body == {"code": "ERROR_PWD_NOT_MATCH", "message": "Old password not match"}
    body = await v5.json("post", "/users/ghost/change_pwd", {"old_pwd": "a", "new_pwd": "b"}, status=404)
    assert body == {"code": "USER_NOT_FOUND", "message": "User not found"}
    await v5.json("post", "/users/bob/change_pwd", {"old_pwd": "secret123", "new_pwd": "newpass123"}, status=204)
    await _err(await v5.http.get(API + "/nodes", headers=bob), 401, "BAD_TOKEN")
    await _login(v5, "bob", "newpass123")
    await v5.json("delete", "/users/bob", status=204)
    await v5.json("delete", "/users/bob", status=404)
    assert [u["username"] for u in await v5.json("get", "/users")] == ["admin"]


async def test_api_key_crud(v5):
    v5.auth = bearer((await _login(v5))["token"])
    created = await v5.json("post", "/api_key", {"name": "ci", "desc": "for CI", "enable": True})
    assert set(created) == {"name", "api_key", "api_secret", "enable", "expired_at", "created_at", "desc", "expired"}
    assert created["expired_at"] == "infinity" and created["expired"] is False and len(created["api_key"]) == 16
    assert created["created_at"][19] in "+-Z" and len(created["created_at"]) == 25  # second precision + offset
    listed = await v5.json("get", "/api_key")
    assert [k["name"] for k in listed] == ["tests", "ci"] and all("api_secret" not in k for k in listed)
    # The new key works for Basic auth.
    ci = basic(created["api_key"], created["api_secret"])
    assert (await v5.http.get(API + "/nodes", headers=ci)).status == 200
    body = await v5.json("post", "/api_key", {"name": "ci", "desc": "", "enable": True}, status=400)
    assert body == {"code": "BAD_REQUEST", "message": "name_already_existed"}
    for bad in (
        {"name": "1bad", "desc": "", "enable": True},
        {"name": "x", "enable": "yes"},
        {"name": "y", "role": "viewer"},
        {"name": "z", "expired_at": "soon"},
    ):
        assert (await v5.json("post", "/api_key", bad, status=400))["code"] == "BAD_REQUEST", bad
    assert len(await v5.json("get", "/api_key")) == 2  # the refused ones created nothing
    got = await v5.json("put", "/api_key/ci", {"enable": False, "expired_at": "2099-01-01T00:00:00+00:00"})
    assert got["enable"] is False and got["expired"] is False
    assert datetime.fromisoformat(got["expired_at"]) == datetime(2099, 1, 1, tzinfo=UTC)
    assert (await v5.http.get(API + "/nodes", headers=ci)).status == 401
    got = await v5.json("put", "/api_key/ci", {"enable": True})
    assert got["expired_at"] == "infinity"  # omitted expired_at becomes infinity, as in EMQX
    assert (await v5.json("get", "/api_key/ci"))["desc"] == "for CI"
    await v5.json("delete", "/api_key/ci", status=204)
    for method in ("get", "delete"):
        assert await v5.json(method, "/api_key/ci", status=404) == {"code": "NOT_FOUND", "message": "Name NOT FOUND"}
    assert (await v5.http.get(API + "/nodes", headers=ci)).status == 401


async def test_manners_in_v5_form(v5):
    # 405: empty body and Allow, decided before auth.
    r = await v5.http.patch(API + "/nodes")
    assert r.status == 405 and await r.read() == b"" and r.headers["Allow"] == "GET, HEAD"
    r = await v5.http.get(API + "/no/such/path", headers={"Accept": "application/json"})
    assert r.status == 404 and await r.json() == {"code": "NOT_FOUND", "message": "Request Path Not Found"}
    r = await v5.http.get(API + "/no/such/path", headers={"Accept": "text/plain"})
    assert r.status == 404 and await r.text() == "404 - NOT FOUND"
    r = await v5.post("/publish", data=b'{"topic":"t","payload":"x"}', headers={"Content-Type": "text/plain"})
    assert r.status == 415 and await r.json() == {
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "message": "content-type:application/json Required",
    }
    r = await v5.post("/publish", data=b'{"topic":', headers={"Content-Type": "application/json"})
    assert r.status == 400 and await r.json() == {"code": "BAD_REQUEST", "message": "Invalid json message received"}
    assert v5.gw.broker.metric("messages.publish") == 0


async def test_open_endpoints(v5):
    http = v5.http
    r = await http.get(API + "/status")
    assert r.status == 200 and r.headers["retry-after"] == "15"
    assert await r.text() == f"Node {v5.node} is started\nemqx is running"
    r = await http.get(API + "/status?format=json")
    doc = await r.json()
    assert doc["node_name"] == v5.node and doc["broker_status"] == "started" and doc["app_status"] == "running"
    codes = await (await http.get(API + "/error_codes")).json()
    assert {"code": "BAD_REQUEST", "description": "Request parameters are invalid"} in codes
    assert await (await http.get(API + "/error_codes/TOPIC_NOT_FOUND")).json() == {
        "code": "TOPIC_NOT_FOUND",
        "description": "Topic not found",
    }
    assert (await http.get(API + "/error_codes/NOPE")).status == 400
    await v5.gw.ctx.control.stop()
    r = await http.get(API + "/status")
    assert r.status == 503 and await r.text() == f"Node {v5.node} is stopped\nemqx is not_running"


async def test_openapi_document_from_the_v5_table(v5):
    doc = await (await v5.http.get("/api-docs/swagger.json")).json()
    paths = doc["paths"]
    assert set(paths["/api/v5/clients/{clientid}"]) == {"get", "delete"}
    assert "/api/v5/clients_v2" not in paths and "/api/v5/clients/{clientid}/keepalive" not in paths  # hidden
    assert paths["/api/v5/login"]["post"]["security"] == []
    params = {p["name"]: p for p in paths["/api/v5/clients"]["get"]["parameters"]}
    assert params["limit"]["schema"]["default"] == 100 and params["conn_state"]["schema"]["enum"]
    body = paths["/api/v5/publish"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["topic", "payload"]
    assert set(doc["components"]["securitySchemes"]) == {"basicAuth", "bearerAuth"}
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))
