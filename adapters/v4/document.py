"""The NanoMQ configuration document: its shape, defaults, validation, NanoMQ 0.25's sectioned form
and the file.

NanoMQ's `GET/POST /api/v4/configuration` speak a flat document (seed 003: ``url``, ``msq_len`` ...
with ``tls``, ``websocket``, ``http_server`` and ``bridge`` sub-objects); NanoMQ 0.25 groups the
top-level keys under ``basic`` and the bridge under ``bridge.nodes`` (``to_sections``). The keys with a
broker counterpart (``BROKER_KEYS``) are views of ``BrokerConfig``, derived afresh on every read, so that
what another dialect changed is what NanoMQ shows; the others (thread counts, the HTTP server, the
bridge) have no home in the broker, so the dialect keeps them (what was POSTed, in
``<data_dir>/nanomq.json``; ``settings.py``). Sizes are in KB, as in nanomq.conf, except
``property_size`` (bytes).

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

from adapters.common import units
from schemas.topics import topic_filter_problem

from . import codes

FILE_NAME = "nanomq.json"

# The document's keys that are views of the broker's configuration; everything else is NanoMQ's own.
BROKER_KEYS: tuple[tuple[str, ...], ...] = (
    ("url",),
    ("property_size",),
    ("msq_len",),
    ("qos_duration",),
    ("allow_anonymous",),
    ("max_packet_size",),
    ("client_max_packet_size",),
    ("keepalive_backoff",),
    ("tls", "enable"),
    ("tls", "url"),
    ("tls", "key"),
    ("tls", "cert"),
    ("tls", "cacert"),
    ("websocket", "enable"),
    ("websocket", "url"),
)
# NanoMQ writes keepalive_backoff as a number of thousandths too (its docs' `/reload` example sends
# 1250 for 1.25): an integer beyond the multiplier's own range (up to 10) is read that way.
BACKOFF_RANGE = (1.0, 10.0)
BACKOFF_THOUSANDTHS = 1000

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
# The sections of NanoMQ 0.25's form this document holds (others are served by modules of their own).
SECTIONS = ("basic", "tls", "websocket", "http_server", "sqlite", "bridge")
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
    # max_mqueue_len; 0 (no limit) shows as the largest length accepted.
    "msq_len": (1, 2**31 - 1),
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
    ssl: tuple[str, int, str | None, str | None, str | None] | None,
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
    ssl_host, ssl_port, keyfile, certfile, cafile = ssl or ("0.0.0.0", 8883, None, None, None)
    return {
        "url": url_of("nmq-tcp", tcp_host, tcp_port),
        "num_taskq_thread": 4,
        "max_taskq_thread": 4,
        "parallel": 32,
        "property_size": to_document("property_size", max_user_property_size),
        "msq_len": to_document("msq_len", msq_len),
        "qos_duration": to_document("qos_duration", retry_interval),
        "allow_anonymous": allow_anonymous,
        "daemon": False,
        "max_packet_size": units.kilobytes(max_packet_size),
        "client_max_packet_size": to_document("client_max_packet_size", client_max_packet_size),
        "keepalive_backoff": keepalive_backoff,
        "tls": {
            "enable": ssl is not None,
            "url": url_of("tls+nmq-tcp", ssl_host, ssl_port),
            "key_password": None,
            "key": keyfile,
            "cert": certfile,
            "cacert": cafile,
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


def own_part(doc: dict) -> dict:
    """``doc`` less its BROKER_KEYS: what the dialect keeps of it."""
    out = copy.deepcopy(doc)
    for path in BROKER_KEYS:
        node = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return {k: v for k, v in out.items() if v != {}}


def nanomq_forms(posted: dict) -> dict:
    """NanoMQ's other ways of writing a value, as the document's: keepalive_backoff in thousandths."""
    backoff = posted.get("keepalive_backoff")
    if isinstance(backoff, int) and not isinstance(backoff, bool) and backoff > BACKOFF_RANGE[1]:
        return {**posted, "keepalive_backoff": backoff / BACKOFF_THOUSANDTHS}
    return posted


# -- NanoMQ 0.25's sectioned form ---------------------------------------------------------------


def _bridge_node(bridge: dict) -> dict:
    """The one bridge as a NanoMQ 0.25 bridge node; its topics are the same on both sides."""
    return {
        "name": bridge["clientid"] or "bridge",
        "enable": bridge["bridge_mode"],
        "parallel": bridge["parallel"],
        "connector": {
            "server": bridge["address"],
            "proto_ver": bridge["proto_ver"],
            "clientid": bridge["clientid"],
            "clean_start": bridge["clean_start"],
            "username": bridge["username"],
            "password": bridge["password"],
            "keepalive": bridge["keepalive"],
        },
        "forwards": [{"remote_topic": t, "local_topic": t} for t in bridge["forwards"]],
        "subscription": [
            {"remote_topic": s["topic"], "local_topic": s["topic"], "qos": s.get("qos", 0)}
            for s in bridge["subscription"]
        ],
    }


def _bridge_from_nodes(nodes: object) -> dict:
    """A 0.25 `bridge.nodes` list as the document's one bridge (this broker runs at most one, and
    republishes under the topic it received)."""
    if not isinstance(nodes, list) or len(nodes) > 1 or not all(isinstance(n, dict) for n in nodes):
        raise DocumentError(codes.REQ_PARAM_ERROR, "bridge.nodes: at most one bridge node here")
    if not nodes:
        return {"bridge_mode": False}
    node = nodes[0]
    conn = node.get("connector", {})
    out: dict[str, Any] = {"bridge_mode": node.get("enable", True)}
    for key, value in (("address", conn.get("server")), ("parallel", node.get("parallel"))):
        if value is not None:
            out[key] = value
    for key in ("proto_ver", "clientid", "clean_start", "username", "password", "keepalive"):
        if key in conn:
            out[key] = conn[key]
    forwards, subs = node.get("forwards", []), node.get("subscription", [])
    if not isinstance(forwards, list) or not isinstance(subs, list):
        raise DocumentError(codes.REQ_PARAM_ERROR, "bridge.nodes: forwards and subscription are lists")
    for rule in (*forwards, *subs):
        if not isinstance(rule, dict) or rule.get("remote_topic") != rule.get("local_topic", rule.get("remote_topic")):
            raise DocumentError(codes.REQ_PARAM_ERROR, "bridge.nodes: topics are bridged unchanged here")
    out["forwards"] = [f.get("remote_topic") for f in forwards]
    out["subscription"] = [{"topic": s.get("remote_topic"), "qos": s.get("qos", 0)} for s in subs]
    return out


def sqlite_section(data_dir: str) -> dict:
    """What NanoMQ's sqlite section says that holds here: the broker's state is always in SQLite, in
    the data directory (its cache sizes and resend timing have no counterpart)."""
    return {"enable": True, "mounted_file_path": data_dir}


def to_sections(doc: dict, data_dir: str) -> dict:
    """The flat document in NanoMQ 0.25's sectioned form."""
    return {name: section(doc, name, data_dir) for name in SECTIONS}


def section(doc: dict, name: str, data_dir: str) -> Any:
    if name == "basic":
        return {k: doc[k] for k in BASIC_KEYS if k in doc}
    if name == "sqlite":
        return sqlite_section(data_dir)
    if name == "bridge":
        return {"nodes": [_bridge_node(doc["bridge"])]}
    return doc[name]


def from_sections(data: dict, data_dir: str) -> dict:
    """Either form as the flat document: ``basic`` spread out, ``bridge.nodes`` as the one bridge, and
    ``sqlite`` checked against what holds here (it changes nothing)."""
    flat = {k: v for k, v in data.items() if k not in ("basic", "sqlite")}
    basic = data.get("basic", {})
    if not isinstance(basic, dict):
        raise DocumentError(codes.REQ_PARAM_ERROR, "basic: expected an object")
    flat.update(basic)
    if "sqlite" in data:
        sqlite = data["sqlite"]
        fixed = sqlite_section(data_dir)
        if not isinstance(sqlite, dict) or any(fixed.get(k, object()) != v for k, v in sqlite.items()):
            raise DocumentError(codes.REQ_PARAM_ERROR, f"sqlite: only {fixed} here")
    bridge = flat.get("bridge")
    if isinstance(bridge, dict) and "nodes" in bridge:
        flat["bridge"] = _bridge_from_nodes(bridge["nodes"])
    return flat


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
        if not isinstance(f, str) or topic_filter_problem(f) is not None:
            raise DocumentError(codes.REQ_PARAM_ERROR, f"bridge.forwards[{i}]: not a topic filter")
    for i, s in enumerate(br["subscription"]):
        if (
            not isinstance(s, dict)
            or set(s) - {"topic", "qos"}
            or not isinstance(s.get("topic"), str)
            or topic_filter_problem(s["topic"]) is not None
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
