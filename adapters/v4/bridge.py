"""NanoMQ's MQTT bridge, built from two ordinary MQTT clients (gmqtt), never through the broker's internals.

``BridgeRunner`` starts one from the configuration document's `bridge` section (with the gateway and on
`ctrl/restart`) and stops it (`ctrl/stop`, shutdown).

* the *local* client connects to our own broker (its TCP listener) and subscribes to the ``forwards``
  filters; what it receives is published to the remote broker;
* the *remote* client connects to ``bridge.address`` and subscribes to the ``subscription`` topics;
  what it receives is published locally through the local client.

Loops: the local client speaks MQTT 5 and subscribes with No Local [MQTT-3.8.3-3], so the messages it
republishes locally never come back to it; when the remote side speaks MQTT 5 too, its subscriptions
use No Local as well. (With a v3/v4 remote, a subscription that overlaps a forward loops, as in NanoMQ.)
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from urllib.parse import urlsplit

from gmqtt import Client as MQTTClient
from gmqtt.mqtt.constants import MQTTv50, MQTTv311

from schemas.errors import ControlError

log = logging.getLogger("emqgw.v4.bridge")

# proto_ver -> gmqtt's protocol level. gmqtt speaks no MQTT 3.1 ("MQIsdp"), so 3 connects as 3.1.1.
MQTT_VERSIONS = {3: MQTTv311, 4: MQTTv311, 5: MQTTv50}
CONNECT_TIMEOUT = 5.0


class BridgeCounters:
    """What NanoMQ's `/metrics` shows per bridge."""

    def __init__(self) -> None:
        self.sent_messages = self.received_messages = self.sent_bytes = self.received_bytes = 0
        self.reconnects = self.uplink_dropped = self.downlink_dropped = 0

    def as_nanomq(self, name: str) -> dict:
        return {
            "bridge name": name,
            "sent messages": self.sent_messages,
            "received messages": self.received_messages,
            "sent bytes": self.sent_bytes,
            "received bytes": self.received_bytes,
            "MQTT reconnect times": self.reconnects,
            "uplink msg dropped": self.uplink_dropped,
            "downlink msg dropped": self.downlink_dropped,
        }


class Bridge:
    def __init__(
        self, conf: dict, local_host: str, local_port: int, local_credentials: tuple[str, str] | None = None
    ) -> None:
        self.conf = conf
        self.local_addr = (local_host, local_port)
        self.local_credentials = local_credentials
        self.counters = BridgeCounters()
        self.local: MQTTClient | None = None
        self.remote: MQTTClient | None = None
        self.name = conf.get("clientid") or "bridge"

    async def start(self) -> None:
        conf = self.conf
        parts = urlsplit(conf["address"])
        version = MQTT_VERSIONS[conf["proto_ver"]]
        clientid = conf.get("clientid") or "bridge-" + uuid.uuid4().hex[:8]
        self.remote = MQTTClient(clientid, clean_session=conf["clean_start"])
        if conf.get("username"):
            self.remote.set_auth_credentials(conf["username"], conf.get("password"))
        self.remote.on_message = self._from_remote
        self.remote.on_connect = self._remote_connected
        self.local = MQTTClient(f"{clientid}-local-{uuid.uuid4().hex[:6]}", clean_session=True)
        if self.local_credentials:
            self.local.set_auth_credentials(*self.local_credentials)
        self.local.on_message = self._from_local
        try:
            await asyncio.wait_for(
                self.local.connect(*self.local_addr, keepalive=conf["keepalive"] or 60, version=MQTTv50),
                CONNECT_TIMEOUT,
            )
            await self._subscribed(self.local, [(f, 1) for f in conf["forwards"]], no_local=True)
            await asyncio.wait_for(
                self.remote.connect(parts.hostname, parts.port, keepalive=conf["keepalive"], version=version),
                CONNECT_TIMEOUT,
            )
            await self._subscribed(
                self.remote,
                [(s["topic"], s.get("qos", 0)) for s in conf["subscription"]],
                no_local=conf["proto_ver"] == 5,
            )
        except BaseException:
            await self.stop()
            raise

    @staticmethod
    async def _subscribed(client: MQTTClient, topics: list[tuple[str, int]], no_local: bool) -> None:
        """Subscribe and wait for the SUBACKs, so that the bridge is in place when start() returns."""
        if not topics:
            return
        pending: set[int] = set()
        done = asyncio.Event()

        def on_subscribe(_client, mid, _qos, _properties) -> None:
            pending.discard(mid)
            if not pending:
                done.set()

        client.on_subscribe = on_subscribe
        for topic, qos in topics:
            pending.add(client.subscribe(topic, qos=qos, no_local=no_local))
        await asyncio.wait_for(done.wait(), CONNECT_TIMEOUT)

    def _remote_connected(self, client, flags, rc, properties) -> None:
        if getattr(self, "_connected_once", False):
            self.counters.reconnects += 1
        self._connected_once = True

    def _from_local(self, client, topic, payload, qos, properties) -> int:
        remote = self.remote
        if remote is None or not remote.is_connected:
            self.counters.uplink_dropped += 1
            return 0
        remote.publish(topic, payload, qos=min(qos, 1), retain=bool(properties.get("retain")))
        self.counters.sent_messages += 1
        self.counters.sent_bytes += len(payload)
        return 0

    def _from_remote(self, client, topic, payload, qos, properties) -> int:
        self.counters.received_messages += 1
        self.counters.received_bytes += len(payload)
        local = self.local
        if local is None or not local.is_connected:
            self.counters.downlink_dropped += 1
            return 0
        local.publish(topic, payload, qos=min(qos, 1), retain=bool(properties.get("retain")))
        return 0

    async def stop(self) -> None:
        for client in (self.remote, self.local):
            if client is None:
                continue
            try:
                client.stop_reconnect()
                await asyncio.wait_for(client.disconnect(), 2.0)
            except Exception:  # an unconnected or already lost client has nothing to close
                pass
        self.remote = self.local = None


class BridgeRunner:
    """The bridge the document describes, attached to our own TCP listener; ``current`` while it runs."""

    def __init__(self, control) -> None:
        self.control = control
        self.current: Bridge | None = None

    async def start(self, doc: dict) -> None:
        conf = doc["bridge"]
        if not conf["bridge_mode"] or not self.control.running:
            return
        try:
            host, port = await self.control.local_mqtt_address()
        except ControlError as e:
            log.error("bridge not started: %s", e.message)
            return
        http = doc["http_server"]
        creds = (http["username"], http["password"]) if http["password"] else None
        bridge = Bridge(conf, host, port, creds)
        try:
            await bridge.start()
        except Exception as e:  # an unreachable remote must not take the API down
            log.error("bridge to %s not started: %s", conf["address"], e)
            return
        self.current = bridge

    async def stop(self) -> None:
        if self.current is not None:
            await self.current.stop()
            self.current = None
