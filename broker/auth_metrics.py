"""Counters of one authenticator or authorization source, with EMQX's rates (emqx_metrics_worker):
``rate`` the checks per second over the last tick, ``rate_max`` the highest of those, ``rate_last5m``
the average over the last five minutes. The broker's one-second tick samples them; counting is a dict
increment.
"""

from __future__ import annotations

from collections import deque

from schemas.records import AuthStatus

WINDOW_S = 300.0  # rate_last5m


class AuthMetrics:
    __slots__ = ("counts", "rate", "rate_max", "_samples")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.counts: dict[str, int] = dict.fromkeys(("total", *names), 0)
        self.rate = 0.0
        self.rate_max = 0.0
        self._samples: deque[tuple[float, int]] = deque()  # (monotonic time, total)

    def tick(self, now: float) -> None:
        total = self.counts["total"]
        samples = self._samples
        if samples:
            last_t, last_total = samples[-1]
            if now > last_t:
                self.rate = (total - last_total) / (now - last_t)
                self.rate_max = max(self.rate_max, self.rate)
        samples.append((now, total))
        while len(samples) > 2 and now - samples[1][0] >= WINDOW_S:
            samples.popleft()

    def status(self) -> AuthStatus:
        samples = self._samples
        last5m = 0.0
        if len(samples) > 1:
            (t0, c0), (t1, c1) = samples[0], samples[-1]
            last5m = (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0
        return AuthStatus(
            status="connected",
            counts=dict(self.counts),
            rate=round(self.rate, 2),
            rate_max=round(self.rate_max, 2),
            rate_last5m=round(last5m, 2),
        )
