#!/usr/bin/env python3
"""HTTP listing benchmark: each listing figure of issue #14 as a same-run ratio against its reference.

1. Throughput, with 10,000 connected MQTT clients (``--clients``): requests/s of
   - v5 `GET /api/v5/clients?limit=100` (API-key Basic auth),
   - v2 `GET /api/v2/nodes/{node}/clients?curr_page=1&page_size=100` (dashboard user),
   - NanoMQ `GET /api/v4/clients` (every client, one answer),
   each beside the requests/s of a bare aiohttp handler that builds and encodes the same rows (taken
   from the gateway's own answer, one per client id) in the same envelope, measured with the same load
   generator (a separate process, 32 concurrent requests, ``--seconds`` each) in the same run,
   ``--repeat`` times interleaved (the median counts). Budgets: v5 >= 0.7, v2 >= 0.5, NanoMQ >= 0.5 x.
2. Page cost: latency of page 1 of every listing of every dialect under every filter it offers, on a
   gateway holding 1,000 sessions (``--small``) and one holding 100,000 (``--sessions``), the two
   taking turns (``--rounds`` of ``--requests`` sequential requests, the median round counts), and
   the ratio. Budget: <= 1.5 x. The
   sessions are built so that each filter matches either a fixed set (connected: 100, from 127.0.0.2:
   50, a queue: 50, a shared subscription: 50) or a fixed share of all (usernames user0..4, protocol
   levels 3/4/5, topics bench/0..4/#, QoS 0/1/2, created and connected before or after a mark), so
   that page 1 is as full at both sizes and the ratio shows what a listing costs as the sessions
   grow, not how many rows it finds. Filters combined are read from one index and counted by it when
   they are all few-valued (state, clean start, protocol); any other combination is counted by
   reading the smaller filter's matches whole: those rows say "intersects" and show what that costs. NanoMQ
   answers every match unpaged: only its fixed-set filters are measured. EMQX 4's figures come from
   a second pair of gateways (``[http] v4_flavor = "emqx4"``) built the same way.
   Rows marked `no index` are `like` substrings: nothing indexes "contains", a page reads sessions until
   it has its rows; a rare substring reads them all (its row shows what that costs).

The gateways run as real `emqgw serve` subprocesses; clients are raw sockets speaking MQTT 3.1, 3.1.1
and 5 from 127.0.0.1 and 127.0.0.2. Only 127.0.0.x is contacted; every loop is bounded; subprocesses
are killed on exit. Figures are printed (and written with ``--json``), never asserted: the budgets are
shown beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import multiprocessing as mp
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

from broker_throughput import wait_quiet  # run as a script: benchmarks/ is on the path

HOST = "127.0.0.1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = "emqgw@127.0.0.1"

# -- MQTT, as bytes -------------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def connect_packet(clientid: str, *, level: int, clean: bool, username: str | None) -> bytes:
    name = b"MQIsdp" if level == 3 else b"MQTT"
    flags = (0x02 if clean else 0) | (0x80 if username is not None else 0)
    var = len(name).to_bytes(2, "big") + name + bytes([level, flags]) + (600).to_bytes(2, "big")
    if level == 5:
        # A persistent v5 session needs a Session Expiry Interval (0x11) to outlive its connection.
        props = b"" if clean else b"\x11" + (7200).to_bytes(4, "big")
        var += _varint(len(props)) + props
    payload = _utf8(clientid) + (_utf8(username) if username is not None else b"")
    body = var + payload
    return b"\x10" + _varint(len(body)) + body


def subscribe_packet(level: int, pid: int, topics: list[tuple[str, int]]) -> bytes:
    body = pid.to_bytes(2, "big") + (b"\x00" if level == 5 else b"")
    for topic, qos in topics:
        body += _utf8(topic) + bytes([qos])
    return b"\x82" + _varint(len(body)) + body


def publish_packet(topic: str, pid: int, payload: bytes) -> bytes:
    body = _utf8(topic) + pid.to_bytes(2, "big") + payload
    return b"\x32" + _varint(len(body)) + body  # QoS 1


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return first >> 4, await reader.readexactly(length)


class Session:
    """One session to create: who, how, what it subscribes to, and whether it stays connected."""

    __slots__ = ("clientid", "level", "clean", "username", "source", "topics", "keep")

    def __init__(self, clientid, *, level=4, clean=False, username=None, source=HOST, topics=(), keep=False):
        self.clientid, self.level, self.clean, self.username = clientid, level, clean, username
        self.source, self.topics, self.keep = source, list(topics), keep


async def open_sessions(port: int, sessions: list[Session], concurrency: int = 200) -> list:
    """Connect (and subscribe) every session; keep the connected ones' writers, disconnect the rest."""
    kept = []
    sem = asyncio.Semaphore(concurrency)

    async def one(s: Session):
        async with sem:
            # Bind only for another source address: a bound port cannot be reused from TIME_WAIT, and
            # 100,000 sessions opened and closed here would run out of them.
            source = {} if s.source == HOST else {"local_addr": (s.source, 0)}
            reader, writer = await asyncio.open_connection(HOST, port, **source)
            writer.write(connect_packet(s.clientid, level=s.level, clean=s.clean, username=s.username))
            kind, body = await asyncio.wait_for(read_packet(reader), 60)
            if kind != 2 or body[1] != 0:
                raise RuntimeError(f"{s.clientid}: CONNACK refused: {body!r}")
            if s.topics:
                writer.write(subscribe_packet(s.level, 1, s.topics))
                kind, _ = await asyncio.wait_for(read_packet(reader), 60)
                if kind != 9:
                    raise RuntimeError(f"{s.clientid}: no SUBACK")
            if s.keep:
                kept.append(writer)
            else:
                # DISCONNECT, then let the broker close first: the TIME_WAIT it leaves is on its own
                # port, not on one of the ephemeral ports every other program on the machine binds from.
                writer.write(b"\xe0\x00")
                await asyncio.wait_for(reader.read(), 30)
                writer.close()

    await asyncio.gather(*(one(s) for s in sessions))
    return kept


async def publish(port: int, topic: str, count: int) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(connect_packet("bench-publisher", level=4, clean=True, username=None))
    await read_packet(reader)
    for pid in range(1, count + 1):
        writer.write(publish_packet(topic, pid, b"x"))
    for _ in range(count):
        await asyncio.wait_for(read_packet(reader), 30)  # PUBACK
    writer.write(b"\xe0\x00")
    await asyncio.wait_for(reader.read(), 30)
    writer.close()


# -- the population of the page-cost figures ---------------------------------------------------------

FIXED = 50  # sessions in each fixed set (connected: twice that)


def fixed_sessions() -> list[Session]:
    """The sets whose size does not grow with the sessions: what the fixed-set filters find."""
    out = [Session(f"live{i:03d}", clean=True, username="live", keep=True) for i in range(2 * FIXED)]
    out += [Session(f"other{i:03d}", source="127.0.0.2", username="other") for i in range(FIXED)]
    out += [Session(f"queued{i:03d}", username="queued", topics=[("bench/queue", 1)]) for i in range(FIXED)]
    out += [Session(f"shared{i:03d}", username="shared", topics=[("$share/g/bench/shared", 1)]) for i in range(FIXED)]
    return out


def generic_sessions(start: int, stop: int) -> list[Session]:
    """Offline persistent sessions, each filter finding a fixed share of them."""
    return [
        Session(
            f"s{i:06d}",
            level=(3, 4, 5)[i % 3],
            username=f"user{i % 5}",
            topics=[(f"bench/{i % 5}/#", i % 3)],
        )
        for i in range(start, stop)
    ]


def page_urls(flavor: str, mark: float) -> list[tuple[str, str, str]]:
    """(dialect, listing and filter, path) for every page-1 figure a gateway of this v4 flavor serves;
    v5's and v2's are measured once, beside NanoMQ's. MARK in a filter is the gateway's time mark."""
    if flavor == "emqx4":
        return emqx4_urls(mark)
    return v5_urls(mark) + v2_urls() + nanomq_urls()


def v5_urls(mark: float) -> list[tuple[str, str, str]]:
    ms = int(mark * 1000)
    q = urllib.parse.quote
    v5 = [
        ("clients", ""),
        ("clients", "conn_state=connected"),
        ("clients", "conn_state=disconnected"),
        ("clients", "username=user3"),
        ("clients", "username=user3&username=user4"),
        ("clients", "clientid=s000042&clientid=live007"),
        ("clients", "ip_address=127.0.0.2"),
        ("clients", "clean_start=true"),
        ("clients", "clean_start=false"),
        ("clients", "proto_ver=5"),
        ("clients", "gte_created_at=MARK"),
        ("clients", "lte_created_at=MARK"),
        ("clients", "gte_connected_at=MARK"),
        ("clients", "lte_connected_at=MARK"),
        ("clients", "conn_state=disconnected&proto_ver=4"),
        ("clients", "conn_state=disconnected&clean_start=false&proto_ver=5"),
        ("clients", "conn_state=connected&username=live"),
        ("clients", "username=user3&proto_ver=4"),
        ("clients", "conn_state=disconnected&gte_created_at=MARK"),
        ("clients", "like_clientid=7"),
        ("clients", "like_username=er3"),
        ("clients", "like_clientid=hared0"),
        ("subscriptions", ""),
        ("subscriptions", "clientid=s000042"),
        ("subscriptions", f"topic={q('bench/3/#', safe='')}"),
        ("subscriptions", "qos=1"),
        ("subscriptions", "share_group=g"),
        ("subscriptions", "match_topic=bench/3/x"),
    ]
    return [
        ("v5", f"{what} {query}".strip(), f"/api/v5/{what}?limit=100&page=1&{query.replace('MARK', str(ms))}")
        for what, query in v5
    ]


def v2_urls() -> list[tuple[str, str, str]]:
    return [
        ("v2", "clients (connected)", f"/api/v2/nodes/{NODE}/clients?curr_page=1&page_size=100"),
        ("v2", "sessions", f"/api/v2/nodes/{NODE}/sessions?curr_page=1&page_size=100"),
        ("v2", "subscriptions", f"/api/v2/nodes/{NODE}/subscriptions?curr_page=1&page_size=100"),
    ]


def nanomq_urls() -> list[tuple[str, str, str]]:
    """NanoMQ answers every match unpaged: its filters that find a fixed set."""
    return [
        ("nanomq", "clients conn_state=connected", "/api/v4/clients?conn_state=connected"),
        ("nanomq", "clients username=other", "/api/v4/clients?username=other"),
        ("nanomq", "clients clientid", "/api/v4/clients?clientid=s000042"),
        ("nanomq", "clients/{clientid}", "/api/v4/clients/live007"),
        ("nanomq", "clients/username/{username}", "/api/v4/clients/username/queued"),
        ("nanomq", "subscriptions clientid", "/api/v4/subscriptions?clientid=shared007"),
        ("nanomq", "subscriptions share", "/api/v4/subscriptions?share=g"),
    ]


def emqx4_urls(mark: float) -> list[tuple[str, str, str]]:
    secs = int(mark)
    q = urllib.parse.quote
    e4 = [
        ("clients", ""),
        ("clients", "conn_state=connected"),
        ("clients", "conn_state=disconnected"),
        ("clients", "username=user3"),
        ("clients", "ip_address=127.0.0.2"),
        ("clients", "clean_start=true"),
        ("clients", "proto_name=MQIsdp"),
        ("clients", "proto_ver=5"),
        ("clients", "_gte_created_at=MARK"),
        ("clients", "_lte_created_at=MARK"),
        ("clients", "_gte_connected_at=MARK"),
        ("clients", "_lte_connected_at=MARK"),
        ("clients", "_gte_mqueue_len=1"),
        ("clients", "_lte_mqueue_len=0"),
        ("clients", "_gte_mqueue_len=3&_lte_mqueue_len=20"),
        ("clients", "_gte_mqueue_dropped=1"),
        ("clients", "_lte_mqueue_dropped=0"),
        ("clients", "_like_clientid=7"),
        ("clients", "_like_username=er3"),
        ("subscriptions", ""),
        ("subscriptions", "clientid=s000042"),
        ("subscriptions", "qos=1"),
        ("subscriptions", "share=g"),
        ("subscriptions", "_match_topic=bench/3/x"),
        ("subscriptions", f"topic={q('$share/g/bench/shared', safe='')}"),
    ]
    return [
        ("emqx4", f"{w} {qs}".strip(), f"/api/v4/{w}?_page=1&_limit=100&{qs.replace('MARK', str(secs))}")
        for w, qs in e4
    ]


def verdict_kind(label: str) -> str:
    """How a row's ratio is judged: `like` substrings have no index; other combinations than of the
    few-valued filters are counted by intersecting (v5 counts exact filters, EMQX 4 does not count)."""
    if "like_" in label:
        return "no index"
    query = label.split(" ", 2)[-1]
    names = {part.split("=")[0].lstrip("_") for part in query.split("&") if "=" in part}
    few = {"conn_state", "clean_start", "proto_ver", "proto_name"}
    if label.startswith("v5 clients") and len(names) > 1 and not names <= few:
        return "intersects"
    return "budget"


# -- the gateway and its references ------------------------------------------------------------------


def start_gateway(data_dir: str, env: dict) -> tuple[subprocess.Popen, int, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", data_dir, "--http-port", "0"]
        + ["--v2-port", "off", "--v4-port", "off", "--mqtt-port", "0", "--ws-port", "off"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )
    http = mqtt = None
    deadline = time.monotonic() + 60
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


def basic(user: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def api_key(data_dir: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "apikeys", "create", "bench", "--data-dir", data_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return basic(fields["api_key"].strip(), fields["api_secret"].strip())


DASHBOARD = basic("admin", "public")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


BARE_SERVER = r"""
import json, sys, orjson
from aiohttp import web
# Each reference: the envelope of a real answer and one of its rows; the handler builds one row per
# client id (as any handler turning records into dicts would) and encodes the whole answer.
refs = json.load(open(sys.argv[2]))
def handler_for(ref):
    row, n, key, shape = ref["row"], ref["rows"], ref["key"], ref["shape"]
    async def handler(request):
        rows = [dict(row, **{key: f"c{i:06d}"}) for i in range(n)]
        if shape == "v5":
            body = {"data": rows, "meta": {"page": 1, "limit": n, "count": ref["total"], "hasnext": True}}
        elif shape == "v2":
            body = {"code": 0, "result": {"current_page": 1, "page_size": n, "total_num": ref["total"],
                                          "total_page": -(-ref["total"] // n), "objects": rows}}
        else:
            body = {"code": 0, "data": rows}
        return web.Response(body=orjson.dumps(body), content_type="application/json")
    return handler
app = web.Application()
for name, ref in refs.items():
    app.router.add_get("/" + name, handler_for(ref))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *a: print("ready", flush=True))
"""


# -- load and latency -----------------------------------------------------------------------------------


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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def requests_per_second(url: str, headers: dict, seconds: float, concurrency: int, load=None) -> float:
    """Requests/s of ``load`` (default: aiohttp's client) in a process of its own."""
    q = mp.Queue()
    p = mp.Process(target=load or _load, args=(url, headers, seconds, concurrency, q))
    p.start()
    try:
        return q.get(timeout=seconds + 120)
    finally:
        p.join(10)
        if p.is_alive():
            p.kill()


def served(server: subprocess.Popen, url: str, headers: dict, args) -> tuple[float, float]:
    """(requests/s, server CPU seconds per request) of one throughput run; the CPU figure barely moves
    when other processes take cores from the run, the rate does."""
    wait_quiet(args.wait_quiet)
    cpu = cpu_seconds(server.pid)
    rate = requests_per_second(url, headers, args.seconds, args.concurrency)
    return rate, (cpu_seconds(server.pid) - cpu) / (rate * args.seconds)


async def fetch(url: str, headers: dict) -> dict:
    import aiohttp

    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
        return json.loads(await r.read())


async def latencies(targets: list[tuple[str, str, dict]], n: int, rounds: int) -> list[tuple[float, int]]:
    """Per target (base URL, path, headers): the median over ``rounds`` of the mean latency (s) of ``n``
    sequential requests, the targets taking turns each round (so that other load on the machine falls
    on all of them alike), and the rows the target answers."""
    import aiohttp

    means: list[list[float]] = [[] for _ in targets]
    rows = []
    async with aiohttp.ClientSession() as s:
        for base, path, headers in targets:
            for _ in range(5):  # warm-up: the rows get remembered
                async with s.get(base + path, headers=headers) as r:
                    body = await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{path}: HTTP {r.status} {body[:200]!r}")
            rows.append(len(rows_of(json.loads(body))))
        for _ in range(rounds):
            for i, (base, path, headers) in enumerate(targets):
                start = time.perf_counter()
                for _ in range(n):
                    async with s.get(base + path, headers=headers) as r:
                        await r.read()
                means[i].append((time.perf_counter() - start) / n)
    return [(statistics.median(m), count) for m, count in zip(means, rows, strict=True)]


def rows_of(doc) -> list:
    """The rows of an answer in any dialect's envelope."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc.get("result"), dict):
        return doc["result"]["objects"]
    return doc["data"]


# -- phases ---------------------------------------------------------------------------------------------


def stop(procs: list[subprocess.Popen], kept: list) -> None:
    """Kill the servers, then close the connections they held: their side closes first (see
    ``open_sessions``)."""
    for p in procs:
        p.kill()
        p.wait(30)
    for w in kept:
        w.close()


def throughput(args, loop) -> list[dict]:
    """Figure 1: the three listings against their bare references, 10,000 connected clients."""
    figures = []
    procs: list[subprocess.Popen] = []
    kept: list = []
    try:
        with tempfile.TemporaryDirectory() as data:
            key = api_key(data)
            gw, http, mqtt = start_gateway(data, {})
            procs.append(gw)
            live = [Session(f"live{i:06d}", clean=True, keep=True) for i in range(args.clients)]
            kept += loop.run_until_complete(open_sessions(mqtt, live))
            base = f"http://{HOST}:{http}"
            targets = [
                ("v5 GET /clients?limit=100", "v5", "/api/v5/clients?limit=100", key, 0.7, "clientid"),
                (
                    "v2 GET /nodes/{node}/clients?curr_page=1&page_size=100",
                    "v2",
                    f"/api/v2/nodes/{NODE}/clients?curr_page=1&page_size=100",
                    DASHBOARD,
                    0.5,
                    "client_id",
                ),
                (f"NanoMQ GET /api/v4/clients (all {args.clients:,})", "nanomq", "/api/v4/clients", DASHBOARD, 0.5, ""),
            ]
            refs = {}
            for _, shape, path, headers, _, key_name in targets:
                rows = rows_of(loop.run_until_complete(fetch(base + path, headers)))
                key_name = key_name or ("client_id" if "client_id" in rows[0] else "clientid")
                refs[shape] = {"row": rows[0], "rows": len(rows), "key": key_name, "shape": shape}
                refs[shape]["total"] = args.clients
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump(refs, f)
            bare_port = free_port()
            bare = subprocess.Popen(
                [sys.executable, "-c", BARE_SERVER, str(bare_port), f.name],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            procs.append(bare)
            bare.stdout.readline()
            for label, shape, path, headers, budget, _ in targets:
                runs = []
                for _ in range(args.repeat):  # interleaved, so that other load on the machine hits both
                    ours = served(gw, base + path, headers, args)
                    runs.append((ours, served(bare, f"http://{HOST}:{bare_port}/{shape}", {}, args)))
                figures.append(
                    {
                        "figure": label,
                        "ours": statistics.median(o[0] for o, _ in runs),
                        "bare": statistics.median(r[0] for _, r in runs),
                        "ratio": statistics.median(o[0] / r[0] for o, r in runs),
                        "ratios": [o[0] / r[0] for o, r in runs],
                        "cpu_ratio": statistics.median(r[1] / o[1] for o, r in runs),
                        "budget": budget,
                    }
                )
            os.unlink(f.name)
    finally:
        stop(procs, kept)
    return figures


def populate(loop, mqtt: int, sessions: int, kept: list) -> float:
    """The page-cost population on one gateway; returns the mark between its halves (a whole second:
    EMQX 4 filters by epoch seconds), the time filters find the first half before it and the second
    after it."""
    fixed = fixed_sessions()
    generic = sessions - len(fixed)
    kept += loop.run_until_complete(open_sessions(mqtt, fixed + generic_sessions(0, generic // 2)))
    mark = math.ceil(time.time())
    time.sleep(mark - time.time() + 0.05)
    loop.run_until_complete(open_sessions(mqtt, generic_sessions(generic // 2, generic)))
    loop.run_until_complete(publish(mqtt, "bench/queue", 12))  # 10 kept, 2 dropped per session
    return mark


def page_costs(args, loop, flavor: str) -> list[dict]:
    """Figure 2 for one v4 flavor: page 1 of every listing and filter, on a gateway holding
    ``--small`` sessions and another holding ``--sessions``, measured in turns."""
    env = {"EMQGW_HTTP__V4_FLAVOR": flavor, "EMQGW_MQTT__MAX_MQUEUE_LEN": "10"}
    procs: list[subprocess.Popen] = []
    kept: list = []
    try:
        with tempfile.TemporaryDirectory() as data:
            listings = []  # per gateway: listing name -> (base URL, path, headers)
            for size in (args.small, args.sessions):
                home = os.path.join(data, str(size))
                os.mkdir(home)
                key = api_key(home)
                gw, http, mqtt = start_gateway(home, env)
                procs.append(gw)
                started = time.monotonic()
                mark = populate(loop, mqtt, size, kept)
                print(f"  ({flavor} gateway with {size:,} sessions built in {time.monotonic() - started:.0f} s)")
                base = f"http://{HOST}:{http}"
                listings.append(
                    {
                        f"{dialect} {label}": (base, path, key if dialect == "v5" else DASHBOARD)
                        for dialect, label, path in page_urls(flavor, mark)
                    }
                )
            out = []
            for name in listings[0]:
                (small, rows_small), (large, rows_large) = loop.run_until_complete(
                    latencies([listing[name] for listing in listings], args.requests, args.rounds)
                )
                out.append(
                    {
                        "listing": name,
                        "small_ms": small * 1000,
                        "large_ms": large * 1000,
                        "ratio": large / small,
                        "rows_small": rows_small,
                        "rows_large": rows_large,
                        "judged": verdict_kind(name),
                    }
                )
    finally:
        stop(procs, kept)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=10_000, help="connected clients for the throughput figures")
    ap.add_argument("--small", type=int, default=1_000, help="sessions for the first page-cost measurement")
    ap.add_argument("--sessions", type=int, default=100_000, help="sessions for the second page-cost measurement")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput measurement")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--requests", type=int, default=30, help="sequential requests per page-cost figure and round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per page-cost figure (the median is shown)")
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs per figure (the median is shown)")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="S",
        help="before each throughput run, wait up to S seconds for other processes to leave the machine idle",
    )
    ap.add_argument("--skip", choices=("throughput", "pages"), help="leave out one part")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, args.clients + 1000)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.clients + 500:
        args.clients = max(100, want - 500)
        print(f"note: the open-files limit caps the connected clients at {args.clients}", file=sys.stderr)
    loop = asyncio.new_event_loop()
    result: dict = {}
    if args.skip != "throughput":
        result["throughput"] = throughput(args, loop)
        print_throughput(args, result["throughput"])
    if args.skip != "pages":
        rows = page_costs(args, loop, "nanomq") + page_costs(args, loop, "emqx4")
        result["pages"] = rows
        print_pages(args, rows)
    loop.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


def print_throughput(args, figures: list[dict]) -> None:
    print(
        f"\nThroughput, {args.clients:,} connected clients ({args.concurrency} concurrent, {args.seconds:g} s per run, "
        f"medians of {args.repeat} interleaved runs; 'by CPU': bare's CPU per request / ours)"
    )
    print(f"{'listing':56} {'emqgw req/s':>11} {'bare req/s':>10} {'ratio':>6} {'by CPU':>6}  {'runs':16} budget")
    for f in figures:
        met = "met" if f["ratio"] >= f["budget"] else "MISSED"
        runs = " ".join(f"{r:.2f}" for r in f["ratios"])
        rates = f"{f['ours']:11.0f} {f['bare']:10.0f} {f['ratio']:6.2f} {f['cpu_ratio']:6.2f}"
        print(f"{f['figure'][:56]:56} {rates}  {runs:16} >= {f['budget']} ({met})")


def print_pages(args, rows: list[dict]) -> None:
    print(
        f"\nPage 1 latency, {args.small:,} vs {args.sessions:,} sessions (median of {args.rounds} rounds of "
        f"{args.requests} requests, the two gateways in turn)"
    )
    print(f"{'listing and filter':58} {'rows':>11} {'ms small':>9} {'ms large':>9} {'ratio':>6}  budget <= 1.5")
    for r in rows:
        verdict = ("met" if r["ratio"] <= 1.5 else "MISSED") if r["judged"] == "budget" else r["judged"]
        counts = f"{r['rows_small']}/{r['rows_large']}"
        times = f"{r['small_ms']:9.2f} {r['large_ms']:9.2f} {r['ratio']:6.2f}"
        print(f"{r['listing'][:58]:58} {counts:>11} {times}  {verdict}")


if __name__ == "__main__":
    sys.exit(main())
