"""The route table: one list of endpoints per dialect, from which both the server and the OpenAPI
documents are built (never maintained twice).
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import attrs
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    body: dict | None = None  # JSON schema of the request body, if any
    responses: dict[int, dict] = attrs.field(factory=dict)  # status -> JSON schema / description
    json_body: bool = True  # whether a body, when sent, must be JSON
    hidden: bool = False  # served but left out of the OpenAPI document (as EMQX hides some)


class RouteTable:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def add(self, method: str, path: str, handler: Handler, **meta) -> Endpoint:
        ep = Endpoint(method=method.upper(), path=path, handler=handler, **meta)
        self.endpoints.append(ep)
        return ep

    def route(self, method: str, path: str, **meta):
        """Decorator form of ``add``."""
        def register(handler: Handler) -> Handler:
            self.add(method, path, handler, **meta)
            return handler
        return register

    def by_path(self) -> dict[str, dict[str, Endpoint]]:
        out: dict[str, dict[str, Endpoint]] = {}
        for ep in self.endpoints:
            out.setdefault(ep.path, {})[ep.method] = ep
        return out
