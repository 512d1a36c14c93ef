#!/usr/bin/env python3
"""Broker memory per idle MQTT connection: our broker vs mosquitto, same client, same run.

Opens N idle MQTT 3.1.1 connections (default 10,000; CONNECT with keepalive 600, clean session,
waits for each CONNACK), and reads the broker process's resident memory (VmRSS in
/proc/<pid>/status) before and after, printing KiB per idle connection. Target: <= 8 KiB per
connection for our broker (mosquitto holds well under 1 KiB).

The client side is plain non-blocking sockets in one epoll loop (no MQTT library); it keeps up to
--concurrency handshakes in progress at once. The open-files limit is raised to the hard limit with
the resource module (the brokers this script starts inherit it); when that limit caps N, it says
so and measures with the capped N.

Only 127.0.0.1 is ever contacted. Brokers this script starts are killed on exit, Ctrl-C included.
Exit status 0 means the run finished; non-zero a real error (broker did not start, refused
connections).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import resource
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_throughput import (  # noqa: E402  (shared broker management, same directory)
    HOST,
    BenchError,
    Broker,
    enc_connect,
    install_signals,
    machine_info,
    start_mosquitto,
    start_target,
    want_compare,
)

TARGET_KIB_PER_CONN = 8.0
FD_RESERVE = 64  # descriptors kept free for the process itself (pipes, /proc reads, the broker's listeners)


def vm_rss_kib(pid: int | None) -> int | None:
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


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


def measure(broker: Broker, n: int, args) -> dict:
    if broker.pid is None:
        raise BenchError(f"cannot find the pid of the broker on port {broker.port}: pass --pid")
    tag = f"{os.getpid()}-{broker.label}"
    warm = open_idle(broker.port, 16, args.keepalive, 16, 30, tag + "-warm")  # first-use allocations
    close_idle(warm)
    time.sleep(args.settle)
    before = vm_rss_kib(broker.pid)
    t0 = time.monotonic()
    socks = open_idle(broker.port, n, args.keepalive, args.concurrency, args.timeout, tag)
    took = time.monotonic() - t0
    try:
        time.sleep(args.settle)
        after = vm_rss_kib(broker.pid)
        fds = open_fds(broker.pid)
        if broker.proc is not None and broker.proc.poll() is not None:
            raise BenchError(f"{broker.label} broker exited (status {broker.proc.returncode})")
        if before is None or after is None:
            raise BenchError(f"cannot read /proc/{broker.pid}/status")
        return {
            "broker": broker.label,
            "connections": n,
            "connect_seconds": round(took, 2),
            "rss_before_kib": before,
            "rss_after_kib": after,
            "kib_per_connection": round((after - before) / n, 3),
            "broker_open_fds": fds,
        }
    finally:
        close_idle(socks)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--target",
        default="ours",
        help="'ours' (start gateway.cli serve), 'mosquitto', or 127.0.0.1:PORT (default: ours)",
    )
    ap.add_argument(
        "--pid", type=int, help="broker pid with --target host:port (default: looked up from the listening socket)"
    )
    ap.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure mosquitto when it is on PATH (default: on)",
    )
    ap.add_argument("-n", "--connections", type=int, default=10_000, help="idle connections (default 10000)")
    ap.add_argument("--keepalive", type=int, default=600, help="CONNECT keepalive seconds (default 600)")
    ap.add_argument("--concurrency", type=int, default=256, help="handshakes in progress at once (default 256)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each RSS reading")
    ap.add_argument("--timeout", type=float, default=180.0, help="max seconds to open all connections")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    if args.connections < 1:
        ap.error("--connections must be >= 1")

    install_signals()
    brokers: list[Broker] = []
    info = machine_info()
    try:
        limit = raise_nofile()  # before starting brokers: they inherit it
        n = args.connections
        cap = limit - FD_RESERVE
        print(
            f"machine: {info['cores']} cores ({info['cpu']}), Python {info['python']}, {info['date']}, "
            f"tree {info['commit'] or '?'}"
        )
        print(f"open-files limit (RLIMIT_NOFILE) raised to {limit} (hard limit)")
        if n > cap:
            print(f"NOTE: the open-files limit caps the run at {cap} connections instead of {n}")
            n = cap
        main_broker = start_target(args.target, args.pid)
        brokers.append(main_broker)
        if args.target not in ("ours", "mosquitto"):
            print(f"note: the broker at {args.target} keeps its own open-files limit")
        if args.compare and want_compare(args):
            brokers.append(start_mosquitto())
        elif args.compare and args.target != "mosquitto":
            print("note: mosquitto not on PATH, no comparison")
        rows = []
        for b in brokers:
            print(f"{b.label}: 127.0.0.1:{b.port} pid {b.pid}: opening {n:,} idle connections...", flush=True)
            rows.append(measure(b, n, args))
            time.sleep(0.5)
        print()
        hdr = (
            f"{'broker':<16} {'connections':>11} {'RSS before':>12} {'RSS after':>12} "
            f"{'KiB/conn':>9} {'connect s':>9} {'broker fds':>10}"
        )
        print(hdr)
        print("-" * len(hdr))
        for r in rows:
            print(
                f"{r['broker']:<16} {r['connections']:>11,} {r['rss_before_kib']:>9,} KiB "
                f"{r['rss_after_kib']:>8,} KiB {r['kib_per_connection']:>9.2f} {r['connect_seconds']:>9.1f} "
                f"{r['broker_open_fds'] if r['broker_open_fds'] is not None else '-':>10}"
            )
        ours = rows[0]
        if main_broker.label != "mosquitto":
            verdict = "yes" if ours["kib_per_connection"] <= TARGET_KIB_PER_CONN else "NO"
            print(f"\ntarget for {ours['broker']}: <= {TARGET_KIB_PER_CONN:g} KiB per idle connection: {verdict}")
        if len(rows) > 1 and rows[1]["kib_per_connection"] > 0:
            ratio = ours["kib_per_connection"] / rows[1]["kib_per_connection"]
            print(f"ratio {ours['broker']}/mosquitto: {ratio:.1f}x")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(
                    {
                        "machine": info,
                        "args": vars(args),
                        "nofile_limit": limit,
                        "results": rows,
                        "target_kib_per_connection": TARGET_KIB_PER_CONN,
                    },
                    f,
                    indent=2,
                )
            print(f"figures written to {args.json}")
        return 0
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        for b in brokers:
            b.stop()


if __name__ == "__main__":
    sys.exit(main())
