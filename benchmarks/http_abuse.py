#!/usr/bin/env python3
"""HTTP abuse figures (issue "Hold up under abuse", its HTTP items), against a real `emqgw serve`.

1. Slow connections: N connections (default 400) to the main HTTP listener that never finish a request,
   a quarter each sending nothing, half a request line, headers a byte at a time and a body a byte at a
   time, with the gateway's default deadline (``[http] request_timeout``, or ``--request-timeout``).
   Figures: how many the server closed, and after how long; meanwhile the latency of `GET /status` from
   a well-behaved client (once a second) and whether MQTT clients still get their CONNACK.
   Bar: all closed within 30 s; the well-behaved client always answered.
2. Open files: the gateway started with an open-file limit of 1,024, then 1,100 idle HTTP connections;
   then 20 MQTT clients connect. Figure: how many got a CONNACK (before: 0, reset without a word).
   Bar: all 20.
3. Bad input: every route of the three dialects, both `/api/v4` flavors (one gateway each), with the
   bad requests of tests/bad_input_helpers.py (oversized integers, `%00`, wrong body types). Figures:
   requests sent, answers by status class, tracebacks on the gateway's stderr.
   Bar: no 5xx, no traceback.

Only 127.0.0.1 is contacted; every wait is bounded; the gateways started are killed on exit. Figures are
printed, never asserted; the exit status is 0 when the run finished.

    python benchmarks/http_abuse.py [--connections 400] [--request-timeout S] [--skip slow,files,input]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import aiohttp  # noqa: E402
from yarl import URL  # noqa: E402

from tests.bad_input_helpers import CLIENTID, sweep  # noqa: E402

HOST = "127.0.0.1"
# A bad request still gets an answer this soon, or counts as a failure of its own.
ANSWER_WITHIN = aiohttp.ClientTimeout(total=10)
BASIC = {"Authorization": "Basic " + base64.b64encode(b"admin:public").decode()}
SLOW_KINDS = {
    "silent": (b"", b""),
    "half request line": (b"GET /sta", b""),
    "headers, a byte at a time": (b"GET /status HTTP/1.1\r\nHost: b\r\n", b"X"),
    "body, a byte at a time": (
        b"POST /api/v5/login HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: 9999\r\n\r\n",
        b" ",
    ),
}


class Gateway:
    """One `emqgw serve` subprocess on ephemeral ports, killed when the block ends."""

    def __init__(self, *args: str, env: dict | None = None, nofile: int | None = None) -> None:
        self.data = tempfile.mkdtemp(prefix="http-abuse-")
        limit = None if nofile is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)))
        # Its log goes to a file: a pipe nobody reads while it logs would stall it.
        self.log = open(Path(self.data) / "stderr.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", self.data, "--http-port", "0"]
            + ["--v2-port", "off", "--v4-port", "off", "--mqtt-port", "0", "--ws-port", "off", *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            preexec_fn=limit,
        )
        self.http = self.mqtt = 0
        end = time.monotonic() + 20
        while not (self.http and self.mqtt) and time.monotonic() < end:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"emqgw serve did not start: {self.stop()}")
            port = int(line.split()[3 if line.startswith("listening: mqtt") else 2].rsplit(":", 1)[1])
            if line.startswith("listening: http"):
                self.http = port
            elif line.startswith("listening: mqtt tcp"):
                self.mqtt = port

    def stop(self) -> str:
        """Kill it; what it wrote on stderr."""
        self.proc.kill()
        self.proc.communicate(timeout=10)
        self.log.seek(0)
        err = self.log.read()
        self.log.close()
        return err


async def connack(port: int, clientid: str) -> bool:
    cid = clientid.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 5)
        writer.write(bytes([0x10, len(body)]) + body)
        ack = await asyncio.wait_for(reader.readexactly(4), 5)
        writer.close()
        return ack[0] == 0x20 and ack[3] == 0
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        return False


async def slow_client(port: int, first: bytes, drip: bytes, limit: float) -> float | None:
    """Seconds until the server closed the connection, None if it was still open after ``limit``."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(first)
        while time.monotonic() - started < limit:
            try:
                if not await asyncio.wait_for(reader.read(4096), 1.0):
                    return time.monotonic() - started
            except TimeoutError:
                if drip:
                    writer.write(drip)
    except ConnectionError:
        return time.monotonic() - started
    finally:
        writer.close()
    return None


async def slow_connections(n: int, request_timeout: float | None) -> None:
    env = {} if request_timeout is None else {"EMQGW_HTTP__REQUEST_TIMEOUT": str(request_timeout)}
    gw = Gateway(env=env)
    limit = 60.0
    try:
        kinds = list(SLOW_KINDS.items())
        tasks = [asyncio.ensure_future(slow_client(gw.http, *kinds[i % len(kinds)][1], limit=limit)) for i in range(n)]
        latencies: list[float] = []
        mqtt_ok = mqtt_tried = 0
        async with aiohttp.ClientSession() as session:
            while not all(t.done() for t in tasks):
                started = time.monotonic()
                try:
                    async with session.get(f"http://{HOST}:{gw.http}/status", timeout=aiohttp.ClientTimeout(5)) as r:
                        await r.read()
                        latencies.append((time.monotonic() - started) * 1000 if r.status == 200 else float("inf"))
                except (aiohttp.ClientError, TimeoutError):
                    latencies.append(float("inf"))
                mqtt_tried += 1
                mqtt_ok += await connack(gw.mqtt, f"bench-{mqtt_tried}")
                await asyncio.sleep(1.0)
        closed = [t.result() for t in tasks]
    finally:
        err = gw.stop()
    by_kind: dict[str, list[float | None]] = {name: closed[i :: len(kinds)] for i, (name, _) in enumerate(kinds)}
    deadline = "default" if request_timeout is None else f"{request_timeout:g} s"
    print(f"\n1. Slow connections: {n} to the main listener, request_timeout {deadline}")
    print(f"   {'kind':<28} {'closed':>9} {'first':>8} {'median':>8} {'last':>8}")
    for name, times in by_kind.items():
        done = sorted(t for t in times if t is not None)
        row = (f"{min(done):.1f} s", f"{statistics.median(done):.1f} s", f"{max(done):.1f} s") if done else ("-",) * 3
        print(f"   {name:<28} {len(done):>4} / {len(times):<3} {row[0]:>8} {row[1]:>8} {row[2]:>8}")
    every = [t for t in closed if t is not None]
    last = f"{max(every):.1f} s" if every else "-"
    print(f"   all: {len(every)} of {n} closed, the last after {last} (bar: all, within 30 s)")
    answered = [x for x in latencies if x != float("inf")]
    if answered:
        p99 = sorted(answered)[max(0, int(len(answered) * 0.99) - 1)]
        figures = f"median {statistics.median(answered):.1f} ms, p99 {p99:.1f} ms"
    else:
        figures = "none answered"
    print(f"   well-behaved GET /status meanwhile: {len(answered)} of {len(latencies)} answered, {figures}")
    print(f"   MQTT CONNACK meanwhile: {mqtt_ok} of {mqtt_tried}")
    if "Traceback" in err:
        print("   the gateway logged a traceback")


async def open_files(idle: int = 1100, limit: int = 1024, mqtt_clients: int = 20) -> None:
    gw = Gateway(nofile=limit)
    held = []
    try:
        for _ in range(idle):
            try:
                held.append(await asyncio.wait_for(asyncio.open_connection(HOST, gw.http), 5))
            except (OSError, TimeoutError):
                break
        await asyncio.sleep(0.5)
        ok = sum([await connack(gw.mqtt, f"files-{i}") for i in range(mqtt_clients)])
    finally:
        for _reader, writer in held:
            writer.close()
        err = gw.stop()
    print(f"\n2. Open files: gateway limited to {limit} descriptors, {len(held)} idle HTTP connections opened")
    print(f"   MQTT clients answered with CONNACK: {ok} of {mqtt_clients} (bar: all)")
    refusals = [line for line in err.splitlines() if "refusing more" in line]
    if refusals:
        print(f"   gateway said: {refusals[0].split(': ', 1)[1]}")


async def sweep_one_flavor(flavor: str) -> tuple[int, Counter[str], list[str], int]:
    """The bad-input sweep against a gateway answering `/api/v4` as ``flavor``: requests sent, answers by
    status class, the 5xx ones, tracebacks on its stderr."""
    from gateway.accounts import AccountStore
    from gateway.config import GatewayConfig, HttpConfig
    from gateway.http.context import GatewayContext
    from gateway.runtime import ADAPTERS

    dashboard = Path(tempfile.mkdtemp(prefix="dashboard-"))
    (dashboard / "static").mkdir()
    (dashboard / "index.html").write_text("<html></html>")
    gw = Gateway("--dashboard-dir", str(dashboard), env={"EMQGW_HTTP__V4_FLAVOR": flavor})
    classes: Counter[str] = Counter()
    try:
        # The route tables are data: the same dialects, built here without a broker behind them.
        scratch = tempfile.mkdtemp(prefix="tables-")
        ctx = GatewayContext(
            config=GatewayConfig(data_dir=scratch, http=HttpConfig(v4_flavor=flavor)),
            control=None,  # type: ignore[arg-type]
            accounts=AccountStore(f"{scratch}/tables.db"),
        )
        dialects = [pkg.create_dialect(ctx) for pkg in ADAPTERS.values()]
        base = f"http://{HOST}:{gw.http}"
        async with aiohttp.ClientSession() as session:
            login = {"username": "admin", "password": "public"}
            async with session.post(f"{base}/api/v5/login", json=login) as r:
                bearer = {"Authorization": f"Bearer {(await r.json())['token']}"}
            async with session.get(f"{base}/api/v5/nodes", headers=bearer) as r:
                node = (await r.json())[0]["node"]
            # The client id the sweep names in its paths, connected.
            _reader, writer = await asyncio.open_connection(HOST, gw.mqtt)
            cid = CLIENTID.encode()
            body = b"\x00\x04MQTT\x04\x02\x02\x58" + len(cid).to_bytes(2, "big") + cid
            writer.write(bytes([0x10, len(body)]) + body)

            async def send(dialect: str, method: str, url: str, body) -> tuple[int, str]:
                headers = {**(bearer if dialect == "v5" else BASIC), "Content-Type": "application/json"}
                kw = {"headers": headers} if body is None else {"headers": headers, "json": body}
                try:
                    async with session.request(method, URL(base + url, encoded=True), timeout=ANSWER_WITHIN, **kw) as r:
                        classes[f"{r.status // 100}xx"] += 1
                        return r.status, await r.text()
                except TimeoutError:
                    classes["no answer"] += 1
                    return 599, f"no answer within {ANSWER_WITHIN.total:g} s"

            sent, failures = await sweep(send, dialects, node)
            writer.close()
    finally:
        err = gw.stop()
    return sent, classes, failures, err.count("Traceback")


async def bad_input() -> None:
    print("\n3. Bad input on every route")
    print(f"   {'v4 flavor':<10} {'requests':>9} {'2xx':>6} {'4xx':>6} {'5xx':>5} {'no answer':>10} {'tracebacks':>11}")
    for flavor in ("nanomq", "emqx4"):
        sent, c, failures, tracebacks = await sweep_one_flavor(flavor)
        five = len(failures) - c["no answer"]
        print(f"   {flavor:<10} {sent:>9} {c['2xx']:>6} {c['4xx']:>6} {five:>5} {c['no answer']:>10} {tracebacks:>11}")
        for line in failures[:10]:
            print(f"      {line}")
    print("   bar: no 5xx, every request answered, no traceback")


async def main() -> None:
    # This side holds the slow and idle connections: as many descriptors as the system lets it have.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=400, help="slow connections (default 400)")
    p.add_argument("--request-timeout", type=float, help="the gateway's [http] request_timeout (default: its own)")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: slow, files, input")
    args = p.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if "slow" not in skip:
        await slow_connections(args.connections, args.request_timeout)
    if "files" not in skip:
        await open_files()
    if "input" not in skip:
        await bad_input()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
