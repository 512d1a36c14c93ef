"""`/api/v5/authentication...` and `/api/v5/authorization...`: EMQX 5.8's answers, and MQTT clients that
feel every change at once (reference: auth-config-apis.md §2, §3)."""

import aiohttp
import pytest

from tests.mqtt_helpers import Client

DB = "password_based:built_in_database"
DASH = "password_based:dashboard_accounts"
USERS = f"/authentication/{DB}/users"
B = "/authorization/sources/built_in_database/rules"


def rc_of(v5, **kw):
    c = Client(v5.broker, v5=True, connect=False, **kw)
    _, rc, _ = c.connect(expect_ok=False)
    c.c.loop_stop()
    return rc.value


async def err(v5, method, path, body=None, status=400, **kw):
    return await v5.json(method, path, body, status=status, **kw)


async def test_authenticator_chain_crud_and_order(v5):
    chain = await v5.json("get", "/authentication")
    assert [a["id"] for a in chain] == [DB, DASH]
    assert chain[0] == {
        "id": DB,
        "mechanism": "password_based",
        "backend": "built_in_database",
        "enable": True,
        "user_id_type": "username",
        "password_hash_algorithm": {"name": "sha256", "salt_position": "prefix"},
    }
    assert (
        await err(v5, "post", "/authentication", {"mechanism": "password_based", "backend": "built_in_database"}, 409)
    ) == {
        "code": "ALREADY_EXISTS",
        "message": f"Authenticator '{DB}' already exist",
    }
    unsupported = await err(v5, "post", "/authentication", {"mechanism": "password_based", "backend": "http"})
    assert unsupported["code"] == "NOT_SUPPORTED"
    assert (await err(v5, "post", "/authentication", {"mechanism": "jwt", "backend": "x"}))["code"] == "NOT_SUPPORTED"
    # A PUT resets what it leaves out: EMQX's hocon fills the defaults.
    bcrypt = {
        "mechanism": "password_based",
        "backend": "built_in_database",
        "user_id_type": "clientid",
        "password_hash_algorithm": {"name": "bcrypt"},
    }
    assert await v5.json("put", f"/authentication/{DB}", bcrypt, status=204) is None
    got = await v5.json("get", f"/authentication/{DB}")
    assert got["user_id_type"] == "clientid" and got["password_hash_algorithm"] == {"name": "bcrypt", "salt_rounds": 10}
    await v5.json(
        "put", f"/authentication/{DB}", {"mechanism": "password_based", "backend": "built_in_database"}, status=204
    )
    assert (await v5.json("get", f"/authentication/{DB}"))["password_hash_algorithm"]["name"] == "sha256"
    for bad_hash in ({"name": "sha3"}, {"name": "bcrypt", "salt_rounds": 11}, {"name": "pbkdf2", "mac_fun": "sha256"}):
        body = {"mechanism": "password_based", "backend": "built_in_database", "password_hash_algorithm": bad_hash}
        assert (await err(v5, "put", f"/authentication/{DB}", body))["code"] == "BAD_REQUEST"
    assert (await v5.json("get", f"/authentication/{DB}"))["password_hash_algorithm"]["name"] == "sha256"
    change = {"mechanism": "password_based", "backend": "dashboard_accounts"}
    assert await err(v5, "put", f"/authentication/{DB}", change) == {
        "code": "BAD_REQUEST",
        "message": "Change of authentication type is not allowed",
    }
    await v5.json("put", f"/authentication/{DASH}/position/front", status=204)
    assert [a["id"] for a in await v5.json("get", "/authentication")] == [DASH, DB]
    await v5.json("put", f"/authentication/{DASH}/position/after:{DB}", status=204)
    assert [a["id"] for a in await v5.json("get", "/authentication")] == [DB, DASH]
    assert (await err(v5, "put", f"/authentication/{DB}/position/middle"))["message"] == "Invalid value for 'position'"
    assert (await err(v5, "put", f"/authentication/{DB}/position/before:nope", status=404))["code"] == "NOT_FOUND"
    await v5.json("put", "/authentication/order", [{"id": DASH}, {"id": DB}], status=204)
    assert (await err(v5, "put", "/authentication/order", [{"id": DB}]))["message"].startswith("No positions")
    assert (await err(v5, "get", "/authentication/jwt", status=404)) == {
        "code": "NOT_FOUND",
        "message": "Authenticator 'jwt' does not exist",
    }
    await v5.json("delete", "/authentication/jwt", status=204)  # EMQX: 204 for an unknown id too
    await v5.json("delete", f"/authentication/{DASH}", status=204)
    assert [a["id"] for a in await v5.json("get", "/authentication")] == [DB]
    created = await v5.json("post", "/authentication", {"mechanism": "password_based", "backend": "dashboard_accounts"})
    assert created == {"id": DASH, "mechanism": "password_based", "backend": "dashboard_accounts", "enable": True}


async def test_users_over_http_are_enforced_over_mqtt(make_v5):
    v5 = await make_v5(allow_anonymous=False)
    assert await v5.json("post", USERS, {"user_id": "alice", "password": "pw-1"}, status=201) == {
        "user_id": "alice",
        "is_superuser": False,
    }
    assert rc_of(v5, username="alice", password="pw-1") == 0
    assert rc_of(v5, username="alice", password="nope") == 0x86
    assert await err(v5, "post", USERS, {"user_id": "alice", "password": "x"}, 409) == {
        "code": "ALREADY_EXISTS",
        "message": "User already exists",
    }
    assert await err(v5, "post", USERS, {"user_id": "", "password": "x"}) == {
        "code": "BAD_REQUEST",
        "message": "User error: invalid_user_id",
    }
    assert (await err(v5, "post", USERS, {"user_id": "bob"}))["code"] == "BAD_REQUEST"
    # PUT without is_superuser sets it back to false (defaults are filled).
    assert await v5.json("put", f"{USERS}/alice", {"password": "pw-2", "is_superuser": True}) == {
        "user_id": "alice",
        "is_superuser": True,
    }
    assert rc_of(v5, username="alice", password="pw-1") == 0x86
    assert rc_of(v5, username="alice", password="pw-2") == 0
    assert (await v5.json("put", f"{USERS}/alice", {"password": "pw-2"}))["is_superuser"] is False
    assert (await err(v5, "put", f"{USERS}/alice", {"user_id": "x", "password": "p"}))["code"] == "BAD_REQUEST"
    assert await err(v5, "get", f"{USERS}/nobody", status=404) == {"code": "NOT_FOUND", "message": "User not found"}
    await v5.json("delete", f"{USERS}/alice", status=204)
    await err(v5, "delete", f"{USERS}/alice", status=404)
    assert rc_of(v5, username="alice", password="pw-2") == 0x87


async def test_user_listing_paging_and_filters(v5):
    for i in range(12):
        await v5.json("post", USERS, {"user_id": f"u{i:02}", "password": "p", "is_superuser": i % 5 == 0}, status=201)
    page = await v5.json("get", f"{USERS}?page=2&limit=5")
    assert [u["user_id"] for u in page["data"]] == ["u05", "u06", "u07", "u08", "u09"]
    assert page["meta"] == {"page": 2, "limit": 5, "count": 12, "hasnext": True}
    liked = await v5.json("get", f"{USERS}?like_user_id=u1")
    assert [u["user_id"] for u in liked["data"]] == ["u10", "u11"] and "count" not in liked["meta"]
    supers = await v5.json("get", f"{USERS}?is_superuser=true")
    assert [u["user_id"] for u in supers["data"]] == ["u00", "u05", "u10"]
    # Users of an authenticator that is not the built-in database, or of none, answer as EMQX does.
    assert (await err(v5, "get", "/authentication/jwt/users"))["message"] == (
        'User error: {not_found,{authenticator,<<"jwt">>}}'
    )
    assert (await err(v5, "get", f"/authentication/{DASH}/users"))["message"] == "User error: unsupported_operation"
    password_seen = await v5.get(USERS)
    assert b'"p"' not in await password_seen.read() and b"password" not in await password_seen.read()


async def test_import_users_csv_json_and_bad_files(make_v5):
    v5 = await make_v5(allow_anonymous=False)
    await v5.json("post", USERS, {"user_id": "old", "password": "p"}, status=201)
    form = aiohttp.FormData()
    form.add_field("filename", b"user_id,password,is_superuser\nold,new-pw,false\nfresh,f,true\n", filename="u.csv")
    assert await v5.json("post", f"/authentication/{DB}/import_users?type=plain", data=form) == {
        "total": 2,
        "success": 2,
        "override": 1,
        "skipped": 0,
        "failed": 0,
    }
    assert rc_of(v5, username="old", password="new-pw") == 0
    assert (await v5.json("get", f"{USERS}/fresh"))["is_superuser"] is True
    body = [{"user_id": "j", "password": "jp"}]
    assert (await v5.json("post", f"/authentication/{DB}/import_users?type=plain", body))["success"] == 1
    assert rc_of(v5, username="j", password="jp") == 0
    for data, message in (
        ([], "empty_users"),
        ([{"user_id": "x"}], "plain_import_requires_password_field"),
        ({"user_id": "x"}, "bad_format"),
    ):
        assert await err(v5, "post", f"/authentication/{DB}/import_users?type=plain", data) == {
            "code": "BAD_REQUEST",
            "message": message,
        }
    assert (await err(v5, "post", f"/authentication/{DB}/import_users?type=hash", body))["message"] == (
        "hash_import_requires_password_hash_field"
    )
    form = aiohttp.FormData()
    form.add_field("filename", b"x", filename="users.xml")
    assert (await err(v5, "post", f"/authentication/{DB}/import_users?type=plain", data=form))["message"] == (
        "{unsupported_file_format,xml}"
    )
    form = aiohttp.FormData()
    form.add_field("other", b"x", filename="u.csv")
    assert (await err(v5, "post", f"/authentication/{DB}/import_users?type=plain", data=form))["message"] == (
        "Missing required parameter: filename"
    )
    assert (await v5.json("get", USERS))["meta"]["count"] == 3


async def test_authenticator_status_counts_logins(v5):
    await v5.json("post", USERS, {"user_id": "s", "password": "p"}, status=201)
    assert rc_of(v5, username="s", password="p") == 0
    assert rc_of(v5, username="s", password="x") == 0x86
    assert rc_of(v5, username="stranger", password="x") == 0
    status = await v5.json("get", f"/authentication/{DB}/status")
    assert status["status"] == "connected"
    assert {k: status["metrics"][k] for k in ("total", "success", "failed", "nomatch")} == {
        "total": 3,
        "success": 1,
        "failed": 1,
        "nomatch": 1,
    }
    assert status["node_metrics"][0]["node"] == v5.node


async def test_settings_and_sources(v5, tmp_path):
    assert await v5.json("get", "/authorization/settings") == {
        "no_match": "allow",
        "deny_action": "ignore",
        "cache": {"enable": True, "max_size": 32, "ttl": "1m", "excludes": []},
    }
    new = {"no_match": "deny", "deny_action": "disconnect", "cache": {"enable": True, "max_size": 8, "ttl": "30s"}}
    assert await v5.json("put", "/authorization/settings", new) == {**new, "cache": {**new["cache"], "excludes": []}}
    bad = {**new, "cache": {"enable": True, "ttl": "soon"}}
    assert (await err(v5, "put", "/authorization/settings", bad))["code"] == "BAD_REQUEST"
    assert (await err(v5, "put", "/authorization/settings", {**new, "no_match": "maybe"}))["code"] == "BAD_REQUEST"
    assert (await v5.json("get", "/authorization/settings"))["cache"]["ttl"] == "30s"
    await v5.json("put", "/authorization/settings", {"no_match": "allow", "deny_action": "ignore"})
    sources = (await v5.json("get", "/authorization/sources"))["sources"]
    assert sources == [
        {"type": "built_in_database", "enable": True, "max_rules": 100},
        {"type": "file", "enable": True, "rules": ""},
    ]
    rules = '{deny, all, publish, ["x/#"]}.\n'
    await v5.json("put", "/authorization/sources/file", {"type": "file", "enable": True, "rules": rules}, status=204)
    assert (await v5.json("get", "/authorization/sources/file"))["rules"] == rules
    broken = await err(v5, "put", "/authorization/sources/file", {"type": "file", "rules": "{deny, all"})
    assert broken["code"] == "BAD_REQUEST" and "<api>:1" in broken["message"]
    assert (await v5.json("get", "/authorization/sources/file"))["rules"] == rules
    c = v5.client(v5=True)
    c.publish("x/1", b"", qos=1)
    assert c.acks.get(timeout=5)[1].value == 0x87
    assert await err(v5, "put", "/authorization/sources/file", {"type": "built_in_database"}) == {
        "code": "BAD_REQUEST",
        "message": "Type mismatch",
    }
    assert await err(v5, "get", "/authorization/sources/http", status=404) == {
        "code": "NOT_FOUND",
        "message": "Not found: http",
    }
    assert (await err(v5, "post", "/authorization/sources", {"type": "http"}))["code"] == "NOT_SUPPORTED"
    assert (await err(v5, "post", "/authorization/sources", {"type": "file", "rules": ""}, 409))[
        "code"
    ] == "ALREADY_EXISTS"
    await v5.json("post", "/authorization/sources/file/move", {"position": "front"}, status=204)
    assert [s["type"] for s in (await v5.json("get", "/authorization/sources"))["sources"]] == [
        "file",
        "built_in_database",
    ]
    assert (await err(v5, "post", "/authorization/sources/file/move", {"position": "up"}))["message"] == (
        "Invalid parameter. Unknow position"
    )
    await v5.json("put", "/authorization/sources/order", [{"type": "built_in_database"}, {"type": "file"}], status=204)
    status = await v5.json("get", "/authorization/sources/file/status")
    assert status["metrics"]["deny"] == 1
    await v5.json("delete", "/authorization/sources/file", status=204)
    c.publish("x/1", b"", qos=1)
    assert c.acks.get(timeout=5)[1].value == 0x10
    await v5.json("post", "/authorization/sources", {"type": "file", "rules": rules}, status=204)
    c.publish("x/1", b"", qos=1)
    assert c.acks.get(timeout=5)[1].value == 0x87


async def test_built_in_rules_crud_and_enforcement(v5):
    rule = {"topic": "t/#", "permission": "deny", "action": "publish"}
    await v5.json("post", f"{B}/users", [{"username": "u1", "rules": [rule]}], status=204)
    assert await v5.json("get", f"{B}/users/u1") == {
        "username": "u1",
        "rules": [{"topic": "t/#", "permission": "deny", "action": "publish", "qos": [0, 1, 2], "retain": "all"}],
    }
    assert await err(v5, "post", f"{B}/users", [{"username": "u2", "rules": []}, {"username": "u1"}], 409) == {
        "code": "ALREADY_EXISTS",
        "message": "User 'u1' already exist",
    }
    assert await err(v5, "get", f"{B}/users/u2", status=404) == {"code": "NOT_FOUND", "message": "Not Found"}
    pub = v5.client(v5=True, username="u1")
    pub.publish("t/1", b"", qos=1)
    assert pub.acks.get(timeout=5)[1].value == 0x87
    # PUT replaces (and creates); the connected client feels it on its next PUBLISH.
    await v5.json("put", f"{B}/users/u1", {"username": "u1", "rules": []}, status=204)
    pub.publish("t/1", b"", qos=1)
    assert pub.acks.get(timeout=5)[1].value == 0x10
    await v5.json("put", f"{B}/clients/c9", {"clientid": "c9", "rules": [{**rule, "retain": True}]}, status=204)
    listed = await v5.json("get", f"{B}/clients?like_clientid=c")
    assert listed["data"][0]["clientid"] == "c9" and "count" not in listed["meta"]
    too_many = [{"clientid": "c8", "rules": [rule] * 101}]
    assert await err(v5, "post", f"{B}/clients", too_many) == {
        "code": "BAD_REQUEST",
        "message": "The rules length of Client 'c8' exceeds the maximum limit.",
    }
    bad = [{"clientid": "c8", "rules": [{**rule, "action": "pub"}]}]
    assert (await err(v5, "post", f"{B}/clients", bad))["code"] == "BAD_REQUEST"
    assert (await err(v5, "post", f"{B}/clients", [{"clientid": "c8", "rules": [{**rule, "topic": "a/#/b"}]}]))[
        "code"
    ] == "BAD_REQUEST"
    await err(v5, "get", f"{B}/clients/c8", status=404)
    assert await err(v5, "delete", f"{B}/clients/c8", status=404) == {
        "code": "NOT_FOUND",
        "message": "ClientID Not Found",
    }
    assert await v5.json("get", f"{B}/all") == {"rules": []}
    await v5.json(
        "post", f"{B}/all", {"rules": [{"topic": "all/#", "permission": "deny", "action": "all"}]}, status=204
    )
    assert [r["topic"] for r in (await v5.json("get", f"{B}/all"))["rules"]] == ["all/#"]
    assert [rc.value for rc in pub.subscribe("all/x", 0)] == [0x87]
    await v5.json("delete", f"{B}/all", status=204)
    assert (await err(v5, "delete", B))["message"] == "'built_in_database' type source must be disabled before purge."
    await v5.json(
        "put", "/authorization/sources/built_in_database", {"type": "built_in_database", "enable": False}, status=204
    )
    await v5.json("delete", B, status=204)
    assert (await v5.json("get", f"{B}/users"))["data"] == []
    await v5.json("delete", "/authorization/sources/built_in_database", status=204)
    assert await err(v5, "get", f"{B}/users", status=404) == {
        "code": "NOT_FOUND",
        "message": "Not found: built_in_database",
    }


async def test_cache_endpoints(v5):
    await v5.json(
        "post", f"{B}/all", {"rules": [{"topic": "no/#", "permission": "deny", "action": "publish"}]}, status=204
    )
    c = v5.client("cache-me", v5=True)
    for topic in ("ok/1", "no/1"):
        c.publish(topic, b"", qos=1)
        c.acks.get(timeout=5)
    entries = await v5.json("get", "/clients/cache-me/authorization/cache")
    assert [(e["access"], e["topic"], e["result"]) for e in entries] == [
        ({"action_type": "publish", "qos": 1, "retain": False}, "ok/1", "allow"),
        ({"action_type": "publish", "qos": 1, "retain": False}, "no/1", "deny"),
    ]
    assert all(isinstance(e["updated_time"], int) for e in entries)
    await v5.json("delete", "/clients/cache-me/authorization/cache", status=204)
    assert await v5.json("get", "/clients/cache-me/authorization/cache") == []
    c.publish("ok/1", b"", qos=1)
    c.acks.get(timeout=5)
    await v5.json("delete", "/authorization/cache", status=204)
    assert await v5.json("get", "/clients/cache-me/authorization/cache") == []
    assert (await err(v5, "get", "/clients/gone/authorization/cache", status=404))["code"] == "CLIENTID_NOT_FOUND"


@pytest.mark.parametrize(
    "algo", [{"name": "bcrypt", "salt_rounds": 5}, {"name": "pbkdf2", "mac_fun": "sha512", "iterations": 100}]
)
async def test_slow_hashes_over_http(make_v5, algo):
    v5 = await make_v5(allow_anonymous=False)
    body = {"mechanism": "password_based", "backend": "built_in_database", "password_hash_algorithm": algo}
    await v5.json("put", f"/authentication/{DB}", body, status=204)
    await v5.json("post", USERS, {"user_id": "slow", "password": "pw"}, status=201)
    assert rc_of(v5, username="slow", password="pw") == 0
    assert rc_of(v5, username="slow", password="px") == 0x86
