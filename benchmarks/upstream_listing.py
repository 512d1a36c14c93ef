#!/usr/bin/env python3
"""Upstream-mode listing benchmark: a legacy listing through gateway A (upstream mode) against the same
listing asked of the upstream B directly, in the same run, with the same load generator.

B is a real `emqgw serve` with its embedded broker and N connected MQTT clients (default 2,000); A is a
real `emqgw serve` with `[upstream]` pointing at B's `/api/v5` (its key from an EMQX bootstrap file), one
A speaking EMQX 4's flavor of `/api/v4` and one NanoMQ's.
Each listing is asked of both, requests/s at the same concurrency, A and B alternated over several rounds
(medians shown: on a shared machine the load drifts between two long runs):

* EMQ 2.3's `GET /api/v2/nodes/{node}/clients?curr_page=1&page_size=100` (one upstream page);
* EMQX 4's `GET /api/v4/clients?_page=2&_limit=100` (one upstream page, B serving the EMQX 4 flavor too);
* NanoMQ's unpaged `GET /api/v4/clients` (every client: A walks B's largest pages), asked of A only,
  beside EMQX 5's `/api/v5/clients?limit=10000` asked of B (the same rows as one page).

The load generator is a separate process with one keep-alive connection per concurrent request, reading
each answer's status line and Content-Length (`--load raw`, the default): it spends about 0.03 ms per
request where aiohttp's client (`--load aiohttp`) spends 0.08-0.14 ms, CPU taken from the very cores A
and B share, which skewed the comparison (the direct run had B on one core and the load generator on
the other; through A, three processes shared two).

Beside each rate, the CPU milliseconds per request of A, B and the load generator, through A and
directly, and "by CPU": the ratio of the two sums, what the ratio would be if every core were busy
(it moves much less than the rates when other work takes cores during a run; as A does all the HTTP
work B does plus its call to B, it stays below 0.5 by construction).

Target (issue #12): >= 0.5 x the direct figure. A's cost over B's is one more HTTP hop, the page's JSON
decoded and re-rendered in the legacy dialect; the upstream calls A made are counted too (B's usage
report, through `GET /api/v5/gateway/usage`): one per legacy page. Only 127.0.0.1 is contacted; every
subprocess is killed on exit. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_listing import HOST, ROOT, Session, cpu_seconds, open_sessions, requests_per_second  # noqa: E402

KEY, SECRET = "bench-upstream", "bench-upstream-secret-0123456789abcdef"
ADMIN = {"Authorization": "Basic " + base64.b64encode(b"admin:public").decode()}
V5 = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()}


def start(data_dir: str, config: str, *extra: str) -> tuple[subprocess.Popen, int, int | None]:
    """`emqgw serve`; its main HTTP port and its MQTT port (None in upstream mode)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", config, "--data-dir", data_dir]
        + ["--http-port", "0", "--v2-port", "off", "--v4-port", "off", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    http = mqtt = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("emqgw exited before listening")
        m = re.search(r"listening: (http|mqtt tcp) 127\.0\.0\.1:(\d+)", line)
        if m and m.group(1) == "http":
            http = int(m.group(2))
        elif m:
            mqtt = int(m.group(2))
        if http is not None and (mqtt is not None or "--mqtt-port" not in extra):
            return proc, http, mqtt
    raise RuntimeError("emqgw did not print its listening lines")


class _KeepAlive(asyncio.Protocol):
    """One keep-alive connection asking one GET again and again; an answer is counted once its status
    line says 200 and its Content-Length of body has come (any other status stops the run)."""

    def __init__(self, request: bytes):
        self.request = request
        self.buf = bytearray()
        self.need = -1  # bytes of the answer being read, head and body; -1 until its head is in
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            if not head.startswith(b"http/1.1 200 "):
                self.waiter.set_exception(RuntimeError(head.split(b"\r\n", 1)[0].decode()))
                return
            length = head.split(b"\r\ncontent-length:", 1)[1].split(b"\r\n", 1)[0]
            self.need = end + 4 + int(length)
        if len(self.buf) >= self.need:
            del self.buf[: self.need]
            self.need = -1
            self.waiter.set_result(None)

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("closed"))

    async def ask(self) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(self.request)
        await self.waiter


def _raw_load(url: str, headers: dict, seconds: float, concurrency: int, out) -> None:
    """http_listing's load, costing the shared cores less: a keep-alive connection per concurrent request
    on uvloop, reading only the status line and the Content-Length (aiohttp's client spends 3-5x the
    CPU per request). Puts requests/s on ``out``."""
    import uvloop

    parts = urllib.parse.urlsplit(url)
    head = [f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1", f"Host: {parts.netloc}"]
    request = "\r\n".join([*head, *(f"{k}: {v}" for k, v in headers.items()), "", ""]).encode()

    async def run() -> int:
        loop = asyncio.get_running_loop()
        conns = [
            (await loop.create_connection(lambda: _KeepAlive(request), parts.hostname, parts.port))[1]
            for _ in range(concurrency)
        ]
        done = 0
        deadline = time.monotonic() + seconds

        async def worker(conn: _KeepAlive) -> None:
            nonlocal done
            while time.monotonic() < deadline:
                await conn.ask()
                done += 1

        await asyncio.gather(*(worker(c) for c in conns))
        for c in conns:
            c.transport.close()
        return done

    out.put(uvloop.run(run()) / seconds)


def upstream_calls(b_http: int) -> int:
    req = urllib.request.Request(f"http://{HOST}:{b_http}/api/v5/gateway/usage?dialect=v5", headers=V5)
    with urllib.request.urlopen(req, timeout=10) as r:
        rows = orjson.loads(r.read())
    rows = rows["data"] if isinstance(rows, dict) else rows
    return sum(row["count"] for row in rows if not row["route"].startswith("/gateway/"))  # not this count


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's ended and waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="alternated A/B measurements; medians are shown")
    ap.add_argument(
        "--load",
        choices=("raw", "aiohttp"),
        default="raw",
        help="the load generator: raw keep-alive connections (default) or aiohttp's client (5x its CPU)",
    )
    args = ap.parse_args()
    load = _raw_load if args.load == "raw" else None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, args.clients * 2 + 1000)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    procs: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            keys = os.path.join(tmp, "keys.txt")
            with open(keys, "w") as f:
                f.write(f"{KEY}:{SECRET}\n")
            b_conf = os.path.join(tmp, "b.toml")
            with open(b_conf, "w") as f:
                f.write(f'[http]\napi_key_bootstrap_file = "{keys}"\nv4_flavor = "emqx4"\n')
            os.mkdir(os.path.join(tmp, "b"))
            b, b_http, b_mqtt = start(os.path.join(tmp, "b"), b_conf, "--mqtt-port", "0", "--ws-port", "off")
            procs.append(b)
            # Two A's: one speaking EMQX 4's flavor of /api/v4, one NanoMQ's (unpaged) listing.
            gateways = {}
            for flavor in ("emqx4", "nanomq"):
                conf = os.path.join(tmp, f"a-{flavor}.toml")
                with open(conf, "w") as f:
                    f.write(f'[http]\nv4_flavor = "{flavor}"\n[upstream]\nurl = "http://{HOST}:{b_http}/api/v5"\n')
                    f.write(f'bootstrap_file = "{keys}"\n')
                os.mkdir(os.path.join(tmp, f"a-{flavor}"))
                proc, port, _ = start(os.path.join(tmp, f"a-{flavor}"), conf)
                procs.append(proc)
                gateways[flavor] = proc, port

            loop = asyncio.new_event_loop()
            clients = [Session(f"up{i:05d}", clean=True, keep=True) for i in range(args.clients)]
            kept = loop.run_until_complete(open_sessions(b_mqtt, clients))
            with urllib.request.urlopen(
                urllib.request.Request(f"http://{HOST}:{b_http}/api/v5/nodes", headers=V5), timeout=10
            ) as r:
                node = orjson.loads(r.read())[0]["node"]

            def run(a: subprocess.Popen, port: int, path: str, headers: dict) -> tuple[float, float, float, float]:
                """(requests/s, CPU milliseconds per request of A, of B and of the load generator) of one
                measurement. The load generator is a child process this one waits for: its CPU is in
                RUSAGE_CHILDREN once it has ended (A and B, still running, are not yet)."""
                before = cpu_seconds(a.pid), cpu_seconds(b.pid), children_cpu()
                rate = requests_per_second(f"http://{HOST}:{port}{path}", headers, args.seconds, args.concurrency, load)
                after = cpu_seconds(a.pid), cpu_seconds(b.pid), children_cpu()
                done = rate * args.seconds
                a_ms, b_ms, load_ms = ((t1 - t0) * 1000 / done for t0, t1 in zip(before, after, strict=True))
                return rate, a_ms, b_ms, load_ms

            print(
                f"{args.clients} connected clients on B; {args.concurrency} concurrent requests ({args.load} load "
                f"generator); medians of {args.rounds} alternated runs of {args.seconds:g} s"
            )
            print(
                f"{'listing':58} {'via A':>6} {'direct':>6} {'ratio':>5}  {'by CPU':>6}  calls/page  "
                "CPU ms/request via A: A + B + load; direct: B + load"
            )
            rows = (
                ("emqx4", f"/api/v2/nodes/{node}/clients?curr_page=1&page_size=100", None),
                ("emqx4", "/api/v4/clients?_page=2&_limit=100", None),
                ("nanomq", "/api/v4/clients  (NanoMQ, unpaged; B: v5 limit=10000)", "/api/v5/clients?limit=10000"),
            )
            for flavor, path, direct in rows:
                a, a_http = gateways[flavor]
                a_path, headers = path.split()[0], ADMIN
                before = upstream_calls(b_http)
                one = urllib.request.Request(f"http://{HOST}:{a_http}{a_path}", headers=headers)
                with urllib.request.urlopen(one, timeout=30) as r:
                    r.read()
                per_page = upstream_calls(b_http) - before
                # Alternated, several rounds: on a shared machine the load drifts between two long runs.
                vias, straights = [], []
                for _ in range(args.rounds):
                    vias.append(run(a, a_http, a_path, headers))
                    straights.append(run(a, b_http, direct or a_path, V5 if direct else headers))
                via, via_a, via_b, via_load = (statistics.median(f[i] for f in vias) for i in range(4))
                straight, _, straight_b, straight_load = (statistics.median(f[i] for f in straights) for i in range(4))
                # The ratio when the cores A, B and the load generator share are the limit: CPU per request.
                by_cpu = (straight_b + straight_load) / (via_a + via_b + via_load)
                print(
                    f"{path:58} {via:6.0f} {straight:6.0f} {via / straight:5.2f}  {by_cpu:6.2f}  {per_page:10}  "
                    f"{via_a:.2f} + {via_b:.2f} + {via_load:.2f}; {straight_b:.2f} + {straight_load:.2f}"
                )
                print(
                    f"{'':58} rounds via A: {' '.join(f'{f[0]:.0f}' for f in vias)}; "
                    f"direct: {' '.join(f'{f[0]:.0f}' for f in straights)}"
                )
            load = " ".join(f"{v:.2f}" for v in os.getloadavg())
            print(f"target: ratio >= 0.5; load average (1, 5, 15 min) at the end: {load}")
            for w in kept:
                w.close()
            loop.close()
    finally:
        for p in procs:
            p.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
