"""EMQX's published API as the contract upstream mode keeps: every request the gateway sends upstream, and
every answer it accepts, validated against EMQX 5.8.1's own OpenAPI document
(../shared/reference/emqx-5.8-openapi-structure.json) with openapi-core.

``ContractProxy`` sits between the gateway (A) and the upstream (B) as a reverse proxy: it validates,
forwards, validates the answer, and records what broke the contract. Requests are checked strictly, as
EMQX's server checks them (an unknown body field is refused by its schema layer, though the document
does not say so: every object schema is closed here); answers loosely, as the document is written
(EMQX adds fields freely).

``ALLOWED`` lists where EMQX's server knowingly differs from its document (the reference's
emqx-v5-api.md and auth-config-apis.md §7), each with the reason; nothing else is forgiven.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import attrs
from aiohttp import web
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from yarl import URL

from tests.reference import EMQX_OPENAPI, reference_file

# None where the reference cannot be found (tests.reference): the proxy then forwards without checking.
DOCUMENT = reference_file(EMQX_OPENAPI)


@attrs.define(frozen=True)
class Allowed:
    method: str
    path: str  # a regex over the path after /api/v5
    part: str  # "request" | "response"
    reason: str
    status: int | None = None  # for "response": only answers with this status
    # Only these schema errors: a regex over the value's place ("data/0/username") and one over the
    # error's text; None: the whole part is forgiven.
    field: str | None = None
    error: str = ".*"

    def covers(self, method: str, path: str, part: str, status: int | None, place: str | None, text: str) -> bool:
        return (
            self.method in (method, "*")
            and self.part == part
            and re.fullmatch(self.path, path) is not None
            and (self.status is None or self.status == status)
            and (self.field is None or (place is not None and re.fullmatch(self.field, place) is not None))
            and re.search(self.error, text) is not None
        )


ALLOWED = (
    Allowed(
        "GET",
        "/clients(/[^/]+)?",
        "response",
        "EMQX writes null for a client without a username or mountpoint (emqx-v5-api.md §5.1, the full "
        "client example); the document says string",
        field=r"(data/\d+/)?(username|mountpoint)",
        error="None",
    ),
    Allowed(
        "GET",
        "/clients(/[^/]+)?",
        "response",
        'EMQX writes "infinity" for an unlimited subscriptions_max (emqx-v5-api.md §5.1); the document says integer',
        field=r"(data/\d+/)?subscriptions_max",
        error="'infinity'",
    ),
    *(
        Allowed(
            method,
            "/mqtt/retainer",
            part,
            "the document types backend.index_specs as a list of integers; EMQX's own default and answers "
            "are lists of lists of integers (retainer.mnesia_config: [[1,2,3],[1,3],[2,3],[3]]); an answer "
            "without index_specs meets the same error in the document's own default, reported at its index",
            field=r"(backend/index_specs/)?\d+",
            error="is not of type 'integer'",
        )
        for method, part in (("GET", "response"), ("PUT", "request"), ("PUT", "response"))
    ),
    *(
        Allowed(
            method,
            path,
            part,
            "a listener's enable_authn is typed string in the document although its values are true, false "
            "or quick_deny_anonymous (and its default true): the boolean is refused where it is filled in",
            field="(enable_authn)?",
            error="True is not of type 'string'",
        )
        for method, path, part in (
            ("GET", "/listeners/[^/]+", "response"),
            ("POST", "/listeners", "request"),
            ("POST", "/listeners", "response"),
            ("PUT", "/listeners/[^/]+", "request"),
            ("PUT", "/listeners/[^/]+", "response"),
        )
    ),
    Allowed(
        "GET",
        "/subscriptions",
        "response",
        "the document describes a bare array; the server answers the {data, meta} page envelope "
        "(emqx-v5-api.md §2.3; every EMQX 5 dashboard reads meta)",
        status=200,
    ),
    Allowed(
        "GET",
        "/clients",
        "request",
        "EMQX reads `fields` as one comma-separated list (emqx-v5-api.md, GET /clients: `fields=clientid,"
        "username`, as its dashboard sends it); the document declares an array of names",
        field="",  # the parameter's value as a whole
        error=r"^'clientid(,[a-z0-9_.]+)+' is not valid under any of the given schemas$",
    ),
    Allowed(
        "GET",
        "/clients_v2",
        "request",
        "the cursor listing is served by EMQX 5.7+ but hidden from the document (emqx-v5-api.md, "
        "GET /clients_v2: used by dashboard 1.10)",
    ),
    Allowed("GET", "/clients_v2", "response", "hidden from the document, as above"),
    Allowed(
        "PUT",
        "/clients/[^/]+/keepalive",
        "request",
        "hidden from the document, served since 5.4 (emqx-v5-api.md: PUT /clients/{id}/keepalive)",
    ),
    Allowed("PUT", "/clients/[^/]+/keepalive", "response", "hidden from the document, as above"),
    Allowed(
        "POST",
        "/alarms/force_deactivate",
        "request",
        "served by emqx_mgmt_api_alarms (emqx-v5-api.md, POST /alarms/force_deactivate) but absent "
        "from the 5.8.1 document",
    ),
    Allowed("POST", "/alarms/force_deactivate", "response", "absent from the document, as above"),
    Allowed(
        "POST",
        "/clients/[^/]+/subscribe",
        "response",
        "a refused filter is 400 INVALID_PARAMETER (emqx-v5-api.md §2.4: `no_local` not allowed for "
        "shared-sub); the document lists only 200 and 404",
        status=400,
    ),
    Allowed(
        "GET",
        "/banned",
        "response",
        "an unfiltered listing's meta has no `hasnext` (emqx-v5-api.md §2.3), which the document's "
        "public.meta requires",
        status=200,
    ),
)


# Not EMQX's differences but the stand-in's: the upstream in these tests is emqgw's own /api/v5 (EMQX
# cannot run here), which does not serve EMQX's authorization settings yet. Its 404 is no answer EMQX
# would give; the gateway reads the records' defaults (EMQX's own) for that section.
STAND_IN_GAPS = (
    Allowed(
        "GET",
        "/authorization/settings",
        "response",
        "emqgw's /api/v5 does not serve this configuration document",
        status=404,
    ),
)
ALLOWED += STAND_IN_GAPS


def _unions(node: Any) -> Any:
    """EMQX writes its HOCON unions as `oneOf` although the alternatives overlap (`"infinity"` is a
    string too, so its own default `retry_interval = "infinity"` would match two and fail): a value
    fits a union when it fits any alternative, as in EMQX's schema layer. Read as `anyOf`."""
    if isinstance(node, dict):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _unions(value)
    elif isinstance(node, list):
        for value in node:
            _unions(value)
    return node


def _closed(node: Any) -> Any:
    """Every object schema that names its properties refuses others (EMQX's schema layer does)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _closed(value)
    elif isinstance(node, list):
        for value in node:
            _closed(value)
    return node


def _load(document: Path) -> tuple[OpenAPI, OpenAPI]:
    doc = _unions(json.loads(document.read_text()))
    # EMQX's document uses keywords of its own (is_template ...): it is used as published, unvalidated.
    config = Config(spec_validator_cls=None)
    return OpenAPI.from_dict(_closed(copy.deepcopy(doc)), config=config), OpenAPI.from_dict(doc, config=config)


STRICT, LOOSE = _load(DOCUMENT) if DOCUMENT is not None else (None, None)


def violations(method: str, path: str, part: str, status: int | None, errors: list) -> list[str]:
    """openapi-core's errors for one request or answer (``path`` after /api/v5), less what ALLOWED
    forgives; a schema violation counts once per value at fault."""
    where = f"{part} {method} /api/v5{path}" + (f" ({status})" if status is not None else "")
    out = []
    for e in errors:
        found = getattr(e.__cause__, "schema_errors", None)
        items = (
            [("/".join(map(str, se.absolute_path)), se.message) for se in found]
            if found
            else [(None, f"{type(e).__name__}: {e.__cause__ or e}")]
        )
        for place, text in items:
            if not any(a.covers(method, path, part, status, place, text) for a in ALLOWED):
                out.append(f"{where}: {place or ''} {text}")
    return out


class _Request:
    """What openapi-core reads of a request; the path stays encoded, as EMQX routes it (a topic's
    `%2F` is one path segment)."""

    def __init__(self, request: web.Request, body: bytes):
        self.host_url = f"{request.url.scheme}://{request.url.host}"
        self.path = request.raw_path.split("?", 1)[0]
        self.method = request.method.lower()
        self.parameters = RequestParameters(query=request.query, header=request.headers, cookie=request.cookies)
        self.body = body or None
        self.content_type = request.content_type if body else ""


class _Response:
    def __init__(self, status: int, body: bytes, content_type: str, headers):
        self.status_code = status
        self.data = body
        self.content_type = content_type
        self.headers = headers


class ContractProxy:
    """A reverse proxy to ``upstream`` (a base URL ending in /api/v5) that validates both ways."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.violations: list[str] = []
        self.checked = 0
        self.seen: list[tuple[str, str, int]] = []  # (method, path and query as sent, answer's bytes)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v5"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/v5/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession(auto_decompress=False)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _check(self, method: str, path: str, part: str, status: int | None, errors: list) -> None:
        self.violations += violations(method, path, part, status, errors)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        path = request.raw_path.split("?", 1)[0].removeprefix("/api/v5")
        self.checked += 1
        seen = _Request(request, body)
        if STRICT is not None:
            self._check(request.method, path, "request", None, STRICT.unmarshal_request(seen).errors)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        # encoded=True: the path goes on exactly as the gateway wrote it.
        url = URL(self.upstream.removesuffix("/api/v5") + request.raw_path, encoded=True)
        async with self._session.request(request.method, url, data=body or None, headers=headers) as resp:
            answer = await resp.read()
            status, ctype = resp.status, resp.content_type
            self.seen.append((request.method, request.raw_path, len(answer)))
            out_headers = {k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "etag")}
        if LOOSE is not None:
            verdict = LOOSE.unmarshal_response(seen, _Response(status, answer, ctype, out_headers))
            self._check(request.method, path, "response", status, verdict.errors)
        return web.Response(body=answer, status=status, headers=out_headers)
