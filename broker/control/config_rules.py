"""What a broker configuration must satisfy before it is applied, whichever door it came through.

Every dialect's configuration calls (EMQ 2.3 `PUT /configs`, NanoMQ's `/configuration` and `/reload`,
EMQX 5's `/configs/...`, listeners and retainer) build a ``BrokerConfig`` and hand it to
``BrokerControl.apply_config``, which checks it here first: a bad value is refused whole, nothing is
half-applied. Ranges are EMQX 5's (emqx_schema) where EMQX has the knob, else the protocol's.
"""

from __future__ import annotations

import re

from schemas.errors import InvalidArgument
from schemas.records import LISTENER_TYPES, LOG_LEVELS, BrokerConfig, ListenerConfig

from ..persistence import DURABILITY_MODES

U16 = 65535
U32 = 0xFFFFFFFF
# EMQX caps mqtt.max_packet_size at 256MB; MQTT's own largest packet is a few bytes over that.
MAX_PACKET_SIZE = 256 * 1024 * 1024
# A listener's name, as in `tcp:<name>` (emqx_schema's listener name check).
LISTENER_NAME = re.compile(r"[0-9A-Za-z_-]+")

# field -> (lowest, highest) accepted; None: no bound on that side.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "max_packet_size": (1, MAX_PACKET_SIZE),
    # [MQTT-3.1.3-5]: a server must accept client ids of 1 to 23 characters.
    "max_clientid_len": (23, U16),
    "max_topic_levels": (1, U16),
    "max_qos_allowed": (0, 2),
    "max_topic_alias": (0, U16),
    "session_expiry_interval": (0, U32),
    "max_subscriptions": (0, None),
    "max_inflight": (1, U16),
    "max_mqueue_len": (0, None),
    # The MQTT 5 Receive Maximum the broker announces: 1 to 65535 [MQTT-3.2.2.3.3].
    "max_awaiting_rel": (1, U16),
    "await_rel_timeout": (0, None),
    "sys_interval": (0, None),
    "sys_heartbeat": (0, None),
    "write_buffer_high": (1, None),
    "durability_interval_ms": (1, 60_000),
    "retry_interval": (0, None),
    "max_user_property_size": (0, None),
    "client_max_packet_size": (0, None),
    "alarm_size_limit": (0, None),
    "alarm_validity_period": (0, None),
    "os_check_interval": (0, None),
    "sysmem_high_watermark": (0, 100),
    "cpu_high_watermark": (0, 100),
    "cpu_low_watermark": (0, 100),
    "conn_congestion_min_alarm_sustain_duration": (0, None),
    "session_history_retain": (0, None),
}
CHOICES: dict[str, tuple] = {
    "acl_no_match": ("allow", "deny"),
    "durability": DURABILITY_MODES,
    "log_level": (None, *LOG_LEVELS),
}


def _bad(field: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {why}", kind="config", field=field)


def check_config(cfg: BrokerConfig) -> None:
    """Raise InvalidArgument (kind "config", ``field`` the attribute) for the first rule ``cfg`` breaks."""
    for name, (lo, hi) in RANGES.items():
        value = getattr(cfg, name)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
            raise _bad(name, f"{value} is not in {bounds}")
    for name, allowed in CHOICES.items():
        if getattr(cfg, name) not in allowed:
            raise _bad(name, f"one of {', '.join(str(a) for a in allowed if a is not None)}")
    if cfg.cpu_low_watermark > cfg.cpu_high_watermark:
        raise _bad("cpu_low_watermark", "above cpu_high_watermark")
    if not 0 < cfg.keepalive_multiplier <= 1000:
        raise _bad("keepalive_multiplier", f"{cfg.keepalive_multiplier} is not in (0, 1000]")
    if cfg.server_keepalive is not None and not 1 <= cfg.server_keepalive <= U16:
        raise _bad("server_keepalive", f"{cfg.server_keepalive} is not in 1..{U16}")
    seen: set[str] = set()
    for lc in cfg.listeners:
        check_listener(lc)
        if lc.id in seen:
            raise _bad("listeners", f"{lc.id} is declared twice")
        seen.add(lc.id)


def check_listener(lc: ListenerConfig) -> None:
    if lc.type not in LISTENER_TYPES:
        raise _bad("listeners", f"type must be one of {', '.join(LISTENER_TYPES)}, got {lc.type!r}")
    if not LISTENER_NAME.fullmatch(lc.name):
        raise _bad("listeners", f"{lc.name!r}: a name is letters, digits, '_' and '-'")
    if not lc.bind:
        raise _bad("listeners", f"{lc.id}: the bind address is empty")
    if not 0 <= lc.port <= U16:
        raise _bad("listeners", f"{lc.id}: port {lc.port} is not in 0..{U16}")
    if lc.max_connections < 1:
        raise _bad("listeners", f"{lc.id}: max_connections must be 1 or more")
    if lc.type in ("ssl", "wss") and lc.enable and not (lc.certfile and lc.keyfile):
        raise _bad("listeners", f"{lc.id}: a {lc.type} listener needs a certfile and a keyfile")
    if lc.type in ("ws", "wss") and not lc.path.startswith("/"):
        raise _bad("listeners", f"{lc.id}: the WebSocket path must start with '/'")
