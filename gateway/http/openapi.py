"""OpenAPI 3.0 documents generated from the dialects' route tables, and an offline Swagger UI.

The document is derived from the very table the server routes with, so it cannot drift from what is
served. Swagger UI's assets come from the `swagger-ui-bundle` package (no CDN), and its top bar
switches between the three dialects' documents.
"""

from __future__ import annotations

import re

import orjson
from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

from schemas.version import VERSION

from .dialect import Dialect
from .routes import Endpoint

# Where each dialect's document is served; v5 keeps EMQX's own address.
DOC_PATHS = {"v5": "/api-docs/swagger.json", "v2": "/api-docs/v2/swagger.json", "v4": "/api-docs/v4/swagger.json"}
TITLES = {"v5": "EMQX 5 API (emqgw)", "v2": "EMQ 2.3 API (emqgw)", "v4": "NanoMQ / EMQX 4 API (emqgw)"}

_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


def openapi_path(path: str) -> str:
    """aiohttp's `{topic:.*}` becomes OpenAPI's `{topic}`."""
    return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def _schema_of(param) -> dict:
    schema: dict = {"type": param.type}
    if param.type == "array":
        schema["items"] = {"type": "string"}
    if param.enum is not None:
        schema["enum"] = list(param.enum)
    if param.default is not None:
        schema["default"] = param.default
    if param.minimum is not None:
        schema["minimum"] = param.minimum
    if param.maximum is not None:
        schema["maximum"] = param.maximum
    return schema


def _operation(ep: Endpoint, security: list | None) -> dict:
    """One operation; ``security`` is what the dialect requires of this endpoint (None: the default)."""
    op: dict = {
        "summary": ep.summary or ep.name or f"{ep.method} {ep.path}",
        "operationId": ep.name or f"{ep.method.lower()}_{re.sub(r'[^A-Za-z0-9]+', '_', ep.path).strip('_')}",
    }
    if ep.tags:
        op["tags"] = list(ep.tags)
    params = []
    declared = {p.name for p in ep.params}
    for p in ep.params:
        params.append(
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "description": p.description,
                "schema": _schema_of(p),
            }
        )
    for name in _PATH_PARAM.findall(ep.path):
        if name not in declared:
            params.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
    if params:
        op["parameters"] = params
    if ep.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ep.body}}}
    responses = {}
    for status, spec in (ep.responses or {200: {"description": "OK"}}).items():
        spec = dict(spec)
        entry = {"description": spec.pop("description", "OK")}
        if spec:
            entry["content"] = {spec.pop("content_type", "application/json"): {"schema": spec.get("schema", spec)}}
        responses[str(status)] = entry
    op["responses"] = responses
    if ep.auth == "none":
        op["security"] = []
    elif security is not None:
        op["security"] = security
    return op


def document(dialect: Dialect, version: str = VERSION) -> dict:
    paths: dict = {}
    for ep in dialect.table.endpoints:
        if ep.hidden:
            continue
        paths.setdefault(openapi_path(dialect.prefix + ep.path), {})[ep.method.lower()] = _operation(
            ep, dialect.openapi_security(ep)
        )
    doc = {
        "openapi": "3.0.3",
        "info": {"title": TITLES.get(dialect.name, dialect.name), "version": version},
        "paths": paths,
    }
    schemes = getattr(dialect, "openapi_security_schemes", None)
    if schemes:
        doc["components"] = {"securitySchemes": schemes}
        doc["security"] = [{name: []} for name in schemes]
    return doc


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>emqgw API docs</title>
<link rel="stylesheet" href="/api-docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api-docs/assets/swagger-ui-bundle.js"></script>
<script src="/api-docs/assets/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({urls: URLS, "urls.primaryName": PRIMARY, dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout"});
</script></body></html>
"""


def add_routes(app: web.Application, dialects: list[Dialect]) -> None:
    """`/api-docs/index.html`, the assets, and one `swagger.json` per dialect (no auth, as EMQX)."""
    docs = {dl.name: document(dl) for dl in dialects if dl.name in DOC_PATHS}

    def serve(doc: dict):
        body = orjson.dumps(doc)

        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="application/json")

        return handler

    for name, doc in docs.items():
        app.router.add_get(DOC_PATHS[name], serve(doc))
    order = [n for n in ("v5", "v4", "v2") if n in docs]
    urls = [{"url": DOC_PATHS[n], "name": TITLES[n]} for n in order]
    index = _INDEX.replace("URLS", orjson.dumps(urls).decode()).replace(
        "PRIMARY", orjson.dumps(TITLES[order[0]] if order else "").decode()
    )

    async def index_handler(request: web.Request) -> web.Response:
        return web.Response(text=index, content_type="text/html")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/api-docs/index.html")

    app.router.add_get("/api-docs/index.html", index_handler)
    app.router.add_get("/api-docs", redirect)
    app.router.add_static("/api-docs/assets", swagger_ui_path)
