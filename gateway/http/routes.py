"""Endpoints, declared once beside their handlers, read by both the server and the OpenAPI documents.

Every dialect declares its endpoints the same way: a resource module holds a ``Routes`` and decorates
its handlers (the manner of aiohttp's ``RouteTableDef``); the dialect includes the modules' routes in
its ``RouteTable``. A handler takes one ``Call`` — the request, its arguments and body as the dialect
read them, the gateway context — and returns a response. Interface errors it does not handle itself
(``schemas.errors``) propagate: the dialect's one error table renders them (``Dialect.control_error``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

if TYPE_CHECKING:
    from schemas.control import BrokerControl

    from .context import GatewayContext


@attrs.define(slots=True, kw_only=True)
class Param:
    """A query or path parameter, as the OpenAPI document and the dialect's validation see it."""

    name: str
    where: str = "query"  # query | path
    type: str = "string"  # string | integer | boolean | number | array
    required: bool = False
    description: str = ""
    enum: tuple | None = None
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None


@attrs.define(slots=True)
class Call:
    """What a handler is given."""

    request: web.Request
    args: dict[str, Any]  # path and query parameters, read and checked by the dialect
    body: Any  # the request body as the dialect read it; None when the endpoint declares none
    ctx: GatewayContext
    endpoint: Endpoint

    @property
    def control(self) -> BrokerControl:
        return self.ctx.control


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@attrs.define(slots=True, kw_only=True)
class Endpoint:
    method: str
    path: str  # aiohttp form relative to the dialect prefix, e.g. "/clients/{clientid}"
    handler: Handler
    name: str = ""
    summary: str = ""
    tags: tuple[str, ...] = ()
    # "required": the dialect's normal credentials; "none": open (health, login); other strings are
    # dialect-specific policies (e.g. v5 "bearer" for the paths that refuse API keys).
    auth: str = "required"
    params: tuple[Param, ...] = ()
    body: Any = None  # what the dialect reads the body by (a JSON schema, declared Params ...); None: no body
    responses: dict[int, dict] = attrs.field(factory=dict)  # status -> JSON schema / description
    json_body: bool = True  # whether a body, when sent, must be JSON
    hidden: bool = False  # served but left out of the OpenAPI document (as EMQX hides some)
    # Where this endpoint answers an interface error otherwise than its dialect's table does: error
    # type -> whatever the dialect's table holds (EMQX's `/topics` spells INVALID_PARAMTER, say).
    errors: Mapping[type, Any] = attrs.field(factory=dict)
    # Anything else a dialect keys on (v4: which product's envelope the endpoint answers in).
    extra: Mapping[str, Any] = attrs.field(factory=dict)


class Routes:
    """One resource module's endpoints; ``defaults`` apply to each (tags, auth, ...)."""

    def __init__(self, **defaults: Any) -> None:
        self.defaults = defaults
        self.endpoints: list[Endpoint] = []

    def add(self, method: str, path: str, handler: Handler, **meta: Any) -> Endpoint:
        meta = {**self.defaults, **meta}
        meta.setdefault("name", handler.__name__)
        ep = Endpoint(method=method.upper(), path=path, handler=handler, **meta)
        self.endpoints.append(ep)
        return ep

    def route(self, method: str, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, path, handler, **meta)
            return handler

        return register

    def get(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **meta)

    def post(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **meta)

    def put(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **meta)

    def delete(self, path: str, **meta: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **meta)

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self.endpoints)


class RouteTable:
    """A dialect's endpoints, in the order they were included."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def append(self, ep: Endpoint) -> None:
        if any(e.method == ep.method and e.path == ep.path for e in self.endpoints):
            raise ValueError(f"{ep.method} {ep.path} is declared twice")
        self.endpoints.append(ep)

    def by_path(self) -> dict[str, dict[str, Endpoint]]:
        out: dict[str, dict[str, Endpoint]] = {}
        for ep in self.endpoints:
            out.setdefault(ep.path, {})[ep.method] = ep
        return out
