"""EMQ 2.3 `/api/v2` (emqttd_rest_api / emqttd_http @ v2.3.11; see ../shared/reference/legacy-v2-v4-api.md §1-2).

Modules, one job each: ``envelope`` (codes, `{"code":0,"result":...}`), ``params`` (the 107/108/109
rules, paging, node names), ``routing`` (adding endpoints), ``rows`` (records as 2.3 rows),
``monitoring``, ``clients``, ``mqtt``, ``plugins``, ``users``, ``configs``, ``dashboard`` (the routes),
``dialect`` (auth, error forms, glue).
"""
from __future__ import annotations

from .dialect import V2Dialect


def create_dialect(ctx) -> V2Dialect:
    return V2Dialect(ctx)
