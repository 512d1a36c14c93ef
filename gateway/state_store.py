"""Broker state on disk: what ``broker.persistence.Journal`` records, written by one writer thread.

The tables live in ``<data_dir>/emqgw.db`` beside the account store's (which this module never
touches), through a connection of their own; WAL mode is on for the file. The event loop only hands
lists of operations over (``flush``); the writer thread takes every batch queued while it was busy
and commits them in one transaction (group commit), then hands the ``sync``-mode waiters back to the
loop. In ``periodic`` mode the loop flushes every ``durability_interval_ms`` and at shutdown.

An answer over an API waits for ``committed``: whatever the broker recorded before it is in the
database, in either mode (an API write is rare, so it is written at once rather than at the next
interval); a batch that cannot be written fails those answers with ``Unavailable``.

``stored_config`` and ``restore`` run before the listeners open: a session whose expiry elapsed while
the process was down, and a queued or retained message whose expiry elapsed, are dropped then.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import queue
import sqlite3
import threading
import time
from typing import Any

import attrs
import cattrs

from broker.core import EXPIRY_NEVER, Broker
from broker.message import Message
from broker.persistence import SYNC, Journal, SavedSession
from schemas.errors import Unavailable
from schemas.records import BannedEntry, BrokerConfig

from . import auth_state

log = logging.getLogger("emqgw.state")

SCHEMA = """
CREATE TABLE IF NOT EXISTS broker_config (id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS broker_banned (
    kind TEXT NOT NULL, who TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, who));
-- A message is the columns topic .. expires_at (MSG_COLUMNS); properties are JSON, NULL when none.
CREATE TABLE IF NOT EXISTS broker_retained (
    topic TEXT PRIMARY KEY, payload BLOB NOT NULL, msg_qos INTEGER NOT NULL, msg_retain INTEGER NOT NULL,
    props TEXT, from_clientid TEXT NOT NULL, from_username TEXT, ts REAL NOT NULL, expires_at REAL);
CREATE TABLE IF NOT EXISTS broker_sessions (
    clientid TEXT PRIMARY KEY, created_at REAL NOT NULL, expiry_interval INTEGER NOT NULL,
    disconnected_at REAL, username TEXT, subscriptions TEXT NOT NULL);
-- One row per delivery an offline session holds, in delivery order (seq): inflight ones carry the
-- packet id they were sent with and their phase, queued ones a NULL packet id.
CREATE TABLE IF NOT EXISTS broker_queue (
    seq INTEGER PRIMARY KEY, clientid TEXT NOT NULL, packet_id INTEGER, phase INTEGER NOT NULL,
    qos INTEGER NOT NULL, retain INTEGER NOT NULL, sub_ids TEXT,
    topic TEXT NOT NULL, payload BLOB NOT NULL, msg_qos INTEGER NOT NULL, msg_retain INTEGER NOT NULL,
    props TEXT, from_clientid TEXT NOT NULL, from_username TEXT, ts REAL NOT NULL, expires_at REAL);
CREATE INDEX IF NOT EXISTS broker_queue_client ON broker_queue (clientid, seq);
"""

MSG_COLUMNS = "topic, payload, msg_qos, msg_retain, props, from_clientid, from_username, ts, expires_at"
_STOP = None


class StateStoreError(Exception):
    """The state database cannot be used; the message names the file and what to do."""


def _broken(path: str, why: str) -> StateStoreError:
    return StateStoreError(
        f"{path}: {why}; restore the file from a backup, or move it away to start "
        f"with empty state (users, API keys and broker state would then be lost)"
    )


# --- message encoding ---------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"$b64": base64.b64encode(value).decode()}
    raise TypeError(f"cannot store {type(value).__name__}")


def _json_hook(obj: dict) -> Any:
    if len(obj) == 1 and "$b64" in obj:
        return base64.b64decode(obj["$b64"])
    return obj


def _msg_row(msg: Message) -> tuple:
    props = msg.properties
    return (
        msg.topic,
        msg.payload,
        msg.qos,
        int(msg.retain),
        json.dumps(props, default=_json_default, separators=(",", ":")) if props else None,
        msg.from_clientid,
        msg.from_username,
        msg.timestamp,
        msg.expires_at,
    )


def _msg_load(row) -> Message:
    topic, payload, qos, retain, props, from_cid, from_user, ts, expires_at = row
    props = json.loads(props, object_hook=_json_hook) if props else {}
    if "user_property" in props:
        props["user_property"] = [tuple(kv) for kv in props["user_property"]]
    return Message(topic, bytes(payload), qos, bool(retain), props, from_cid, from_user, ts, expires_at)


_config_converter = cattrs.Converter()


class _Commit:
    """A ``committed`` caller's place among a batch's waiters: resolved when the batch is committed,
    failed when writing it fails (the broker's own waiters, PUBACKs, are simply never called then)."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future) -> None:
        self.future = future

    def __call__(self) -> None:
        if not self.future.done():
            self.future.set_result(None)

    def fail(self, why: str) -> None:
        if not self.future.done():
            self.future.set_exception(Unavailable(f"the change is made but could not be stored: {why}"))


class StateStore:
    def __init__(self, path: str, mode: str = "periodic", interval_ms: int = 100):
        self.path = path
        self.mode = mode
        self.interval = interval_ms / 1000.0
        self.journal = Journal(mode)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._scheduled = False
        self.conn = self._open()

    def _open(self) -> sqlite3.Connection:
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # sync mode promises "on disk": the WAL is synced at every (group) commit.
            conn.execute("PRAGMA synchronous=FULL" if self.mode == SYNC else "PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            for table in ("broker_config", "broker_banned", "broker_retained", "broker_sessions", "broker_queue"):
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            conn.executescript(auth_state.SCHEMA)
            for table in auth_state.TABLES:
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        except sqlite3.Error as e:
            if conn is not None:
                conn.close()
            raise _broken(self.path, f"the broker state cannot be read ({e})") from e
        return conn

    # ------------------------------------------------------------------ start: read back

    def stored_config(self) -> BrokerConfig | None:
        """The configuration last applied over an API, if one was (gateway.precedence weighs it against
        the operator's)."""
        row = self._read("SELECT doc FROM broker_config WHERE id = 1")
        if not row:
            return None
        try:
            data = json.loads(row[0][0])
            known = {f.name for f in attrs.fields(BrokerConfig)}
            data = {k: v for k, v in data.items() if k in known}
            return _config_converter.structure(data, BrokerConfig)
        except Exception as e:  # cattrs raises groups of assorted errors
            raise _broken(self.path, f"the stored broker configuration is unreadable ({e})") from None

    def _read(self, sql: str, args: tuple = ()) -> list:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise _broken(self.path, f"the broker state cannot be read ({e})") from e

    def restore(self, broker: Broker) -> None:
        """Put bans, retained messages and persistent sessions back, then start recording changes."""
        now = time.time()
        try:
            self._restore(broker, now)
        except StateStoreError:
            raise
        except (ValueError, TypeError, KeyError) as e:
            raise _broken(self.path, f"the broker state is damaged ({e!r})") from e
        broker.attach_journal(self.journal)
        broker.observe(self._on_event)
        broker.observe(self._on_auth_event)

    def _restore(self, broker: Broker, now: float) -> None:
        bans = []
        for (doc,) in self._read("SELECT doc FROM broker_banned"):
            entry = BannedEntry(**json.loads(doc))
            if entry.until is None or entry.until > now:
                bans.append(entry)
        rows = self._read(f"SELECT {MSG_COLUMNS} FROM broker_retained ORDER BY rowid")
        retained = [msg for msg in map(_msg_load, rows) if not msg.expired(now)]
        gone: list[str] = []
        sessions: dict[str, SavedSession] = {}
        for cid, created_at, expiry, disconnected_at, username, subs in self._read(
            "SELECT clientid, created_at, expiry_interval, disconnected_at, username, subscriptions "
            "FROM broker_sessions"
        ):
            if disconnected_at is None:
                # Connected when the process ended: the session's clock starts now.
                disconnected_at = now
            if expiry != EXPIRY_NEVER and now - disconnected_at >= expiry:
                gone.append(cid)
                continue
            sessions[cid] = SavedSession(
                clientid=cid,
                created_at=created_at,
                expiry_interval=expiry,
                disconnected_at=disconnected_at,
                username=username,
                subscriptions=[tuple(sub) for sub in json.loads(subs)],
            )
        for row in self._read(
            f"SELECT clientid, packet_id, phase, qos, retain, sub_ids, {MSG_COLUMNS} FROM broker_queue ORDER BY seq"
        ):
            cid, pid, phase, qos, retain, sub_ids = row[:6]
            saved = sessions.get(cid)
            if saved is None:
                continue
            msg = _msg_load(row[6:])
            d = (msg, qos, bool(retain), tuple(json.loads(sub_ids)) if sub_ids else None)
            if pid is not None:
                saved.inflight.append((pid, d, phase))
            elif not msg.expired(now):
                saved.queued.append(d)
        broker.restore(bans=bans, retained=retained, sessions=sessions.values())
        self._restore_auth(broker)
        self.journal.saved.update(sessions)
        if gone:
            self._write([("drop", cid) for cid in gone])

    # ------------------------------------------------------------------ events from the broker

    def _on_event(self, event: str, **data) -> None:
        journal = self.journal
        record = journal.record
        if event == "retained.changed":
            journal.retained(data["topic"], data["message"])
            return
        if event == "banned.added":
            record(("ban", data["entry"]))
        elif event == "banned.deleted":
            record(("unban", data["kind"], data["who"]))
        elif event == "banned.cleared":
            record(("bans_clear",))
        elif event == "config.changed":
            record(("config", attrs.evolve(data["config"])))
        else:
            return
        # Changes made over an API are rare: written now, not at the next interval.
        if self._loop is not None:
            self._schedule()

    def _restore_auth(self, broker: Broker) -> None:
        try:
            auth_state.restore(self._read, broker)
        except StateStoreError:
            raise
        except Exception as e:  # cattrs raises groups of assorted errors; the broker's rules a ControlError
            raise _broken(self.path, f"the stored MQTT authentication state is unusable ({e!r})") from None

    def _on_auth_event(self, event: str, **data) -> None:
        op = auth_state.operation(event, data)
        if op is None:
            return
        self.journal.record(op)
        # Written now, as bans are: these are the operator's changes.
        if self._loop is not None:
            self._schedule()

    # ------------------------------------------------------------------ the loop side

    def start(self) -> None:
        """Start the writer thread (call from the running event loop, before the listeners open)."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._writer, name="emqgw-state-writer", daemon=True)
        self._thread.start()
        if self.mode == SYNC:
            self.journal.wake = self._schedule
        self._timer = self._loop.call_later(self.interval, self._periodic)

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def _periodic(self) -> None:
        self.flush()
        self._timer = self._loop.call_later(self.interval, self._periodic)

    async def committed(self) -> None:
        """Return once everything recorded so far is committed; raise ``Unavailable`` if it cannot be."""
        if self._thread is None or self._loop is None:
            raise Unavailable("the broker state is not being written (stopped)")
        commit = _Commit(self._loop.create_future())
        self.journal.when_durable(commit)
        self._schedule()  # in periodic mode too: an answer is not kept waiting for the interval
        await commit.future

    def flush(self) -> None:
        self._scheduled = False
        ops, waiters = self.journal.take()
        if ops or waiters:
            self._queue.put((ops, waiters))

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._thread is not None:
            self.flush()
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        else:
            ops, _ = self.journal.take()
            if ops:
                self._write(ops)
        self.conn.close()

    def _done(self, waiters: list) -> None:
        for cb in waiters:
            cb()

    def _failed(self, waiters: list, why: str) -> None:
        for cb in waiters:
            if isinstance(cb, _Commit):
                cb.fail(why)

    # ------------------------------------------------------------------ the writer thread

    def _writer(self) -> None:
        q = self._queue
        while True:
            batches = [q.get()]
            while True:
                try:
                    batches.append(q.get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in batches
            ops: list = []
            waiters: list = []
            for b in batches:
                if b is not _STOP:
                    ops.extend(b[0])
                    waiters.extend(b[1])
            try:
                self._write(ops)
            except Exception as e:
                # The acknowledgements that waited for this batch are not sent: the clients resend;
                # the answers over an API that waited for it say it failed.
                log.exception("%s: writing broker state failed", self.path)
                if waiters:
                    self._loop.call_soon_threadsafe(self._failed, waiters, str(e))
            else:
                if waiters:
                    self._loop.call_soon_threadsafe(self._done, waiters)
            if stop:
                return

    def _write(self, ops: list) -> None:
        if not ops:
            return
        c = self.conn
        c.execute("BEGIN")
        try:
            rows: list[tuple] = []  # a run of enqueues, inserted with one executemany
            for op in ops:
                if op[0] == "enqueue":
                    rows.append(_queue_row(op[1], op[2]))
                    continue
                if rows:
                    c.executemany(_INSERT_QUEUE, rows)
                    rows = []
                _APPLY[op[0]](c, op)
            if rows:
                c.executemany(_INSERT_QUEUE, rows)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise


def _queue_row(cid: str, entry: tuple) -> tuple:
    msg, qos, retain, sub_ids, pid, phase = entry
    return (cid, pid, phase, qos, int(bool(retain)), json.dumps(list(sub_ids)) if sub_ids else None, *_msg_row(msg))


_INSERT_QUEUE = (
    f"INSERT INTO broker_queue (clientid, packet_id, phase, qos, retain, sub_ids, {MSG_COLUMNS}) "
    f"VALUES ({', '.join('?' * 15)})"
)


def _op_session(c, op) -> None:
    _, cid, created_at, expiry, disconnected_at, username, subs = op
    c.execute(
        "INSERT OR REPLACE INTO broker_sessions VALUES (?, ?, ?, ?, ?, ?)",
        (cid, created_at, expiry, disconnected_at, username, json.dumps(subs)),
    )


def _op_drop(c, op) -> None:
    c.execute("DELETE FROM broker_sessions WHERE clientid = ?", (op[1],))
    c.execute("DELETE FROM broker_queue WHERE clientid = ?", (op[1],))


def _op_queue_reset(c, op) -> None:
    c.execute("DELETE FROM broker_queue WHERE clientid = ?", (op[1],))
    c.executemany(_INSERT_QUEUE, [_queue_row(op[1], e) for e in op[2]])


def _op_dequeue_oldest(c, op) -> None:
    c.execute(
        "DELETE FROM broker_queue WHERE seq = (SELECT min(seq) FROM broker_queue "
        "WHERE clientid = ? AND packet_id IS NULL)",
        (op[1],),
    )


def _op_queue_clear(c, op) -> None:
    c.execute("DELETE FROM broker_queue WHERE clientid = ?", (op[1],))


def _op_retained(c, op) -> None:
    _, topic, msg = op
    if msg is None:
        c.execute("DELETE FROM broker_retained WHERE topic = ?", (topic,))
    else:
        c.execute(
            f"INSERT OR REPLACE INTO broker_retained ({MSG_COLUMNS}) VALUES ({', '.join('?' * 9)})", _msg_row(msg)
        )


def _op_ban(c, op) -> None:
    e = op[1]
    c.execute("INSERT OR REPLACE INTO broker_banned VALUES (?, ?, ?)", (e.as_, e.who, json.dumps(attrs.asdict(e))))


def _op_unban(c, op) -> None:
    c.execute("DELETE FROM broker_banned WHERE kind = ? AND who = ?", (op[1], op[2]))


def _op_bans_clear(c, op) -> None:
    c.execute("DELETE FROM broker_banned")


def _op_config(c, op) -> None:
    doc = json.dumps(_config_converter.unstructure(op[1]))
    c.execute("INSERT OR REPLACE INTO broker_config VALUES (1, ?)", (doc,))


_APPLY = {
    "session": _op_session,
    "drop": _op_drop,
    "queue_reset": _op_queue_reset,
    "dequeue_oldest": _op_dequeue_oldest,
    "queue_clear": _op_queue_clear,
    "retained": _op_retained,
    "ban": _op_ban,
    "unban": _op_unban,
    "bans_clear": _op_bans_clear,
    "config": _op_config,
    **auth_state.OPS,
}
