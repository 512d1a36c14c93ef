"""Topic names, topic filters and the trie that routes one to the other.

The syntax of names, filters and shared forms is ``schemas.topics``' (every door checks with it);
here it becomes the protocol's ``MQTTError`` with its reason code. Then matching and
``SubscriptionTrie``, the store the core asks "who wants this PUBLISH?". Nothing here knows about
sessions or clients: the trie maps a filter to an opaque ``{key: value}`` dict (the core uses client
ids or share groups as keys and its subscription records as values).

Shared subscriptions: the trie and ``topic_matches`` work on *real* filters. A ``$share/g/a/b`` request
is split by ``parse_share`` first; passed in unsplit it is just an ordinary filter whose first level is
``$share`` and matches only the topic that spells it out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from schemas.topics import MAX_TOPIC_BYTES, MULTI, SEPARATOR, SINGLE, topic_filter_problem, topic_name_problem

from .constants import ReasonCode
from .errors import MQTTError


def validate_topic_name(topic: str, max_bytes: int = MAX_TOPIC_BYTES) -> None:
    """Reject what may not appear as the topic of a PUBLISH (or a Will), or is longer than ``max_bytes``."""
    problem = topic_name_problem(topic, max_bytes)
    if problem is not None:
        raise MQTTError(ReasonCode.TOPIC_NAME_INVALID, problem)


def validate_topic_filter(filter: str, max_bytes: int = MAX_TOPIC_BYTES) -> None:
    """Reject what may not appear as a filter in SUBSCRIBE / UNSUBSCRIBE, or is longer than ``max_bytes``
    (the share prefix included). Shared forms are accepted."""
    problem = topic_filter_problem(filter, max_bytes)
    if problem is not None:
        raise MQTTError(ReasonCode.TOPIC_FILTER_INVALID, problem)


def topic_matches(filter: str, topic: str) -> bool:
    """Does the (real, valid) topic filter match the topic name?"""
    # [MQTT-4.7.2-1]: "$..." topics are the server's; a leading wildcard never reaches them.
    if topic[:1] == "$" and filter[:1] in (SINGLE, MULTI):
        return False
    if SINGLE not in filter and MULTI not in filter:
        return filter == topic
    f_levels = filter.split(SEPARATOR)
    t_levels = topic.split(SEPARATOR)
    n = len(t_levels)
    for i, f in enumerate(f_levels):
        if f == MULTI:
            # "#" also matches the parent level: "a/#" matches "a" [MQTT-4.7.1-2].
            return True
        if i >= n or (f != SINGLE and f != t_levels[i]):
            return False
    return len(f_levels) == n


def filter_covers(outer: str, inner: str) -> bool:
    """Is every topic the (real) filter ``inner`` matches also matched by ``outer``?

    Used by the ACL for SUBSCRIBE: a rule on ``a/#`` covers a request for ``a/+/c``, but a rule on
    ``a/+`` does not cover a request for ``a/#`` (it would hand over ``a/b/c``). A wildcard level in the
    request is only covered by an equal or wider wildcard in ``outer``. The answer is conservative in one
    corner: ``+/#`` is not taken to cover ``#`` although every topic name has at least one level.
    """
    o_levels = outer.split(SEPARATOR)
    i_levels = inner.split(SEPARATOR)
    n = len(i_levels)
    for i, o in enumerate(o_levels):
        if o == MULTI:
            # [MQTT-4.7.2-1]: a leading "#" does not reach a request for "$..." topics.
            return not (i == 0 and i_levels[0][:1] == "$")
        if i >= n:
            return False
        level = i_levels[i]
        if level == MULTI:
            return False
        if o == SINGLE:
            if i == 0 and level[:1] == "$":
                return False
        elif o != level:
            return False
    return len(o_levels) == n


class _Node:
    """One level of the trie. ``children`` is None until needed: most nodes are leaves."""

    __slots__ = ("children", "subs", "filter")

    def __init__(self) -> None:
        self.children: dict[str, _Node] | None = None
        # The key -> value dict of the filter ending here; None (never {}) when there is none.
        self.subs: dict[Any, Any] | None = None
        # The filter string ending here (the caller's own str object), for match_filters().
        self.filter: str | None = None


_WILDCARD_LEVELS = frozenset((SINGLE, MULTI))
# Topics whose matches a trie remembers. Publishers mostly repeat their topics, so one walk serves many
# PUBLISHes; past this many distinct topics the memory starts again from nothing (a few hundred KiB).
MATCH_MEMORY = 4096


class SubscriptionTrie:
    """Filter -> ``{key: value}`` store, walked level by level to route a topic.

    Filters are taken as given (validate and ``parse_share`` them first). The dicts returned by ``get``
    and ``match`` are the live ones, handed out without copying because ``match`` runs once per PUBLISH:
    read them, change them only through ``add`` / ``remove``, and copy one before iterating it while
    calling ``add`` / ``remove``. A non-empty list ``match`` returns is remembered for the next PUBLISH
    to the same topic (it holds those live dicts, so a key added to a filter already there shows in it;
    a filter added or removed forgets every list): never change it.
    """

    __slots__ = ("_root", "_index", "_pairs", "_matches")

    def __init__(self) -> None:
        self._root = _Node()
        # filter -> node holding keys: O(1) get(), len() and filters() without walking the trie.
        self._index: dict[str, _Node] = {}
        self._pairs = 0
        self._matches: dict[str, list[dict[Any, Any]]] = {}  # topic -> match(topic), MATCH_MEMORY at most

    # -- writing ---------------------------------------------------------------------------------------

    def add(self, filter: str, key: Any, value: Any) -> bool:
        """Store ``value`` under ``key`` at ``filter``; True if the key was new there (else replaced)."""
        node = self._index.get(filter)
        if node is None:
            node = self._root
            for level in filter.split(SEPARATOR):
                children = node.children
                if children is None:
                    children = node.children = {}
                child = children.get(level)
                if child is None:
                    child = children[level] = _Node()
                node = child
            node.subs = {}
            node.filter = filter
            self._index[filter] = node
            self._matches.clear()
        subs = node.subs
        assert subs is not None
        new = key not in subs
        subs[key] = value
        if new:
            self._pairs += 1
        return new

    def remove(self, filter: str, key: Any) -> bool:
        """Drop ``key`` at ``filter``; True if it was there. Emptied nodes are pruned."""
        node = self._index.get(filter)
        if node is None or node.subs is None or key not in node.subs:
            return False
        del node.subs[key]
        self._pairs -= 1
        if not node.subs:
            node.subs = None
            node.filter = None
            del self._index[filter]
            self._matches.clear()
            self._prune(filter)
        return True

    def _prune(self, filter: str) -> None:
        # Walk down once recording the path, then cut the deepest run of nodes that hold nothing, so
        # memory follows the live subscriptions and not the history of churn.
        path: list[tuple[_Node, str]] = []
        node = self._root
        for level in filter.split(SEPARATOR):
            path.append((node, level))
            assert node.children is not None
            node = node.children[level]
        for parent, level in reversed(path):
            if node.subs is not None or node.children:
                return
            assert parent.children is not None
            del parent.children[level]
            if not parent.children:
                parent.children = None
            node = parent

    def clear(self) -> None:
        self._root = _Node()
        self._index.clear()
        self._matches.clear()
        self._pairs = 0

    # -- reading ---------------------------------------------------------------------------------------

    def get(self, filter: str) -> dict[Any, Any] | None:
        """The key -> value dict stored at exactly ``filter`` (live, read-only), or None."""
        node = self._index.get(filter)
        return None if node is None else node.subs

    def __contains__(self, filter: object) -> bool:
        return filter in self._index

    def __len__(self) -> int:
        """Number of filters holding at least one key."""
        return len(self._index)

    def count(self) -> int:
        """Number of (filter, key) pairs."""
        return self._pairs

    def filters(self) -> Iterator[str]:
        """Every filter holding at least one key, in the order they were first added."""
        return iter(list(self._index))

    def match(self, topic: str) -> list[dict[Any, Any]]:
        """The key -> value dicts of every filter matching ``topic`` (a valid topic name), each once."""
        matches = self._matches
        found = matches.get(topic)
        if found is None:
            found = self._walk(topic, False)
            # A topic nobody subscribes to is not remembered: one-off topics (a client's presence
            # event) would fill the memory with names for nothing.
            if found:
                if len(matches) >= MATCH_MEMORY:
                    matches.clear()
                matches[topic] = found
        return found

    def match_filters(self, topic: str) -> list[str]:
        """The filters (not their dicts) that match ``topic``."""
        return self._walk(topic, True)

    def _walk(self, topic: str, want_filters: bool) -> list[Any]:
        # Breadth-first over the topic's levels with two reused frontier lists: no recursion, no
        # generator frames, one split. A frontier node stands for a filter prefix that matches the
        # topic's levels so far; from it only three children can continue: the literal level, "+" and
        # "#" (which ends the filter and matches everything below, so it is collected at once).
        out: list[Any] = []
        children = self._root.children
        if children is None:
            return out
        levels = iter(topic.split(SEPARATOR))
        first = next(levels)
        frontier: list[_Node] = []
        spare: list[_Node] = []

        # Level 0 apart: [MQTT-4.7.2-1] keeps "+" and "#" filters away from "$..." topics.
        if first[:1] != "$":
            node = children.get(MULTI)
            if node is not None and node.subs is not None:
                out.append(node.filter if want_filters else node.subs)
            node = children.get(SINGLE)
            if node is not None:
                frontier.append(node)
        if first not in _WILDCARD_LEVELS:
            # A wildcard as a topic level is invalid; skipping its literal lookup keeps "each once" true.
            node = children.get(first)
            if node is not None:
                frontier.append(node)

        for level in levels:
            if not frontier:
                return out
            literal = level not in _WILDCARD_LEVELS
            for node in frontier:
                children = node.children
                if children is None:
                    continue
                child = children.get(MULTI)
                if child is not None and child.subs is not None:
                    out.append(child.filter if want_filters else child.subs)
                child = children.get(SINGLE)
                if child is not None:
                    spare.append(child)
                if literal:
                    child = children.get(level)
                    if child is not None:
                        spare.append(child)
            frontier, spare = spare, frontier
            spare.clear()

        for node in frontier:
            if node.subs is not None:
                out.append(node.filter if want_filters else node.subs)
            # "a/#" matches "a" too [MQTT-4.7.1-2].
            children = node.children
            if children is not None:
                child = children.get(MULTI)
                if child is not None and child.subs is not None:
                    out.append(child.filter if want_filters else child.subs)
        return out
