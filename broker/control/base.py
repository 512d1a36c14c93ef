"""The state every part of the broker controller shares, and its lookups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import attrs

from schemas.control import FeatureGetter, FeatureSetter
from schemas.errors import NotFound
from schemas.owned_features import OwnedFeatures
from schemas.records import BrokerConfig, ClientInfo, ClientQuery, SubscriptionQuery

from ..core import Broker
from ..server import MQTTServer
from ..session import Session
from .records import ClientRecords
from .sampler import Sampler

# The listing queries that name a node.
Q = TypeVar("Q", ClientQuery, SubscriptionQuery)


class ControlBase:
    """What every part of the controller shares: the broker, its server, the record memo."""

    def __init__(self, broker: Broker, server: MQTTServer):
        self.broker = broker
        self.server = server
        self.records = ClientRecords(broker)
        broker.observe(self._forget_ended_sessions)
        # Features the gateway owns (e.g. MQTT auth against its account store).
        self.owned_features = OwnedFeatures()
        self.pending_config: BrokerConfig | None = None
        # The dashboard's history: the broker keeps none of its own, so its controller samples it.
        self.sampler = Sampler(self)

    def register_feature(self, name: str, description: str, get: FeatureGetter, set_: FeatureSetter) -> None:
        self.owned_features.register(name, description, get, set_)

    def _forget_ended_sessions(self, event: str, **data) -> None:
        if event == "session.dropped":
            self.records.forget(data["session"].clientid)

    @property
    def node_name(self) -> str:
        return self.broker.config.node_name

    def _only_here(self, node: str | None) -> None:
        """A ``node`` argument names this broker or the whole cluster (None), which is this broker."""
        if node is not None and node != self.node_name:
            raise NotFound(f"Node not found: {node}", kind="node")

    def _here(self, query: Q) -> Q:
        """A listing's query without its node, once the node is found to be this broker (every client of
        this one-node cluster is on it)."""
        if query.node is None:
            return query
        self._only_here(query.node)
        return attrs.evolve(query, node=None)

    def _session(self, clientid: str) -> Session:
        s = self.broker.sessions.get(clientid)
        if s is None:
            raise NotFound(f"client {clientid!r} not found", kind="client")
        return s

    def _records(self, clientids: Iterable[str]) -> list[ClientInfo]:
        return self.records.many(map(self.broker.sessions.__getitem__, clientids))
