"""Value formats of the configuration documents, to and from the records' units (seconds, bytes,
percent, 0 for "no limit").

EMQX 5 writes durations as a number with units (`"30s"`, `"1h5m"`, `"240ms"`; a bare integer means
milliseconds), sizes with 1024-based units (`"64KB"`, `"1MB"`), percentages as `"80%"`, and says
`"infinity"` or `"disabled"` where a record holds 0 (hocon's duration, bytesize and percent types,
emqx_schema). EMQ 2.3's emq.conf used the same forms (`mqtt.max_packet_size = 64KB`); NanoMQ counts
sizes in KB and durations in whole seconds. Every dialect converts through here, and so does the
upstream control (``adapters.upstream.settings``) reading and writing EMQX's own documents.
"""

from __future__ import annotations

import re

INFINITY = "infinity"
DISABLED = "disabled"

KB = 1024
# Largest to smallest, so that formatting picks the largest unit that divides the value exactly.
_DURATION_UNITS = (("d", 86400_000), ("h", 3600_000), ("m", 60_000), ("s", 1000), ("ms", 1))
_DURATION_MS = dict(_DURATION_UNITS)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)", re.IGNORECASE)
_SIZE_UNITS = (("GB", KB**3), ("MB", KB**2), ("KB", KB))
_SIZE_FACTOR = {"": 1, "b": 1, "kb": KB, "mb": KB**2, "gb": KB**3, "k": KB, "m": KB**2, "g": KB**3}
_SIZE = re.compile(r"(\d+)\s*([a-z]*)", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class UnitError(ValueError):
    """A value that is not in the expected format; the message says which format was expected."""


def _int_like(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- durations ---------------------------------------------------------------------------------


def duration_ms(value: str | int) -> int:
    """`"30s"`, `"1h5m"`, `"240ms"` or an integer of milliseconds, as milliseconds."""
    if _int_like(value):
        if value < 0:
            raise UnitError(f"a duration cannot be negative: {value}")
        return value
    if not isinstance(value, str):
        raise UnitError(f'expected a duration such as "30s", got {value!r}')
    text = value.strip()
    if text.isdigit():
        return int(text)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_MS[m.group(2).lower()]
        pos = m.end()
    if pos != len(text) or not text:
        raise UnitError(f'expected a duration such as "30s", "1h5m" or "240ms", got {value!r}')
    return round(total)


def duration_s(value: str | int) -> float:
    """A duration in seconds (a whole number when it is one)."""
    ms = duration_ms(value)
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def format_duration(seconds: float) -> str:
    """Seconds in the largest unit that says them exactly: 7200 -> `"2h"`, 0.24 -> `"240ms"`, 0 -> `"0s"`."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    for unit, size in _DURATION_UNITS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    raise AssertionError("every whole number of milliseconds has a unit")


def duration_or(sentinel: str, value: str | int) -> float:
    """A duration where ``sentinel`` (`"infinity"`, `"disabled"`) stands for the records' 0."""
    return 0 if value == sentinel else duration_s(value)


def format_duration_or(sentinel: str, seconds: float) -> str:
    return sentinel if not seconds else format_duration(seconds)


# -- sizes -------------------------------------------------------------------------------------


def size_bytes(value: str | int) -> int:
    """`"64KB"`, `"1MB"`, `"2GB"` (1024-based, any case) or an integer of bytes, as bytes."""
    if _int_like(value):
        if value < 0:
            raise UnitError(f"a size cannot be negative: {value}")
        return value
    if isinstance(value, str):
        m = _SIZE.fullmatch(value.strip())
        if m is not None and m.group(2).lower() in _SIZE_FACTOR:
            return int(m.group(1)) * _SIZE_FACTOR[m.group(2).lower()]
    raise UnitError(f'expected a size such as "64KB" or "1MB", got {value!r}')


def format_size(n: int) -> str:
    """Bytes in the largest unit that says them exactly: 1048576 -> `"1MB"`, 1000 -> `"1000B"`."""
    for unit, size in _SIZE_UNITS:
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


def kilobytes(n: int) -> int:
    """Bytes as whole KB (NanoMQ's unit), rounded down but never to 0 for a non-zero size."""
    return max(1, n // KB) if n else 0


# -- percentages, counts -----------------------------------------------------------------------


def percent(value: str | int | float) -> float:
    """`"80%"` (or a bare number of percent) as a number from 0 to 100."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and (m := _PERCENT.fullmatch(value.strip())) is not None:
        number = float(m.group(1))
    else:
        raise UnitError(f'expected a percentage such as "80%", got {value!r}')
    if not 0 <= number <= 100:
        raise UnitError(f"a percentage is between 0% and 100%, got {value!r}")
    return number


def format_percent(number: float) -> str:
    return f"{int(number) if float(number).is_integer() else number}%"


def count_or_infinity(value: str | int) -> int:
    """An integer, or `"infinity"` for the records' 0 (no limit)."""
    if value == INFINITY:
        return 0
    if not _int_like(value) or value < 0:
        raise UnitError(f'expected a non-negative integer or "infinity", got {value!r}')
    return value


def format_count_or_infinity(n: int) -> int | str:
    return INFINITY if not n else n


# -- the broker's settings ---------------------------------------------------------------------

# BrokerConfig fields with a unit, by kind: durations in seconds (durability_interval_ms: milliseconds),
# sizes in bytes, percentages; counts whose 0 is "infinity".
SETTING_UNITS: dict[str, str] = {
    **dict.fromkeys(
        (
            "session_expiry_interval",
            "await_rel_timeout",
            "sys_interval",
            "sys_heartbeat",
            "retry_interval",
            "alarm_validity_period",
            "os_check_interval",
            "conn_congestion_min_alarm_sustain_duration",
            "session_history_retain",
        ),
        "seconds",
    ),
    "durability_interval_ms": "milliseconds",
    **dict.fromkeys(
        ("max_packet_size", "write_buffer_high", "max_user_property_size", "client_max_packet_size"), "bytes"
    ),
    **dict.fromkeys(("sysmem_high_watermark", "cpu_high_watermark", "cpu_low_watermark"), "percent"),
    **dict.fromkeys(("max_subscriptions", "max_mqueue_len"), "count"),
}
_READ = {
    "seconds": duration_s,
    "milliseconds": duration_ms,
    "bytes": size_bytes,
    "percent": percent,
    "count": count_or_infinity,
}


def read_setting(name: str, text: str):
    """A setting written as EMQ's conf files write it (`"30s"`, `"64KB"`, `"80%"`, `"infinity"`) in the
    record's unit; None when ``name`` has no unit or ``text`` is a bare number (already in that unit)."""
    kind = SETTING_UNITS.get(name)
    if kind is None or _NUMBER.fullmatch(text.strip()):
        return None
    return _READ[kind](text)
