"""``schemas.control.BrokerControl`` over an EMQX 5 cluster's REST API: what the dialects ask becomes
the EMQX calls that answer it, EMQX's objects become the interface's records.

Costs: one upstream call per page a dialect serves (a legacy page size is EMQX's `limit`, an aligned
offset its `page`); an unpaged legacy listing walks EMQX's pages of the largest size. Short caches
(``TTL``) hold what a dashboard asks for again and again and what changes slowly; clients,
subscriptions, retained messages, bans and alarms are never cached.

What EMQX cannot do is NotSupported, never a pretended success: keeping a session on a kick, publishing
as a given client, stopping or starting the broker, stopping a listener (in EMQX that rewrites the
cluster's configuration), clearing the dashboard history, EMQX 4's filters EMQX 5 dropped, and
configuration keys EMQX does not have.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs

from schemas.control import FeatureGetter, FeatureSetter
from schemas.errors import (
    Conflict,
    ControlError,
    Denied,
    InvalidArgument,
    NotFound,
    NotSupported,
    Unavailable,
)
from schemas.owned_features import OwnedFeatures
from schemas.records import (
    API_PUBLISHERS,
    SESSION_QUEUES,
    Alarm,
    BannedEntry,
    BrokerConfig,
    ClientInfo,
    ClientQuery,
    Feature,
    ListenerConfig,
    ListenerInfo,
    MetricsSnapshot,
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
from schemas.rules import check_banned
from schemas.topic_tree import topic_tree
from schemas.version import VERSION

from . import convert, settings
from .client import Answer, UpstreamClient

if TYPE_CHECKING:
    from gateway.config import UpstreamConfig

log = logging.getLogger("emqgw.upstream")

# Seconds each cached answer is kept (the budget: nodes 5 s, figures 1-2 s, configuration 10-30 s).
TTL = {"node_names": 5.0, "nodes": 2.0, "stats": 1.0, "metrics": 1.0, "listeners": 1.0, "config": 15.0}
# EMQX's largest `limit`: the page size an unpaged listing walks with.
MAX_LIMIT = 10000
# EMQX 4 filters EMQX 5 dropped (a page filtered here could not be one upstream page).
EMQX4_ONLY_FILTERS = (
    "proto_name",
    "gte_mqueue_len",
    "lte_mqueue_len",
    "gte_mqueue_dropped",
    "lte_mqueue_dropped",
)
FEATURES = {
    "retainer": "Stores retained messages and delivers them on subscribe",
    "presence_events": "Publishes $SYS/brokers/<node>/clients/<id>/connected|disconnected",
}


def _seg(value: str) -> str:
    """One path segment: EMQX takes client ids and topics URL-encoded, slashes included."""
    return quote(value, safe="")


def _error(answer: Answer, *, kind: str | None = None, field: str | None = None) -> ControlError:
    """EMQX's refusal as the interface's error type."""
    body = answer.body if isinstance(answer.body, dict) else {}
    message = str(body.get("message") or body.get("code") or f"upstream answered {answer.status}")
    if answer.status == 404:
        return NotFound(message, kind=kind)
    if answer.status == 409 or body.get("code") == "ALREADY_EXISTS":
        return Conflict(message, kind=kind)
    if answer.status == 403:
        return Denied(message, kind=kind)
    if answer.status == 400:
        return InvalidArgument(message, field=field)
    return Unavailable(f"upstream answered {answer.status}: {message}")


def _query_params(q: ClientQuery) -> list[tuple[str, str]]:
    given = [name for name in EMQX4_ONLY_FILTERS if getattr(q, name) is not None]
    if given:
        raise NotSupported(f"EMQX 5 has no {given[0]} filter", kind="client", field=given[0])
    out: list[tuple[str, str]] = []
    for name in ("clientid", "username"):
        out.extend((name, v) for v in getattr(q, name) or ())
    for name in ("like_clientid", "like_username", "ip_address", "conn_state", "node"):
        value = getattr(q, name)
        if value is not None:
            out.append((name, value))
    if q.clean_start is not None:
        out.append(("clean_start", "true" if q.clean_start else "false"))
    if q.proto_ver is not None:
        out.append(("proto_ver", str(q.proto_ver)))
    for name in ("gte_created_at", "lte_created_at", "gte_connected_at", "lte_connected_at"):
        value = getattr(q, name)
        if value is not None:
            out.append((name, str(int(value * 1000))))  # epoch milliseconds
    fields = convert.client_fields(q.fields)
    if fields is not None:
        out.append(("fields", fields))
    return out


class UpstreamControl:
    """The interface over one EMQX 5 cluster (``schemas.control.BrokerControl``), calling it with the
    API key pair the process shell found (``gateway.upstream_credentials``)."""

    def __init__(self, config: UpstreamConfig, *, api_key: str, api_secret: str, fallback_node: str):
        self.client = UpstreamClient(config, api_key, api_secret)
        self.owned_features = OwnedFeatures()
        self.client_records = convert.ClientRecords()
        # Until the cluster has been reached, the node this gateway answers as is the configured one.
        self._node_name = fallback_node

    def __repr__(self) -> str:
        return f"UpstreamControl({self.client.base!r})"

    async def open(self) -> None:
        await self.client.open()
        try:
            await self.node_names()
        except Unavailable as e:  # the gateway starts anyway, and answers 503 until the cluster is back
            log.warning("%s; serving errors until it answers", e.message)

    async def close(self) -> None:
        await self.client.close()

    # -- calls ----------------------------------------------------------------------------------

    async def _get(
        self,
        path: str,
        params: Any = None,
        *,
        decode: Callable[[bytes], Any] | None = None,
        kind: str | None = None,
        field: str | None = None,
    ) -> Any:
        answer = await self.client.get(path, params, decode=decode)
        if answer.status != 200:
            raise _error(answer, kind=kind, field=field)
        return answer.body

    async def _send(
        self, method: str, path: str, body: Any = None, *, kind: str | None = None, field: str | None = None
    ) -> Any:
        answer = await self.client.request(method, path, json=body)
        if answer.status not in (200, 201, 204):
            raise _error(answer, kind=kind, field=field)
        return answer.body

    def _cached(self, key: str, ttl_key: str, fetch: Callable) -> Any:
        return self.client.cache.get(key, TTL[ttl_key], fetch)

    async def _page(
        self, path: str, params: list[tuple[str, str]], offset: int, limit: int, convert_one: Callable, **errors: Any
    ) -> Page:
        """Items [offset, offset+limit) of an EMQX page/limit listing: one call when the window is a page
        of EMQX's (the legacy dialects' pages always are), else as many pages as the window spans."""
        size = min(limit, MAX_LIMIT)
        page_no, skip = divmod(offset, size)
        page_no += 1
        items: list = []
        total: int | None = None
        decode = convert.ListingPage(convert_one)
        while True:
            window = [*params, ("page", str(page_no)), ("limit", str(size))]
            doc = await self._get(path, window, decode=decode, **errors)  # read-only: it may be shared
            rows = doc["data"]
            meta = doc.get("meta") or {}
            if total is None and "count" in meta:
                total = meta["count"]
            more = meta["hasnext"] if "hasnext" in meta else (total is not None and page_no * size < total)
            take = rows[skip : skip + limit - len(items)]
            items += take
            skip = 0
            if len(items) >= limit:
                return Page(items=items, total=total, hasnext=more or len(rows) > len(take))
            if not more or not rows:
                return Page(items=items, total=total, hasnext=False)
            page_no += 1

    async def _all(self, path: str, params: list[tuple[str, str]], convert_one: Callable, **errors: Any) -> list:
        return (await self._page(path, params, 0, 1 << 62, convert_one, **errors)).items

    # -- nodes ----------------------------------------------------------------------------------

    @property
    def node_name(self) -> str:
        return self._node_name

    @property
    def running(self) -> bool:
        return self.client.breaker.state == "closed"

    async def is_running(self) -> bool:
        try:
            answer = await self.client.get("/status", [("format", "json")])
        except Unavailable:
            return False
        return answer.status == 200

    async def node_names(self) -> list[str]:
        async def fetch() -> list[str]:
            # Its own read of /nodes: the names are kept longer than the figures beside them.
            names = [d["node"] for d in await self._get("/nodes")]
            if names:
                self._node_name = names[0]
            return names

        return await self._cached("node_names", "node_names", fetch)

    async def nodes(self) -> list[NodeInfo]:
        async def fetch() -> list[NodeInfo]:
            return [convert.node_info(d) for d in await self._get("/nodes")]

        return await self._cached("nodes", "nodes", fetch)

    async def node_info(self, node: str | None = None) -> NodeInfo:
        names = await self.node_names()  # also learns node_name, should the cluster only now be reached
        name = node or (names[0] if names else self.node_name)
        for info in await self.nodes():
            if info.node == name:
                return info
        raise NotFound(f"Node not found: {name}", kind="node")

    @staticmethod
    def _one_node(rows: list, node: str) -> Any:
        hit = next((r for r in rows if r.node == node), None)
        if hit is None:
            raise NotFound(f"Node not found: {node}", kind="node")
        return hit

    async def stats(self, node: str | None = None) -> StatsSnapshot:
        if node is not None:
            return self._one_node(await self.stats_per_node(), node)

        async def fetch() -> StatsSnapshot:
            return StatsSnapshot(node="", stats=await self._get("/stats", [("aggregate", "true")]))

        return await self._cached("stats:all", "stats", fetch)

    async def stats_per_node(self) -> list[StatsSnapshot]:
        async def fetch() -> list[StatsSnapshot]:
            rows = await self._get("/stats", [("aggregate", "false")])
            return [StatsSnapshot(node=r.pop("node"), stats=r) for r in rows]

        return await self._cached("stats:nodes", "stats", fetch)

    async def metrics(self, node: str | None = None) -> MetricsSnapshot:
        if node is not None:
            return self._one_node(await self.metrics_per_node(), node)

        async def fetch() -> MetricsSnapshot:
            return MetricsSnapshot(node="", counters=await self._get("/metrics", [("aggregate", "true")]))

        return await self._cached("metrics:all", "metrics", fetch)

    async def metrics_per_node(self) -> list[MetricsSnapshot]:
        async def fetch() -> list[MetricsSnapshot]:
            rows = await self._get("/metrics", [("aggregate", "false")])
            return [MetricsSnapshot(node=r.pop("node"), counters=r) for r in rows]

        return await self._cached("metrics:nodes", "metrics", fetch)

    # -- monitor --------------------------------------------------------------------------------

    async def monitor(self, *, node: str | None = None, latest: int | None = None) -> list[dict[str, int]]:
        path = "/monitor" if node is None else f"/monitor/nodes/{_seg(node)}"
        params = [("latest", str(latest))] if latest is not None else None
        return await self._get(path, params, kind="node")

    async def monitor_current(self, *, node: str | None = None) -> dict[str, int]:
        path = "/monitor_current" if node is None else f"/monitor_current/nodes/{_seg(node)}"
        return await self._get(path, kind="node")

    async def clear_monitor(self) -> None:
        raise NotSupported("EMQX keeps the dashboard history itself and cannot clear it", kind="node")

    # -- clients --------------------------------------------------------------------------------

    async def list_clients(self, query: ClientQuery, *, offset: int, limit: int) -> Page[ClientInfo]:
        return await self._page("/clients", _query_params(query), offset, limit, self.client_records, kind="node")

    async def list_clients_cursor(self, query: ClientQuery, *, cursor: str | None, limit: int) -> Page[ClientInfo]:
        params = [p for p in _query_params(query) if p[0] != "node"]  # /clients_v2 lists the whole cluster
        params.append(("limit", str(limit)))
        if cursor is not None:
            params.append(("cursor", cursor))
        doc = await self._get("/clients_v2", params, decode=convert.ListingPage(self.client_records), field="cursor")
        rows = list(doc["data"])  # the decoded page may be shared (client.SameBodies)
        next_cursor = (doc.get("meta") or {}).get("cursor")
        return Page(items=rows, total=len(rows), hasnext=next_cursor is not None, cursor=next_cursor)

    async def get_client(self, clientid: str) -> ClientInfo:
        return self.client_records(await self._get(f"/clients/{_seg(clientid)}", kind="client"))

    async def clients_by_username(self, username: str) -> list[ClientInfo]:
        return await self._all("/clients", [("username", username)], self.client_records)

    async def kick_client(self, clientid: str, *, discard_session: bool = True) -> None:
        if not discard_session and (await self.get_client(clientid)).expiry_interval > 0:
            # A session that ends with its connection has nothing to keep; a persistent one would be lost.
            raise NotSupported("EMQX discards the session of a client it kicks out", kind="session")
        await self._send("DELETE", f"/clients/{_seg(clientid)}", kind="client")

    async def set_keepalive(self, clientid: str, interval: int) -> ClientInfo:
        doc = await self._send(
            "PUT", f"/clients/{_seg(clientid)}/keepalive", {"interval": interval}, kind="client", field="interval"
        )
        return convert.client_info(doc)

    # -- sessions -------------------------------------------------------------------------------

    async def sessions_count(self, since: float) -> int:
        return int(await self._get("/sessions_count", [("since", str(int(since)))]))

    async def session_messages(self, clientid: str, queue: str, *, after: str | None, limit: int) -> SessionMessagePage:
        if queue not in SESSION_QUEUES:
            raise InvalidArgument(f"no {queue!r} queue", field="queue")
        params = [("limit", str(limit)), ("payload", "base64")]
        if after is not None:
            params.append(("position", after))
        doc = await self._get(f"/clients/{_seg(clientid)}/{queue}_messages", params, kind="client", field="position")
        start = (doc.get("meta") or {}).get("start")
        return SessionMessagePage(
            items=[convert.session_message(m, queue) for m in doc.get("data") or ()],
            start=None if start in (None, "none") else start,
        )

    async def subscribing_clients(self) -> int:
        # EMQX counts subscriptions, not subscribers: the clients are counted from the listing (one walk).
        return len({s.clientid for s in await self._all("/subscriptions", [], convert.subscription)})

    # -- subscriptions --------------------------------------------------------------------------

    async def list_subscriptions(self, query: SubscriptionQuery, *, offset: int, limit: int) -> Page[Subscription]:
        params = [(name, str(v)) for name, v in attrs.asdict(query).items() if v is not None]
        field = next((name for name, _v in params if name != "node"), None)
        return await self._page("/subscriptions", params, offset, limit, convert.subscription, field=field)

    async def client_subscriptions(self, clientid: str) -> list[Subscription]:
        rows = await self._get(f"/clients/{_seg(clientid)}/subscriptions", kind="client")
        return [convert.subscription(r) for r in rows]

    async def subscribe(self, clientid: str, requests: list[SubscribeRequest]) -> list[Subscription]:
        """One EMQX call per filter (EMQX's bulk form applies each alone); when one is refused, the
        ones this call made are taken back, so that the whole request is all or nothing."""
        done: list[Subscription] = []
        try:
            for r in requests:
                doc = await self._send(
                    "POST",
                    f"/clients/{_seg(clientid)}/subscribe",
                    convert.subscribe_body(r),
                    kind="client",
                    field="topic",
                )
                done.append(convert.subscription({**doc, "clientid": clientid}))
        except ControlError:
            if done:
                await self.unsubscribe(clientid, [s.topic for s in done])
            raise
        return done

    async def unsubscribe(self, clientid: str, topics: list[str]) -> None:
        path = f"/clients/{_seg(clientid)}/unsubscribe"
        if len(topics) == 1:
            await self._send("POST", path, {"topic": topics[0]}, kind="client")
        else:
            await self._send("POST", path + "/bulk", [{"topic": t} for t in topics], kind="client")

    # -- routing --------------------------------------------------------------------------------

    @staticmethod
    def _publish_body(r: PublishRequest) -> dict:
        if r.clientid not in API_PUBLISHERS.values():
            raise NotSupported(f"EMQX cannot publish as client {r.clientid!r}", kind="client", field="clientid")
        body: dict[str, Any] = {
            "topic": r.topic,
            "payload": base64.b64encode(r.payload).decode(),
            "payload_encoding": "base64",
            "qos": r.qos,
            "retain": r.retain,
        }
        props = {k: v for k, v in r.properties.items() if k in ("payload_format_indicator", "message_expiry_interval")}
        for key in ("response_topic", "content_type"):
            if key in r.properties:
                props[key] = r.properties[key]
        if "correlation_data" in r.properties:
            data = r.properties["correlation_data"]
            props["correlation_data"] = data.decode() if isinstance(data, bytes) else data
        if "user_property" in r.properties:
            props["user_properties"] = dict(r.properties["user_property"])
        if props:
            body["properties"] = props
        return body

    @staticmethod
    def _published(status: int, doc: dict) -> PublishResult | ControlError:
        if "id" in doc:
            return PublishResult(id=doc["id"], matched=1)
        code = doc.get("reason_code")
        if code == 16:  # no matching subscribers
            return PublishResult(id="", matched=0)
        if status == 400:
            return InvalidArgument(str(doc.get("message", "bad message")), field="topic")
        return Unavailable(str(doc.get("message", "failed_to_dispatch")))

    async def publish(self, request: PublishRequest) -> PublishResult:
        answer = await self.client.request("POST", "/publish", json=self._publish_body(request))
        result = self._published(answer.status, answer.body if isinstance(answer.body, dict) else {})
        if isinstance(result, ControlError):
            raise result
        return result

    async def publish_bulk(self, requests: list[PublishRequest]) -> list[PublishResult | ControlError]:
        bodies = [self._publish_body(r) for r in requests]
        answer = await self.client.request("POST", "/publish/bulk", json=bodies)
        if isinstance(answer.body, list):
            return [self._published(answer.status, doc) for doc in answer.body]
        # One object: the batch was refused as a whole, every message with it.
        refused = self._published(answer.status, answer.body or {})
        return [refused for _ in requests]

    async def list_routes(self, *, topic: str | None, offset: int, limit: int, node: str | None = None) -> Page[Route]:
        params = [(k, v) for k, v in (("topic", topic), ("node", node)) if v is not None]
        return await self._page("/topics", params, offset, limit, convert.route, field="topic")

    async def get_routes(self, topic: str) -> list[Route]:
        return [convert.route(r) for r in await self._get(f"/topics/{_seg(topic)}", kind="topic")]

    async def topic_tree(self) -> list[list[TopicTreeNode]]:
        subscribers: dict[str, list[str]] = {}
        for s in await self._all("/subscriptions", [], convert.subscription):
            # a shared subscription's topic is its `$share/<group>/...` form, the levels NanoMQ shows it under
            subscribers.setdefault(s.topic, []).append(s.clientid)
        return topic_tree((f, sorted(ids)) for f, ids in subscribers.items())

    # -- retained -------------------------------------------------------------------------------

    async def list_retained(self, *, topic: str | None, offset: int, limit: int) -> Page[RetainedMessage]:
        params = [("topic", topic)] if topic is not None else []
        return await self._page("/mqtt/retainer/messages", params, offset, limit, convert.retained, field="topic")

    async def get_retained(self, topic: str) -> RetainedMessage:
        return convert.retained(await self._get(f"/mqtt/retainer/message/{_seg(topic)}", kind="retained"))

    async def delete_retained(self, topic: str) -> None:
        await self._send("DELETE", f"/mqtt/retainer/message/{_seg(topic)}", kind="retained")

    async def clear_retained(self) -> None:
        await self._send("DELETE", "/mqtt/retainer/messages")

    # -- listeners ------------------------------------------------------------------------------

    async def listeners(self, node: str | None = None) -> list[ListenerInfo]:
        async def fetch() -> list[dict]:
            docs = await self._get("/listeners")
            for doc in docs:
                if doc.get("type") in ("ws", "wss"):
                    # The listing leaves out a WebSocket listener's path; its own document has it.
                    one = await self._get(f"/listeners/{_seg(doc['id'])}", kind="listener")
                    doc["path"] = (one.get("websocket") or {}).get("mqtt_path")
            return docs

        docs = await self._cached("listeners", "listeners", fetch)
        if node is not None and node not in await self.node_names():
            raise NotFound(f"Node not found: {node}", kind="node")
        return [info for info in (convert.listener(d, node) for d in docs) if info is not None]

    async def local_mqtt_address(self) -> tuple[str, int]:
        raise NotSupported("the cluster's MQTT listeners are not in this process", kind="listener")

    async def listener_action(self, listener_id: str, action: str) -> ListenerInfo:
        if action not in ("start", "stop", "restart"):
            raise InvalidArgument(f"unknown action {action!r}", field="action")
        if action == "stop":
            raise NotSupported(
                "stopping a listener in EMQX disables it in the cluster's configuration", kind="listener"
            )
        answer = await self.client.request("POST", f"/listeners/{_seg(listener_id)}/{action}")
        if answer.status not in (200, 204):
            failed = _error(answer, kind="listener")
            # EMQX answers an unknown id with 400 BAD_LISTENER_ID.
            if isinstance(answer.body, dict) and answer.body.get("code") == "BAD_LISTENER_ID":
                failed = NotFound(failed.message, kind="listener")
            raise failed
        self.client.cache.drop("listeners")
        found = next((lst for lst in await self.listeners() if lst.id == listener_id), None)
        if found is None:
            raise NotFound("Listener id not found", kind="listener")
        return found

    async def _listener_written(self, listener_id: str, answer: Answer) -> ListenerInfo:
        if answer.status not in (200, 201):
            failed = _error(answer, kind="listener")
            code = answer.body.get("code") if isinstance(answer.body, dict) else None
            # EMQX answers a duplicate id with 400 BAD_LISTENER_ID "Already Exist", an unknown one with 404.
            if code == "BAD_LISTENER_ID" and answer.status == 400:
                failed = Conflict(failed.message, kind="listener")
            raise failed
        self.client.cache.drop("listeners")
        found = next((lst for lst in await self.listeners() if lst.id == listener_id), None)
        if found is None:
            raise Unavailable(f"the upstream did not list listener {listener_id} it just wrote")
        return found

    async def add_listener(self, config: ListenerConfig) -> ListenerInfo:
        answer = await self.client.request("POST", "/listeners", json=convert.listener_body(config))
        return await self._listener_written(config.id, answer)

    async def update_listener(self, config: ListenerConfig) -> ListenerInfo:
        body = {"id": config.id, **convert.listener_body(config)}
        answer = await self.client.request("PUT", f"/listeners/{_seg(config.id)}", json=body)
        return await self._listener_written(config.id, answer)

    async def remove_listener(self, listener_id: str) -> None:
        await self._send("DELETE", f"/listeners/{_seg(listener_id)}", kind="listener")
        self.client.cache.drop("listeners")

    # -- features and configuration -------------------------------------------------------------

    async def _section(self, name: str) -> dict | None:
        """One configuration section as EMQX serves it (cached); None when the upstream has no such
        endpoint (an older EMQX, or a gateway standing in for one)."""

        async def fetch() -> dict | None:
            answer = await self.client.get(settings.SECTIONS[name])
            if answer.status == 404:
                return None
            if answer.status != 200:
                raise _error(answer, kind="config")
            return answer.body

        return await self._cached(f"config:{name}", "config", fetch)

    async def _write_section(self, name: str, change: Callable[[dict], None]) -> None:
        """Read the section afresh, change it, write it back whole (keys emqgw does not know keep
        their values)."""
        self.client.cache.drop(f"config:{name}")
        doc = await self._section(name)
        if doc is None:
            raise NotSupported(f"the upstream has no {settings.SECTIONS[name]}", kind="config")
        change(doc)
        try:
            await self._send("PUT", settings.SECTIONS[name], doc, kind="config")
        finally:
            self.client.cache.drop(f"config:{name}")

    async def _presence_events(self) -> bool | None:
        doc = await self._section("sys_topics")
        if doc is None:
            return None
        key, names = settings.PRESENCE_EVENTS
        events = doc.get(key) or {}
        return all(events.get(n, False) for n in names)

    async def features(self) -> list[Feature]:
        cfg = await self.get_config()
        presence = await self._presence_events()
        own = [Feature(name="retainer", description=FEATURES["retainer"], enabled=cfg.retainer, version=VERSION)]
        if presence is not None:
            own.append(
                Feature(
                    name="presence_events", description=FEATURES["presence_events"], enabled=presence, version=VERSION
                )
            )
        return own + await self.owned_features.listed(VERSION)

    async def set_feature(self, name: str, enabled: bool) -> Feature:
        if name == "retainer":
            cfg = await self.get_config()
            await self.apply_config(attrs.evolve(cfg, retainer=bool(enabled)))
        elif name == "presence_events":
            key, names = settings.PRESENCE_EVENTS

            def switch(doc: dict) -> None:
                doc.setdefault(key, {}).update(dict.fromkeys(names, bool(enabled)))

            await self._write_section("sys_topics", switch)
        else:
            owned = await self.owned_features.switch(name, enabled, VERSION)
            if owned is None:
                raise NotFound(f"feature {name!r} not found", kind="feature")
            return owned
        return Feature(name=name, description=FEATURES[name], enabled=bool(enabled), version=VERSION)

    def register_feature(self, name: str, description: str, get: FeatureGetter, set_: FeatureSetter) -> None:
        self.owned_features.register(name, description, get, set_)

    async def get_config(self) -> BrokerConfig:
        values = settings.read({name: await self._section(name) for name in settings.SECTIONS})
        values["node_name"] = self.node_name
        values["listeners"] = [
            ListenerConfig(
                type=lst.type,
                name=lst.name,
                bind=lst.bind,
                port=lst.port,
                enable=lst.enable,
                max_connections=lst.max_connections,
                **({"path": lst.path} if lst.path else {}),
            )
            for lst in await self.listeners()
        ]
        return BrokerConfig(**values)

    async def apply_config(self, config: BrokerConfig) -> list[str]:
        """Every changed field written to its EMQX section, one PUT per section; nothing is written when
        a changed field has no EMQX counterpart (NotSupported naming it)."""
        current = await self.get_config()
        changed = [a.name for a in attrs.fields(BrokerConfig) if getattr(config, a.name) != getattr(current, a.name)]
        for field in changed:
            if field not in settings.FIELDS:
                raise NotSupported(f"EMQX has no setting for {field} here", kind="config", field=field)
        by_section: dict[str, list[str]] = {}
        for field in changed:
            by_section.setdefault(settings.FIELDS[field].section, []).append(field)
        for section, fields in by_section.items():
            await self._write_section(
                section, functools.partial(settings.write, section=section, config=config, fields=fields)
            )
        return []

    # -- banned and alarms ----------------------------------------------------------------------

    async def list_banned(self, *, offset: int, limit: int) -> Page[BannedEntry]:
        return await self._page("/banned", [], offset, limit, convert.ban)

    async def add_banned(self, entry: BannedEntry) -> BannedEntry:
        check_banned(entry)
        doc = await self._send("POST", "/banned", convert.ban_body(entry), kind="banned", field="who")
        return convert.ban(doc) if isinstance(doc, dict) and "as" in doc else entry

    async def delete_banned(self, as_: str, who: str) -> None:
        await self._send("DELETE", f"/banned/{_seg(as_)}/{_seg(who)}", kind="banned")

    async def clear_banned(self) -> None:
        await self._send("DELETE", "/banned")

    async def list_alarms(self, *, activated: bool | None = None) -> list[Alarm]:
        wanted = (True, False) if activated is None else (activated,)
        rows: list[Alarm] = []
        for which in wanted:
            rows += await self._all("/alarms", [("activated", "true" if which else "false")], convert.alarm)
        return sorted(rows, key=lambda a: a.activate_at, reverse=True)

    async def deactivate_alarm(self, name: str) -> Alarm:
        current = next((a for a in await self.list_alarms(activated=True) if a.name == name), None)
        if current is None:
            raise NotFound(f"alarm {name!r} is not activated", kind="alarm")
        await self._send("POST", "/alarms/force_deactivate", {"name": name}, kind="alarm")
        gone = next((a for a in await self.list_alarms(activated=False) if a.name == name), None)
        return gone or current

    async def clear_alarm_history(self) -> None:
        await self._send("DELETE", "/alarms")

    # -- lifecycle ------------------------------------------------------------------------------

    async def stop(self) -> None:
        raise NotSupported("an EMQX cluster is not stopped through the gateway", kind="node")

    async def start(self) -> None:
        raise NotSupported("an EMQX cluster is not started through the gateway", kind="node")

    async def restart(self) -> None:
        raise NotSupported("an EMQX cluster is not restarted through the gateway", kind="node")
