#!/usr/bin/env python3
"""HTTP listing benchmark: `GET /api/v5/clients?limit=100` against a bare aiohttp JSON handler.

1. Throughput: with 10,000 connected MQTT clients, requests/s of `GET /api/v5/clients?limit=100`
   (API-key Basic auth) beside the requests/s of a bare aiohttp handler that builds and serializes 100
   full EMQX client objects (the same JSON work, none of the data gathering), measured with the same
   load generator in the same run.
   Target: >= 0.5 x the bare handler.
   The clients are idle, so after its first request the page is served from rows remembered per
   unchanged client (adapters/common/rows.py); the cost of rows rendered afresh is shown beside it:
   the mean latency of pages 2..100 walked once (every row new) and then again (every row known).
2. Page cost: mean latency of page 1 (limit=100) with 1,000 and then 100,000 sessions (persistent,
   offline: the listing shows them too). Target: within 1.5 x — listing is O(page), not O(clients).

The gateway runs as a real `emqgw serve` subprocess; the load generator is a separate process so the
two share the machine's cores, not an event loop. Only 127.0.0.1 is contacted; every loop is bounded;
subprocesses are killed on exit. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def connect_packet(clientid: str, clean: bool) -> bytes:
    cid = clientid.encode()
    body = (
        b"\x00\x04MQTT\x04"
        + bytes([0x02 if clean else 0x00])
        + (600).to_bytes(2, "big")
        + len(cid).to_bytes(2, "big")
        + cid
    )
    return bytes([0x10, len(body)]) + body


async def open_clients(port: int, n: int, prefix: str, *, keep: bool, clean: bool, concurrency: int = 200):
    """Connect n clients; keep their sockets open (connected) or disconnect (persistent offline)."""
    kept = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int):
        async with sem:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(connect_packet(f"{prefix}{i:06d}", clean))
            ack = await asyncio.wait_for(reader.readexactly(4), 30)
            if ack[3] != 0:
                raise RuntimeError(f"CONNACK refused: {ack!r}")
            if keep:
                kept.append(writer)
            else:
                writer.write(b"\xe0\x00")
                await writer.drain()
                writer.close()

    await asyncio.gather(*(one(i) for i in range(n)))
    return kept


def _load(url: str, headers: dict, seconds: float, concurrency: int, out) -> None:
    async def run():
        import aiohttp

        done = 0
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:

            async def worker():
                nonlocal done
                while time.monotonic() < deadline:
                    async with s.get(url, headers=headers) as r:
                        await r.read()
                        if r.status != 200:
                            raise RuntimeError(f"{url}: HTTP {r.status}")
                    done += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done

    out.put(asyncio.run(run()) / seconds)


def requests_per_second(url: str, headers: dict, seconds: float, concurrency: int) -> float:
    q = mp.Queue()
    p = mp.Process(target=_load, args=(url, headers, seconds, concurrency, q))
    p.start()
    try:
        return q.get(timeout=seconds + 60)
    finally:
        p.join(10)
        if p.is_alive():
            p.kill()


BARE_SERVER = r"""
import sys, orjson
from aiohttp import web
# The full EMQX 5 client object (reference §5.1), so the bare handler encodes what /clients encodes.
ROW = {"clientid": "01", "username": None, "node": "emqgw@127.0.0.1", "ip_address": "127.0.0.1", "port": 52571,
       "peerport": 52571, "listener": "tcp:default", "connected": True,
       "connected_at": "2024-01-01T12:34:56.789+08:00", "created_at": "2024-01-01T12:34:56.789+08:00",
       "keepalive": 60, "clean_start": True, "expiry_interval": 0, "proto_name": "MQTT", "proto_ver": 5,
       "is_bridge": False, "is_persistent": False, "durable": False, "enable_authn": True, "mountpoint": None,
       "subscriptions_cnt": 1, "subscriptions_max": "infinity", "inflight_cnt": 0, "inflight_max": 32,
       "mqueue_len": 0, "mqueue_max": 1000, "mqueue_dropped": 0, "awaiting_rel_cnt": 0, "awaiting_rel_max": 100,
       "recv_oct": 49, "send_oct": 31, "recv_cnt": 4, "send_cnt": 4, "recv_pkt": 4, "send_pkt": 4, "recv_msg": 0,
       "recv_msg.qos0": 0, "recv_msg.qos1": 0, "recv_msg.qos2": 0, "recv_msg.dropped": 0,
       "recv_msg.dropped.await_pubrel_timeout": 0, "send_msg": 0, "send_msg.qos0": 0, "send_msg.qos1": 0,
       "send_msg.qos2": 0, "send_msg.dropped": 0, "send_msg.dropped.expired": 0, "send_msg.dropped.queue_full": 0,
       "send_msg.dropped.too_large": 0, "mailbox_len": 0, "heap_size": 610, "reductions": 6836, "is_expired": False,
       "client_attrs": {}}
async def handler(request):
    rows = [dict(ROW, clientid=f"c{i:06d}", port=50000 + i) for i in range(100)]
    return web.Response(body=orjson.dumps({"data": rows, "meta": {"page": 1, "limit": 100, "count": 10000,
                                                                   "hasnext": True}}), content_type="application/json")
app = web.Application()
app.router.add_get("/bare", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *a: print("ready", flush=True))
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_gateway(data_dir: str) -> tuple[subprocess.Popen, int, int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--data-dir",
            data_dir,
            "--http-port",
            "0",
            "--v2-port",
            "off",
            "--v4-port",
            "off",
            "--mqtt-port",
            "0",
            "--ws-port",
            "off",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    http = mqtt = None
    deadline = time.monotonic() + 30
    while (http is None or mqtt is None) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("gateway exited before listening")
        m = re.search(r"listening: (http|mqtt tcp) 127\.0\.0\.1:(\d+)", line)
        if m:
            if m.group(1) == "http":
                http = int(m.group(2))
            else:
                mqtt = int(m.group(2))
    if http is None or mqtt is None:
        raise RuntimeError("gateway did not print its listening lines")
    return proc, http, mqtt


def api_key(data_dir: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "apikeys", "create", "bench", "--data-dir", data_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    token = f"{fields['api_key'].strip()}:{fields['api_secret'].strip()}".encode()
    return {"Authorization": "Basic " + base64.b64encode(token).decode()}


async def walk_pages(base: str, headers: dict, pages: range) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        start = time.perf_counter()
        for page in pages:
            async with s.get(f"{base}&page={page}", headers=headers) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"page {page}: HTTP {r.status}")
        return (time.perf_counter() - start) / len(pages)


async def page_latency(url: str, headers: dict, n: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        for _ in range(10):  # warm up
            async with s.get(url, headers=headers) as r:
                await r.read()
        start = time.perf_counter()
        for _ in range(n):
            async with s.get(url, headers=headers) as r:
                await r.read()
        return (time.perf_counter() - start) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=10_000, help="connected clients for the throughput phase")
    ap.add_argument("--sessions", type=int, default=100_000, help="sessions for the large page-cost measurement")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, args.clients * 2 + 1000)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.clients * 2:
        print(f"note: open-files limit {want} caps the connected clients", file=sys.stderr)
        args.clients = max(100, want // 2 - 500)

    procs = []
    try:
        with tempfile.TemporaryDirectory() as data:
            headers = api_key(data)
            gw, http, mqtt = start_gateway(data)
            procs.append(gw)
            bare_port = free_port()
            bare = subprocess.Popen(
                [sys.executable, "-c", BARE_SERVER, str(bare_port)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            procs.append(bare)
            bare.stdout.readline()

            async def phase_throughput():
                kept = await open_clients(mqtt, args.clients, "live", keep=True, clean=True)
                return kept

            loop = asyncio.new_event_loop()
            kept = loop.run_until_complete(phase_throughput())
            ours = requests_per_second(
                f"http://{HOST}:{http}/api/v5/clients?limit=100", headers, args.seconds, args.concurrency
            )
            base = requests_per_second(f"http://{HOST}:{bare_port}/bare", {}, args.seconds, args.concurrency)
            listing = f"http://{HOST}:{http}/api/v5/clients?limit=100"
            pages = range(2, min(101, args.clients // 100 + 1))
            cold = loop.run_until_complete(walk_pages(listing, headers, pages))
            warm = loop.run_until_complete(walk_pages(listing, headers, pages))
            for w in kept:
                w.close()
            loop.run_until_complete(asyncio.sleep(0.5))
            print(f"GET /api/v5/clients?limit=100 with {args.clients} connected clients")
            print(f"  emqgw        {ours:10.0f} req/s")
            print(f"  bare aiohttp {base:10.0f} req/s")
            print(f"  ratio        {ours / base:10.2f}   (target >= 0.5)")
            print(
                f"  pages 2..{pages[-1]}, one request at a time: {cold * 1000:.2f} ms/page rendered afresh, "
                f"{warm * 1000:.2f} ms/page remembered"
            )

            url = f"http://{HOST}:{http}/api/v5/clients?limit=100&page=1"
            loop.run_until_complete(open_clients(mqtt, 1000, "s", keep=False, clean=False))
            small = loop.run_until_complete(page_latency(url, headers, 300))
            loop.run_until_complete(open_clients(mqtt, args.sessions - 1000, "t", keep=False, clean=False))
            large = loop.run_until_complete(page_latency(url, headers, 300))
            loop.close()
            print("page 1 (limit=100) latency")
            print(f"  1,000 sessions      {small * 1000:8.2f} ms")
            print(f"  {args.sessions:,} sessions {large * 1000:8.2f} ms")
            print(f"  ratio               {large / small:8.2f}   (target <= 1.5)")
    finally:
        for p in procs:
            p.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
