"""Every time and size format the dialects use, from epoch seconds (the records' unit)."""

from __future__ import annotations

import datetime as _dt
import functools
import math
import time

_OFFSETS: dict[int, str] = {}


def _offset(tm: time.struct_time) -> str:
    off = tm.tm_gmtoff
    text = _OFFSETS.get(off)
    if text is None:
        sign = "+" if off >= 0 else "-"
        hours, minutes = divmod(abs(off) // 60, 60)
        text = _OFFSETS[off] = f"{sign}{hours:02d}:{minutes:02d}"
    return text


# Listings format three times per row, and a client's times are fixed instants (created, connected,
# disconnected), so their strings are remembered; time.strftime is several times cheaper than datetime.
@functools.lru_cache(maxsize=1 << 17)
def rfc3339_ms(ts: float | None) -> str | None:
    """EMQX 5 client/alarm/retainer times: `2024-01-01T12:34:56.789+08:00` (node-local offset)."""
    if ts is None:
        return None
    tm = time.localtime(ts)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', tm)}.{int(ts * 1000) % 1000:03d}{_offset(tm)}"


def rfc3339_s(ts: float | None) -> str | None:
    """EMQX 5 api_key/banned times: second precision."""
    if ts is None:
        return None
    tm = time.localtime(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + _offset(tm)


@functools.lru_cache(maxsize=1 << 17)
def legacy_datetime(ts: float | None) -> str | None:
    """EMQ 2.x / EMQX 4 / NanoMQ: `YYYY-MM-DD HH:MM:SS`, local time (remembered, as above)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


# The instants an input time may name: from the epoch to the last second of year 9999, what
# localtime, RFC 3339 and the JSON encoder can all render back (a ban until 1e300 could not be shown).
LATEST_TIME_S = 253402300799


def _instant(amount: float, per_second: int, value: object) -> float:
    """``amount`` units of 1/``per_second`` s since the epoch, range-checked before it is divided: an
    integer of a few hundred digits overflows a float."""
    if not 0 <= amount <= LATEST_TIME_S * per_second:
        raise ValueError(f"time out of range (1970 to 9999): {str(value)[:40]}")
    return amount / per_second


def parse_time(value: str | int | float) -> float:
    """An input time as EMQX 5 accepts it: epoch milliseconds or an RFC 3339 string. ValueError if neither,
    or outside 1970 to 9999 (``LATEST_TIME_S``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _instant(value, 1000, value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return _instant(int(text), 1000, value)
    try:
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise ValueError(f"not an epoch-millisecond number or RFC 3339 time: {value!r}") from e
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return _instant(parsed.timestamp(), 1, value)


def parse_time_s(value: str | int | float) -> float:
    """Like parse_time, but a number means epoch seconds (EMQX 5 banned/api_key inputs)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _instant(value, 1, value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return _instant(int(text), 1, value)
    return parse_time(text)


def epoch_seconds(value: object) -> int:
    """An input time as EMQX 4 reads it: whole epoch seconds, a number or its text. ValueError if not one,
    or outside 1970 to 9999 (``LATEST_TIME_S``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not epoch seconds: {value!r}")
    seconds = int(value)
    _instant(seconds, 1, value)
    return seconds


def _units(seconds: float) -> tuple[int, int, int, int]:
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return days, hours, minutes, s


def uptime_emq(seconds: float) -> str:
    """EMQ 2.x/EMQX 4 uptime: `1 days,3 hours, 5 minutes, 2 seconds`, leading zero units omitted.

    (EMQ builds it as `D days,` + `H hours, ` + `M minutes, ` + `S seconds`; the missing space after
    `days,` is theirs.)
    """
    days, hours, minutes, s = _units(seconds)
    out = ""
    if days:
        out += f"{days} days,"
    if days or hours:
        out += f"{hours} hours, "
    if days or hours or minutes:
        out += f"{minutes} minutes, "
    return out + f"{s} seconds"


def uptime_nanomq(seconds: float) -> str:
    """NanoMQ: `15 Hours, 1 minutes, 38 seconds` (hours not folded into days)."""
    s = int(seconds)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return f"{hours} Hours, {minutes} minutes, {s} seconds"


def memory_string(n: int) -> str | int:
    """EMQ/EMQX memory as `"120.50M"`: two decimals with G/M/K; values of 1 KiB or less stay ints."""
    if n > 1024**3:
        return f"{n / 1024**3:.2f}G"
    if n > 1024**2:
        return f"{n / 1024**2:.2f}M"
    if n > 1024:
        return f"{n / 1024:.2f}K"
    return n


def total_pages(total: int, size: int) -> int:
    return math.ceil(total / size) if size else 0
