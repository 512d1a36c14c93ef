"""Bad input for every route of a dialect, generated from its route table (``Dialect.table``): each
request carries exactly one bad element — an oversized or extreme integer in a query or path parameter,
a NUL byte (`%00`) in a path parameter, a body property of the wrong type or out of any number's range —
and the rest is plausible (this node's name, a connected client's id, each body property of its
declared type), so that the bad element is the one read. ``sweep`` sends them all and collects every
5xx. Used by tests/test_http_bad_input.py and benchmarks/http_abuse.py."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

# Query and path values: beyond 64 bits, just beyond a signed 64-bit integer either way, the signed
# 64-bit extremes themselves (which reach the handlers), a few hundred digits (beyond any float), and
# past the digits Python converts at all (int() refuses more than 4300).
BIG_TEXTS = (
    "99999999999999999999",
    "9223372036854775808",
    "-9223372036854775809",
    "9223372036854775807",
    "-9223372036854775808",
    "9" * 400,
    "9" * 5000,
)
# Body values: orjson reads integers beyond 64 bits as floats, so these are what a handler can be
# handed: the 64-bit extremes, floats far beyond any integer field, and wrong types.
BAD_BODY_VALUES: tuple[Any, ...] = (
    18446744073709551615,
    9223372036854775807,
    -9223372036854775808,
    1e300,
    -1e300,
    "x",
    [],
    {},
    None,
)
NUL = "x%00y"
CLIENTID = "sweeper"

PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def plausible(schema: dict) -> Any:
    """A value of the schema's type (its first enum value, its default), for the fields not under test."""
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type") or (schema.get("anyOf") or [{}])[0].get("type")
    if kind == "object":
        return {k: plausible(v) for k, v in schema.get("properties", {}).items() if k in schema.get("required", ())}
    return {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": []}.get(kind, "x")


def bad_bodies(schema: Any) -> list[Any]:
    """Each property of the body, in turn, given each bad value; and the whole body replaced by each."""
    out: list[Any] = list(BAD_BODY_VALUES)
    if not isinstance(schema, dict):
        return out
    props = schema.get("properties", {})
    if props:
        base = {k: plausible(v) for k, v in props.items()}
        for name in props:
            out.extend({**base, name: value} for value in BAD_BODY_VALUES)
    items = schema.get("items")
    if schema.get("type") == "array":
        item = plausible(items) if isinstance(items, dict) else {}
        out.extend([value] for value in BAD_BODY_VALUES)
        if isinstance(item, dict) and isinstance(items, dict):
            for name in items.get("properties", {}):
                out.extend([{**item, name: value}] for value in BAD_BODY_VALUES)
    return out


def requests_for(prefix: str, ep, node: str) -> list[tuple[str, str, Any]]:
    """(method, url, body) with one bad element each; body None means none sent."""
    names = [m.group(1) for m in PLACEHOLDER.finditer(ep.path)]
    good = {name: node if name == "node" else CLIENTID if name == "clientid" else "x" for name in names}

    def url(path_values: dict[str, str], query: str = "") -> str:
        path = PLACEHOLDER.sub(lambda m: path_values[m.group(1)], ep.path)
        return f"{prefix}{path}{'?' + query if query else ''}"

    out: list[tuple[str, str, Any]] = []
    for name in names:
        for bad in (NUL, *BIG_TEXTS):
            out.append((ep.method, url({**good, name: bad}), None))
    for p in ep.params:
        if p.where != "query":
            continue
        out.extend((ep.method, url(good, f"{p.name}={v}"), None) for v in BIG_TEXTS)
        out.append((ep.method, url(good, f"{p.name}={NUL}"), None))
    if ep.body is not None:
        out.extend((ep.method, url(good), body) for body in bad_bodies(ep.body))
    return out


# Routes outside the dialect tables: the health check, the OpenAPI documents and their assets, the home
# page's assets and the EMQ 2.3 dashboard directory served at `/`.
EXTRA_PATHS = (
    "/status?format=" + NUL,
    "/" + NUL,
    "/static/" + NUL,
    "/static/a" + NUL + "/b",
    "/index.html" + NUL,
    "/api-docs/assets/" + NUL,
    "/api-docs/" + NUL,
    "/api/v5/" + NUL,
    "/api/v4/" + NUL,
    "/api/v2/" + NUL,
    "/assets/" + NUL,
)


# send(dialect name, method, url, body or None) -> (status, text of the answer)
Send = Callable[[str, str, str, Any], Awaitable[tuple[int, str]]]


async def sweep(send: Send, dialects: Iterable, node: str) -> tuple[int, list[str]]:
    """Every bad request for every endpoint of ``dialects`` (and ``EXTRA_PATHS``): how many were sent,
    and a line for each answered 5xx."""
    sent = 0
    failures: list[str] = []
    for dialect in dialects:
        for ep in dialect.table.endpoints:
            for method, url, body in requests_for(dialect.prefix, ep, node):
                status, text = await send(dialect.name, method, url, body)
                sent += 1
                if status >= 500:
                    failures.append(f"{status} {method} {url[:120]} {body!r:.80} -> {text[:120]}")
    for path in EXTRA_PATHS:
        status, text = await send("", "GET", path, None)
        sent += 1
        if status >= 500:
            failures.append(f"{status} GET {path} -> {text[:120]}")
    return sent, failures
