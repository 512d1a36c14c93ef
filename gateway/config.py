"""Configuration: one TOML file, validated into attrs records with errors that name the key.

Shape (EMQX 5's names where EMQX has the knob):

    node_name = "emqgw@127.0.0.1"
    data_dir = "./data"

    [mqtt]                      # any field of schemas.records.BrokerConfig
    max_inflight = 32

    [listeners.tcp.default]     # <type>.<name>: tcp | ssl | ws | wss
    bind = "0.0.0.0:1883"
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import attrs
import cattrs

from schemas.records import LISTENER_TYPES, BrokerConfig, ListenerConfig


class ConfigError(ValueError):
    """A bad configuration value; the message names the key."""


@attrs.define(slots=True, kw_only=True)
class GatewayConfig:
    data_dir: str = "./data"
    broker: BrokerConfig = attrs.field(factory=BrokerConfig)


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


def parse_bind(value: str, key: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"invalid configuration at '{key}': expected \"host:port\", got {value!r}")
    return host or "0.0.0.0", int(port)


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
                body["bind"], body["port"] = parse_bind(str(body["bind"]), f"{where}.bind")
            lc = _structure({**body, "type": kind, "name": name}, ListenerConfig, where)
            if kind in ("ssl", "wss") and lc.enable and not (lc.certfile and lc.keyfile):
                raise ConfigError(f"invalid configuration at '{where}': certfile and keyfile are required")
            out.append(lc)
    return out


def load(path: str | None) -> GatewayConfig:
    """Read and validate a TOML file (None: all defaults)."""
    if path is None:
        return GatewayConfig()
    try:
        raw = tomllib.loads(Path(path).read_text())
    except OSError as e:
        raise ConfigError(f"cannot read configuration file {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"configuration file {path} is not valid TOML: {e}") from None
    raw = dict(raw)
    mqtt = dict(raw.pop("mqtt", {}) or {})
    listeners = raw.pop("listeners", None)
    node_name = raw.pop("node_name", None)
    data_dir = raw.pop("data_dir", "./data")
    if raw:
        raise ConfigError(f"invalid configuration at '{sorted(raw)[0]}': unknown key")
    if node_name is not None:
        mqtt["node_name"] = node_name
    broker = _structure(mqtt, BrokerConfig, "mqtt")
    if listeners is not None:
        broker.listeners = _listeners(listeners)
    if not isinstance(data_dir, str):
        raise ConfigError("invalid configuration at 'data_dir': expected str")
    return GatewayConfig(data_dir=data_dir, broker=broker)


def set_listener_port(cfg: BrokerConfig, kind: str, port: str) -> None:
    """Apply a `--mqtt-port` / `--ws-port` flag: a port number (0 = ephemeral) or `off`."""
    lc = next((lc for lc in cfg.listeners if lc.type == kind), None)
    if lc is None:
        lc = ListenerConfig(type=kind, port=0)
        cfg.listeners.append(lc)
    if port == "off":
        lc.enable = False
        return
    if not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"invalid port for {kind} listener: {port!r} (a number 0-65535 or 'off')")
    lc.port = int(port)
    lc.enable = True
