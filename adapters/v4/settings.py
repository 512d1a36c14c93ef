"""The live NanoMQ document: derived from the broker, changed by POSTs, applied.

``<data_dir>/nanomq.json`` keeps what was POSTed (merged), not the whole document: at start it is applied
over the document derived from the broker's own configuration, so a key nobody POSTed (say the listener
url) keeps following the command line and the TOML file, and a POSTed key whose broker side the
operator states at start (a flag, the environment, the file) gives way to it (``gateway.precedence``).

``update`` validates the whole merged document before anything changes (a bad POST changes nothing),
maps the keys that have a broker counterpart onto ``BrokerConfig`` and hands it to
``control.apply_config`` (live: allow_anonymous, msq_len -> max_mqueue_len, max_packet_size,
client_max_packet_size, property_size -> max_user_property_size, qos_duration -> retry_interval,
keepalive_backoff -> keepalive_multiplier; listeners wait for ``ctrl/restart``), writes the
``http_server`` credentials into the account store, and remembers that the bridge must be rebuilt.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import attrs

from schemas.errors import InvalidArgument, NotFound
from schemas.records import BrokerConfig, ListenerConfig

from . import codes
from . import document as docmod
from .document import DocumentError

log = logging.getLogger("emqgw.v4")

# The document's keys that the broker's configuration holds, by the configuration key they set (a prefix
# for a listener): at start, a saved POST of one gives way where the operator stated that key
# (gateway.precedence, as for the broker configuration stored over any API).
_BROKER_KEYS = {
    "url": "listeners.tcp.",
    "tls": "listeners.ssl.",
    "websocket": "listeners.ws.",
    "allow_anonymous": "mqtt.allow_anonymous",
    "msq_len": "mqtt.max_mqueue_len",
    "max_packet_size": "mqtt.max_packet_size",
    "client_max_packet_size": "mqtt.client_max_packet_size",
    "property_size": "mqtt.max_user_property_size",
    "qos_duration": "mqtt.retry_interval",
    "keepalive_backoff": "mqtt.keepalive_multiplier",
}


def _listener_addr(listeners, kind: str):
    return next(
        (
            (lst.bind, lst.port) + ((lst.path,) if kind == "ws" else ())
            for lst in listeners
            if lst.type == kind and lst.enable
        ),
        None,
    )


class NanoSettings:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.path = Path(ctx.config.data_dir) / docmod.FILE_NAME
        self.doc: dict = {}
        self.posted: dict = {}  # what the file keeps: every POSTed key, merged
        self.pending: set[str] = set()  # what waits for ctrl/restart: "listeners", "bridge"
        self._lock = asyncio.Lock()  # one update at a time: each merges into the last one's result

    async def derive(self) -> dict:
        control = self.ctx.control
        cfg = await control.get_config()
        live = await control.listeners()
        http = self.ctx.config.http
        return docmod.default_document(
            tcp=_listener_addr(live, "tcp"),
            ws=_listener_addr(live, "ws"),
            ssl=_listener_addr(live, "ssl"),
            allow_anonymous=cfg.allow_anonymous,
            msq_len=cfg.max_mqueue_len,
            max_packet_size=cfg.max_packet_size,
            client_max_packet_size=cfg.client_max_packet_size,
            max_user_property_size=cfg.max_user_property_size,
            retry_interval=cfg.retry_interval,
            keepalive_backoff=cfg.keepalive_multiplier,
            http_port=http.v4_port if http.v4_port is not None else http.port,
        )

    async def load(self) -> None:
        """At start: the document derived from the broker, with the saved POSTs applied over it."""
        self.doc = await self.derive()
        try:
            saved = docmod.load(self.path)
            if saved is None:
                return
            await self.update(self._not_stated(saved), persist=False)
        # A hand-edited file (or one the broker or the account store now refuses) must not stop the gateway.
        except (DocumentError, InvalidArgument, ValueError) as e:
            log.error("ignoring %s: %s", self.path, e)
            return
        if "listeners" in self.pending:
            await self.ctx.control.restart()
            self.pending.discard("listeners")

    def _not_stated(self, saved: dict) -> dict:
        """The saved POSTs without the keys whose broker side the operator stated at start."""
        if not isinstance(saved, dict):
            return saved  # refused by update, as any bad document
        stated = self.ctx.config.stated

        def operators(key: str) -> bool:
            target = _BROKER_KEYS.get(key)
            if target is None:
                return False
            if target.endswith("."):  # a listener: the operator's when the file gives the set, or any field of it
                return "listeners" in stated or any(k.startswith(target) for k in stated)
            return target in stated

        return {k: v for k, v in docmod.from_sections(saved).items() if not operators(k)}

    async def update(self, posted: dict, *, persist: bool = True) -> None:
        async with self._lock:
            await self._update(posted, persist)

    async def _update(self, posted: dict, persist: bool) -> None:
        if not isinstance(posted, dict):
            raise DocumentError(codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL, "data must be an object")
        posted = docmod.from_sections(posted)
        new = docmod.merge(self.doc, posted)
        docmod.validate(new)
        old = self.doc
        self._apply_credentials(new["http_server"])  # first: the one step that may still refuse
        current = await self.ctx.control.get_config()
        pending = await self.ctx.control.apply_config(self._broker_config(old, new, current))
        self.posted = docmod.merge(self.posted, posted)
        if persist:
            docmod.save(self.path, self.posted)
        self.doc = new
        if pending:
            self.pending.add("listeners")
        if new["bridge"] != old["bridge"]:
            self.pending.add("bridge")

    def _broker_config(self, old: dict, new: dict, cfg: BrokerConfig) -> BrokerConfig:
        listeners = [attrs.evolve(lc) for lc in cfg.listeners]  # the live list must not be touched
        if new["url"] != old["url"]:
            host, port, _ = docmod.parse_url(new["url"], ("nmq-tcp", "mqtt-tcp", "tcp"), "url")
            self._set_listener(listeners, "tcp", bind=host, port=port, enable=True)
        if new["tls"] != old["tls"]:
            tls = new["tls"]
            host, port, _ = docmod.parse_url(tls["url"], ("tls+nmq-tcp", "nmq-tls", "tls+mqtt-tcp"), "tls.url")
            self._set_listener(
                listeners,
                "ssl",
                bind=host,
                port=port,
                enable=tls["enable"],
                certfile=tls["cert"],
                keyfile=tls["key"],
                cacertfile=tls["cacert"],
            )
        if new["websocket"] != old["websocket"]:
            ws = new["websocket"]
            host, port, path = docmod.parse_url(ws["url"], ("nmq-ws", "ws"), "websocket.url")
            self._set_listener(listeners, "ws", bind=host, port=port, path=path or "/mqtt", enable=ws["enable"])
        limit = docmod.from_document
        return attrs.evolve(
            cfg,
            listeners=listeners,
            allow_anonymous=new["allow_anonymous"],
            max_mqueue_len=new["msq_len"],
            max_packet_size=new["max_packet_size"] * 1024,
            client_max_packet_size=limit("client_max_packet_size", new["client_max_packet_size"]),
            max_user_property_size=limit("property_size", new["property_size"]),
            retry_interval=limit("qos_duration", new["qos_duration"]),
            keepalive_multiplier=float(new["keepalive_backoff"]),
        )

    @staticmethod
    def _set_listener(listeners: list[ListenerConfig], kind: str, **values) -> None:
        for i, lc in enumerate(listeners):
            if lc.type == kind:
                listeners[i] = attrs.evolve(lc, **values)
                return
        if values.get("enable"):
            listeners.append(ListenerConfig(type=kind, name="default", **values))

    def _apply_credentials(self, http: dict) -> None:
        accounts = self.ctx.accounts
        user, password = http["username"], http["password"]
        if accounts is None or password is None:
            return
        if accounts.check_password(user, password):
            return
        try:
            accounts.set_password(user, password, enforce_policy=False)
        except NotFound:
            accounts.add_user(user, password, enforce_policy=False)
