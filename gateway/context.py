"""What every dialect is handed: the broker-control interface, the accounts, the configuration."""
from __future__ import annotations

import time
from collections import Counter
from typing import Any

import attrs

from schemas.control import BrokerControl

from .config import GatewayConfig


@attrs.define(slots=True, kw_only=True, eq=False)
class GatewayContext:
    config: GatewayConfig
    control: BrokerControl
    accounts: Any = None  # gateway.accounts.AccountStore
    started_at: float = attrs.field(factory=time.time)
    # (dialect, method, route template, status) -> count; feeds the Prometheus endpoint.
    requests: Counter = attrs.field(factory=Counter)

    @property
    def node_name(self) -> str:
        return self.control.node_name

    def count_request(self, dialect: str, method: str, route: str, status: int, principal: Any) -> None:
        self.requests[(dialect, method, route, status)] += 1
