#!/usr/bin/env python3
"""MQTT publish->deliver latency at fixed publish rates: our broker vs mosquitto, same run.

10 publisher/subscriber pairs on 10 topics (QoS 0, 64-byte payloads) publish together at a fixed
total rate (--rates, default 5,000 and 20,000 msgs/s) for --seconds after a --warmup, while --idle
other clients (default 10,000, as the issue measured) stay connected and silent. Each payload
starts with the time it was written to the publisher's socket (``time.perf_counter_ns``, one clock:
publishers and subscribers live in this one process), and each subscriber takes the difference
when it reads the message. Printed per rate and broker: p50 / p99 / p99.9 / max publish->deliver,
the rate reached, messages missing after the drain, and CPU (broker, generator, other processes);
then the ratio ours/mosquitto of p50 and p99 beside the issue's budget (p99 <= 2x mosquitto at
20,000 msgs/s). Printed, never asserted.

The load generator is the throughput benchmark's: one process, one thread, plain non-blocking
sockets in one epoll loop. It sends what is due by the clock (rate x elapsed time) whenever it
wakes, and wakes at the next message due (epoll's millisecond resolution: at 20,000 msgs/s the
messages leave in bursts of about 20) or as soon as a delivery arrives. What it adds to a latency
(its own reaction time) is the same for both brokers. With --burst B the messages leave only once B
per publisher are due, all publishers writing at once (B messages in one write each): the same rate
in bursts, so that the broker gets B x 10 messages to handle in one go, and a delivery can wait
behind the others' input.

Only 127.0.0.1 is ever contacted. Brokers this script starts are killed on exit, Ctrl-C included.
Exit status 0 means the run finished, non-zero a real error.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_throughput import (  # noqa: E402  (shared broker management, same directory)
    FD_RESERVE,
    BenchError,
    Broker,
    close_all,
    connect_client,
    enc_publish,
    exit_status,
    fmt,
    idle_clients,
    install_signals,
    long_header,
    machine_busy_seconds,
    machine_info,
    proc_cpu_seconds,
    raise_nofile,
    self_cpu_seconds,
    start_mosquitto,
    start_target,
    subscribe,
    wait_quiet,
    want_compare,
    write_figures,
)

PAIRS = 10
P99_BUDGET = 2.0  # ours / mosquitto at the issue's rate
BUDGET_RATE = 20_000
_STAMP = struct.Struct(">Q")


class Receiver:
    """A subscriber: walks fixed headers and takes the latency of every PUBLISH it reads."""

    __slots__ = ("buf", "count", "samples", "since")

    def __init__(self, since: int, samples: list[int]):
        self.buf = b""
        self.count = 0  # PUBLISHes stamped at or after ``since``
        self.samples = samples
        self.since = since

    def feed(self, data: bytes, now: int) -> None:
        buf = self.buf + data if self.buf else data
        n = len(buf)
        i = 0
        unpack = _STAMP.unpack_from
        while i + 2 <= n:
            rl = buf[i + 1]
            hl = 2
            if rl >= 128:  # not produced by small payloads; walked correctly anyway
                long = long_header(buf, i, n)
                if long is None:
                    break
                hl, rl = long
            end = i + hl + rl
            if end > n:
                break
            if buf[i] >> 4 == 3:
                t = i + hl
                sent = unpack(buf, t + 2 + ((buf[t] << 8) | buf[t + 1]))[0]
                if sent >= self.since:
                    self.count += 1
                    self.samples.append(now - sent)
            i = end
        self.buf = buf[i:] if i < n else b""


def percentile(ordered: list[int], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def run_rate(port: int, broker_pid: int | None, rate: int, args) -> dict:
    tag = f"{os.getpid()}-lat-{rate}-{int(time.time() * 1000) % 100000}"
    filler = bytes(args.payload - _STAMP.size)
    conns = []
    try:
        subs = []
        heads = []
        for i in range(PAIRS):
            topic = f"bench/lat/{i}"
            c = connect_client(f"lsub-{tag}-{i}", port)
            conns.append(c)
            subscribe(c, topic, 0)
            subs.append(c)
            heads.append(enc_publish(topic, bytes(args.payload))[: -args.payload])
        pubs = [connect_client(f"lpub-{tag}-{i}", port) for i in range(PAIRS)]
        conns += pubs
        time.sleep(0.2)  # let the subscriptions settle
        for c in conns:
            c.sock.setblocking(False)
        ep = select.epoll()
        samples: list[int] = []
        t0 = time.perf_counter_ns()
        warm_end = t0 + int(args.warmup * 1e9)
        end = warm_end + int(args.seconds * 1e9)
        receivers = {c.sock.fileno(): (c, Receiver(warm_end, samples)) for c in subs}
        for fd in receivers:
            ep.register(fd, select.EPOLLIN)
        recv = socket.socket.recv
        sent = measured_sent = 0
        next_pub = 0
        snap0 = None

        def read_ready(timeout: float) -> None:
            for fd, _ev in ep.poll(timeout):
                c, r = receivers[fd]
                try:
                    data = recv(c.sock, 1 << 20)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    raise BenchError(f"latency {rate}/s: broker closed connection {c.name}")
                r.feed(data, time.perf_counter_ns())

        now = t0
        at_once = args.burst * PAIRS
        while now < end:
            due = (now - t0) * rate // 1_000_000_000 - sent
            if due >= at_once:
                stamp = _STAMP.pack(now)
                batches: list[list[bytes]] = [[] for _ in range(PAIRS)]
                for _ in range(due):
                    batches[next_pub].append(heads[next_pub] + stamp + filler)
                    next_pub = (next_pub + 1) % PAIRS
                for c, batch in zip(pubs, batches, strict=True):
                    if batch:
                        c.out += b"".join(batch)
                        c.flush()
                sent += due
                if now >= warm_end:
                    measured_sent += due
            if snap0 is None and now >= warm_end:
                snap0 = (self_cpu_seconds(), proc_cpu_seconds(broker_pid), time.monotonic(), machine_busy_seconds())
            for c in pubs:
                if c.out:
                    c.flush()
            next_due = t0 + (sent + at_once) * 1_000_000_000 // rate
            read_ready(max(0.0, (next_due - time.perf_counter_ns()) / 1e9))
            now = time.perf_counter_ns()
        snap1 = (self_cpu_seconds(), proc_cpu_seconds(broker_pid), time.monotonic(), machine_busy_seconds())
        drain_end = time.monotonic() + args.drain
        while time.monotonic() < drain_end and sum(r.count for _, r in receivers.values()) < measured_sent:
            read_ready(0.01)
        ep.close()
        if snap0 is None:
            raise BenchError(f"latency {rate}/s: the measurement window was missed (machine overloaded?)")
        wall = snap1[2] - snap0[2]
        gen = (snap1[0] - snap0[0]) / wall
        brk = (snap1[1] - snap0[1]) / wall if snap0[1] is not None and snap1[1] is not None else None
        other = None
        if snap0[3] is not None and snap1[3] is not None:
            other = max(0.0, (snap1[3] - snap0[3]) / wall - gen - (brk or 0.0))
        samples.sort()
        return {
            "rate": rate,
            "sent_per_s": round(measured_sent / args.seconds, 1),
            "delivered": len(samples),
            "missing_after_drain": max(0, measured_sent - len(samples)),
            "p50_ms": percentile(samples, 0.50),
            "p99_ms": percentile(samples, 0.99),
            "p999_ms": percentile(samples, 0.999),
            "max_ms": samples[-1] / 1e6 if samples else None,
            "generator_cores": round(gen, 3),
            "broker_cores": round(brk, 3) if brk is not None else None,
            "other_cores": round(other, 3) if other is not None else None,
        }
    finally:
        close_all(conns)


def print_table(rows: list[dict]) -> None:
    hdr = (
        f"{'rate/s':>7} {'broker':<16} {'sent/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'max ms':>7} "
        f"{'missing':>7} {'gen':>5} {'broker':>6} {'other':>5}"
    )
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(
            f"{r['rate']:>7,} {r['broker']:<16} {fmt(r['sent_per_s']):>8} {fmt(r['p50_ms'], '.2f'):>7} "
            f"{fmt(r['p99_ms'], '.2f'):>7} {fmt(r['p999_ms'], '.2f'):>8} {fmt(r['max_ms'], '.1f'):>7} "
            f"{r['missing_after_drain']:>7,} {fmt(r['generator_cores'], '.2f'):>5} "
            f"{fmt(r['broker_cores'], '.2f'):>6} {fmt(r['other_cores'], '.2f'):>5}"
        )


def print_ratios(rows: list[dict], ours: str, rates: list[int]) -> list[dict]:
    ratios = []
    print(f"\nratio {ours}/mosquitto (latency: lower is better)")
    print(f"{'rate/s':>7} {'p50':>6} {'p99':>6}  budget")
    for rate in rates:
        a = next(r for r in rows if r["rate"] == rate and r["broker"] == ours)
        m = next(r for r in rows if r["rate"] == rate and r["broker"] == "mosquitto")
        p50 = a["p50_ms"] / m["p50_ms"] if a["p50_ms"] and m["p50_ms"] else None
        p99 = a["p99_ms"] / m["p99_ms"] if a["p99_ms"] and m["p99_ms"] else None
        budget = "-"
        if rate == BUDGET_RATE:
            met = p99 is not None and p99 <= P99_BUDGET
            budget = f"p99 <= {P99_BUDGET:g}x: {'met' if met else 'NOT met'}"
        ratios.append({"rate": rate, "p50": p50, "p99": p99})
        print(f"{rate:>7,} {fmt(p50, '.2f'):>6} {fmt(p99, '.2f'):>6}  {budget}")
    return ratios


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default="ours", help="'ours', 'mosquitto', or 127.0.0.1:PORT (default: ours)")
    ap.add_argument("--pid", type=int, help="broker pid with --target host:port (default: found from the socket)")
    ap.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure mosquitto when it is on PATH (default: on)",
    )
    ap.add_argument("--rates", default="5000,20000", help="total publish rates, msgs/s (default 5000,20000)")
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per rate (default 5)")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured lead-in per rate (default 1)")
    ap.add_argument("--drain", type=float, default=2.0, help="max wait for the last deliveries (default 2)")
    ap.add_argument("--payload", type=int, default=64, help="payload bytes, >= 8 (default 64)")
    ap.add_argument(
        "--burst", type=int, default=1, help="messages each publisher writes at once (default 1: as they fall due)"
    )
    ap.add_argument("--idle", type=int, default=10_000, help="idle clients held meanwhile (default 10000)")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="before each run, wait up to S seconds for the machine to be idle (< 0.15 core for 1 s)",
    )
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    if not rates or min(rates) < 1 or args.seconds <= 0 or args.warmup < 0 or args.payload < _STAMP.size:
        ap.error("bad --rates / --seconds / --warmup / --payload")
    if args.burst < 1:
        ap.error("--burst must be >= 1")

    install_signals()
    brokers: list[Broker] = []
    rows: list[dict] = []
    info = machine_info()
    try:
        limit = raise_nofile()
        idle = args.idle
        if idle > limit - FD_RESERVE - 2 * PAIRS:
            idle = max(0, limit - FD_RESERVE - 2 * PAIRS)
            print(f"NOTE: the open-files limit ({limit}) caps the idle clients at {idle}")
        main_broker = start_target(args.target, args.pid)
        brokers.append(main_broker)
        if want_compare(args):
            brokers.append(start_mosquitto())
        print(
            f"machine: {info['cores']} cores ({info['cpu']}), Python {info['python']}, {info['date']}, "
            f"tree {info['commit'] or '?'}"
        )
        print(
            f"{PAIRS} publisher/subscriber pairs, QoS 0, {args.payload}-byte payloads, bursts of {args.burst} "
            f"per publisher, {idle:,} idle clients held, {args.seconds:g}s per rate after {args.warmup:g}s "
            "warm-up\n"
        )
        for rate in rates:
            for b in brokers:
                if args.wait_quiet > 0:
                    busy = wait_quiet(args.wait_quiet)
                    if busy is not None and busy >= 0.15:
                        print(f"  (machine still busy, {busy:.2f} core, after waiting {args.wait_quiet:g}s)")
                with idle_clients(b.port, idle, f"{os.getpid()}-{b.label}-{rate}"):
                    r = run_rate(b.port, b.pid, rate, args)
                r["broker"] = b.label
                rows.append(r)
                print(
                    f"  {rate:>7,}/s {b.label:<16} p50 {fmt(r['p50_ms'], '.2f')} ms  p99 {fmt(r['p99_ms'], '.2f')} ms"
                    f"  max {fmt(r['max_ms'], '.1f')} ms  broker {fmt(r['broker_cores'], '.2f')} core"
                    f"  other {fmt(r['other_cores'], '.2f')}",
                    flush=True,
                )
                if b.proc is not None and b.proc.poll() is not None:
                    raise BenchError(f"{b.label} broker exited (status {b.proc.returncode})")
        print()
        print_table(rows)
        ratios = print_ratios(rows, main_broker.label, rates) if len(brokers) > 1 else []
        busy = [r for r in rows if (r["other_cores"] or 0) >= 0.2]
        if busy:
            print(
                "WARNING: other processes used >= 0.2 core during: "
                + ", ".join(f"{r['rate']}/s {r['broker']} ({r['other_cores']:.2f})" for r in busy)
                + " -- the machine was not quiet; rerun for clean figures."
            )
        if args.json:
            write_figures(args.json, {"machine": info, "args": vars(args), "results": rows, "ratios": ratios})
        return 0
    finally:
        for b in brokers:
            b.stop()


if __name__ == "__main__":
    sys.exit(exit_status(main))
