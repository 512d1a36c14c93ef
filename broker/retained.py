"""Retained messages by topic name [MQTT-3.3.1-5], found again by the filters of new subscriptions.

The messages are opaque (the core keeps its own message record here). Two views of one set of topics:
an insertion-ordered dict for exact lookups and paging, and a level trie of the topic names that a
wildcard filter walks, so a SUBSCRIBE costs what it matches rather than the size of the store.

Sans-IO and clock-free: expiry [MQTT-3.3.2-5] and the "empty payload deletes" rule [MQTT-3.3.1-6] are
the core's to apply through ``delete``. ``match`` takes a real filter (see ``schemas.topics.parse_share``);
whether a shared subscription gets retained messages at all is the core's decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from schemas.topics import MULTI, SEPARATOR, SINGLE


class _Level:
    __slots__ = ("children", "topic")

    def __init__(self) -> None:
        self.children: dict[str, _Level] | None = None
        # The topic name ending at this level when a message is retained there, else None.
        self.topic: str | None = None


class RetainedStore:
    """topic name -> message, with filter matching that obeys the "$" rule [MQTT-4.7.2-1]."""

    __slots__ = ("_messages", "_root")

    def __init__(self) -> None:
        self._messages: dict[str, Any] = {}
        self._root = _Level()

    def set(self, topic: str, msg: Any) -> None:
        """Retain ``msg`` for ``topic``, replacing any earlier one (which keeps its place in order)."""
        if topic not in self._messages:
            node = self._root
            for level in topic.split(SEPARATOR):
                children = node.children
                if children is None:
                    children = node.children = {}
                child = children.get(level)
                if child is None:
                    child = children[level] = _Level()
                node = child
            node.topic = topic
        self._messages[topic] = msg

    def delete(self, topic: str) -> bool:
        """Forget the message retained for ``topic``; True if there was one. Empty levels are pruned."""
        if self._messages.pop(topic, _MISSING) is _MISSING:
            return False
        path: list[tuple[_Level, str]] = []
        node = self._root
        for level in topic.split(SEPARATOR):
            path.append((node, level))
            assert node.children is not None
            node = node.children[level]
        node.topic = None
        for parent, level in reversed(path):
            if node.topic is not None or node.children:
                break
            assert parent.children is not None
            del parent.children[level]
            if not parent.children:
                parent.children = None
            node = parent
        return True

    def get(self, topic: str) -> Any:
        """The message retained for ``topic``, or None."""
        return self._messages.get(topic)

    def __contains__(self, topic: object) -> bool:
        return topic in self._messages

    def __len__(self) -> int:
        return len(self._messages)

    def clear(self) -> None:
        self._messages.clear()
        self._root = _Level()

    def topics(self) -> Iterator[str]:
        """Topic names in the order they were first retained (a snapshot: safe to delete while iterating)."""
        return iter(list(self._messages))

    def page(self, offset: int, limit: int) -> list[tuple[str, Any]]:
        """``limit`` (topic, message) pairs from position ``offset`` in ``topics()`` order; O(offset + limit)."""
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        return list(islice(self._messages.items(), offset, offset + limit))

    def match(self, filter: str) -> list[Any]:
        """Every retained message whose topic the (real, valid) ``filter`` matches."""
        if SINGLE not in filter and MULTI not in filter:
            # No wildcard: one exact lookup, never a walk.
            msg = self._messages.get(filter, _MISSING)
            return [] if msg is _MISSING else [msg]
        topics: list[str] = []
        frontier = [self._root]
        for depth, level in enumerate(filter.split(SEPARATOR)):
            if level == MULTI:
                for node in frontier:
                    # "a/#" takes "a" itself [MQTT-4.7.1-2]; the root stands for no level at all.
                    if depth and node.topic is not None:
                        topics.append(node.topic)
                    _collect_below(node, depth == 0, topics)
                return self._lookup(topics)
            nxt: list[_Level] = []
            for node in frontier:
                children = node.children
                if children is None:
                    continue
                if level == SINGLE:
                    if depth == 0:
                        # [MQTT-4.7.2-1]: a leading "+" skips "$..." topics.
                        nxt.extend(c for name, c in children.items() if name[:1] != "$")
                    else:
                        nxt.extend(children.values())
                else:
                    child = children.get(level)
                    if child is not None:
                        nxt.append(child)
            if not nxt:
                return []
            frontier = nxt
        topics.extend(node.topic for node in frontier if node.topic is not None)
        return self._lookup(topics)

    def _lookup(self, topics: list[str]) -> list[Any]:
        messages = self._messages
        return [messages[t] for t in topics]


_MISSING = object()


def _collect_below(node: _Level, skip_dollar: bool, out: list[str]) -> None:
    """Append every topic strictly below ``node``; iterative, as topics may be thousands of levels deep."""
    children = node.children
    if children is None:
        return
    stack = [c for name, c in children.items() if not (skip_dollar and name[:1] == "$")]
    while stack:
        node = stack.pop()
        if node.topic is not None:
            out.append(node.topic)
        if node.children is not None:
            stack.extend(node.children.values())
