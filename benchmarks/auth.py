#!/usr/bin/env python3
"""What authentication and authorization cost: CONNECT rate with 10,000 built-in users (sha256, bcrypt)
and PUBLISH throughput with 100 authorization rules, each as a ratio against no authentication / no
rules measured in the same run, on the same broker process.

One `gateway.cli serve` is started (MQTT and the main HTTP listener on ephemeral ports, a temporary data
dir) and configured over `/api/v5` between phases:

  connect/none    the built-in database authenticator disabled; clients CONNECT anonymously
  connect/sha256  10,000 users (sha256, salt prefix, one salt each); clients CONNECT as a random one
  connect/bcrypt  the same users re-imported with a bcrypt hash (salt_rounds 10, EMQX's default; one
                  hash shared by every user: the check costs the same whatever the hash)
  publish/none    p2p (10 publisher/subscriber pairs, broker_throughput.py's generator), no rules
  publish/rules   the same with 100 rules in the built-in database's record for all clients, the
                  one that allows the benchmark's topics last
  publish/nocache the same rules with the authorization cache off: every PUBLISH is a cache miss,
                  which the record's first-level index keeps to a few rule tests (for the record)

The CONNECT generator is one thread and one epoll loop keeping --concurrency handshakes in flight:
non-blocking connect, CONNECT (MQTT 3.1.1, clean session), CONNACK checked (a refusal is an error),
DISCONNECT, wait for the broker to close, repeat. Only 127.0.0.1 is contacted; the broker is killed on
exit. Speed is never asserted: exit status 0 means the run finished.

Targets (issue #13): connect/sha256 >= 0.8 x connect/none; publish/rules >= 0.8 x publish/none.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import json
import os
import random
import re
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import broker_throughput as bt  # noqa: E402  (the load generator, shared)

DB = "password_based:built_in_database"
USERS = 10_000
PASSWORD = "bench-password"
IMPORT_CHUNK = 2_000  # rows per import call: under the HTTP body limit
HTTP_RE = re.compile(r"listening: http 127\.0\.0\.1:(\d+)")
TARGETS = {"connect/sha256": ("connect/none", 0.8), "publish/rules": ("publish/none", 0.8)}


# -- the broker and its API ------------------------------------------------------------------------


class Gateway:
    def __init__(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="emqgw-auth-bench-")
        cmd = [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", self.tmpdir, "--mqtt-port", "0"]
        cmd += ["--ws-port", "off", "--http-port", "0", "--v2-port", "off", "--v4-port", "off"]
        self.proc = subprocess.Popen(
            cmd,
            cwd=bt.REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self.broker = bt.Broker("ours", 0, self.proc, tmpdir=self.tmpdir)
        lines: list[str] = []
        ports: dict[str, int] = {}
        end = time.monotonic() + 30
        while len(ports) < 2 and time.monotonic() < end:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            for key, rx in (("http", HTTP_RE), ("mqtt", bt.LISTEN_RE)):
                m = rx.search(line)
                if m:
                    ports[key] = int(m.group(1))
        if len(ports) < 2:
            self.broker.stop()
            raise bt.BenchError("the gateway did not start:\n  " + "\n  ".join(lines[-15:]))
        threading.Thread(target=bt._drain_stdout, args=(self.proc, lines), daemon=True).start()
        self.http, self.port, self.pid = ports["http"], ports["mqtt"], self.proc.pid
        self.token = self.call("POST", "/login", {"username": "admin", "password": "public"})["token"]

    def call(self, method: str, path: str, body=None):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http}/api/v5{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        if getattr(self, "token", None):
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                text = r.read()
        except urllib.error.HTTPError as e:
            raise bt.BenchError(f"{method} {path}: {e.code} {e.read()[:300]!r}") from None
        return json.loads(text) if text else None

    def authenticator(self, **changes) -> None:
        cfg = {"mechanism": "password_based", "backend": "built_in_database", **changes}
        self.call("PUT", f"/authentication/{DB}", cfg)

    def import_hashed(self, rows: list[dict]) -> None:
        for i in range(0, len(rows), IMPORT_CHUNK):
            self.call("POST", f"/authentication/{DB}/import_users?type=hash", rows[i : i + IMPORT_CHUNK])

    def stop(self) -> None:
        self.broker.stop()


def sha256_rows() -> list[dict]:
    rows = []
    for i in range(USERS):
        salt = os.urandom(16).hex()
        digest = hashlib.sha256((salt + PASSWORD).encode()).hexdigest()
        rows.append({"user_id": f"user-{i}", "password_hash": digest, "salt": salt})
    return rows


def bcrypt_rows() -> list[dict]:
    import bcrypt

    salt = bcrypt.gensalt(10)
    digest = bcrypt.hashpw(PASSWORD.encode(), salt).decode()
    return [{"user_id": f"user-{i}", "password_hash": digest, "salt": salt.decode()} for i in range(USERS)]


# -- the CONNECT generator -----------------------------------------------------------------------------


def enc_connect(client_id: str, username: str | None, password: str | None) -> bytes:
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    body = bt._str("MQTT") + bytes([4, flags]) + (60).to_bytes(2, "big") + bt._str(client_id)
    if username is not None:
        body += bt._str(username)
    if password is not None:
        body += bt._str(password)
    return b"\x10" + bt._varint(len(body)) + body


class Slot:
    """One handshake in flight: connect -> CONNECT -> CONNACK -> DISCONNECT -> the broker closes."""

    __slots__ = ("sock", "state", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.state = "connecting"
        self.buf = b""


def connect_rate(port: int, pid: int, seconds: float, warmup: float, concurrency: int, credentials) -> dict:
    """Completed handshakes per second over ``seconds`` after ``warmup``; ``credentials()`` gives
    (username, password) for the next CONNECT, or (None, None)."""
    ep = select.epoll()
    slots: dict[int, Slot] = {}
    counter = 0

    def open_one() -> None:
        nonlocal counter
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex((bt.HOST, port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            raise bt.BenchError(f"cannot connect to {bt.HOST}:{port}: {os.strerror(err)}")
        slots[s.fileno()] = Slot(s)
        ep.register(s.fileno(), select.EPOLLOUT)

    def finish(fd: int) -> None:
        slot = slots.pop(fd)
        ep.unregister(fd)
        # The broker closed first; answering its FIN with a reset leaves no TIME_WAIT socket behind on
        # either side, so tens of thousands of handshakes do not use up the machine's ephemeral ports.
        slot.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        slot.sock.close()
        open_one()

    for _ in range(concurrency):
        open_one()
    done = 0
    start = time.monotonic()
    window_start = start + warmup
    window_end = window_start + seconds
    counted = 0
    cpu0 = busy0 = None
    while True:
        now = time.monotonic()
        if cpu0 is None and now >= window_start:
            cpu0, busy0, counted, t0 = bt.proc_cpu_seconds(pid), bt.machine_busy_seconds(), done, now
        if now >= window_end:
            break
        for fd, _events in ep.poll(0.05):
            slot = slots[fd]
            if slot.state == "connecting":
                err = slot.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise bt.BenchError(f"connect failed: {os.strerror(err)}")
                counter += 1
                user, pw = credentials()
                slot.sock.send(enc_connect(f"bench-{counter}", user, pw))
                slot.state = "connack"
                ep.modify(fd, select.EPOLLIN)
                continue
            try:
                data = slot.sock.recv(64)
            except ConnectionError:
                data = b""
            if slot.state == "connack":
                slot.buf += data
                if not data:
                    raise bt.BenchError("the broker closed a connection before its CONNACK")
                if len(slot.buf) < 4:
                    continue
                if slot.buf[:2] != b"\x20\x02" or slot.buf[3] != 0:
                    raise bt.BenchError(f"CONNACK refused: {slot.buf[:4]!r} (wrong credentials?)")
                slot.sock.send(bt.DISCONNECT)
                slot.state = "closing"
            elif not data:  # the broker closed after our DISCONNECT: it did the active close
                done += 1
                finish(fd)
    t1 = time.monotonic()
    cpu1, busy1 = bt.proc_cpu_seconds(pid), bt.machine_busy_seconds()
    for slot in slots.values():
        slot.sock.close()
    ep.close()
    wall = t1 - t0
    broker = (cpu1 - cpu0) / wall if cpu0 is not None and cpu1 is not None else None
    other = None
    if busy0 is not None and busy1 is not None:
        other = max(0.0, (busy1 - busy0) / wall - (broker or 0.0) - 1.0)
    return {"rate": (done - counted) / wall, "broker_cores": broker, "other_cores": other}


# -- the phases ------------------------------------------------------------------------------------------


def rules_record() -> dict:
    """100 rules for all clients: 99 that match nothing the benchmark publishes, then the one that does."""
    rules = [{"topic": f"elsewhere/{i}/#", "permission": "deny", "action": "all"} for i in range(99)]
    rules.append({"topic": "bench/#", "permission": "allow", "action": "all"})
    return {"rules": rules}


def publish_args(args) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        batch=64,
        drain=2.0,
        max_lag=0,
        payload=64,
        pid_cycle=4096,
        seconds=args.seconds,
        tick=0.0002,
        warmup=0.5,
        window=100,
    )


def run(args) -> list[dict]:
    rows: list[dict] = []
    gw = Gateway()
    try:
        print(f"gateway: mqtt 127.0.0.1:{gw.port}, http 127.0.0.1:{gw.http}, pid {gw.pid}")

        def connect_phase(name: str, creds) -> None:
            if args.wait_quiet:
                bt.wait_quiet(args.wait_quiet)
            r = connect_rate(gw.port, gw.pid, args.seconds, 0.5, args.concurrency, creds)
            rows.append({"phase": name, "per_s": round(r["rate"], 1), **r})
            print(f"  {name:16} {r['rate']:10,.1f} CONNECT/s   broker {bt.fmt(r['broker_cores'], '.2f')} cores")

        def publish_phase(name: str, qos: int) -> None:
            if args.wait_quiet:
                bt.wait_quiet(args.wait_quiet)
            r = bt.run_scenario("p2p", qos, gw.port, gw.pid, publish_args(args))
            rows.append({"phase": f"{name}", "qos": qos, "per_s": r["delivered_per_s"], **r})
            print(f"  {name:16} QoS {qos} {r['delivered_per_s']:10,.0f} delivered/s   limit {r['limit']}")

        print(f"importing {USERS:,} sha256 users ...")
        gw.import_hashed(sha256_rows())
        anonymous = lambda: (None, None)  # noqa: E731
        as_user = lambda: (f"user-{random.randrange(USERS)}", PASSWORD)  # noqa: E731
        for _ in range(args.rounds):
            gw.authenticator(enable=False)
            connect_phase("connect/none", anonymous)
            gw.authenticator(password_hash_algorithm={"name": "sha256", "salt_position": "prefix"})
            connect_phase("connect/sha256", as_user)
        if args.bcrypt:
            print(f"re-importing {USERS:,} users with a bcrypt hash ...")
            gw.authenticator(password_hash_algorithm={"name": "bcrypt", "salt_rounds": 10})
            gw.import_hashed(bcrypt_rows())
            connect_phase("connect/bcrypt", as_user)
        gw.authenticator(enable=False)
        for qos in args.qos:
            for _ in range(args.rounds):
                gw.call("DELETE", "/authorization/sources/built_in_database/rules/all")
                publish_phase("publish/none", qos)
                gw.call("POST", "/authorization/sources/built_in_database/rules/all", rules_record())
                publish_phase("publish/rules", qos)
            settings = {"no_match": "allow", "deny_action": "ignore", "cache": {"enable": False}}
            gw.call("PUT", "/authorization/settings", settings)
            publish_phase("publish/nocache", qos)
            gw.call("PUT", "/authorization/settings", {**settings, "cache": {"enable": True}})
    finally:
        gw.stop()
    return rows


def summary(rows: list[dict]) -> list[tuple[str, str, float, float | None]]:
    """(what, against, ratio of medians, target) per QoS where both were measured."""
    out = []

    def median(phase: str, qos) -> float | None:
        vals = sorted(r["per_s"] for r in rows if r["phase"] == phase and r.get("qos") == qos)
        return vals[len(vals) // 2] if vals else None

    for qos in sorted({r.get("qos") for r in rows}, key=lambda q: -1 if q is None else q):
        for phase, base in (
            ("connect/sha256", "connect/none"),
            ("connect/bcrypt", "connect/none"),
            ("publish/rules", "publish/none"),
            ("publish/nocache", "publish/none"),
        ):
            a, b = median(phase, qos), median(base, qos)
            if a is not None and b:
                target = TARGETS.get(phase, (None, None))[1]
                out.append((phase + ("" if qos is None else f" QoS {qos}"), base, a / b, target))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="measured duration per phase (default 5)")
    ap.add_argument("--rounds", type=int, default=2, help="repeats of the none/with pairs (median kept; default 2)")
    ap.add_argument("--concurrency", type=int, default=32, help="CONNECT handshakes in flight (default 32)")
    ap.add_argument("--qos", default="0,1", help="QoS levels of the publish phases (default 0,1)")
    ap.add_argument("--no-bcrypt", dest="bcrypt", action="store_false", help="skip the bcrypt phase")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="S", help="wait up to S s for an idle machine")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    args.qos = [int(q) for q in args.qos.split(",") if q.strip()]
    bt.install_signals()
    info = bt.machine_info()
    print(f"machine: {info['cores']} cores ({info['cpu']}), Python {info['python']}, {info['date']}")
    print(f"tree: {info['commit']}")
    try:
        rows = run(args)
    except bt.BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print("\nratios (medians, same run):")
    for what, base, ratio, target in summary(rows):
        verdict = "" if target is None else f"  target >= {target} ({'met' if ratio >= target else 'NOT met'})"
        print(f"  {what:24} / {base:14} {ratio:6.2f}{verdict}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "rows": rows, "ratios": summary(rows)}, f, indent=2)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
