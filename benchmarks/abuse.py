#!/usr/bin/env python3
"""The broker under abuse: the MQTT figures of the issue "Hold up under abuse", printed, never asserted.

Each section starts a fresh `python -m gateway.cli serve` (uvloop, as operators run it) from this
checkout, with MQTT over TCP and WebSocket and the main HTTP listener on ephemeral ports:

  fuzz   --fuzz-cases malformed MQTT packets over TCP and --ws-cases over WebSocket, each on a
         connection of its own (a seeded mix of random bytes, mutated CONNECTs, and valid CONNECTs
         followed by a mutated packet of every type), while five well-behaved 3.1.1 clients publish
         QoS 1 to themselves and ping every 20 ms: cases run, messages lost, well-behaved clients
         disconnected, worst ping, and every line the broker wrote to stdout/stderr past its
         `listening:` lines.
  flood  one 3.1.1 client sends --flood-mb of PINGREQs in one burst, then as many tiny QoS 0
         PUBLISHes (5 bytes each, no subscriber), reading its answers; five others ping every 20 ms
         and `/status` is fetched every 100 ms: their latency p50 / p99 / max while the flood lasts.
  stuck  clients that never read: (a) one sends --stuck-mb of PINGREQs; (b) one subscribes at QoS 1
         and is sent 3x its queue limit (`max_mqueue_len`, --queue) of --msg-kb messages. Peak RSS
         growth (VmRSS sampled every 10 ms, minus the level before) against queue limit x message
         size, and whether and when the broker closed the stuck client (read from the kernel's TCP
         state of our socket, so that the client never reads a byte).

The load runs in processes of its own (fork), apart from the pingers, so that one Python thread's
GIL does not show up as broker latency. Only 127.0.0.1 is contacted; every broker started is
killed at the end, Ctrl-C included. Exit status 0 means the run finished.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import multiprocessing
import os
import random
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HOST = "127.0.0.1"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PINGREQ = b"\xc0\x00"
TINY_PUBLISH = b"\x30\x03\x00\x01a"  # QoS 0, topic "a", empty payload
TCP_STATES = {1: "established", 7: "closed (reset)", 8: "closed (FIN received)"}


class BenchError(Exception):
    """A real error (the broker did not start, a connection was refused): exit non-zero."""


# --------------------------------------------------------------------------------------------
# MQTT bytes (independent of the project's codec on purpose)
# --------------------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, b = divmod(n, 128)
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return len(b).to_bytes(2, "big") + b


def packet(b0: int, body: bytes) -> bytes:
    return bytes([b0]) + varint(len(body)) + body


def enc_connect(cid: str, level: int = 4, keepalive: int = 60) -> bytes:
    name = "MQIsdp" if level == 3 else "MQTT"
    var = mqtt_str(name) + bytes([level, 0x02]) + keepalive.to_bytes(2, "big")
    if level == 5:
        var += b"\x00"
    return packet(0x10, var + mqtt_str(cid))


def enc_publish(topic: str, payload: bytes, qos: int = 0, pid: int = 0, level: int = 4) -> bytes:
    body = mqtt_str(topic) + (pid.to_bytes(2, "big") if qos else b"") + (b"\x00" if level == 5 else b"") + payload
    return packet(0x30 | qos << 1, body)


def enc_subscribe(pid: int, topic: str, qos: int, level: int = 4) -> bytes:
    return packet(0x82, pid.to_bytes(2, "big") + (b"\x00" if level == 5 else b"") + mqtt_str(topic) + bytes([qos]))


class Frames:
    """Splits a byte stream into (first byte, body) packets."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        out = []
        buf = self.buf
        while len(buf) >= 2:
            size, shift, i = 0, 0, 1
            while i < len(buf):
                size |= (buf[i] & 0x7F) << shift
                i += 1
                if buf[i - 1] < 0x80:
                    break
                shift += 7
            else:
                break
            if len(buf) < i + size:
                break
            out.append((buf[0], bytes(buf[i : i + size])))
            del buf[: i + size]
        return out


def mqtt_connect(port: int, cid: str, level: int = 4, timeout: float = 10.0) -> socket.socket:
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(enc_connect(cid, level))
    frames = Frames()
    while True:
        data = s.recv(4096)
        if not data:
            raise BenchError(f"{cid}: the broker closed the connection before CONNACK")
        got = frames.feed(data)
        if got:
            b0, body = got[0]
            if b0 != 0x20 or body[1] != 0:
                raise BenchError(f"{cid}: CONNACK refused: {body.hex()}")
            return s


def tcp_state(s: socket.socket) -> str:
    state = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    return TCP_STATES.get(state, f"state {state}")


# --------------------------------------------------------------------------------------------
# The broker
# --------------------------------------------------------------------------------------------


class Broker:
    """`gateway.cli serve` in a subprocess, with its output kept."""

    def __init__(self, mqtt: dict | None = None, startup_timeout: float = 30.0):
        self.tmp = tempfile.mkdtemp(prefix="emqgw-abuse-")
        conf = os.path.join(self.tmp, "emqgw.toml")
        with open(conf, "w") as f:
            f.write("[mqtt]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in (mqtt or {}).items()))
        cmd = [sys.executable, "-m", "gateway.cli", "serve", "--config", conf, "--data-dir", self.tmp]
        cmd += ["--mqtt-port", "0", "--ws-port", "0", "--http-port", "0", "--v2-port", "off", "--v4-port", "off"]
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.logged: list[str] = []  # every output line past the `listening:` ones
        ports: dict[str, int] = {}
        ready = threading.Event()

        def read_stdout():
            for line in self.proc.stdout:
                if line.startswith("listening:") and not ready.is_set():
                    kind = " ".join(line.split()[1:3]) if line.split()[1] == "mqtt" else "http"
                    address = next(w for w in line.split() if w.startswith(HOST + ":"))
                    ports[kind] = int(address.rsplit(":", 1)[1].split("/")[0])
                    if len(ports) == 3:
                        ready.set()
                else:
                    self.logged.append(line.rstrip("\n"))
            ready.set()

        def read_stderr():
            for line in self.proc.stderr:
                self.logged.append(line.rstrip("\n"))

        threading.Thread(target=read_stdout, daemon=True).start()
        threading.Thread(target=read_stderr, daemon=True).start()
        ready.wait(startup_timeout)
        if len(ports) < 3:
            self.stop()
            raise BenchError(f"the broker did not start: {self.logged[-10:]}")
        self.tcp, self.ws, self.http = ports["mqtt tcp"], ports["mqtt ws"], ports["http"]

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise BenchError("no VmRSS")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)


class RssSampler(threading.Thread):
    """The broker's peak VmRSS while it runs, sampled every 10 ms."""

    def __init__(self, broker: Broker):
        super().__init__(daemon=True)
        self.broker = broker
        self.base = broker.rss_kib()
        self.peak = self.base
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.01):
            with contextlib.suppress(OSError, BenchError):
                self.peak = max(self.peak, self.broker.rss_kib())

    def growth_mib(self) -> float:
        self.stopped.set()
        self.join()
        return (self.peak - self.base) / 1024


# --------------------------------------------------------------------------------------------
# Well-behaved clients: ping every 20 ms, optionally publish QoS 1 to themselves
# --------------------------------------------------------------------------------------------


class Bystander:
    def __init__(self, port: int, name: str, publish: bool):
        self.name = name
        self.topic = f"bystander/{name}"
        self.sock = mqtt_connect(port, name)
        self.frames = Frames()
        if publish:
            self.sock.sendall(enc_subscribe(1, self.topic, 1))
            while not any(b0 == 0x90 for b0, _ in self.frames.feed(self.sock.recv(4096))):
                pass
        self.sock.setblocking(False)
        self.publish = publish
        self.out = bytearray()
        self.ping_at: float | None = None
        self.next_ping = 0.0
        self.rtts: list[tuple[float, float]] = []  # (sent at, round trip seconds)
        self.next_pid = 1
        self.outstanding: dict[int, int] = {}  # packet id -> sequence number
        self.seq = 0
        self.delivered: set[int] = set()
        self.acked = 0
        self.closed = False

    def tick(self, now: float) -> None:
        if self.closed:
            return
        if self.ping_at is None and now >= self.next_ping:
            self.ping_at = now
            self.out += PINGREQ
        while self.publish and len(self.outstanding) < 10:
            pid = self.next_pid
            self.next_pid = pid % 65535 + 1
            self.outstanding[pid] = self.seq
            self.out += enc_publish(self.topic, str(self.seq).encode(), 1, pid)
            self.seq += 1
        self.flush()

    def flush(self) -> None:
        if self.out and not self.closed:
            try:
                n = self.sock.send(self.out)
                del self.out[:n]
            except BlockingIOError:
                pass
            except OSError:
                self.closed = True

    def readable(self, now: float) -> None:
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        for b0, body in self.frames.feed(data):
            kind = b0 >> 4
            if kind == 13 and self.ping_at is not None:
                self.rtts.append((self.ping_at, now - self.ping_at))
                self.ping_at = None
                self.next_ping = max(self.next_ping, now + 0.02)
            elif kind == 4:
                if self.outstanding.pop(int.from_bytes(body[:2], "big"), None) is not None:
                    self.acked += 1
            elif kind == 3:
                tl = int.from_bytes(body[:2], "big")
                pid = body[2 + tl : 4 + tl]
                self.delivered.add(int(body[4 + tl :]))
                self.out += b"\x40\x02" + pid
        self.flush()


class Watch(threading.Thread):
    """Drives the bystanders from one selector loop until stopped."""

    def __init__(self, bystanders: list[Bystander]):
        super().__init__(daemon=True)
        self.bystanders = bystanders
        self.stopped = threading.Event()

    def run(self) -> None:
        sel = selectors.DefaultSelector()
        for b in self.bystanders:
            sel.register(b.sock, selectors.EVENT_READ, b)
        while not self.stopped.is_set():
            now = time.monotonic()
            for b in self.bystanders:
                b.tick(now)
            for key, _ in sel.select(0.002):
                key.data.readable(time.monotonic())

    def stop(self, patience: float = 30.0) -> None:
        """Stop once every ping sent so far is answered (or ``patience`` runs out: then the ones
        still waiting count with the time they have waited)."""
        end = time.monotonic() + patience
        for b in self.bystanders:
            b.next_ping = float("inf")
        while time.monotonic() < end and any(b.ping_at is not None and not b.closed for b in self.bystanders):
            time.sleep(0.01)
        self.stopped.set()
        self.join()
        now = time.monotonic()
        for b in self.bystanders:
            if b.ping_at is not None:
                b.rtts.append((b.ping_at, now - b.ping_at))

    def rtts_between(self, start: float, end: float) -> list[float]:
        return sorted(rtt for b in self.bystanders for t, rtt in b.rtts if start <= t <= end)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(len(values) * p))]


def ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:,.1f} ms"


class StatusProbe(threading.Thread):
    """GET /status every 100 ms, recording (sent at, seconds)."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.url = f"http://{HOST}:{port}/status"
        self.times: list[tuple[float, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            t = time.monotonic()
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url, timeout=30) as r:
                r.read()
            self.times.append((t, time.monotonic() - t))

    def stop(self) -> None:
        self.stopped.set()
        self.join()


# --------------------------------------------------------------------------------------------
# fuzz
# --------------------------------------------------------------------------------------------


def _valid_packets(level: int) -> list[bytes]:
    props = b"\x00" if level == 5 else b""
    return [
        enc_publish("f/t", b"payload", 0, level=level),
        enc_publish("f/t", b"payload", 1, 7, level=level),
        enc_publish("f/t", b"payload", 2, 8, level=level),
        enc_subscribe(3, "f/#", 1, level=level),
        packet(0xA2, b"\x00\x04" + props + mqtt_str("f/#")),
        b"\x40\x02\x00\x07",
        b"\x50\x02\x00\x08",
        b"\x62\x02\x00\x08",
        b"\x70\x02\x00\x08",
        PINGREQ,
        b"\xe0\x00",
        packet(0xF0, b"\x00\x00") if level == 5 else b"\xf0\x00",
    ]


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    how = rng.randrange(6)
    if how == 0 and b:  # flip bits
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif how == 1 and len(b) > 1:  # truncate, then say so or not
        b = b[: rng.randrange(1, len(b))]
    elif how == 2:  # a remaining length that lies
        b = b[:1] + varint(rng.choice([0, 1, 127, 128, 16383, 2**21, 2**28 - 1])) + b[2:]
    elif how == 3:  # junk after the packet
        b += os.urandom(rng.randint(1, 32))
    elif how == 4 and b:  # a random first byte
        b[0] = rng.randrange(256)
    else:  # random bytes in the body
        for _ in range(rng.randint(1, 8)):
            if len(b) > 2:
                b[rng.randrange(2, len(b))] = rng.randrange(256)
    return bytes(b)


def fuzz_case(rng: random.Random, i: int) -> bytes:
    level = rng.choice((3, 4, 5))
    kind = i % 3
    if kind == 0:
        return os.urandom(rng.randint(1, 64))
    if kind == 1:
        return mutate(rng, enc_connect(f"fz{i}", level))
    return enc_connect(f"fz{i}", level) + mutate(rng, rng.choice(_valid_packets(level)))


def ws_connect(port: int) -> socket.socket:
    s = socket.create_connection((HOST, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET /mqtt HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise BenchError("WebSocket handshake: connection closed")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise BenchError(f"WebSocket handshake refused: {head[:40]!r}")
    return s


def ws_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x82])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(c ^ mask[j % 4] for j, c in enumerate(payload))


def _fuzz_worker(tcp: int, ws: int, cases: int, ws_cases: int, seed: int, results) -> None:
    rng = random.Random(seed)
    errors = 0
    for i in range(cases + ws_cases):
        data = fuzz_case(rng, i)
        try:
            if i < cases:
                s = socket.create_connection((HOST, tcp), timeout=10)
                s.sendall(data)
            else:
                s = ws_connect(ws)
                s.sendall(ws_frame(data))
            # Reset rather than close: 30,000 connections in TIME_WAIT would use up the ephemeral ports.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            errors += 1
    results.put({"cases": cases + ws_cases, "client_errors": errors})


def section_fuzz(args) -> dict:
    broker = Broker()
    try:
        bystanders = [Bystander(broker.tcp, f"good{i}", publish=True) for i in range(5)]
        watch = Watch(bystanders)
        watch.start()
        results: multiprocessing.Queue = multiprocessing.Queue()
        quiet = len(broker.logged)  # what it said at start (e.g. the default password warning) is not ours
        t0 = time.monotonic()
        worker = multiprocessing.Process(
            target=_fuzz_worker, args=(broker.tcp, broker.ws, args.fuzz_cases, args.ws_cases, args.seed, results)
        )
        worker.start()
        outcome = results.get()
        worker.join()
        t1 = time.monotonic()
        time.sleep(1.0)  # let the last QoS 1 exchanges finish
        watch.stop()
        rtts = watch.rtts_between(t0, t1)
        published = sum(b.seq - len(b.outstanding) for b in bystanders)
        lost = sum(len(set(range(b.seq - len(b.outstanding))) - b.delivered) for b in bystanders)
        row = {
            "cases": outcome["cases"],
            "tcp_cases": args.fuzz_cases,
            "ws_cases": args.ws_cases,
            "cases_per_s": round(outcome["cases"] / (t1 - t0)),
            "client_errors": outcome["client_errors"],
            "broker_alive": broker.alive,
            "qos1_acked": published,
            "qos1_lost": lost,
            "bystanders_disconnected": sum(b.closed for b in bystanders),
            "ping_p99_ms": round(percentile(rtts, 0.99) * 1000, 1) if rtts else None,
            "ping_max_ms": round(rtts[-1] * 1000, 1) if rtts else None,
            "logged_lines": broker.logged[quiet:],
        }
    finally:
        broker.stop()
    print(
        f"fuzz: {row['cases']:,} malformed packets ({row['tcp_cases']:,} TCP + {row['ws_cases']:,} WebSocket, "
        f"{row['cases_per_s']:,}/s): broker {'alive' if row['broker_alive'] else 'DEAD'}, "
        f"{row['qos1_acked']:,} QoS 1 messages acknowledged, {row['qos1_lost']} lost, "
        f"{row['bystanders_disconnected']} well-behaved clients disconnected, ping p99 "
        f"{row['ping_p99_ms']} ms, worst {row['ping_max_ms']} ms, {len(row['logged_lines'])} lines logged"
    )
    for line in row["logged_lines"][:10]:
        print(f"    logged: {line}")
    return row


# --------------------------------------------------------------------------------------------
# flood
# --------------------------------------------------------------------------------------------


def _flood_worker(port: int, unit: bytes, total: int, read: bool, results) -> None:
    s = mqtt_connect(port, f"abuser-{os.getpid()}")
    received = [0]

    def drain():
        with contextlib.suppress(OSError):
            while True:
                data = s.recv(1 << 20)
                if not data:
                    return
                received[0] += len(data)

    if read:
        threading.Thread(target=drain, daemon=True).start()
    block = unit * (65536 // len(unit))
    sent = 0
    t0 = time.monotonic()
    outcome = "sent"
    try:
        while sent < total:
            s.sendall(block)
            sent += len(block)
    except OSError as e:
        outcome = f"closed by the broker ({e.__class__.__name__})"
    results.put({"sent": sent, "seconds": time.monotonic() - t0, "outcome": outcome})
    if read:
        # Until the answers stop coming: the flood is over for the broker too.
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 0.5:
            if received[0] != last:
                last, quiet_since = received[0], time.monotonic()
            time.sleep(0.05)
    results.put({"received": received[0], "done": time.monotonic()})
    s.close()


def _flood(broker: Broker, label: str, unit: bytes, total: int) -> dict:
    bystanders = [Bystander(broker.tcp, f"pinger-{label}-{i}", publish=False) for i in range(5)]
    watch = Watch(bystanders)
    watch.start()
    probe = StatusProbe(broker.http)
    probe.start()
    time.sleep(0.5)
    results: multiprocessing.Queue = multiprocessing.Queue()
    t0 = time.monotonic()
    worker = multiprocessing.Process(target=_flood_worker, args=(broker.tcp, unit, total, True, results))
    worker.start()
    sent = results.get()
    results.get()
    worker.join()
    t1 = time.monotonic()
    watch.stop()
    probe.stop()
    for b in bystanders:
        b.sock.close()
    rtts = watch.rtts_between(t0, t1)
    status = sorted(d for t, d in probe.times if t0 <= t <= t1)
    row = {
        "what": label,
        "mb": total / 1e6,
        "seconds": round(t1 - t0, 2),
        "abuser": sent["outcome"],
        "pings": len(rtts),
        "ping_p50_ms": percentile(rtts, 0.5),
        "ping_p99_ms": percentile(rtts, 0.99),
        "ping_max_ms": rtts[-1] if rtts else None,
        "status_p99_ms": percentile(status, 0.99),
        "status_max_ms": status[-1] if status else None,
        "pingers_disconnected": sum(b.closed for b in bystanders),
    }
    print(
        f"flood {label}: {row['mb']:.0f} MB in {row['seconds']} s ({row['abuser']}); 5 others' ping "
        f"p50 {ms(row['ping_p50_ms'])}, p99 {ms(row['ping_p99_ms'])}, max {ms(row['ping_max_ms'])} "
        f"({row['pings']} pings, {row['pingers_disconnected']} disconnected); /status p99 "
        f"{ms(row['status_p99_ms'])}, max {ms(row['status_max_ms'])}"
    )
    for k in ("ping_p50_ms", "ping_p99_ms", "ping_max_ms", "status_p99_ms", "status_max_ms"):
        if row[k] is not None:
            row[k] = round(row[k] * 1000, 1)
    return row


def section_flood(args) -> list[dict]:
    broker = Broker()
    try:
        total = int(args.flood_mb * 1e6)
        return [_flood(broker, "PINGREQ", PINGREQ, total), _flood(broker, "QoS 0 PUBLISH", TINY_PUBLISH, total)]
    finally:
        broker.stop()


# --------------------------------------------------------------------------------------------
# stuck
# --------------------------------------------------------------------------------------------


def _watch_closed(s: socket.socket, since: float, limit: float) -> tuple[str, float | None]:
    """Wait (without reading) until the broker ends the connection; its state and when."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        state = tcp_state(s)
        if state != "established":
            return state, time.monotonic() - since
        time.sleep(0.05)
    return tcp_state(s), None


def _send_until_blocked(s: socket.socket, unit: bytes, total: int, patience: float) -> int:
    """Send up to ``total`` bytes; stop once the broker has taken nothing for ``patience`` seconds."""
    block = unit * (65536 // len(unit))
    s.settimeout(patience)
    sent = 0
    with contextlib.suppress(OSError):
        while sent < total:
            sent += s.send(block)
    return sent


def _stuck_subscriber(args, qos: int) -> dict:
    broker = Broker({"max_mqueue_len": args.queue})
    try:
        time.sleep(0.5)
        size = args.msg_kb * 1024
        rss = RssSampler(broker)
        rss.start()
        sub = mqtt_connect(broker.tcp, "stuck-subscriber")
        sub.sendall(enc_subscribe(1, "stuck/t", qos))
        frames = Frames()
        while not frames.feed(sub.recv(4096)):
            pass
        pub = mqtt_connect(broker.tcp, "publisher")
        payload = os.urandom(size)
        n = 3 * args.queue
        t0 = time.monotonic()
        acked = 0
        window = 0
        pub_frames = Frames()
        for i in range(n):
            pub.sendall(enc_publish("stuck/t", payload, 1, i % 65535 + 1))
            window += 1
            while window >= 10 or (i == n - 1 and window):
                for b0, _ in pub_frames.feed(pub.recv(65536)):
                    if b0 >> 4 == 4:
                        acked += 1
                        window -= 1
        state, after = _watch_closed(sub, t0, args.wait_close)
        growth = rss.growth_mib()
        bound = args.queue * size / 2**20
        row = {
            "what": f"QoS {qos} subscriber, never reads",
            "messages": n,
            "message_kib": args.msg_kb,
            "queue_limit": args.queue,
            "queue_x_size_mib": round(bound, 1),
            "rss_growth_mib": round(growth, 1),
            "growth_over_bound": round(growth / bound, 2),
            "closed": state,
            "closed_after_s": None if after is None else round(after, 1),
        }
        print(
            f"stuck QoS {qos} subscriber: {n:,} QoS 1 messages of {args.msg_kb} KiB published ({acked:,} "
            f"acknowledged); queue limit x size {bound:.1f} MiB, peak RSS growth {growth:.1f} MiB "
            f"({growth / bound:.2f}x); connection {state}"
            + (f" after {after:.1f} s" if after is not None else f" (still open after {args.wait_close:g} s)")
        )
        sub.close()
        pub.close()
    finally:
        broker.stop()
    return row


def section_stuck(args) -> list[dict]:
    rows = []
    broker = Broker({"max_mqueue_len": args.queue})
    try:
        time.sleep(0.5)
        rss = RssSampler(broker)
        rss.start()
        s = mqtt_connect(broker.tcp, "stuck-pinger")
        total = int(args.stuck_mb * 1e6)
        t0 = time.monotonic()
        sent = _send_until_blocked(s, PINGREQ, total, patience=2.0)
        state, after = _watch_closed(s, t0, args.wait_close)
        growth = rss.growth_mib()
        rows.append(
            {
                "what": "PINGREQs, never reads",
                "offered_mb": total / 1e6,
                "accepted_mb": round(sent / 1e6, 1),
                "rss_growth_mib": round(growth, 1),
                "closed": state,
                "closed_after_s": None if after is None else round(after, 1),
            }
        )
        s.close()
        print(
            f"stuck PINGREQ client: offered {total / 1e6:.0f} MB, the broker took {sent / 1e6:.1f} MB; peak RSS "
            f"growth {growth:.1f} MiB; connection {state}"
            + (f" after {after:.1f} s" if after is not None else f" (still open after {args.wait_close:g} s)")
        )
    finally:
        broker.stop()

    for qos in (0, 1):
        rows.append(_stuck_subscriber(args, qos))
    return rows


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

SECTIONS = {"fuzz": section_fuzz, "flood": section_flood, "stuck": section_stuck}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="fuzz,flood,stuck", help="comma-separated sections (default: all)")
    p.add_argument("--fuzz-cases", type=int, default=30_000)
    p.add_argument("--ws-cases", type=int, default=3_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--flood-mb", type=float, default=12.0)
    p.add_argument("--stuck-mb", type=float, default=64.0)
    p.add_argument("--queue", type=int, default=1000, help="max_mqueue_len for the stuck subscriber")
    p.add_argument("--msg-kb", type=int, default=62, help="message size for the stuck subscriber, KiB")
    p.add_argument("--wait-close", type=float, default=30.0, help="seconds to wait for a stuck client's close")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)

    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    multiprocessing.set_start_method("fork")
    commit = subprocess.run(
        ["git", "-C", REPO_ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, tree {commit}, {time.strftime('%F %T')}")
    figures: dict = {"commit": commit}
    try:
        for name in args.only.split(","):
            figures[name] = SECTIONS[name](args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
