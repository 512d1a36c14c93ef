"""The asyncio shell around the sans-IO broker: listeners move bytes, a timer drives ``Broker.tick``.

TCP and TLS use a bare ``asyncio.Protocol`` (the fastest path CPython offers); WebSocket and WSS are
served by aiohttp on the listener's own port, path ``/mqtt`` and subprotocol ``mqtt``.

Two manners keep one connection from hurting the others, the same for every transport (``Inlet``):
a connection is handed at most INPUT_CHUNK bytes per event-loop turn, and it is not read while its
answers back up (the transport's write buffer above ``write_buffer_high``), so a client that sends
without reading stalls only itself; ``Broker.tick`` closes it once that lasts ``send_timeout``. And a
connection the broker ends is closed the way web servers do (lingering close, LINGER_SECONDS): the
last packet (a DISCONNECT or CONNACK with its reason) goes out, then a FIN, and what the client still
sends is read and dropped, so that the kernel does not answer it with a reset that would destroy the
unread reason on the client's side.

A WebSocket listener is also an HTTP listener, and a client that never finishes its upgrade request
holds a socket all the same: the process shell hands in what guards its own HTTP listeners
(``HttpGuard``, one per listener: a deadline for each request and a cap on open connections), so the
broker itself knows nothing of HTTP manners.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from schemas.records import ListenerConfig

from .alarms import AlarmMonitor
from .channel import Channel
from .constants import ReasonCode
from .core import Broker
from .sys_topics import SysPublisher

log = logging.getLogger("emqgw.broker")

TICK_INTERVAL = 1.0
# MQTT over WebSocket subprotocol names clients offer (MQTT 5 spec 6.0: "mqtt"; older clients "mqttv3.1").
WS_SUBPROTOCOLS = ("mqtt", "mqttv3.1", "mqttv3.1.1")
# Input one connection may have handled per event-loop turn before it yields to the others. At 1-2 us
# per packet, 16 KiB of the smallest packets (8,192 PINGREQs) is about 10 ms of work, so one client
# flooding cannot hold the others' pings for longer; whole reads of well-behaved clients are mostly
# smaller and pay nothing. (EMQX's tcp_options.active_n plays that part: a socket delivers 100 reads
# before its connection must ask for more.)
INPUT_CHUNK = 16 * 1024
# How long a connection the broker closes is read and drained before it is cut (reset). Apache lingers
# 2 s (SECONDS_TO_LINGER), nginx up to 30 s (lingering_time); a client that wants its reason reads it
# within moments, and a closed connection should not hold a slot for long.
LINGER_SECONDS = 2.0
# SO_LINGER on, 0 seconds: close() resets the connection and drops what is unsent (see cut).
_RESET = struct.pack("ii", 1, 0)


def cut(transport: asyncio.Transport) -> None:
    """End a connection at once with a reset. A plain abort would leave the kernel holding what the
    peer never read, and the connection half-open, until its retries give up (minutes)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        except (OSError, ValueError):  # already gone (uvloop: ValueError for a closed descriptor)
            pass
    transport.abort()


class Inlet:
    """What one connection reads, handed to its channel at a bounded pace.

    ``feed`` takes whatever the transport read. A connection may have INPUT_CHUNK bytes handled per
    event-loop turn; beyond that the rest waits in ``backlog``, reading stops, and the next turn goes
    on (``loop.call_soon``). Reading also stops while the channel is paused for writing (its peer
    does not read what it is sent) and starts again when it resumes.
    """

    __slots__ = ("channel", "reader", "credit", "backlog", "reading", "turn_pending", "draining")

    def __init__(self, channel: Channel, reader):
        self.channel = channel
        # pause_reading() / resume_reading(), as asyncio transports have them.
        self.reader = reader
        self.credit = INPUT_CHUNK  # bytes this connection may still have handled in this turn
        self.backlog = b""  # read but not handed over yet
        self.reading = True
        self.turn_pending = False
        # Closing (lingering): input is read and dropped, whatever the pace.
        self.draining = False

    def feed(self, data: bytes) -> None:
        n = len(data)
        if n < self.credit and not self.backlog:
            self.credit -= n
            self.channel.data_received(data)
            return
        if self.draining:
            return
        self.backlog += data
        self._pump()

    def _pump(self) -> None:
        """Hand over what this turn's credit allows, unless the channel's answers are backed up."""
        backlog = self.backlog
        credit = self.credit
        if backlog and credit and self.channel.writable:
            self.backlog = backlog[credit:]
            self.credit = max(0, credit - len(backlog))
            self.channel.data_received(backlog[:credit])
        self._settle()

    def _settle(self) -> None:
        """Read only when nothing waits; come back next turn when the credit is spent or input waits."""
        if self.draining:
            want = True
        else:
            want = not self.backlog and self.credit > 0 and self.channel.writable
            if (self.backlog or not self.credit) and not self.turn_pending:
                self.turn_pending = True
                asyncio.get_running_loop().call_soon(self._next_turn)
        if want != self.reading:
            self.reading = want
            if want:
                self.reader.resume_reading()
            else:
                self.reader.pause_reading()

    def _next_turn(self) -> None:
        self.turn_pending = False
        self.credit = INPUT_CHUNK
        self._pump()

    def pause_writing(self) -> None:
        """The transport's write buffer went above the high-water mark."""
        self.channel.pause_writing()
        self._settle()

    def resume_writing(self) -> None:
        self.channel.resume_writing()
        self._pump()

    def drain(self) -> None:
        """From now on read and drop everything (the connection is closing)."""
        self.draining = True
        self.backlog = b""
        self.credit = 1 << 62
        self._settle()


class MQTTProtocol(Inlet, asyncio.Protocol):
    """One TCP or TLS connection; to its Channel it is the transport (``write``, ``is_closing``, ``close``).

    It is its own Inlet (the transport is the reader; the flow-control callbacks ``pause_writing`` /
    ``resume_writing`` are the Inlet's): one object per connection less.
    """

    __slots__ = ("listener", "transport", "closing", "_linger")

    def __init__(self, listener: Listener):
        self.listener = listener
        # None only for a connection refused at accept (aborted there), which gets no data or
        # flow-control callbacks; connection_lost tests for it.
        self.channel: Channel = None  # type: ignore[assignment]
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.closing = False
        self._linger: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        lst = self.listener
        if lst.current >= lst.config.max_connections:
            lst.shutdown_count += 1
            transport.abort()
            return
        lst.current += 1
        self.transport = transport
        transport.set_write_buffer_limits(high=lst.broker.config.write_buffer_high)
        peer = transport.get_extra_info("peername") or ("", 0)
        # The host interned: the clients of one host (or behind one NAT) share the string.
        ch = Channel(lst.broker, self, (sys.intern(peer[0]), peer[1]), lst.id)
        Inlet.__init__(self, ch, transport)
        lst.broker.channel_opened(ch)
        lst.channels.add(ch)

    def data_received(self, data: bytes) -> None:
        self.feed(data)

    def eof_received(self) -> bool:
        # The peer finished sending. While lingering that is what we waited for; otherwise the
        # connection ends as an abnormal close would (connection_lost). Either way: close now.
        return False

    def connection_lost(self, exc) -> None:
        ch = self.channel
        if ch is None:
            return
        if self._linger is not None:
            self._linger.cancel()
        self.listener.current -= 1
        self.listener.channels.discard(ch)
        ch.connection_lost()

    # ------------------------------------------------------------------ the Channel's transport

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def is_closing(self) -> bool:
        return self.closing or self.transport.is_closing()

    def close(self) -> None:
        """Lingering close: send what is buffered, then FIN; drop what still comes; cut at LINGER_SECONDS."""
        if self.closing:
            return
        self.closing = True
        t = self.transport
        self.drain()
        if t.can_write_eof():
            t.write_eof()
        else:
            t.close()  # TLS: close_notify goes out after what is buffered
        self._linger = asyncio.get_running_loop().call_later(LINGER_SECONDS, cut, t)


class WSTransport:
    """The write/close face a Channel expects, over an aiohttp WebSocket.

    aiohttp's send is a coroutine while the channel writes synchronously, so writes are gathered and
    flushed by one task per burst; beyond the high-water mark the channel is paused like a TCP one.
    Reading is paused by holding the handler's receive loop (``reading``); aiohttp then stops reading
    the socket once its own small buffer is full. Closing is aiohttp's, a lingering one already
    (a CLOSE frame, then frames dropped until the peer's CLOSE, at most LINGER_SECONDS); the handler
    waits for it (``closed``) before it returns, since aiohttp cuts the socket then.
    """

    __slots__ = ("ws", "raw", "buf", "size", "flushing", "closing", "closed", "inlet", "high", "reading", "linger")

    def __init__(self, ws: web.WebSocketResponse, raw: asyncio.Transport | None, high: int):
        self.ws = ws
        self.raw = raw  # the TCP transport beneath, cut when a close does not finish in time
        self.buf: list[bytes] = []
        self.size = 0
        self.flushing = False
        self.closing = False
        self.closed = asyncio.Event()
        self.inlet: Inlet | None = None
        self.high = high
        self.reading = asyncio.Event()
        self.reading.set()
        self.linger: asyncio.TimerHandle | None = None

    def pause_reading(self) -> None:
        self.reading.clear()

    def resume_reading(self) -> None:
        self.reading.set()

    def write(self, data: bytes) -> None:
        if self.closing:
            return
        self.buf.append(bytes(data))
        self.size += len(data)
        inlet = self.inlet
        if self.size > self.high and inlet is not None and inlet.channel.writable:
            inlet.pause_writing()
        self._start_flush()

    def _start_flush(self) -> None:
        if not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self.buf:
                data = b"".join(self.buf)
                self.buf.clear()
                self.size = 0
                await self.ws.send_bytes(data)
            inlet = self.inlet
            if inlet is not None and not inlet.channel.writable:
                inlet.resume_writing()
        except (ConnectionError, RuntimeError):
            self.closing = True
        finally:
            self.flushing = False
            if self.closing:
                try:
                    await self.ws.close()
                finally:
                    self.closed.set()

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        if self.inlet is not None:
            self.inlet.drain()
        self._start_flush()  # what is buffered goes first, then the close
        if self.raw is not None:
            # Also ends a send stuck on a peer that does not read.
            self.linger = asyncio.get_running_loop().call_later(LINGER_SECONDS, cut, self.raw)


class HttpGuard(Protocol):
    """What stands between an HTTP listener's sockets and aiohttp (``gateway.http.guard.ListenerGuard``)."""

    server_log: Any  # aiohttp's server logger for the listener

    def protocol_factory(self, make_handler: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]: ...

    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse: ...


# Makes the guard of one WebSocket listener.
HttpGuards = Callable[[ListenerConfig], HttpGuard]


class Listener:
    def __init__(self, broker: Broker, config: ListenerConfig, http_guards: HttpGuards | None = None):
        self.broker = broker
        self.config = config
        self.http_guards = http_guards
        self.id = config.id  # once: every channel of this listener holds the same string
        self.server: asyncio.AbstractServer | None = None
        self.runner: web.AppRunner | None = None
        self.current = 0
        self.shutdown_count = 0
        self.port = config.port
        self.channels: set[Channel] = set()

    @property
    def running(self) -> bool:
        return self.server is not None or self.runner is not None

    def _ssl_context(self) -> ssl.SSLContext | None:
        cfg = self.config
        if cfg.type not in ("ssl", "wss"):
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if cfg.certfile is None:
            raise ValueError(f"listener {cfg.id}: a {cfg.type} listener needs a certfile")
        ctx.load_cert_chain(cfg.certfile, cfg.keyfile)
        if cfg.cacertfile:
            ctx.load_verify_locations(cfg.cacertfile)
        return ctx

    async def start(self) -> None:
        if self.running:
            return
        cfg = self.config
        ctx = self._ssl_context()
        loop = asyncio.get_running_loop()
        if cfg.type in ("tcp", "ssl"):
            self.server = await loop.create_server(
                lambda: MQTTProtocol(self), cfg.bind, cfg.port, ssl=ctx, reuse_address=True, backlog=1024
            )
            self.port = self.server.sockets[0].getsockname()[1]
        else:
            guard = self.http_guards(cfg) if self.http_guards is not None else None
            app = web.Application(middlewares=[guard.middleware] if guard is not None else [])
            app.router.add_get(cfg.path, self._ws_handler)
            logger = {"logger": guard.server_log} if guard is not None else {}
            self.runner = runner = web.AppRunner(app, handle_signals=False, access_log=None, **logger)
            await runner.setup()
            # Served as gateway/http/server.py serves the APIs: the guard's protocol sits between each
            # socket and aiohttp's, and runner.cleanup() still closes every connection aiohttp holds.
            handler = runner.server
            assert handler is not None  # made by setup()
            make = guard.protocol_factory(handler) if guard is not None else handler
            self.server = await loop.create_server(make, cfg.bind, cfg.port, ssl=ctx, reuse_address=True)
            self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, runner = self.server, self.runner
        self.server = self.runner = None
        if server is not None:
            server.close()
        for ch in list(self.channels):
            ch.close(ReasonCode.SERVER_SHUTTING_DOWN)
        self.channels.clear()
        if server is not None:
            await server.wait_closed()
        if runner is not None:
            await runner.cleanup()
        self.port = self.config.port

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            protocols=WS_SUBPROTOCOLS, max_msg_size=self.broker.config.max_packet_size + 8, timeout=LINGER_SECONDS
        )
        if self.current >= self.config.max_connections:
            self.shutdown_count += 1
            return web.Response(status=503)
        await ws.prepare(request)
        transport = WSTransport(ws, request.transport, self.broker.config.write_buffer_high)
        peer = (request.transport and request.transport.get_extra_info("peername")) or ("", 0)
        ch = Channel(self.broker, transport, (sys.intern(peer[0]), peer[1]), self.id)
        inlet = transport.inlet = Inlet(ch, transport)
        self.broker.channel_opened(ch)
        self.channels.add(ch)
        self.current += 1
        try:
            while True:
                await transport.reading.wait()
                frame = await ws.receive()
                if frame.type == WSMsgType.BINARY:
                    inlet.feed(frame.data)
                elif frame.type == WSMsgType.TEXT:
                    # [MQTT-6.0.0-1]: MQTT travels in binary frames only.
                    ch.close(ReasonCode.MALFORMED_PACKET)
                elif frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
            if transport.closing:
                await transport.closed.wait()
        finally:
            if transport.linger is not None:
                transport.linger.cancel()
            self.current -= 1
            self.channels.discard(ch)
            ch.connection_lost()
        return ws


class MQTTServer:
    """Owns the listeners and the timers of one Broker."""

    def __init__(self, broker: Broker, http_guards: HttpGuards | None = None):
        self.broker = broker
        self.http_guards = http_guards
        self.listeners: dict[str, Listener] = {}
        self.reconfigure()
        self.sys = SysPublisher(broker)
        self.alarms = AlarmMonitor(broker)
        self._tick_task: asyncio.Task | None = None
        self._flush_scheduled = False

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self.broker.flush()

    def _spawn(self, awaitable, done) -> None:
        def finished(task: asyncio.Task) -> None:
            ok = not task.cancelled() and task.exception() is None and task.result() is True
            if not task.cancelled() and task.exception() is not None:
                log.error("authenticator failed: %r", task.exception())
            done(ok)

        asyncio.get_running_loop().create_task(awaitable).add_done_callback(finished)

    async def add_listener(self, config: ListenerConfig) -> Listener:
        """Serve one more listener, at once if it is enabled and the broker accepts connections. When
        its port cannot be bound, OSError, and nothing is added."""
        lst = Listener(self.broker, config, self.http_guards)
        if config.enable and self.broker.running:
            await lst.start()
        self.listeners[config.id] = lst
        return lst

    async def remove_listener(self, listener_id: str) -> None:
        """Stop a listener (its clients are disconnected) and forget it."""
        await self.listeners.pop(listener_id).stop()

    def reconfigure(self) -> None:
        """Take the listener set from the broker's (new) config; call while the listeners are stopped."""
        self.listeners = {lc.id: Listener(self.broker, lc, self.http_guards) for lc in self.broker.config.listeners}

    async def start(self) -> None:
        self.broker.attach_shell(self._schedule_flush, self._spawn)
        started = []
        try:
            for lst in self.listeners.values():
                if lst.config.enable:
                    await lst.start()
                    started.append(lst)
        except BaseException:
            for lst in started:
                await lst.stop()
            raise
        self.broker.start_accepting()
        if self._tick_task is None:
            self._tick_task = asyncio.get_running_loop().create_task(self._ticker())

    async def stop_listeners(self) -> None:
        self.broker.stop_accepting()
        for lst in self.listeners.values():
            await lst.stop()

    async def close(self) -> None:
        await self.stop_listeners()
        if self._tick_task is not None:
            self._tick_task.cancel()
            try:
                await self._tick_task
            except asyncio.CancelledError:
                pass
            self._tick_task = None

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_INTERVAL)
            try:
                self.broker.tick()
                now = time.time()
                self.sys.tick(now)
                self.alarms.tick(now)
            except Exception:  # a bug in one timer must not stop keep alive for everyone
                log.exception("broker tick failed")
