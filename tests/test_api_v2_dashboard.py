"""The EMQ 2.3 web dashboard's point of view (reference §2): its static site served at `/`, its login,
and every call it makes with the fields it reads, Basic on each call after login."""

from __future__ import annotations

import time
from urllib.parse import quote

from gateway.config import HttpConfig
from tests.mqtt_helpers import Client, wait_for
from tests.v2_helpers import NODE, V2

INDEX = b"<!DOCTYPE html><html><head><script src=/static/js/app.js></script></head><body>EMQ</body></html>"
APP_JS = b"axios.defaults.baseURL='/api/v2';"


def _priv_www(tmp_path):
    """A tiny stand-in for emq_dashboard's built priv/www."""
    www = tmp_path / "www"
    (www / "static" / "js").mkdir(parents=True)
    (www / "index.html").write_bytes(INDEX)
    (www / "static" / "js" / "app.js").write_bytes(APP_JS)
    (www / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    return www


class Browser:
    """Calls as the dashboard's axios makes them: JSON headers, Basic after login, `timestamps` on GETs."""

    def __init__(self, http):
        self.http = http
        self.user = None

    async def login(self, username, password):
        r = await self.http.post(
            "/api/v2/auth", json={"username": username, "password": password}, headers={"Accept": "application/json"}
        )
        ok = (await r.json())["code"] == 0
        if ok:
            self.user = (username, password)
        return ok

    async def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.user:
            import aiohttp

            headers["Authorization"] = aiohttp.encode_basic_auth(*self.user)
        url = "/api/v2" + path
        if method == "GET":
            url += ("&" if "?" in url else "?") + f"timestamps={int(time.time() * 1000)}"
        r = await self.http.request(method, url, headers=headers, json=body)
        if r.status == 401:
            self.user = None  # the app clears storage and routes to /login
            return None
        return await r.json()


async def test_static_site_at_root_and_the_gateways_404_elsewhere(gateway, tmp_path):
    gw = await gateway("v2", http=HttpConfig(dashboard_dir=str(_priv_www(tmp_path))))
    r = await gw.http.get("/")
    assert r.status == 200 and await r.read() == INDEX and r.content_type == "text/html"
    r = await gw.http.get("/static/js/app.js")
    assert r.status == 200 and await r.read() == APP_JS
    assert (await gw.http.get("/favicon.ico")).status == 200
    assert (await gw.http.get("/index.html")).status == 200
    for path in ("/static/js/missing.js", "/nothing.html", "/static/%2E%2E/%2E%2E/etc/passwd"):
        assert (await gw.http.get(path)).status == 404, path
    r = await gw.http.get("/api/v2/no/such")
    assert r.status == 404 and await r.read() == b""


async def test_dashboard_plugin_switches_the_site(gateway, tmp_path):
    gw = await gateway("v2", http=HttpConfig(dashboard_dir=str(_priv_www(tmp_path))))
    v2 = V2(gw)
    plugins = await v2.result("GET", f"/nodes/{NODE}/plugins")
    assert next(p for p in plugins if p["name"] == "emq_dashboard") == {
        "name": "emq_dashboard",
        "version": plugins[0]["version"],
        "description": "EMQ Web Dashboard",
        "active": True,
    }
    await v2.result("PUT", f"/nodes/{NODE}/plugins/emq_dashboard", json={"active": False})
    assert (await gw.http.get("/")).status == 404
    assert (await gw.http.get("/static/js/app.js")).status == 404
    await v2.result("PUT", f"/nodes/{NODE}/plugins/emq_dashboard", json={"active": True})
    assert (await gw.http.get("/")).status == 200


async def test_every_page_of_the_ui(gateway, tmp_path):
    gw = await gateway("v2", http=HttpConfig(dashboard_dir=str(_priv_www(tmp_path))))
    ui = Browser(gw.http)
    assert not await ui.login("admin", "wrong")
    assert await ui.login("admin", "public")
    c = Client(gw.broker, "ui/client", username="u1")
    c.subscribe("ui/topic", 1)
    try:
        # Node selector.
        nodes = await ui.call("GET", "/management/nodes")
        assert nodes["code"] == 0
        node = nodes["result"][0]["name"]
        # Overview.
        [info] = (await ui.call("GET", "/monitoring/nodes"))["result"]
        for key in (
            "name",
            "otp_release",
            "process_used",
            "process_available",
            "load1",
            "load5",
            "load15",
            "memory_used",
            "memory_total",
            "max_fds",
            "node_status",
        ):
            assert key in info, key
        [stats] = (await ui.call("GET", "/monitoring/stats"))["result"]
        for key in (
            "clients/count",
            "clients/max",
            "sessions/count",
            "sessions/max",
            "routes/count",
            "routes/max",
            "subscriptions/count",
            "subscriptions/max",
            "retained/count",
            "retained/max",
        ):
            assert isinstance(stats[node][key], int), key
        broker = (await ui.call("GET", f"/management/nodes/{node}"))["result"]
        assert all(broker[k] for k in ("version", "uptime", "sysdescr", "datetime"))
        metrics = await ui.call("GET", f"/monitoring/metrics/{node}")
        assert metrics["code"] == 0 and metrics["result"]["packets/connect"] >= 1
        for key in ("packets/pubcomp/missed", "packets/pubrel/sent", "messages/qos2/dropped", "bytes/sent"):
            assert key in metrics["result"]
        # Clients / Sessions / Subscriptions tabs, and the search box.
        for tab, field in (("clients", "keepalive"), ("sessions", "mqueue_len"), ("subscriptions", "topic")):
            page = (await ui.call("GET", f"/nodes/{node}/{tab}?curr_page=1&page_size=10"))["result"]
            assert page["total_num"] == 1 and field in page["objects"][0]
            found = (await ui.call("GET", f"/nodes/{node}/{tab}/{quote('ui/client', safe='')}"))["result"]
            assert found["objects"][0]["client_id"] == "ui/client"
        topics = (await ui.call("GET", "/routes?curr_page=1&page_size=10"))["result"]
        assert topics["objects"] == [{"topic": "ui/topic", "node": node}] and topics["total_num"] == 1
        assert (await ui.call("GET", "/routes/ui/topic"))["result"]["objects"]
        # Plugins, listeners.
        plugins = (await ui.call("GET", f"/nodes/{node}/plugins"))["result"]
        assert all({"name", "version", "description", "active"} <= set(p) for p in plugins)
        assert (await ui.call("PUT", f"/nodes/{node}/plugins/emq_modules", {"active": False}))["code"] == 0
        listeners = (await ui.call("GET", f"/monitoring/listeners/{node}"))["result"]
        assert all({"protocol", "listen", "max_clients", "current_clients"} <= set(x) for x in listeners)
        # Users page.
        users = (await ui.call("GET", "/users"))["result"]
        assert users[0]["username"] == "admin" and "tags" in users[0]
        new = {"username": "ui_user", "tags": "t", "tag": "t", "password": "pw", "repeatPassword": "pw"}
        assert (await ui.call("POST", "/users", new))["code"] == 0
        assert (await ui.call("PUT", "/users/ui_user", {"username": "ui_user", "tags": "t2"}))["code"] == 0
        assert (await ui.call("POST", "/users", new))["code"] == 113
        assert (await ui.call("DELETE", "/users/ui_user"))["code"] == 0
        # Disconnect button.
        assert (await ui.call("DELETE", f"/clients/{quote('ui/client', safe='')}"))["code"] == 0
        wait_for(lambda: not c.disconnects.empty())
        # Change own password: the next call is 401 and the UI goes back to login.
        assert (await ui.call("PUT", "/change_pwd/admin/", {"old_pwd": "public", "new_pwd": "secret"}))["code"] == 0
        assert await ui.call("GET", "/management/nodes") is None and ui.user is None
        assert await ui.login("admin", "secret")
        assert (await ui.call("GET", "/management/nodes"))["code"] == 0
    finally:
        c.c.loop_stop()
