"""`emqgw translate` and the operation crosswalk it reads: offline rewriting, the table checked against
the route tables actually served, and translated requests run against a real gateway."""

import json
import os
import subprocess
import sys

import aiohttp
import pytest

from adapters.common.operations import OPERATIONS, PREFIXES
from adapters.common.translate import TranslateError, translate
from tests.mqtt_helpers import Client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISSUE_EXAMPLE = "GET /api/v2/nodes/emq@127.0.0.1/clients?curr_page=2&page_size=50"


def target(tr, dialect):
    return next(t for t in tr.targets if t.dialect == dialect)


def test_issue_example_paging_and_per_node_path():
    tr = translate(ISSUE_EXAMPLE)
    assert (tr.source, tr.operation.name) == ("v2", "clients.list_node")
    v5 = target(tr, "v5")
    assert (v5.method, v5.path) == ("GET", "/api/v5/clients?node=emq@127.0.0.1&page=2&limit=50")
    assert any("`curr_page` → `page`" in n for n in v5.notes)
    assert target(tr, "emqx4").path == "/api/v4/nodes/emq@127.0.0.1/clients?_page=2&_limit=50"
    nano = target(tr, "nanomq")
    assert not nano.exists and "NanoMQ is one node" in nano.missing
    nano = target(translate("GET /api/v4/clients?_page=2"), "nanomq")
    assert nano.path == "/api/v4/clients"
    assert any("`_page` has no NanoMQ equivalent: dropped" in n for n in nano.notes)


def test_curl_subscribe_moves_clientid_into_v5_path_and_nanomq_has_none():
    tr = translate(
        "curl -u admin:public -X POST http://127.0.0.1:8081/api/v4/mqtt/subscribe "
        '-H \'Content-Type: application/json\' -d \'{"clientid":"c 1","topic":"a/b","qos":1}\''
    )
    assert (tr.source, tr.operation.name, tr.request.user) == ("emqx4", "subscribe", "admin:public")
    v5 = target(tr, "v5")
    assert (v5.path, v5.body) == ("/api/v5/clients/c%201/subscribe", {"topic": "a/b", "qos": 1})
    assert any("`clientid` moves into the path" in n for n in v5.notes)
    assert target(tr, "v2").body == {"client_id": "c 1", "topic": "a/b", "qos": 1}
    nano = target(tr, "nanomq")
    assert not nano.exists and "Unsupported" in nano.missing


def test_fixed_values_select_the_operation_both_ways():
    tr = translate('PUT /api/v2/nodes/n@h/plugins/emq_retainer {"active": false}')
    assert tr.operation.name == "plugins.unload"
    assert target(tr, "emqx4").path == "/api/v4/nodes/n@h/plugins/emq_retainer/unload"
    assert not target(tr, "v5").exists
    back = translate("PUT /api/v4/nodes/n@h/plugins/emq_retainer/load")
    assert target(back, "v2").body == {"active": True}


def test_times_are_converted_and_unknown_inputs_flagged():
    tr = translate("GET /api/v4/clients?_gte_created_at=1700000000&_page=1&zone=external")
    v5 = target(tr, "v5")
    assert "gte_created_at=2023-11-14T" in v5.path and "page=1" in v5.path
    assert any("not in the crosswalk" in n for n in v5.notes) and tr.notes
    assert not target(tr, "v2").exists  # v2 lists per node only
    ban = translate('POST /api/v5/banned {"as":"clientid","who":"x","until":"2030-01-01T00:00:00+00:00"}')
    assert target(ban, "emqx4").body["until"] == 1893456000
    assert not target(ban, "v2").exists


def test_node_placeholder_or_given_node():
    tr = translate("GET /api/v5/clients/abc/subscriptions")
    assert target(tr, "v2").path == "/api/v2/subscriptions/abc"
    tr = translate("GET /api/v5/clients?node=n1&limit=5")
    assert target(tr, "v2").path == "/api/v2/nodes/n1/clients?page_size=5"
    assert target(translate("GET /api/v5/subscriptions"), "v2").missing
    topic = translate("GET /api/v5/topics/a/b")
    assert target(topic, "v2").path == "/api/v2/routes/a%2Fb"


@pytest.mark.parametrize("text", ["", "GET /api/v2/nope", "GET /metrics", "POST /api/v5/publish {bad"])
def test_unreadable_requests(text):
    with pytest.raises(TranslateError):
        translate(text)


def served_routes(gateway_dialects):
    out = set()
    for dl in gateway_dialects.values():
        for ep in dl.table.endpoints:
            path = ep.path.replace("{topic:.+}", "{topic}").replace("{who:.+}", "{who}")
            out.add((dl.prefix, ep.method, path))
    return out


async def test_every_call_in_the_table_is_served(gateway):
    """The crosswalk names only calls the gateway serves (a served `{action}` may be the table's `load`)."""
    import re

    gw = await gateway()
    served = [
        (p, m, re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"))
        for p, m, path in served_routes(gw.dialects)
    ]
    missing = []
    for op in OPERATIONS:
        for col in ("v2", "emqx4", "nanomq", "v5"):
            call = op.call(col)
            if call is None:
                assert op.instead(col), (op.name, col)  # every gap says what to do instead
                continue
            if not any(p == PREFIXES[col] and m == call.method and rx.match(call.path) for p, m, rx in served):
                missing.append((op.name, col, call.method, call.path))
    assert missing == []


async def test_translated_requests_give_the_same_answer(gateway):
    """The issue's example, run through each dialect: the same clients come back."""
    gw = await gateway()
    node = gw.ctx.control.node_name
    key, secret = gw.accounts.create_api_key("t", "", True, None)
    auth = {
        "v2": {"Authorization": aiohttp.encode_basic_auth("admin", "public")},
        "v4": {"Authorization": aiohttp.encode_basic_auth("admin", "public")},
        "v5": {"Authorization": aiohttp.encode_basic_auth(key.api_key, secret)},
    }
    clients = [Client(gw.broker, f"tr-{i}") for i in range(3)]
    try:
        tr = translate(f"GET /api/v2/nodes/{node}/clients?curr_page=1&page_size=50")
        r = await gw.http.get(f"/api/v2/nodes/{node}/clients?curr_page=1&page_size=50", headers=auth["v2"])
        v2_ids = {row["client_id"] for row in (await r.json())["result"]["objects"]}
        got = {}
        for t in (t for t in tr.targets if t.exists):
            r = await gw.http.get(t.path, headers=auth["v5" if t.dialect == "v5" else "v4"])
            body = await r.json()
            rows = body["data"]
            got[t.dialect] = {row.get("clientid", row.get("client_id")) for row in rows}
        assert v2_ids == {c.clientid for c in clients}
        assert got == {"emqx4": v2_ids, "v5": v2_ids}
        # publish translated from v2 reaches a subscriber, through every dialect
        sub = clients[0]
        sub.subscribe("tr/t", 1)
        tr = translate('POST /api/v2/mqtt/publish {"topic":"tr/t","payload":"x","qos":1,"client_id":"api"}')
        for t in tr.targets:
            if not t.exists:
                continue
            r = await gw.http.post(
                t.path, json={**t.body, "payload": t.dialect}, headers=auth["v5" if t.dialect == "v5" else "v4"]
            )
            assert r.status == 200, await r.text()
            assert sub.expect().payload == t.dialect.encode()
    finally:
        for c in clients:
            c.disconnect()


def test_cli_translate_text_json_and_errors():
    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli", "translate", *a], cwd=ROOT, capture_output=True, text=True, timeout=30
        )

    r = run(ISSUE_EXAMPLE)
    assert r.returncode == 0, r.stderr
    assert "EMQX 5: GET /api/v5/clients?node=emq@127.0.0.1&page=2&limit=50" in r.stdout
    assert "NanoMQ: no equivalent. NanoMQ is one node" in r.stdout
    r = run("--json", "POST /api/v4/mqtt/publish_batch")
    doc = json.loads(r.stdout)
    assert doc["operation"] == "publish.bulk"
    assert {t["dialect"]: t["exists"] for t in doc["targets"]} == {"v2": False, "nanomq": True, "v5": True}
    r = run("--curl", "GET /api/v5/clients/c1")
    assert "curl -u USER:SECRET -X GET http://127.0.0.1:18083/api/v2/clients/c1" in r.stdout
    r = run("GET /api/v2/nothing/here")
    assert r.returncode == 2 and "no operation in the crosswalk" in r.stderr


def test_cli_translate_run_against_a_real_gateway(tmp_path):
    import signal

    import paho.mqtt.client as paho

    from tests.serve_helpers import listening_lines, port_of, serve

    proc = serve("--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="run-client")
    try:
        lines = listening_lines(proc, 2)
        base = f"http://127.0.0.1:{port_of(lines, 'listening: http')}"
        client.connect("127.0.0.1", port_of(lines, "listening: mqtt tcp"))
        client.loop_start()
        client.subscribe("run/topic", 1)

        def run(*a):
            return subprocess.run(
                [sys.executable, "-m", "gateway.cli", "translate", "--run", "--base", base, *a],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=30,
            )

        import time

        end = time.monotonic() + 5
        while True:  # the subscription is in once the v5 answer lists it
            r = run("GET /api/v2/subscriptions/run-client")
            if r.stdout.count('"run/topic"') >= 4 or time.monotonic() > end:
                break
            time.sleep(0.05)
        assert r.returncode == 0, r.stderr
        answers = r.stdout.split("== answers")[1]
        assert "--- EMQ 2.x: GET /api/v2/subscriptions/run-client -> 200" in answers
        assert "--- EMQX 5: GET /api/v5/clients/run-client/subscriptions -> 200" in answers
        assert "--- NanoMQ: GET /api/v4/subscriptions/run-client -> 200" in answers
        assert answers.count('"run/topic"') == 4  # v2, EMQX 4, NanoMQ, v5
        # the node placeholder is filled from the running gateway
        r = run("GET /api/v5/clients?limit=10&node=emqgw@127.0.0.1")
        assert "--- EMQ 2.x: GET /api/v2/nodes/emqgw@127.0.0.1/clients?page_size=10 -> 200" in r.stdout
        # writes need consent, then every equivalent acts (here: three publishes arrive)
        got = []
        client.on_message = lambda c, u, m: got.append(m.payload)
        r = run('POST /api/v5/publish {"topic": "run/topic", "payload": "p"}')
        assert r.returncode == 2 and "--allow-writes" in r.stderr
        r = run("--allow-writes", 'POST /api/v5/publish {"topic": "run/topic", "payload": "p"}')
        assert r.returncode == 0 and "-> 200" in r.stdout
        end = time.monotonic() + 5
        while len(got) < 4 and time.monotonic() < end:
            time.sleep(0.02)
        assert got == [b"p"] * 4  # v5 (the source), v2, EMQX 4, NanoMQ
        r = run("--password", "wrong", "GET /api/v2/routes")
        assert r.returncode == 2 and "cannot log in" in r.stderr
    finally:
        client.loop_stop()
        client.disconnect()
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def test_crosswalk_docs_are_generated_from_the_table():
    from adapters.common.translate import markdown

    r = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "crosswalk"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 0 and r.stdout == markdown()
    table = r.stdout.split("## Inputs")[0]
    for op in OPERATIONS:
        assert f"| {op.name}: {op.summary} |" in table, op.name
    assert "| routes.list: Route table / topics | `GET /api/v2/routes` | `GET /api/v4/routes` |" in r.stdout
    assert "`GET /api/v5/clients` `node={node}`" in r.stdout
    assert "| clients.list | `curr_page` | `_page` | – | `page` |" in r.stdout
    assert "| `client_id` | `clientid` | `client_id` | `clientid` | plain |" in r.stdout
