"""`/api/v5` subscriptions, topics and publish against real paho clients."""

import base64


async def test_subscriptions_listing_filters_and_meta(v5):
    a, b = v5.client("a", v5=True), v5.client("b", v5=True)
    a.subscribe("t/1", 1)
    a.subscribe("t/+", 0, no_local=True, rap=True, rh=2)
    b.subscribe("$share/g1/t/1", 2)
    doc = await v5.json("get", "/subscriptions")
    assert doc["meta"] == {"page": 1, "limit": 100, "count": 3, "hasnext": False}
    rows = {(s["clientid"], s["topic"]): s for s in doc["data"]}
    assert rows[("a", "t/+")] == {
        "clientid": "a",
        "topic": "t/+",
        "node": v5.node,
        "qos": 0,
        "nl": 1,
        "rap": 1,
        "rh": 2,
        "durable": False,
    }
    assert rows[("b", "$share/g1/t/1")]["qos"] == 2
    doc = await v5.json("get", "/subscriptions?limit=1&page=2")
    assert len(doc["data"]) == 1 and doc["meta"] == {"page": 2, "limit": 1, "count": 3, "hasnext": True}
    assert [s["topic"] for s in (await v5.json("get", "/subscriptions?clientid=b"))["data"]] == ["$share/g1/t/1"]
    assert [s["topic"] for s in (await v5.json("get", "/subscriptions?qos=1"))["data"]] == ["t/1"]
    assert [s["clientid"] for s in (await v5.json("get", "/subscriptions?topic=t/1"))["data"]] == ["a"]
    assert [s["clientid"] for s in (await v5.json("get", "/subscriptions?share_group=g1"))["data"]] == ["b"]
    doc = await v5.json("get", "/subscriptions?match_topic=t/1")
    assert len(doc["data"]) == 3 and "count" not in doc["meta"] and doc["meta"]["hasnext"] is False
    assert (await v5.json("get", "/subscriptions?durable=true"))["data"] == []
    body = await v5.json("get", "/subscriptions?match_topic=$share/g/t", status=400)
    assert body == {"code": "INVALID_PARAMETER", "message": "match_topic_invalid"}
    assert (await v5.json("get", "/subscriptions?qos=3", status=400))["code"] == "BAD_REQUEST"
    assert (await v5.json("get", "/subscriptions?node=nope@x", status=404))["code"] == "NOT_FOUND"


async def test_topics(v5):
    a, b = v5.client("a"), v5.client("b")
    a.subscribe("t/1")
    b.subscribe("t/1")
    a.subscribe("s/#")
    b.subscribe("$share/g/q")
    doc = await v5.json("get", "/topics")
    assert sorted(t["topic"] for t in doc["data"]) == ["$share/g/q", "s/#", "t/1"]
    assert all(t["node"] == v5.node for t in doc["data"])
    assert doc["meta"] == {"page": 1, "limit": 100, "count": 3, "hasnext": False}
    doc = await v5.json("get", "/topics?topic=s/%23")
    assert doc == {
        "data": [{"topic": "s/#", "node": v5.node}],
        "meta": {"page": 1, "limit": 100, "count": 1, "hasnext": False},
    }
    assert (await v5.json("get", "/topics?node=other@x"))["data"] == []
    body = await v5.json("get", "/topics?topic=a/%23/b", status=400)
    assert body == {"code": "INVALID_PARAMTER", "message": "topic_filter_invalid"}
    assert await v5.json("get", "/topics/t%2F1") == [{"topic": "t/1", "node": v5.node}]
    assert await v5.json("get", "/topics/%24share%2Fg%2Fq") == [{"topic": "$share/g/q", "node": v5.node}]
    assert await v5.json("get", "/topics/t/2", status=404) == {"code": "TOPIC_NOT_FOUND", "message": "Topic not found"}


async def test_publish_outcomes(make_v5):
    v5 = await make_v5(max_packet_size=4096)
    c = v5.client("listener", v5=True)
    c.subscribe("news/#", 2)
    doc = await v5.json(
        "post",
        "/publish",
        {
            "topic": "news/a",
            "payload": "hello",
            "qos": 1,
            "properties": {
                "user_properties": {"k": "v"},
                "content_type": "text",
                "message_expiry_interval": 60,
                "payload_format_indicator": 1,
                "correlation_data": "cd",
                "response_topic": "r",
            },
            "clientid": "ignored",
        },
    )
    assert len(doc["id"]) == 32 and doc["id"] == doc["id"].upper()
    m = c.expect()
    assert (m.topic, m.payload, m.qos) == ("news/a", b"hello", 1)
    assert m.properties.UserProperty == [("k", "v")] and m.properties.ContentType == "text"
    assert m.properties.CorrelationData == b"cd" and m.properties.ResponseTopic == "r"
    await v5.json(
        "post",
        "/publish",
        {"topic": "news/b", "payload": base64.b64encode(b"\x00\x01").decode(), "payload_encoding": "base64"},
    )
    assert c.expect().payload == b"\x00\x01"
    body = await v5.json("post", "/publish", {"topic": "nobody/here", "payload": "x", "retain": True}, status=202)
    assert body == {"reason_code": 16, "message": "no_matching_subscribers"}
    assert (await v5.json("get", "/mqtt/retainer/message/nobody%2Fhere"))["topic"] == "nobody/here"
    assert await v5.json("post", "/publish", {"topic": "news/#", "payload": "x"}, status=400) == {
        "reason_code": 144,
        "message": "topic_name_invalid",
    }
    body = await v5.json(
        "post", "/publish", {"topic": "news/a", "payload": "!!", "payload_encoding": "base64"}, status=400
    )
    assert body["reason_code"] == 131 and body["message"].startswith("{decode_base64_payload_failed")
    body = await v5.json("post", "/publish", {"topic": "news/a", "payload": "x" * 4096}, status=400)
    assert body == {"reason_code": 151, "message": "packet_too_large"}
    for bad in (
        {"topic": "news/a"},
        {"payload": "x"},
        {"topic": "news/a", "payload": "x", "qos": 3},
        {"topic": "news/a", "payload": "x", "extra": 1},
        {"topic": "news/a", "payload": "x", "retain": 1},
        {"topic": "news/a", "payload": "x", "properties": {"nope": 1}},
    ):
        body = await v5.json("post", "/publish", bad, status=400)
        assert body["code"] == "BAD_REQUEST", bad
    c.expect_none(0.2)  # none of the refused ones was published


async def test_publish_bulk(v5):
    c = v5.client("listener")
    c.subscribe("b/#")
    batch = [{"topic": "b/1", "payload": "1"}, {"topic": "b/2", "payload": "2"}]
    ok = await v5.json("post", "/publish/bulk", batch)
    assert [len(r["id"]) for r in ok] == [32, 32]
    assert [c.expect().payload, c.expect().payload] == [b"1", b"2"]
    mixed = await v5.json(
        "post", "/publish/bulk", [{"topic": "b/3", "payload": "3"}, {"topic": "x/1", "payload": "4"}], status=202
    )
    assert "id" in mixed[0] and mixed[1] == {"reason_code": 16, "message": "no_matching_subscribers"}
    assert c.expect().payload == b"3"
    bad = await v5.json(
        "post", "/publish/bulk", [{"topic": "b/4", "payload": "4"}, {"topic": "b/+", "payload": "5"}], status=400
    )
    assert bad == {"reason_code": 144, "message": "topic_name_invalid"}
    c.expect_none(0.2)  # the whole batch was refused
    assert (await v5.json("post", "/publish/bulk", [], status=400))["code"] == "BAD_REQUEST"
    assert (await v5.json("post", "/publish/bulk", {"topic": "b/1", "payload": "1"}, status=400))[
        "code"
    ] == "BAD_REQUEST"
    await v5.gw.ctx.control.stop()
    body = await v5.json("post", "/publish", {"topic": "b/1", "payload": "x"}, status=503)
    assert body == {"reason_code": 131, "message": "failed_to_dispatch"}
    assert await v5.json("post", "/publish/bulk", [{"topic": "b/1", "payload": "x"}], status=503) == [
        {"reason_code": 131, "message": "failed_to_dispatch"}
    ]


async def test_publish_meets_the_topic_length_limit_of_mqtt(make_v5):
    v5 = await make_v5(max_topic_length=16)
    assert (await v5.json("post", "/publish", {"topic": "t/" + "x" * 14, "payload": "x"}, status=202))[
        "reason_code"
    ] == 16
    bad = await v5.json("post", "/publish", {"topic": "t/" + "x" * 15, "payload": "x"}, status=400)
    assert bad == {"reason_code": 144, "message": "topic_name_invalid"}
