"""What both `/api/v4` flavors' error rules share: an error that knows its product's form, and a batch
item's result code.

Every ApiError the v4 dialect raises is a ``V4Error`` of one flavor (``nanomq_http.NanoMQError``,
``emqx4_http.MinirestError``), so an endpoint of the other product, served beside the chosen one's,
still fails in its own product's form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.http.dialect import ApiError
from gateway.http.routes import Endpoint
from schemas.errors import ControlError

from . import codes


class V4Error(ApiError):
    def response(self, request: web.Request | None) -> web.StreamResponse:
        raise NotImplementedError


async def result_code(
    attempt: Awaitable[Any], endpoint: Endpoint, control_error: Callable[[ControlError, Endpoint], ApiError]
) -> int:
    """A batch item's result code: 0, or the code the same request alone would have failed with."""
    try:
        await attempt
    except V4Error as e:
        return e.code
    except ControlError as e:
        return control_error(e, endpoint).code
    return codes.SUCCEED
