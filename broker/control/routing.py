"""Publishing, the route table and NanoMQ's topic tree."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from schemas.errors import (
    ControlError,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from schemas.records import (
    Page,
    PublishRequest,
    PublishResult,
    Route,
    TopicTreeNode,
)
from schemas.topic_tree import topic_tree
from schemas.topics import parse_share, shared_filter, topic_filter_problem, topic_name_problem

from ..message import Message
from .base import ControlBase


class RoutingControl(ControlBase):
    """Publishing, the route table and NanoMQ's topic tree."""

    async def publish(self, request: PublishRequest) -> PublishResult:
        # The same limit as a PUBLISH over MQTT: a topic the broker would not take from a client.
        if topic_name_problem(request.topic, self.broker.config.max_topic_length) is not None:
            raise InvalidArgument(f"invalid topic name {request.topic!r}", field="topic")
        if request.qos not in (0, 1, 2):
            raise InvalidArgument("qos must be 0, 1 or 2", field="qos")
        if not self.broker.running:
            raise Unavailable("broker is stopped", kind="node")
        msg = Message.create(
            request.topic,
            request.payload,
            request.qos,
            request.retain,
            dict(request.properties),
            request.clientid,
            request.username,
        )
        matched = self.broker.route(msg, request.clientid)
        return PublishResult(id=msg.msgid_hex, matched=matched)

    async def publish_bulk(self, requests: list[PublishRequest]) -> list[PublishResult | ControlError]:
        out: list[PublishResult | ControlError] = []
        for r in requests:
            try:
                out.append(await self.publish(r))
            except ControlError as e:
                out.append(e)
        return out

    def _route_keys(self) -> Iterator[str]:
        b = self.broker
        yield from b.trie.filters()
        for f in b.shared.filters():
            for group in b.shared.get(f) or ():
                yield shared_filter(group, f)

    async def list_routes(self, *, topic: str | None, offset: int, limit: int, node: str | None = None) -> Page[Route]:
        self._only_here(node)
        node = self.node_name
        if topic is not None:
            if topic_filter_problem(topic) is not None:
                raise InvalidArgument("topic_filter_invalid", field="topic")
            rows = [Route(topic=topic, node=node)] if topic in set(self._route_keys()) else []
            return Page(items=rows[offset : offset + limit], total=len(rows), hasnext=False)
        total = self._route_count()
        page = list(islice(self._route_keys(), offset, offset + limit))
        return Page(items=[Route(topic=t, node=node) for t in page], total=total, hasnext=offset + len(page) < total)

    def _route_count(self) -> int:
        b = self.broker
        return len(b.trie) + sum(len(b.shared.get(f) or ()) for f in b.shared.filters())

    async def get_routes(self, topic: str) -> list[Route]:
        b = self.broker
        group, real = parse_share(topic)
        if group is None:
            found = bool(b.trie.get(topic))
        else:
            groups = b.shared.get(real)
            found = bool(groups and group in groups)
        if not found:
            raise NotFound("Topic not found", kind="topic")
        return [Route(topic=topic, node=self.node_name)]

    async def topic_tree(self) -> list[list[TopicTreeNode]]:
        b = self.broker
        # A shared subscription sits under its `$share/<group>/` levels, as NanoMQ keeps it.
        subscribed: list[tuple[str, list[str]]] = [(f, sorted(b.trie.get(f) or {})) for f in b.trie.filters()]
        for f in b.shared.filters():
            for group, members in (b.shared.get(f) or {}).items():
                subscribed.append((shared_filter(group, f), sorted(s.clientid for s, _opts in members.members)))
        return topic_tree(subscribed)
