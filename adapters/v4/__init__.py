"""The `/api/v4` dialect, NanoMQ (default) or EMQX 4.4: one module per resource, each declaring both
products' endpoints where both have them (see ``dialect.py`` for how a flavor is chosen, README.md for
the files)."""

from __future__ import annotations

from .dialect import V4Dialect


def create_dialect(ctx) -> V4Dialect:
    return V4Dialect(ctx)
