"""`/api/v5/alarms` over alarms the broker really raises (system memory, its watermark moved)."""

import asyncio
import re

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
SYSMEM = "high_system_memory_usage"


async def until(v5, predicate, path="/alarms"):
    for _ in range(100):
        doc = await v5.json("get", path)
        if predicate(doc):
            return doc
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path}: condition not met: {doc}")


async def test_current_alarms_history_and_clear(make_v5):
    v5 = await make_v5(os_check_interval=1, sysmem_high_watermark=0.0)
    doc = await until(v5, lambda d: [a["name"] for a in d["data"]] == [SYSMEM])
    alarm = doc["data"][0]
    assert set(alarm) == {"node", "name", "message", "details", "duration", "activate_at"}
    assert alarm["node"] == v5.node and RFC3339_MS.match(alarm["activate_at"])
    assert alarm["message"] == "System memory usage is higher than 0%" and alarm["details"]["usage"] > 0
    assert isinstance(alarm["duration"], int) and alarm["duration"] >= 0
    assert doc["meta"] == {"page": 1, "limit": 100, "count": 1, "hasnext": False}
    assert (await v5.json("get", "/alarms?activated=false"))["data"] == []

    await v5.json("post", "/alarms/force_deactivate", {"name": SYSMEM}, status=204)
    history = (await v5.json("get", "/alarms?activated=false"))["data"]
    assert [a["name"] for a in history] == [SYSMEM] and RFC3339_MS.match(history[0]["deactivate_at"])
    await v5.json("delete", "/alarms", status=204)
    assert (await v5.json("get", "/alarms?activated=false"))["data"] == []


async def test_force_deactivate_errors_change_nothing(make_v5):
    v5 = await make_v5(os_check_interval=0)
    body = await v5.json("post", "/alarms/force_deactivate", {}, status=400)
    assert body == {"code": "INVALID_PARAMETER", "message": "name is required"}
    body = await v5.json("post", "/alarms/force_deactivate", {"name": "nope"}, status=400)
    assert body == {"code": "NOT_FOUND", "message": "Alarm not found or already deactivated"}
    assert (await v5.json("post", "/alarms/force_deactivate", {"name": "x", "extra": 1}, status=400))[
        "code"
    ] == "BAD_REQUEST"
    assert (await v5.json("get", "/alarms?activated=maybe", status=400))["code"] == "BAD_REQUEST"
    assert (await v5.json("get", "/alarms"))["data"] == []
