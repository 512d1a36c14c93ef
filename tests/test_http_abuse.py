"""HTTP clients that misbehave below the APIs, against the whole gateway on real sockets: requests that
never finish are cut at the listener's deadline on every HTTP listener while well-behaved clients are
answered, each listener holds a bounded number of connections, and requests aiohttp cannot parse (or
that the client abandons) are one log line, never a traceback."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

import aiohttp
import paho.mqtt.client as paho
import pytest

from gateway import config
from gateway.config import GatewayConfig, HttpConfig
from gateway.runtime import GatewayRuntime
from schemas.records import ListenerConfig
from tests.serve_helpers import NO_LEGACY_HTTP, ROOT, listening_lines, port_of

DEADLINE = 1.0  # request_timeout in these tests
STATUS = b"GET /status HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.fixture
async def gateway_on(tmp_path):
    """``await gateway_on(**http)``: a whole gateway, main and both legacy HTTP listeners on ephemeral ports."""
    made: list[GatewayRuntime] = []

    async def start(listeners: list[ListenerConfig] | None = None, **http) -> GatewayRuntime:
        cfg = GatewayConfig(
            data_dir=str(tmp_path / f"data{len(made)}"), http=HttpConfig(port=0, v2_port=0, v4_port=0, **http)
        )
        cfg.broker.listeners = listeners or [ListenerConfig(type="tcp", port=0)]
        rt = GatewayRuntime(cfg)
        await rt.start()
        made.append(rt)
        return rt

    yield start
    for rt in made:
        await rt.stop()


async def open_sending(port: int, first: bytes, drip: bytes = b"", every: float = 0.2, limit: float = 6.0):
    """Open a connection, send ``first``, then ``drip`` every ``every`` seconds; return (seconds until the
    server closed it, what the server sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    got = b""
    try:
        writer.write(first)
        while time.monotonic() - started < limit:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), every)
            except TimeoutError:
                if drip:
                    writer.write(drip)
                continue
            if not chunk:
                break
            got += chunk
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started, got


async def test_requests_that_never_finish_are_cut_at_the_deadline_on_every_listener(gateway_on):
    rt = await gateway_on(request_timeout=DEADLINE)
    ports = [port for _host, port, _prefixes in rt.http.bound]
    assert len(ports) == 3  # main, EMQ 2.x legacy, NanoMQ / EMQX 4 legacy
    slow = [
        b"",  # connects and says nothing
        b"GET /sta",  # half a request line
        b"GET /status HTTP/1.1\r\nHost: t\r\n",  # headers that never end ...
        b"POST /api/v5/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{",
        b"POST /api/v4/banned HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n",
    ]
    drips = [b"", b"", b"X-Slow: 1\r\n", b" ", b"1\r\n \r\n"]  # ... each kept alive byte by byte
    abusers = [open_sending(port, first, drip) for port in ports for first, drip in zip(slow, drips, strict=True)]
    tasks = [asyncio.ensure_future(a) for a in abusers]

    # Meanwhile a well-behaved client is answered on every listener, at once.
    async with aiohttp.ClientSession() as session:
        for port in ports:
            started = time.monotonic()
            async with session.get(f"http://127.0.0.1:{port}/status") as r:
                assert r.status == 200
            assert time.monotonic() - started < 0.5

    results = await asyncio.gather(*tasks)
    for (seconds, got), first in zip(results, [f for _port in ports for f in slow], strict=True):
        assert DEADLINE * 0.9 <= seconds <= DEADLINE + 1.0, (first, seconds)
        assert b"200 OK" not in got
    assert sum(g.timed_out for g in rt.http.guards) >= len(abusers)


async def test_mqtt_over_websocket_listeners_keep_the_deadline_and_the_cap(gateway_on):
    # A WebSocket listener is HTTP until the upgrade: a client that never finishes its upgrade request is
    # cut at the deadline, silent sockets count against the listener's max_connections, and a client
    # whose upgrade went through is MQTT's to keep for as long as its keepalive says.
    ws = ListenerConfig(type="ws", port=0, max_connections=3)
    rt = await gateway_on(request_timeout=DEADLINE, listeners=[ws])
    port = rt.embedded.mqtt.listeners[ws.id].port
    mqtt = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="ws-keeps-up", transport="websockets")
    mqtt.ws_set_options(path="/mqtt")
    connected = asyncio.Event()
    loop = asyncio.get_running_loop()
    mqtt.on_connect = lambda c, u, f, rc, p: loop.call_soon_threadsafe(connected.set)
    await loop.run_in_executor(None, mqtt.connect, "127.0.0.1", port, 60)  # paho's upgrade blocks
    mqtt.loop_start()
    try:
        await asyncio.wait_for(connected.wait(), 5)
        slow = [open_sending(port, b""), open_sending(port, b"GET /mq", b"t")]
        tasks = [asyncio.ensure_future(a) for a in slow]
        await asyncio.sleep(0.2)
        _seconds, got = await open_sending(port, b"", limit=2)
        assert got.startswith(b"HTTP/1.1 503 Service Unavailable"), got
        for seconds, got in await asyncio.gather(*tasks):
            assert DEADLINE * 0.9 <= seconds <= DEADLINE + 1.0 and got == b"", (seconds, got)
        assert mqtt.is_connected()
        published = mqtt.publish("ws/still/here", b"x", qos=1)
        await loop.run_in_executor(None, published.wait_for_publish, 5)
        assert published.is_published()
    finally:
        mqtt.loop_stop()
        mqtt.disconnect()


async def test_a_client_that_keeps_up_is_never_cut(gateway_on):
    rt = await gateway_on(request_timeout=DEADLINE)
    port = rt.http.bound[0][1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        started = time.monotonic()
        # One keep-alive connection, a request every half deadline for three deadlines: each request
        # gets a fresh deadline.
        while time.monotonic() - started < 3 * DEADLINE:
            writer.write(STATUS)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            await reader.readexactly(length)
            await asyncio.sleep(DEADLINE / 2)
    finally:
        writer.close()
    # A body sent in pieces that ends before the deadline is read and answered.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        body = b'{"username": "admin", "password": "public"}'
        writer.write(
            b"POST /api/v5/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        for i in range(0, len(body), 8):
            await asyncio.sleep(DEADLINE / 12)
            writer.write(body[i : i + 8])
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()


async def test_each_listener_holds_at_most_max_connections(gateway_on, caplog):
    caplog.set_level(logging.WARNING, "emqgw.http")
    rt = await gateway_on(request_timeout=30.0, max_connections=5)
    port = rt.http.bound[0][1]
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
    await asyncio.sleep(0.1)
    refused = []
    for _ in range(3):
        seconds, got = await open_sending(port, STATUS, limit=2)
        refused.append(got)
    assert all(got.startswith(b"HTTP/1.1 503 Service Unavailable") for got in refused)
    # The other listeners count their own connections.
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{rt.http.bound[1][1]}/status") as r:
            assert r.status == 200
    for _reader, writer in held:
        writer.close()
    await asyncio.sleep(0.1)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/status") as r:
            assert r.status == 200
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "emqgw.http"]
    # One line when the cap is reached and one when it is left, not one per refused connection.
    assert len(lines) == 2 and "refusing more" in lines[0] and "3 refused" in lines[1], lines


async def test_unparsable_requests_are_one_line_and_no_traceback(gateway_on, caplog):
    caplog.set_level(logging.DEBUG)
    rt = await gateway_on()
    port = rt.http.bound[0][1]
    bad = [
        b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",  # request line over 8190 bytes
        b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n",  # header over 8190 bytes
        b"GET / HTTP/1.1\r\n\x01\x02 nonsense\r\n\r\n",
    ] * 10
    for request in bad:
        _seconds, got = await open_sending(port, request, limit=2)
        assert got.startswith(b"HTTP/1.") and b" 400 " in got.split(b"\r\n")[0]
    # A client that hangs up in the middle of a body.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/v5/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 99\r\n\r\n{"
    )
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    await asyncio.sleep(0.2)

    assert not [rec for rec in caplog.records if rec.exc_info], "a traceback was logged"
    lines = [rec.getMessage() for rec in caplog.records if "bad request" in rec.getMessage()]
    # Thirty bad requests within a second: the first is logged (naming the listener and the peer), the
    # rest are counted into the next line instead of flooding the log.
    assert len(lines) == 1 and f":{port}: bad request from 127.0.0.1: 400 Got more than 8190 bytes" in lines[0]
    await asyncio.sleep(1.0)
    await open_sending(port, bad[0], limit=2)
    lines = [rec.getMessage() for rec in caplog.records if "bad request" in rec.getMessage()]
    assert len(lines) == 2 and "29 more since the last one logged" in lines[1]


def _all_closed_by_server(socks: list[socket.socket], *, until: float) -> bool:
    """Whether the server closes every one of ``socks`` (what it said first is read past) by ``until``."""
    with selectors.DefaultSelector() as sel:  # epoll: the suite's process may hold descriptors past 1024
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        while sel.get_map() and time.monotonic() < until:
            for key, _ in sel.select(0.2):
                try:
                    if key.fileobj.recv(4096):
                        continue
                except ConnectionResetError:
                    pass
                sel.unregister(key.fileobj)
        return not sel.get_map()


FLOOD_DEADLINE = 5  # request_timeout of the flood test: long enough to open 400 sockets on a busy machine


def _low_file_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


@pytest.mark.skipif(sys.platform != "linux", reason="sets the child's open-file limit")
def test_a_flood_of_idle_connections_under_a_low_file_limit_denies_no_service(tmp_path):
    """The issue's case, scaled down: under a 256 open-file limit, 400 HTTP connections that never send
    a request leave MQTT clients served (CONNACK) and HTTP answering, and are all gone after the
    deadline."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", str(tmp_path / "data"), *NO_LEGACY_HTTP]
        + ["--mqtt-port", "0", "--ws-port", "off"],
        cwd=ROOT,
        env={**os.environ, "EMQGW_HTTP__REQUEST_TIMEOUT": str(FLOOD_DEADLINE)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_low_file_limit,
    )
    held: list[socket.socket] = []
    try:
        lines = listening_lines(proc, 2)
        http, mqtt = port_of(lines, "listening: http"), port_of(lines, "listening: mqtt tcp")
        first = time.monotonic()
        for _ in range(400):
            try:
                held.append(socket.create_connection(("127.0.0.1", http), timeout=5))
            except OSError:
                break
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", http), timeout=5) as s:
            s.sendall(STATUS)
            assert s.recv(64).startswith(b"HTTP/1.1 503")  # at its cap, and saying so

        rcs = []
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="still-served")
        client.on_connect = lambda c, u, f, rc, p: rcs.append(rc)
        client.connect("127.0.0.1", mqtt)
        client.loop_start()
        end = time.monotonic() + 5
        while not rcs and time.monotonic() < end:
            time.sleep(0.02)
        client.disconnect()
        client.loop_stop()
        assert rcs and not rcs[0].is_failure
        # All of that while the flood was held (a busy machine may be slow to open 400 sockets).
        assert time.monotonic() - first < FLOOD_DEADLINE

        time.sleep(max(0.0, first + FLOOD_DEADLINE + 0.5 - time.monotonic()))  # every idle one is closed
        with socket.create_connection(("127.0.0.1", http), timeout=5) as s:
            s.sendall(STATUS)
            assert s.recv(64).startswith(b"HTTP/1.1 200")
        # Each is closed at its own deadline, counted from when the server accepted it: one whose handshake
        # the full listen queue held back is accepted only when the kernel retries it (1, 2, 4 s later).
        assert _all_closed_by_server(held, until=first + 2 * FLOOD_DEADLINE + 7)
    finally:
        for s in held:
            s.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert "Traceback" not in proc.stderr.read()


def test_the_deadline_and_the_cap_are_http_settings(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[http]\nrequest_timeout = 5\nmax_connections = 64\n")
    cfg = config.load(str(f), environ={})
    assert (cfg.http.request_timeout, cfg.http.max_connections) == (5.0, 64)
    assert config.load(None, environ={"EMQGW_HTTP__REQUEST_TIMEOUT": "2.5"}).http.request_timeout == 2.5
    assert (HttpConfig().request_timeout, HttpConfig().max_connections) == (20.0, 512)
    for bad in ("request_timeout = 0", "request_timeout = 7200", "max_connections = 0", 'request_timeout = "soon"'):
        f.write_text(f"[http]\n{bad}\n")
        with pytest.raises(config.ConfigError, match=f"'http.{bad.split()[0]}'"):
            config.load(str(f), environ={})
