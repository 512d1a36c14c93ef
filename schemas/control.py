"""The one interface through which every API dialect sees and steers the broker.

Two implementations: the embedded broker (``broker.control.BrokerController``) and an EMQX 5 cluster
reached over its REST API (``adapters.upstream.control.UpstreamControl``); adapters receive an object of this
type and nothing else. Every method is async so that an implementation may do IO (persistence, a
remote cluster) without changing its callers. What can go wrong is said in ``schemas.errors``, whose
types each dialect maps to its own codes in one place; what an implementation cannot do at all is
``NotSupported``.

A cluster has several nodes. ``node`` arguments and query fields name one (None: the whole cluster);
a name that is not one of ``node_names()`` is NotFound (kind "node"). The embedded broker is a
cluster of one node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from .errors import ControlError
from .records import (
    Alarm,
    AuthenticatorConfig,
    AuthStatus,
    AuthzCacheEntry,
    AuthzRuleSet,
    AuthzSettings,
    AuthzSource,
    BannedEntry,
    BrokerConfig,
    ClientInfo,
    ClientQuery,
    Feature,
    ImportResult,
    ListenerConfig,
    ListenerInfo,
    MetricsSnapshot,
    MqttUser,
    MqttUserImport,
    MqttUserQuery,
    NodeInfo,
    Page,
    PublishRequest,
    PublishResult,
    RetainedMessage,
    Route,
    SessionMessagePage,
    StatsSnapshot,
    SubscribeRequest,
    Subscription,
    SubscriptionQuery,
    TopicTreeNode,
)

# A gateway-owned switch listed beside the broker's features: (description, read it, set it). Both are
# coroutines, so that a switch can be made of the control interface's own calls.
FeatureGetter = Callable[[], Awaitable[bool]]
FeatureSetter = Callable[[bool], Awaitable[None]]


class BrokerControl(Protocol):
    # --- nodes ---
    @property
    def node_name(self) -> str:
        """The node this gateway answers as where a dialect names one node (the first of the cluster)."""

    async def node_names(self) -> list[str]:
        """The cluster's nodes by name, ``node_name`` first; cheap enough to check a path's `{node}`."""

    async def nodes(self) -> list[NodeInfo]:
        """Every node of the cluster, in ``node_names()`` order."""

    async def node_info(self, node: str | None = None) -> NodeInfo:
        """One node (None: ``node_name``)."""

    async def metrics(self, node: str | None = None) -> MetricsSnapshot:
        """One node's counters, or the cluster's sums (None)."""

    async def stats(self, node: str | None = None) -> StatsSnapshot:
        """One node's gauges, or the cluster's sums (None)."""

    async def metrics_per_node(self) -> list[MetricsSnapshot]: ...
    async def stats_per_node(self) -> list[StatsSnapshot]: ...

    async def is_running(self) -> bool:
        """Whether the broker serves MQTT now, asked afresh (health checks); ``running`` is the last
        state known without asking."""

    # --- monitor ---
    async def monitor(self, *, node: str | None = None, latest: int | None = None) -> list[dict[str, int]]:
        """EMQX's dashboard samples (``time_stamp`` in ms and gauges/deltas), oldest first, of one node or
        the cluster; ``latest``: only the last that many seconds."""

    async def monitor_current(self, *, node: str | None = None) -> dict[str, int]:
        """Current gauges and per-second rates (with ``node_uptime`` for one node)."""

    async def clear_monitor(self) -> None: ...

    # --- clients and sessions ---
    async def list_clients(self, query: ClientQuery, *, offset: int, limit: int) -> Page[ClientInfo]:
        """Clients ordered by descending client id; O(limit) when the query has no filter."""

    async def list_clients_cursor(self, query: ClientQuery, *, cursor: str | None, limit: int) -> Page[ClientInfo]:
        """The cursor form: ``Page.cursor`` is None on the last page; a bad cursor is InvalidArgument."""

    async def get_client(self, clientid: str) -> ClientInfo:
        """A connected client or a persistent session; NotFound otherwise."""

    async def clients_by_username(self, username: str) -> list[ClientInfo]: ...
    async def kick_client(self, clientid: str, *, discard_session: bool = True) -> None:
        """Disconnect, and discard the session unless told not to; NotFound if there is neither.
        NotSupported where sessions cannot be kept on a kick (EMQX always discards them)."""

    async def set_keepalive(self, clientid: str, interval: int) -> ClientInfo: ...
    async def sessions_count(self, since: float) -> int:
        """Sessions now, plus those that ended after ``since`` (epoch seconds) within the
        ``session_history_retain`` window (EMQX's `GET /sessions_count`)."""

    async def session_messages(self, clientid: str, queue: str, *, after: str | None, limit: int) -> SessionMessagePage:
        """Up to ``limit`` messages of the client's ``queue`` (one of SESSION_QUEUES) after the position
        ``after`` (None: from the first). NotFound (kind "client"); InvalidArgument (field "position")
        for a position that is none of this queue's."""

    async def subscribing_clients(self) -> int:
        """How many sessions have at least one subscription."""

    # --- subscriptions ---
    async def list_subscriptions(self, query: SubscriptionQuery, *, offset: int, limit: int) -> Page[Subscription]: ...
    async def client_subscriptions(self, clientid: str) -> list[Subscription]: ...
    async def subscribe(self, clientid: str, requests: list[SubscribeRequest]) -> list[Subscription]:
        """Subscribe on behalf of a client that has a session, under the rules a SUBSCRIBE from the
        client itself meets (checked with the client's identity), all or nothing: the first refused
        request raises and none is applied. NotFound (kind "client"); InvalidArgument (field "qos",
        or "topic" for a bad filter or too many levels, "no_local" on a shared one); NotSupported
        (wildcard or shared subscriptions switched off); Denied (the ACL); LimitExceeded
        (max_subscriptions). The rule-based ones carry the SUBACK's ``reason_code``. The granted QoS
        may be below the one asked (max_qos_allowed)."""

    async def unsubscribe(self, clientid: str, topics: list[str]) -> None:
        """Remove the client's subscriptions to ``topics``; ones it does not have are ignored. NotFound."""

    # --- routing ---
    async def publish(self, request: PublishRequest) -> PublishResult:
        """Route a message as if ``request.clientid`` had published it; InvalidArgument for a bad topic.
        NotSupported for a publisher other than an API's own (``records.API_PUBLISHERS``) where the broker
        cannot publish as a given client."""

    async def publish_bulk(self, requests: list[PublishRequest]) -> list[PublishResult | ControlError]:
        """Each message's outcome, in order: a message refused does not stop the ones after it."""

    async def list_routes(
        self, *, topic: str | None, offset: int, limit: int, node: str | None = None
    ) -> Page[Route]: ...
    async def get_routes(self, topic: str) -> list[Route]: ...
    async def topic_tree(self) -> list[list[TopicTreeNode]]:
        """NanoMQ's topic tree: one list per level, from the real subscription tree."""

    # --- retained ---
    async def list_retained(self, *, topic: str | None, offset: int, limit: int) -> Page[RetainedMessage]: ...
    async def get_retained(self, topic: str) -> RetainedMessage: ...
    async def delete_retained(self, topic: str) -> None: ...
    async def clear_retained(self) -> None: ...

    # --- listeners ---
    async def listeners(self, node: str | None = None) -> list[ListenerInfo]:
        """The MQTT listeners with their state on one node, or summed over the cluster (None)."""

    async def local_mqtt_address(self) -> tuple[str, int]:
        """Where a client inside this process reaches the broker over MQTT/TCP (NanoMQ's bridge attaches
        there). Unavailable when no TCP listener runs; NotSupported for a broker elsewhere (a cluster)."""

    async def listener_action(self, listener_id: str, action: str) -> ListenerInfo:
        """``action`` is start | stop | restart; NotFound for an unknown id. NotSupported where an action
        would change the cluster's configuration rather than the listener's state."""

    async def add_listener(self, config: ListenerConfig) -> ListenerInfo:
        """Create a listener, serving at once when enabled, and keep it in the configuration. Conflict
        (kind "listener") for an id in use; InvalidArgument for a bad config or a port that cannot be
        bound."""

    async def update_listener(self, config: ListenerConfig) -> ListenerInfo:
        """Replace the listener ``config.id`` (its clients are disconnected) and keep the change;
        NotFound for an unknown id; InvalidArgument as for add_listener, the old listener serving on."""

    async def remove_listener(self, listener_id: str) -> None:
        """Stop a listener, disconnecting its clients, and drop it from the configuration; NotFound."""

    # --- features ---
    async def features(self) -> list[Feature]: ...
    async def set_feature(self, name: str, enabled: bool) -> Feature: ...
    def register_feature(self, name: str, description: str, get: FeatureGetter, set_: FeatureSetter) -> None:
        """A switch the gateway owns (not the broker), listed and toggled like the broker's features."""

    # --- banned ---
    async def list_banned(self, *, offset: int, limit: int) -> Page[BannedEntry]: ...
    async def add_banned(self, entry: BannedEntry) -> BannedEntry:
        """Also disconnects matching connected clients; Conflict for a duplicate (as, who)."""

    async def delete_banned(self, as_: str, who: str) -> None:
        """NotFound (kind "banned") when there is no such entry."""

    async def clear_banned(self) -> None: ...

    # --- alarms ---
    async def list_alarms(self, *, activated: bool | None = None) -> list[Alarm]:
        """Newest first: the activated alarms, the deactivated ones (history), or both (None)."""

    async def deactivate_alarm(self, name: str) -> Alarm:
        """Clears an activated alarm now (it goes to the history); NotFound when none is activated."""

    async def clear_alarm_history(self) -> None: ...

    # --- configuration and lifecycle ---
    async def get_config(self) -> BrokerConfig:
        """The configuration as recorded: fields that wait for a restart (listeners, node name) as
        they will be once it comes."""

    async def apply_config(self, config: BrokerConfig) -> list[str]:
        """Apply what can change live; return the names of fields that need a broker restart.
        InvalidArgument (kind "config", ``field`` the attribute) for a value out of range: then nothing
        is applied."""

    @property
    def running(self) -> bool: ...
    async def stop(self) -> None:
        """Close the listeners and disconnect every client; the process stays up. NotSupported where the
        broker is not ours to stop (a cluster)."""

    async def start(self) -> None: ...
    async def restart(self) -> None: ...

    # --- MQTT authentication: the authenticator chain ---
    async def authenticators(self) -> list[AuthenticatorConfig]:
        """In chain order."""

    async def get_authenticator(self, authenticator_id: str) -> AuthenticatorConfig:
        """NotFound (kind "authenticator")."""

    async def create_authenticator(self, config: AuthenticatorConfig) -> AuthenticatorConfig:
        """Appended to the chain. Conflict for an id in use; NotSupported for a mechanism, backend or hash
        this broker lacks; InvalidArgument (``field`` names the setting)."""

    async def update_authenticator(self, authenticator_id: str, config: AuthenticatorConfig) -> AuthenticatorConfig:
        """The whole configuration. NotFound; InvalidArgument (field "backend") if its type would change."""

    async def delete_authenticator(self, authenticator_id: str) -> None:
        """NotFound. The built-in database's users go with it."""

    async def move_authenticator(self, authenticator_id: str, position: str) -> None:
        """``front`` | ``rear`` | ``before:<id>`` | ``after:<id>``; NotFound (id or target), InvalidArgument."""

    async def order_authenticators(self, ids: list[str]) -> None:
        """Every id, once, in the new order; InvalidArgument (field "order") naming unknown and missing ones."""

    async def authenticator_status(self, authenticator_id: str) -> AuthStatus: ...

    # --- MQTT authentication: the built-in credential database ---
    # Every call needs the built-in database authenticator: NotFound (kind "authenticator") without it.
    async def list_mqtt_users(self, query: MqttUserQuery, *, offset: int, limit: int) -> Page[MqttUser]:
        """Ascending by id; ``total`` None with ``like_user_id``."""

    async def get_mqtt_user(self, user_id_type: str, user_id: str) -> MqttUser:
        """NotFound (kind "mqtt_user")."""

    async def add_mqtt_user(
        self, user_id_type: str, user_id: str, password: str, *, is_superuser: bool = False
    ) -> MqttUser:
        """Hashed under the built-in authenticator's algorithm. Conflict (kind "mqtt_user"); InvalidArgument
        (field "user_id" or "password") for an empty one."""

    async def update_mqtt_user(
        self, user_id_type: str, user_id: str, *, password: str | None = None, is_superuser: bool | None = None
    ) -> MqttUser:
        """None keeps what the user has. NotFound."""

    async def delete_mqtt_user(self, user_id_type: str, user_id: str) -> None:
        """NotFound."""

    async def import_mqtt_users(self, user_id_type: str, rows: list[MqttUserImport], *, hashed: bool) -> ImportResult:
        """Plain passwords, or (``hashed``) hashes and salts under the authenticator's algorithm. A user with
        the same id is replaced (``override``) unless nothing would change (``skipped``); a row without an
        id is ``failed``. Checked whole first: InvalidArgument for a row without its password (hash),
        LimitExceeded for too many rows; then nothing is stored."""

    # --- MQTT authorization: settings and sources ---
    async def authz_settings(self) -> AuthzSettings: ...
    async def set_authz_settings(self, settings: AuthzSettings) -> AuthzSettings:
        """InvalidArgument (field names the setting); the settings in force after."""

    async def authz_sources(self) -> list[AuthzSource]:
        """In check order; the file source with the rules text in force."""

    async def get_authz_source(self, source_type: str) -> AuthzSource:
        """NotFound (kind "authz_source")."""

    async def create_authz_source(self, source: AuthzSource) -> None:
        """Put first. Conflict (one per type); NotSupported (a type this broker lacks); InvalidArgument (a file
        text that does not parse: the message names the line)."""

    async def update_authz_source(self, source_type: str, source: AuthzSource) -> None:
        """NotFound; InvalidArgument ("Type mismatch", a bad rules text: the old rules stay in force)."""

    async def delete_authz_source(self, source_type: str) -> None:
        """NotFound. The built-in database keeps its rules (``purge_authz_rules`` drops them)."""

    async def move_authz_source(self, source_type: str, position: str) -> None:
        """As ``move_authenticator``."""

    async def order_authz_sources(self, types: list[str]) -> None:
        """As ``order_authenticators``."""

    async def authz_source_status(self, source_type: str) -> AuthStatus: ...

    # --- MQTT authorization: the built-in rule database ---
    # Every call needs the built_in_database source: NotFound (kind "authz_source") without it.
    async def list_authz_rules(
        self, who_type: str, *, like: str | None = None, offset: int, limit: int
    ) -> Page[AuthzRuleSet]:
        """Records of one ``who_type`` ascending by name (``total`` None with ``like``, a substring)."""

    async def get_authz_rules(self, who_type: str, who: str) -> AuthzRuleSet:
        """NotFound (kind "authz_rules")."""

    async def add_authz_rules(self, rule_sets: list[AuthzRuleSet]) -> None:
        """New records, all or none: Conflict (kind "authz_rules") if one exists; InvalidArgument (field
        "rules") for a bad rule; LimitExceeded past ``max_rules`` rules in a record."""

    async def put_authz_rules(self, rule_set: AuthzRuleSet) -> None:
        """Create or replace one record; errors as ``add_authz_rules`` but no Conflict."""

    async def delete_authz_rules(self, who_type: str, who: str) -> None:
        """NotFound (kind "authz_rules")."""

    async def purge_authz_rules(self) -> None:
        """Drop every record; InvalidArgument unless the source is disabled."""

    # --- MQTT authorization: per-connection caches ---
    async def authz_cache(self, clientid: str) -> list[AuthzCacheEntry]:
        """A connected client's cached verdicts; NotFound (kind "client") if it is not connected."""

    async def clean_authz_cache(self, clientid: str, topic: str | None = None) -> None:
        """Drop a connected client's cache, or only its entries for ``topic``. NotFound (kind "client")."""

    async def clean_all_authz_caches(self) -> None: ...
