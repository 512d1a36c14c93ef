"""The whole process assembled: the broker behind the dialects (the embedded one with its MQTT listeners,
or an EMQX 5 cluster upstream), the account store, the HTTP listeners.

`emqgw serve` and the end-to-end tests both start the gateway through ``GatewayRuntime`` so that
there is one way the parts are put together.
"""

from __future__ import annotations

import logging
from pathlib import Path

import adapters.v2
import adapters.v4
import adapters.v5
from adapters.upstream.control import UpstreamControl
from broker.control import BrokerController
from broker.core import Broker
from broker.persistence import SYNC
from broker.server import MQTTServer
from schemas.control import BrokerControl

from .accounts import DB_NAME, AccountStore
from .config import GatewayConfig
from .features import register_gateway_features
from .http.context import GatewayContext
from .http.guard import ListenerGuard
from .http.server import HttpServer
from .precedence import operator_wins
from .state_store import StateStore
from .upstream_credentials import credentials, token_key

log = logging.getLogger("emqgw")

# The dialects, by the name the HTTP server plans its listeners with (v2 and v4 have legacy ports).
ADAPTERS = {"v2": adapters.v2, "v4": adapters.v4, "v5": adapters.v5}


def open_accounts(config: GatewayConfig, db_path: str) -> AccountStore:
    """The account store: the data directory's, or in front of an upstream the one every gateway behind
    the load balancer shares (``accounts_db``), its login tokens signed with their common key."""
    up = config.upstream
    # Users and API keys are committed before their answer; in sync mode, synced to disk as well.
    synced = config.broker.durability == SYNC
    if up is None:
        return AccountStore(db_path, synced=synced)
    return AccountStore(up.accounts_db or db_path, token_key=token_key(up), synced=synced)


class GatewayRuntime:
    def __init__(self, config: GatewayConfig):
        Path(config.data_dir).mkdir(parents=True, exist_ok=True)
        self.config = config
        db_path = str(Path(config.data_dir) / DB_NAME)
        up = config.upstream
        self.accounts = open_accounts(config, db_path)
        if config.http.api_key_bootstrap_file:
            self.accounts.bootstrap_api_keys(config.http.api_key_bootstrap_file)
        self.control: BrokerControl
        self.embedded: EmbeddedBroker | None = None
        if up is None:
            self.embedded = EmbeddedBroker(config, db_path)
            self.control = self.embedded.control
        else:
            key, secret = credentials(up)
            self.upstream = UpstreamControl(up, api_key=key, api_secret=secret, fallback_node=config.broker.node_name)
            self.control = self.upstream
        self.ctx = GatewayContext(
            config=config,
            control=self.control,
            accounts=self.accounts,
            committed=self.embedded and self.embedded.state.committed,
        )
        self.dialects = {name: pkg.create_dialect(self.ctx) for name, pkg in ADAPTERS.items()}
        self.http = HttpServer(self.ctx, self.dialects)

    async def start(self) -> None:
        # Before any MQTT listener opens: the chain a client meets is already the configured one.
        await register_gateway_features(
            self.control, self.embedded and self.embedded.broker, self.accounts, self.config
        )
        backend = self.embedded or self.upstream
        await backend.open()
        try:
            await self.http.start()
        except BaseException:
            await backend.close()
            raise
        if self.accounts.default_password_in_use():
            log.warning(
                "the dashboard user 'admin' still has the default password; change it with `emqgw users passwd admin`"
            )

    def listening_lines(self) -> list[str]:
        lines = []
        for host, port, prefixes in self.http.bound:
            lines.append(f"listening: http {host}:{port} ({' '.join(prefixes)})")
        for lst in self.embedded.mqtt.listeners.values() if self.embedded else ():
            if lst.running:
                c = lst.config
                suffix = c.path if c.type in ("ws", "wss") else ""
                lines.append(f"listening: mqtt {c.type} {c.bind}:{lst.port}{suffix}")
        return lines

    async def stop(self) -> None:
        await self.http.stop()
        await (self.embedded or self.upstream).close()
        self.accounts.close()


class EmbeddedBroker:
    """The bundled broker with its MQTT listeners, its state on disk and its controller."""

    def __init__(self, config: GatewayConfig, db_path: str):
        # Broker state shares the accounts' database file; configuration changed over an API outlives a
        # restart where the operator states nothing else, and everything kept is back in the broker
        # before any listener opens.
        self.state = StateStore(db_path, config.broker.durability, config.broker.durability_interval_ms)
        stored = self.state.stored_config()
        if stored is not None:
            config.broker, overridden = operator_wins(stored, config.broker, config.stated)
            if overridden:
                log.warning(
                    "stored configuration overridden by the command line, environment or config file: %s",
                    ", ".join(overridden),
                )
        self.broker = Broker(config.broker)
        self.state.restore(self.broker)
        http = config.http
        # MQTT over WebSocket is HTTP until the upgrade: its listeners meet the same deadline as the APIs',
        # and take at most the connections the MQTT listener itself would.
        self.mqtt = MQTTServer(
            self.broker,
            lambda lc: ListenerGuard(request_timeout=http.request_timeout, max_connections=lc.max_connections),
        )
        self.control = BrokerController(self.broker, self.mqtt)

    async def open(self) -> None:
        self.state.start()
        try:
            await self.mqtt.start()
            await self.control.sampler.start()
        except BaseException:
            await self.mqtt.close()
            await self.state.close()
            raise

    async def close(self) -> None:
        await self.control.sampler.stop()
        # Clients are told the server is shutting down; their wills go out first.
        await self.mqtt.close()
        # Last: the sessions the shutdown just took offline are written with their queues.
        await self.state.close()
