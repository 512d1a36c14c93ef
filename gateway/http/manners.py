"""HTTP manners from the MaxScale REST conventions, applied around every endpoint of every dialect.

`pretty`, ETag with If-None-Match (304) and If-Match (412) (a listing's ETag comes from its rows, see
``gateway.http.listing``; any other answer's from its body), X-HTTP-Method-Override, `Allow` on every
answer and 405 for a method the resource lacks, 401 with WWW-Authenticate (the dialect's
``authenticate``), 413 above the body limit, 415 for a non-JSON body where JSON is required — each
error rendered by the dialect in its own envelope, never an HTML page or a traceback. A write
(POST/PUT/PATCH/DELETE) answers success only once what it changed is committed to disk.
"""

from __future__ import annotations

import logging
import time
import zlib

import orjson
from aiohttp import web

from schemas.errors import ControlError

from . import dialect as d
from .dialect import ApiError, Dialect
from .listing import RowStream
from .routes import Call, Endpoint

log = logging.getLogger("emqgw.http")
access_log = logging.getLogger("emqgw.access")

_MUTATING = frozenset(("POST", "PUT", "PATCH", "DELETE"))

# What the manners learn about a request, for handlers and the access log.
ENDPOINT = web.RequestKey("endpoint", Endpoint)
PRINCIPAL = web.RequestKey("principal", object)


def etag_of(body: bytes) -> str:
    # A validator only has to change when the body does; CRC-32 with the length does that at several
    # GB/s, where a cryptographic digest of a 100 KB listing page costs more than encoding it.
    return f'"{len(body):x}-{zlib.crc32(body):08x}"'


def _etag_listed(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _wants_pretty(request: web.Request) -> bool:
    return request.query.get("pretty", "").lower() in ("true", "1", "yes")


def client_gone(request: web.BaseRequest, exc: BaseException) -> bool:
    """Whether ``exc`` is the client hanging up in the middle of its request (or being cut off by its
    listener's deadline): aiohttp then fails the body's read with ConnectionResetError, and has already
    let go of the transport."""
    return isinstance(exc, ConnectionResetError) and request.transport is None


def allow_header(methods: dict[str, Endpoint]) -> str:
    names = set(methods)
    if "GET" in names:
        names.add("HEAD")
    return ", ".join(sorted(names))


def make_dispatcher(dialect: Dialect, methods: dict[str, Endpoint], body_limit: int):
    """The aiohttp handler for one path of one dialect: all methods go through here."""
    allow = allow_header(methods)
    get_endpoint = methods.get("GET")

    async def run(ep: Endpoint, request: web.Request) -> web.StreamResponse:
        args, body = await dialect.arguments(request, ep)
        committed = dialect.ctx.committed
        try:
            resp = await ep.handler(Call(request, args, body, dialect.ctx, ep))
            # A write answers success only once it is committed: user and API key writes commit
            # before their handler returns, the broker's go through the state store's journal.
            if ep.method in _MUTATING and resp.status < 400 and committed is not None:
                await committed()
            return resp
        except ControlError as e:
            raise dialect.control_error(e, ep) from None

    async def current_etag(request: web.Request) -> str | None:
        if get_endpoint is None:
            return None
        try:
            resp = await run(get_endpoint, request.clone(method="GET"))
        except ApiError:
            return None
        return validator(resp)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        ep: Endpoint | None = None
        try:
            method = request.headers.get("X-HTTP-Method-Override", request.method).upper()
            if method == "HEAD":
                method = "GET"
            ep = methods.get(method)
            if ep is None:
                raise dialect.manners_error(d.METHOD_NOT_ALLOWED, f"{method} not allowed; allowed: {allow}")
            request[ENDPOINT] = ep
            if ep.auth != "none":
                request[PRINCIPAL] = await dialect.authenticate(request, ep)
            if method in _MUTATING:
                length = request.content_length
                if length is not None and length > body_limit:
                    raise dialect.manners_error(d.TOO_LARGE, f"body larger than {body_limit} bytes")
                if ep.json_body and dialect.enforce_json_content_type and request.body_exists:
                    ctype = request.content_type
                    if ctype != "application/json" and not ctype.endswith("+json"):
                        raise dialect.manners_error(d.UNSUPPORTED_MEDIA_TYPE, "content-type:application/json Required")
                if_match = request.headers.get("If-Match")
                if if_match is not None:
                    current = await current_etag(request)
                    if current is None or not _etag_listed(if_match, current):
                        raise dialect.manners_error(d.PRECONDITION_FAILED, "resource changed (If-Match)")
            if method != request.method:
                request = request.clone(method=method)
            resp = await run(ep, request)
        except ApiError as e:
            resp = dialect.error_response(request, e)
        except web.HTTPRequestEntityTooLarge:
            resp = dialect.error_response(request, dialect.manners_error(d.TOO_LARGE, "body too large"))
        except Exception as e:
            if client_gone(request, e):
                raise  # nothing to answer and nothing of ours failed: app.py ends the request quietly
            log.exception("%s %s failed", request.method, request.path)
            resp = dialect.error_response(request, dialect.manners_error(d.INTERNAL, "internal error"))
        resp.headers["Allow"] = allow
        etag = validator(resp)
        if etag is not None:
            resp = _conditional(request, resp, etag)
        _account(dialect, request, ep, resp, started)
        return resp

    return dispatch


def validator(resp: web.StreamResponse) -> str | None:
    """The ETag of a 200 JSON answer: the one its handler computed (a listing's, from its rows:
    ``gateway.http.listing``), else one of its body."""
    if resp.status != 200 or resp.content_type != "application/json":
        return None
    etag = resp.headers.get("ETag")
    if etag is not None:
        return etag
    if isinstance(resp, web.Response) and isinstance(resp.body, bytes):
        return etag_of(resp.body)
    return None


def _conditional(request: web.Request, resp: web.StreamResponse, etag: str) -> web.StreamResponse:
    if request.method in ("GET", "HEAD"):
        inm = request.headers.get("If-None-Match")
        if inm is not None and _etag_listed(inm, etag):
            return web.Response(status=304, headers={"ETag": etag, "Allow": resp.headers.get("Allow", "")})
    resp.headers["ETag"] = etag
    if _wants_pretty(request):
        if isinstance(resp, RowStream):
            resp.make_pretty()
        elif isinstance(resp, web.Response) and isinstance(resp.body, bytes):
            resp.body = orjson.dumps(orjson.loads(resp.body), option=orjson.OPT_INDENT_2)
    return resp


def _account(
    dialect: Dialect, request: web.Request, ep: Endpoint | None, resp: web.StreamResponse, started: float
) -> None:
    principal = request.get(PRINCIPAL)
    route = ep.path if ep is not None else request.path
    dialect.ctx.count_request(dialect.name, request.method, route, resp.status, principal)
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(
            "%s %s %s %s %d %.1fms %s",
            request.remote,
            dialect.name,
            request.method,
            request.path_qs,
            resp.status,
            (time.monotonic() - started) * 1000,
            principal or "-",
        )
