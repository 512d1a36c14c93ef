"""The configuration roots EMQX 5 serves over HTTP, as documents of knobs over ``BrokerConfig``
(``knobs``). Field names, formats and defaults follow emqx_schema (5.8); where EMQX has a knob this
broker lacks, the field states what this broker does (a fact) and nothing else is accepted for it.
Roots EMQX has but this broker does not (dashboard, force_gc, force_shutdown ...) are left out.
"""

from __future__ import annotations

import logging

from adapters.common import units
from schemas.records import LOG_LEVELS

from .knobs import (
    Doc,
    Knob,
    boolean,
    choice,
    count_or_infinity,
    duration,
    fact,
    integer,
    number,
    percent,
    size,
)


def _server_keepalive() -> Knob:
    return Knob(
        schema={
            "anyOf": [{"type": "string", "enum": [units.DISABLED]}, {"type": "integer", "minimum": 1}],
            "description": '"disabled", or the keep alive (seconds) CONNACK tells MQTT 5 clients to use',
        },
        show=lambda cfg: units.DISABLED if cfg.server_keepalive is None else cfg.server_keepalive,
        take=lambda v: {"server_keepalive": None if v == units.DISABLED else int(v)},
    )


def _level_name(level: int) -> str:
    """The EMQX name of a Python level: the mildest EMQX level that logs no more than it does."""
    return next((name for name, n in LOG_LEVELS.items() if n >= level), "none")


def _log_level() -> Knob:
    # Until a level is set here, the command line's (--log-level) is in force: that is what is shown.
    return Knob(
        schema={"type": "string", "enum": list(LOG_LEVELS)},
        show=lambda cfg: cfg.log_level or _level_name(logging.getLogger().getEffectiveLevel()),
        take=lambda v: {"log_level": v},
        initial="warning",
    )


MQTT: Doc = {
    "idle_timeout": fact("15s", "a connection that has not sent CONNECT within 15 s is closed"),
    "max_packet_size": size("max_packet_size"),
    "max_clientid_len": integer("max_clientid_len", 23, 65535),
    "max_topic_levels": integer("max_topic_levels", 1, 65535),
    "max_topic_alias": integer("max_topic_alias", 0, 65535),
    "retain_available": boolean("retain_available"),
    "wildcard_subscription": boolean("wildcard_subscription"),
    "shared_subscription": boolean("shared_subscription"),
    "shared_subscription_strategy": fact(
        "round_robin", "each message of a shared subscription goes to the next member, connected ones first"
    ),
    "exclusive_subscription": fact(False, "there are no exclusive ($exclusive/) subscriptions"),
    "ignore_loop_deliver": fact(False, "a client gets its own messages unless it subscribes with No Local"),
    "upgrade_qos": boolean("upgrade_qos"),
    "response_information": fact("", "CONNACK carries no Response Information"),
    "server_keepalive": _server_keepalive(),
    "keepalive_multiplier": number("keepalive_multiplier"),
    "keepalive_check_interval": fact("1s", "keep alive is checked every second"),
    "retry_interval": duration("retry_interval", units.INFINITY),
    "use_username_as_clientid": fact(False, "the client id is the one the client sends"),
    "peer_cert_as_username": fact(units.DISABLED, "the username is the one the client sends"),
    "peer_cert_as_clientid": fact(units.DISABLED, "the client id is the one the client sends"),
    "session_expiry_interval": duration("session_expiry_interval"),
    "message_expiry_interval": fact(units.INFINITY, "a message expires only by its own Message Expiry Interval"),
    "max_awaiting_rel": integer("max_awaiting_rel", 1, 65535),
    "max_qos_allowed": integer("max_qos_allowed", 0, 2),
    "mqueue_priorities": fact(units.DISABLED, "queues are first in, first out"),
    "mqueue_default_priority": fact("lowest", "queues are first in, first out"),
    "mqueue_store_qos0": boolean("mqueue_store_qos0"),
    "max_mqueue_len": count_or_infinity("max_mqueue_len"),
    "max_inflight": integer("max_inflight", 1, 65535),
    "max_subscriptions": count_or_infinity("max_subscriptions"),
    "await_rel_timeout": duration("await_rel_timeout"),
}

GLOBAL_ZONE: Doc = {
    "mqtt": MQTT,
    "flapping_detect": {"enable": fact(False, "there is no flapping detection")},
    "durable_sessions": {"enable": fact(False, "sessions live in memory and in the state store")},
}

SYS_TOPICS: Doc = {
    "sys_msg_interval": duration("sys_interval", units.DISABLED),
    "sys_heartbeat_interval": duration("sys_heartbeat", units.DISABLED),
    # One switch here (presence_events) publishes both the connected and the disconnected events.
    "sys_event_messages": {
        "client_connected": boolean("presence_events"),
        "client_disconnected": boolean("presence_events"),
        "client_subscribed": fact(False, "subscribe events are not published"),
        "client_unsubscribed": fact(False, "unsubscribe events are not published"),
    },
}

ALARM: Doc = {
    "actions": fact(["publish"], "alarms are published on $SYS/brokers/<node>/alarms/..., not logged"),
    "size_limit": integer("alarm_size_limit", 1, 3000),
    "validity_period": duration("alarm_validity_period"),
}

# One interval (os_check_interval) paces both the CPU and the memory checks.
SYSMON: Doc = {
    "os": {
        "cpu_check_interval": duration("os_check_interval", units.DISABLED),
        "cpu_high_watermark": percent("cpu_high_watermark"),
        "cpu_low_watermark": percent("cpu_low_watermark"),
        "mem_check_interval": duration("os_check_interval", units.DISABLED),
        "sysmem_high_watermark": percent("sysmem_high_watermark"),
    },
}

LOG: Doc = {
    "console": {
        "enable": fact(True, "the gateway logs to standard error"),
        "level": _log_level(),
        "formatter": fact("text", "log lines are text"),
    },
}

BROKER: Doc = {
    "enable_session_registry": fact(True, "sessions are registered by client id"),
    "session_history_retain": duration("session_history_retain"),
}

RETAINER: Doc = {
    "enable": boolean("retainer"),
    "msg_expiry_interval": fact("0s", "a retained message expires only by its own Message Expiry Interval"),
    "msg_clear_interval": fact("0s", "an expired retained message is removed when it is next matched"),
    "max_payload_size": Knob(
        schema={"type": "string", "description": "retained payloads are bounded by mqtt.max_packet_size alone"},
        show=lambda cfg: units.format_size(cfg.max_packet_size),
        note="retained payloads are bounded by mqtt.max_packet_size alone",
    ),
    "stop_publish_clear_msg": fact(False, "a message that clears a retained topic is still delivered"),
    "delivery_rate": fact(units.INFINITY, "retained messages are delivered without a rate limit"),
    "backend": {
        "type": fact("built_in_database", "retained messages are kept by the broker itself"),
        "storage_type": fact("disc", "retained messages are written to the state store and survive a restart"),
        "max_retained_messages": fact(0, "there is no limit on the number of retained messages"),
        "enable": fact(True, "the built-in store is the only one"),
    },
}

COLLECTORS = ("vm_dist", "mnesia", "vm_statistics", "vm_system_info", "vm_memory", "vm_msacc")
PROMETHEUS: Doc = {
    "enable_basic_auth": boolean("prometheus_basic_auth"),
    "push_gateway": {"enable": fact(False, "metrics are scraped, never pushed")},
    "collectors": {name: fact(units.DISABLED, "there is no Erlang VM to collect from") for name in COLLECTORS},
}

# `/configs/{root}` (and `POST /configs_reset/{root}`): EMQX's six, less the dashboard's, which is not ours.
ROOTS: dict[str, Doc] = {
    "sys_topics": SYS_TOPICS,
    "alarm": ALARM,
    "sysmon": SYSMON,
    "log": LOG,
    "broker": BROKER,
}
# Every root `GET /configs?key=` knows, by EMQX's name.
ALL_ROOTS: dict[str, Doc] = {
    "mqtt": MQTT,
    **ROOTS,
    "flapping_detect": GLOBAL_ZONE["flapping_detect"],  # type: ignore[dict-item]
    "durable_sessions": GLOBAL_ZONE["durable_sessions"],  # type: ignore[dict-item]
    "retainer": RETAINER,
    "prometheus": PROMETHEUS,
}
__all__ = ["ALL_ROOTS", "GLOBAL_ZONE", "PROMETHEUS", "RETAINER", "ROOTS", "choice"]
