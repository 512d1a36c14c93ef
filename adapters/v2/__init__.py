"""EMQ 2.3 `/api/v2` (emqttd_rest_api / emqttd_http @ v2.3.11; see ../shared/reference/legacy-v2-v4-api.md §1-2).

Modules, one job each: ``envelope`` (codes, `{"code":0,"result":...}`), ``errors`` (the interface
errors as codes), ``params`` (the 107/108/109 rules, paging, node names), ``rows`` (records as 2.3
rows), ``monitoring``, ``clients``, ``mqtt``, ``plugins``, ``users``, ``configs`` (the endpoints),
``dashboard`` (what 2.3 served outside the prefix), ``dialect`` (auth, error forms, route conventions).
"""

from __future__ import annotations

from . import clients, configs, monitoring, mqtt, plugins, users
from .dialect import V2Dialect


def create_dialect(ctx) -> V2Dialect:
    dl = V2Dialect(ctx)
    dl.include(monitoring.routes, clients.routes, mqtt.routes, plugins.routes, configs.routes, users.routes)
    return dl
