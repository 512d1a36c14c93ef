"""The operation crosswalk: each management operation and its call in each dialect (data for
`emqgw translate`, `emqgw crosswalk` and the equivalence suite; nothing here runs per request).
"""

from __future__ import annotations

from typing import Any

import attrs

from schemas.records import BUILT_IN_DATABASE

from .fields import CLIENT_FILTERS, Field

F = Field

# --------------------------------------------------------------------------------------------------
# The OPERATION crosswalk: each management operation and its call in each dialect (None: no such call).
#
# Paths are relative to the dialect prefix (`/api/v2`, `/api/v4`, `/api/v5`) and name their variables
# by the record attribute (`{clientid}`, `{node}`, `{topic}` ...), so a value read from one dialect's
# path, query or body lands in the other's by that one name. ``fixed`` are values the call always
# carries (v5 `?node=` in place of v2's per-node path, v2's `{"active": true}` in place of v4's `/load`);
# when reading a request, a call only matches if those values are present. Inputs that are not in the
# path go to the query (GET/DELETE) or the JSON body (POST/PUT). Sources: api-migration-maps.md §1, §3.1.
# --------------------------------------------------------------------------------------------------


@attrs.define(slots=True, frozen=True)
class Call:
    method: str
    path: str
    fixed: tuple[tuple[str, Any], ...] = ()
    note: str = ""  # what this dialect's answer looks like, when it differs from the others

    @property
    def inputs_in_body(self) -> bool:
        return self.method in ("POST", "PUT")


@attrs.define(slots=True, frozen=True)
class Operation:
    name: str
    summary: str
    v2: Call | None
    emqx4: Call | None
    nanomq: Call | None
    v5: Call | None
    inputs: tuple[Field, ...] = ()  # query and body parameters (path variables are named by attr)
    missing: tuple[tuple[str, str], ...] = ()  # (dialect, what to do instead) where the call is None

    def call(self, dialect: str) -> Call | None:
        return getattr(self, dialect)

    def instead(self, dialect: str) -> str:
        return dict(self.missing).get(dialect, "")


C = Call

PAGING = (
    F("page", "curr_page", "_page", None, "page", "int", "NanoMQ does not page: it answers the whole list"),
    F(
        "limit",
        "page_size",
        "_limit",
        None,
        "limit",
        "int",
        "defaults differ: v2 20, EMQX 4 10000 (max_row_limit), v5 100 (max 10000)",
    ),
)
SUBSCRIPTION_FILTERS = (
    F("clientid", None, "clientid", "clientid", "clientid"),
    F("topic", None, "topic", "topic", "topic"),
    F("qos", None, "qos", "qos", "qos", "int"),
    F("share_group", None, "share", "share", "share_group", "plain", "v4 `share` is the group name; v5 `share_group`"),
    F("match_topic", None, "_match_topic", None, "match_topic"),
)
PUBLISH_BODY = (
    F("topic", "topic", "topic", "topic", "topic"),
    F(
        "topics",
        None,
        "topics",
        "topics",
        None,
        "plain",
        "v4 `topics` (comma list) has no v5 form: send one /publish per topic, or use /publish/bulk",
    ),
    F(
        "clientid",
        "client_id",
        "clientid",
        "clientid",
        "clientid",
        "plain",
        'v2 defaults to "http"; EMQX 4 requires it; NanoMQ and v5 make it optional',
    ),
    F("payload", "payload", "payload", "payload", "payload"),
    F("encoding", None, "encoding", "encoding", "payload_encoding", "plain", "plain | base64"),
    F("qos", "qos", "qos", "qos", "qos", "int"),
    F("retain", "retain", "retain", "retain", "retain", "bool"),
    F(
        "properties",
        None,
        "properties",
        "properties",
        "properties",
        "plain",
        "v5 has no `subscription_identifier` in publish properties",
    ),
)
SUBSCRIBE_BODY = (
    F(
        "clientid",
        "client_id",
        "clientid",
        None,
        "clientid",
        "plain",
        "v5 takes the client id in the path, and answers 404 if the client is unknown (v2/v4 subscribe "
        "for any session)",
    ),
    F("topic", "topic", "topic", None, "topic"),
    F("topics", None, "topics", None, None, "plain", "v4 `topics` (comma list): v5 uses /subscribe/bulk"),
    F("qos", "qos", "qos", None, "qos", "int"),
    F("nl", None, None, None, "nl", "int", "MQTT 5 no-local, v5 only"),
    F("rap", None, None, None, "rap", "int", "MQTT 5 retain-as-published, v5 only"),
    F("rh", None, None, None, "rh", "int", "MQTT 5 retain handling, v5 only"),
)
BANNED_BODY = (
    F("who", None, "who", None, "who"),
    F("as", None, "as", None, "as", "plain", "v5 adds clientid_re, username_re, peerhost_net"),
    F("reason", None, "reason", None, "reason"),
    F("by", None, "by", None, "by"),
    F("at", None, "at", None, "at", "time", "v4 epoch seconds; v5 answers RFC 3339 (takes either)"),
    F(
        "until",
        None,
        "until",
        None,
        "until",
        "time",
        "v4 epoch seconds, default now+5 min; v5 RFC 3339 or epoch, default `infinity`",
    ),
)
STATS_QUERY = (F("aggregate", None, None, None, "aggregate", "bool", "v5 only: one summed object"),)
# The built-in database: EMQX 4's mnesia tables, EMQX 5's built-in authenticator and authorization source.
AUTHN_USERS = f"/authentication/{BUILT_IN_DATABASE}/users"
AUTHZ_RULES = "/authorization/sources/built_in_database/rules"
MQTT_USER_BODY = (
    F("user_id", None, "username", None, "user_id", "plain", "`/auth_clientid` takes `clientid` (v5: user_id_type)"),
    F("password", None, "password", None, "password"),
    F("is_superuser", None, None, None, "is_superuser", "bool", "v5 only; left out of a PUT it becomes false"),
)
USER_LIKE = F("like_user_id", None, "_like_username", None, "like_user_id", "plain", "substring; no count with it")
ACL_ROW = (
    F("clientid", None, "clientid", None, "clientid", "plain", "v5 keeps one record per client: its rules list"),
    F("topic", None, "topic", None, None, "plain", "v5: inside `rules`, as {topic, permission, action}"),
    F("action", None, "action", None, None, "plain", "pub / sub / pubsub → publish / subscribe / all, in `rules`"),
    F("access", None, "access", None, None, "plain", "→ `permission`, in `rules` (v5 adds qos [0,1,2], retain all)"),
)
ACL_PAGING = (
    PAGING[0],
    F("limit", None, "_limit", None, "limit", "int", "defaults differ: EMQX 4 50 for ACL rows, v5 100 records"),
)
APP_BODY = (
    F("name", None, "app_id", None, "name", "plain", "v5's api_key is derived from the name (Basic uses api_key)"),
    F("desc", None, "desc", None, "desc"),
    F("enable", None, "status", None, "enable", "bool"),
    F(
        "expired_at",
        None,
        "expired",
        None,
        "expired_at",
        "time",
        "v4 epoch seconds or undefined; v5 RFC 3339 or infinity",
    ),
    F("secret", None, "secret", None, None, "plain", "v5 always generates the secret"),
)
NO_V2_AUTH = ("v2", "EMQ 2.3 manages MQTT users and ACLs with its CLI and acl.conf only")
NANOMQ_AUTH_LIST = ("nanomq", "NanoMQ: POST /configuration/auth replaces the whole login list")
NO_NANOMQ_ACL = ("nanomq", "NanoMQ has no ACL API")
NO_V5_MODULES = (
    "v5",
    "EMQX 5 switches each feature on its own: presence → PUT /configs/sys_topics, "
    "acl_internal → PUT /authorization/sources/file {enable}",
)

NO_V2_CLUSTER = ("v2", "EMQ 2.x lists per node only: GET /nodes/{node}/... on each node")
NOT_NANOMQ = ("nanomq", "NanoMQ does not serve it")
NANOMQ_ONE_NODE = ("nanomq", "NanoMQ is one node and has no /nodes/{node}/... paths: use the cluster-wide call")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "nodes.list",
        "List nodes",
        C("GET", "/management/nodes", note='`uptime` is a string ("3 minutes, 32 seconds")'),
        C("GET", "/nodes", note='{code,data:[…]}; `uptime` string, `node_status` "Running"'),
        C("GET", "/nodes"),
        C(
            "GET",
            "/nodes",
            note='bare array; `uptime` integer ms, `node_status` "running", '
            "`load1/5/15` floats; `connections` = sessions, `live_connections` = connected",
        ),
    ),
    Operation(
        "nodes.get",
        "One node",
        C("GET", "/management/nodes/{node}"),
        C("GET", "/nodes/{node}"),
        None,
        C("GET", "/nodes/{node}"),
        (),
        (NANOMQ_ONE_NODE,),
    ),
    Operation(
        "nodes.monitoring",
        "Node memory, load and processes",
        C("GET", "/monitoring/nodes"),
        C("GET", "/nodes"),
        C("GET", "/nodes"),
        C("GET", "/nodes"),
    ),
    Operation(
        "brokers.list",
        "Broker version, uptime, date and time",
        C("GET", "/management/nodes"),
        C("GET", "/brokers"),
        C("GET", "/brokers"),
        C("GET", "/nodes", note="`datetime` and `sysdescr` have no v5 field (merged into /nodes)"),
    ),
    Operation(
        "stats.get",
        "Connection, session, topic and subscription gauges",
        C("GET", "/monitoring/stats", note='[{"<node>": {"clients/count": …}}], slash keys'),
        C("GET", "/stats", note='[{node, stats:{"connections.count": …}}], dot keys'),
        None,
        C("GET", "/stats", note='[{node, "connections.count": …}] flat; `routes.*` gone (use `topics.*`)'),
        STATS_QUERY,
        (NOT_NANOMQ,),
    ),
    Operation(
        "stats.node",
        "One node's gauges",
        C("GET", "/monitoring/stats/{node}"),
        C("GET", "/nodes/{node}/stats"),
        None,
        C("GET", "/nodes/{node}/stats"),
        (),
        (NOT_NANOMQ,),
    ),
    Operation(
        "metrics.get",
        "Packet, message and byte counters",
        C("GET", "/monitoring/metrics", note="slash keys: `packets/connect`"),
        C("GET", "/metrics", note="[{node, metrics:{…}}]; `client.check_acl`, `session.takeovered`"),
        C("GET", "/metrics", note="NanoMQ's own counters, no `code`"),
        C("GET", "/metrics", note="[{node, …}] flat; `client.authorize`, `session.takenover`"),
        STATS_QUERY,
    ),
    Operation(
        "metrics.node",
        "One node's counters",
        C("GET", "/monitoring/metrics/{node}"),
        C("GET", "/nodes/{node}/metrics"),
        None,
        C("GET", "/nodes/{node}/metrics"),
        (),
        (NOT_NANOMQ,),
    ),
    Operation(
        "listeners.list",
        "MQTT listeners",
        C("GET", "/monitoring/listeners", note="keyed by node; `listen`, `max_clients`, `current_clients`"),
        C("GET", "/listeners", note="[{node, listeners:[{listen_on, max_conns, current_conns …}]}]"),
        None,
        C("GET", "/listeners", note="bare array of {id, type, bind, status:{…}}, cluster-wide"),
        (),
        (NOT_NANOMQ,),
    ),
    Operation(
        "clients.list",
        "List clients, cluster-wide",
        None,
        C("GET", "/clients", note="{code,data,meta:{page,limit,count,hasnext}}"),
        C("GET", "/clients", note="{code,data}; items keyed `client_id`, `conn_state`; no meta"),
        C("GET", "/clients", note="{data, meta}; no `code`; times RFC 3339"),
        PAGING + CLIENT_FILTERS,
        (NO_V2_CLUSTER,),
    ),
    Operation(
        "clients.list_node",
        "List the clients of one node",
        C(
            "GET",
            "/nodes/{node}/clients",
            note="{code,result:{current_page,page_size,total_num,total_page,objects}}; connected only",
        ),
        C("GET", "/nodes/{node}/clients"),
        None,
        C(
            "GET",
            "/clients",
            (("node", "{node}"),),
            note="v5 has no per-node path: `?node=`; lists offline persistent sessions too",
        ),
        PAGING + CLIENT_FILTERS,
        (NANOMQ_ONE_NODE,),
    ),
    Operation(
        "clients.get",
        "One client",
        C("GET", "/clients/{clientid}", note="`client_id`, `ipaddress`, `clean_sess`; connected only"),
        C("GET", "/clients/{clientid}"),
        C("GET", "/clients/{clientid}"),
        C("GET", "/clients/{clientid}", note="one object, not a list; offline sessions too"),
    ),
    Operation(
        "clients.get_node",
        "One client on one node",
        C("GET", "/nodes/{node}/clients/{clientid}"),
        C("GET", "/nodes/{node}/clients/{clientid}"),
        None,
        C("GET", "/clients/{clientid}", note="v5 has no per-node path"),
        (),
        (NANOMQ_ONE_NODE,),
    ),
    Operation(
        "clients.kick",
        "Kick out a client",
        C("DELETE", "/clients/{clientid}", note="112 when the client is offline"),
        C("DELETE", "/clients/{clientid}"),
        C("DELETE", "/clients/{clientid}"),
        C("DELETE", "/clients/{clientid}", note="204; 404 CLIENTID_NOT_FOUND; also ends an offline session"),
    ),
    Operation(
        "clients.keepalive",
        "Set a client's keepalive",
        None,
        C("PUT", "/clients/{clientid}/keepalive"),
        None,
        C("PUT", "/clients/{clientid}/keepalive"),
        (
            F(
                "interval",
                None,
                "interval",
                None,
                "interval",
                "int",
                "v4 takes it in the query string, v5 in the JSON body",
            ),
        ),
        (("v2", "EMQ 2.x cannot change a keepalive"), NOT_NANOMQ),
    ),
    Operation(
        "clients.acl_cache_clean",
        "Clean a client's ACL cache",
        C("PUT", "/clients/{clientid}/clean_acl_cache", note="cleans one topic's entries"),
        C("DELETE", "/clients/{clientid}/acl_cache"),
        None,
        C("DELETE", "/clients/{clientid}/authorization/cache", note="204"),
        (F("topic", "topic", None, None, None, "plain", "EMQ 2.x cleans one topic; the others the whole cache"),),
        (NOT_NANOMQ,),
    ),
    Operation(
        "clients.acl_cache",
        "A client's cached ACL verdicts",
        None,
        C("GET", "/clients/{clientid}/acl_cache", note='`access` "publish" | "subscribe"'),
        None,
        C("GET", "/clients/{clientid}/authorization/cache", note="`access` {action_type, qos, retain}; bare array"),
        (),
        (("v2", "EMQ 2.x cannot list it"), NOT_NANOMQ),
    ),
    Operation(
        "acl_cache.clean_all",
        "Clean every client's ACL cache",
        None,
        C("DELETE", "/acl-cache"),
        None,
        C("DELETE", "/authorization/cache", note="204"),
        (),
        (("v2", "EMQ 2.x: PUT /clients/{clientid}/clean_acl_cache per client and topic"), NOT_NANOMQ),
    ),
    Operation(
        "sessions.list_node",
        "Sessions of one node, offline persistent ones too",
        C("GET", "/nodes/{node}/sessions"),
        C("GET", "/nodes/{node}/clients"),
        None,
        C(
            "GET",
            "/clients",
            (("node", "{node}"),),
            note="sessions were merged into clients: `connected:false` rows are offline sessions",
        ),
        PAGING,
        (NOT_NANOMQ,),
    ),
    Operation(
        "sessions.get",
        "One session",
        C("GET", "/sessions/{clientid}"),
        C("GET", "/clients/{clientid}"),
        None,
        C("GET", "/clients/{clientid}", note="session counters are client fields (`subscriptions_cnt` …)"),
        (),
        (NOT_NANOMQ,),
    ),
    Operation(
        "subscriptions.list",
        "List subscriptions, cluster-wide",
        None,
        C("GET", "/subscriptions"),
        C("GET", "/subscriptions", note="no paging"),
        C("GET", "/subscriptions", note="items gain `nl`, `rap`, `rh`, `durable`"),
        PAGING + SUBSCRIPTION_FILTERS,
        (NO_V2_CLUSTER,),
    ),
    Operation(
        "subscriptions.list_node",
        "Subscriptions on one node",
        C("GET", "/nodes/{node}/subscriptions"),
        C("GET", "/nodes/{node}/subscriptions"),
        None,
        C("GET", "/subscriptions", (("node", "{node}"),)),
        PAGING,
        (NOT_NANOMQ,),
    ),
    Operation(
        "subscriptions.of_client",
        "A client's subscriptions",
        C("GET", "/subscriptions/{clientid}"),
        C("GET", "/subscriptions/{clientid}"),
        C("GET", "/subscriptions/{clientid}"),
        C("GET", "/clients/{clientid}/subscriptions", note="bare array, no envelope"),
    ),
    Operation(
        "subscriptions.of_client_node",
        "A client's subscriptions on one node",
        C("GET", "/nodes/{node}/subscriptions/{clientid}"),
        C("GET", "/nodes/{node}/subscriptions/{clientid}"),
        None,
        C("GET", "/clients/{clientid}/subscriptions"),
        (),
        (NOT_NANOMQ,),
    ),
    Operation(
        "routes.list",
        "Route table / topics",
        C("GET", "/routes"),
        C("GET", "/routes"),
        None,
        C("GET", "/topics", note="`routes` was renamed `topics`"),
        PAGING,
        (("nanomq", "NanoMQ: GET /topic-tree (a different shape: one array per tree level)"),),
    ),
    Operation(
        "routes.topic",
        "Routes of one topic",
        C("GET", "/routes/{topic}"),
        C("GET", "/routes/{topic}"),
        None,
        C("GET", "/topics/{topic}"),
        (),
        (NOT_NANOMQ,),
    ),
    Operation(
        "publish",
        "Publish a message",
        C("POST", "/mqtt/publish", note="{code:0,result:[]}"),
        C("POST", "/mqtt/publish", note="{code:0}"),
        C("POST", "/mqtt/publish"),
        C("POST", "/publish", note="200 {id}; 202 no_matching_subscribers; no `code`"),
        PUBLISH_BODY,
    ),
    Operation(
        "publish.bulk",
        "Publish several messages",
        None,
        C("POST", "/mqtt/publish_batch"),
        C("POST", "/mqtt/publish_batch"),
        C("POST", "/publish/bulk"),
        (),
        (("v2", "EMQ 2.x: one POST /mqtt/publish per message"),),
    ),
    Operation(
        "subscribe",
        "Subscribe on behalf of a client",
        C("POST", "/mqtt/subscribe"),
        C("POST", "/mqtt/subscribe"),
        None,
        C("POST", "/clients/{clientid}/subscribe", note="200 with the subscription object"),
        SUBSCRIBE_BODY,
        (("nanomq", 'NanoMQ documents subscribe as "Unsupported now"'),),
    ),
    Operation(
        "unsubscribe",
        "Unsubscribe on behalf of a client",
        C("POST", "/mqtt/unsubscribe"),
        C("POST", "/mqtt/unsubscribe"),
        None,
        C("POST", "/clients/{clientid}/unsubscribe", note="204"),
        tuple(f for f in SUBSCRIBE_BODY if f.attr in ("clientid", "topic")),
        (("nanomq", 'NanoMQ documents unsubscribe as "Unsupported now"'),),
    ),
    Operation(
        "plugins.list",
        "Plugins (switchable features)",
        C("GET", "/nodes/{node}/plugins"),
        C("GET", "/nodes/{node}/plugins"),
        None,
        None,
        (),
        (
            NOT_NANOMQ,
            (
                "v5",
                "EMQX 5 has no plugin list for built-in features: each feature has its own "
                "API (retainer: GET /mqtt/retainer/messages)",
            ),
        ),
    ),
    Operation(
        "plugins.load",
        "Start a plugin",
        C("PUT", "/nodes/{node}/plugins/{plugin}", (("active", True),)),
        C("PUT", "/nodes/{node}/plugins/{plugin}/load"),
        None,
        None,
        (),
        (NOT_NANOMQ, ("v5", "EMQX 5: 4.x plugins became built-in features, switched by their config")),
    ),
    Operation(
        "plugins.unload",
        "Stop a plugin",
        C("PUT", "/nodes/{node}/plugins/{plugin}", (("active", False),)),
        C("PUT", "/nodes/{node}/plugins/{plugin}/unload"),
        None,
        None,
        (),
        (NOT_NANOMQ, ("v5", "EMQX 5: 4.x plugins became built-in features, switched by their config")),
    ),
    Operation(
        "banned.list",
        "List bans",
        None,
        C("GET", "/banned", note="`at`/`until` epoch seconds"),
        None,
        C("GET", "/banned", note="`at`/`until` RFC 3339"),
        PAGING,
        (("v2", "EMQ 2.x has no ban API"), NOT_NANOMQ),
    ),
    Operation(
        "banned.create",
        "Ban a client, user or address",
        None,
        C("POST", "/banned"),
        None,
        C("POST", "/banned", note="201 with the ban"),
        BANNED_BODY,
        (("v2", "EMQ 2.x has no ban API"), NOT_NANOMQ),
    ),
    Operation(
        "banned.delete",
        "Lift a ban",
        None,
        C("DELETE", "/banned/{as}/{who}"),
        None,
        C("DELETE", "/banned/{as}/{who}", note="204"),
        (),
        (("v2", "EMQ 2.x has no ban API"), NOT_NANOMQ),
    ),
    Operation(
        "alarms.list",
        "Current alarms",
        C("GET", "/nodes/{node}/alarms", note="{id, severity, title, summary, occurred_at}"),
        C("GET", "/alarms/activated", note="[{node, alarms}]; times and `duration` in µs"),
        None,
        C("GET", "/alarms", (("activated", True),), note="RFC 3339 times, `duration` in ms; paged"),
        (),
        (NOT_NANOMQ,),
    ),
    Operation(
        "alarms.history",
        "Deactivated alarms",
        None,
        C("GET", "/alarms/deactivated", note="`deactivate_at` in µs"),
        None,
        C("GET", "/alarms", (("activated", False),), note="`deactivate_at` RFC 3339; paged"),
        (),
        (("v2", "EMQ 2.x lists current alarms only"), NOT_NANOMQ),
    ),
    Operation(
        "alarms.deactivate",
        "Clear an alarm now",
        None,
        C("POST", "/alarms/deactivated"),
        None,
        C("POST", "/alarms/force_deactivate", note="204"),
        (
            F("name", None, "name", None, "name"),
            F("node", None, "node", None, None, "plain", "v5 acts on the node that serves the call"),
        ),
        (("v2", "EMQ 2.x alarms clear with their condition"), NOT_NANOMQ),
    ),
    Operation(
        "alarms.clear_history",
        "Delete the deactivated alarms",
        None,
        C("DELETE", "/alarms/deactivated"),
        None,
        C("DELETE", "/alarms", note="204"),
        (),
        (("v2", "EMQ 2.x keeps no alarm history"), NOT_NANOMQ),
    ),
    Operation(
        "users.list",
        "Dashboard users",
        C("GET", "/users"),
        C("GET", "/users"),
        None,
        C("GET", "/users", note="`tags` became `description` (+ `role`, `backend`); Bearer token only"),
        (),
        (("nanomq", "NanoMQ has one user, in its config"),),
    ),
    Operation(
        "users.create",
        "Add a dashboard user",
        C("POST", "/users"),
        C("POST", "/users"),
        None,
        C("POST", "/users", note="Bearer token only"),
        (
            F("username", "username", "username", None, "username"),
            F("password", "password", "password", None, "password"),
            F("description", "tags", "tags", None, "description"),
        ),
        (("nanomq", "NanoMQ has one user, in its config"),),
    ),
    Operation(
        "users.delete",
        "Delete a dashboard user",
        C("DELETE", "/users/{username}"),
        C("DELETE", "/users/{username}"),
        None,
        C("DELETE", "/users/{username}", note="204; Bearer token only"),
        (),
        (("nanomq", "NanoMQ has one user, in its config"),),
    ),
    Operation(
        "users.change_pwd",
        "Change a dashboard user's password",
        C("PUT", "/change_pwd/{username}"),
        C("PUT", "/change_pwd/{username}"),
        None,
        C("POST", "/users/{username}/change_pwd", note="204; Bearer token only"),
        (F("old_pwd", "old_pwd", "old_pwd", None, "old_pwd"), F("new_pwd", "new_pwd", "new_pwd", None, "new_pwd")),
        (("nanomq", "NanoMQ has one user, in its config"),),
    ),
    Operation(
        "users.login",
        "Check a dashboard login",
        C("POST", "/auth"),
        C("POST", "/auth"),
        None,
        C("POST", "/login", note="answers {token, version, license, role}; use the token as Bearer"),
        (
            F("username", "username", "username", None, "username"),
            F("password", "password", "password", None, "password"),
        ),
        (("nanomq", "NanoMQ: Basic auth or JWT on each request"),),
    ),
    Operation(
        "mqtt_users.list",
        "MQTT users by username (built-in database)",
        None,
        C("GET", "/auth_username", note="{username, created_at}; count -1 with a filter"),
        C("GET", "/configuration/auth", note='{"auth": [{login, password}]}; passwords null here'),
        C("GET", AUTHN_USERS, note="{user_id, is_superuser}; ascending; no count with like_user_id"),
        (*PAGING, USER_LIKE),
        (NO_V2_AUTH,),
    ),
    Operation(
        "mqtt_users.list_clientid",
        "MQTT users by client id (built-in database)",
        None,
        C("GET", "/auth_clientid"),
        None,
        C("GET", AUTHN_USERS, note="one authenticator, one user_id_type: clientid here (PUT /authentication/{id})"),
        (*PAGING, F("like_user_id", None, "_like_clientid", None, "like_user_id")),
        (NO_V2_AUTH, ("nanomq", "NanoMQ's logins are usernames")),
    ),
    Operation(
        "mqtt_users.create",
        "Add an MQTT user",
        None,
        C("POST", "/auth_username", note='duplicate: HTTP 200 {"message":"existed"}; an array adds several'),
        None,
        C("POST", AUTHN_USERS, note="201; duplicate 409 ALREADY_EXISTS; several: POST …/import_users?type=plain"),
        MQTT_USER_BODY,
        (NO_V2_AUTH, NANOMQ_AUTH_LIST),
    ),
    Operation(
        "mqtt_users.get",
        "One MQTT user",
        None,
        C("GET", "/auth_username/{user_id}", note="unknown: data {}"),
        None,
        C("GET", AUTHN_USERS + "/{user_id}", note="unknown: 404"),
        (),
        (NO_V2_AUTH, ("nanomq", "NanoMQ: GET /configuration/auth lists them all")),
    ),
    Operation(
        "mqtt_users.update",
        "Change an MQTT user's password",
        None,
        C("PUT", "/auth_username/{user_id}", note='unknown: {"message":"noexisted"}'),
        None,
        C("PUT", AUTHN_USERS + "/{user_id}", note="send is_superuser too: left out it becomes false; unknown 404"),
        MQTT_USER_BODY[1:],
        (NO_V2_AUTH, NANOMQ_AUTH_LIST),
    ),
    Operation(
        "mqtt_users.delete",
        "Delete an MQTT user",
        None,
        C("DELETE", "/auth_username/{user_id}", note="{code:0} even if absent"),
        None,
        C("DELETE", AUTHN_USERS + "/{user_id}", note="204; 404 if absent"),
        (),
        (NO_V2_AUTH, NANOMQ_AUTH_LIST),
    ),
    Operation(
        "acl.list_clientid",
        "ACL rules by client id (built-in database)",
        None,
        C("GET", "/acl/clientid", note="flat rows {clientid, topic, action, access}; meta has no hasnext"),
        None,
        C("GET", AUTHZ_RULES + "/clients", note="records {clientid, rules:[…]}"),
        (*ACL_PAGING, F("like_clientid", None, "_like_clientid", None, "like_clientid")),
        (NO_V2_AUTH, NO_NANOMQ_ACL),
    ),
    Operation(
        "acl.list_username",
        "ACL rules by username (built-in database)",
        None,
        C("GET", "/acl/username"),
        None,
        C("GET", AUTHZ_RULES + "/users", note="records {username, rules:[…]}"),
        (*ACL_PAGING, F("like_username", None, "_like_username", None, "like_username")),
        (NO_V2_AUTH, NO_NANOMQ_ACL),
    ),
    Operation(
        "acl.list_all",
        "ACL rules for all clients",
        None,
        C("GET", "/acl/$all", note='rows carry "all": "$all"'),
        None,
        C("GET", AUTHZ_RULES + "/all", note="{rules:[…]}"),
        ACL_PAGING,
        (NO_V2_AUTH, NO_NANOMQ_ACL),
    ),
    Operation(
        "acl.of_client",
        "A client id's ACL rules",
        None,
        C("GET", "/acl/clientid/{clientid}", note="rows, newest (first matched) first; [] if none"),
        None,
        C("GET", AUTHZ_RULES + "/clients/{clientid}", note="{clientid, rules}; 404 if none"),
        (),
        (NO_V2_AUTH, NO_NANOMQ_ACL),
    ),
    Operation(
        "acl.of_user",
        "A username's ACL rules",
        None,
        C("GET", "/acl/username/{username}"),
        None,
        C("GET", AUTHZ_RULES + "/users/{username}"),
        (),
        (NO_V2_AUTH, NO_NANOMQ_ACL),
    ),
    Operation(
        "acl.create",
        "Add an ACL rule for a client id",
        None,
        C("POST", "/acl", note="one row, upserted per (who, topic, action); username / neither ($all) also here"),
        None,
        C(
            "PUT",
            AUTHZ_RULES + "/clients/{clientid}",
            note="body {clientid, rules:[…]} replaces the client's whole list: GET it first and add the rule",
        ),
        ACL_ROW,
        (NO_V2_AUTH, NO_NANOMQ_ACL),
    ),
    Operation(
        "acl.delete_topic",
        "Delete a client id's ACL rules for one topic",
        None,
        C("DELETE", "/acl/clientid/{clientid}/topic/{topic}", note="every action; {code:0} even if absent"),
        None,
        None,
        (),
        (
            NO_V2_AUTH,
            NO_NANOMQ_ACL,
            ("v5", f"EMQX 5: GET {AUTHZ_RULES}/clients/{{clientid}}, PUT it back without that topic's rules"),
        ),
    ),
    Operation(
        "authz.no_match",
        "What happens when no ACL rule matches",
        C("PUT", "/configs/emqttd", (("key", "acl_no_match"),)),
        None,
        None,
        C("PUT", "/authorization/settings", note="send deny_action and cache too: left out they become defaults"),
        (F("no_match", "value", None, None, "no_match", "plain", "allow | deny"),),
        (("emqx4", "EMQX 4: acl_nomatch in emqx.conf (no API)"), ("nanomq", "NanoMQ has no ACL API")),
    ),
    Operation(
        "apps.list",
        "API credentials (apps / API keys)",
        None,
        C("GET", "/apps", note="{app_id, name, desc, status, expired}"),
        None,
        C("GET", "/api_key", note="{name, api_key, enable, expired_at, …}; Bearer token only"),
        (),
        (("v2", "EMQ 2.x: dashboard users only"), ("nanomq", "NanoMQ: one http_server username/password")),
    ),
    Operation(
        "apps.create",
        "Create API credentials",
        None,
        C("POST", "/apps", note="answers {secret}"),
        None,
        C("POST", "/api_key", note="answers the key with api_key and api_secret (shown once)"),
        APP_BODY,
        (("v2", "EMQ 2.x: dashboard users only"), ("nanomq", "NanoMQ: POST /configuration/http_server")),
    ),
    Operation(
        "apps.get",
        "One set of API credentials",
        None,
        C("GET", "/apps/{name}"),
        None,
        C("GET", "/api_key/{name}"),
        (),
        (("v2", "EMQ 2.x: dashboard users only"), NOT_NANOMQ),
    ),
    Operation(
        "apps.update",
        "Update API credentials",
        None,
        C("PUT", "/apps/{name}", note="writes all four fields: left out they become undefined"),
        None,
        C("PUT", "/api_key/{name}"),
        APP_BODY[1:4],
        (("v2", "EMQ 2.x: dashboard users only"), NOT_NANOMQ),
    ),
    Operation(
        "apps.delete",
        "Delete API credentials",
        None,
        C("DELETE", "/apps/{name}", note="{code:0} even if absent"),
        None,
        C("DELETE", "/api_key/{name}", note="204; 404 if absent"),
        (),
        (("v2", "EMQ 2.x: dashboard users only"), NOT_NANOMQ),
    ),
    Operation(
        "modules.list",
        "EMQX 4 modules",
        None,
        C("GET", "/modules"),
        None,
        None,
        (),
        (("v2", "EMQ 2.x: GET /nodes/{node}/plugins (emq_modules)"), NOT_NANOMQ, NO_V5_MODULES),
    ),
    Operation(
        "modules.load",
        "Load an EMQX 4 module",
        None,
        C("PUT", "/modules/{module}/load"),
        None,
        None,
        (),
        (("v2", "EMQ 2.x: PUT /nodes/{node}/plugins/emq_modules"), NOT_NANOMQ, NO_V5_MODULES),
    ),
    Operation(
        "modules.unload",
        "Unload an EMQX 4 module",
        None,
        C("PUT", "/modules/{module}/unload"),
        None,
        None,
        (),
        (("v2", "EMQ 2.x: PUT /nodes/{node}/plugins/emq_modules"), NOT_NANOMQ, NO_V5_MODULES),
    ),
    Operation(
        "retainer.list",
        "Retained messages",
        None,
        None,
        None,
        C("GET", "/mqtt/retainer/messages"),
        PAGING,
        (
            ("v2", "EMQ 2.x only counts them (stats `retained/count`)"),
            ("emqx4", "EMQX 4.4 has no retainer API (stats `retained.count`)"),
            NOT_NANOMQ,
        ),
    ),
    Operation(
        "topic_tree",
        "NanoMQ topic tree",
        None,
        None,
        C("GET", "/topic-tree"),
        None,
        (),
        (("v2", "nearest: GET /routes"), ("emqx4", "nearest: GET /routes"), ("v5", "nearest: GET /topics")),
    ),
    Operation(
        "config.read",
        "Broker configuration",
        C("GET", "/configs", note="[{key, value, datatpye, app}] keyed by node; values in the setting's unit"),
        None,
        C("GET", "/configuration", note="flat document, sizes in KB; ?layout=sections for NanoMQ 0.25's"),
        C("GET", "/configs/global_zone", note="{mqtt:{…}}; also /configs/{sys_topics,alarm,sysmon,log,broker}"),
        (),
        (("emqx4", "EMQX 4.4 has no configuration API"),),
    ),
    Operation(
        "config.write",
        "Change the broker configuration",
        C("PUT", "/configs/emqttd", note='one {key, value} per call; value a string ("64KB", "1m" or a number)'),
        None,
        C("POST", "/configuration", note="{data:{…}}: the keys it names; listener urls wait for ctrl/restart"),
        C("PUT", "/configs/global_zone", note="{mqtt:{…}}: a sub-object sent is replaced whole, left-out fields reset"),
        (),
        (("emqx4", "EMQX 4.4 has no configuration API"),),
    ),
    Operation(
        "listeners.create",
        "Create an MQTT listener",
        None,
        None,
        None,
        C("POST", "/listeners", note="{type, name, bind}: serves at once, kept in the configuration"),
        (),
        (
            ("v2", "edit the configuration file and restart"),
            ("emqx4", "edit emqx.conf and restart"),
            ("nanomq", "POST /configuration with `url`, then POST /ctrl/restart (one listener per type)"),
        ),
    ),
    Operation(
        "ctrl",
        "Stop or restart the broker",
        None,
        None,
        C("POST", "/ctrl/{action}"),
        None,
        (),
        (
            ("v2", "no API (CLI only)"),
            ("emqx4", "no API (CLI only)"),
            ("v5", "no API (CLI only); listeners: POST /listeners/{id}/restart"),
        ),
    ),
)

OPERATION_DIALECTS = ("v2", "emqx4", "nanomq", "v5")
# The URL prefix each dialect column is served under (both v4 flavours share `/api/v4`).
PREFIXES = {"v2": "/api/v2", "emqx4": "/api/v4", "nanomq": "/api/v4", "v5": "/api/v5"}


def operation(name: str) -> Operation:
    for op in OPERATIONS:
        if op.name == name:
            return op
    raise KeyError(name)
