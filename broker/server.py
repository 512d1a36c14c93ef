"""The asyncio shell around the sans-IO broker: listeners move bytes, a timer drives ``Broker.tick``.

TCP and TLS use a bare ``asyncio.Protocol`` (the fastest path CPython offers); WebSocket and WSS are
served by aiohttp on the listener's own port, path ``/mqtt`` and subprotocol ``mqtt``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time

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


class MQTTProtocol(asyncio.Protocol):
    __slots__ = ("listener", "channel")

    def __init__(self, listener: Listener):
        self.listener = listener
        # None only for a connection refused at accept (aborted there), which gets no data or
        # flow-control callbacks; connection_lost tests for it.
        self.channel: Channel = None  # type: ignore[assignment]

    def connection_made(self, transport) -> None:
        lst = self.listener
        if lst.current >= lst.config.max_connections:
            lst.shutdown_count += 1
            transport.abort()
            return
        lst.current += 1
        transport.set_write_buffer_limits(high=lst.broker.config.write_buffer_high)
        peer = transport.get_extra_info("peername") or ("", 0)
        ch = self.channel = Channel(lst.broker, transport, (peer[0], peer[1]), lst.config.id)
        lst.broker.channel_opened(ch)
        lst.channels.add(ch)

    def data_received(self, data: bytes) -> None:
        self.channel.data_received(data)

    def connection_lost(self, exc) -> None:
        ch = self.channel
        if ch is None:
            return
        self.listener.current -= 1
        self.listener.channels.discard(ch)
        ch.connection_lost()

    def pause_writing(self) -> None:
        self.channel.pause_writing()

    def resume_writing(self) -> None:
        self.channel.resume_writing()


class WSTransport:
    """The write/close face a Channel expects, over an aiohttp WebSocket.

    aiohttp's send is a coroutine while the channel writes synchronously, so writes are gathered and
    flushed by one task per burst; beyond the high-water mark the channel is paused like a TCP one.
    """

    __slots__ = ("ws", "buf", "size", "flushing", "closing", "channel", "high")

    def __init__(self, ws: web.WebSocketResponse, high: int):
        self.ws = ws
        self.buf: list[bytes] = []
        self.size = 0
        self.flushing = False
        self.closing = False
        self.channel: Channel | None = None
        self.high = high

    def write(self, data: bytes) -> None:
        if self.closing:
            return
        self.buf.append(bytes(data))
        self.size += len(data)
        if self.size > self.high and self.channel is not None and self.channel.writable:
            self.channel.pause_writing()
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
            if self.channel is not None and not self.channel.writable:
                self.channel.resume_writing()
        except (ConnectionError, RuntimeError):
            self.closing = True
        finally:
            self.flushing = False
            if self.closing:
                await self.ws.close()

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        if not self.flushing:
            asyncio.get_running_loop().create_task(self.ws.close())


class Listener:
    def __init__(self, broker: Broker, config: ListenerConfig):
        self.broker = broker
        self.config = config
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
            app = web.Application()
            app.router.add_get(cfg.path, self._ws_handler)
            self.runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, cfg.bind, cfg.port, ssl_context=ctx, reuse_address=True)
            await site.start()
            self.port = self.runner.addresses[0][1]

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
        ws = web.WebSocketResponse(protocols=WS_SUBPROTOCOLS, max_msg_size=self.broker.config.max_packet_size + 8)
        if self.current >= self.config.max_connections:
            self.shutdown_count += 1
            return web.Response(status=503)
        await ws.prepare(request)
        transport = WSTransport(ws, self.broker.config.write_buffer_high)
        peer = (request.transport and request.transport.get_extra_info("peername")) or ("", 0)
        ch = Channel(self.broker, transport, (peer[0], peer[1]), self.config.id)
        transport.channel = ch
        self.broker.channel_opened(ch)
        self.channels.add(ch)
        self.current += 1
        try:
            async for frame in ws:
                if frame.type == WSMsgType.BINARY:
                    ch.data_received(frame.data)
                elif frame.type in (WSMsgType.TEXT,):
                    # [MQTT-6.0.0-1]: MQTT travels in binary frames only.
                    ch.close(ReasonCode.MALFORMED_PACKET)
                    break
        finally:
            self.current -= 1
            self.channels.discard(ch)
            ch.connection_lost()
        return ws


class MQTTServer:
    """Owns the listeners and the timers of one Broker."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self.listeners: dict[str, Listener] = {lc.id: Listener(broker, lc) for lc in broker.config.listeners}
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
        lst = Listener(self.broker, config)
        if config.enable and self.broker.running:
            await lst.start()
        self.listeners[config.id] = lst
        return lst

    async def remove_listener(self, listener_id: str) -> None:
        """Stop a listener (its clients are disconnected) and forget it."""
        await self.listeners.pop(listener_id).stop()

    def reconfigure(self) -> None:
        """Take the listener set from the broker's (new) config; call while the listeners are stopped."""
        self.listeners = {lc.id: Listener(self.broker, lc) for lc in self.broker.config.listeners}

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
