"""EMQX's HOCON values in and out: durations ("30s", "2h", "1h30m", "100ms"), sizes ("1MB", "512KB"),
percentages ("80%"), and the words that stand for "none" ("infinity", "disabled").

The records keep plain numbers (seconds, bytes, percent); where EMQX writes "infinity" or "disabled"
the records' own "none" is used, named by the caller (0 for max_subscriptions, None for
server_keepalive ...).
"""

from __future__ import annotations

import re
from typing import Any

_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?b?)\s*$", re.IGNORECASE)
NONE_WORDS = ("infinity", "disabled")


def seconds(value: Any, none: Any = 0) -> Any:
    """A HOCON duration as seconds (an int when whole); ``none`` for "infinity"/"disabled".
    ValueError for anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000  # a bare number is milliseconds in EMQX's duration type
    text = str(value).strip().lower()
    if text in NONE_WORDS:
        return none
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        raise ValueError(f"not a duration: {value!r}")
    total = sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in parts)
    return int(total) if total == int(total) else total


def duration(secs: float | None, none: str = "infinity") -> str:
    """Seconds as EMQX writes a duration; None (or the caller's "none") as ``none``."""
    if secs is None:
        return none
    if secs != int(secs):
        return f"{round(secs * 1000)}ms"
    secs = int(secs)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def size(value: Any, none: Any = 0) -> Any:
    """A HOCON byte size as bytes; ``none`` for "infinity". ValueError for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in NONE_WORDS:
        return none
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f"not a byte size: {value!r}")
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n and n % scale == 0:
            return f"{n // scale}{unit}"
    return f"{n}B"


def percent(value: Any) -> float:
    """ "80%" (or 0.8, EMQX's other spelling) as 80.0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * 100 if value <= 1 else float(value)
    text = str(value).strip()
    if not text.endswith("%"):
        raise ValueError(f"not a percentage: {value!r}")
    return float(text[:-1])


def percent_text(p: float) -> str:
    return f"{p:g}%"


def limit(value: Any) -> int:
    """A count that may be "infinity" (max_subscriptions, max_mqueue_len ...) as the records keep it:
    0 for no limit."""
    if isinstance(value, str) and value.strip().lower() in NONE_WORDS:
        return 0
    return int(value)


def limit_value(n: int) -> int | str:
    return "infinity" if n == 0 else n


def memory(text: Any) -> int:
    """EMQX's node memory figures ("1.23G", "120.50M", "512.00K", or bytes below 1 KiB) as bytes."""
    if isinstance(text, int):
        return text
    t = str(text).strip()
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(t[-1:].upper())
    if scale is None:
        return int(float(t))
    return round(float(t[:-1]) * scale)
