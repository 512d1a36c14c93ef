"""Listeners, features, bans, alarms, configuration and the broker's lifecycle."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import attrs

from schemas.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from schemas.records import (
    LOG_LEVELS,
    Alarm,
    BannedEntry,
    BrokerConfig,
    Feature,
    ListenerConfig,
    ListenerInfo,
    Page,
)
from schemas.rules import check_banned
from schemas.version import VERSION

from ..core import FEATURES, RESTART_FIELDS, Broker
from ..server import MQTTServer
from .base import ControlBase
from .config_rules import check_config

Listeners = list[ListenerConfig]


def apply_log_level(level: str | None) -> None:
    """The process's log level (EMQX's log.console.level); None leaves the command line's."""
    if level is not None:
        logging.getLogger().setLevel(LOG_LEVELS[level])


class AdminControl(ControlBase):
    """Listeners, features, bans, alarms, configuration and the broker's lifecycle."""

    def __init__(self, broker: Broker, server: MQTTServer):
        super().__init__(broker, server)
        apply_log_level(broker.config.log_level)  # a level set over an API outlives a restart

    def _listener_info(self, lst) -> ListenerInfo:
        c = lst.config
        return ListenerInfo(
            id=c.id,
            type=c.type,
            name=c.name,
            bind=c.bind,
            port=lst.port,
            enable=c.enable,
            running=lst.running,
            max_connections=c.max_connections,
            current_connections=lst.current,
            shutdown_count=lst.shutdown_count,
            path=c.path if c.type in ("ws", "wss") else None,
        )

    async def listeners(self, node: str | None = None) -> list[ListenerInfo]:
        self._only_here(node)
        return [self._listener_info(lst) for lst in self.server.listeners.values()]

    async def local_mqtt_address(self) -> tuple[str, int]:
        tcp = next((lst for lst in await self.listeners() if lst.type == "tcp" and lst.running), None)
        if tcp is None:
            raise Unavailable("no running TCP listener", kind="listener")
        return ("127.0.0.1" if tcp.bind in ("0.0.0.0", "::", "") else tcp.bind), tcp.port

    async def listener_action(self, listener_id: str, action: str) -> ListenerInfo:
        lst = self.server.listeners.get(listener_id)
        if lst is None:
            raise NotFound("Listener id not found", kind="listener")
        if action not in ("start", "stop", "restart"):
            raise InvalidArgument(f"unknown action {action!r}", field="action")
        if action in ("stop", "restart"):
            await lst.stop()
        if action in ("start", "restart"):
            await lst.start()
        return self._listener_info(lst)

    async def add_listener(self, config: ListenerConfig) -> ListenerInfo:
        if config.id in self.server.listeners:
            raise Conflict(f"listener {config.id} already exists", kind="listener")
        self._check_listeners(lambda old: [*old, config])
        await self._serve(config)
        self._record_listeners(lambda old: [*old, config])
        return self._listener_info(self.server.listeners[config.id])

    async def update_listener(self, config: ListenerConfig) -> ListenerInfo:
        old = self._listener_config(config.id)

        def replace(listeners: Listeners) -> Listeners:
            return [config if lc.id == config.id else lc for lc in listeners]

        self._check_listeners(replace)
        await self.server.remove_listener(config.id)
        try:
            await self._serve(config)
        except InvalidArgument:
            await self.server.add_listener(old)  # the port it had is free again: it serves on as before
            raise
        self._record_listeners(replace)
        return self._listener_info(self.server.listeners[config.id])

    async def remove_listener(self, listener_id: str) -> None:
        self._listener_config(listener_id)
        await self.server.remove_listener(listener_id)
        self._record_listeners(lambda old: [lc for lc in old if lc.id != listener_id])

    def _listener_config(self, listener_id: str) -> ListenerConfig:
        lst = self.server.listeners.get(listener_id)
        if lst is None:
            raise NotFound("Listener id not found", kind="listener")
        return lst.config

    def _check_listeners(self, change: Callable[[Listeners], Listeners]) -> None:
        check_config(attrs.evolve(self.broker.config, listeners=change(self.broker.config.listeners)))

    async def _serve(self, config: ListenerConfig) -> None:
        try:
            await self.server.add_listener(config)
        except OSError as e:
            raise InvalidArgument(
                f"cannot listen on {config.bind}:{config.port}: {e.strerror or e}", kind="listener", field="bind"
            ) from None

    def _record_listeners(self, change: Callable[[Listeners], Listeners]) -> None:
        """Keep a listener change the server has made: in the configuration in force, and in the one
        waiting for a restart, which is recorded last so that it is what a restart comes back with."""
        cfg = self.broker.config
        self.broker.apply_config(attrs.evolve(cfg, listeners=change(cfg.listeners)), in_effect=("listeners",))
        pending = self.pending_config
        if pending is not None:
            self.pending_config = attrs.evolve(pending, listeners=change(pending.listeners))
            self.broker.apply_config(self.pending_config)

    async def features(self) -> list[Feature]:
        cfg = self.broker.config
        own = [Feature(name=n, description=d, enabled=getattr(cfg, n), version=VERSION) for n, d in FEATURES.items()]
        return own + await self.owned_features.listed(VERSION)

    async def set_feature(self, name: str, enabled: bool) -> Feature:
        if self.broker.set_feature(name, enabled):
            return Feature(name=name, description=FEATURES[name], enabled=bool(enabled), version=VERSION)
        owned = await self.owned_features.switch(name, enabled, VERSION)
        if owned is not None:
            return owned
        raise NotFound(f"feature {name!r} not found", kind="feature")

    async def list_banned(self, *, offset: int, limit: int) -> Page[BannedEntry]:
        rows = self.broker.banned.entries()
        return Page(items=rows[offset : offset + limit], total=len(rows), hasnext=offset + limit < len(rows))

    async def add_banned(self, entry: BannedEntry) -> BannedEntry:
        check_banned(entry)
        if (entry.as_, entry.who) in self.broker.banned:
            raise Conflict(f"{entry.as_}: {entry.who} already exists", kind="banned")
        if not entry.at:
            entry = attrs.evolve(entry, at=time.time())
        self.broker.add_ban(entry)
        return entry

    async def delete_banned(self, as_: str, who: str) -> None:
        if not self.broker.delete_ban(as_, who):
            raise NotFound(f"{as_}: {who} not found", kind="banned")

    async def clear_banned(self) -> None:
        self.broker.clear_bans()

    async def list_alarms(self, *, activated: bool | None = None) -> list[Alarm]:
        return self.broker.alarms.listing(activated)

    async def deactivate_alarm(self, name: str) -> Alarm:
        done = self.broker.clear_alarm(name)
        if done is None:
            raise NotFound(f"alarm {name!r} is not activated", kind="alarm")
        return done

    async def clear_alarm_history(self) -> None:
        self.broker.clear_alarm_history()

    async def get_config(self) -> BrokerConfig:
        # A listener change waiting for a restart is part of the configuration: a door that changes
        # something else from this keeps it waiting instead of undoing it.
        pending = self.pending_config
        restart_only = {f: getattr(pending, f) for f in RESTART_FIELDS} if pending is not None else {}
        return attrs.evolve(self.broker.config, **restart_only)

    async def apply_config(self, config: BrokerConfig) -> list[str]:
        check_config(config)
        pending = self.broker.apply_config(config)
        self.pending_config = config if pending else None
        apply_log_level(config.log_level)
        return pending

    async def stop(self) -> None:
        await self.server.stop_listeners()

    async def start(self) -> None:
        pending = self.pending_config
        if pending is not None:
            self.broker.apply_config(pending, restarting=True)
            self.server.reconfigure()
            self.pending_config = None
        await self.server.start()

    async def restart(self) -> None:
        await self.stop()
        await self.start()
