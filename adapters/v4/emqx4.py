"""`/api/v4` as EMQX 4.4 answers it (legacy-v2-v4-api.md §4; emqx/emqx apps/emqx_management @ v4.4.19).

minirest envelope: ``{"code":0,"data":..[,"meta":..]}``; business errors are HTTP 200 with
``{"code":N,"message":..}`` (some, like the dashboard's, only ``{"message":..}``); 401 is the text
``UNAUTHORIZED``, an unknown route or node 404 ``Not found.``, a body that is not JSON 400 ``Bad Request``.
Credentials: HTTP Basic against the account store (EMQX 4's AppID/AppSecret and dashboard users are one
store here). The dashboard's own calls (`/auth`, `/users`, `/change_pwd`) are in ``emqx4_dashboard.py``, the
alarm calls in ``emqx4_alarms.py``.
"""
from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from adapters.common.fields import METRICS_EMQX4_RENAMES
from adapters.common.paging import parse_page
from adapters.common.timefmt import legacy_datetime, memory_string, uptime_emq
from gateway.http import dialect as d
from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Param
from schemas.errors import Conflict, InvalidArgument, NotFound, Unavailable
from schemas.records import BannedEntry, ClientQuery, SubscribeRequest, SubscriptionQuery

from . import codes, emqx4_alarms, emqx4_dashboard, publish
from .auth import AuthFailed, check_basic
from .lookups import subscriptions_of
from .minirest import Fail
from .render import emqx4_client, emqx4_subscription

# management.max_row_limit: the default and the ceiling of `_limit`.
MAX_ROW_LIMIT = 10000
ALL = 1 << 30
OTP_RELEASE = "24/12.3"  # EMQX 4.4's OTP line; we report it because dashboards parse the field
REALM = 'Basic Realm="minirest-server"'
BAN_DEFAULT_SECONDS = 300  # emqx_banned: `until` defaults to now + 5 minutes
# Stats EMQX 4.4 lists that the broker names otherwise or does not have.
STATS_ALIASES = {"routes.count": "topics.count", "routes.max": "topics.max"}
STATS_NOT_IN_EMQX4 = ("cluster_sessions.", "delayed.")

BOOL = {"true": True, "false": False}
CLIENT_PARAMS = (
    Param(name="_page", type="integer", default=1), Param(name="_limit", type="integer", default=MAX_ROW_LIMIT),
    Param(name="clientid"), Param(name="username"), Param(name="ip_address"),
    Param(name="conn_state", enum=("connected", "idle", "disconnected")), Param(name="clean_start", type="boolean"),
    Param(name="proto_name"), Param(name="proto_ver", type="integer"), Param(name="_like_clientid"),
    Param(name="_like_username"), Param(name="_gte_created_at", type="integer"),
    Param(name="_lte_created_at", type="integer"), Param(name="_gte_connected_at", type="integer"),
    Param(name="_lte_connected_at", type="integer"), Param(name="_gte_mqueue_len", type="integer"),
    Param(name="_lte_mqueue_len", type="integer"), Param(name="_gte_mqueue_dropped", type="integer"),
    Param(name="_lte_mqueue_dropped", type="integer"))
SUB_PARAMS = (Param(name="_page", type="integer"), Param(name="_limit", type="integer"), Param(name="clientid"),
              Param(name="topic"), Param(name="qos", type="integer", enum=(0, 1, 2)), Param(name="share"),
              Param(name="_match_topic"))
# Client filters the broker's query has no field for: applied here, after the query.
POST_FILTERS = ("proto_name", "_gte_mqueue_len", "_lte_mqueue_len", "_gte_mqueue_dropped", "_lte_mqueue_dropped")


def _int(value: str, key: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Fail(codes.REQ_PARAM_ERROR, f"Can't convert {value} to integer type ({key})") from None


class Emqx4Dialect(Dialect):
    name = "v4"
    prefix = "/api/v4"
    enforce_json_content_type = False  # minirest decodes any body as JSON
    auth_failure_delay = emqx4_dashboard.AUTH_FAILURE_DELAY

    partner: Dialect | None = None  # the other flavor, whose own routes this one serves too

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._routes()

    async def start(self) -> None:
        if self.partner is not None:
            await self.partner.start()

    async def stop(self) -> None:
        if self.partner is not None:
            await self.partner.stop()

    # ------------------------------------------------------------------ table

    def _add(self, method, path, handler, name, descr, **meta):
        async def run(request, _handler=handler):
            try:
                return await _handler(request)
            except Fail as e:
                body = {"message": e.message} if e.code is None else {"code": e.code, "message": e.message}
                return self.json(body)
        self.table.add(method, path, run, name=name, summary=descr, tags=("emqx4",), **meta)

    def _node_pair(self, method, path, handler, name, descr, **meta):
        """EMQX 4 serves most listings cluster-wide and per node (`/nodes/{node}/...`)."""
        self._add(method, path, handler, name, descr, **meta)
        self._add(method, "/nodes/{node}" + path, handler, name + "_on_node", descr + " (on one node)", **meta)

    def _cluster_and_node(self, path, node_path, produce, key, cluster_meta, node_meta) -> None:
        """EMQX 4's pair of a cluster view (`[{"node": .., key: X}]`, or `[X]` when X names its node) and a
        node view (`X`) of one GET."""
        async def cluster(request):
            value = await produce()
            return self.ok([value if key is None else {"node": self.ctx.node_name, key: value}])

        async def one_node(request):
            self._check_node(request)
            return self.ok(await produce())

        self._add("GET", path, cluster, *cluster_meta)
        self._add("GET", node_path, one_node, *node_meta)

    def _routes(self) -> None:
        a, n = self._add, self._node_pair
        a("GET", "", self.endpoints, "list_endpoints", "A list of endpoints")
        a("GET", "/", self.endpoints, "list_endpoints_slash", "A list of endpoints", hidden=True)
        c = self._cluster_and_node
        c("/brokers", "/brokers/{node}", self._broker_row, None, ("list_brokers", "A list of brokers in the cluster"),
          ("lookup_broker", "Lookup a broker in the cluster"))
        c("/nodes", "/nodes/{node}", self._node_row, None, ("list_nodes", "A list of nodes in the cluster"),
          ("lookup_node", "Lookup a node in the cluster"))
        n("GET", "/clients", self.clients, "list_clients", "A list of clients on current node",
          params=CLIENT_PARAMS)
        n("GET", "/clients/{clientid}", self.client, "lookup_client", "Lookup a client in the cluster")
        n("GET", "/clients/username/{username}", self.clients_by_username, "lookup_client_via_username",
          "Lookup a client via username in the cluster")
        a("DELETE", "/clients/{clientid}", self.kick, "kickout_client", "Kick out the client in the cluster")
        a("PUT", "/clients/{clientid}/keepalive", self.keepalive, "set_keepalive", "Set the client's keepalive",
          body={"type": "object", "properties": {"interval": {"type": "integer"}}, "required": ["interval"]})
        n("GET", "/subscriptions", self.subscriptions, "list_subscriptions", "A list of subscriptions in the cluster",
          params=SUB_PARAMS)
        n("GET", "/subscriptions/{clientid}", self.client_subscriptions, "lookup_client_subscriptions",
          "A list of subscriptions of a client")
        a("GET", "/routes", self.routes, "list_routes", "List routes",
          params=(Param(name="_page", type="integer"), Param(name="_limit", type="integer")))
        a("GET", "/routes/{topic}", self.route, "lookup_routes", "Lookup routes to a topic")
        a("POST", "/mqtt/publish", self.mqtt_publish, "mqtt_publish", "Publish a MQTT message")
        a("POST", "/mqtt/publish_batch", self.mqtt_publish_batch, "mqtt_publish_batch", "Batch publish MQTT messages")
        a("POST", "/mqtt/subscribe", self.mqtt_subscribe, "mqtt_subscribe", "Subscribe a topic")
        a("POST", "/mqtt/subscribe_batch", self.mqtt_subscribe_batch, "mqtt_subscribe_batch", "Batch subscribes topics")
        a("POST", "/mqtt/unsubscribe", self.mqtt_unsubscribe, "mqtt_unsubscribe", "Unsubscribe a topic")
        a("POST", "/mqtt/unsubscribe_batch", self.mqtt_unsubscribe_batch, "mqtt_unsubscribe_batch",
          "Batch unsubscribes topics")
        c("/stats", "/nodes/{node}/stats", self._stats, "stats",
          ("list_stats", "A list of stats of all nodes in the cluster"),
          ("lookup_node_stats", "A list of stats of a node"))
        c("/metrics", "/nodes/{node}/metrics", self._metrics, "metrics",
          ("list_all_metrics", "A list of metrics of all nodes in the cluster"),
          ("list_node_metrics", "A list of metrics of a node"))
        c("/listeners", "/nodes/{node}/listeners", self._listeners, "listeners",
          ("list_listeners", "List listeners in the cluster"), ("list_node_listeners", "List listeners in a node"))
        for prefix in ("", "/nodes/{node}"):
            a("PUT", prefix + "/listeners/{identifier}/restart", self.listener_restart,
              "restart_listener" + ("_on_node" if prefix else ""), "Restart a listener")
        c("/plugins", "/nodes/{node}/plugins", self._plugins, "plugins",
          ("list_all_plugins", "List all plugins in the cluster"), ("list_node_plugins", "List all plugins on a node"))
        a("PUT", "/nodes/{node}/plugins/{plugin}/{action}", self.plugin_action, "plugin_action_on_node",
          "Load, unload or reload a plugin on a node",
          params=(Param(name="action", where="path", enum=("load", "unload", "reload")),))
        a("PUT", "/plugins/{plugin}/{action}", self.plugin_action, "plugin_action",
          "Unload or reload a plugin in the cluster",
          params=(Param(name="action", where="path", enum=("unload", "reload")),))
        a("GET", "/banned", self.banned, "list_banned", "List banned",
          params=(Param(name="_page", type="integer"), Param(name="_limit", type="integer")))
        a("POST", "/banned", self.add_banned, "create_banned", "Create banned")
        a("DELETE", "/banned/{as}/{who}", self.delete_banned, "delete_banned", "Delete banned")
        emqx4_alarms.register(self)
        emqx4_dashboard.register(self)

    # ------------------------------------------------------------------ dialect protocol

    def ok(self, data: Any = None, meta: dict | None = None) -> web.Response:
        body: dict = {"code": codes.SUCCEED}
        if data is not None:
            body["data"] = data
        if meta is not None:
            body["meta"] = meta
        return self.json(body)

    def error_response(self, request, err: ApiError) -> web.StreamResponse:
        return web.Response(text=err.message, status=err.status, content_type="text/plain", headers=err.headers)

    def manners_error(self, reason: str, message: str = "") -> ApiError:
        status, text = {d.UNAUTHORIZED: (401, "UNAUTHORIZED"), d.NOT_FOUND: (404, "Not found."),
                        d.METHOD_NOT_ALLOWED: (405, "Method Not Allowed"), d.TOO_LARGE: (413, "Payload Too Large"),
                        d.UNSUPPORTED_MEDIA_TYPE: (415, "Unsupported Media Type"), d.BAD_JSON: (400, "Bad Request"),
                        d.PRECONDITION_FAILED: (412, "Precondition Failed"),
                        d.INTERNAL: (500, "Internal Error")}[reason]
        return ApiError(status, reason, text)

    async def authenticate(self, request, endpoint):
        try:
            return await check_basic(self.ctx.accounts, request.headers.get("Authorization"))
        except AuthFailed:
            raise ApiError(401, d.UNAUTHORIZED, "UNAUTHORIZED", headers={"WWW-Authenticate": REALM}) from None

    # ------------------------------------------------------------------ helpers

    def _check_node(self, request) -> None:
        node = request.match_info.get("node")
        if node is not None and node != self.ctx.node_name:
            raise self.manners_error(d.NOT_FOUND)

    async def _body(self, request) -> Any:
        raw = await request.read()
        if not raw:
            return {}
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise self.manners_error(d.BAD_JSON) from None

    async def _object(self, request) -> dict:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise Fail(codes.REQ_PARAM_ERROR, "bad_params")
        return body

    async def _array(self, request) -> list:
        body = await self._body(request)
        if not isinstance(body, list):
            raise Fail(codes.REQ_PARAM_ERROR, "bad_params")
        return body

    @staticmethod
    def _page(request):
        try:
            return parse_page(request.query.get("_page"), request.query.get("_limit"), default_limit=MAX_ROW_LIMIT)
        except ValueError as e:
            raise Fail(codes.REQ_PARAM_ERROR, f"bad {e}") from None

    # ------------------------------------------------------------------ nodes

    async def endpoints(self, request):
        rows = [{"name": ep.name, "method": ep.method, "path": ep.path.replace("{", ":").replace("}", "") or "/",
                 "descr": ep.summary} for ep in self.table.endpoints if not ep.hidden and ep.path]
        return self.ok(rows)

    async def _broker_row(self) -> dict:
        info = await self.ctx.control.node_info()
        return {"node": info.node, "version": info.version, "sysdescr": info.sysdescr,
                "uptime": uptime_emq(info.uptime), "datetime": legacy_datetime(info.datetime),
                "otp_release": OTP_RELEASE, "node_status": "Running" if self.ctx.control.running else "Stopped"}

    async def _node_row(self) -> dict:
        i = await self.ctx.control.node_info()
        return {"node": i.node, "version": i.version, "uptime": uptime_emq(i.uptime), "otp_release": OTP_RELEASE,
                "node_status": "Running" if self.ctx.control.running else "Stopped",
                "memory_total": memory_string(i.memory_total), "memory_used": memory_string(i.memory_used),
                "max_fds": i.max_fds, "process_available": i.process_available, "process_used": i.process_used,
                "connections": i.connections, "live_connections": i.live_connections,
                "load1": f"{i.load1:.2f}", "load5": f"{i.load5:.2f}", "load15": f"{i.load15:.2f}"}

    # ------------------------------------------------------------------ clients

    def _client_query(self, q) -> ClientQuery:
        cq = ClientQuery()
        for key in ("clientid", "username"):
            if key in q:
                setattr(cq, key, [q[key]])
        if "ip_address" in q:
            cq.ip_address = q["ip_address"]
        if "conn_state" in q:
            if q["conn_state"] not in ("connected", "idle", "disconnected"):
                raise Fail(codes.REQ_PARAM_ERROR, f"Can't convert {q['conn_state']} to atom type (conn_state)")
            cq.conn_state = q["conn_state"]
        if "clean_start" in q:
            if q["clean_start"] not in BOOL:
                raise Fail(codes.REQ_PARAM_ERROR, f"Can't convert {q['clean_start']} to atom type (clean_start)")
            cq.clean_start = BOOL[q["clean_start"]]
        if "proto_ver" in q:
            cq.proto_ver = _int(q["proto_ver"], "proto_ver")
        for key in ("like_clientid", "like_username"):
            if "_" + key in q:
                setattr(cq, key, q["_" + key])
        for key in ("gte_created_at", "lte_created_at", "gte_connected_at", "lte_connected_at"):
            if "_" + key in q:
                setattr(cq, key, float(_int(q["_" + key], "_" + key)))
        if "proto_name" in q:
            cq.proto_name = q["proto_name"]
        for key in ("gte_mqueue_len", "lte_mqueue_len", "gte_mqueue_dropped", "lte_mqueue_dropped"):
            if "_" + key in q:
                setattr(cq, key, _int(q["_" + key], "_" + key))
        return cq

    async def clients(self, request):
        self._check_node(request)
        q = request.query
        page = self._page(request)
        cq = self._client_query(q)
        filtered = any(k in q for k in (p.name for p in CLIENT_PARAMS if not p.name.startswith("_p")
                                        and p.name != "_limit"))
        control = self.ctx.control
        try:
            found = await control.list_clients(cq, offset=page.offset, limit=page.limit)
            items, hasnext = found.items, found.hasnext
        except InvalidArgument as e:
            raise Fail(codes.REQ_PARAM_ERROR, str(e)) from None
        count = -1 if filtered else found.total
        return self.ok([emqx4_client(c) for c in items],
                       meta={"page": page.page, "limit": page.limit, "count": count, "hasnext": hasnext})

    async def client(self, request):
        self._check_node(request)
        try:
            return self.ok([emqx4_client(await self.ctx.control.get_client(request.match_info["clientid"]))])
        except NotFound:
            return self.ok([])

    async def clients_by_username(self, request):
        self._check_node(request)
        rows = await self.ctx.control.clients_by_username(request.match_info["username"])
        return self.ok([emqx4_client(c) for c in rows])

    async def kick(self, request):
        try:
            await self.ctx.control.kick_client(request.match_info["clientid"])
        except NotFound:
            raise Fail(codes.CLIENT_IS_OFFLINE, "not_found") from None
        return self.ok()

    async def keepalive(self, request):
        body = await self._object(request)
        if "interval" not in body:
            raise Fail(codes.MISSING_KEY_REQUEST_PARAMS, "required_params_missing")
        interval = body["interval"]
        if not isinstance(interval, int) or isinstance(interval, bool):
            raise Fail(codes.REQ_PARAM_ERROR, "interval must be an integer")
        try:
            await self.ctx.control.set_keepalive(request.match_info["clientid"], interval)
        except NotFound:
            raise Fail(codes.CLIENT_IS_OFFLINE, "not_found") from None
        except InvalidArgument as e:
            raise Fail(codes.REQ_PARAM_ERROR, str(e)) from None
        return self.ok()

    # ------------------------------------------------------------------ subscriptions and routes

    async def subscriptions(self, request):
        self._check_node(request)
        q = request.query
        page = self._page(request)
        sq = SubscriptionQuery(clientid=q.get("clientid"), topic=q.get("topic"), share_group=q.get("share"),
                               match_topic=q.get("_match_topic"))
        if "qos" in q:
            sq.qos = _int(q["qos"], "qos")
        try:
            if sq.topic is not None:  # EMQX 4: a topic lookup is an unpaged list
                found = await self.ctx.control.list_subscriptions(sq, offset=0, limit=ALL)
                return self.ok([emqx4_subscription(s) for s in found.items])
            found = await self.ctx.control.list_subscriptions(sq, offset=page.offset, limit=page.limit)
        except InvalidArgument as e:
            raise Fail(codes.REQ_PARAM_ERROR, str(e)) from None
        filtered = any(k in q for k in ("clientid", "share", "qos", "_match_topic"))
        return self.ok([emqx4_subscription(s) for s in found.items],
                       meta={"page": page.page, "limit": page.limit, "count": -1 if filtered else found.total,
                             "hasnext": found.hasnext})

    async def client_subscriptions(self, request):
        self._check_node(request)
        subs = await subscriptions_of(self.ctx.control, request.match_info["clientid"])
        return self.ok([emqx4_subscription(s) for s in subs])

    async def routes(self, request):
        page = self._page(request)
        found = await self.ctx.control.list_routes(topic=None, offset=page.offset, limit=page.limit)
        return self.ok([{"topic": r.topic, "node": r.node} for r in found.items],
                       meta={"page": page.page, "limit": page.limit, "count": found.total})

    async def route(self, request):
        try:
            rows = await self.ctx.control.get_routes(request.match_info["topic"])
        except NotFound:
            rows = []
        return self.ok([{"topic": r.topic, "node": r.node} for r in rows])

    # ------------------------------------------------------------------ mqtt

    async def _publish(self, body) -> tuple[int, str, list[str]]:
        try:
            requests = publish.parse(body, "emqx4")
        except publish.PublishError as e:
            return e.code, str(e), []
        ids = []
        for req in requests:
            try:
                ids.append((await self.ctx.control.publish(req)).id)
            except InvalidArgument:
                return codes.EMQX4_BAD_TOPIC, "bad_topic", ids
            except Unavailable as e:
                return codes.UNKNOWN_MISTAKE, str(e), ids
        return codes.SUCCEED, "", ids

    async def mqtt_publish(self, request):
        body = await self._object(request)
        code, message, ids = await self._publish(body)
        if code:
            raise Fail(code, message)
        if "return" in body:
            return self.ok({"msgid": ids[0]} if len(ids) == 1 else {"msgids": ids})
        return self.ok()

    async def mqtt_publish_batch(self, request):
        out = []
        for item in await self._array(request):
            code, _, _ = await self._publish(item)
            out.append({"topic": item.get("topic") if isinstance(item, dict) else None, "code": code})
        return self.ok(out)

    async def _subscribe(self, body, unsubscribe: bool) -> tuple[int, str]:
        if not isinstance(body, dict):
            return codes.REQ_PARAM_ERROR, "bad_params"
        clientid = body.get("clientid")
        topics = [body["topic"]] if isinstance(body.get("topic"), str) else \
            [t.strip() for t in body.get("topics", "").split(",") if t.strip()] if isinstance(body.get("topics"), str) \
            else []
        if not isinstance(clientid, str):
            return codes.MISSING_KEY_REQUEST_PARAMS if clientid is None else codes.REQ_PARAM_ERROR, "bad clientid"
        if not topics:
            return codes.EMQX4_BAD_TOPIC, "bad_topic"
        qos = body.get("qos", 0)
        if not unsubscribe and (not isinstance(qos, int) or isinstance(qos, bool) or qos not in (0, 1, 2)):
            return codes.EMQX4_BAD_QOS, "bad_qos"
        try:
            if unsubscribe:
                await self.ctx.control.unsubscribe(clientid, topics)
            else:
                await self.ctx.control.subscribe(clientid, [SubscribeRequest(topic=t, qos=qos) for t in topics])
        except NotFound:
            return codes.CLIENT_IS_OFFLINE, "channel_not_found"
        except InvalidArgument:
            return codes.EMQX4_BAD_TOPIC, "bad_topic"
        return codes.SUCCEED, ""

    async def mqtt_subscribe(self, request):
        code, message = await self._subscribe(await self._object(request), False)
        if code:
            raise Fail(code, message)
        return self.ok()

    async def mqtt_unsubscribe(self, request):
        code, message = await self._subscribe(await self._object(request), True)
        if code:
            raise Fail(code, message)
        return self.ok()

    async def _batch(self, request, unsubscribe: bool):
        out = []
        for item in await self._array(request):
            code, _ = await self._subscribe(item, unsubscribe)
            row = {k: item.get(k) for k in ("clientid", "topic")} if isinstance(item, dict) else {}
            out.append({**row, "code": code})
        return self.ok(out)

    async def mqtt_subscribe_batch(self, request):
        return await self._batch(request, False)

    async def mqtt_unsubscribe_batch(self, request):
        return await self._batch(request, True)

    # ------------------------------------------------------------------ stats, metrics, listeners

    async def _stats(self) -> dict:
        raw = (await self.ctx.control.stats()).stats
        out = {k: v for k, v in raw.items() if not k.startswith(STATS_NOT_IN_EMQX4)}
        out.update({k: raw.get(src, 0) for k, src in STATS_ALIASES.items()})
        return out

    async def _metrics(self) -> dict:
        counters = (await self.ctx.control.metrics()).counters
        return {METRICS_EMQX4_RENAMES.get(k, k): v for k, v in counters.items()}

    @staticmethod
    def _listener_row(lst) -> dict:
        return {"protocol": f"mqtt:{lst.type}", "identifier": f"mqtt:{lst.type}:{lst.name}",
                "listen_on": f"{lst.bind}:{lst.port}", "acceptors": 16, "max_conns": lst.max_connections,
                "current_conns": lst.current_connections if lst.running else 0,
                "shutdown_count": [] if not lst.shutdown_count else [{"closed": lst.shutdown_count}]}

    async def _listeners(self) -> list:
        return [self._listener_row(lst) for lst in await self.ctx.control.listeners()]

    async def listener_restart(self, request):
        self._check_node(request)
        ident = request.match_info["identifier"]
        lid = ident.removeprefix("mqtt:")
        try:
            await self.ctx.control.listener_action(lid, "restart")
        except NotFound:
            raise Fail(codes.RPC_ERROR, "not_found") from None
        return self.ok()

    # ------------------------------------------------------------------ plugins

    async def _plugins(self) -> list:
        return [{"name": f.name, "description": f.description, "active": f.enabled, "type": "feature"}
                for f in await self.ctx.control.features()]

    async def plugin_action(self, request):
        self._check_node(request)
        name, action = request.match_info["plugin"], request.match_info["action"]
        allowed = ("load", "unload", "reload") if "node" in request.match_info else ("unload", "reload")
        if action not in allowed:
            raise self.manners_error(d.NOT_FOUND)
        control = self.ctx.control
        current = next((f for f in await control.features() if f.name == name), None)
        if current is None:
            raise Fail(None, "not_found")
        if action == "load" and current.enabled:
            raise Fail(None, "already_started")
        if action == "unload" and not current.enabled:
            raise Fail(None, "not_started")
        if action == "reload":
            await control.set_feature(name, False)
        await control.set_feature(name, action != "unload")
        return self.ok()

    # ------------------------------------------------------------------ banned

    async def banned(self, request):
        page = self._page(request)
        found = await self.ctx.control.list_banned(offset=page.offset, limit=page.limit)
        rows = [{"who": b.who, "as": b.as_, "by": b.by, "reason": b.reason, "at": int(b.at),
                 "until": int(b.until) if b.until is not None else None} for b in found.items]
        return self.ok(rows, meta={"page": page.page, "limit": page.limit, "count": found.total})

    async def add_banned(self, request):
        body = await self._object(request)
        if not isinstance(body.get("who"), str) or "as" not in body:
            raise Fail(codes.MISSING_KEY_REQUEST_PARAMS, "missing_required_params")
        if body["as"] not in ("clientid", "username", "peerhost"):
            raise Fail(codes.REQ_PARAM_ERROR, "bad_as")
        now = int(time.time())
        try:
            at = int(body.get("at", now))
            until = int(body.get("until", at + BAN_DEFAULT_SECONDS))
        except (TypeError, ValueError):
            raise Fail(codes.REQ_PARAM_ERROR, "bad at/until") from None
        entry = BannedEntry(as_=body["as"], who=body["who"], by=str(body.get("by", "user")),
                            reason=str(body.get("reason", "")), at=float(at), until=float(until))
        try:
            await self.ctx.control.add_banned(entry)
        except Conflict:
            await self.ctx.control.delete_banned(entry.as_, entry.who)  # mnesia write: the new entry wins
            await self.ctx.control.add_banned(entry)
        except InvalidArgument as e:
            raise Fail(codes.REQ_PARAM_ERROR, str(e)) from None
        return self.ok({"who": entry.who, "as": entry.as_, "by": entry.by, "reason": entry.reason, "at": at,
                        "until": until})

    async def delete_banned(self, request):
        try:
            await self.ctx.control.delete_banned(request.match_info["as"], request.match_info["who"])
        except NotFound:
            pass  # EMQX 4 deletes idempotently
        return self.ok()
