"""The EMQX 5.8 `/api/v5` dialect: one module per resource, each registering its endpoints."""
from __future__ import annotations

from . import (accounts, alarms, banned, clients, listeners, monitor, nodes, prometheus, publish, retainer,
               status, subscriptions, usage)
from .dialect import V5Dialect

MODULES = (status, accounts, nodes, clients, subscriptions, publish, monitor, listeners, banned, alarms,
           retainer, prometheus, usage)


def create_dialect(ctx) -> V5Dialect:
    dl = V5Dialect(ctx)
    for module in MODULES:
        module.register(dl)
    return dl
