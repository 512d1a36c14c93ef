"""Records rendered as EMQ 2.3's rows and pages (reference §1.3, §1.5).

Names come from the shared crosswalk (``adapters.common.fields``); only the formats are v2's:
absent values as the string `"undefined"` (mochijson2 encoded Erlang atoms as strings) and times as
`YYYY-MM-DD HH:MM:SS`.
"""

from __future__ import annotations

from adapters.common.fields import CLIENT, SUBSCRIPTION, V2_CLIENT_ROW, V2_SESSION_ROW, project, reads
from adapters.common.paging import PageRequest
from adapters.common.rows import RenderedRows, encoded
from adapters.common.timefmt import legacy_datetime, total_pages
from gateway.http.listing import EncodedRow
from schemas.records import ClientInfo, Route, Subscription

UNDEFINED = "undefined"


def _undefined_if_none(value):
    return UNDEFINED if value is None else value


FORMATS = {
    "time": lambda ts: _undefined_if_none(legacy_datetime(ts)),
    "username": _undefined_if_none,
    "plain": _undefined_if_none,
}


# What each row shows of a client: a listing asks the control for no more (ClientQuery.fields).
CLIENT_READS = reads(CLIENT, "v2", V2_CLIENT_ROW)
SESSION_READS = reads(CLIENT, "v2", V2_SESSION_ROW)


def client_row(info: ClientInfo) -> dict:
    return project(info, CLIENT, "v2", FORMATS, only=V2_CLIENT_ROW)


def session_row(info: ClientInfo) -> dict:
    row = project(info, CLIENT, "v2", FORMATS, only=V2_SESSION_ROW)
    return {name: row[name] for name in V2_SESSION_ROW}


def subscription_row(sub: Subscription) -> dict:
    return project(sub, SUBSCRIPTION, "v2", FORMATS)


def route_row(route: Route) -> dict:
    return {"topic": route.topic, "node": route.node}


# The rows of the paged listings, encoded: clients and sessions once per record (they are the pages a
# 2.3 dashboard refreshes), subscriptions and routes per answer (their records are built per listing).
client_json = RenderedRows(client_row)
session_json = RenderedRows(session_row)


def subscription_json(sub: Subscription) -> EncodedRow:
    return encoded(subscription_row(sub))


def route_json(route: Route) -> EncodedRow:
    return encoded(route_row(route))


def paged(req: PageRequest, total: int, objects: object) -> dict:
    return {
        "current_page": req.page,
        "page_size": req.limit,
        "total_num": total,
        "total_page": total_pages(total, req.limit),
        "objects": objects,
    }


def lookup(objects: list) -> dict:
    """Key lookups (`.../{clientid}`, `routes/{topic}`) carry only `objects`."""
    return {"objects": objects}
