"""Who still calls which endpoint: request counts per dialect, route and credentials, kept on disk.

The checklist before switching the legacy APIs off: every (dialect, method, route template, principal)
with its count, first and last call and last status, in ``<data_dir>/usage.db`` — a SQLite file of its
own, so that usage never contends with the account and state database.

Beside the report, calls per dialect per hour (``usage_hours``, the last ``HOURS_KEPT`` hours): how much
of the recent traffic is already on v5, which the report's lifetime counts cannot tell.

``record`` runs on the event loop for every request and only touches a dict; ``flush`` (run in a worker
thread by ``UsageFlusher`` every ``FLUSH_INTERVAL_S`` and at shutdown) adds the pending deltas to the
file in one transaction. Readers (``report``) merge the file with what is still pending, so an answer
never lags the requests already served. Opening a connection per flush keeps the file free of
cross-thread connection sharing; at one flush per few seconds the cost is nil.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import attrs

from .tasks import cancel

USAGE_DB = "usage.db"
# Flush period: short enough that a crash loses a few seconds of counts, long enough that a busy gateway
# writes one small transaction per period instead of one per request.
FLUSH_INTERVAL_S = 2.0
# Unauthenticated requests (health, login, Prometheus) are counted under this principal.
ANONYMOUS = "-"
LEGACY_DIALECTS = ("v2", "v4")
HOUR_S = 3600
# A week of hourly counts: the home page charts a day; a week lets an operator compare with the last one.
HOURS_KEPT = 7 * 24

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    dialect TEXT NOT NULL, method TEXT NOT NULL, route TEXT NOT NULL, principal TEXT NOT NULL,
    count INTEGER NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL, last_status INTEGER NOT NULL,
    PRIMARY KEY (dialect, method, route, principal)
)"""
_UPSERT = """
INSERT INTO usage (dialect, method, route, principal, count, first_seen, last_seen, last_status)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (dialect, method, route, principal) DO UPDATE SET
    count = count + excluded.count,
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    last_status = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_status ELSE last_status END
"""

_HOURS_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_hours (
    dialect TEXT NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (dialect, hour)
)"""
_HOURS_UPSERT = """
INSERT INTO usage_hours (dialect, hour, count) VALUES (?, ?, ?)
ON CONFLICT (dialect, hour) DO UPDATE SET count = count + excluded.count
"""

Key = tuple[str, str, str, str]  # dialect, method, route, principal
HourKey = tuple[str, int]  # dialect, hours since the epoch


@attrs.define(slots=True)
class Usage:
    dialect: str
    method: str
    route: str
    principal: str
    count: int
    first_seen: float
    last_seen: float
    last_status: int

    @property
    def legacy(self) -> bool:
        return self.dialect in LEGACY_DIALECTS


def _merge(rows: dict[Key, list], key: Key, row: list) -> None:
    """Add one [count, first, last, last_status] into ``rows`` (the status of the later call wins)."""
    n, first, last, status = row
    into = rows.setdefault(key, [0, first, last, status])
    into[0] += n
    into[1] = min(into[1], first)
    if last >= into[2]:
        into[2], into[3] = last, status


class UsageLog:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._pending: dict[Key, list] = {}  # key -> [count, first, last, last_status]
        self._pending_hours: dict[HourKey, int] = {}
        self._lock = threading.Lock()  # record (loop) vs flush (worker thread)
        self._db_lock = threading.Lock()  # one writer at a time

    def record(
        self, dialect: str, method: str, route: str, status: int, principal: Any, now: float | None = None
    ) -> None:
        now = time.time() if now is None else now
        key = (dialect, method, route, ANONYMOUS if principal in (None, "") else str(principal))
        hour = (dialect, int(now // HOUR_S))
        with self._lock:
            row = self._pending.get(key)
            if row is None:
                self._pending[key] = [1, now, now, status]
            else:
                row[0] += 1
                row[2] = now
                row[3] = status
            self._pending_hours[hour] = self._pending_hours.get(hour, 0) + 1

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(_SCHEMA)
        db.execute(_HOURS_SCHEMA)
        return db

    def flush(self) -> int:
        """Add the pending counts to the file (blocking: call it from a worker thread). Rows written."""
        with self._lock:
            pending, self._pending = self._pending, {}
            hours, self._pending_hours = self._pending_hours, {}
        if not pending:
            return 0
        try:
            with self._db_lock, contextlib.closing(self._connect()) as db, db:
                db.executemany(_UPSERT, [(*k, *v) for k, v in pending.items()])
                db.executemany(_HOURS_UPSERT, [(*k, n) for k, n in hours.items()])
                db.execute("DELETE FROM usage_hours WHERE hour <= ?", (max(h for _, h in hours) - HOURS_KEPT,))
        except BaseException:
            with self._lock:  # put them back: counted again at the next flush
                for key, row in pending.items():
                    _merge(self._pending, key, row)
                for hour, n in hours.items():
                    self._pending_hours[hour] = self._pending_hours.get(hour, 0) + n
            raise
        return len(pending)

    def report(self, dialect: str | None = None, legacy_only: bool = False) -> list[Usage]:
        """Every counted (dialect, method, route, principal), file and pending merged; latest first."""
        rows: dict[Key, list] = {}
        if Path(self.path).exists():
            with self._db_lock, contextlib.closing(self._connect()) as db:
                for *key, n, first, last, status in db.execute("SELECT * FROM usage"):
                    rows[tuple(key)] = [n, first, last, status]
        with self._lock:
            pending = {k: list(v) for k, v in self._pending.items()}
        for key, row in pending.items():
            _merge(rows, key, row)
        out = [Usage(*k, *v) for k, v in rows.items()]
        if dialect is not None:
            out = [u for u in out if u.dialect == dialect]
        if legacy_only:
            out = [u for u in out if u.legacy]
        out.sort(key=lambda u: (-u.last_seen, u.dialect, u.route, u.method, u.principal))
        return out

    def calls_per_hour(self, hours: int, now: float | None = None) -> list[tuple[float, dict[str, int]]]:
        """Calls per dialect in each of the last ``hours`` clock hours, the current one last: (start of
        the hour in epoch seconds, {dialect: count}); an hour without calls is there with no counts."""
        current = int((time.time() if now is None else now) // HOUR_S)
        first = current - min(hours, HOURS_KEPT) + 1
        counts: dict[HourKey, int] = {}
        if Path(self.path).exists():
            with self._db_lock, contextlib.closing(self._connect()) as db:
                for dialect, hour, n in db.execute("SELECT * FROM usage_hours WHERE hour >= ?", (first,)):
                    counts[(dialect, hour)] = n
        with self._lock:
            for (dialect, hour), n in self._pending_hours.items():
                if hour >= first:
                    counts[(dialect, hour)] = counts.get((dialect, hour), 0) + n
        out: list[tuple[float, dict[str, int]]] = [(float(h * HOUR_S), {}) for h in range(first, current + 1)]
        for (dialect, hour), n in counts.items():
            if hour <= current:
                out[hour - first][1][dialect] = n
        return out


class UsageFlusher:
    """Writes a UsageLog to its file every FLUSH_INTERVAL_S, off the event loop, and once more at stop."""

    def __init__(self, log: UsageLog, interval: float = FLUSH_INTERVAL_S):
        self.log = log
        self.interval = interval
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await asyncio.to_thread(self.log.flush)

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        await asyncio.to_thread(self.log.flush)
