"""`/api/v5/clients/{id}/mqueue_messages` and `/inflight_messages`: real queues, paged by position."""

import base64

from tests.mqtt_helpers import Client, Raw, connect_bytes, wait_for


def held(v5, clientid: str, queue: str) -> int:
    return v5.broker.call(lambda: len(getattr(v5.broker.broker.sessions[clientid], queue)))


async def test_mqueue_of_an_offline_session_paged_by_position(make_v5):
    v5 = await make_v5(max_mqueue_len=5)
    sub = Client(v5.broker, "away", clean=False)
    sub.subscribe("q/#", 1)
    sub.disconnect()
    pub = v5.client("pub", username="alice")
    for i in range(5):
        pub.publish(f"q/{i}", f"m{i}".encode(), qos=1)
    wait_for(lambda: held(v5, "away", "mqueue") == 5)

    first = await v5.json("get", "/clients/away/mqueue_messages?limit=2")
    assert [m["topic"] for m in first["data"]] == ["q/0", "q/1"]
    m0 = first["data"][0]
    assert base64.b64decode(m0["payload"]) == b"m0" and m0["qos"] == 1 and m0["mqueue_priority"] == 0
    assert (m0["from_clientid"], m0["from_username"]) == ("pub", "alice") and len(m0["msgid"]) == 32
    assert isinstance(m0["publish_at"], int)
    meta = first["meta"]
    assert meta["start"] != meta["position"]  # the first message, and the last of this page
    position = meta["position"]
    second = await v5.json("get", f"/clients/away/mqueue_messages?limit=2&position={position}")
    assert [m["topic"] for m in second["data"]] == ["q/2", "q/3"] and second["meta"]["start"] == meta["start"]
    third = await v5.json("get", f"/clients/away/mqueue_messages?position={second['meta']['position']}")
    assert [m["topic"] for m in third["data"]] == ["q/4"]
    end = third["meta"]["position"]
    past = await v5.json("get", f"/clients/away/mqueue_messages?position={end}")
    assert past == {"data": [], "meta": {"start": meta["start"], "position": end}}  # the position echoed

    # the full queue drops its head for a new message: the others keep their positions
    pub.publish("q/5", b"m5", qos=1)
    wait_for(lambda: v5.broker.call(lambda: v5.broker.broker.sessions["away"].mqueue[0][0].topic) == "q/1")
    more = await v5.json("get", f"/clients/away/mqueue_messages?position={second['meta']['position']}")
    assert [m["topic"] for m in more["data"]] == ["q/4", "q/5"]
    assert more["meta"]["start"] != meta["start"]  # q/1 is first now

    # EMQX's dashboard shows heap_size as "<n> bytes": here the payload bytes the session holds
    assert (await v5.json("get", "/clients/away"))["heap_size"] == sum(len(f"m{i}") for i in range(1, 6))
    plain = await v5.json("get", "/clients/away/mqueue_messages?payload=plain&limit=1")
    assert plain["data"][0]["payload"] == "m1"
    bare = await v5.json("get", "/clients/away/mqueue_messages?payload=none&limit=1")
    assert "payload" not in bare["data"][0]
    # the byte budget: the first message always, then as many as fit
    budget = await v5.json("get", "/clients/away/mqueue_messages?payload=plain&max_payload_bytes=5")
    assert [m["payload"] for m in budget["data"]] == ["m1", "m2"]


async def test_errors_of_the_message_queues(v5):
    assert (await v5.json("get", "/clients/ghost/mqueue_messages", status=404))["code"] == "CLIENTID_NOT_FOUND"
    v5.client("here")
    bad = await v5.json("get", "/clients/here/mqueue_messages?position=x_y", status=400)
    assert bad == {"code": "INVALID_PARAMETER", "message": "position_limit_invalid"}
    assert (await v5.json("get", "/clients/here/inflight_messages?limit=0", status=400))["code"] == "BAD_REQUEST"
    assert (await v5.json("get", "/clients/here/inflight_messages?payload=hex", status=400))["code"] == "BAD_REQUEST"
    bad = await v5.json("get", "/clients/here/inflight_messages?max_payload_bytes=lots", status=400)
    assert bad["code"] == "BAD_REQUEST"
    empty = await v5.json("get", "/clients/here/inflight_messages")
    assert empty == {"data": [], "meta": {"start": "none", "position": "none"}}
    sub = Client(v5.broker, "binary", clean=False)
    sub.subscribe("bin", 1)
    sub.disconnect()
    v5.client("pub").publish("bin", b"\xff\xfe", qos=1)
    wait_for(lambda: held(v5, "binary", "mqueue") == 1)
    answer = await v5.json("get", "/clients/binary/mqueue_messages?payload=plain", status=400)
    assert answer == {"code": "INVALID_PARAMETER", "message": "Some message payloads are not JSON serializable"}


async def test_inflight_window_of_a_client_that_does_not_acknowledge(make_v5):
    v5 = await make_v5(max_inflight=2)
    raw = Raw(v5.broker.port())
    raw.send(connect_bytes("slow"))
    raw.recv(4)
    raw.send(bytes([0x82, 6, 0, 1, 0, 1]) + b"w" + b"\x01")  # SUBSCRIBE w, QoS 1; never PUBACKs
    assert raw.recv(5)[0] == 0x90
    pub = v5.client("pub")
    for i in range(4):
        pub.publish("w", f"p{i}".encode(), qos=1)
    wait_for(lambda: held(v5, "slow", "inflight") == 2 and held(v5, "slow", "mqueue") == 2)
    inflight = await v5.json("get", "/clients/slow/inflight_messages?payload=plain")
    assert [m["payload"] for m in inflight["data"]] == ["p0", "p1"]
    assert "mqueue_priority" not in inflight["data"][0]
    page = await v5.json("get", "/clients/slow/inflight_messages?payload=plain&limit=1")
    rest = await v5.json("get", f"/clients/slow/inflight_messages?payload=plain&position={page['meta']['position']}")
    assert [m["payload"] for m in page["data"] + rest["data"]] == ["p0", "p1"]
    queued = await v5.json("get", "/clients/slow/mqueue_messages?payload=plain")
    assert [m["payload"] for m in queued["data"]] == ["p2", "p3"]
    raw.close()
