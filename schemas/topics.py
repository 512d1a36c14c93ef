"""MQTT topic syntax: what a topic name and a topic filter may be, and the shared-subscription forms.

Pure functions over strings, for every door that takes a topic: the broker (``broker.topics`` raises its
``MQTTError`` with the reason code from these), the dialects checking a request before they call the
control interface, and the upstream control reading EMQX's subscriptions. A check answers what is
wrong, in words, or None: a caller on the PUBLISH path pays for no exception when all is well.
"""

from __future__ import annotations

# A topic travels as a UTF-8 Encoded String, whose two-byte length prefix caps it at 65535 bytes
# [MQTT-1.5.4], [MQTT-4.7.3-3]; a broker may accept less (BrokerConfig.max_topic_length).
MAX_TOPIC_BYTES = 65535

SEPARATOR = "/"
SINGLE = "+"
MULTI = "#"

# MQTT 5 shared subscriptions [MQTT-4.8.2]; EMQ's older "$queue/<filter>" is one anonymous group.
SHARE_PREFIX = "$share/"
QUEUE_PREFIX = "$queue/"
QUEUE_GROUP = "$queue"


def _too_long(s: str, max_bytes: int) -> bool:
    """Whether ``s`` takes more than ``max_bytes`` in UTF-8 (the caller has seen that it has more than
    max_bytes // 4 code points: fewer cannot, as UTF-8 needs at most 4 bytes per code point)."""
    try:
        return len(s.encode("utf-8")) > max_bytes
    except UnicodeEncodeError:
        # Lone surrogates cannot be sent at all [MQTT-1.5.4-1]; treat as unacceptable.
        return True


def topic_name_problem(topic: str, max_bytes: int = MAX_TOPIC_BYTES) -> str | None:
    """What makes ``topic`` no topic name for a PUBLISH (or a Will) or longer than ``max_bytes``; None
    when it is one."""
    if not topic:
        return "topic name is empty"  # [MQTT-4.7.3-1]
    if SINGLE in topic or MULTI in topic:
        return f"wildcard in topic name {topic!r}"  # [MQTT-4.7.1-1], [MQTT-3.3.2-2]
    if "\x00" in topic:
        return "U+0000 in topic name"  # [MQTT-4.7.3-2]
    # The length check inline: this runs once per PUBLISH, and most topics are short.
    if len(topic) > max_bytes >> 2 and _too_long(topic, max_bytes):
        # [MQTT-4.7.3-3] at 65535; below that, 0x90 is "correct, but not accepted by this Server".
        return f"topic name longer than {max_bytes} bytes"
    return None


def _plain_filter_problem(f: str, whole: str) -> str | None:
    if not f:
        return f"empty topic filter in {whole!r}"  # [MQTT-4.7.3-1]
    if SINGLE not in f and MULTI not in f:
        return None
    levels = f.split(SEPARATOR)
    last = len(levels) - 1
    for i, level in enumerate(levels):
        if MULTI in level and (level != MULTI or i != last):
            # [MQTT-4.7.1-2]: "#" alone in its level, and that level the last one.
            return f"'#' not alone in the last level of {whole!r}"
        if SINGLE in level and level != SINGLE:
            # [MQTT-4.7.1-3]: "+" fills a whole level.
            return f"'+' not alone in its level in {whole!r}"
    return None


def topic_filter_problem(filter: str, max_bytes: int = MAX_TOPIC_BYTES) -> str | None:
    """What makes ``filter`` no filter for SUBSCRIBE / UNSUBSCRIBE or longer than ``max_bytes`` (the
    share prefix included); None when it is one. Shared forms are filters."""
    if not filter:
        return "topic filter is empty"  # [MQTT-4.7.3-1]
    if "\x00" in filter:
        return "U+0000 in topic filter"  # [MQTT-4.7.3-2]
    if len(filter) > max_bytes >> 2 and _too_long(filter, max_bytes):
        # [MQTT-4.7.3-3] at 65535; below that, the broker's own limit.
        return f"topic filter longer than {max_bytes} bytes"
    if filter.startswith(SHARE_PREFIX):
        group, sep, real = filter[len(SHARE_PREFIX) :].partition(SEPARATOR)
        if not group:
            return f"empty share name in {filter!r}"  # [MQTT-4.8.2-1]
        if SINGLE in group or MULTI in group:
            # [MQTT-4.8.2-2]; "/" cannot be in it: partition stopped at the first one.
            return f"wildcard in share name of {filter!r}"
        if not sep:
            # [MQTT-4.8.2-2]: the share name must be followed by "/" and a filter.
            return f"no topic filter after share name in {filter!r}"
    elif filter.startswith(QUEUE_PREFIX):
        real = filter[len(QUEUE_PREFIX) :]
    else:
        return _plain_filter_problem(filter, filter)
    if real.startswith((SHARE_PREFIX, QUEUE_PREFIX)):
        # A share of a share has no meaning; neither EMQX nor the spec defines one.
        return f"nested shared subscription in {filter!r}"
    return _plain_filter_problem(real, filter)


def parse_share(filter: str) -> tuple[str | None, str]:
    """Split a (valid) filter into (share group or None, real filter).

    ``$share/g/a/b`` -> ``("g", "a/b")``; ``$queue/a/b`` -> ``("$queue", "a/b")``; else ``(None, filter)``.
    """
    if filter.startswith(SHARE_PREFIX):
        group, _, real = filter[len(SHARE_PREFIX) :].partition(SEPARATOR)
        return group, real
    if filter.startswith(QUEUE_PREFIX):
        return QUEUE_GROUP, filter[len(QUEUE_PREFIX) :]
    return None, filter


def shared_filter(group: str, real: str) -> str:
    """The filter a client subscribes with to share ``real`` in ``group``: ``parse_share`` undone."""
    return f"{QUEUE_PREFIX}{real}" if group == QUEUE_GROUP else f"{SHARE_PREFIX}{group}{SEPARATOR}{real}"
