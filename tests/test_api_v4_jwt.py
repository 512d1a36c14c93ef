"""NanoMQ's JWT mode: RS256 against the configured public key, `iss` = the key file's name, `exp` checked."""

import time

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

AUTH = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}


def keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture
async def jwt_gw(gateway, tmp_path):
    private, public = keypair()
    keyfile = tmp_path / "jwtRS256.key.pub"
    keyfile.write_bytes(public)
    gw = await gateway("v4")
    r = await gw.http.post(
        "/api/v4/configuration",
        headers=AUTH,
        json={"data": {"http_server": {"auth_type": "jwt", "jwt": {"public": {"keyfile": str(keyfile)}}}}},
    )
    assert await r.json() == {"code": 0}
    return gw, private


def bearer(token):
    return {"Authorization": "Bearer " + token}


async def call(gw, headers):
    gw = gw[0]
    r = await gw.http.get("/api/v4/brokers", headers=headers)
    return r.status, await r.json()


async def test_good_token(jwt_gw):
    token = jwt.encode(
        {"iss": "jwtRS256.key.pub", "exp": int(time.time()) + 60, "sub": "ops"}, jwt_gw[1], algorithm="RS256"
    )
    status, body = await call(jwt_gw, bearer(token))
    assert status == 200 and body["code"] == 0


async def test_expired_token_is_116(jwt_gw):
    # NanoMQ tolerates 200 s of clock skew; this one is well past it.
    token = jwt.encode({"iss": "jwtRS256.key.pub", "exp": int(time.time()) - 1000}, jwt_gw[1], algorithm="RS256")
    assert await call(jwt_gw, bearer(token)) == (401, {"code": 116})


async def test_forged_wrong_issuer_and_missing(jwt_gw):
    other, _ = keypair()
    exp = int(time.time()) + 60
    forged = jwt.encode({"iss": "jwtRS256.key.pub", "exp": exp}, other, algorithm="RS256")
    assert await call(jwt_gw, bearer(forged)) == (401, {"code": 103})
    wrong_iss = jwt.encode({"iss": "someone-else.pub", "exp": exp}, jwt_gw[1], algorithm="RS256")
    assert await call(jwt_gw, bearer(wrong_iss)) == (401, {"code": 103})
    hs = jwt.encode({"iss": "jwtRS256.key.pub", "exp": exp}, "secret-secret-secret-secret-32by", algorithm="HS256")
    assert await call(jwt_gw, bearer(hs)) == (401, {"code": 103})
    assert await call(jwt_gw, {}) == (401, {"code": 104})
    # Basic no longer passes once JWT is on
    assert await call(jwt_gw, AUTH) == (401, {"code": 104})
