"""`/api/v4` as NanoMQ 0.25 answers it (seed 003; legacy-v2-v4-api.md §3).

Envelope ``{"code":0,"data":...}``; errors are ``{"code":N}`` with the seed's HTTP status, their
Content-Type echoing the request's (NanoMQ's ``error_response``). A trailing slash is ignored as NanoMQ
ignores it; the slash forms are served but left out of the OpenAPI document.
"""
from __future__ import annotations

import logging
import resource
import time

import orjson
from aiohttp import web

from adapters.common.timefmt import legacy_datetime, uptime_nanomq
from gateway.http import dialect as d
from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Param
from schemas.errors import InvalidArgument, Unavailable
from schemas.records import ClientQuery, SubscriptionQuery

from . import codes, publish
from .auth import AuthFailed, JwtVerifier, check_basic
from .bridge import Bridge
from .document import RELOAD_KEYS, SECTIONS, DocumentError, section
from .lookups import subscriptions_of
from .render import nanomq_client, nanomq_subscription
from .settings import NanoSettings

log = logging.getLogger("emqgw.v4")

SYSDESCR = "NanoMQ Broker"
# GET /clients: the query keys NanoMQ's rest_api.c accepts; any other -> 400 {"code":108}.
CLIENT_FILTERS = ("clientid", "client_id", "username", "conn_state", "clean_start", "proto_name", "proto_ver")
SUBSCRIPTION_FILTERS = ("clientid", "topic", "qos", "share")
ALL = 1 << 30

_MANNERS = {d.UNAUTHORIZED: (401, codes.EMPTY_USERNAME_OR_PASSWORD),
            d.NOT_FOUND: (404, codes.UNKNOWN_MISTAKE),
            d.METHOD_NOT_ALLOWED: (405, codes.UNKNOWN_MISTAKE),
            d.TOO_LARGE: (413, codes.REQ_PARAM_ERROR),
            d.UNSUPPORTED_MEDIA_TYPE: (415, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL),
            d.BAD_JSON: (400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL),
            d.PRECONDITION_FAILED: (412, codes.REQ_PARAM_ERROR),
            d.INTERNAL: (500, codes.UNKNOWN_MISTAKE)}


def fail(status: int, code: int, body: dict | None = None) -> ApiError:
    return ApiError(status, code, body=body)


def _query(request: web.Request) -> dict[str, str]:
    """NanoMQ drops pairs with an empty value."""
    return {k: v for k, v in request.query.items() if v != "" and k != "pretty"}


async def _json_body(request: web.Request):
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL) from None


class NanoMQDialect(Dialect):
    name = "v4"
    prefix = "/api/v4"
    enforce_json_content_type = False  # nng's server parses whatever body it gets

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.settings = NanoSettings(ctx)
        self.bridge: Bridge | None = None
        self._jwt: JwtVerifier | None = None  # rebuilt when http_server.jwt.public.keyfile changes
        self._cpu = (time.monotonic(), time.process_time())
        self._routes()

    # ------------------------------------------------------------------ table

    def _add(self, method, path, handler, name, descr, **meta):
        self.table.add(method, path, handler, name=name, summary=descr, tags=("nanomq",), **meta)
        # NanoMQ ignores a trailing slash (and lists its collections with one).
        self.table.add(method, path + "/", handler, name=name, summary=descr, hidden=True, **meta)

    def _routes(self) -> None:
        a = self._add
        a("GET", "", self.endpoints, "list_endpoints", "A list of endpoints")
        a("GET", "/brokers", self.brokers, "list_brokers", "A list of brokers in the cluster")
        a("GET", "/nodes", self.nodes, "list_nodes", "A list of nodes in the cluster")
        cparams = (Param(name="clientid"), Param(name="username"),
                   Param(name="conn_state", enum=("connected", "disconnected")),
                   Param(name="clean_start", type="boolean"), Param(name="proto_name"),
                   Param(name="proto_ver", type="integer", enum=(3, 4, 5)))
        a("GET", "/clients", self.clients, "list_clients", "A list of clients on current node", params=cparams)
        a("GET", "/clients/{clientid}", self.client, "lookup_client", "Lookup a client in the cluster",
          params=cparams[1:])
        a("GET", "/clients/username/{username}", self.clients_by_username, "lookup_client_via_username",
          "Lookup a client via username in the cluster", params=cparams[:1] + cparams[2:])
        sparams = (Param(name="clientid"), Param(name="topic"), Param(name="qos", type="integer", enum=(0, 1, 2)),
                   Param(name="share"))
        a("GET", "/subscriptions", self.subscriptions, "list_subscriptions", "A list of subscriptions in the cluster",
          params=sparams)
        a("GET", "/subscriptions/{clientid}", self.client_subscriptions, "lookup_client_subscriptions",
          "A list of subscriptions of a client")
        a("GET", "/topic-tree", self.topic_tree, "list_topic-tree", "A list of topic-tree in the cluster")
        a("GET", "/reload", self.get_reload, "get_hot_updatable_configuration", "show hot update configuration")
        a("POST", "/reload", self.post_reload, "set_hot_updatable_configuration", "set hot update configuration")
        a("GET", "/configuration", self.get_configuration, "get_broker_configuration", "show broker configuration")
        a("GET", "/configuration/{section}", self.get_section, "get_configuration_section",
          "show one section of the broker configuration (" + ", ".join(SECTIONS) + ")")
        a("POST", "/configuration", self.post_configuration, "set_broker_configuration", "set broker configuration")
        a("POST", "/configuration/{section}", self.post_section, "set_configuration_section",
          "set one section of the broker configuration")
        a("POST", "/ctrl/{action}", self.ctrl, "ctrl_broker", "Control broker stop or restart",
          params=(Param(name="action", where="path", enum=("stop", "restart")),))
        a("POST", "/mqtt/publish", self.mqtt_publish, "mqtt_publish", "Publish a MQTT message")
        a("POST", "/mqtt/publish_batch", self.mqtt_publish_batch, "mqtt_publish_batch", "Batch publish MQTT messages")
        a("GET", "/metrics", self.metrics, "metrics", "show broker metrics")
        a("GET", "/prometheus", self.prometheus, "prometheus", "show broker metrics in prometheus format")

    # ------------------------------------------------------------------ dialect protocol

    def ok(self, data=None, **extra) -> web.Response:
        body = {"code": codes.SUCCEED}
        if data is not None:
            body["data"] = data
        body.update(extra)
        return self.json(body)

    def error_response(self, request, err: ApiError) -> web.StreamResponse:
        body = err.body if err.body is not None else {"code": err.code}
        ctype = request.headers.get("Content-Type") if request is not None else None
        return web.Response(body=orjson.dumps(body), status=err.status, headers={
            **err.headers, "Content-Type": ctype or "application/json"})

    def manners_error(self, reason: str, message: str = "") -> ApiError:
        status, code = _MANNERS[reason]
        return ApiError(status, code, message)

    async def authenticate(self, request, endpoint):
        http = self.settings.doc.get("http_server", {})
        auth_type = http.get("auth_type", "basic")
        header = request.headers.get("Authorization")
        try:
            if auth_type == "no_auth":
                return "anonymous"
            if auth_type == "jwt":
                keyfile = http["jwt"]["public"]["keyfile"]
                if self._jwt is None or self._jwt.keyfile != keyfile:
                    self._jwt = JwtVerifier(keyfile)
                return self._jwt.verify(header)
            return await check_basic(self.ctx.accounts, header)
        except AuthFailed as e:
            raise ApiError(401, e.code, str(e)) from None

    partner: Dialect | None = None  # the other flavor, whose own routes this one serves too

    async def start(self) -> None:
        await self.settings.load()
        await self._start_bridge()
        if self.partner is not None:
            await self.partner.start()

    async def stop(self) -> None:
        if self.partner is not None:
            await self.partner.stop()
        await self._stop_bridge()

    # ------------------------------------------------------------------ bridge lifecycle

    async def _start_bridge(self) -> None:
        conf = self.settings.doc["bridge"]
        if not conf["bridge_mode"] or not self.ctx.control.running:
            return
        tcp = next((lst for lst in await self.ctx.control.listeners() if lst.type == "tcp" and lst.running), None)
        if tcp is None:
            log.error("bridge not started: no running TCP listener to attach to")
            return
        http = self.settings.doc["http_server"]
        creds = (http["username"], http["password"]) if http["password"] else None
        host = "127.0.0.1" if tcp.bind in ("0.0.0.0", "::", "") else tcp.bind
        bridge = Bridge(conf, host, tcp.port, creds)
        try:
            await bridge.start()
        except Exception as e:  # an unreachable remote must not take the API down
            log.error("bridge to %s not started: %s", conf["address"], e)
            return
        self.bridge = bridge

    async def _stop_bridge(self) -> None:
        if self.bridge is not None:
            await self.bridge.stop()
            self.bridge = None

    # ------------------------------------------------------------------ node

    async def endpoints(self, request):
        if set(request.query) - {"pretty"}:  # NanoMQ: `GET /api/v4/?a=b` is not the endpoint list
            raise fail(404, codes.UNKNOWN_MISTAKE)
        rows = []
        for ep in self.table.endpoints:
            if ep.hidden or ep.path == "":
                continue
            path = ep.path.replace("{", ":").replace("}", "")
            if "{" not in ep.path and path.count("/") == 1 and ep.path not in ("/metrics", "/prometheus"):
                path += "/"
            rows.append({"path": path, "name": ep.name, "method": ep.method, "descr": ep.summary})
        return self.ok(rows)

    async def _status(self):
        info = await self.ctx.control.node_info()
        status = "Running" if self.ctx.control.running else "Stopped"
        return info, status

    async def brokers(self, request):
        info, status = await self._status()
        return self.ok([{"datetime": legacy_datetime(info.datetime), "node_status": status, "sysdescr": SYSDESCR,
                         "uptime": uptime_nanomq(info.uptime), "version": info.version}])

    async def nodes(self, request):
        info, status = await self._status()
        return self.ok([{"connections": info.live_connections, "node_status": status,
                         "uptime": uptime_nanomq(info.uptime), "version": info.version}])

    # ------------------------------------------------------------------ clients

    def _client_query(self, request) -> ClientQuery:
        q = _query(request)
        unknown = set(q) - set(CLIENT_FILTERS)
        if unknown:
            raise fail(400, codes.REQ_PARAM_ERROR)
        cq = ClientQuery()
        cid = q.get("clientid", q.get("client_id"))
        if cid is not None:
            cq.clientid = [cid]
        if "username" in q:
            cq.username = [q["username"]]
        if "conn_state" in q:
            state = q["conn_state"].lower()
            if state not in ("connected", "disconnected"):
                raise fail(400, codes.REQ_PARAM_ERROR)
            cq.conn_state = state
        if "clean_start" in q:
            if q["clean_start"] not in ("true", "false"):
                raise fail(400, codes.REQ_PARAM_ERROR)
            cq.clean_start = q["clean_start"] == "true"
        if "proto_ver" in q:
            if q["proto_ver"] not in ("3", "4", "5"):
                raise fail(400, codes.REQ_PARAM_ERROR)
            cq.proto_ver = int(q["proto_ver"])
        cq.proto_name = q.get("proto_name")
        return cq

    async def _clients(self, request, **fixed) -> web.Response:
        cq = self._client_query(request)
        for key, value in fixed.items():
            setattr(cq, key, [value])
        page = await self.ctx.control.list_clients(cq, offset=0, limit=ALL)
        return self.ok([nanomq_client(c) for c in page.items])

    async def clients(self, request):
        return await self._clients(request)

    async def client(self, request):
        return await self._clients(request, clientid=request.match_info["clientid"])

    async def clients_by_username(self, request):
        return await self._clients(request, username=request.match_info["username"])

    # ------------------------------------------------------------------ subscriptions

    async def subscriptions(self, request):
        q = _query(request)
        sq = SubscriptionQuery(clientid=q.get("clientid"), topic=q.get("topic"), share_group=q.get("share"))
        if "qos" in q:
            if q["qos"] not in ("0", "1", "2"):
                raise fail(400, codes.REQ_PARAM_ERROR)
            sq.qos = int(q["qos"])
        page = await self.ctx.control.list_subscriptions(sq, offset=0, limit=ALL)
        return self.ok([nanomq_subscription(s) for s in page.items])

    async def client_subscriptions(self, request):
        subs = await subscriptions_of(self.ctx.control, request.match_info["clientid"])
        return self.ok([nanomq_subscription(s) for s in subs])

    async def topic_tree(self, request):
        levels = await self.ctx.control.topic_tree()
        out = [[{"topic": n.topic, "cld_cnt": n.cld_cnt, **({"clientid": n.clientid} if n.clientid else {})}
                for n in level] for level in levels]
        out.append([])  # NanoMQ closes the list with the (empty) level below the leaves
        return self.ok(out)

    # ------------------------------------------------------------------ configuration

    def _doc_data(self, body) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL)
        return body["data"]

    async def _update(self, data: dict) -> web.Response:
        try:
            await self.settings.update(data)
        except DocumentError as e:
            raise ApiError(400, e.code, str(e)) from None
        return self.ok()

    async def get_configuration(self, request):
        return self.ok(self.settings.doc)

    async def post_configuration(self, request):
        return await self._update(self._doc_data(await _json_body(request)))

    async def get_section(self, request):
        name = request.match_info["section"]
        if name not in SECTIONS:
            raise fail(404, codes.RPC_ERROR, body={"code": codes.RPC_ERROR, "data": {}})
        return self.ok({name: section(self.settings.doc, name)})

    async def post_section(self, request):
        name = request.match_info["section"]
        if name not in SECTIONS:
            raise fail(404, codes.RPC_ERROR, body={"code": codes.RPC_ERROR, "data": {}})
        data = self._doc_data(await _json_body(request))
        if not isinstance(data.get(name), dict):
            raise fail(400, codes.REQ_PARAM_ERROR)
        return await self._update({name: data[name]})

    async def get_reload(self, request):
        doc = self.settings.doc
        data = {k: doc[k] for k in RELOAD_KEYS}
        data.update(enable_mqtt_stream=False, bridge_mode=doc["bridge"]["bridge_mode"])
        return self.ok(data)

    async def post_reload(self, request):
        data = self._doc_data(await _json_body(request))
        if set(data) - set(RELOAD_KEYS):
            raise fail(400, codes.REQ_PARAM_ERROR)
        return await self._update(data)

    async def ctrl(self, request):
        action = request.match_info["action"]
        control = self.ctx.control
        if action == "stop":
            await self._stop_bridge()
            await control.stop()
        elif action == "restart":
            await self._stop_bridge()
            try:
                await control.restart()
            except OSError as e:  # e.g. a new listener address already taken: NanoMQ's 500 {"code":101}
                log.error("restart failed: %s", e)
                raise fail(500, codes.RPC_ERROR) from None
            self.settings.pending.clear()
            await self._start_bridge()
        else:
            raise fail(404, codes.RPC_ERROR)
        return self.ok()

    # ------------------------------------------------------------------ publish

    async def _publish_one(self, body) -> int:
        try:
            requests = publish.parse(body, "nanomq")
        except publish.PublishError as e:
            return e.code
        for req in requests:
            try:
                await self.ctx.control.publish(req)
            except InvalidArgument:
                return codes.REQ_PARAM_ERROR
            except Unavailable:
                return codes.UNKNOWN_MISTAKE
        return codes.SUCCEED

    async def mqtt_publish(self, request):
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL)
        return self.json({"code": await self._publish_one(body)})

    async def mqtt_publish_batch(self, request):
        body = await _json_body(request)
        if not isinstance(body, list):
            raise fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL)
        out = []
        for item in body:
            code = await self._publish_one(item)
            row = {"topic": item["topic"]} if isinstance(item, dict) and isinstance(item.get("topic"), str) else {}
            row["code"] = code
            out.append(row)
        return self.ok(out)

    # ------------------------------------------------------------------ metrics

    def _cpu_percent(self) -> float:
        now, cpu = time.monotonic(), time.process_time()
        then, cpu_then = self._cpu
        self._cpu = (now, cpu)
        return 100.0 * (cpu - cpu_then) / (now - then) if now > then else 0.0

    async def metrics(self, request):
        info = await self.ctx.control.node_info()
        bridges = [self.bridge.counters.as_nanomq(self.bridge.name)] if self.bridge is not None else []
        # NanoMQ's /metrics has no "code".
        return self.json({"metrics": bridges, "cpuinfo": f"{self._cpu_percent():.2f}%",
                          "memory": str(info.memory_used), "connections": info.live_connections})

    async def prometheus(self, request):
        stats = (await self.ctx.control.stats()).stats
        counters = (await self.ctx.control.metrics()).counters
        info = await self.ctx.control.node_info()
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        cpu = self._cpu_percent()
        lines = []

        def put(name, kind, value, help_):
            lines.extend((f"# TYPE {name} {kind}", f"# HELP {name} {help_}", f"{name} {value}"))

        for what, key in (("connections", "live_connections"), ("sessions", "sessions"), ("topics", "topics"),
                          ("subscribers", "subscribers")):
            put(f"nanomq_{what}_count", "gauge", stats.get(key + ".count", 0), f"Current {what}")
            put(f"nanomq_{what}_max", "gauge", stats.get(key + ".max", 0), f"Peak {what}")
        for what in ("received", "sent", "dropped"):
            put(f"nanomq_messages_{what}", "counter", counters.get(f"messages.{what}", 0), f"Messages {what}")
        put("nanomq_memory_usage", "gauge", info.memory_used, "Resident memory in bytes")
        put("nanomq_memory_usage_max", "gauge", peak_rss, "Peak resident memory in bytes")
        put("nanomq_cpu_usage", "gauge", f"{cpu:.2f}", "CPU usage in percent")
        put("nanomq_cpu_usage_max", "gauge", f"{max(cpu, 0):.2f}", "CPU usage in percent (since last read)")
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

