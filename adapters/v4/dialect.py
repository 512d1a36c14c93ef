"""The `/api/v4` dialect: NanoMQ (default) or EMQX 4.4, chosen by ``[http] v4_flavor``.

Every endpoint is one product's (``Endpoint.extra["flavor"]``): its arguments are read, its interface
errors mapped and its failures written by that product's rules (``nanomq_http``, ``emqx4_http``).
Where both products declare a path, the chosen flavor's endpoint is served; a path only one product has
is served in either flavor, in that product's shape. Credentials, and the failures of the gateway's own
manners (an unknown path, 405, 413 ...), are always the chosen flavor's. NanoMQ ignores a trailing
slash: its endpoints are served with one too (left out of the listings and the OpenAPI document).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import attrs
from aiohttp import web

from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Endpoint, Routes
from schemas.errors import ControlError

from . import (
    acl_cache,
    alarms,
    apps,
    auth_mnesia,
    banned,
    clients,
    configuration,
    ctrl,
    dashboard,
    emqx4_http,
    endpoint_list,
    listeners,
    modules,
    nanomq_auth,
    nanomq_http,
    nodes,
    plugins,
    publish,
    stats_metrics,
    subscribe,
    subscriptions,
    topic_routes,
    topic_tree,
)
from .errors import V4Error
from .nanomq_state import NanoMQState

# Each flavor's rules: arguments(request, endpoint, ctx), control_error(err, endpoint), manners_error(reason).
RULES: dict[str, ModuleType] = {"nanomq": nanomq_http, "emqx4": emqx4_http}


def flavor_of(ep: Endpoint) -> str:
    return ep.extra["flavor"]


class V4Dialect(Dialect):
    name = "v4"
    prefix = "/api/v4"
    enforce_json_content_type = False  # neither nng's server nor minirest looks at the Content-Type

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.flavor = ctx.config.http.v4_flavor
        self.nanomq = NanoMQState(ctx)
        self.include(
            *endpoint_list.routes(self.table),
            nodes.nanomq,
            nodes.emqx4,
            clients.nanomq,
            clients.emqx4,
            subscriptions.nanomq,
            subscriptions.emqx4,
            topic_tree.nanomq,
            topic_routes.emqx4,
            publish.nanomq,
            publish.emqx4,
            subscribe.emqx4,
            stats_metrics.nanomq_routes(self.nanomq),
            stats_metrics.emqx4,
            listeners.emqx4,
            plugins.emqx4,
            banned.emqx4,
            alarms.emqx4,
            dashboard.emqx4,
            auth_mnesia.emqx4,
            apps.emqx4,
            modules.emqx4,
            acl_cache.emqx4,
            configuration.routes(self.nanomq.settings, sections=nanomq_auth.sections(ctx)),
            ctrl.routes(self.nanomq),
        )

    def include(self, *routes: Routes) -> None:
        """Serve, of every (method, path) declared, the chosen flavor's endpoint or the only one there is,
        each NanoMQ endpoint also at its path with a trailing slash. Called once, with every module."""
        declared: dict[tuple[str, str], list[Endpoint]] = {}
        for r in routes:
            for ep in r:
                declared.setdefault((ep.method, ep.path), []).append(ep)
        for key, eps in declared.items():
            if len(eps) > 1:
                eps = [ep for ep in eps if flavor_of(ep) == self.flavor]
            if len(eps) != 1:
                raise ValueError(f"{key[0]} {key[1]} is declared {len(eps)} times for {self.flavor}")
            (ep,) = eps
            self.table.append(ep)
            if flavor_of(ep) == "nanomq" and ep.path.strip("/"):
                self.table.append(attrs.evolve(ep, path=ep.path + "/", hidden=True))

    @property
    def rules(self) -> ModuleType:
        return RULES[self.flavor]

    # -- each endpoint by its product's rules ------------------------------------------------------------

    async def arguments(self, request: web.Request, endpoint: Endpoint) -> tuple[dict[str, Any], Any]:
        return await RULES[flavor_of(endpoint)].arguments(request, endpoint, self.ctx)

    def control_error(self, err: ControlError, endpoint: Endpoint) -> ApiError:
        return RULES[flavor_of(endpoint)].control_error(err, endpoint)

    def error_response(self, request: web.Request | None, err: ApiError) -> web.StreamResponse:
        assert isinstance(err, V4Error), err  # every failure here is one product's (nanomq_http, emqx4_http)
        return err.response(request)

    # -- the chosen flavor's ---------------------------------------------------------------------------

    def manners_error(self, reason: str, message: str = "") -> ApiError:
        return self.rules.manners_error(reason, message)

    async def authenticate(self, request: web.Request, endpoint: Endpoint) -> Any:
        if self.flavor == "emqx4":
            return await emqx4_http.authenticate(self.ctx.accounts, request)
        return await nanomq_http.authenticate(
            self.nanomq.auth, self.nanomq.settings.own.get("http_server", {}), request
        )

    async def start(self) -> None:
        await self.nanomq.start()

    async def stop(self) -> None:
        await self.nanomq.stop()
