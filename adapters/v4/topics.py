"""Topic checks the dialect needs before it calls the broker (the broker's own rules, reused)."""

from __future__ import annotations

from broker.errors import MQTTError
from broker.topics import validate_topic_filter  # a pure function, no broker state


def valid_filter(f: str) -> bool:
    try:
        validate_topic_filter(f)
    except MQTTError:
        return False
    return True
