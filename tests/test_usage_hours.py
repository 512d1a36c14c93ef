"""Calls per dialect per hour (the home page's migration progress): recorded with every request, kept in
usage.db for a week, served by `GET /api/v5/gateway/usage/hourly`."""

import aiohttp

from gateway.http.usage import HOUR_S, HOURS_KEPT, USAGE_DB, UsageLog

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}
NOW = 1_700_000_000.0  # an instant inside some hour; HOUR_S before it lies in the previous one
THIS_HOUR = NOW - NOW % HOUR_S


def test_hours_merge_file_and_pending_and_count_each_dialect(tmp_path):
    log = UsageLog(tmp_path / USAGE_DB)
    log.record("v2", "GET", "/routes", 200, "admin", now=NOW - HOUR_S)
    log.record("v5", "GET", "/clients", 200, "admin", now=NOW - HOUR_S)
    log.flush()
    log.record("v2", "GET", "/routes", 200, "admin", now=NOW)
    log.record("v4", "GET", "/brokers", 200, "admin", now=NOW)
    log.record("v5", "GET", "/clients", 200, "ops", now=NOW)
    log.record("v5", "GET", "/nodes", 200, "ops", now=NOW)
    assert log.calls_per_hour(3, now=NOW) == [
        (THIS_HOUR - 2 * HOUR_S, {}),
        (THIS_HOUR - HOUR_S, {"v2": 1, "v5": 1}),
        (THIS_HOUR, {"v2": 1, "v4": 1, "v5": 2}),
    ]
    log.flush()
    # the file alone says the same once everything is written, to a reader that never recorded
    assert UsageLog(log.path).calls_per_hour(2, now=NOW) == [
        (THIS_HOUR - HOUR_S, {"v2": 1, "v5": 1}),
        (THIS_HOUR, {"v2": 1, "v4": 1, "v5": 2}),
    ]


def test_hours_older_than_a_week_are_dropped_at_flush(tmp_path):
    log = UsageLog(tmp_path / USAGE_DB)
    log.record("v2", "GET", "/routes", 200, "admin", now=NOW - HOURS_KEPT * HOUR_S)
    log.record("v2", "GET", "/routes", 200, "admin", now=NOW - (HOURS_KEPT - 1) * HOUR_S)
    log.flush()
    log.record("v5", "GET", "/nodes", 200, "admin", now=NOW)
    log.flush()
    hours = UsageLog(log.path).calls_per_hour(HOURS_KEPT + 5, now=NOW)
    assert len(hours) == HOURS_KEPT  # never more than is kept
    assert hours[0] == (THIS_HOUR - (HOURS_KEPT - 1) * HOUR_S, {"v2": 1})
    assert sum(counts.get("v2", 0) for _, counts in hours) == 1
    # the lifetime report is not trimmed: it still holds both legacy calls
    assert [u.count for u in log.report(legacy_only=True)] == [2]


async def test_hourly_endpoint_counts_real_requests(gateway):
    gw = await gateway()
    node = gw.ctx.control.node_name
    for _ in range(2):
        assert (await gw.http.get(f"/api/v2/nodes/{node}/clients", headers=ADMIN)).status == 200
    assert (await gw.http.get("/api/v4/brokers", headers=ADMIN)).status == 200
    r = await gw.http.post("/api/v5/login", json={"username": "admin", "password": "public"})
    bearer = {"Authorization": "Bearer " + (await r.json())["token"]}
    r = await gw.http.get("/api/v5/gateway/usage/hourly?hours=3", headers=bearer)
    assert r.status == 200
    doc = await r.json()
    assert doc["meta"] == {"count": 3} and len(doc["data"]) == 3
    assert all(set(row) == {"time", "v2", "v4", "v5"} for row in doc["data"])
    # the login is a v5 call of the current hour; a request is counted once it is answered
    assert {k: doc["data"][-1][k] for k in ("v2", "v4", "v5")} == {"v2": 2, "v4": 1, "v5": 1}
    assert doc["data"][0]["time"] < doc["data"][1]["time"] < doc["data"][2]["time"]
    assert (await gw.http.get("/api/v5/gateway/usage/hourly", headers=bearer)).status == 200
    again = (await (await gw.http.get("/api/v5/gateway/usage/hourly", headers=bearer)).json())["data"]
    assert len(again) == 24 and again[-1]["v5"] == 3
    for bad in ("0", str(HOURS_KEPT + 1), "x"):
        r = await gw.http.get(f"/api/v5/gateway/usage/hourly?hours={bad}", headers=bearer)
        assert r.status == 400 and (await r.json())["code"] == "BAD_REQUEST", bad
    assert (await gw.http.get("/api/v5/gateway/usage/hourly")).status == 401
