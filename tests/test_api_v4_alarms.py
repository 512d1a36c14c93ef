"""`/api/v4` alarms in EMQX 4.4's shape, served by both flavors, over alarms the broker really raises
(system memory, its watermark moved to 0%)."""

import asyncio

import aiohttp
import pytest

from gateway.config import HttpConfig

AUTH = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}
NODE = "emqgw@127.0.0.1"
SYSMEM = "high_system_memory_usage"


async def call(gw, method, path, body=None):
    r = await gw.http.request(method, "/api/v4" + path, json=body, headers=AUTH)
    return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def raised(gw):
    for _ in range(100):
        _, body = await call(gw, "GET", "/alarms/activated")
        if body["data"][0]["alarms"]:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError("no alarm raised")


@pytest.mark.parametrize("flavor", ["emqx4", "nanomq"])
async def test_alarm_listings_deactivate_and_delete(gateway, flavor):
    gw = await gateway("v4", http=HttpConfig(v4_flavor=flavor), os_check_interval=1, sysmem_high_watermark=0.0)
    body = await raised(gw)
    assert body["code"] == 0 and body["data"][0]["node"] == NODE
    (alarm,) = body["data"][0]["alarms"]
    assert set(alarm) == {"name", "message", "details", "activate_at", "deactivate_at", "activated", "duration"}
    assert alarm["name"] == SYSMEM and alarm["activated"] is True and alarm["deactivate_at"] == "infinity"
    assert isinstance(alarm["activate_at"], int) and alarm["activate_at"] > 10**15  # microseconds
    assert isinstance(alarm["duration"], int) and alarm["duration"] >= 0
    status, body = await call(gw, "GET", f"/nodes/{NODE}/alarms")
    assert status == 200 and [a["name"] for a in body["data"]] == [SYSMEM]
    assert (await call(gw, "GET", "/alarms/deactivated"))[1]["data"] == [{"node": NODE, "alarms": []}]

    assert await call(gw, "POST", "/alarms/deactivated", {"name": SYSMEM}) == (200, {"message": "missing_param"})
    assert await call(gw, "POST", "/alarms/deactivated", {"node": NODE, "name": "nope"}) == (
        200,
        {"message": "not_found"},
    )
    assert await call(gw, "POST", "/alarms/deactivated", {"node": NODE, "name": SYSMEM}) == (200, {"code": 0})
    _, body = await call(gw, "GET", "/alarms/deactivated")
    (done,) = body["data"][0]["alarms"]
    assert done["activated"] is False and done["deactivate_at"] >= done["activate_at"]
    assert done["duration"] == done["deactivate_at"] - done["activate_at"]
    _, body = await call(gw, "GET", "/alarms")
    assert SYSMEM in [a["name"] for a in body["data"][0]["alarms"]]

    assert await call(gw, "DELETE", "/nodes/other@host/alarms/deactivated") == (404, "Not found.")
    assert await call(gw, "DELETE", "/alarms/deactivated") == (200, {"code": 0})
    assert (await call(gw, "GET", f"/nodes/{NODE}/alarms/deactivated"))[1]["data"] == []
