"""The one HTTP session to the upstream EMQX 5 (its `/api/v5`): pooled connections, one retry with
jitter for reads, a circuit breaker, short single-flight caches, an answer's decoding spared while the
same request gets the very same bytes, and a secret that never leaks.

Every failure to get an answer (refused, reset, timed out, a 5xx, our key rejected, the breaker open)
is ``schemas.errors.Unavailable`` with a message naming the upstream by its URL and what went wrong,
never the credentials: aiohttp's own exceptions carry the request's headers (the Authorization
header among them), so they are never passed on, chained or logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import attrs
import orjson

from schemas.errors import Unavailable

if TYPE_CHECKING:
    from gateway.config import UpstreamConfig

log = logging.getLogger("emqgw.upstream")

T = TypeVar("T")

# Reads are tried twice: a dropped keep-alive connection or one node restarting is common and short.
# Writes are tried once: a POST whose answer was lost may have been applied (a publish, a ban).
READ_ATTEMPTS = 2
# The pause before the second try, drawn at random so that many gateways do not retry in step.
RETRY_JITTER = (0.05, 0.25)  # seconds
# Statuses that mean the upstream could not answer, rather than answered no.
UNAVAILABLE_STATUSES = frozenset((500, 502, 503, 504))
# Connections kept to the upstream (aiohttp's default is 100; a gateway rarely needs more in flight).
POOL_SIZE = 64

Decode = Callable[[bytes], Any]


@attrs.define(slots=True, frozen=True)
class Answer:
    status: int
    body: Any  # the decoded JSON, or None for an empty body


class CircuitBreaker:
    """Closed while the upstream answers; open (every call refused at once) for ``cooldown`` seconds
    after ``threshold`` failures in a row; then one trial call decides (half open)."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic):
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.cooldown else "open"

    def admit(self) -> bool:
        """Whether a call may go out now (in half-open state, only the one trial)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def failed(self) -> None:
        self._failures += 1
        self._trial = False
        if self._opened_at is not None or self._failures >= self.threshold:
            if self._opened_at is None:
                log.warning("upstream: %d failures in a row, pausing calls for %.0f s", self._failures, self.cooldown)
            self._opened_at = self._clock()


class TtlCache:
    """Values kept ``ttl`` seconds by key; concurrent misses of one key share one fetch (single flight)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._flights: dict[str, asyncio.Future] = {}

    async def get(self, key: str, ttl: float, fetch: Callable[[], Awaitable[T]]) -> T:
        hit = self._values.get(key)
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._fill(key, ttl, fetch))
            self._flights[key] = flight
        # shield: one caller giving up (a client hanging up) must not cancel the others' fetch.
        return await asyncio.shield(flight)

    async def _fill(self, key: str, ttl: float, fetch: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await fetch()
            self._values[key] = (self._clock() + ttl, value)
            return value
        finally:
            del self._flights[key]

    def drop(self, *prefixes: str) -> None:
        """Forget the values whose keys start with one of ``prefixes`` (after a write changed them)."""
        for key in [k for k in self._values if k.startswith(prefixes)]:
            del self._values[key]


class SameBodies:
    """What a read's answer decoded to, handed out again while the same request is answered with the very
    same bytes: a listing page of unchanged clients is then neither parsed nor converted again, and its
    records are the very objects the dialects remembered their rows by (adapters.common.rows).

    Nothing is answered from here: every call still goes out, only the decoding of an identical body
    is spared. The value is shared, so it must be treated as read-only. The newest bodies are kept up to
    MAX_BYTES in all; a larger one is decoded for its one answer."""

    MAX_BYTES = 16 * 1024 * 1024

    def __init__(self) -> None:
        # (path, params) -> (body, decode, value); in order of use, the least recently used first.
        self._last: dict[tuple, tuple[bytes, Decode, Any]] = {}
        self._bytes = 0

    def decoded(self, key: tuple, body: bytes, decode: Decode) -> Any:
        hit = self._last.pop(key, None)
        if hit is not None:
            self._bytes -= len(hit[0])
        # A body is compared whole (a memcmp): hashing it would read it as well, and more slowly.
        value = hit[2] if hit is not None and hit[0] == body and hit[1] == decode else decode(body)
        if len(body) <= self.MAX_BYTES:
            while self._bytes + len(body) > self.MAX_BYTES:
                oldest = next(iter(self._last))
                self._bytes -= len(self._last.pop(oldest)[0])
            self._last[key] = (body, decode, value)
            self._bytes += len(body)
        return value


class UpstreamClient:
    """Calls to the upstream's `/api/v5`, relative paths (``"/clients"``)."""

    def __init__(self, config: UpstreamConfig, api_key: str, api_secret: str):
        self.config = config
        self.base = config.url.rstrip("/")
        self._authorization = aiohttp.encode_basic_auth(api_key, api_secret)
        self._session: aiohttp.ClientSession | None = None
        self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_cooldown)
        self.cache = TtlCache()
        self.same = SameBodies()
        self.calls = 0  # requests sent, retries included (the benchmark and the tests read it)

    def __repr__(self) -> str:
        return f"UpstreamClient({self.base!r})"

    async def open(self) -> None:
        ctx: ssl.SSLContext | bool = True
        if self.config.cafile:
            ctx = ssl.create_default_context(cafile=self.config.cafile)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=POOL_SIZE, ssl=ctx),
            timeout=aiohttp.ClientTimeout(total=self.config.timeout),
            json_serialize=lambda v: orjson.dumps(v).decode(),
            headers={"Accept": "application/json", "Authorization": self._authorization},
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str, params: Any = None, *, decode: Decode | None = None) -> Answer:
        """A read. With ``decode`` (equal for equal decodings), a 200 answer's body is ``decode(body)``,
        the same value again while the same request gets the same bytes (``SameBodies``)."""
        return await self.request("GET", path, params=params, decode=decode)

    async def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None, decode: Decode | None = None
    ) -> Answer:
        """One call; Unavailable when no answer came (see the module's rules). 4xx answers are returned."""
        attempts = READ_ATTEMPTS if method == "GET" else 1
        attempt = 1
        while True:
            if not self.breaker.admit():
                raise Unavailable(f"upstream {self.base} is unavailable (calls paused after repeated failures)")
            try:
                answer = await self._send(method, path, params, json, decode)
            except _NoAnswer as e:
                self.breaker.failed()
                if attempt == attempts:
                    raise
                log.info("upstream %s %s: %s; trying again", method, path, e.message)
                await asyncio.sleep(random.uniform(*RETRY_JITTER))
                attempt += 1
                continue
            self.breaker.succeeded()
            if answer.status == 401:
                # The upstream is up; the gateway's own key is refused. Not the caller's fault, and
                # nothing a retry or a pause would mend.
                raise Unavailable(f"upstream {self.base} refused the gateway's API key (401)")
            return answer

    async def _send(self, method: str, path: str, params: Any, json: Any, decode: Decode | None) -> Answer:
        if self._session is None:
            raise _NoAnswer(f"upstream {self.base} is not connected (the gateway is not running)")
        self.calls += 1
        url = self.base + path
        try:
            async with self._session.request(method, url, params=params, json=json) as resp:
                raw = await resp.read()
                status = resp.status
        except TimeoutError:
            raise _NoAnswer(f"upstream {self.base} did not answer within {self.config.timeout:g} s") from None
        except aiohttp.ClientError as e:
            # The exception's text and attributes may hold the request headers: only its type is told.
            raise _NoAnswer(f"upstream {self.base} cannot be reached ({type(e).__name__})") from None
        if status in UNAVAILABLE_STATUSES:
            raise _NoAnswer(f"upstream {self.base} answered {status} to {method} {path}")
        try:
            if decode is not None and status == 200:
                body = self.same.decoded((path, tuple(params or ())), raw, decode)
            else:
                body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            raise _NoAnswer(f"upstream {self.base} answered {status} with a body that is not JSON") from None
        return Answer(status, body)


class _NoAnswer(Unavailable):
    """No usable answer came: counts against the breaker, and a read is tried again."""
