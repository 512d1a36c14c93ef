#!/usr/bin/env python3
"""MQTT broker throughput benchmark: our broker vs mosquitto, same load generator, same run.

Scenarios (each at QoS 0 and QoS 1, 64-byte payloads, fixed duration):

  p2p     10 publisher/subscriber pairs on 10 distinct topics
  fanout  1 publisher, 10 subscribers on one topic (every message is delivered 10 times)
  fanin   10 publishers on 10 topics, 1 subscriber on a wildcard covering them

The load generator is deliberately independent of the project: one process, plain non-blocking
sockets polled by one loop (no asyncio, no MQTT library), a hand-written MQTT 3.1.1 encoder for the
packets it needs, every PUBLISH encoded once up front (QoS 0: one pre-built batch of --batch
packets; QoS 1: one packet per packet id), receivers that only walk fixed headers to count PUBLISH
and PUBACK packets (and to PUBACK QoS 1 deliveries). Its own CPU use and the broker's are measured
over the timed window and printed side by side, so a run where the generator (not the broker) was
the limit shows up: column "limit" says "broker" when the broker used >= 0.9 core, "GENERATOR" when
the generator did and the broker did not.

QoS 0 publishers write as fast as TCP lets them, bounded only by an end-to-end lag cap
(--max-lag messages sent but not yet delivered, per subscriber) so a broker that buffers without
limit cannot eat the machine's memory; QoS 1 publishers keep a window of --window unacknowledged
PUBLISHes each (and the same lag cap).

Only 127.0.0.1 is ever contacted. Brokers this script starts are killed on exit, Ctrl-C included.
Speed is never asserted: exit status 0 means the run finished, non-zero a real error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

HOST = "127.0.0.1"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISTEN_RE = re.compile(r"listening: mqtt tcp 127\.0\.0\.1:(\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Ratio targets: ours / mosquitto, delivered msgs/s (p2p: issue #14; fanout: the issue before it).
TARGETS = {("p2p", 0): 1.0, ("p2p", 1): 1.0, ("fanout", 0): 0.5, ("fanout", 1): 0.5}


class BenchError(Exception):
    """A real error (broker did not start, connection refused...): exit non-zero."""


# --------------------------------------------------------------------------------------------
# Minimal MQTT 3.1.1 encoder (independent of the project's codec on purpose)
# --------------------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def enc_connect(client_id: str, keepalive: int = 60, clean: bool = True) -> bytes:
    body = _str("MQTT") + bytes([4, 0x02 if clean else 0x00]) + keepalive.to_bytes(2, "big") + _str(client_id)
    return b"\x10" + _varint(len(body)) + body


def enc_subscribe(packet_id: int, topic: str, qos: int) -> bytes:
    body = packet_id.to_bytes(2, "big") + _str(topic) + bytes([qos])
    return b"\x82" + _varint(len(body)) + body


def enc_publish(topic: str, payload: bytes, qos: int = 0, packet_id: int = 0) -> bytes:
    body = _str(topic) + (packet_id.to_bytes(2, "big") if qos else b"") + payload
    return bytes([0x30 | (qos << 1)]) + _varint(len(body)) + body


def enc_puback(packet_id: int) -> bytes:
    return b"\x40\x02" + packet_id.to_bytes(2, "big")


DISCONNECT = b"\xe0\x00"
PUBACK_HEAD = enc_puback(0)[:2]  # fixed header; the packet id (2 bytes) is copied from the PUBLISH


# --------------------------------------------------------------------------------------------
# Client connections: plain non-blocking sockets driven by one polling loop
# --------------------------------------------------------------------------------------------
#
# Why not asyncio callbacks: at 100k+ deliveries/s a callback per readiness event reads ~2 packets
# at a time and the generator spends its core in syscalls. Here one loop sleeps --tick seconds,
# then reads every readable socket in one go (recv of up to 1 MiB), PUBACKs what needs it, and lets
# publishers write; batches grow with the rate, so the generator's cost per message falls as load
# rises. The tick adds at most ~--tick of latency to QoS 1 acknowledgements.

RECV_SIZE = 1 << 20
DEFAULT_LAG_QOS0 = 10000  # per subscriber; bounds what a broker may have to buffer
DEFAULT_LAG_QOS1 = 500  # below our broker's (and EMQX's) 1000-message session queue: no drops by design
MAX_BATCHES = 16  # QoS 0: pre-built batches one publisher may write per poll round


def long_header(buf: bytes, i: int, n: int) -> tuple[int, int] | None:
    """The fixed header length and remaining length of the packet at ``buf[i]`` whose remaining length
    takes more than one byte; None while its header is not all in ``buf[:n]``. The receivers' loops
    read the one-byte case inline: it is every packet these scripts send."""
    rl = buf[i + 1] & 0x7F
    mult = 128
    j = i + 2
    while j < n and j < i + 5:
        b = buf[j]
        rl += (b & 0x7F) * mult
        mult *= 128
        j += 1
        if not b & 0x80:
            return j - i, rl
    return None


class Conn:
    __slots__ = ("name", "sock", "buf", "out", "outstanding", "closed", "delivered", "acked")

    def __init__(self, name: str, sock: socket.socket):
        self.name = name
        self.sock = sock
        self.buf = b""
        self.out = b""
        self.outstanding: set[int] = set()
        self.closed = False
        self.delivered = 0
        self.acked = 0

    def flush(self) -> None:
        """Hand pending output to the kernel without blocking; keep what does not fit."""
        out = self.out
        while out:
            try:
                n = self.sock.send(out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.closed = True
                out = b""
                break
            out = out[n:]
        self.out = out

    def feed(self, data: bytes) -> None:
        """Walk fixed headers: count PUBLISH (PUBACK QoS 1 ones) and PUBACK packets."""
        buf = self.buf + data if self.buf else data
        n = len(buf)
        i = 0
        delivered = 0
        acked = 0
        acks = []
        outstanding = self.outstanding
        while i + 2 <= n:
            first = buf[i]
            rl = buf[i + 1]
            if rl < 128:
                hl = 2
            else:  # multi-byte remaining length (not produced by 64-byte payloads, kept correct)
                long = long_header(buf, i, n)
                if long is None:
                    break
                hl, rl = long
            end = i + hl + rl
            if end > n:
                break
            ptype = first >> 4
            if ptype == 3:
                delivered += 1
                if first & 0x06:  # QoS 1 (QoS 2 is never requested here): PUBACK its packet id
                    t = i + hl
                    p = t + 2 + ((buf[t] << 8) | buf[t + 1])
                    acks.append(buf[p : p + 2])
            elif ptype == 4:
                acked += 1
                outstanding.discard((buf[i + 2] << 8) | buf[i + 3])
            i = end
        self.buf = buf[i:] if i < n else b""
        self.delivered += delivered
        self.acked += acked
        if acks:
            self.out += PUBACK_HEAD + PUBACK_HEAD.join(acks)
            self.flush()


def recv_exact_packet(sock: socket.socket, deadline: float) -> tuple[int, bytes]:
    """Blocking read of one MQTT packet (setup phase only): (first byte, body)."""

    def read(k: int) -> bytes:
        got = b""
        while len(got) < k:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            sock.settimeout(left)
            chunk = sock.recv(k - len(got))
            if not chunk:
                raise ConnectionResetError("connection closed by the broker")
            got += chunk
        return got

    first = read(1)[0]
    rl, mult = 0, 1
    for _ in range(4):
        b = read(1)[0]
        rl += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            break
    return first, read(rl) if rl else b""


def connect_client(name: str, port: int, keepalive: int = 60, timeout: float = 10.0) -> Conn:
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as exc:
        raise BenchError(f"{name}: cannot connect to {HOST}:{port}: {exc}") from exc
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(enc_connect(name, keepalive))
        first, body = recv_exact_packet(sock, deadline)
        if first >> 4 != 2 or len(body) < 2 or body[1] != 0:
            raise BenchError(f"{name}: bad CONNACK {bytes([first]) + body!r}")
    except OSError as exc:
        sock.close()
        raise BenchError(f"{name}: no CONNACK: {exc}") from exc
    except BaseException:
        sock.close()
        raise
    return Conn(name, sock)


def subscribe(c: Conn, topic: str, qos: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    try:
        c.sock.sendall(enc_subscribe(1, topic, qos))
        first, body = recv_exact_packet(c.sock, deadline)
    except OSError as exc:
        raise BenchError(f"{c.name}: no SUBACK: {exc}") from exc
    if first >> 4 != 9 or len(body) < 3 or body[2] >= 0x80:
        raise BenchError(f"{c.name}: subscription to {topic!r} refused ({bytes([first]) + body!r})")


def close_all(conns: list[Conn]) -> None:
    for c in conns:
        with contextlib.suppress(OSError):
            c.sock.setblocking(False)
            c.sock.send(DISCONNECT)
        with contextlib.suppress(OSError):
            c.sock.close()


# --------------------------------------------------------------------------------------------
# Idle connections: the issue's figures are taken with 10,000 connected clients that send nothing
# --------------------------------------------------------------------------------------------

FD_RESERVE = 64  # descriptors kept free for the process itself (pipes, /proc reads, the broker's listeners)


def raise_nofile() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if want > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_idle(port: int, n: int, keepalive: int, concurrency: int, timeout: float, tag: str) -> list[socket.socket]:
    """Open n MQTT connections and wait for every CONNACK; return the open sockets."""
    ep = select.epoll()
    done: list[socket.socket] = []
    pending: dict[int, list] = {}  # fd -> [sock, state, buf]; state 0 connecting, 1 awaiting CONNACK
    started = 0
    deadline = time.monotonic() + timeout
    try:
        while len(done) < n:
            if time.monotonic() > deadline:
                raise BenchError(f"only {len(done)} of {n} connections got a CONNACK within {timeout:.0f}s")
            while started < n and len(pending) < concurrency:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                rc = s.connect_ex((HOST, port))
                if rc not in (0, errno.EINPROGRESS):
                    s.close()
                    raise BenchError(
                        f"connect to {HOST}:{port} failed after {len(done)} connections: {os.strerror(rc)}"
                    )
                pending[s.fileno()] = [s, 0, b"", f"idle-{tag}-{started}"]
                ep.register(s.fileno(), select.EPOLLOUT)
                started += 1
            for fd, _events in ep.poll(0.5):
                ent = pending[fd]
                s = ent[0]
                if ent[1] == 0:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise BenchError(
                            f"connect to {HOST}:{port} failed after {len(done)} connections: {os.strerror(err)}"
                        )
                    s.send(enc_connect(ent[3], keepalive))  # 30-odd bytes always fit a fresh socket
                    ent[1] = 1
                    ep.modify(fd, select.EPOLLIN)
                    continue
                try:
                    data = s.recv(64)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:
                    raise BenchError(f"connection {ent[3]} failed: {exc}") from exc
                if not data:
                    raise BenchError(
                        f"broker closed connection {ent[3]} before CONNACK (after {len(done)} connections)"
                    )
                ent[2] += data
                if len(ent[2]) >= 4:
                    if ent[2][0] >> 4 != 2 or ent[2][3] != 0:
                        raise BenchError(f"{ent[3]}: CONNACK refused: {ent[2][:4]!r}")
                    ep.unregister(fd)
                    del pending[fd]
                    done.append(s)
        return done
    except BaseException:
        for ent in pending.values():
            ent[0].close()
        close_idle(done)
        raise
    finally:
        ep.close()


def close_idle(socks: list[socket.socket]) -> None:
    linger0 = struct.pack("ii", 1, 0)  # RST on close: no TIME_WAIT pile-up between brokers
    for s in socks:
        with contextlib.suppress(OSError):
            s.send(b"\xe0\x00")  # DISCONNECT
        with contextlib.suppress(OSError):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
        with contextlib.suppress(OSError):
            s.close()


@contextlib.contextmanager
def idle_clients(port: int, n: int, tag: str, concurrency: int = 256, timeout: float = 180.0):
    """Hold ``n`` idle MQTT connections to the broker on ``port`` for the duration of the block."""
    socks = open_idle(port, n, 600, concurrency, timeout, tag) if n else []
    try:
        yield socks
    finally:
        close_idle(socks)


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------

SCENARIOS = {
    # name: (subscription topics, publish topics, deliveries per published message, for the record)
    "p2p": ([f"bench/p2p/{i}" for i in range(10)], [f"bench/p2p/{i}" for i in range(10)], 1),
    "fanout": (["bench/fanout"] * 10, ["bench/fanout"], 10),
    "fanin": (["bench/fanin/+"], [f"bench/fanin/{i}" for i in range(10)], 1),
}


def topic_matches(filt: str, topic: str) -> bool:
    """MQTT topic filter match, enough for the filters used here ('+' and a trailing '#')."""
    fl, tl = filt.split("/"), topic.split("/")
    for i, f in enumerate(fl):
        if f == "#":
            return True
        if i >= len(tl) or (f != "+" and f != tl[i]):
            return False
    return len(fl) == len(tl)


def proc_cpu_seconds(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return None


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (/proc/stat), to spot other load on the machine."""
    try:
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    guest = sum(vals[8:10]) if len(vals) > 9 else 0  # already counted in user/nice
    return (sum(vals) - idle - guest) / CLK_TCK


def wait_quiet(max_wait: float, threshold: float = 0.15, sample: float = 1.0) -> float | None:
    """Wait (at most max_wait s) for a `sample`-second stretch where the machine is busy < threshold
    core. Returns the last busy figure, or None when /proc/stat is unreadable."""
    end = time.monotonic() + max_wait
    busy = None
    while True:
        b0, t0 = machine_busy_seconds(), time.monotonic()
        if b0 is None:
            return None
        time.sleep(sample)
        b1 = machine_busy_seconds()
        busy = (b1 - b0) / (time.monotonic() - t0)
        if busy < threshold or time.monotonic() + sample > end:
            return busy


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def run_scenario(name: str, qos: int, port: int, broker_pid: int | None, args) -> dict:
    sub_topics, pub_topics, _factor = SCENARIOS[name]
    payload = (bytes(range(64)) * (args.payload // 64 + 1))[: args.payload]
    tag = f"{os.getpid()}-{name}-q{qos}-{int(time.time() * 1000) % 100000}"
    conns: list[Conn] = []
    try:
        subs: list[Conn] = []
        for i, topic in enumerate(sub_topics):
            c = connect_client(f"bsub-{tag}-{i}", port)
            conns.append(c)
            subscribe(c, topic, qos)
            subs.append(c)
        pubs: list[tuple[Conn, bytes | list[bytes]]] = []
        for i, topic in enumerate(pub_topics):
            c = connect_client(f"bpub-{tag}-{i}", port)
            conns.append(c)
            if qos == 0:
                pkt = enc_publish(topic, payload, 0) * args.batch
            else:  # every packet id encoded once, back to back: packet k (id k+1) at [k*L, (k+1)*L)
                pkt = b"".join(enc_publish(topic, payload, 1, pid) for pid in range(1, args.pid_cycle + 1))
            pubs.append((c, pkt))
        time.sleep(0.2)  # let the subscriptions settle everywhere
        for c in conns:
            c.sock.setblocking(False)

        ep = select.epoll()
        by_fd = {}
        for c in conns:
            ep.register(c.sock.fileno(), select.EPOLLIN)
            by_fd[c.sock.fileno()] = c
        pub_conns = [c for c, _ in pubs]
        next_pid = [0] * len(pubs)
        window = args.window
        lag_cap = args.max_lag if args.max_lag else (DEFAULT_LAG_QOS1 if qos else DEFAULT_LAG_QOS0)
        # Which subscribers receive each publisher's messages; expected[s] = PUBLISHes sent to sub s.
        targets = [[s for s, f in enumerate(sub_topics) if topic_matches(f, t)] for t in pub_topics]
        expected = [0] * len(subs)
        batch = args.batch
        n_cycle = args.pid_cycle
        plens = [len(enc_publish(t, payload, 1, 1)) for t in pub_topics]  # QoS 1 packet length per publisher
        tick = args.tick
        sent = 0
        recv = socket.socket.recv

        def delivered_total() -> int:
            return sum(c.delivered for c in subs)

        def expected_total() -> int:
            return sum(expected)

        def poll_round() -> None:
            for fd, _ev in ep.poll(0):
                c = by_fd[fd]
                try:
                    data = recv(c.sock, RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    c.closed = True
                    ep.unregister(fd)
                    del by_fd[fd]
                    raise BenchError(f"{name} QoS {qos}: broker closed connection {c.name}")
                c.feed(data)
            for c in conns:  # publishers' leftovers and subscribers' pending PUBACKs
                if c.out:
                    c.flush()

        t_start = time.monotonic()
        warm_end = t_start + args.warmup
        deadline = warm_end + args.seconds
        snap0 = None
        now = t_start
        while now < deadline:
            poll_round()
            lags = [e - sc.delivered for e, sc in zip(expected, subs, strict=True)]
            for idx, (c, pkt) in enumerate(pubs):
                if c.out:
                    continue
                tg = targets[idx]
                lag_room = lag_cap - max([lags[s] for s in tg]) if tg else lag_cap
                if lag_room <= 0:
                    continue
                n_before = sent
                if qos == 0:  # batches until the socket is full, the lag cap or MAX_BATCHES
                    for _ in range(MAX_BATCHES):
                        c.out = pkt
                        sent += batch
                        lag_room -= batch
                        c.flush()
                        if c.out or lag_room <= 0:
                            break
                else:
                    outstanding = c.outstanding
                    k = next_pid[idx]
                    free = min(window - len(outstanding), lag_room, n_cycle - k)
                    if free <= 0:
                        continue
                    ids = range(k + 1, k + free + 1)
                    next_pid[idx] = (k + free) % n_cycle
                    plen = plens[idx]
                    if outstanding.isdisjoint(ids):  # the usual case: one slice of pre-encoded packets
                        c.out = pkt[k * plen : (k + free) * plen]
                        outstanding.update(ids)
                    else:  # an old id still unacknowledged: send the free ones only
                        ids = [i for i in ids if i not in outstanding]
                        c.out = b"".join(pkt[(i - 1) * plen : i * plen] for i in ids)
                        outstanding.update(ids)
                        free = len(ids)
                    sent += free
                    c.flush()
                n = sent - n_before
                for s in tg:
                    lags[s] += n
                    expected[s] += n
            now = time.monotonic()
            if snap0 is None and now >= warm_end:
                snap0 = (
                    sent,
                    sum(c.acked for c in pub_conns),
                    delivered_total(),
                    self_cpu_seconds(),
                    proc_cpu_seconds(broker_pid),
                    now,
                    machine_busy_seconds(),
                )
            time.sleep(tick)  # between rounds, so reads and writes come in batches
            now = time.monotonic()
        snap1 = (
            sent,
            sum(c.acked for c in pub_conns),
            delivered_total(),
            self_cpu_seconds(),
            proc_cpu_seconds(broker_pid),
            now,
            machine_busy_seconds(),
        )

        # Drain (bounded): keep reading and acknowledging until what was sent has arrived.
        drain_end = time.monotonic() + args.drain
        while time.monotonic() < drain_end:
            poll_round()
            if delivered_total() >= expected_total() and (qos == 0 or sum(c.acked for c in pub_conns) >= sent):
                break
            time.sleep(tick)
        ep.close()

        if snap0 is None or snap1[5] <= snap0[5]:
            raise BenchError(f"{name} QoS {qos}: the measurement window was missed (machine overloaded?)")
        wall = snap1[5] - snap0[5]
        b0, b1 = snap0[4], snap1[4]
        gen = (snap1[3] - snap0[3]) / wall
        brk = (b1 - b0) / wall if b0 is not None and b1 is not None else None
        other = None
        if snap0[6] is not None and snap1[6] is not None:
            other = max(0.0, (snap1[6] - snap0[6]) / wall - gen - (brk or 0.0))
        if brk is not None and brk >= 0.9:
            limit = "broker"
        elif gen >= 0.9:
            limit = "GENERATOR"
        elif other is not None and other >= 0.2:
            limit = "contended"
        else:
            limit = "-"  # neither saturated: latency / flow control bound
        return {
            "scenario": name,
            "qos": qos,
            "seconds": round(wall, 3),
            "publishers": len(pub_topics),
            "subscribers": len(sub_topics),
            "published_per_s": round((snap1[0] - snap0[0]) / wall, 1),
            "acked_per_s": round((snap1[1] - snap0[1]) / wall, 1) if qos else None,
            "delivered_per_s": round((snap1[2] - snap0[2]) / wall, 1),
            "total_sent": sent,
            "total_delivered": delivered_total(),
            "expected_deliveries": expected_total(),
            "missing_after_drain": max(0, expected_total() - delivered_total()),
            "generator_cores": round(gen, 3),
            "broker_cores": round(brk, 3) if brk is not None else None,
            "other_cores": round(other, 3) if other is not None else None,
            "limit": limit,
        }
    finally:
        close_all(conns)


# --------------------------------------------------------------------------------------------
# Brokers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"broker exited with status {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise BenchError(f"nothing listening on {HOST}:{port} after {timeout}s")


def pid_listening_on(port: int) -> int | None:
    """Find the local process listening on 127.0.0.1/0.0.0.0:port via /proc (bounded scan)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f, None)
            for line in f:
                parts = line.split()
                if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                with contextlib.suppress(OSError):
                    if os.readlink(f"{fd_dir}/{fd}") in targets:
                        return int(pid)
        except OSError:
            continue
    return None


class Broker:
    """A broker to measure: one we start (ours / mosquitto) or an existing host:port."""

    def __init__(
        self,
        label: str,
        port: int,
        proc: subprocess.Popen | None = None,
        pid: int | None = None,
        tmpdir: str | None = None,
    ):
        self.label = label
        self.port = port
        self.proc = proc
        self.pid = pid if pid is not None else (proc.pid if proc else None)
        self.tmpdir = tmpdir
        self.log_tail: list[str] = []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


def _drain_stdout(proc: subprocess.Popen, sink: list[str]) -> None:
    for line in proc.stdout:  # ends at EOF, i.e. when the broker exits
        sink.append(line.rstrip("\n"))
        del sink[:-50]


OURS_OFF_OPTIONS = ["--ws-port", "--http-port", "--v2-port", "--v4-port"]


def ours_command(data_dir: str) -> list[str]:
    """`gateway.cli serve` with MQTT/TCP on an ephemeral port and every other listener off.

    Listener options the CLI does not (yet) know are left out rather than failing the run: the
    supported ones are read from `serve --help` once.
    """
    try:
        help_text = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "serve", "--help"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        help_text = ""
    cmd = [sys.executable, "-m", "gateway.cli", "serve", "--mqtt-port", "0"]
    for opt in OURS_OFF_OPTIONS:
        if not help_text or opt in help_text:
            cmd += [opt, "off"]
    return cmd + ["--data-dir", data_dir]


def start_ours(startup_timeout: float = 30.0) -> Broker:
    tmpdir = tempfile.mkdtemp(prefix="emqgw-bench-")
    cmd = ours_command(tmpdir)
    skipped = [o for o in OURS_OFF_OPTIONS if o not in cmd]
    if skipped:
        print(f"note: this gateway.cli has no {', '.join(skipped)} option(s): started without them")
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    broker = Broker("ours", 0, proc, tmpdir=tmpdir)
    lines: list[str] = []
    found: list[int] = []
    done = threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            m = LISTEN_RE.search(line)
            if m and not found:
                found.append(int(m.group(1)))
                done.set()
                break
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        done.wait(startup_timeout)
        if not found:
            tail = "\n  ".join(lines[-15:])
            status = proc.poll()
            why = (
                f"exited with status {status} before printing"
                if status is not None
                else f"did not print within {startup_timeout:g}s"
            )
            raise BenchError(
                f"our broker ({' '.join(cmd[1:])}) {why} 'listening: mqtt tcp 127.0.0.1:<port>'; its output:\n  {tail}"
            )
        broker.port = found[0]
        broker.log_tail = lines
        threading.Thread(target=_drain_stdout, args=(proc, lines), daemon=True).start()
        wait_port(broker.port, proc, 10)
    except BaseException:
        broker.stop()
        raise
    return broker


def start_mosquitto(extra_conf: str = "") -> Broker:
    exe = shutil.which("mosquitto")
    if exe is None:
        raise BenchError("mosquitto is not on PATH")
    tmpdir = tempfile.mkdtemp(prefix="mosq-bench-")
    port = free_port()
    conf = os.path.join(tmpdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(
            f"listener {port} {HOST}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 100\n"
            "max_connections -1\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n" + extra_conf
        )
    log = open(os.path.join(tmpdir, "mosquitto.log"), "w")
    try:
        proc = subprocess.Popen(
            [exe, "-c", conf], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    finally:
        log.close()
    broker = Broker("mosquitto", port, proc, tmpdir=tmpdir)
    try:
        wait_port(port, proc, 10)
    except BaseException:
        with contextlib.suppress(OSError), open(os.path.join(tmpdir, "mosquitto.log")) as f:
            sys.stderr.write(f.read()[-2000:])
        broker.stop()
        raise
    return broker


def parse_hostport(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not port.isdigit() or host not in ("127.0.0.1", "localhost", ""):
        raise BenchError(
            f"--target must be 'ours', 'mosquitto' or 127.0.0.1:PORT (got {target!r}); only 127.0.0.1 is ever contacted"
        )
    return HOST, int(port)


def start_target(target: str, pid: int | None = None) -> Broker:
    if target == "ours":
        return start_ours()
    if target == "mosquitto":
        return start_mosquitto()
    _, port = parse_hostport(target)
    wait_port(port, None, 3)
    return Broker(target, port, None, pid=pid if pid else pid_listening_on(port))


def want_compare(args) -> bool:
    return bool(args.compare) and args.target != "mosquitto" and shutil.which("mosquitto") is not None


def write_figures(path: str, doc: dict) -> None:
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"figures written to {path}")


def exit_status(main: Callable[[], int]) -> int:
    """A script's ``main()`` as its exit status: 2 for a real error (the README's promise), 130 for Ctrl-C.
    Each main stops the brokers it started itself, whatever happens."""
    try:
        return main()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def install_signals() -> None:
    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    # Ctrl-C must reach the finally blocks even when started with SIGINT ignored (e.g. as a
    # background job of a non-interactive shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)


def machine_info() -> dict:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "-C", REPO_ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": commit,
    }


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def fmt(v, spec=",.0f"):
    return "-" if v is None else format(v, spec)


def print_table(rows: list[dict]) -> None:
    hdr = (
        f"{'scenario':<8} {'qos':>3} {'broker':<16} {'published/s':>12} {'delivered/s':>12} "
        f"{'missing':>8} {'gen cores':>9} {'broker cores':>12} {'other':>6} {'limit':>9}"
    )
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(
            f"{r['scenario']:<8} {r['qos']:>3} {r['broker']:<16} {fmt(r['published_per_s']):>12} "
            f"{fmt(r['delivered_per_s']):>12} {fmt(r['missing_after_drain'], ',d'):>8} "
            f"{fmt(r['generator_cores'], '.2f'):>9} {fmt(r['broker_cores'], '.2f'):>12} "
            f"{fmt(r['other_cores'], '.2f'):>6} {r['limit']:>9}"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--target",
        default="ours",
        help="'ours' (start gateway.cli serve), 'mosquitto', or 127.0.0.1:PORT (default: ours)",
    )
    ap.add_argument(
        "--pid",
        type=int,
        help="broker pid for CPU figures with --target host:port (default: looked up from the listening socket)",
    )
    ap.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run every scenario against mosquitto when it is on PATH (default: on)",
    )
    ap.add_argument("--seconds", type=float, default=5.0, help="measured duration per scenario (default 5)")
    ap.add_argument("--warmup", type=float, default=0.5, help="unmeasured lead-in per scenario (default 0.5)")
    ap.add_argument("--drain", type=float, default=2.0, help="max wait for in-flight messages after the window")
    ap.add_argument("--scenarios", default="p2p,fanout,fanin", help="comma list of p2p,fanout,fanin")
    ap.add_argument("--qos", default="0,1", help="comma list of QoS levels (0,1)")
    ap.add_argument("--payload", type=int, default=64, help="payload bytes (default 64)")
    ap.add_argument("--window", type=int, default=100, help="QoS 1 unacked PUBLISHes per publisher (default 100)")
    ap.add_argument(
        "--max-lag",
        type=int,
        default=0,
        help="pause a publisher while one of its subscribers has more than this many messages sent "
        f"but not yet delivered (default {DEFAULT_LAG_QOS0} at QoS 0, {DEFAULT_LAG_QOS1} at "
        "QoS 1: below the 1000-message queue past which our broker, like EMQX, drops the oldest)",
    )
    ap.add_argument("--batch", type=int, default=64, help="QoS 0 PUBLISHes per socket write (default 64)")
    ap.add_argument(
        "--tick",
        type=float,
        default=0.0002,
        help="generator poll interval in seconds (default 0.0002): reads are batched per tick",
    )
    ap.add_argument("--pid-cycle", type=int, default=4096, help=argparse.SUPPRESS)
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every scenario this many times per broker, interleaved; ratios of the medians (default 1)",
    )
    ap.add_argument(
        "--idle",
        type=int,
        default=0,
        help="idle clients (keepalive 600) held connected during each run, as the issue measured with "
        "10000 (default 0)",
    )
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="before each run, wait up to S seconds for other processes to leave the machine "
        "idle (< 0.15 core for 1 s); for shared machines (default 0: don't wait)",
    )
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    qoss = [int(q) for q in args.qos.split(",") if q.strip()]
    for s in scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s!r}")
    for q in qoss:
        if q not in (0, 1):
            ap.error("QoS must be 0 or 1")
    if args.seconds <= 0 or args.warmup < 0 or args.drain < 0 or args.tick < 0:
        ap.error("--seconds must be > 0; --warmup, --drain and --tick >= 0")
    if not 1 <= args.window < 65535 or args.batch < 1 or args.max_lag < 0:
        ap.error("bad --window / --batch / --max-lag")
    if args.pid_cycle <= args.window:
        ap.error("--pid-cycle must exceed --window")
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")

    install_signals()
    brokers: list[Broker] = []
    rows: list[dict] = []
    info = machine_info()
    try:
        idle = args.idle
        if idle:
            limit = raise_nofile()
            if idle > limit - FD_RESERVE - 64:
                idle = max(0, limit - FD_RESERVE - 64)
                print(f"NOTE: the open-files limit ({limit}) caps the idle clients at {idle}")
        main_broker = start_target(args.target, args.pid)
        brokers.append(main_broker)
        compare = want_compare(args)
        if args.compare and not compare and args.target != "mosquitto":
            print("note: mosquitto not on PATH, no comparison")
        mosq = start_mosquitto() if compare else None
        if mosq:
            brokers.append(mosq)
        print(
            f"machine: {info['cores']} cores ({info['cpu']}), Python {info['python']}, {info['date']}, "
            f"tree {info['commit'] or '?'}"
        )
        print(
            f"load generator: 1 process, 1 thread = at most 1 of the {info['cores']} cores; "
            f"broker: 1 process (ours: one event loop; mosquitto: single-threaded) = at most 1 core"
        )
        for b in brokers:
            print(f"broker {b.label}: 127.0.0.1:{b.port} pid {b.pid or 'unknown'}")
        print(
            f"{args.seconds:g}s per scenario after {args.warmup:g}s warm-up, {args.payload}-byte payloads, "
            f"QoS 1 window {args.window}, lag cap per subscriber "
            f"{args.max_lag or DEFAULT_LAG_QOS0} at QoS 0, {args.max_lag or DEFAULT_LAG_QOS1} at QoS 1, "
            f"{idle:,} idle clients held\n"
        )
        runs = [(name, q, b) for _ in range(args.rounds) for name in scenarios for q in qoss for b in brokers]
        for name, q, b in runs:
            if args.wait_quiet > 0:
                busy = wait_quiet(args.wait_quiet)
                if busy is not None and busy >= 0.15:
                    print(f"  (machine still busy, {busy:.2f} core, after waiting {args.wait_quiet:g}s)")
            with idle_clients(b.port, idle, f"{os.getpid()}-{b.label}-{name}-{q}"):
                r = run_scenario(name, q, b.port, b.pid, args)
            r["broker"] = b.label
            rows.append(r)
            print(
                f"  {name:<7} QoS {q} {b.label:<16} delivered {r['delivered_per_s']:>12,.0f}/s  "
                f"published {r['published_per_s']:>12,.0f}/s  gen {r['generator_cores']:.2f} core"
                f"  broker {fmt(r['broker_cores'], '.2f')} core  other {fmt(r['other_cores'], '.2f')}"
                f"  missing {r['missing_after_drain']:,}",
                flush=True,
            )
            if b.proc is not None and b.proc.poll() is not None:
                raise BenchError(f"{b.label} broker exited (status {b.proc.returncode})")
        print()
        print_table(rows)
        ratios = []
        if mosq:
            print(f"\nratio {main_broker.label}/mosquitto (delivered msgs/s):")
            if args.rounds > 1:
                print(f"(medians of {args.rounds} rounds per broker; each round's ratio beside them)")
            print(f"{'scenario':<8} {'qos':>3} {'ratio':>7} {'target':>8}  met  rounds")
            for name in scenarios:
                for q in qoss:
                    ours = [r for r in rows if (r["scenario"], r["qos"], r["broker"]) == (name, q, main_broker.label)]
                    theirs = [r for r in rows if (r["scenario"], r["qos"], r["broker"]) == (name, q, "mosquitto")]
                    a, m = (statistics.median(r["delivered_per_s"] for r in rs) for rs in (ours, theirs))
                    ratio = a / m if m else None
                    each = [x["delivered_per_s"] / y["delivered_per_s"] for x, y in zip(ours, theirs, strict=True)]
                    tgt = TARGETS.get((name, q))
                    met = None if ratio is None or tgt is None else ratio >= tgt
                    ratios.append(
                        {"scenario": name, "qos": q, "ratio": ratio, "target": tgt, "met": met, "rounds": each}
                    )
                    print(
                        f"{name:<8} {q:>3} {fmt(ratio, '.2f'):>7} {(f'>= {tgt:.1f}x' if tgt else '-'):>8}  "
                        f"{'-' if met is None else ('yes' if met else 'NO'):>3}  " + " ".join(f"{x:.2f}" for x in each)
                    )
        sat = [r for r in rows if r["generator_cores"] >= 0.85]
        print(
            "\ncores: CPU time / wall time over the measured window; 'other' = the rest of the machine "
            "(other processes); missing = sent but not delivered by the end of the drain"
        )
        busy = [r for r in rows if (r["other_cores"] or 0) >= 0.2]
        if busy:
            print(
                "WARNING: other processes used >= 0.2 core during: "
                + ", ".join(f"{r['scenario']}/QoS{r['qos']}/{r['broker']} ({r['other_cores']:.2f})" for r in busy)
                + " -- the machine was not quiet; rerun for clean figures."
            )
        if sat:
            print(
                "WARNING: the load generator used >= 0.85 of a core in: "
                + ", ".join(f"{r['scenario']}/QoS{r['qos']}/{r['broker']}" for r in sat)
                + " -- those figures may be limited by the generator, not the broker."
            )
        else:
            peak = max(r["generator_cores"] for r in rows)
            print(f"load generator stayed below 0.85 core in every run (peak {peak:.2f}): it was not the limit.")
        if args.json:
            write_figures(args.json, {"machine": info, "args": vars(args), "results": rows, "ratios": ratios})
        return 0
    finally:
        for b in brokers:
            b.stop()


if __name__ == "__main__":
    sys.exit(exit_status(main))
