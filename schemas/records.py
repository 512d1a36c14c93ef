"""attrs records for everything that crosses the broker-control interface.

Field names are neutral (mostly EMQX 5's, which is the richest vocabulary); the per-dialect names live
in one crosswalk table beside the adapters, never in these classes. Every record is
``attrs.define(slots=True, kw_only=True)``, written out on each class so that type checkers see it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")


# --- configuration -----------------------------------------------------------------------------

LISTENER_TYPES = ("tcp", "ssl", "ws", "wss")
# EMQX's "infinity" for a listener's max_connections: more connections than any process can hold.
NO_CONNECTION_LIMIT = 2**31 - 1


@attrs.define(slots=True, kw_only=True)
class ListenerConfig:
    """One MQTT listener. ``id`` follows EMQX: ``<type>:<name>`` (``tcp:default``)."""

    type: str = "tcp"
    name: str = "default"
    bind: str = "127.0.0.1"
    port: int = 1883
    enable: bool = True
    max_connections: int = 1_024_000
    # ws/wss only: the HTTP path and subprotocol MQTT-over-WebSocket clients use.
    path: str = "/mqtt"
    certfile: str | None = None
    keyfile: str | None = None
    cacertfile: str | None = None

    @property
    def id(self) -> str:
        return f"{self.type}:{self.name}"


def default_listeners() -> list[ListenerConfig]:
    return [ListenerConfig(type="tcp", port=1883), ListenerConfig(type="ws", port=8083)]


@attrs.define(slots=True, kw_only=True)
class BrokerConfig:
    """The MQTT side of the configuration (EMQX's `mqtt` zone plus listeners and features).

    Defaults are EMQX 5's where EMQX has the knob, so operators find the numbers they know.
    """

    node_name: str = "emqgw@127.0.0.1"
    listeners: list[ListenerConfig] = attrs.field(factory=default_listeners)
    allow_anonymous: bool = True
    max_packet_size: int = 1024 * 1024
    max_clientid_len: int = 65535
    max_topic_levels: int = 128
    # Longest topic name or filter accepted, in UTF-8 bytes (the protocol allows 65535). Every
    # subscription and topic alias holds one per client for as long as it lasts, so this, with the
    # two counts below, is what bounds a client's memory (README, "The broker"). Generous: AWS IoT
    # Core takes 256 bytes.
    max_topic_length: int = 4096
    max_qos_allowed: int = 2
    # Topic aliases per connection, each way (EMQX: 65535, which at max_topic_length would let one
    # client hold 256 MiB of topics; mosquitto: 10, HiveMQ: 5).
    max_topic_alias: int = 64
    retain_available: bool = True
    wildcard_subscription: bool = True
    shared_subscription: bool = True
    # When set, CONNACK tells MQTT 5 clients that ask for more (or for 0) to use this keep alive.
    server_keepalive: int | None = None
    keepalive_multiplier: float = 1.5
    # Session expiry given to 3.1/3.1.1 clients with clean_session=0 (EMQX: mqtt.session_expiry_interval).
    session_expiry_interval: int = 7200
    # Subscriptions per client, 0 = infinity (EMQX's default, which bounds nothing). A subscription
    # costs from about 3 KiB (8 levels, 256 bytes) to 45 KiB (128 levels, 4 KiB) with its share of
    # the routing trie, so 1000 of them stay within 45 MiB.
    max_subscriptions: int = 1000
    max_inflight: int = 32
    max_mqueue_len: int = 1000  # 0 = no limit (EMQX's and EMQX 4's meaning)
    mqueue_store_qos0: bool = True
    max_awaiting_rel: int = 100
    await_rel_timeout: int = 300
    upgrade_qos: bool = False
    sys_interval: int = 60
    sys_heartbeat: int = 30
    acl_file: str | None = None
    acl_no_match: str = "allow"
    # Feature switches, see BrokerControl.features.
    retainer: bool = True
    presence_events: bool = True
    # TCP writes pile up in memory when a subscriber reads slowly; past this many buffered bytes the
    # channel stops writing and queues into its bounded mqueue instead (so one slow reader costs
    # bounded memory and never stalls the others).
    write_buffer_high: int = 256 * 1024
    # Seconds a connection's writes may stay backed up past write_buffer_high (its peer reads nothing,
    # and nothing more is read from it meanwhile) before it is closed; 0 = never. (EMQX:
    # tcp_options.send_timeout, 15s, with send_timeout_close.)
    send_timeout: int = 15
    # What a QoS 1/2 message queued for an offline persistent session may lose in a crash (README,
    # "Durability"): "sync" acknowledges it only once on disk; "periodic" writes every
    # durability_interval_ms, so a crash loses at most that window.
    durability: str = "periodic"
    durability_interval_ms: int = 100
    # Seconds before an unacknowledged QoS 1/2 message is sent again, with DUP, to an MQTT 3.x client
    # (EMQX: mqtt.retry_interval; NanoMQ: qos_duration). MQTT 5 forbids resending on a live connection
    # [MQTT-4.4.0-1]: v5 clients get theirs on reconnect only. 0 = never.
    retry_interval: int = 30
    # Largest user property (name + value, UTF-8 bytes) accepted in an MQTT 5 packet; a larger one
    # makes the packet too large (0x95). 0 = the protocol's own limit. (NanoMQ: property_size.)
    max_user_property_size: int = 0
    # Largest packet sent to a client that announces no Maximum Packet Size (bytes, 0 = no limit);
    # a larger message is dropped for that client as too large. (NanoMQ: client_max_packet_size.)
    client_max_packet_size: int = 0
    # Alarms (EMQX's `alarm` and `sysmon.os` settings). Deactivated alarms are kept as history, at most
    # alarm_size_limit of them and none older than alarm_validity_period seconds.
    alarm_size_limit: int = 1000
    alarm_validity_period: int = 86400
    # Seconds between checks of system memory and CPU (0 = no checks) and their watermarks in percent:
    # memory alarms above sysmem_high_watermark; CPU alarms above cpu_high_watermark and clears below
    # cpu_low_watermark.
    os_check_interval: int = 60
    sysmem_high_watermark: float = 70.0
    cpu_high_watermark: float = 80.0
    cpu_low_watermark: float = 60.0
    # A connection whose writes back up (write_buffer_high) raises conn_congestion/<clientid>/<username>;
    # it clears once writes flow again, but not before it has been active this many seconds.
    conn_congestion_alarm: bool = True
    conn_congestion_min_alarm_sustain_duration: int = 60
    # Seconds a terminated session is remembered for `GET /api/v5/sessions_count?since=` (EMQX:
    # broker.session_history_retain; 0 = not at all).
    session_history_retain: int = 0
    # The level of the gateway's log (EMQX's log.console.level, one of LOG_LEVELS); None: the level the
    # command line gave.
    log_level: str | None = None
    # Settings of the gateway's HTTP side that an API changes; kept here because this is the one
    # configuration record that is persisted (``gateway.state_store``). EMQX's prometheus.enable_basic_auth:
    # `/api/v5/prometheus/*` asks for the API's credentials.
    prometheus_basic_auth: bool = False


# EMQX 5's log levels (log.console.level) and the Python logging level each stands for, mildest
# first: a record at or above it is logged ("all": everything, "none": nothing).
LOG_LEVELS = {
    "all": 1,
    "debug": 10,
    "info": 20,
    "notice": 25,
    "warning": 30,
    "error": 40,
    "critical": 50,
    "alert": 55,
    "emergency": 60,
    "none": 100,
}


# --- node ---------------------------------------------------------------------------------------


@attrs.define(slots=True, kw_only=True)
class NodeInfo:
    node: str
    node_status: str  # "running" | "stopped"
    version: str
    sysdescr: str
    uptime: float  # seconds
    started_at: float
    datetime: float  # now, epoch seconds
    connections: int  # sessions on the node (incl. disconnected persistent ones)
    live_connections: int
    load1: float
    load5: float
    load15: float
    memory_total: int  # bytes
    memory_used: int  # bytes (resident)
    max_fds: int
    process_available: int
    process_used: int
    os_pid: int
    python_version: str


# --- clients and sessions -----------------------------------------------------------------------


@attrs.define(slots=True, kw_only=True)
class ClientInfo:
    """A client as every dialect shows it: connection, session and counters in one flat record.

    A disconnected persistent session is a ClientInfo with ``connected=False`` (EMQX 4+ merged the
    session into the client; EMQ 2.x's separate sessions list is rendered from the same record).
    """

    clientid: str
    username: str | None
    node: str
    ip_address: str | None
    port: int | None
    listener: str | None
    connected: bool
    connected_at: float | None
    disconnected_at: float | None
    created_at: float
    keepalive: int
    clean_start: bool
    expiry_interval: int  # seconds
    proto_name: str
    proto_ver: int
    is_bridge: bool = False
    mountpoint: str | None = None
    subscriptions_cnt: int = 0
    subscriptions_max: int = 0  # 0 = infinity
    inflight_cnt: int = 0
    inflight_max: int = 0
    mqueue_len: int = 0
    mqueue_max: int = 0
    mqueue_dropped: int = 0
    awaiting_rel_cnt: int = 0
    awaiting_rel_max: int = 0
    recv_oct: int = 0
    send_oct: int = 0
    recv_cnt: int = 0
    send_cnt: int = 0
    recv_pkt: int = 0
    send_pkt: int = 0
    recv_msg: int = 0
    recv_msg_qos0: int = 0
    recv_msg_qos1: int = 0
    recv_msg_qos2: int = 0
    recv_msg_dropped: int = 0
    recv_msg_dropped_await_pubrel_timeout: int = 0
    send_msg: int = 0
    send_msg_qos0: int = 0
    send_msg_qos1: int = 0
    send_msg_qos2: int = 0
    send_msg_dropped: int = 0
    send_msg_dropped_expired: int = 0
    send_msg_dropped_queue_full: int = 0
    send_msg_dropped_too_large: int = 0
    # EMQ 2.x session counters: messages handed to the connection / put in the queue.
    deliver_msg: int = 0
    enqueue_msg: int = 0
    will_topic: str | None = None
    will_msg: bytes | None = None

    @property
    def conn_state(self) -> str:
        return "connected" if self.connected else "disconnected"


# A client's connection states as the listings filter them ("idle": connected, nothing in flight).
CONN_STATES = ("connected", "idle", "disconnected")


@attrs.define(slots=True, kw_only=True)
class ClientQuery:
    """Filters of a client listing; all given filters must hold (AND), list values are OR-ed."""

    clientid: list[str] | None = None
    username: list[str] | None = None
    like_clientid: str | None = None
    like_username: str | None = None
    ip_address: str | None = None
    conn_state: str | None = None  # "connected" | "idle" | "disconnected"
    clean_start: bool | None = None
    proto_ver: int | None = None
    gte_created_at: float | None = None
    lte_created_at: float | None = None
    gte_connected_at: float | None = None
    lte_connected_at: float | None = None
    # EMQX 4.x filters that EMQX 5 dropped.
    proto_name: str | None = None
    gte_mqueue_len: int | None = None
    lte_mqueue_len: int | None = None
    gte_mqueue_dropped: int | None = None
    lte_mqueue_dropped: int | None = None
    # Only the clients of this node of a cluster (not a filter of any one dialect: the per-node paths).
    node: str | None = None
    # Not a filter: the record attributes the caller will read (None: all). A backend that fetches the
    # records from elsewhere may fetch only these and leave the others unknown (adapters.upstream asks
    # EMQX for a v2 page's 8 fields, not its 50); the embedded broker's records are whole anyway.
    fields: frozenset[str] | None = None

    @property
    def exact_only(self) -> bool:
        """EMQX reports a total only when no substring filter forces a full scan."""
        return self.like_clientid is None and self.like_username is None


@attrs.define(slots=True, kw_only=True)
class Page(Generic[T]):
    """One page of a listing. ``total`` is None when it cannot be known without a full scan."""

    items: list[T]
    total: int | None
    hasnext: bool
    cursor: str | None = None


@attrs.define(slots=True, kw_only=True)
class Subscription:
    clientid: str
    topic: str  # as subscribed, shared ones as "$share/<group>/<filter>"
    qos: int
    node: str
    share_group: str | None = None
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0
    subscription_id: int | None = None


@attrs.define(slots=True, kw_only=True)
class SubscriptionQuery:
    clientid: str | None = None
    topic: str | None = None
    qos: int | None = None
    share_group: str | None = None
    match_topic: str | None = None
    node: str | None = None  # only this node's subscriptions


@attrs.define(slots=True, kw_only=True)
class SubscribeRequest:
    topic: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@attrs.define(slots=True, kw_only=True)
class Route:
    topic: str
    node: str


@attrs.define(slots=True, kw_only=True)
class TopicTreeNode:
    """One node of NanoMQ's `/topic-tree`: a topic level, its children count, its subscribers."""

    topic: str
    cld_cnt: int
    clientid: list[str]


# --- messages -----------------------------------------------------------------------------------


# The client id each API publishes under when its caller names none. A broker that cannot publish as a
# given client (an EMQX cluster) can still publish these: they name the API, not a client.
API_PUBLISHERS = {"v2": "http", "nanomq": "NanoMQ-HTTP-Client", "emqx4": "http_api", "v5": "http_api"}


@attrs.define(slots=True, kw_only=True)
class PublishRequest:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    clientid: str = API_PUBLISHERS["v5"]
    username: str | None = None
    properties: dict[str, Any] = attrs.field(factory=dict)


@attrs.define(slots=True, kw_only=True)
class PublishResult:
    id: str  # 32 upper-case hex digits, like EMQX
    # Subscribers the message was routed to (0: nobody matched). An EMQX cluster says only whether
    # anybody matched: 1 stands for "at least one" there.
    matched: int


@attrs.define(slots=True, kw_only=True)
class RetainedMessage:
    topic: str
    qos: int
    payload: bytes
    msgid: str
    publish_at: float
    from_clientid: str
    from_username: str | None
    properties: dict[str, Any] = attrs.field(factory=dict)


# Which of a session's two message queues: the ones sent and not yet acknowledged, the ones waiting.
SESSION_QUEUES = ("inflight", "mqueue")


@attrs.define(slots=True, kw_only=True)
class SessionMessage:
    """A message a session holds for its client, in flight or queued (EMQX 5's mqueue_messages)."""

    position: str  # where it stands in its queue: page after it by passing this back
    msgid: str
    topic: str
    qos: int  # the QoS it is delivered with
    payload: bytes
    publish_at: float
    from_clientid: str
    from_username: str | None


@attrs.define(slots=True, kw_only=True)
class SessionMessagePage:
    """Messages of one queue after a position, oldest first; ``start`` is the position of the queue's
    first message (None while it is empty)."""

    items: list[SessionMessage]
    start: str | None


# --- listeners, features, bans ------------------------------------------------------------------


@attrs.define(slots=True, kw_only=True)
class ListenerInfo:
    id: str
    type: str
    name: str
    bind: str
    port: int
    enable: bool
    running: bool
    max_connections: int
    current_connections: int
    shutdown_count: int
    path: str | None = None


@attrs.define(slots=True, kw_only=True)
class Feature:
    """A broker capability that really switches on and off (EMQ 2.x shows them as plugins)."""

    name: str
    description: str
    enabled: bool
    version: str


BAN_KINDS = ("clientid", "username", "peerhost", "clientid_re", "username_re", "peerhost_net")


@attrs.define(slots=True, kw_only=True)
class BannedEntry:
    as_: str  # one of BAN_KINDS
    who: str
    by: str = "admin"
    reason: str = ""
    at: float = 0.0
    until: float | None = None  # None = never expires


# --- alarms -------------------------------------------------------------------------------------


@attrs.define(slots=True, kw_only=True)
class Alarm:
    """An alarm as EMQX keeps them: raised by name while its condition holds, then kept as history."""

    name: str  # e.g. "high_system_memory_usage", "conn_congestion/<clientid>/<username>"
    message: str
    details: dict
    node: str
    activate_at: float  # epoch seconds
    deactivate_at: float | None = None  # None while activated

    @property
    def activated(self) -> bool:
        return self.deactivate_at is None


# --- metrics ------------------------------------------------------------------------------------


@attrs.define(slots=True, kw_only=True)
class MetricsSnapshot:
    node: str
    counters: dict[str, int]


@attrs.define(slots=True, kw_only=True)
class StatsSnapshot:
    node: str
    stats: dict[str, int]


# --- MQTT authentication ------------------------------------------------------------------------

# EMQX 5's password_hash_algorithm names; the simple ones take a salt position.
HASH_ALGORITHMS = ("plain", "md5", "sha", "sha256", "sha512", "bcrypt", "pbkdf2")
SALT_POSITIONS = ("disable", "prefix", "suffix")
PBKDF2_MACS = ("md4", "md5", "ripemd160", "sha", "sha224", "sha256", "sha384", "sha512")
# What the built-in database keys its users by: EMQX 5's user_id_type, EMQX 4's two tables.
USER_ID_TYPES = ("username", "clientid")
# Authenticator backends this broker has: EMQX's built-in database, and the gateway's dashboard accounts.
AUTHN_BACKENDS = ("built_in_database", "dashboard_accounts")


@attrs.define(slots=True, kw_only=True)
class PasswordHash:
    """How passwords are hashed (EMQX 5's ``password_hash_algorithm``); fields a name does not use are ignored."""

    name: str = "sha256"
    salt_position: str = "prefix"  # plain | md5 | sha | sha256 | sha512
    salt_rounds: int = 10  # bcrypt, 5..10
    mac_fun: str = "sha256"  # pbkdf2
    iterations: int = 4096  # pbkdf2
    dk_length: int | None = None  # pbkdf2; None: the MAC's output length


@attrs.define(slots=True, kw_only=True)
class AuthenticatorConfig:
    """One authenticator of the chain; its id is EMQX's ``<mechanism>:<backend>``."""

    mechanism: str = "password_based"
    backend: str = "built_in_database"
    enable: bool = True
    # built_in_database only.
    user_id_type: str = "username"
    password_hash: PasswordHash = attrs.field(factory=PasswordHash)

    @property
    def id(self) -> str:
        return f"{self.mechanism}:{self.backend}"


# The chain's authenticators by id, as the broker keeps them and every dialect names them.
BUILT_IN_DATABASE = AuthenticatorConfig(backend="built_in_database").id
DASHBOARD_ACCOUNTS = AuthenticatorConfig(backend="dashboard_accounts").id


@attrs.define(slots=True, kw_only=True)
class AuthStatus:
    """An authenticator's or an authorization source's counters (EMQX's ``metrics``) and rates (per second)."""

    status: str  # "connected": both backends are in-process
    counts: dict[str, int]  # authn: total success failed nomatch; authz: total allow deny nomatch ignore
    rate: float = 0.0
    rate_max: float = 0.0
    rate_last5m: float = 0.0


@attrs.define(slots=True, kw_only=True)
class MqttUser:
    """A user of the built-in credential database as every dialect shows it (never its hash)."""

    user_id: str
    user_id_type: str
    is_superuser: bool = False
    created_at: float = 0.0


@attrs.define(slots=True, kw_only=True)
class MqttUserQuery:
    user_id_type: str = "username"
    user_id: str | None = None  # exact
    like_user_id: str | None = None  # case-sensitive substring
    is_superuser: bool | None = None

    @property
    def exact_only(self) -> bool:
        return self.like_user_id is None


@attrs.define(slots=True, kw_only=True)
class MqttUserImport:
    """One row of an import: a plain password, or (hashed import) a hash and salt under the authenticator's
    algorithm."""

    user_id: str
    password: str | None = None
    password_hash: str | None = None
    salt: str = ""
    is_superuser: bool = False


@attrs.define(slots=True, kw_only=True)
class ImportResult:
    total: int = 0
    success: int = 0
    override: int = 0
    skipped: int = 0
    failed: int = 0


# --- MQTT authorization -------------------------------------------------------------------------

AUTHZ_SOURCE_TYPES = ("file", "built_in_database")
# Whose rules a built-in database record holds; "all" has one record, with who "".
AUTHZ_WHO_TYPES = ("clientid", "username", "all")
AUTHZ_ACTIONS = ("publish", "subscribe", "all")


@attrs.define(slots=True, kw_only=True)
class AuthzSettings:
    """EMQX 5's ``authorization`` settings; ``no_match`` is ``BrokerConfig.acl_no_match``."""

    no_match: str = "allow"
    deny_action: str = "ignore"  # ignore | disconnect (a denied PUBLISH ends the connection)
    cache_enable: bool = True
    cache_max_size: int = 32
    cache_ttl: float = 60.0  # seconds
    cache_excludes: list[str] = attrs.field(factory=list)  # topic filters never cached


@attrs.define(slots=True, kw_only=True)
class AuthzSource:
    type: str  # AUTHZ_SOURCE_TYPES
    enable: bool = True
    rules: str | None = None  # file: the rules text in force
    max_rules: int = 100  # built_in_database: rules per record


@attrs.define(slots=True, kw_only=True)
class AuthzRule:
    """A built-in database rule (EMQX 5's shape); ``retain`` None is EMQX's ``"all"``."""

    topic: str
    permission: str  # allow | deny
    action: str  # publish | subscribe | all
    qos: list[int] = attrs.field(factory=lambda: [0, 1, 2])
    retain: bool | None = None


@attrs.define(slots=True, kw_only=True)
class AuthzRuleSet:
    """The rules of one client id, one username, or everyone (``who_type`` "all", ``who`` ""), in match order."""

    who_type: str
    who: str
    rules: list[AuthzRule] = attrs.field(factory=list)


@attrs.define(slots=True, kw_only=True)
class AuthzCacheEntry:
    action: str  # publish | subscribe
    topic: str
    qos: int
    retain: bool
    result: str  # allow | deny
    updated_at: float  # epoch seconds
