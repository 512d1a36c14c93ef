"""How a dialect finds its answer to an interface error (``schemas.errors``), the same in every dialect.

A dialect keeps one table, (error type, what it is about) -> answer, where "what it is about" is the
error's ``kind`` or None for any; an endpoint that answers otherwise says so in its ``errors``, error
type -> answer, or -> {field: answer} when the answer depends on the argument at fault (the error's
``field``; the None entry for any other). What an answer holds is the dialect's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.http.routes import Endpoint
from schemas.errors import ControlError


def _endpoint_answer(err: ControlError, hit: Any) -> Any:
    if isinstance(hit, Mapping):
        return hit.get(err.field, hit.get(None))
    return hit


def find_answer(err: ControlError, endpoint: Endpoint, table: Mapping[tuple[type, str | None], Any]) -> Any:
    """The answer to ``err`` at ``endpoint``, or None when neither the endpoint nor the table has one.

    The error's own type is looked up before its bases, and for each type the endpoint before the
    table, so that a table entry for ``NotFound`` beats an endpoint's entry for every ``ControlError``.
    """
    for kind in type(err).__mro__:
        hit = endpoint.errors.get(kind)
        if hit is not None:
            hit = _endpoint_answer(err, hit)
        if hit is None:
            hit = table.get((kind, err.kind))
        if hit is None:
            hit = table.get((kind, None))
        if hit is not None:
            return hit
    return None
