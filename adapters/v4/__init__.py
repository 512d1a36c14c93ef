"""The `/api/v4` dialect: NanoMQ (default) or EMQX 4.4, chosen by ``[http] v4_flavor``.

Where the two products share a route (``/clients``, ``/metrics``, ``/mqtt/publish`` ...), the chosen
flavor answers in its own shape; a route only the other product has is served too, in that product's
shape (its errors rendered by that product's rules; credentials are always the chosen flavor's).
"""
from __future__ import annotations

import attrs

from gateway.http.dialect import ApiError, Dialect


def _rendered_by(owner: Dialect, handler):
    async def handle(call):
        try:
            return await handler(call)
        except ApiError as e:
            return owner.error_response(call.request, e)
    return handle


def combine(primary: Dialect, partner: Dialect) -> Dialect:
    """Add to ``primary`` every endpoint of ``partner`` it does not have itself."""
    taken = {(ep.method, ep.path) for ep in primary.table.endpoints}
    for ep in partner.table.endpoints:
        if (ep.method, ep.path) not in taken:
            primary.table.endpoints.append(attrs.evolve(ep, handler=_rendered_by(partner, ep.handler)))
    primary.partner = partner
    return primary


def create_dialect(ctx) -> Dialect:
    from .emqx4 import Emqx4Dialect
    from .nanomq import NanoMQDialect
    nanomq, emqx4 = NanoMQDialect(ctx), Emqx4Dialect(ctx)
    if ctx.config.http.v4_flavor == "emqx4":
        return combine(emqx4, nanomq)
    return combine(nanomq, emqx4)
