"""The home page, the operator's dashboard, in headless Chromium (Debian's `chromium`, driven by playwright)
against a real `emqgw serve` with real paho clients: sign-in, alarms, live traffic charts, the migration
checklist fed by a legacy call made with curl, client search / subscriptions / kick, the translator, a
token that stops working, the phone-width layout and the page at `/emqgw/` beside an EMQ 2.3 dashboard.

Each state is kept as a screenshot in the test's temporary directory (`screens/`)."""

import asyncio
import math
import os
import shutil
import signal
import subprocess
import threading
import time

import paho.mqtt.client as paho
import pytest

from tests.serve_helpers import listening_lines, port_of, serve

CHROMIUM = os.environ.get("EMQGW_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The dashboard samples every 10 s: the first sample with traffic may come up to two periods after it starts.
SAMPLE_WAIT_MS = 30000
# The usage panels refresh every 10 s.
USAGE_WAIT_MS = 20000

needs_browser = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} not installed (.ci/run installs it)")


def start_gateway(tmp_path, mqtt_conf: str, *args):
    conf = tmp_path / "emqgw.toml"
    conf.write_text("[mqtt]\nsys_interval = 0\nsys_heartbeat = 0\n" + mqtt_conf)
    proc = serve("--config", str(conf), "--mqtt-port", "0", "--ws-port", "off", *args, tmp_path=tmp_path)
    lines = listening_lines(proc, 2)
    return proc, port_of(lines, "listening: http"), port_of(lines, "listening: mqtt tcp")


def stop_gateway(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)


class Traffic:
    """A subscriber and a publisher sending to it ten times a second, until stopped."""

    def __init__(self, mqtt_port: int):
        self.kicked = threading.Event()
        self.subscriber = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="page-client")
        self.subscriber.username_pw_set("alice")
        self.subscriber.on_disconnect = self._on_kicked
        self.subscriber.connect("127.0.0.1", mqtt_port)
        self.subscriber.loop_start()
        self.subscriber.subscribe("page/#", 1)
        self.publisher = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="other-client")
        self.publisher.username_pw_set("bob")
        self.publisher.connect("127.0.0.1", mqtt_port)
        self.publisher.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._publish, daemon=True)
        self._thread.start()

    def _on_kicked(self, client, userdata, flags, reason_code, properties):
        self.kicked.set()
        client.loop_stop()  # no automatic reconnect: a kicked client stays gone

    def _publish(self):
        while not self._stop.wait(0.1):
            self.publisher.publish("page/load", b"x", qos=0)

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        for c in (self.publisher, self.subscriber):
            c.disconnect()
            c.loop_stop()


class Browser:
    """One page of the gateway at `base`, its console errors and page errors, and its screenshots."""

    def __init__(self, page, screens, base):
        self.page = page
        self.screens = screens
        self.base = base
        self.errors = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location['url']})")

    async def shot(self, name, full_page=True):
        path = self.screens / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 0

    def expect_refused_loads(self, status: int):
        """The console errors so far are Chromium's notes of requests answered `status`, which the step
        provoked on purpose (at least one); forget them."""
        assert self.errors and all(
            e.startswith("Failed to load resource") and f"status of {status}" in e for e in self.errors
        ), self.errors
        self.errors.clear()

    async def wait_text(self, selector, text, timeout=10000):
        await self.page.wait_for_function(
            "([s, t]) => { const e = document.querySelector(s); return e && e.textContent.trim() === t }",
            arg=[selector, text],
            timeout=timeout,
        )

    async def attr(self, selector, name):
        return await self.page.get_attribute(selector, name)

    async def bearer(self):
        """The page's own credentials, for checking what it did through the API."""
        return {"Authorization": "Bearer " + await self.page.evaluate("sessionStorage.getItem('emqgw.token')")}


async def open_browser(pw, viewport):
    browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
    page = await browser.new_page(viewport=viewport)
    return browser, page


async def sign_in_with_keyboard(b: Browser, password: str):
    await b.page.focus("#login-user")
    await b.page.keyboard.press("Tab")
    await b.page.keyboard.type(password)
    await b.page.keyboard.press("Enter")


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two `rgb(r, g, b)` colours."""

    def luminance(css):
        channels = [int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def curl(base, path):
    """A legacy call as an ops script makes it: curl with HTTP Basic."""
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:public", base + path],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return int(out.stdout)


@pytest.fixture
def screens(tmp_path):
    d = tmp_path / "screens"
    d.mkdir()
    return d


async def sign_in(b: Browser):
    page = b.page
    await page.goto(b.base + "/")
    await b.wait_text("#node-status", "running")
    assert await page.text_content("#node-name") == "emqgw@127.0.0.1"
    # the dialect paths in the dark header are readable (WCAG AA: contrast of at least 4.5)
    fg, bg = await page.eval_on_selector(
        "header.top code", "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    assert contrast(fg, bg) >= 4.5, (fg, bg)
    await b.shot("signed-out")
    # with the keyboard alone; a wrong password shows the API's message
    await sign_in_with_keyboard(b, "wrong")
    await b.wait_text("#login-error", "Auth failed")
    assert await page.is_hidden("#dashboard")
    b.expect_refused_loads(401)
    await page.fill("#login-password", "")
    await sign_in_with_keyboard(b, "public")
    await page.wait_for_selector("#dashboard:not([hidden])")


async def see_alarms_and_traffic(b: Browser):
    page = b.page
    # active alarms on top, under their EMQX names
    await page.wait_for_selector("#alarms-box:not([hidden]) li[data-name=high_system_memory_usage]")
    assert "System memory usage is higher than 1%" in await page.text_content("#alarm-list")
    # current figures and the last hour's charts, drawn from the real traffic
    await b.wait_text("#now-live_connections", "2")
    await b.wait_text("#now-subscriptions", "1")
    # ten messages a second each way: the chart's rate is a sample's count over its 10 s (the first sample
    # with traffic may hold only part of it)
    await page.wait_for_function(
        "() => ['received', 'sent'].every(k => {"
        " const e = document.querySelector(`#chart-messages [data-series=${k}]`);"
        " return e && Number(e.dataset.max) >= 5 })",
        timeout=SAMPLE_WAIT_MS,
    )
    peak = float(await b.attr("#chart-messages [data-series=received]", "data-max"))
    assert peak <= 12, peak
    assert await b.attr("#chart-connections [data-series=live_connections]", "data-last") == "2"
    assert await b.attr("#chart-subscriptions [data-series=subscriptions]", "data-last") == "1"
    await page.wait_for_function(
        "() => Number(document.getElementById('now-received_msg_rate').textContent) > 0", timeout=SAMPLE_WAIT_MS
    )
    await b.shot("traffic")


ROUTES = 'tr[data-call="GET /api/v2/routes"]'
BROKERS = 'tr[data-call="GET /api/v4/brokers"]'
NODE_CLIENTS = 'tr[data-call="GET /api/v2/nodes/{node}/clients"]'
ONE_CLIENT = 'tr[data-call="GET /api/v4/clients/{clientid}"]'


async def see_legacy_calls_in_the_checklist(b: Browser):
    page = b.page
    hour = int(time.time() // 3600)  # the hourly chart's bucket the five calls below should land in
    assert curl(b.base, "/api/v2/routes") == 200
    for _ in range(2):
        assert curl(b.base, "/api/v4/brokers") == 200
    assert curl(b.base, "/api/v2/nodes/emqgw@127.0.0.1/clients") == 200
    assert curl(b.base, "/api/v4/clients/page-client") == 200
    for row in (ROUTES, BROKERS, NODE_CLIENTS, ONE_CLIENT):
        await page.wait_for_selector(row, timeout=USAGE_WAIT_MS)
    assert await page.text_content(f"{ROUTES} .principal") == "admin"
    assert await page.text_content(f"{ROUTES} .count") == "1"
    assert await page.text_content(f"{ROUTES} .v5") == "GET /api/v5/topics"
    assert await page.text_content(f"{BROKERS} .count") == "2"
    assert await page.text_content(f"{BROKERS} .v5") == "GET /api/v5/nodes"
    # the progress figure: the five legacy calls against every v5 call of the day (the page's own)
    await page.wait_for_function("document.getElementById('progress').dataset.legacy === '5'", timeout=USAGE_WAIT_MS)
    v5 = int(await b.attr("#progress", "data-v5"))
    assert v5 > 0
    assert await page.text_content("#progress-share") == f"{math.floor(100 * v5 / (v5 + 5))} %"
    if int(time.time() // 3600) == hour:
        assert await b.attr("#chart-hours [data-series=legacy]", "data-last") == "5"
    else:  # the hour turned meanwhile: the five calls may be split between the last two bars
        assert int(await b.attr("#chart-hours [data-series=legacy]", "data-max")) <= 5
    assert await b.attr("#chart-hours [data-series=v5]", "data-last") == str(v5)
    # sortable: by calls, most first, then least first
    await page.click("#checklist th[data-key=count] button")
    assert await page.get_attribute("#checklist tbody tr:first-child", "data-call") == "GET /api/v4/brokers"
    assert await b.attr("#checklist th[data-key=count]", "aria-sort") == "descending"
    await page.click("#checklist th[data-key=count] button")
    assert await page.text_content("#checklist tbody tr:first-child .count") == "1"
    assert await b.attr("#checklist th[data-key=count]", "aria-sort") == "ascending"
    await b.shot("migration")


V5_CALL = ".target[data-dialect=v5] .call"


async def translate_from_the_checklist(b: Browser):
    page = b.page
    # a row links to the translator, filled in with that call
    await page.click(f"{ROUTES} a.translate")
    await page.wait_for_selector(V5_CALL)
    assert await page.input_value("#translate-input") == "GET /api/v2/routes"
    assert (await page.text_content(V5_CALL)).strip() == "GET /api/v5/topics"
    # ... with this node's name in a per-node path
    await page.click(f"{NODE_CLIENTS} a.translate")
    await b.wait_text(V5_CALL, "GET /api/v5/clients?node=emqgw@127.0.0.1")
    assert await page.input_value("#translate-input") == "GET /api/v2/nodes/emqgw@127.0.0.1/clients"
    # ... and a path variable left for the user to fill, selected in the box
    await page.click(f"{ONE_CLIENT} a.translate")
    await page.wait_for_function("document.activeElement.id === 'translate-input'")
    assert await page.input_value("#translate-input") == "GET /api/v4/clients/{clientid}"
    assert (
        await page.evaluate(
            "(e => e.value.slice(e.selectionStart, e.selectionEnd))(document.getElementById('translate-input'))"
        )
        == "{clientid}"
    )
    assert await page.text_content("#translate-output") == "Replace {clientid} with a value, then translate."
    await page.keyboard.type("page-client")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await b.wait_text(V5_CALL, "GET /api/v5/clients/page-client")


async def translate_by_hand(b: Browser):
    page = b.page
    # the example: field notes are text with code, no Markdown backticks left
    await page.fill("#translate-input", "GET /api/v2/nodes/emq@127.0.0.1/clients?curr_page=2&page_size=50")
    await page.click("#translate-form button")
    await b.wait_text(V5_CALL, "GET /api/v5/clients?node=emq@127.0.0.1&page=2&limit=50")
    notes = await page.text_content(".target[data-dialect=v5] .notes")
    assert "curr_page → page" in notes and "`" not in notes
    codes = await page.eval_on_selector_all(".target[data-dialect=v5] .notes code", "cs => cs.map(c => c.textContent)")
    assert "curr_page" in codes and "page" in codes
    await b.shot("translator")
    await page.fill("#translate-input", "POST /api/v4/mqtt/publish_batch")
    await page.click("#translate-form button")
    await page.wait_for_selector(".target.none[data-dialect=v2]")
    assert "one POST /mqtt/publish per message" in await page.text_content(".target[data-dialect=v2] .missing")
    await page.fill("#translate-input", "GET /api/v2/nothing")
    await page.click("#translate-form button")
    await page.wait_for_selector("#translate-output .error")
    b.expect_refused_loads(400)


async def listed_clients(b: Browser, expected: str):
    await b.page.wait_for_function(
        "ids => [...document.querySelectorAll('#client-table tbody tr')].map(r => r.dataset.clientid).join() === ids",
        arg=expected,
    )


async def search_open_and_kick_a_client(b: Browser, traffic: Traffic):
    page = b.page
    # search by client id, then by username, with the keyboard
    await page.fill("#client-query", "page")
    await page.press("#client-query", "Enter")
    await listed_clients(b, "page-client")
    await page.select_option("#client-field", "like_username")
    await page.fill("#client-query", "bo")
    await page.press("#client-query", "Enter")
    await listed_clients(b, "other-client")
    await page.fill("#client-query", "")
    await page.press("#client-query", "Enter")
    await page.wait_for_function("document.querySelectorAll('#client-table tbody tr').length === 2")
    assert await page.text_content("#client-page") == "page 1 of 1"
    # one client's subscriptions
    await page.click("#client-table tr[data-clientid=page-client] button.open")
    await page.wait_for_selector("#client-detail:not([hidden])")
    assert await page.text_content("#detail-clientid") == "page-client"
    cells = await page.eval_on_selector_all("#detail-subs tbody td", "ts => ts.map(t => t.textContent.trim())")
    assert cells == ["page/#", "1", "no", "no", "0"]
    # kick: the confirmation can be cancelled with Escape, and nothing happens
    await page.click("#client-table tr[data-clientid=page-client] button.kick")
    await page.wait_for_selector("#kick-dialog[open]")
    assert await page.text_content("#kick-clientid") == "page-client"
    await b.shot("kick-confirmation", full_page=False)  # the modal covers the window, not the page
    await page.keyboard.press("Escape")
    await page.wait_for_selector("#kick-dialog[open]", state="detached")
    await asyncio.sleep(0.5)
    assert not traffic.kicked.is_set()
    # ... then confirmed: the client is disconnected and gone from the list and from the API
    await page.click("#client-table tr[data-clientid=page-client] button.kick")
    await page.click("#kick-dialog button[value=kick]")
    await b.wait_text("#client-message", "page-client was kicked out.")
    assert traffic.kicked.wait(5)
    await listed_clients(b, "other-client")
    assert await page.is_hidden("#client-detail")
    r = await page.request.get(b.base + "/api/v5/clients/page-client", headers=await b.bearer())
    assert r.status == 404
    await b.wait_text("#now-live_connections", "1")
    await b.shot("clients")


async def lose_the_session(b: Browser):
    page = b.page
    # a token that stops working (here: revoked by a logout elsewhere) brings back the sign-in
    r = await page.request.post(b.base + "/api/v5/logout", data={"username": "admin"}, headers=await b.bearer())
    assert r.status == 204
    await page.wait_for_selector("#login-box:not([hidden])", timeout=15000)
    assert await page.is_hidden("#dashboard")
    assert (
        await page.text_content("#login-error")
        == "Signed out: the gateway no longer accepts your sign-in (BAD_TOKEN). Sign in again."
    )
    assert await page.evaluate("sessionStorage.getItem('emqgw.token')") is None
    b.expect_refused_loads(401)
    await b.shot("session-ended")


@needs_browser
@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
@pytest.mark.timeout(240)
async def test_dashboard_traffic_migration_clients_and_translator(tmp_path, screens):
    playwright_api = pytest.importorskip("playwright.async_api")
    # A memory watermark of 1 % checked every second: the host raises EMQX's high_system_memory_usage alarm.
    proc, http, mqtt = start_gateway(tmp_path, "os_check_interval = 1\nsysmem_high_watermark = 1.0\n")
    traffic = Traffic(mqtt)
    try:
        async with playwright_api.async_playwright() as pw:
            browser, page = await open_browser(pw, DESKTOP)
            try:
                b = Browser(page, screens, f"http://127.0.0.1:{http}")
                await sign_in(b)
                await see_alarms_and_traffic(b)
                await see_legacy_calls_in_the_checklist(b)
                await translate_from_the_checklist(b)
                await translate_by_hand(b)
                await search_open_and_kick_a_client(b, traffic)
                assert b.errors == []
                await lose_the_session(b)
                assert b.errors == []
            finally:
                await browser.close()
    finally:
        traffic.stop()
        stop_gateway(proc)


@needs_browser
@pytest.mark.timeout(120)
async def test_phone_width_page_at_emqgw_beside_an_emq_dashboard(tmp_path, screens):
    playwright_api = pytest.importorskip("playwright.async_api")
    site = tmp_path / "dashboard"
    site.mkdir()
    (site / "index.html").write_text("<html><body>EMQ dashboard</body></html>")
    proc, http, mqtt = start_gateway(tmp_path, "os_check_interval = 0\n", "--dashboard-dir", str(site))
    base = f"http://127.0.0.1:{http}"
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="phone-client")
    client.connect("127.0.0.1", mqtt)
    client.loop_start()
    try:
        async with playwright_api.async_playwright() as pw:
            browser, page = await open_browser(pw, PHONE)
            try:
                b = Browser(page, screens, base)
                assert "EMQ dashboard" in await (await page.request.get(base + "/")).text()
                await page.goto(base + "/emqgw")
                assert page.url == base + "/emqgw/"
                await b.wait_text("#node-status", "running")
                await b.shot("phone-signed-out")
                await page.fill("#login-password", "public")
                await page.click("#login-form button")
                await page.wait_for_selector("#dashboard:not([hidden])")
                await b.wait_text("#now-live_connections", "1")
                await page.wait_for_selector("#client-table tr[data-clientid=phone-client]")
                await page.wait_for_selector("#chart-hours [data-series=v5]", timeout=USAGE_WAIT_MS)
                # no alarm: no alarm box
                assert await page.is_hidden("#alarms-box")
                await b.shot("phone-dashboard")
                # nothing wider than the screen: the page never scrolls sideways (wide tables scroll in their box)
                assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                for chart in ("#chart-messages", "#chart-hours"):
                    box = await page.eval_on_selector(chart, "e => e.getBoundingClientRect().width")
                    assert 250 <= box <= PHONE["width"], (chart, box)
                # signing out ends the token on the gateway too
                bearer = await b.bearer()
                await page.click("#sign-out")
                await page.wait_for_selector("#login-box:not([hidden])")
                assert await page.evaluate("sessionStorage.getItem('emqgw.token')") is None
                assert (await page.request.get(base + "/api/v5/nodes", headers=bearer)).status == 401
                # ... and the panels' refreshes: nothing calls /api/v5 for longer than the shortest period
                calls = []
                page.on("request", lambda r: calls.append(r.url) if "/api/v5/" in r.url else None)
                await page.wait_for_timeout(5500)
                assert calls == []
                # every API document linked from the page is served, and the Swagger UI renders all three
                for link in ("#doc-v5", "#doc-v4", "#doc-v2"):
                    href = await b.attr(link, "href")
                    r = await page.request.get(base + href)
                    assert r.ok and (await r.json())["openapi"].startswith("3."), href
                await page.click("#docs-box a[href='/api-docs/index.html']")
                await page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
                options = await page.eval_on_selector_all(".topbar select option", "os => os.map(o => o.textContent)")
                assert len(options) == 3, options
                titles = []
                for option in options:
                    await page.select_option(".topbar select", label=option)
                    await page.wait_for_function(
                        "seen => { const e = document.querySelector('.swagger-ui .info .title');"
                        " return e && !seen.includes(e.textContent) }",
                        arg=titles,
                        timeout=15000,
                    )
                    titles.append(await page.text_content(".swagger-ui .info .title"))
                assert any("EMQX" in t for t in titles), titles
                assert len(titles) == 3, titles
                assert b.errors == []
            finally:
                await browser.close()
    finally:
        client.loop_stop()
        client.disconnect()
        stop_gateway(proc)


async def test_page_at_root_and_emqgw_unless_a_dashboard_dir_owns_root(gateway, tmp_path):
    from gateway.config import HttpConfig

    gw = await gateway("v5")
    for path in ("/", "/emqgw/"):
        r = await gw.http.get(path)
        assert r.status == 200 and "translate-form" in await r.text(), path
    r = await gw.http.get("/emqgw", allow_redirects=False)
    assert r.status == 301 and r.headers["Location"] == "/emqgw/"
    r = await gw.http.get("/home-assets/app.js")
    assert r.status == 200 and "setUpTranslator" in await r.text()
    site = tmp_path / "dashboard"
    site.mkdir()
    (site / "index.html").write_text("<html>EMQ dashboard</html>")
    gw = await gateway("v2", "v5", http=HttpConfig(dashboard_dir=str(site)))
    r = await gw.http.get("/")
    assert r.status == 200 and "EMQ dashboard" in await r.text()
    r = await gw.http.get("/emqgw/")
    assert r.status == 200 and "translate-form" in await r.text()
    assert (await gw.http.get("/home-assets/translator.js")).status == 200
    r = await gw.http.get("/favicon.ico")
    assert r.status == 200 and r.content_type == "image/svg+xml"
