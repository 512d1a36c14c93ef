"""The whole process assembled: broker, MQTT listeners, account store, HTTP listeners.

`emqgw serve` and the end-to-end tests both start the gateway through ``GatewayRuntime`` so that
there is one way the parts are put together.
"""
from __future__ import annotations

import logging
from pathlib import Path

from broker.control import BrokerController
from broker.core import Broker
from broker.server import MQTTServer

from .accounts import DB_NAME, AccountStore
from .config import GatewayConfig
from .context import GatewayContext
from .features import register_gateway_features
from .http_server import HttpServer, create_dialects

log = logging.getLogger("emqgw")

class GatewayRuntime:
    def __init__(self, config: GatewayConfig):
        Path(config.data_dir).mkdir(parents=True, exist_ok=True)
        self.config = config
        self.broker = Broker(config.broker)
        self.mqtt = MQTTServer(self.broker)
        self.control = BrokerController(self.broker, self.mqtt)
        self.accounts = AccountStore(str(Path(config.data_dir) / DB_NAME))
        self.ctx = GatewayContext(config=config, control=self.control, accounts=self.accounts)
        register_gateway_features(self.control, self.broker, self.accounts, config)
        self.dialects = create_dialects(self.ctx)
        self.http = HttpServer(self.ctx, self.dialects)

    async def start(self) -> None:
        await self.mqtt.start()
        try:
            await self.http.start()
        except BaseException:
            await self.mqtt.close()
            raise
        if self.accounts.default_password_in_use():
            log.warning("the dashboard user 'admin' still has the default password; change it with "
                        "`emqgw users passwd admin`")

    def listening_lines(self) -> list[str]:
        lines = []
        for host, port, prefixes in self.http.bound:
            lines.append(f"listening: http {host}:{port} ({' '.join(prefixes)})")
        for lst in self.mqtt.listeners.values():
            if lst.running:
                c = lst.config
                suffix = c.path if c.type in ("ws", "wss") else ""
                lines.append(f"listening: mqtt {c.type} {c.bind}:{lst.port}{suffix}")
        return lines

    async def stop(self) -> None:
        await self.http.stop()
        # Clients are told the server is shutting down; their wills go out first.
        await self.mqtt.close()
        self.accounts.close()
