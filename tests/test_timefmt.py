"""The dialects' time and size formats."""

import datetime as dt
import time

import pytest

from adapters.common.timefmt import (
    legacy_datetime,
    memory_string,
    parse_time,
    parse_time_s,
    rfc3339_ms,
    rfc3339_s,
    uptime_emq,
    uptime_nanomq,
)


@pytest.mark.parametrize("ts", [0.0, 1.25, 1700000000.123, 1893456000.999])
def test_rfc3339_matches_datetime_with_local_offset(ts):
    local = dt.datetime.fromtimestamp(ts).astimezone()
    assert rfc3339_s(ts) == local.isoformat(timespec="seconds")
    assert rfc3339_ms(ts)[:19] == local.isoformat(timespec="seconds")[:19]
    assert rfc3339_ms(ts)[-6:] == local.isoformat()[-6:]
    assert abs(parse_time(rfc3339_ms(ts)) - ts) < 0.001


def test_absent_times_stay_absent():
    assert rfc3339_ms(None) is None and rfc3339_s(None) is None and legacy_datetime(None) is None


def test_inputs():
    assert parse_time(1700000000123) == 1700000000.123
    assert parse_time("1700000000123") == 1700000000.123
    assert parse_time_s(1700000000) == 1700000000.0
    assert parse_time("2024-01-01T00:00:00Z") == 1704067200.0
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_legacy_forms():
    assert legacy_datetime(0) == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(0))
    assert uptime_emq(5) == "5 seconds"
    assert uptime_emq(93784) == "1 days,2 hours, 3 minutes, 4 seconds"
    assert uptime_nanomq(54098) == "15 Hours, 1 minutes, 38 seconds"
    assert memory_string(126353408) == "120.50M"
    assert memory_string(512) == 512
