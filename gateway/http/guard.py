"""What an HTTP listener does about clients that misbehave below the APIs.

- A connection has ``request_timeout`` seconds to deliver each request whole (request line, headers
  and body), counted from when it opens or from when its previous answer was handed to the
  transport; past that it is cut. An idle keep-alive connection is a request that never comes, and
  goes the same way. aiohttp has no header or body read timeout of its own (its keep-alive timer
  skips a connection that is still sending), so slowloris-style clients held their sockets forever.
  The clock stops once a request is in (``request.content`` at EOF): a handler's own time is not
  the client's fault, and a body is never read twice to find out.
- At most ``max_connections`` connections at once per listener; the next one is answered 503 and
  closed before aiohttp sees it, so a flood of idle sockets cannot take every file descriptor.
- A request aiohttp cannot parse (an over-long request line or header, bytes that are not HTTP) is
  the client's error: one warning line, at most one a second with a count of the ones left out,
  never a traceback per request. A client that hangs up in the middle of a request is nobody's error.

``ListenerGuard.protocol_factory`` wraps aiohttp's protocol factory (``runner.server``) for
``loop.create_server``; ``ListenerGuard.middleware`` tells the guard when a request reaches the
application and when its answer leaves it.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import sys
import time
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.http import HttpProcessingError

log = logging.getLogger("emqgw.http")

# What a connection over the cap is told, before it is closed (RFC 9110 §15.6.4).
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 21\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"too many connections\n"
)

# Malformed requests are logged at most this often, per listener.
BAD_REQUEST_LOG_INTERVAL = 1.0


def connection_ceiling(wanted: int, listeners: int) -> int:
    """``wanted``, or less when the process's open-file limit could not hold that many HTTP connections
    on every listener and still leave half of it to MQTT clients, the databases and the rest."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft // 2 // max(1, listeners)))


class ListenerGuard:
    """One listener's connections: how many are open, and each one's deadline."""

    def __init__(self, *, request_timeout: float, max_connections: int) -> None:
        self.name = "http"  # for logs; the server names it once the port is bound
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self._open: dict[asyncio.BaseTransport, _Connection] = {}
        # Counts since start, for logs and benchmarks.
        self.timed_out = 0
        self.refused = 0
        self._at_cap = False
        self.server_log = _ServerLog(self)

    @property
    def connections(self) -> int:
        return len(self._open)

    def protocol_factory(self, make_handler: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Connection(self, make_handler)

    def admit(self, conn: _Connection, transport: asyncio.BaseTransport) -> bool:
        if len(self._open) >= self.max_connections:
            self.refused += 1
            if not self._at_cap:
                self._at_cap = True
                log.warning(
                    "%s: %d connections open, the most it takes (http.max_connections); refusing more",
                    self.name,
                    len(self._open),
                )
            return False
        self._open[transport] = conn
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        if self._open.pop(transport, None) is not None and self._at_cap and len(self._open) < self.max_connections:
            self._at_cap = False
            log.warning("%s: taking connections again (%d refused so far)", self.name, self.refused)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        conn = self._open.get(request.transport) if request.transport is not None else None
        if conn is None:
            return await handler(request)
        conn.request_arrived(request)
        try:
            return await handler(request)
        finally:
            conn.answered()


class _Connection(asyncio.Protocol):
    """Sits between the transport and aiohttp's protocol: admits the connection, keeps its deadline,
    and passes every event on unchanged."""

    def __init__(self, guard: ListenerGuard, make_handler: Callable[[], asyncio.Protocol]) -> None:
        self.guard = guard
        self.make_handler = make_handler
        self.handler: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.request: web.BaseRequest | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's does not subclass asyncio's
        if not self.guard.admit(self, transport):
            self.transport.write(_REFUSAL)
            self.transport.close()
            return
        self.handler = self.make_handler()
        self.handler.connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.request = None
        self.timer = asyncio.get_running_loop().call_later(self.guard.request_timeout, self._expired)

    def request_arrived(self, request: web.BaseRequest) -> None:
        self.request = request

    def answered(self) -> None:
        if self.handler is not None and self.transport is not None and not self.transport.is_closing():
            self._arm()

    def _expired(self) -> None:
        self.timer = None
        if self.request is not None and self.request.content.is_eof():
            return  # the request is in: what its handler does with it takes what it takes
        self.guard.timed_out += 1
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.handler is not None:
            self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received() if self.handler is not None else None

    def pause_writing(self) -> None:
        if self.handler is not None:
            self.handler.pause_writing()

    def resume_writing(self) -> None:
        if self.handler is not None:
            self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.request = None
        if self.handler is not None and self.transport is not None:
            self.guard.release(self.transport)
            self.handler.connection_lost(exc)
        self.handler = None


class _ServerLog(logging.LoggerAdapter):
    """aiohttp's server logger for one listener (``AppRunner(logger=...)``): a request it cannot parse
    becomes one rate-limited warning line; anything else passes as aiohttp logs it, traceback and all."""

    def __init__(self, guard: ListenerGuard) -> None:
        super().__init__(log, {})
        self.guard = guard
        self._last = -BAD_REQUEST_LOG_INTERVAL
        self._left_out = 0

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if not isinstance(exc, HttpProcessingError):
            super().exception(msg, *args, exc_info=exc_info, **kwargs)
            return
        now = time.monotonic()
        if now - self._last < BAD_REQUEST_LOG_INTERVAL:
            self._left_out += 1
            return
        self._last = now
        why = str(exc.message).splitlines()[0][:120] if exc.message else type(exc).__name__
        more = f"; {self._left_out} more since the last one logged" if self._left_out else ""
        self._left_out = 0
        # aiohttp's own words name the peer: "Error handling request from %s".
        peer = args[0] if args else "?"
        self.logger.warning("%s: bad request from %s: %d %s%s", self.guard.name, peer, exc.code, why, more)
