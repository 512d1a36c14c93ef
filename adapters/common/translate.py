"""`emqgw translate`: one management request in one dialect, rewritten for the others.

Everything it knows comes from the operation crosswalk (``adapters.common.operations.OPERATIONS``):
the request is matched to an operation by method and path, its path variables, query parameters and
body fields are read into the record's attribute names, and each other dialect's call is rendered from
them, with a note for every input whose name, type or meaning changes and a plain "no equivalent"
where a dialect has no such call. No IO: the CLI and `POST /api/v5/gateway/translate` both call
``translate`` and render its ``Translation``.

    emqgw translate 'GET /api/v2/nodes/emq@127.0.0.1/clients?curr_page=2&page_size=50'
    emqgw translate "curl -u admin:public -X POST http://h:8081/api/v4/mqtt/publish -d '{...}'"
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import attrs

from .fields import CLIENT, Field
from .operations import OPERATION_DIALECTS, OPERATIONS, PREFIXES, Call, Operation
from .timefmt import parse_time_s, rfc3339_s

LABELS = {"v2": "EMQ 2.x", "emqx4": "EMQX 4.4", "nanomq": "NanoMQ", "v5": "EMQX 5"}
# Reading a `/api/v4` request: EMQX 4.4's column is tried first, it is the larger API.
_PREFIX_COLUMNS = {"/api/v2": ("v2",), "/api/v4": ("emqx4", "nanomq"), "/api/v5": ("v5",)}
_VAR = re.compile(r"\{([^}]+)\}")


class TranslateError(ValueError):
    """The input is not a request this tool can read (the message says why)."""


@attrs.define(slots=True)
class Request:
    method: str
    prefix: str  # /api/v2 | /api/v4 | /api/v5
    path: str  # after the prefix, without the query
    query: list[tuple[str, str]] = attrs.field(factory=list)
    body: Any = None
    base: str = ""  # scheme://host:port when the input had one
    user: str | None = None  # curl -u


@attrs.define(slots=True)
class Target:
    dialect: str
    method: str | None = None
    path: str | None = None  # full path with prefix and query
    body: Any = None
    notes: list[str] = attrs.field(factory=list)
    answer: str = ""  # what the answer looks like in this dialect
    missing: str = ""  # when no equivalent exists: what to do instead

    @property
    def exists(self) -> bool:
        return self.method is not None

    def as_dict(self) -> dict:
        return {
            "dialect": self.dialect,
            "label": LABELS[self.dialect],
            "exists": self.exists,
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "notes": self.notes,
            "answer": self.answer,
            "no_equivalent": self.missing,
        }


@attrs.define(slots=True)
class Translation:
    request: Request
    source: str  # crosswalk column the request was read as
    operation: Operation
    targets: list[Target]
    notes: list[str] = attrs.field(factory=list)  # about the source request (unknown inputs ...)

    def as_dict(self) -> dict:
        return {
            "operation": self.operation.name,
            "summary": self.operation.summary,
            "source": self.source,
            "source_label": LABELS[self.source],
            "notes": self.notes,
            "targets": [t.as_dict() for t in self.targets],
        }


# -- reading the input ------------------------------------------------------------------------------


def parse(text: str) -> Request:
    """`METHOD /api/vN/path?query [JSON body]`, a URL, or a curl command line."""
    text = text.strip()
    if not text:
        raise TranslateError("empty request")
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise TranslateError(f"cannot split the command line: {e}") from e
    if words and words[0] == "curl":
        return _parse_curl(words[1:])
    method, rest = "GET", text
    first, _, tail = text.partition(" ")
    if first.upper() in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        method, rest = first.upper(), tail.strip()
    url, _, body_text = rest.partition(" ")
    body = _json_body(body_text.strip()) if body_text.strip() else None
    return _from_url(method, url, body)


def _json_body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise TranslateError(f"the body is not JSON: {e}") from e


def _parse_curl(words: list[str]) -> Request:
    method, url, data, user = None, None, None, None
    it = iter(words)
    for w in it:
        if w in ("-X", "--request"):
            method = next(it, "GET").upper()
        elif w in ("-d", "--data", "--data-raw", "--data-binary", "--json"):
            data = next(it, "")
        elif w in ("-u", "--user"):
            user = next(it, None)
        elif w in ("-H", "--header", "-o", "--output", "-m", "--max-time", "-w", "--write-out"):
            next(it, None)
        elif w.startswith("-"):
            continue
        elif url is None:
            url = w
    if url is None:
        raise TranslateError("no URL in the curl command")
    req = _from_url(method or ("POST" if data is not None else "GET"), url, _json_body(data) if data else None)
    req.user = user
    return req


def _from_url(method: str, url: str, body: Any) -> Request:
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    path = parts.path
    for prefix in _PREFIX_COLUMNS:
        if path == prefix or path.startswith(prefix + "/"):
            rest = path[len(prefix) :].rstrip("/") or "/"
            return Request(
                method=method,
                prefix=prefix,
                path=rest,
                query=parse_qsl(parts.query, keep_blank_values=True),
                body=body,
                base=base,
            )
    raise TranslateError(f"{url}: not a management API path (it must start with /api/v2, /api/v4 or /api/v5)")


# -- matching ---------------------------------------------------------------------------------------


def _pattern(path: str) -> re.Pattern:
    """A crosswalk path as a regex; a trailing `{topic}` takes the rest of the path (slashes included)."""
    out, pos = "^", 0
    for m in _VAR.finditer(path):
        out += re.escape(path[pos : m.start()])
        last = m.end() == len(path)
        out += f"(?P<{m.group(1)}>.+)" if last and m.group(1) == "topic" else f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    return re.compile(out + re.escape(path[pos:]) + "$")


def _inputs(req: Request) -> dict[str, Any]:
    values: dict[str, Any] = dict(req.query)
    if isinstance(req.body, dict):
        values.update(req.body)
    return values


def _fixed_match(call: Call, values: dict[str, Any]) -> dict[str, str] | None:
    """The variables a call's fixed values bind (`?node=` for `{node}`), or None if they do not match."""
    bound: dict[str, str] = {}
    for name, want in call.fixed:
        m = _VAR.fullmatch(str(want))
        if m:
            if name not in values:
                return None
            bound[m.group(1)] = str(values[name])
        elif str(values.get(name)).lower() != str(want).lower():
            return None
    return bound


def match(req: Request) -> tuple[str, Operation, dict[str, str]] | None:
    """The crosswalk column, operation and path variables of a request; the call binding the most fixed
    values wins (`GET /api/v5/clients?node=n` is the per-node listing, not the cluster one)."""
    values = _inputs(req)
    for column in _PREFIX_COLUMNS[req.prefix]:
        found = []
        for op in OPERATIONS:
            call = op.call(column)
            if call is None or call.method != req.method:
                continue
            m = _pattern(call.path).match(req.path)
            bound = _fixed_match(call, values) if m else None
            if bound is not None:
                found.append((len(call.fixed), op, {**{k: unquote(v) for k, v in m.groupdict().items()}, **bound}))
        if found:
            best = max(found, key=lambda f: f[0])
            return column, best[1], best[2]
    return None


# -- rendering a target -----------------------------------------------------------------------------


def _convert(field: Field, value: Any, src: str, dst: str) -> Any:
    """Unit conversions the crosswalk's kinds call for (times: v4 epoch seconds, v5 RFC 3339 / ms)."""
    if field.kind == "time" and value not in (None, "", "infinity"):
        try:
            if dst == "v5" and src != "v5":
                return rfc3339_s(parse_time_s(value))
            if dst != "v5" and src == "v5":
                return int(parse_time_s(value))
        except ValueError:
            return value
    return value


def _render(
    op: Operation,
    src: str,
    dst: str,
    path_vars: dict[str, str],
    inputs: dict[str, tuple[Field, Any]],
    unknown: dict[str, Any],
    node: str | None,
) -> Target:
    call = op.call(dst)
    target = Target(dialect=dst)
    if call is None:
        target.missing = op.instead(dst) or f"{LABELS[dst]} has no equivalent of this operation"
        return target
    target.method, target.answer = call.method, call.note
    known = dict(path_vars)
    for attr, (_field, value) in inputs.items():
        known.setdefault(attr, value)
    if node and "node" not in known:
        known["node"] = node

    used: set[str] = set()

    def fill(template: str, in_path: bool) -> str:
        def one(m: re.Match) -> str:
            var = m.group(1)
            if var not in known:
                target.notes.append(f"fill in {{{var}}}" + (" (the node name: GET /nodes)" if var == "node" else ""))
                return m.group(0)
            used.add(var)
            return quote(str(known[var]), safe="@:") if in_path else str(known[var])

        return _VAR.sub(one, template)

    path = fill(call.path, True)
    extra: dict[str, Any] = {}
    for name, value in call.fixed:
        extra[name] = fill(value, False) if isinstance(value, str) else value
    for var in path_vars:
        if var not in used:
            target.notes.append(f"{{{var}}} is not part of the {LABELS[dst]} call")
    for attr, (field, value) in inputs.items():
        src_name, dst_name = field.name(src), field.name(dst)
        if attr in used:
            if attr not in path_vars:
                target.notes.append(f"`{src_name}` moves into the path" + (f" ({field.note})" if field.note else ""))
            continue
        if dst_name is None:
            target.notes.append(
                f"`{src_name}` has no {LABELS[dst]} equivalent: dropped" + (f" ({field.note})" if field.note else "")
            )
            continue
        converted = _convert(field, value, src, dst)
        if dst_name != src_name:
            target.notes.append(f"`{src_name}` → `{dst_name}`" + (f" ({field.note})" if field.note else ""))
        elif field.note:
            target.notes.append(f"`{dst_name}`: {field.note}")
        if converted != value:
            target.notes.append(f"`{dst_name}` value {value!r} → {converted!r}")
        extra[dst_name] = converted
    for name, value in unknown.items():
        target.notes.append(f"`{name}` is not in the crosswalk: passed on unchanged, check it by hand")
        extra[name] = value
    full = PREFIXES[dst] + path
    if call.inputs_in_body:
        target.body = extra or None
    elif extra:
        full += "?" + urlencode({k: _query_value(v) for k, v in extra.items()}, safe="@:/,")
    target.path = full
    return target


def _query_value(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def translate(text: str, node: str | None = None) -> Translation:
    """Read one request and render it in every other crosswalk column. TranslateError if unreadable."""
    req = parse(text)
    found = match(req)
    if found is None:
        raise TranslateError(
            f"{req.method} {req.prefix}{req.path}: no operation in the crosswalk matches it, "
            "so no equivalent is known in the other dialects"
        )
    src, op, path_vars = found
    fixed_names = {name for name, _ in op.call(src).fixed}
    by_name = {f.name(src): f for f in op.inputs if f.name(src) is not None}
    inputs: dict[str, tuple[Field, Any]] = {}
    unknown: dict[str, Any] = {}
    for name, value in _inputs(req).items():
        if name in fixed_names:
            continue
        if name in by_name:
            inputs[by_name[name].attr] = (by_name[name], value)
        else:
            unknown[name] = value
    targets = [_render(op, src, dst, path_vars, inputs, unknown, node) for dst in OPERATION_DIALECTS if dst != src]
    notes = [f"`{n}` is not in the crosswalk for {op.name}" for n in unknown]
    return Translation(request=req, source=src, operation=op, targets=targets, notes=notes)


def curl(target: Target, base: str = "http://127.0.0.1:18083", user: str = "USER:SECRET") -> str:
    """The target as a curl command line (the base is the gateway's main listener by default)."""
    parts = ["curl", "-u", user, "-X", target.method, base + target.path]
    if target.body is not None:
        parts += ["-H", "Content-Type: application/json", "-d", json.dumps(target.body)]
    return " ".join(shlex.quote(p) for p in parts)


def render_text(tr: Translation, as_curl: bool = False) -> str:
    req = tr.request
    src_line = f"{req.method} {req.prefix}{req.path}"
    if req.query:
        src_line += "?" + urlencode(req.query, safe="@:/,")
    lines = [f"{LABELS[tr.source]}: {src_line}"]
    if req.body is not None:
        lines.append(f"  body: {json.dumps(req.body)}")
    lines.append(f"operation: {tr.operation.name} — {tr.operation.summary}")
    src_call = tr.operation.call(tr.source)
    if src_call is not None and src_call.note:
        lines.append(f"  answer: {src_call.note}")
    lines += [f"  ! {n}" for n in tr.notes]
    for t in tr.targets:
        lines.append("")
        if not t.exists:
            lines.append(f"{LABELS[t.dialect]}: no equivalent. {t.missing}")
            continue
        if as_curl:
            lines.append(
                f"{LABELS[t.dialect]}: {curl(t, req.base or 'http://127.0.0.1:18083', req.user or 'USER:SECRET')}"
            )
        else:
            lines.append(f"{LABELS[t.dialect]}: {t.method} {t.path}")
            if t.body is not None:
                lines.append(f"  body: {json.dumps(t.body)}")
        if t.answer:
            lines.append(f"  answer: {t.answer}")
        lines += [f"  - {n}" for n in t.notes]
    return "\n".join(lines)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def equivalent(dialect: str, method: str, route: str) -> tuple[Operation, Call | None] | None:
    """The operation a served route template belongs to and its EMQX 5 call (None: no v5 equivalent).

    ``dialect`` is a gateway dialect name (v2, v4, v5); ``route`` its endpoint path, e.g.
    `/nodes/{node}/clients`. Variable names are ignored; a served `{action}` matches the table's `load`.
    """
    shape = _shape(route.replace(":.+", ""))
    rx = re.compile("^" + re.escape(shape).replace(re.escape("{}"), "[^/]+") + "$")
    columns = {"v2": ("v2",), "v4": ("emqx4", "nanomq"), "v5": ("v5",)}.get(dialect, ())
    for column in columns:
        for op in OPERATIONS:
            call = op.call(column)
            if call is not None and call.method == method and (_shape(call.path) == shape or rx.match(call.path)):
                return op, op.v5
    return None


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The crosswalk as documentation: one row per operation, then the client fields (generated, never
    edited by hand: `emqgw crosswalk > docs/crosswalk.md`)."""
    cols = OPERATION_DIALECTS
    lines = [
        "# Operation crosswalk",
        "",
        "Generated from `adapters/common/operations.py` and `fields.py` by `emqgw crosswalk`. `–` = no equivalent.",
        "",
        "| operation | " + " | ".join(LABELS[c] for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for op in OPERATIONS:
        cells = []
        for c in cols:
            call = op.call(c)
            if call is None:
                cells.append("– " + _cell(op.instead(c)))
                continue
            fixed = " ".join(f"`{k}={str(v).lower() if isinstance(v, bool) else v}`" for k, v in call.fixed)
            cells.append(f"`{call.method} {PREFIXES[c]}{call.path}`" + (f" {fixed}" if fixed else ""))
        lines.append(f"| {op.name}: {_cell(op.summary)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Inputs whose name, type or meaning changes",
        "",
        "| operation | " + " | ".join(LABELS[c] for c in cols) + " | note |",
        "|---" * (len(cols) + 2) + "|",
    ]
    for op in OPERATIONS:
        for f in op.inputs:
            names = [f.name(c) for c in cols]
            if len({n for n in names}) > 1 or f.note:
                lines.append(
                    f"| {op.name} | " + " | ".join(f"`{n}`" if n else "–" for n in names) + f" | {_cell(f.note)} |"
                )
    lines += [
        "",
        "## Client fields",
        "",
        "| " + " | ".join(LABELS[c] for c in cols) + " | kind |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for f in CLIENT:
        lines.append("| " + " | ".join(f"`{f.name(c)}`" if f.name(c) else "–" for c in cols) + f" | {f.kind} |")
    return "\n".join(lines) + "\n"
