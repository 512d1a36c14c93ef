#!/usr/bin/env python3
"""Broker memory per idle MQTT connection: our broker vs mosquitto, same client, same run.

Opens N idle MQTT 3.1.1 connections (default 10,000; CONNECT with keepalive 600, clean session,
waits for each CONNACK) in blocks of --block (default 3,000), and reads the broker process's
resident memory (VmRSS in /proc/<pid>/status) from a cold start (a fresh broker that has served
nothing: no warm-up connections) and after each block. It prints KiB per connection for every
block and for all N from the cold reading. Budget (issue #14): <= 2 KiB per idle connection from
cold for our broker (mosquitto holds about 0.7); printed, never asserted.

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
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_throughput import (  # noqa: E402  (shared broker management, same directory)
    FD_RESERVE,
    BenchError,
    Broker,
    close_idle,
    exit_status,
    install_signals,
    machine_info,
    open_idle,
    raise_nofile,
    start_mosquitto,
    start_target,
    want_compare,
    write_figures,
)

TARGET_KIB_PER_CONN = 2.0


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


def measure(broker: Broker, n: int, args) -> dict:
    if broker.pid is None:
        raise BenchError(f"cannot find the pid of the broker on port {broker.port}: pass --pid")
    tag = f"{os.getpid()}-{broker.label}"
    time.sleep(args.settle)
    cold = vm_rss_kib(broker.pid)
    if cold is None:
        raise BenchError(f"cannot read /proc/{broker.pid}/status")
    socks = []
    blocks = []
    rss = cold
    t0 = time.monotonic()
    try:
        while len(socks) < n:
            k = min(args.block, n - len(socks))
            socks += open_idle(broker.port, k, args.keepalive, args.concurrency, args.timeout, f"{tag}-{len(socks)}")
            time.sleep(args.settle)
            now = vm_rss_kib(broker.pid)
            if now is None:
                raise BenchError(f"cannot read /proc/{broker.pid}/status")
            blocks.append({"connections": len(socks), "rss_kib": now, "kib_per_connection": round((now - rss) / k, 3)})
            rss = now
        took = time.monotonic() - t0
        fds = open_fds(broker.pid)
        if broker.proc is not None and broker.proc.poll() is not None:
            raise BenchError(f"{broker.label} broker exited (status {broker.proc.returncode})")
        return {
            "broker": broker.label,
            "connections": n,
            "connect_seconds": round(took, 2),
            "rss_cold_kib": cold,
            "rss_after_kib": rss,
            "kib_per_connection": round((rss - cold) / n, 3),
            "blocks": blocks,
            "broker_open_fds": fds,
        }
    finally:
        close_idle(socks)


def print_rows(rows: list[dict]) -> None:
    hdr = f"{'broker':<16} {'connections':>11} {'RSS':>12} {'KiB/conn':>9}  (block by block, from cold)"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['broker']:<16} {0:>11,} {r['rss_cold_kib']:>8,} KiB {'cold':>9}")
        for b in r["blocks"]:
            print(f"{'':<16} {b['connections']:>11,} {b['rss_kib']:>8,} KiB {b['kib_per_connection']:>9.2f}")
        print(
            f"{'':<16} {'all':>11} {r['rss_after_kib'] - r['rss_cold_kib']:>8,} KiB {r['kib_per_connection']:>9.2f}"
            f"  (opened in {r['connect_seconds']:.1f} s; broker fds {r['broker_open_fds'] or '-'})"
        )


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
    ap.add_argument("--block", type=int, default=3000, help="connections added between readings (default 3000)")
    ap.add_argument("--keepalive", type=int, default=600, help="CONNECT keepalive seconds (default 600)")
    ap.add_argument("--concurrency", type=int, default=256, help="handshakes in progress at once (default 256)")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each RSS reading")
    ap.add_argument("--timeout", type=float, default=180.0, help="max seconds to open all connections")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    if args.connections < 1 or args.block < 1:
        ap.error("--connections and --block must be >= 1")

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
            print(f"note: the broker at {args.target} keeps its own open-files limit, and may not be cold")
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
        print_rows(rows)
        ours = rows[0]
        mosq = rows[1] if len(rows) > 1 else None
        if mosq is not None and mosq["kib_per_connection"] > 0:
            ratio = ours["kib_per_connection"] / mosq["kib_per_connection"]
            print(f"\nratio {ours['broker']}/mosquitto, KiB per connection from cold: {ratio:.1f}x")
        if main_broker.label != "mosquitto":
            verdict = "met" if ours["kib_per_connection"] <= TARGET_KIB_PER_CONN else "NOT met"
            print(
                f"budget for {ours['broker']}: <= {TARGET_KIB_PER_CONN:g} KiB per idle connection from cold: "
                f"{ours['kib_per_connection']:.2f}, {verdict}"
            )
        if args.json:
            write_figures(
                args.json,
                {
                    "machine": info,
                    "args": vars(args),
                    "nofile_limit": limit,
                    "results": rows,
                    "target_kib_per_connection": TARGET_KIB_PER_CONN,
                },
            )
        return 0
    finally:
        for b in brokers:
            b.stop()


if __name__ == "__main__":
    sys.exit(exit_status(main))
