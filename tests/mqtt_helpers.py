"""Real broker + real clients for the tests: no mocks, only sockets.

``RunningBroker`` starts the bundled broker with its asyncio shell on ephemeral ports in a thread of its
own, so that blocking clients (paho) and async ones (gmqtt, aiohttp) can both talk to it.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
import uuid

import attrs
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker.control import BrokerController
from broker.core import Broker
from broker.server import MQTTServer
from schemas.records import BrokerConfig, ListenerConfig

TIMEOUT = 5.0


class RunningBroker:
    def __init__(self, config: BrokerConfig | None = None, *, loop_factory=asyncio.new_event_loop, **overrides):
        # No periodic $SYS publishing and no host alarms (the host's load is not the test's): tests that
        # want them turn them on.
        cfg = config or BrokerConfig(
            listeners=[ListenerConfig(type="tcp", port=0), ListenerConfig(type="ws", port=0)],
            sys_interval=0,
            sys_heartbeat=0,
            os_check_interval=0,
        )
        self.config = attrs.evolve(cfg, **overrides) if overrides else cfg
        # loop_factory=uvloop.new_event_loop runs the broker on the loop `emqgw serve` uses.
        self.loop = loop_factory()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.broker = Broker(self.config)
        self.server = MQTTServer(self.broker)
        self.control = BrokerController(self.broker, self.server)
        self.run(self.server.start())
        self.run(self.control.sampler.start())

    def run(self, coro, timeout: float = TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn, *args):
        """Run a plain function on the broker's loop (its state is not shared across threads)."""

        async def _call():
            return fn(*args)

        return self.run(_call())

    def port(self, kind: str = "tcp") -> int:
        return next(lst.port for lst in self.server.listeners.values() if lst.config.type == kind)

    def metric(self, name: str) -> int:
        return self.call(lambda: self.broker.metrics.counters[name])

    def tick(self, now_mono: float | None = None) -> None:
        self.call(self.broker.tick, now_mono)

    def close(self) -> None:
        try:
            self.run(self.control.sampler.stop())
            self.run(self.server.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT)
            self.loop.close()


class Client:
    """A paho client that records what it receives, connected and looping in its own thread."""

    def __init__(
        self,
        broker: RunningBroker,
        clientid: str | None = None,
        *,
        v5: bool = False,
        clean: bool = True,
        username: str | None = None,
        password: str | None = None,
        will: tuple | None = None,
        keepalive: int = 60,
        properties: Properties | None = None,
        transport: str = "tcp",
        connect: bool = True,
        protocol: int | None = None,
    ):
        self.clientid = clientid if clientid is not None else "c-" + uuid.uuid4().hex[:8]
        proto = protocol or (paho.MQTTv5 if v5 else paho.MQTTv311)
        kwargs = {} if proto == paho.MQTTv5 else {"clean_session": clean}
        self.c = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=self.clientid,
            protocol=proto,
            transport="websockets" if transport == "ws" else "tcp",
            **kwargs,
        )
        if transport == "ws":
            self.c.ws_set_options(path="/mqtt")
        self.v5 = proto == paho.MQTTv5
        self.messages: queue.Queue = queue.Queue()
        self.connack: queue.Queue = queue.Queue()
        self.subacks: queue.Queue = queue.Queue()
        self.disconnects: queue.Queue = queue.Queue()
        self.acks: queue.Queue = queue.Queue()
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_connect = lambda c, u, f, rc, p: self.connack.put((f, rc, p))
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put(rcs)
        self.c.on_disconnect = lambda c, u, f, rc, p: self.disconnects.put(rc)
        self.c.on_publish = lambda c, u, mid, rc, p: self.acks.put((mid, rc))
        if username is not None:
            self.c.username_pw_set(username, password)
        if will is not None:
            topic, payload, qos, retain, *rest = will
            self.c.will_set(topic, payload, qos, retain, properties=rest[0] if rest else None)
        self.port = broker.port(transport)
        self.keepalive = keepalive
        self.properties = properties
        self.clean = clean
        if connect:
            self.connect()

    def connect(self, expect_ok: bool = True):
        kwargs = {}
        if self.v5:
            kwargs = {"clean_start": self.clean, "properties": self.properties}
        self.c.connect("127.0.0.1", self.port, keepalive=self.keepalive, **kwargs)
        self.c.loop_start()
        flags, rc, props = self.connack.get(timeout=TIMEOUT)
        if expect_ok:
            assert not rc.is_failure, f"CONNACK {rc}"
        return flags, rc, props

    def subscribe(self, topic, qos=0, **kw):
        if self.v5 and kw:
            from paho.mqtt.subscribeoptions import SubscribeOptions

            opts = SubscribeOptions(
                qos=qos,
                noLocal=kw.get("no_local", False),
                retainAsPublished=kw.get("rap", False),
                retainHandling=kw.get("rh", 0),
            )
            self.c.subscribe(topic, options=opts, properties=kw.get("properties"))
        elif kw.get("properties") is not None:
            self.c.subscribe(topic, qos, properties=kw["properties"])
        else:
            self.c.subscribe(topic, qos)
        return self.subacks.get(timeout=TIMEOUT)

    def publish(self, topic, payload=b"", qos=0, retain=False, properties=None, wait=True):
        info = self.c.publish(topic, payload, qos, retain, properties=properties)
        if wait and qos:
            info.wait_for_publish(TIMEOUT)
        return info

    def expect(self, timeout=TIMEOUT):
        return self.messages.get(timeout=timeout)

    def expect_none(self, wait=0.3):
        try:
            m = self.messages.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected message on {m.topic}: {m.payload!r}")

    def disconnect(self):
        self.c.disconnect()
        self.c.loop_stop()

    def drop(self):
        """Vanish without DISCONNECT (so a will is due)."""
        self.c.loop_stop()
        self.c.socket().close()


def v5props(packet_type, **values) -> Properties:
    p = Properties(packet_type)
    for k, v in values.items():
        setattr(p, k, v)
    return p


def wait_for(pred, timeout=TIMEOUT, interval=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    raise AssertionError("condition not met in time")


class Raw:
    """A bare socket for speaking bytes the clients libraries would never send."""

    def __init__(self, port: int):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)

    def send(self, data: bytes) -> None:
        self.s.sendall(data)

    def recv(self, n: int = 65536, timeout: float = TIMEOUT) -> bytes:
        self.s.settimeout(timeout)
        return self.s.recv(n)

    def closed(self, timeout: float = TIMEOUT) -> bool:
        """True when the server closed the connection (reading whatever it sent first)."""
        self.s.settimeout(timeout)
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                if self.s.recv(65536) == b"":
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        return False

    def close(self) -> None:
        self.s.close()


def connect_bytes(clientid: str = "raw", level: int = 4, clean: bool = True, keepalive: int = 60) -> bytes:
    name = b"MQIsdp" if level == 3 else b"MQTT"
    cid = clientid.encode()
    flags = 0x02 if clean else 0
    var = len(name).to_bytes(2, "big") + name + bytes([level, flags]) + keepalive.to_bytes(2, "big")
    if level == 5:
        var += b"\x00"
    body = var + len(cid).to_bytes(2, "big") + cid
    return bytes([0x10, len(body)]) + body


__all__ = ["RunningBroker", "Client", "Raw", "connect_bytes", "wait_for", "v5props", "PacketTypes", "TIMEOUT"]
