"""EMQX 5's `{data, meta}` envelope for page/limit listings (emqx_mgmt_api; reference §2.3)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from adapters.common.paging import PageRequest
from gateway.http.dialect import Dialect
from gateway.http.listing import ROWS, EncodedRow, listing

from .validation import LIMIT, PAGE

PAGING = (PAGE, LIMIT)


def page_request(args: dict) -> PageRequest:
    return PageRequest(args["page"], args["limit"])


def meta(args: dict, total: int | None, hasnext: bool | None) -> dict:
    """`count` only when the total is known without a full scan; `hasnext` unless told to drop it."""
    out: dict[str, Any] = {"page": args["page"], "limit": args["limit"]}
    if total is not None:
        out["count"] = total
    if hasnext is not None:
        out["hasnext"] = hasnext
    return out


def paged(args: dict, rows: list, total: int | None, hasnext: bool | None):
    return Dialect.json({"data": rows, "meta": meta(args, total, hasnext)})


def paged_rows(
    args: dict, items: Sequence[Any], row: Callable[[Any], EncodedRow], total: int | None, hasnext: bool | None
) -> web.StreamResponse:
    """``paged`` for rows encoded once per record (``adapters.common.rows``)."""
    return listing({"data": ROWS, "meta": meta(args, total, hasnext)}, items, row)


def envelope_schema(item: dict) -> dict:
    return {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": item},
            "meta": {
                "type": "object",
                "properties": {
                    "page": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "count": {"type": "integer", "description": "absent when it would need a full scan"},
                    "hasnext": {"type": "boolean"},
                },
            },
        },
    }
