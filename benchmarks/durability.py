#!/usr/bin/env python3
"""QoS 1 publish throughput to an offline persistent subscriber: in memory, `periodic`, `sync`.

One 3.1.1 subscriber connects with clean session 0, subscribes to `bench/durable` at QoS 1 and
disconnects, so that every message published afterwards is queued for an offline persistent session
(the case durability is about). Then --publishers publishers each keep --window unacknowledged QoS 1
PUBLISHes (64-byte payloads) for --seconds; the figure is PUBACKs received per second.

  memory    the bare broker (broker.server.MQTTServer, no state store): the ceiling
  periodic  `emqgw serve`, durability = "periodic" (the default): queued messages written every 100 ms
  sync      `emqgw serve`, durability = "sync": each PUBACK waits for its group commit (WAL fsync)

Every broker runs with max_mqueue_len = 10,000,000 so that nothing is dropped for queue length.
Only 127.0.0.1 is contacted; the brokers started are killed at the end. Speed is never asserted;
the `sync / memory` ratio is printed beside the issue's target (>= 0.3).
"""

from __future__ import annotations

import argparse
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_throughput import DISCONNECT, enc_connect, enc_publish, enc_subscribe  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISTEN_RE = re.compile(r"listening: mqtt tcp 127\.0\.0\.1:(\d+)")
TOPIC = "bench/durable"
TARGET = 0.3  # sync >= 0.3 x in-memory (the issue)
MQUEUE = 10_000_000

MEMORY_BROKER = f"""
import asyncio
from broker.core import Broker
from broker.server import MQTTServer
from schemas.records import BrokerConfig, ListenerConfig

async def main():
    cfg = BrokerConfig(listeners=[ListenerConfig(type="tcp", name="default", bind="127.0.0.1", port=0)],
                       max_mqueue_len={MQUEUE})
    server = MQTTServer(Broker(cfg))
    await server.start()
    for lst in server.listeners.values():
        print(f"listening: mqtt tcp 127.0.0.1:{{lst.port}}", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def start(mode: str, tmpdir: str) -> tuple[subprocess.Popen, int]:
    if mode == "memory":
        cmd = [sys.executable, "-c", MEMORY_BROKER]
    else:
        cfg = os.path.join(tmpdir, f"{mode}.toml")
        with open(cfg, "w") as f:
            f.write(f'[mqtt]\ndurability = "{mode}"\nmax_mqueue_len = {MQUEUE}\n')
        cmd = [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--config",
            cfg,
            "--data-dir",
            os.path.join(tmpdir, mode),
            "--mqtt-port",
            "0",
            "--ws-port",
            "off",
            "--http-port",
            "off",
            "--v2-port",
            "off",
            "--v4-port",
            "off",
        ]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        m = LISTEN_RE.search(line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise SystemExit(f"{mode}: the broker did not start")


def _connect(port: int, clientid: str, clean: bool) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(enc_connect(clientid, clean=clean))
    if s.recv(4)[:2] != b"\x20\x02":
        raise SystemExit("no CONNACK")
    return s


def run(port: int, seconds: float, publishers: int, window: int) -> float:
    sub = _connect(port, "durable-sub", clean=False)
    sub.sendall(enc_subscribe(1, TOPIC, 1))
    sub.recv(5)
    sub.sendall(DISCONNECT)
    sub.close()
    time.sleep(0.2)
    payload = b"x" * 64
    frames = [enc_publish(TOPIC, payload, 1, pid) for pid in range(1, 65536)]
    pubs = [_connect(port, f"durable-pub-{i}", clean=True) for i in range(publishers)]
    for s in pubs:
        s.setblocking(False)
    state = {s: [0, b""] for s in pubs}  # socket -> [next frame index, unparsed bytes]
    for s in pubs:
        s.sendall(b"".join(frames[:window]))
        state[s][0] = window
    acked = 0
    counting_from = time.monotonic() + 0.5  # warm-up
    counted = 0
    end = counting_from + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        readable, _, _ = select.select(pubs, [], [], 0.05)
        for s in readable:
            st = state[s]
            data = st[1] + s.recv(1 << 20)
            n = len(data) // 4  # PUBACKs are 4 bytes each
            st[1] = data[n * 4 :]
            acked += n
            if now >= counting_from:
                counted += n
            i = st[0]
            batch = [frames[(i + k) % len(frames)] for k in range(n)]
            st[0] = (i + n) % len(frames)
            if batch:
                s.setblocking(True)
                s.sendall(b"".join(batch))
                s.setblocking(False)
    for s in pubs:
        s.close()
    return counted / seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--publishers", type=int, default=4)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--modes", default="memory,periodic,sync")
    args = ap.parse_args(argv)
    tmpdir = tempfile.mkdtemp(prefix="emqgw-durability-")
    results = {}
    try:
        for mode in args.modes.split(","):
            proc, port = start(mode, tmpdir)
            try:
                results[mode] = run(port, args.seconds, args.publishers, args.window)
            finally:
                proc.kill()
                proc.wait()
            print(f"  {mode:<9} QoS 1 to an offline persistent session  {results[mode]:>10,.0f} msg/s", flush=True)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if "memory" in results and "sync" in results and results["memory"]:
        ratio = results["sync"] / results["memory"]
        print(f"  sync / memory = {ratio:.2f} (target >= {TARGET})")
    if "memory" in results and "periodic" in results and results["memory"]:
        print(f"  periodic / memory = {results['periodic'] / results['memory']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
