"""Configuration: one TOML file, validated into attrs records with errors that name the key.

Shape (EMQX 5's names where EMQX has the knob):

    node_name = "emqgw@127.0.0.1"
    data_dir = "./data"

    [mqtt]                      # any field of schemas.records.BrokerConfig
    max_inflight = 32

    [listeners.tcp.default]     # <type>.<name>: tcp | ssl | ws | wss
    bind = "0.0.0.0:1883"

    [http]                      # gateway.config.HttpConfig
    port = 18083

    [upstream]                  # gateway.config.UpstreamConfig: front an EMQX 5 cluster instead
    url = "https://emqx:18083/api/v5"

Every key can also come from the environment: ``EMQGW_<SECTION>__<KEY>`` (``EMQGW_MQTT__MAX_INFLIGHT=64``,
``EMQGW_HTTP__V2_PORT=off``, top-level keys as ``EMQGW_NODE_NAME``); values are read as TOML literals
when they parse as one (numbers, booleans), else as strings. The environment wins over the file, the
command line over both; and all three, for the broker keys they state (``GatewayConfig.stated``), win
over the configuration stored over an API (``gateway.precedence``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import cattrs

from broker.persistence import DURABILITY_MODES
from schemas.binds import parse_bind
from schemas.records import LISTENER_TYPES, BrokerConfig, ListenerConfig
from schemas.topics import MAX_TOPIC_BYTES

ENV_PREFIX = "EMQGW_"
V4_FLAVORS = ("nanomq", "emqx4")
# [mqtt] counts, sizes and durations whose 0 means "none" or "off"; below that they mean nothing.
NON_NEGATIVE = (
    "send_timeout",
    "max_subscriptions",
    "retry_interval",
    "max_user_property_size",
    "client_max_packet_size",
    "alarm_size_limit",
    "alarm_validity_period",
    "os_check_interval",
    "conn_congestion_min_alarm_sustain_duration",
)
PERCENTAGES = ("sysmem_high_watermark", "cpu_high_watermark", "cpu_low_watermark")


class ConfigError(ValueError):
    """A bad configuration value; the message names the key."""


@attrs.define(slots=True, kw_only=True)
class HttpConfig:
    bind: str = "127.0.0.1"
    # The main listener serves all three dialects, like EMQX's dashboard listener; None = off.
    port: int | None = 18083
    # Legacy listeners where old scripts expect them; None = off.
    v2_port: int | None = 8080  # EMQ 2.x management listener
    v4_port: int | None = 8081  # NanoMQ / EMQX 4 management listener
    # Requests with a larger body get 413.
    body_limit: int = 1024 * 1024
    # Seconds a connection has to deliver a whole request (line, headers, body) from when it opens or
    # its previous answer went out; then it is closed, idle keep-alive connections included. Apache's
    # mod_reqtimeout gives 20 s each to the headers and to the body; nginx 60 s to each.
    request_timeout: float = 20.0
    # Connections each HTTP listener holds at once (EMQX's dashboard listener: 512); one more is
    # answered 503 and closed. Lowered at start when the open-file limit could not hold that many on
    # every listener and still leave half of it to the rest of the process.
    max_connections: int = 512
    # `/api/v4` answers as NanoMQ ("nanomq") or EMQX 4.4 ("emqx4").
    v4_flavor: str = "nanomq"
    # A directory holding a built EMQ 2.3 dashboard, served at `/` of the main listener while
    # `dashboard` is on (the emq_dashboard plugin switch).
    dashboard_dir: str | None = None
    dashboard: bool = True
    # EMQX's api_key.bootstrap_file: lines `api_key:api_secret[:role]` loaded as API keys at start.
    api_key_bootstrap_file: str | None = None


@attrs.define(slots=True, kw_only=True)
class UpstreamConfig:
    """An EMQX 5 cluster the dialects front instead of the embedded broker (README, "In front of an
    EMQX 5 cluster"). Secrets are left out of the repr."""

    url: str  # EMQX's `/api/v5` base, e.g. "https://emqx.example:18083/api/v5"
    api_key: str | None = None
    api_secret: str | None = attrs.field(default=None, repr=False)
    # EMQX's api_key.bootstrap_file form (`api_key:api_secret[:role]` lines): the first key is used.
    bootstrap_file: str | None = None
    cafile: str | None = None  # CA bundle for an https upstream with a private CA
    timeout: float = 5.0  # seconds for one call, connection included
    # After this many failed calls in a row, calls are refused at once for breaker_cooldown seconds.
    breaker_threshold: int = 5
    breaker_cooldown: float = 10.0
    # Several gateways behind one load balancer: the key every one of them signs login tokens with
    # (any long random string, the same in each); unset, it is derived from the upstream's secret.
    token_secret: str | None = attrs.field(default=None, repr=False)
    # The account database every gateway reads (one file they all reach); unset: <data_dir>/emqgw.db.
    accounts_db: str | None = None


@attrs.define(slots=True, kw_only=True)
class GatewayConfig:
    data_dir: str = "./data"
    broker: BrokerConfig = attrs.field(factory=BrokerConfig)
    http: HttpConfig = attrs.field(factory=HttpConfig)
    # MQTT clients that send a username are checked against the dashboard accounts (EMQ's
    # emq_auth_username plugin); off by default, as the plugin was.
    mqtt_auth_accounts: bool = False
    # Set: no embedded broker and no MQTT listener; the dialects front this EMQX 5 cluster.
    upstream: UpstreamConfig | None = None
    # The broker keys the operator stated at start, in the file, the environment or a flag, by their
    # configuration key (``broker_key``, ``listener_key``; "listeners" when the file gives the listener
    # set). These win over the configuration stored over an API (gateway.precedence).
    stated: set[str] = attrs.field(factory=set)


def broker_key(field: str) -> str:
    """The configuration key of a ``BrokerConfig`` field: ``node_name`` is top-level, the rest ``[mqtt]``."""
    return field if field == "node_name" else f"mqtt.{field}"


def listener_key(lc: ListenerConfig, field: str) -> str:
    return f"listeners.{lc.type}.{lc.name}.{field}"


def _strict(kind: type):
    def structure(value: Any, _t: type) -> Any:
        # bool is an int subclass in Python; a config `true` must not pass as a port number.
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    return structure


_converter = cattrs.Converter(forbid_extra_keys=True)
for _kind in (int, bool, float, str):
    _converter.register_structure_hook(_kind, _strict(_kind))


def _first_error(exc: BaseException, path: str) -> tuple[str, str]:
    """Walk cattrs' exception group down to the first leaf, building the key path from its notes."""
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"{path}.{sorted(exc.extra_fields)[0]}".lstrip("."), "unknown key"
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            sub_path = path
            for note in getattr(sub, "__notes__", []):
                if "@ attribute " in note:
                    sub_path = f"{path}.{note.rsplit('@ attribute ', 1)[1].strip()}"
            return _first_error(sub, sub_path)
    return path.lstrip("."), str(exc)


def _structure(data: dict, cls: type, where: str):
    try:
        return _converter.structure(data, cls)
    except Exception as e:  # cattrs raises groups of assorted errors
        key, why = _first_error(e, where)
        raise ConfigError(f"invalid configuration at '{key}': {why}") from None


def _bind(value: str, key: str) -> tuple[str, int]:
    parsed = parse_bind(value)
    if parsed is None:
        raise ConfigError(f"invalid configuration at '{key}': expected \"host:port\" or a port, got {value!r}")
    return parsed


def _listeners(section: Any) -> list[ListenerConfig]:
    if not isinstance(section, dict):
        raise ConfigError("invalid configuration at 'listeners': expected a table")
    out = []
    for kind, named in section.items():
        if kind not in LISTENER_TYPES:
            raise ConfigError(f"invalid configuration at 'listeners.{kind}': type must be one of {LISTENER_TYPES}")
        if not isinstance(named, dict):
            raise ConfigError(f"invalid configuration at 'listeners.{kind}': expected a table")
        for name, body in named.items():
            where = f"listeners.{kind}.{name}"
            if not isinstance(body, dict):
                raise ConfigError(f"invalid configuration at '{where}': expected a table")
            body = dict(body)
            if "bind" in body:
                body["bind"], body["port"] = _bind(str(body["bind"]), f"{where}.bind")
            lc = _structure({**body, "type": kind, "name": name}, ListenerConfig, where)
            if kind in ("ssl", "wss") and lc.enable and not (lc.certfile and lc.keyfile):
                raise ConfigError(f"invalid configuration at '{where}': certfile and keyfile are required")
            out.append(lc)
    return out


def _stated_listener_keys(section: dict) -> set[str]:
    """What a validated ``[listeners]`` section states: the set of listeners, and each key given (a
    ``bind`` gives the port too)."""
    keys = {"listeners"}
    for kind, named in section.items():
        for name, body in named.items():
            lc = ListenerConfig(type=kind, name=name)
            for key in body:
                keys.add(listener_key(lc, key))
                if key == "bind":
                    keys.add(listener_key(lc, "port"))
    return keys


def _env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def env_overrides(raw: dict, environ: Mapping[str, str]) -> dict:
    """Merge ``EMQGW_<SECTION>__<KEY>`` variables over the file's values."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"invalid configuration at '{name}': {part} is not a section")
        node[parts[-1]] = _env_value(text)
    return out


def _http(section: Any) -> HttpConfig:
    if not isinstance(section, dict):
        raise ConfigError("invalid configuration at 'http': expected a table")
    body = dict(section)
    for key in ("port", "v2_port", "v4_port"):
        if body.get(key) == "off":
            body[key] = None
    cfg = _structure(body, HttpConfig, "http")
    for key in ("port", "v2_port", "v4_port"):
        value = getattr(cfg, key)
        if value is not None and not 0 <= value <= 65535:
            raise ConfigError(f"invalid configuration at 'http.{key}': port out of range: {value}")
    if not 0 < cfg.request_timeout <= 3600:
        raise ConfigError("invalid configuration at 'http.request_timeout': seconds, above 0 and at most 3600")
    if cfg.max_connections < 1:
        raise ConfigError("invalid configuration at 'http.max_connections': at least 1")
    if cfg.v4_flavor not in V4_FLAVORS:
        raise ConfigError(f"invalid configuration at 'http.v4_flavor': one of {V4_FLAVORS}")
    return cfg


def _upstream(section: Any) -> UpstreamConfig:
    if not isinstance(section, dict):
        raise ConfigError("invalid configuration at 'upstream': expected a table")
    if "url" not in section:
        raise ConfigError("invalid configuration at 'upstream.url': required (EMQX's /api/v5 base URL)")
    cfg = _structure(dict(section), UpstreamConfig, "upstream")
    url = urlsplit(cfg.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError("invalid configuration at 'upstream.url': expected http(s)://host[:port]/api/v5")
    if url.username is not None or url.password is not None:
        raise ConfigError("invalid configuration at 'upstream.url': credentials go in api_key/api_secret")
    if (cfg.api_key is None) != (cfg.api_secret is None):
        raise ConfigError("invalid configuration at 'upstream': api_key and api_secret go together")
    if (cfg.api_key is None) == (cfg.bootstrap_file is None):
        raise ConfigError("invalid configuration at 'upstream': either api_key and api_secret, or bootstrap_file")
    if cfg.timeout <= 0 or cfg.breaker_cooldown < 0:
        raise ConfigError("invalid configuration at 'upstream.timeout': must be above 0")
    if cfg.breaker_threshold < 1:
        raise ConfigError("invalid configuration at 'upstream.breaker_threshold': must be 1 or more")
    return cfg


def load(path: str | None, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read and validate a TOML file (None: defaults), then the environment's overrides."""
    raw: dict = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except OSError as e:
            raise ConfigError(f"cannot read configuration file {path}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"configuration file {path} is not valid TOML: {e}") from None
    raw = env_overrides(raw, os.environ if environ is None else environ)
    mqtt = dict(raw.pop("mqtt", {}) or {})
    http = _http(raw.pop("http", {}) or {})
    listeners = raw.pop("listeners", None)
    node_name = raw.pop("node_name", None)
    data_dir = raw.pop("data_dir", "./data")
    mqtt_auth_accounts = raw.pop("mqtt_auth_accounts", False)
    upstream = _upstream(raw.pop("upstream")) if "upstream" in raw else None
    if not isinstance(mqtt_auth_accounts, bool):
        raise ConfigError("invalid configuration at 'mqtt_auth_accounts': expected bool")
    if raw:
        raise ConfigError(f"invalid configuration at '{sorted(raw)[0]}': unknown key")
    if node_name is not None:
        mqtt["node_name"] = node_name
    stated = {broker_key(key) for key in mqtt}
    broker = _structure(mqtt, BrokerConfig, "mqtt")
    if broker.durability not in DURABILITY_MODES:
        raise ConfigError(
            f"invalid configuration at 'mqtt.durability': one of {DURABILITY_MODES}, got {broker.durability!r}"
        )
    if not 1 <= broker.max_topic_length <= MAX_TOPIC_BYTES:
        raise ConfigError(f"invalid configuration at 'mqtt.max_topic_length': between 1 and {MAX_TOPIC_BYTES}")
    if not 0 <= broker.max_topic_alias <= 65535:
        raise ConfigError("invalid configuration at 'mqtt.max_topic_alias': between 0 and 65535")
    if not 1 <= broker.durability_interval_ms <= 60_000:
        raise ConfigError("invalid configuration at 'mqtt.durability_interval_ms': between 1 and 60000")
    for key in NON_NEGATIVE:
        if getattr(broker, key) < 0:
            raise ConfigError(f"invalid configuration at 'mqtt.{key}': must be 0 or more")
    for key in PERCENTAGES:
        if not 0 <= getattr(broker, key) <= 100:
            raise ConfigError(f"invalid configuration at 'mqtt.{key}': a percentage, 0 to 100")
    if broker.cpu_low_watermark > broker.cpu_high_watermark:
        raise ConfigError("invalid configuration at 'mqtt.cpu_low_watermark': above cpu_high_watermark")
    if listeners is not None:
        broker.listeners = _listeners(listeners)
        stated |= _stated_listener_keys(listeners)
    if not isinstance(data_dir, str):
        raise ConfigError("invalid configuration at 'data_dir': expected str")
    return GatewayConfig(
        data_dir=data_dir,
        broker=broker,
        http=http,
        mqtt_auth_accounts=mqtt_auth_accounts,
        upstream=upstream,
        stated=stated,
    )


def set_node_name(cfg: GatewayConfig, name: str) -> None:
    """Apply `--node-name NAME`."""
    cfg.broker.node_name = name
    cfg.stated.add(broker_key("node_name"))


def set_listener_port(cfg: GatewayConfig, kind: str, port: str) -> None:
    """Apply a `--mqtt-port` / `--ws-port` flag: a port number (0 = ephemeral) or `off`."""
    lc = next((lc for lc in cfg.broker.listeners if lc.type == kind), None)
    if lc is None:
        lc = ListenerConfig(type=kind, port=0)
        cfg.broker.listeners.append(lc)
    cfg.stated.add(listener_key(lc, "enable"))
    if port == "off":
        lc.enable = False
        return
    if not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"invalid port for {kind} listener: {port!r} (a number 0-65535 or 'off')")
    lc.port = int(port)
    lc.enable = True
    cfg.stated.add(listener_key(lc, "port"))


def set_http_port(cfg: HttpConfig, key: str, port: str) -> None:
    """Apply `--http-port N|off` / `--v2-port N|off` / `--v4-port N|off`."""
    if port == "off":
        setattr(cfg, key, None)
        return
    if not port.isdigit() or int(port) > 65535:
        flag = "http-port" if key == "port" else key.replace("_", "-")
        raise ConfigError(f"invalid value for --{flag}: {port!r} (a number 0-65535 or 'off')")
    setattr(cfg, key, int(port))
