"""`/api/v5/listeners` create, update, delete: real listeners that open and close, MQTT clients on them."""

import socket

import pytest

from tests.mqtt_helpers import Client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


class On:
    """A paho client on a given port (the broker helper's clients find the default listener's)."""

    def __init__(self, v5, port: int, clientid: str):
        self.c = Client(v5.broker, clientid, connect=False)
        self.c.port = port
        self.c.connect()
        v5.clients.append(self.c)


async def test_create_update_delete_a_listener(v5):
    port = free_port()
    made = await v5.json("post", "/listeners", {"type": "tcp", "name": "extra", "bind": f"127.0.0.1:{port}"})
    assert made["id"] == "tcp:extra" and made["running"] is True and made["bind"] == f"127.0.0.1:{port}"
    assert made["max_connections"] == "infinity" and made["enable"] is True
    On(v5, port, "on-extra")
    one = await v5.json("get", "/listeners/tcp:extra")
    assert one["current_connections"] == 1
    assert "tcp:extra" in {r["id"] for r in await v5.json("get", "/listeners")}
    assert "tcp:extra" in [lc.id for lc in (await v5.gw.ctx.control.get_config()).listeners]

    # PUT replaces it: moved to another port, with a connection limit; the old port closes
    new_port = free_port()
    put = await v5.json(
        "put", "/listeners/tcp:extra", {"type": "tcp", "bind": f"127.0.0.1:{new_port}", "max_connections": 5}
    )
    assert put["bind"] == f"127.0.0.1:{new_port}" and put["max_connections"] == 5
    assert refused(port)
    On(v5, new_port, "on-moved")
    # a PUT of what GET shows changes nothing (state fields are carried along)
    again = await v5.json("put", "/listeners/tcp:extra", await v5.json("get", "/listeners/tcp:extra"))
    assert again["bind"] == put["bind"] and again["max_connections"] == 5
    # ... and a PUT that leaves bind out keeps it
    assert (await v5.json("put", "/listeners/tcp:extra", {"type": "tcp"}))["bind"] == put["bind"]

    await v5.json("delete", "/listeners/tcp:extra", status=204)
    assert refused(new_port)
    assert await v5.json("get", "/listeners/tcp:extra", status=404) == {
        "code": "BAD_LISTENER_ID",
        "message": "Listener id not found",
    }
    assert "tcp:extra" not in [lc.id for lc in (await v5.gw.ctx.control.get_config()).listeners]
    await v5.json("delete", "/listeners/tcp:extra", status=404)


async def test_websocket_listener_by_id_the_dashboards_way(v5):
    port = free_port()
    body = {"type": "ws", "id": "ws:second", "bind": str(port), "websocket": {"mqtt_path": "/mqtt"}}
    made = await v5.json("post", "/listeners/ws:second", body)
    assert made["websocket"] == {"mqtt_path": "/mqtt"} and made["bind"] == f"0.0.0.0:{port}"
    ws = Client(v5.broker, "over-ws", transport="ws", connect=False)
    ws.port = port
    ws.connect()
    v5.clients.append(ws)
    await v5.json("delete", "/listeners/ws:second", status=204)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/listeners", {"type": "tcp", "name": "default", "bind": "127.0.0.1:0"}, 400, "BAD_LISTENER_ID"),
        ("post", "/listeners", {"type": "tcp", "name": "x", "bind": "nowhere"}, 400, "BAD_REQUEST"),
        ("post", "/listeners", {"type": "tcp", "name": "x"}, 400, "BAD_REQUEST"),
        ("post", "/listeners", {"type": "tcp", "name": "bad name", "bind": "0"}, 400, "BAD_REQUEST"),
        ("post", "/listeners", {"type": "tcp", "name": "x", "bind": "0", "acceptors": 16}, 400, "BAD_REQUEST"),
        ("post", "/listeners", {"type": "tcp", "name": "x", "bind": "0", "mountpoint": "m/"}, 400, "NOT_SUPPORTED"),
        ("post", "/listeners", {"type": "quic", "name": "x", "bind": "0"}, 400, "NOT_SUPPORTED"),
        ("post", "/listeners", {"type": "ssl", "name": "x", "bind": "0"}, 400, "BAD_REQUEST"),  # no cert
        ("put", "/listeners/tcp:default", {"type": "tcp", "id": "tcp:other"}, 400, "BAD_LISTENER_ID"),
        ("put", "/listeners/tcp:default", {"type": "ws"}, 400, "BAD_REQUEST"),
        ("put", "/listeners/tcp:nope", {"type": "tcp"}, 404, "BAD_LISTENER_ID"),
        ("put", "/listeners/tcp:default", {"type": "tcp", "max_connections": 0}, 400, "BAD_REQUEST"),
    ],
)
async def test_bad_listener_requests_change_nothing(v5, method, path, body, status, code):
    before = await v5.json("get", "/listeners")
    answer = await v5.json(method, path, body, status=status)
    assert answer["code"] == code, answer
    assert await v5.json("get", "/listeners") == before
    v5.client("still-served")  # the default listener serves on


async def test_a_taken_port_is_refused_and_the_old_listener_serves_on(v5):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        body = {"type": "tcp", "name": "clash", "bind": f"127.0.0.1:{port}"}
        assert (await v5.json("post", "/listeners", body, status=400))["code"] == "BAD_REQUEST"
        assert await v5.json("get", "/listeners/tcp:clash", status=404)
        moved = {"type": "tcp", "bind": f"127.0.0.1:{port}"}
        assert (await v5.json("put", "/listeners/tcp:default", moved, status=400))["code"] == "BAD_REQUEST"
    assert (await v5.json("get", "/listeners/tcp:default"))["running"] is True
    v5.client("after-clash")
