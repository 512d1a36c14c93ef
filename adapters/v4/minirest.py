"""EMQX 4's HTTP framework (emqx/minirest 0.3): how a handler's business error reaches the client."""
from __future__ import annotations


class Fail(Exception):
    """A minirest business error: HTTP 200 with ``{"code":..,"message":..}`` (code None: message only)."""

    def __init__(self, code: int | None, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
