"""The EMQX 5.8 `/api/v5` dialect: one module per resource, each declaring its endpoints."""

from __future__ import annotations

from gateway.http.usage import UsageFlusher

from . import (
    accounts,
    alarms,
    authentication,
    authorization,
    banned,
    clients,
    configs,
    listeners,
    monitor,
    nodes,
    prometheus,
    publish,
    retainer,
    sessions,
    status,
    subscriptions,
    unsupported,
    usage,
)
from .dialect import V5Dialect


def create_dialect(ctx) -> V5Dialect:
    dl = V5Dialect(ctx)
    dl.include(
        status.routes,
        accounts.dashboard,
        accounts.api_keys,
        nodes.routes,
        clients.routes,
        sessions.routes,
        subscriptions.subscriptions,
        subscriptions.topics,
        publish.routes,
        monitor.routes,
        listeners.routes,
        banned.routes,
        alarms.routes,
        retainer.routes,
        authentication.routes,
        authorization.routes,
        prometheus.routes,
        configs.routes,
        sessions.telemetry,
        unsupported.routes,
        usage.routes,
    )
    # The usage report this dialect serves is written to its file while the dialect runs.
    dl.services.append(UsageFlusher(ctx.usage))
    return dl
