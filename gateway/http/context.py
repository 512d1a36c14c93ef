"""What every dialect is handed: the broker-control interface, the accounts, the configuration."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from gateway.config import GatewayConfig
from schemas.control import BrokerControl

from .usage import USAGE_DB, UsageLog


@attrs.define(slots=True, kw_only=True, eq=False)
class GatewayContext:
    config: GatewayConfig
    control: BrokerControl
    accounts: Any = None  # gateway.accounts.AccountStore
    # Returns once what the broker recorded so far is on disk (gateway.state_store.StateStore.committed;
    # raises schemas.errors.Unavailable if it cannot be). None: the broker's state is kept nowhere.
    committed: Callable[[], Awaitable[None]] | None = None
    started_at: float = attrs.field(factory=time.time)
    # (dialect, method, route template, status) -> count; feeds the Prometheus endpoint.
    requests: Counter = attrs.field(factory=Counter)
    # Who calls what and when, persisted in <data_dir>/usage.db (gateway.http.usage); nothing touches disk here.
    usage: UsageLog = attrs.field(
        default=attrs.Factory(lambda self: UsageLog(f"{self.config.data_dir}/{USAGE_DB}"), takes_self=True)
    )

    @property
    def node_name(self) -> str:
        return self.control.node_name

    def count_request(self, dialect: str, method: str, route: str, status: int, principal: Any) -> None:
        self.requests[(dialect, method, route, status)] += 1
        self.usage.record(dialect, method, route, status, principal)
