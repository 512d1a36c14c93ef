"""What the account store hands out: users and API keys as frozen records (never a hash or a secret)."""

from __future__ import annotations

import time

import attrs


@attrs.frozen(kw_only=True)
class User:
    username: str
    description: str = ""
    created_at: float = 0.0


@attrs.frozen(kw_only=True)
class ApiKey:
    name: str
    api_key: str
    enable: bool = True
    expired_at: float | None = None  # epoch seconds; None = EMQX's "infinity"
    created_at: float = 0.0
    desc: str = ""

    def expired_by(self, now: float) -> bool:
        # emqx_mgmt_auth:is_expired/1: ExpiredAt < now.
        return self.expired_at is not None and self.expired_at < now

    @property
    def expired(self) -> bool:
        return self.expired_by(time.time())


class KeepType:
    def __repr__(self) -> str:
        return "KEEP"


# ``update_api_key(..., expired_at=KEEP)`` leaves the expiry alone; the default (None) follows EMQX's
# PUT /api_key/{name}, where an omitted expired_at becomes infinity.
KEEP = KeepType()
