"""EMQX 5's data integration (rule engine, bridges, connectors, actions, sources): this broker has none
of it, and says so on every one of its paths, 400 NOT_SUPPORTED, rather than "no such path". Left out of
the OpenAPI document, which describes what is served."""

from __future__ import annotations

from aiohttp import web

from gateway.http.routes import Call, Routes
from schemas.errors import NotSupported

METHODS = ("GET", "POST", "PUT", "DELETE")


def _integration(kind: str) -> tuple[str, ...]:
    """The paths EMQX 5.8 serves for one kind of data integration (its published document)."""
    return (
        f"/{kind}",
        f"/{kind}/{{id}}",
        f"/{kind}/{{id}}/enable/{{enable}}",
        f"/{kind}/{{id}}/metrics",
        f"/{kind}/{{id}}/metrics/reset",
        f"/{kind}/{{id}}/{{operation}}",
        f"/{kind}_probe",
        f"/nodes/{{node}}/{kind}/{{id}}/{{operation}}",
    )


FEATURES: dict[str, tuple[str, ...]] = {
    "rule engine": (
        "/rules",
        "/rules/{id}",
        "/rules/{id}/metrics",
        "/rules/{id}/metrics/reset",
        "/rules/{id}/test",
        "/rule_engine",
        "/rule_events",
        "/rule_test",
    ),
    "data bridges": _integration("bridges"),
    "connectors": _integration("connectors"),
    "actions": (*_integration("actions"), "/action_types"),
    "sources": (*_integration("sources"), "/source_types"),
}

routes = Routes(tags=("Data integration",), hidden=True)


def _refuse(feature: str):
    async def not_supported(call: Call) -> web.Response:
        raise NotSupported(f"this broker has no {feature}")

    return not_supported


for _feature, _paths in FEATURES.items():
    for _path in _paths:
        for _method in METHODS:
            routes.add(_method, _path, _refuse(_feature), name=f"no_{_feature.replace(' ', '_')}")
