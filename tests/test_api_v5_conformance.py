"""`/api/v5` answers, and the requests that produced them, validated against EMQX 5.8's own published API
document (../shared/reference/emqx-5.8-openapi-structure.json) with a JSON Schema validator.

Every case below is a real request to a real gateway whose broker holds real clients, sessions,
retained messages and bans. A request body must satisfy the operation's requestBody schema; the answer's
status must be one the operation documents, and its body that status's schema. Where EMQX's server
knowingly differs from its own document, the server's behaviour is what is served, and the difference
is in ALLOWED with its reason (references: emqx-v5-api.md, auth-config-apis.md §7); where this broker
lacks a feature, the answer is the dialect's NOT_SUPPORTED, also listed.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import jsonschema_rs
import pytest

from tests.mqtt_helpers import Client, wait_for
from tests.reference import EMQX_OPENAPI, reference_file
from tests.v5_helpers import API, bearer

DOCUMENT = reference_file(EMQX_OPENAPI)
if DOCUMENT is None:
    pytest.skip(
        "EMQX's published API document (shared/reference, tests.reference) is not here", allow_module_level=True
    )
with open(DOCUMENT) as f:
    DOC = json.load(f)

STAR = "*"
# (method, path, status, where in the body ("*" = any part), reason): a difference from the document
# that is EMQX's server's own, or this broker's NOT_SUPPORTED for a feature it lacks.
ALLOWED: list[tuple[str, str, int, tuple, str]] = [
    ("GET", "/api_key", 200, (), "the document says an object; the server answers an array of them (§1.3)"),
    ("GET", "/subscriptions", 200, (), "the document says a bare array; the server answers {data, meta} (§3.3)"),
    ("GET", "/banned", 200, ("meta",), "unfiltered, the server's meta has no hasnext, which the document requires"),
    ("GET", "/sessions_count", 200, (), "the document says a string; the server answers a bare integer (§3.2)"),
    ("GET", "/clients", 200, ("data", STAR, STAR), "username and mountpoint are null when unset (§5.1)"),
    ("GET", "/clients/{clientid}", 200, (STAR,), "username and mountpoint are null when unset (§5.1)"),
    ("POST", "/logout", 401, ("code",), "the server's code is WRONG_TOKEN_OR_USERNAME (emqx_dashboard_api, §1.2)"),
    # Framework validation (emqx_dashboard_swagger) answers BAD_REQUEST on every operation; the
    # document lists the handlers' own codes only (§2.1).
    ("GET", "/clients", 400, ("code",), "a schema violation is BAD_REQUEST on every operation (§2.1)"),
    ("PUT", "/configs/global_zone", 400, ("code",), "a field this broker lacks is NOT_SUPPORTED"),
    ("PUT", "/configs/sysmon", 400, ("code",), "a field this broker lacks is NOT_SUPPORTED"),
    ("PUT", "/mqtt/retainer", 400, ("code",), "a field this broker lacks is NOT_SUPPORTED"),
    ("POST", "/listeners", 400, ("code",), "a listener type this broker lacks (quic) is NOT_SUPPORTED"),
    ("PUT", "/telemetry/status", 400, (), "telemetry cannot be switched on here: NOT_SUPPORTED"),
    ("PUT", "/prometheus", 400, (), "pushing metrics is NOT_SUPPORTED here (the document lists no 400)"),
]


def _allowed(method: str, path: str, status: int, where: list, used: set) -> bool:
    for i, (m, p, s, pattern, _reason) in enumerate(ALLOWED):
        if (m, p, s) != (method, path, status) or len(where) < len(pattern):
            continue
        if all(want == STAR or want == str(got) for want, got in zip(pattern, where, strict=False)):
            used.add(i)
            return True
    return False


def _schema(content: dict | None) -> dict | None:
    if not content:
        return None
    media = content.get("application/json") or next(iter(content.values()))
    return media.get("schema")


def _any_of(node):
    """EMQX's document writes hocon's union types as `oneOf`, whose members overlap (any string, or the
    string "infinity"): they mean `anyOf`, and are validated so."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_any_of(v) for v in node]
    return node


COMPONENTS = _any_of(DOC["components"])


def _problems(schema: dict, instance) -> list[tuple[list, str]]:
    validator = jsonschema_rs.validator_for({"components": COMPONENTS, "allOf": [_any_of(schema)]})
    return [(list(e.instance_path), e.message) for e in validator.iter_errors(instance)]


class Conformance:
    """Sends each case and collects what the document does not allow."""

    def __init__(self, v5, token: str):
        self.v5 = v5
        self.token = token
        self.failures: list[str] = []
        self.operations: set[tuple[str, str]] = set()
        self.used: set[int] = set()  # the ALLOWED entries some answer needed

    async def check(
        self, method: str, path: str, url: str, body=None, status: int | None = None, bearer_only=False, raw=None
    ):
        """``raw``: a body sent as text/plain (HOCON), which no JSON schema describes."""
        op = DOC["paths"][path][method.lower()]
        self.operations.add((method, path))
        if body is not None and "requestBody" in op:
            for where, msg in _problems(_schema(op["requestBody"]["content"]), body):
                self.failures.append(f"{method} {url} request {where}: {msg}")
        headers = bearer(self.token) if bearer_only else self.v5.auth
        if raw is not None:
            headers = {**headers, "Content-Type": "text/plain"}
        r = await self.v5.http.request(method, API + url, json=body, data=raw, headers=headers)
        text = await r.text()
        if status is not None:
            assert r.status == status, f"{method} {url}: {r.status} {text}"
        documented = op["responses"].get(str(r.status))
        if documented is None:
            if not _allowed(method, path, r.status, [], self.used):
                self.failures.append(f"{method} {url}: status {r.status} is not documented ({text[:120]})")
            return r.status, text
        schema = _schema(documented.get("content"))
        if schema is not None and text and r.content_type == "application/json":
            for where, msg in _problems(schema, json.loads(text)):
                if not _allowed(method, path, r.status, where, self.used):
                    self.failures.append(f"{method} {url} -> {r.status} {where}: {msg}")
        return r.status, text


@pytest.fixture
async def conformance(v5):
    live = v5.client("conf-live", username="u1")
    live.subscribe("conf/+", 1)
    live.subscribe("$share/g/conf/shared", 0)
    away = Client(v5.broker, "conf-away", clean=False)
    away.subscribe("conf/#", 1)
    away.disconnect()
    live.publish("conf/retained", b"r", 1, retain=True)
    live.publish("conf/q", b"q", 1)
    wait_for(lambda: v5.broker.call(lambda: len(v5.broker.broker.sessions["conf-away"].mqueue)) >= 1)
    r = await v5.http.post(API + "/login", json={"username": "admin", "password": "public"})
    return Conformance(v5, (await r.json())["token"])


async def test_answers_and_requests_conform_to_emqx_document(conformance):
    c = conformance
    now = int(time.time())
    # nodes, stats, metrics, monitor
    await c.check("GET", "/nodes", "/nodes", status=200)
    node = c.v5.node
    await c.check("GET", "/nodes/{node}", f"/nodes/{node}", status=200)
    await c.check("GET", "/nodes/{node}", "/nodes/nobody@nowhere", status=404)
    await c.check("GET", "/nodes/{node}/stats", f"/nodes/{node}/stats", status=200)
    await c.check("GET", "/nodes/{node}/metrics", f"/nodes/{node}/metrics", status=200)
    await c.check("GET", "/stats", "/stats", status=200)
    await c.check("GET", "/stats", "/stats?aggregate=true", status=200)
    await c.check("GET", "/metrics", "/metrics", status=200)
    await c.check("GET", "/monitor", "/monitor?latest=60", status=200)
    await c.check("GET", "/monitor_current", "/monitor_current", status=200)
    await c.check("GET", "/monitor_current/nodes/{node}", f"/monitor_current/nodes/{node}", status=200)
    await c.check("GET", "/monitor/nodes/{node}", f"/monitor/nodes/{node}", status=200)
    # clients and sessions
    await c.check("GET", "/clients", "/clients", status=200)
    await c.check("GET", "/clients", "/clients?page=0", status=400)
    await c.check("GET", "/clients", "/clients?proto_ver=x", status=400)
    await c.check("GET", "/clients/{clientid}", "/clients/conf-live", status=200)
    await c.check("GET", "/clients/{clientid}", "/clients/ghost", status=404)
    await c.check("GET", "/clients/{clientid}/subscriptions", "/clients/conf-live/subscriptions", status=200)
    sub = {"topic": "conf/extra", "qos": 1}
    await c.check("POST", "/clients/{clientid}/subscribe", "/clients/conf-live/subscribe", sub, status=200)
    bulk = [{"topic": "conf/b1"}, {"topic": "conf/b2", "qos": 2}]
    await c.check("POST", "/clients/{clientid}/subscribe/bulk", "/clients/conf-live/subscribe/bulk", bulk, status=200)
    await c.check("POST", "/clients/{clientid}/unsubscribe", "/clients/conf-live/unsubscribe", {}, status=204)
    unsub = {"topic": "conf/extra"}
    await c.check("POST", "/clients/{clientid}/unsubscribe", "/clients/conf-live/unsubscribe", unsub, status=204)
    await c.check(
        "POST", "/clients/{clientid}/unsubscribe/bulk", "/clients/conf-live/unsubscribe/bulk", [unsub], status=204
    )
    await c.check("GET", "/clients/{clientid}/mqueue_messages", "/clients/conf-away/mqueue_messages", status=200)
    await c.check("GET", "/clients/{clientid}/inflight_messages", "/clients/conf-live/inflight_messages", status=200)
    await c.check("GET", "/clients/{clientid}/mqueue_messages", "/clients/ghost/mqueue_messages", status=404)
    await c.check(
        "GET", "/clients/{clientid}/mqueue_messages", "/clients/conf-away/mqueue_messages?position=x", status=400
    )
    await c.check("GET", "/sessions_count", "/sessions_count", status=200)
    # subscriptions, topics, publish
    await c.check("GET", "/subscriptions", "/subscriptions", status=200)
    await c.check("GET", "/subscriptions", "/subscriptions?match_topic=conf/1", status=200)
    await c.check("GET", "/topics", "/topics", status=200)
    await c.check("GET", "/topics/{topic}", f"/topics/{quote('conf/+', safe='')}", status=200)
    await c.check("POST", "/publish", "/publish", {"topic": "conf/1", "payload": "x", "qos": 1}, status=200)
    await c.check("POST", "/publish", "/publish", {"topic": "nobody/here", "payload": "x"}, status=202)
    await c.check("POST", "/publish/bulk", "/publish/bulk", [{"topic": "conf/1", "payload": "y"}], status=200)
    # banned, alarms
    ban = {"as": "clientid", "who": "conf-bad", "reason": "test", "until": now + 3600}
    await c.check("POST", "/banned", "/banned", ban, status=200)
    await c.check("POST", "/banned", "/banned", ban, status=400)
    await c.check("GET", "/banned", "/banned", status=200)
    await c.check("GET", "/banned", "/banned?clientid=conf-bad", status=200)
    await c.check("DELETE", "/banned/{as}/{who}", "/banned/clientid/conf-bad", status=204)
    await c.check("DELETE", "/banned/{as}/{who}", "/banned/clientid/conf-bad", status=404)
    await c.check("GET", "/alarms", "/alarms", status=200)
    await c.check("GET", "/alarms", "/alarms?activated=false", status=200)
    await c.check("DELETE", "/alarms", "/alarms", status=204)
    # retainer
    await c.check("GET", "/mqtt/retainer", "/mqtt/retainer", status=200)
    retainer = json.loads((await c.check("GET", "/mqtt/retainer", "/mqtt/retainer"))[1])
    await c.check("PUT", "/mqtt/retainer", "/mqtt/retainer", retainer, status=200)
    await c.check("PUT", "/mqtt/retainer", "/mqtt/retainer", {"delivery_rate": "10/s"}, status=400)
    await c.check("GET", "/mqtt/retainer/messages", "/mqtt/retainer/messages", status=200)
    topic = quote("conf/retained", safe="")
    await c.check("GET", "/mqtt/retainer/message/{topic}", f"/mqtt/retainer/message/{topic}", status=200)
    await c.check("DELETE", "/mqtt/retainer/message/{topic}", f"/mqtt/retainer/message/{topic}", status=204)
    await c.check("GET", "/mqtt/retainer/message/{topic}", f"/mqtt/retainer/message/{topic}", status=404)
    # listeners
    await c.check("GET", "/listeners", "/listeners", status=200)
    await c.check("GET", "/listeners_status", "/listeners_status", status=200)
    await c.check("GET", "/listeners/{id}", "/listeners/tcp:default", status=200)
    await c.check("GET", "/listeners/{id}", "/listeners/tcp:nope", status=404)
    made = {"type": "tcp", "name": "conf", "bind": "127.0.0.1:0"}
    await c.check("POST", "/listeners", "/listeners", made, status=200)
    await c.check("POST", "/listeners", "/listeners", made, status=400)
    await c.check("POST", "/listeners", "/listeners", {"type": "quic", "name": "q", "bind": "0"}, status=400)
    off = {"type": "tcp", "id": "tcp:conf", "enable": False}
    await c.check("PUT", "/listeners/{id}", "/listeners/tcp:conf", off, status=200)
    await c.check("POST", "/listeners/{id}/stop", "/listeners/tcp:conf/stop", status=200)
    await c.check("DELETE", "/listeners/{id}", "/listeners/tcp:conf", status=204)
    await c.check("DELETE", "/listeners/{id}", "/listeners/tcp:conf", status=404)
    # configuration
    for root in ("sys_topics", "alarm", "sysmon", "log", "broker"):
        _, text = await c.check("GET", f"/configs/{root}", f"/configs/{root}", status=200)
        await c.check("PUT", f"/configs/{root}", f"/configs/{root}", json.loads(text), status=200)
    _, text = await c.check("GET", "/configs/global_zone", "/configs/global_zone", status=200)
    await c.check("PUT", "/configs/global_zone", "/configs/global_zone", json.loads(text), status=200)
    bad = {"mqtt": {"ignore_loop_deliver": True}}
    await c.check("PUT", "/configs/global_zone", "/configs/global_zone", bad, status=400)
    await c.check("PUT", "/configs/sysmon", "/configs/sysmon", {"os": {"cpu_check_interval": "1x"}}, status=400)
    split = {"os": {"cpu_check_interval": "10s", "mem_check_interval": "20s"}}
    await c.check("PUT", "/configs/sysmon", "/configs/sysmon", split, status=400)
    await c.check("GET", "/configs", "/configs?key=mqtt", status=200)
    await c.check("PUT", "/configs", "/configs?mode=merge", status=200, raw=b'{"alarm": {"size_limit": 9}}')
    await c.check("PUT", "/configs", "/configs", status=400, raw=b"alarm { size_limit = 9 }")
    await c.check("POST", "/configs_reset/{rootname}", "/configs_reset/alarm", status=200)
    await c.check("POST", "/configs_reset/{rootname}", "/configs_reset/alarm?conf_path=x.y", status=400)
    # prometheus, telemetry, status
    _, text = await c.check("GET", "/prometheus", "/prometheus", status=200)
    await c.check("PUT", "/prometheus", "/prometheus", json.loads(text), status=200)
    legacy = {
        "enable": False,
        "push_gateway_server": "http://127.0.0.1:9091",
        "interval": "15s",
        "job_name": "${name}/instance/${name}~${host}",
        **{f"{name}_collector": "disabled" for name in ("mnesia", "vm_dist", "vm_memory", "vm_msacc")},
        **{f"{name}_collector": "disabled" for name in ("vm_statistics", "vm_system_info")},
    }
    await c.check("PUT", "/prometheus", "/prometheus", legacy, status=200)
    await c.check("PUT", "/prometheus", "/prometheus", {**legacy, "enable": True}, status=400)
    await c.check("GET", "/prometheus/stats", "/prometheus/stats", status=200)
    await c.check("GET", "/prometheus/data_integration", "/prometheus/data_integration", status=200)
    await c.check("GET", "/telemetry/status", "/telemetry/status", status=200)
    await c.check("PUT", "/telemetry/status", "/telemetry/status", {"enable": True}, status=400)
    await c.check("GET", "/status", "/status", status=200)
    await c.check("GET", "/status", "/status?format=json", status=200)
    await c.check("GET", "/status", "/status?format=yaml", status=200)
    # api keys, users, login
    key = {"name": "conf-key", "desc": "d", "enable": True}
    await c.check("POST", "/api_key", "/api_key", key, status=200, bearer_only=True)
    await c.check("GET", "/api_key", "/api_key", status=200, bearer_only=True)
    _, text = await c.check("GET", "/api_key/{name}", "/api_key/conf-key", status=200, bearer_only=True)
    shown = {k: v for k, v in json.loads(text).items() if k in ("desc", "enable", "expired", "expired_at")}
    await c.check("PUT", "/api_key/{name}", "/api_key/conf-key", shown, status=200, bearer_only=True)
    await c.check("PUT", "/api_key/{name}", "/api_key/conf-key", {"enable": False}, status=200, bearer_only=True)
    await c.check("PUT", "/api_key/{name}", "/api_key/nope", {"enable": False}, status=404, bearer_only=True)
    await c.check("DELETE", "/api_key/{name}", "/api_key/conf-key", status=204, bearer_only=True)
    await c.check("GET", "/users", "/users", status=200, bearer_only=True)
    user = {"username": "confuser", "password": "conf-pass-1", "description": "x"}
    await c.check("POST", "/users", "/users", user, status=200, bearer_only=True)
    await c.check("PUT", "/users/{username}", "/users/confuser", {}, status=200, bearer_only=True)
    await c.check("PUT", "/users/{username}", "/users/confuser", {"description": "y"}, status=200, bearer_only=True)
    await c.check("PUT", "/users/{username}", "/users/ghost", {"description": "y"}, status=404, bearer_only=True)
    pwd = {"old_pwd": "conf-pass-1", "new_pwd": "conf-pass-2"}
    await c.check("POST", "/users/{username}/change_pwd", "/users/confuser/change_pwd", pwd, status=204)
    await c.check("DELETE", "/users/{username}", "/users/confuser", status=204, bearer_only=True)
    await c.check("POST", "/login", "/login", {"username": "admin", "password": "wrong"}, status=401)
    await c.check("POST", "/login", "/login", {}, status=401)
    await c.check("POST", "/logout", "/logout", {"username": "nobody"}, status=401, bearer_only=True)
    await c.check("POST", "/logout", "/logout", {}, status=204, bearer_only=True)
    assert not c.failures, "\n".join(c.failures)
    assert len(c.operations) >= 75, len(c.operations)
    # An allowance no answer needs any more is a difference that went away: drop it.
    assert [ALLOWED[i] for i in range(len(ALLOWED)) if i not in c.used] == []
