"""The live NanoMQ document: NanoMQ's own keys kept here, the broker's read from the broker.

The keys with a broker counterpart (``document.BROKER_KEYS``: msq_len, max_packet_size, url ...) are
derived from the broker's configuration on every read, so what EMQ 2.x or EMQX 5 changed is what NanoMQ
shows; they are never kept here (the broker's configuration is persisted by the state store, and a
copy here would bring an old value back at the next start). ``<data_dir>/nanomq.json`` keeps what was
POSTed of the rest (threads, http_server, bridge ...): at start it is applied over NanoMQ's defaults.

``update`` validates the whole merged document before anything changes (a bad POST changes nothing),
maps the keys that have a broker counterpart onto ``BrokerConfig`` and hands it to
``control.apply_config`` (live: allow_anonymous, msq_len -> max_mqueue_len, max_packet_size,
client_max_packet_size, property_size -> max_user_property_size, qos_duration -> retry_interval,
keepalive_backoff -> keepalive_multiplier; listeners wait for ``ctrl/restart``, and show meanwhile as
they will be), writes the ``http_server`` credentials into the account store, and remembers that the
bridge must be rebuilt.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import attrs

from adapters.common import units
from schemas.errors import InvalidArgument, NotFound, Unavailable
from schemas.records import BrokerConfig, ListenerConfig, ListenerInfo

from . import codes
from . import document as docmod
from .document import DocumentError

log = logging.getLogger("emqgw.v4")


def _addresses(live: list[ListenerInfo], configured: list[ListenerConfig], kind: str):
    """(host, port[, path | TLS files]) of the first enabled listener of ``kind``, None when there is
    none. A listener configured on port 0 shows the port it was given."""
    lc = next((c for c in configured if c.type == kind and c.enable), None)
    if lc is None:
        return None
    running = next((lst for lst in live if lst.id == lc.id and lst.running), None)
    port = lc.port or (running.port if running is not None else 0)
    if kind == "ws":
        return lc.bind, port, lc.path
    if kind == "ssl":
        return lc.bind, port, lc.keyfile, lc.certfile, lc.cacertfile
    return lc.bind, port


class NanoSettings:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.path = Path(ctx.config.data_dir) / docmod.FILE_NAME
        self.own: dict = {}  # NanoMQ's keys without a broker counterpart: defaults, then what was POSTed
        self.loaded = False  # whether ``own`` holds the defaults and the saved POSTs yet
        self.posted: dict = {}  # what the file keeps: every POSTed key of ``own``, merged
        self.pending: set[str] = set()  # what waits for ctrl/restart: "bridge"
        self._lock = asyncio.Lock()  # one update at a time: each merges into the last one's result

    async def derive(self) -> dict:
        """The whole document from the broker's configuration (its listeners as they will be after a
        restart) and NanoMQ's defaults for the rest."""
        control = self.ctx.control
        cfg = await control.get_config()
        live = await control.listeners()
        http = self.ctx.config.http
        return docmod.default_document(
            tcp=_addresses(live, cfg.listeners, "tcp"),
            ws=_addresses(live, cfg.listeners, "ws"),
            ssl=_addresses(live, cfg.listeners, "ssl"),
            allow_anonymous=cfg.allow_anonymous,
            msq_len=cfg.max_mqueue_len,
            max_packet_size=cfg.max_packet_size,
            client_max_packet_size=cfg.client_max_packet_size,
            max_user_property_size=cfg.max_user_property_size,
            retry_interval=cfg.retry_interval,
            keepalive_backoff=cfg.keepalive_multiplier,
            http_port=http.v4_port if http.v4_port is not None else http.port,
        )

    async def document(self) -> dict:
        if not self.loaded:
            await self._load()  # the broker could not be asked at start (an upstream that was down)
        return docmod.merge(await self.derive(), self.own)

    async def load(self) -> None:
        """At start: NanoMQ's defaults, with the saved POSTs applied over them. A broker that cannot be
        asked yet (an upstream cluster down) leaves it for the first read, which is Unavailable until it can."""
        try:
            await self._load()
        except Unavailable as e:
            log.warning("NanoMQ settings wait for the broker: %s", e.message)

    async def _load(self) -> None:
        self.own = docmod.own_part(await self.derive())
        self.loaded = True
        try:
            saved = docmod.load(self.path)
            if saved is None:
                return
            # A file written before the broker's keys were derived may hold some: the broker's own
            # persisted configuration is what they were applied to, and it wins.
            await self.update(docmod.own_part(saved), persist=False)
        # A hand-edited file (or one the broker or the account store now refuses) must not stop the gateway.
        except (DocumentError, InvalidArgument, ValueError) as e:
            log.error("ignoring %s: %s", self.path, e)

    async def update(self, posted: dict, *, persist: bool = True) -> None:
        if not self.loaded:
            await self._load()  # outside the lock: loading applies the saved POSTs through here
        async with self._lock:
            await self._update(posted, persist)

    async def _update(self, posted: dict, persist: bool) -> None:
        if not isinstance(posted, dict):
            raise DocumentError(codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL, "data must be an object")
        posted = docmod.nanomq_forms(docmod.from_sections(posted, self.ctx.config.data_dir))
        old = await self.document()
        new = docmod.merge(old, posted)
        docmod.validate(new)
        if new["bridge"]["bridge_mode"] and new["bridge"] != old["bridge"]:
            try:
                await self.ctx.control.local_mqtt_address()  # NotSupported where no bridge can ever attach
            except Unavailable:
                pass  # a TCP listener may run by the time the bridge starts (ctrl/restart)
        self._apply_credentials(new["http_server"])  # first: the one step that may still refuse
        current = await self.ctx.control.get_config()
        await self.ctx.control.apply_config(self._broker_config(old, new, current))
        kept = docmod.own_part(posted)
        self.posted = docmod.merge(self.posted, kept)
        if persist and kept:
            docmod.save(self.path, self.posted)
        self.own = docmod.own_part(new)
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
            max_mqueue_len=limit("msq_len", new["msq_len"]),
            max_packet_size=new["max_packet_size"] * units.KB,
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
