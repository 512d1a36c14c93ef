"""The operation crosswalk: each management operation and its call in each dialect (data for
`emqgw translate`, `emqgw crosswalk` and the equivalence suite; nothing here runs per request).
"""

from __future__ import annotations

from typing import Any

import attrs

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
        C("PUT", "/clients/{clientid}/clean_acl_cache"),
        None,
        None,
        None,
        (),
        (
            ("emqx4", "EMQX 4: DELETE /clients/{clientid}/acl_cache (not served by this gateway)"),
            NOT_NANOMQ,
            ("v5", "EMQX 5: DELETE /clients/{clientid}/authorization/cache (not served by this gateway)"),
        ),
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
