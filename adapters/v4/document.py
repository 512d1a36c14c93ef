"""The NanoMQ configuration document the v4 dialect owns: its shape, defaults, validation and file.

NanoMQ's `GET/POST /api/v4/configuration` speak a flat document (seed 003: ``url``, ``msq_len`` ...
with ``tls``, ``websocket``, ``http_server`` and ``bridge`` sub-objects); newer NanoMQ groups the
top-level keys under ``basic`` (``GET /configuration/{section}``). Many keys have no home in
``BrokerConfig`` (thread counts, the HTTP server, the bridge), so the dialect keeps the document (what
was POSTed, in ``<data_dir>/nanomq.json``) and maps only the keys with a broker counterpart
(``settings.py``). Sizes are in KB, as in nanomq.conf, except ``property_size`` (bytes).

Where the broker says "no limit" (or "never") with 0, NanoMQ's ranges (1..) cannot: the document shows
the value that means as much instead (``NO_LIMIT``), and maps it, or anything above, back to 0. So a
GET followed by a POST of the same document changes nothing in the broker.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import codes
from .topics import valid_filter

FILE_NAME = "nanomq.json"

# The keys `basic` holds in the sectioned shape (NanoMQ 0.25 `GET /configuration/basic`).
BASIC_KEYS = (
    "url",
    "num_taskq_thread",
    "max_taskq_thread",
    "parallel",
    "property_size",
    "daemon",
    "max_packet_size",
    "client_max_packet_size",
    "msq_len",
    "qos_duration",
    "keepalive_backoff",
    "allow_anonymous",
)
SECTIONS = ("basic", "tls", "websocket", "http_server", "bridge")
# What `GET/POST /reload` covers (NanoMQ's hot-updatable set); `bridge_mode` is bridge.bridge_mode.
RELOAD_KEYS = (
    "property_size",
    "max_packet_size",
    "client_max_packet_size",
    "msq_len",
    "qos_duration",
    "keepalive_backoff",
    "allow_anonymous",
)
AUTH_TYPES = ("basic", "jwt", "no_auth")

# key -> (broker units per document unit, the document value standing for the broker's 0).
NO_LIMIT: dict[str, tuple[int, int]] = {
    # retry_interval in seconds; 0 (never retry) shows as the largest value accepted, 2^31-1 s (68 years).
    "qos_duration": (1, 2**31 - 1),
    # max_user_property_size in bytes; the most a user property can hold is two UTF-8 strings of 65535
    # bytes [MQTT 5 1.5.7], so no larger limit can refuse anything.
    "property_size": (1, 2 * 65535),
    # client_max_packet_size in KB; the protocol's largest packet, 268,435,455 bytes, rounded up to KB.
    "client_max_packet_size": (1024, 262144),
}

_STR_OR_NULL = (str, type(None))
# key -> accepted JSON types (bool is not an int here); nested dicts are sections.
SCHEMA: dict[str, Any] = {
    "url": str,
    "num_taskq_thread": int,
    "max_taskq_thread": int,
    "parallel": int,
    "property_size": int,
    "msq_len": int,
    "qos_duration": int,
    "allow_anonymous": bool,
    "daemon": bool,
    "max_packet_size": int,
    "client_max_packet_size": int,
    "keepalive_backoff": (int, float),
    "tls": {
        "enable": bool,
        "url": str,
        "key_password": _STR_OR_NULL,
        "key": _STR_OR_NULL,
        "cert": _STR_OR_NULL,
        "cacert": _STR_OR_NULL,
        "verify_peer": bool,
        "fail_if_no_peer_cert": bool,
    },
    "websocket": {"enable": bool, "url": str, "tls_url": str},
    "http_server": {
        "enable": bool,
        "port": int,
        "username": str,
        "password": _STR_OR_NULL,
        "auth_type": str,
        "jwt": {"public": {"keyfile": _STR_OR_NULL}},
    },
    "bridge": {
        "bridge_mode": bool,
        "address": str,
        "proto_ver": int,
        "clientid": _STR_OR_NULL,
        "keepalive": int,
        "clean_start": bool,
        "parallel": int,
        "username": _STR_OR_NULL,
        "password": _STR_OR_NULL,
        "forwards": list,
        "subscription": list,
    },
}


class DocumentError(ValueError):
    """An invalid document; ``code`` is NanoMQ's result code (108 bad value, 109 not a JSON object)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def url_of(scheme: str, host: str, port: int, path: str = "") -> str:
    return f"{scheme}://{host}:{port}{path}"


def parse_url(value: str, schemes: tuple[str, ...], key: str) -> tuple[str, int, str]:
    """``nmq-tcp://0.0.0.0:1883`` -> (host, port, path); DocumentError(108) names the key."""
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in schemes or not parts.hostname or port is None:
        raise DocumentError(codes.REQ_PARAM_ERROR, f"{key}: expected {schemes[0]}://host:port, got {value!r}")
    return parts.hostname, port, parts.path


def to_document(key: str, value: int) -> int:
    """A ``NO_LIMIT`` key's broker value in document units: 0 and anything past the sentinel become it."""
    unit, none = NO_LIMIT[key]
    return min(none, max(1, value // unit)) if value else none


def from_document(key: str, value: int) -> int:
    """The broker value of a ``NO_LIMIT`` key's document value (the sentinel or more: 0)."""
    unit, none = NO_LIMIT[key]
    return 0 if value >= none else value * unit


def default_document(
    *,
    tcp: tuple[str, int] | None,
    ws: tuple[str, int, str] | None,
    ssl: tuple[str, int] | None,
    allow_anonymous: bool,
    msq_len: int,
    max_packet_size: int,
    client_max_packet_size: int,
    max_user_property_size: int,
    retry_interval: int,
    keepalive_backoff: float,
    http_port: int,
) -> dict:
    """The document describing a broker nobody has configured through this API yet: the broker's values
    where it has the knob, NanoMQ's defaults for the knobs it does not have."""
    tcp_host, tcp_port = tcp or ("0.0.0.0", 1883)
    ws_host, ws_port, ws_path = ws or ("0.0.0.0", 8083, "/mqtt")
    ssl_host, ssl_port = ssl or ("0.0.0.0", 8883)
    kb = max(1, max_packet_size // 1024)
    return {
        "url": url_of("nmq-tcp", tcp_host, tcp_port),
        "num_taskq_thread": 4,
        "max_taskq_thread": 4,
        "parallel": 32,
        "property_size": to_document("property_size", max_user_property_size),
        "msq_len": msq_len,
        "qos_duration": to_document("qos_duration", retry_interval),
        "allow_anonymous": allow_anonymous,
        "daemon": False,
        "max_packet_size": kb,
        "client_max_packet_size": to_document("client_max_packet_size", client_max_packet_size),
        "keepalive_backoff": keepalive_backoff,
        "tls": {
            "enable": ssl is not None,
            "url": url_of("tls+nmq-tcp", ssl_host, ssl_port),
            "key_password": None,
            "key": None,
            "cert": None,
            "cacert": None,
            "verify_peer": False,
            "fail_if_no_peer_cert": False,
        },
        "websocket": {
            "enable": ws is not None,
            "url": url_of("nmq-ws", ws_host, ws_port, ws_path),
            "tls_url": url_of("nmq-wss", ws_host, 8084, ws_path),
        },
        # The password is not known (the account store keeps hashes); null means "leave it as it is".
        "http_server": {
            "enable": True,
            "port": http_port,
            "username": "admin",
            "password": None,
            "auth_type": "basic",
            "jwt": {"public": {"keyfile": None}},
        },
        "bridge": {
            "bridge_mode": False,
            "address": "mqtt-tcp://127.0.0.1:1883",
            "proto_ver": 4,
            "clientid": "bridge_client",
            "keepalive": 60,
            "clean_start": True,
            "parallel": 2,
            "username": None,
            "password": None,
            "forwards": [],
            "subscription": [],
        },
    }


def from_sections(data: dict) -> dict:
    """Accept the sectioned shape too: ``{"basic": {...}, "tls": {...}}`` -> the flat document."""
    if "basic" not in data:
        return data
    flat = {k: v for k, v in data.items() if k != "basic"}
    basic = data["basic"]
    if not isinstance(basic, dict):
        raise DocumentError(codes.REQ_PARAM_ERROR, "basic: expected an object")
    flat.update(basic)
    return flat


def section(doc: dict, name: str) -> dict:
    if name == "basic":
        return {k: doc[k] for k in BASIC_KEYS if k in doc}
    return doc[name]


def merge(current: dict, posted: dict) -> dict:
    """A POST changes the keys it names; sections merge key by key, lists are replaced."""
    out = copy.deepcopy(current)
    for key, value in posted.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_types(doc: dict, schema: dict, where: str) -> None:
    for key, value in doc.items():
        spec = schema.get(key)
        path = f"{where}{key}"
        if spec is None:
            raise DocumentError(codes.REQ_PARAM_ERROR, f"{path}: unknown key")
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise DocumentError(codes.REQ_PARAM_ERROR, f"{path}: expected an object")
            _check_types(value, spec, path + ".")
            continue
        kinds = spec if isinstance(spec, tuple) else (spec,)
        if isinstance(value, bool) and bool not in kinds:
            raise DocumentError(codes.REQ_PARAM_ERROR, f"{path}: expected {kinds[0].__name__}")
        if not isinstance(value, kinds):
            raise DocumentError(codes.REQ_PARAM_ERROR, f"{path}: expected {kinds[0].__name__}")


def _check_range(value: int, lo: int, hi: int, key: str) -> None:
    if not lo <= value <= hi:
        raise DocumentError(codes.REQ_PARAM_ERROR, f"{key}: {value} is not in {lo}..{hi}")


def validate(doc: dict) -> None:
    """Types, ranges and URLs; the first problem raises DocumentError(108)."""
    _check_types(doc, SCHEMA, "")
    parse_url(doc["url"], ("nmq-tcp", "mqtt-tcp", "tcp"), "url")
    for key in (
        "num_taskq_thread",
        "max_taskq_thread",
        "parallel",
        "property_size",
        "msq_len",
        "qos_duration",
        "max_packet_size",
        "client_max_packet_size",
    ):
        _check_range(doc[key], 1, 2**31 - 1, key)
    if not 1.0 <= doc["keepalive_backoff"] <= 10.0:
        raise DocumentError(codes.REQ_PARAM_ERROR, "keepalive_backoff: not in 1.0..10.0")
    tls = doc["tls"]
    parse_url(tls["url"], ("tls+nmq-tcp", "nmq-tls", "tls+mqtt-tcp"), "tls.url")
    if tls["enable"]:
        for key in ("key", "cert"):
            if not tls[key] or not Path(tls[key]).is_file():
                raise DocumentError(codes.REQ_PARAM_ERROR, f"tls.{key}: a readable file is required")
    ws = doc["websocket"]
    parse_url(ws["url"], ("nmq-ws", "ws"), "websocket.url")
    parse_url(ws["tls_url"], ("nmq-wss", "wss"), "websocket.tls_url")
    http = doc["http_server"]
    _check_range(http["port"], 0, 65535, "http_server.port")
    if http["auth_type"] not in AUTH_TYPES:
        raise DocumentError(codes.REQ_PARAM_ERROR, f"http_server.auth_type: one of {AUTH_TYPES}")
    if not http["username"]:
        raise DocumentError(codes.REQ_PARAM_ERROR, "http_server.username: must not be empty")
    if http["auth_type"] == "jwt":
        keyfile = http["jwt"]["public"]["keyfile"]
        if not keyfile or not Path(keyfile).is_file():
            raise DocumentError(codes.REQ_PARAM_ERROR, "http_server.jwt.public.keyfile: a readable file is required")
    br = doc["bridge"]
    parse_url(br["address"], ("mqtt-tcp", "tcp"), "bridge.address")
    if br["proto_ver"] not in (3, 4, 5):
        raise DocumentError(codes.REQ_PARAM_ERROR, "bridge.proto_ver: one of 3, 4, 5")
    _check_range(br["keepalive"], 0, 65535, "bridge.keepalive")
    for i, f in enumerate(br["forwards"]):
        if not isinstance(f, str) or not valid_filter(f):
            raise DocumentError(codes.REQ_PARAM_ERROR, f"bridge.forwards[{i}]: not a topic filter")
    for i, s in enumerate(br["subscription"]):
        if (
            not isinstance(s, dict)
            or set(s) - {"topic", "qos"}
            or not isinstance(s.get("topic"), str)
            or not valid_filter(s["topic"])
            or s.get("qos", 0) not in (0, 1, 2)
            or isinstance(s.get("qos"), bool)
        ):
            raise DocumentError(codes.REQ_PARAM_ERROR, f"bridge.subscription[{i}]: expected {{topic, qos 0..2}}")


def load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def save(path: Path, doc: dict) -> None:
    """Write atomically: a reader (or a crash) sees the old file or the new one, never half of one.

    Owner-only (0600): the file may hold the http_server and bridge passwords, as nanomq.conf does.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(doc, indent=2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
