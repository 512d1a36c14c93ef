"""The configuration documents' value formats: EMQX durations, sizes, percentages and sentinels."""

import pytest

from adapters.common import units


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30s", 30_000),
        ("1h5m", 3_900_000),
        ("240ms", 240),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        (1500, 1500),
        ("1500", 1500),
        ("0s", 0),
        ("1.5s", 1500),
        ("1M", 60_000),
    ],
)
def test_durations(text, ms):
    assert units.duration_ms(text) == ms


@pytest.mark.parametrize("bad", ["", "s", "10x", "1h 5m", "-1s", -1, True, None, "1s2", "infinity"])
def test_bad_durations(bad):
    with pytest.raises(units.UnitError):
        units.duration_ms(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (30, "30s"), (60, "1m"), (7200, "2h"), (86400, "1d"), (0.24, "240ms"), (90, "90s"), (3900, "65m")],
)
def test_durations_are_written_in_the_largest_exact_unit(seconds, text):
    assert units.format_duration(seconds) == text
    assert units.duration_s(text) == seconds


def test_sentinels_stand_for_zero():
    assert units.duration_or("infinity", "infinity") == 0
    assert units.format_duration_or("disabled", 0) == "disabled"
    assert units.format_duration_or("disabled", 30) == "30s"
    assert units.count_or_infinity("infinity") == 0 and units.format_count_or_infinity(0) == "infinity"
    assert units.count_or_infinity(5) == 5
    with pytest.raises(units.UnitError):
        units.count_or_infinity(-1)


@pytest.mark.parametrize(
    ("text", "n"),
    [("64KB", 65536), ("1MB", 1048576), ("2gb", 2 * 1024**3), (100, 100), ("100", 100), ("100B", 100), ("1k", 1024)],
)
def test_sizes(text, n):
    assert units.size_bytes(text) == n


@pytest.mark.parametrize("bad", ["", "MB", "1XB", "-1KB", -5, 1.5, None])
def test_bad_sizes(bad):
    with pytest.raises(units.UnitError):
        units.size_bytes(bad)


def test_sizes_are_written_in_the_largest_exact_unit_and_nanomq_kilobytes():
    assert [units.format_size(n) for n in (1048576, 65536, 1000, 0, 3 * 1024**3)] == [
        "1MB",
        "64KB",
        "1000B",
        "0B",
        "3GB",
    ]
    assert (units.kilobytes(1048576), units.kilobytes(100), units.kilobytes(0)) == (1024, 1, 0)


def test_percentages():
    assert units.percent("80%") == 80.0 and units.percent("12.5%") == 12.5 and units.percent(70) == 70.0
    assert units.format_percent(80.0) == "80%" and units.format_percent(12.5) == "12.5%"
    for bad in ("101%", "80", "x%", -1, True):
        with pytest.raises(units.UnitError):
            units.percent(bad)
