"""Upstream mode when the upstream misbehaves: down, slow, 5xx, our key refused. Each dialect answers in
its own envelope (never a traceback), `/status` is 503, reads are tried twice and writes once, a circuit
breaker stops calling a dead upstream, and the upstream's secret appears nowhere.

A real FaultProxy (tests.upstream_helpers) sits between gateway A and gateway B.
"""

import asyncio
import base64
import logging

import aiohttp
import pytest

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}
FAST = {"timeout": 0.5, "breaker_threshold": 3, "breaker_cooldown": 0.5}


async def _answers(gw, v5_auth):
    """One read in every dialect and the health check: (status, parsed body) each."""
    node = gw.broker.config.node_name
    out = {}
    for name, path, headers in (
        ("v2", f"/api/v2/nodes/{node}/clients", ADMIN),
        ("v4", "/api/v4/clients", ADMIN),
        ("v5", "/api/v5/clients", v5_auth),
        ("status", "/status?format=json", {}),
    ):
        r = await gw.http.get(path, headers=headers)
        assert r.content_type == "application/json", (name, r.content_type, await r.text())
        out[name] = (r.status, await r.json())
    return out


async def _v5_key(gw):
    key, secret = gw.accounts.create_api_key("faults", "", True, None)
    return {"Authorization": aiohttp.encode_basic_auth(key.api_key, secret)}


def _assert_unavailable_everywhere(answers):
    assert answers["v2"][0] == 200 and answers["v2"][1]["code"] == 102  # 2.3's unknown error
    assert answers["v4"][0] == 500 and answers["v4"][1]["code"] == 101  # NanoMQ's RPC error
    assert answers["v5"] == (503, {"code": "SERVICE_UNAVAILABLE", "message": answers["v5"][1]["message"]})
    assert answers["status"][0] == 503 and answers["status"][1]["app_status"] == "not_running"


@pytest.mark.parametrize("fault", ["down", "reset", "slow", 502, 503])
async def test_each_dialect_answers_in_its_envelope_and_status_is_503(chain, fault):
    gw = await chain(proxy=True, upstream={**FAST, "breaker_threshold": 100})
    auth = await _v5_key(gw)
    ok = await _answers(gw, auth)
    assert ok["v5"][0] == 200 and ok["status"] == (200, ok["status"][1])
    if fault == "down":
        await gw.proxy.stop()
    elif fault == "slow":
        gw.proxy.mode, gw.proxy.delay = "delay", 2.0
    else:
        gw.proxy.mode = fault
    answers = await _answers(gw, auth)
    _assert_unavailable_everywhere(answers)
    if fault == "slow":
        assert "did not answer within 0.5 s" in answers["v5"][1]["message"]
    # back: answers again, no restart
    if fault == "down":
        await gw.proxy.start()
    gw.proxy.mode = "pass"
    assert (await _answers(gw, auth))["v5"][0] == 200


async def test_reads_are_tried_twice_writes_once(chain):
    gw = await chain(proxy=True, upstream={**FAST, "breaker_threshold": 100})
    auth = await _v5_key(gw)
    gw.proxy.mode = 503
    before = gw.proxy.requests
    r = await gw.http.get("/api/v5/clients/c1", headers=auth)
    assert r.status == 503 and gw.proxy.requests == before + 2
    before = gw.proxy.requests
    r = await gw.http.delete("/api/v5/clients/c1", headers=auth)
    assert r.status == 503 and gw.proxy.requests == before + 1


async def test_a_refused_key_is_unavailable_and_not_retried_nor_paused(chain):
    gw = await chain(proxy=True, upstream=FAST)
    auth = await _v5_key(gw)
    gw.proxy.mode = 401
    for _ in range(5):  # above the breaker's threshold
        before = gw.proxy.requests
        r = await gw.http.get("/api/v5/clients", headers=auth)
        body = await r.json()
        assert r.status == 503 and "refused the gateway's API key" in body["message"]
        assert gw.proxy.requests == before + 1
    gw.proxy.mode = "pass"
    assert (await gw.http.get("/api/v5/clients", headers=auth)).status == 200  # no pause to wait out


async def test_the_breaker_stops_calling_a_dead_upstream_then_tries_again(chain):
    gw = await chain(proxy=True, upstream=FAST)
    auth = await _v5_key(gw)
    gw.proxy.mode = 503
    for _ in range(2):  # two reads of two tries: the third failure opens the breaker
        assert (await gw.http.get("/api/v5/clients", headers=auth)).status == 503
    calls = gw.proxy.requests
    for _ in range(10):
        r = await gw.http.get("/api/v5/clients", headers=auth)
        assert r.status == 503 and "paused" in (await r.json())["message"]
    assert (await gw.http.get("/status")).status == 503
    assert gw.proxy.requests == calls  # nothing reached the upstream
    gw.proxy.mode = "pass"
    await asyncio.sleep(FAST["breaker_cooldown"])
    assert (await gw.http.get("/api/v5/clients", headers=auth)).status == 200  # the trial call
    assert (await gw.http.get("/api/v5/clients", headers=auth)).status == 200
    assert gw.ctx.control.running


async def test_the_secret_appears_nowhere(chain, caplog):
    caplog.set_level(logging.DEBUG)
    gw = await chain(proxy=True, upstream=FAST)
    up = gw.ctx.config.upstream
    secret = up.api_secret
    basic = base64.b64encode(f"{up.api_key}:{secret}".encode()).decode()
    auth = await _v5_key(gw)
    seen = []
    for mode in ("pass", "reset", "delay", 500, 401, "pass"):
        gw.proxy.mode, gw.proxy.delay = mode, 1.0
        seen.append(str(await _answers(gw, auth)))
    await gw.proxy.stop()
    seen.append(str(await _answers(gw, auth)))
    seen += [repr(up), str(up), repr(gw.ctx.control), repr(gw.ctx.control.client), repr(gw.ctx.config)]
    seen += [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    for text in seen:
        assert secret not in text and basic not in text
