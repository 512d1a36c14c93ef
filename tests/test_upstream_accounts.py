"""Several gateways behind one load balancer, no sticky sessions: accounts come from one file, and a login
token issued by one gateway is accepted by the others (signed with the key of their shared
configuration). A logout, a password change or a deletion on one holds on all."""

import aiohttp
import pytest

from gateway.accounts import AccountStore, BadToken, TokenExpired
from tests.v5_helpers import bearer

ADMIN = {"username": "admin", "password": "public"}


@pytest.fixture
async def pair(chain, tmp_path):
    """Two gateways A1, A2 in front of one upstream, sharing the account file and the token secret."""
    shared = {"accounts_db": str(tmp_path / "accounts.db"), "token_secret": "s" * 32}
    a1 = await chain("v5", "v2", upstream=shared)
    a2 = await chain("v5", "v2", upstream=shared, behind=a1)
    return a1, a2


async def login(gw, who=ADMIN) -> str:
    r = await gw.http.post("/api/v5/login", json=who)
    assert r.status == 200, await r.text()
    return (await r.json())["token"]


async def status(gw, token: str) -> int:
    return (await gw.http.get("/api/v5/nodes", headers=bearer(token))).status


async def test_a_token_from_one_gateway_works_on_the_other_until_logout(pair):
    a1, a2 = pair
    token = await login(a1)
    assert await status(a2, token) == 200
    r = await a2.http.post("/api/v5/logout", headers=bearer(token), json={"username": "admin"})
    assert r.status == 204
    assert await status(a1, token) == 401
    r = await a1.http.post("/api/v5/logout", headers=bearer(token), json={"username": "admin"})
    assert r.status == 401  # already gone


async def test_users_and_api_keys_are_the_same_everywhere(pair):
    a1, a2 = pair
    admin = bearer(await login(a1))
    r = await a1.http.post("/api/v5/users", headers=admin, json={"username": "ops", "password": "s3cret-word"})
    assert r.status == 200, await r.text()
    ops = await login(a2, {"username": "ops", "password": "s3cret-word"})
    r = await a2.http.post("/api/v5/api_key", headers=admin, json={"name": "k", "desc": "", "enable": True})
    key = await r.json()
    basic = {"Authorization": aiohttp.encode_basic_auth(key["api_key"], key["api_secret"])}
    assert (await a1.http.get("/api/v5/clients", headers=basic)).status == 200
    # EMQ 2.x Basic auth reads the same users
    v2 = {"Authorization": aiohttp.encode_basic_auth("ops", "s3cret-word")}
    assert (await a1.http.get("/api/v2/routes", headers=v2)).status == 200
    # a password changed on A1 voids the token A2 issued
    r = await a1.http.post(
        "/api/v5/users/ops/change_pwd",
        headers=admin,
        json={"old_pwd": "s3cret-word", "new_pwd": "an0ther-word"},
    )
    assert r.status == 204, await r.text()
    assert await status(a2, ops) == 401 and await status(a1, ops) == 401


async def test_another_key_does_not_accept_the_token(pair, chain):
    a1, _ = pair
    shared_file = a1.ctx.config.upstream.accounts_db
    stranger = await chain("v5", upstream={"accounts_db": shared_file, "token_secret": "t" * 32}, behind=a1)
    token = await login(a1)
    assert await status(stranger, token) == 401


def test_signed_tokens_expire_and_refuse_tampering(tmp_path):
    now = [1000.0]
    store = AccountStore(str(tmp_path / "a.db"), token_key=b"k" * 32, token_ttl=60, clock=lambda: now[0])
    token = store.issue_token("admin")
    assert store.check_token(token) == "admin"
    head, payload, mac = token.split(".")
    for forged in (f"{head}.{payload[:-2]}AA.{mac}", f"{head}.{payload}.{mac[:-2]}AA", "x.y", token + "x"):
        with pytest.raises(BadToken):
            store.check_token(forged)
    now[0] += 61  # the expiry does not slide: any gateway may be the one checking
    with pytest.raises(TokenExpired):
        store.check_token(token)
    # a logout is kept until the token would have expired, then swept
    fresh = store.issue_token("admin")
    assert store.revoke_token(fresh, "admin")
    now[0] += 61
    store.revoke_token(store.issue_token("admin"), "admin")
    with store._db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM revoked_tokens").fetchone()[0] == 1
    store.close()
