"""The home page at `/` in headless Chromium (Debian's `chromium`, driven by playwright): status,
sign-in, live counts from a real paho client, the translator box, and the API document links."""
import os
import shutil
import signal

import paho.mqtt.client as paho
import pytest

from tests.serve_helpers import listening_lines, port_of, serve

CHROMIUM = os.environ.get("EMQGW_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

needs_browser = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} not installed (.ci/run installs it)")


@pytest.fixture
def gateway_process(tmp_path):
    conf = tmp_path / "emqgw.toml"
    conf.write_text("[mqtt]\nsys_interval = 0\nsys_heartbeat = 0\n")
    proc = serve("--config", str(conf), "--mqtt-port", "0", "--ws-port", "off", tmp_path=tmp_path)
    lines = listening_lines(proc, 2)
    yield port_of(lines, "listening: http"), port_of(lines, "listening: mqtt tcp")
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)


@needs_browser
async def test_home_page_status_counts_translator_and_docs(gateway_process):
    playwright_api = pytest.importorskip("playwright.async_api")
    http, mqtt = gateway_process
    base = f"http://127.0.0.1:{http}"
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="page-client")
    client.connect("127.0.0.1", mqtt)
    client.loop_start()
    client.subscribe("page/#", 1)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = await browser.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(base + "/")
            await page.wait_for_function("document.getElementById('node-status').textContent === 'running'")
            assert await page.text_content("#node-name") == "emqgw@127.0.0.1"
            # translating before signing in is refused on the page, not sent without credentials
            await page.click("#translate-form button")
            assert "Sign in first" in await page.text_content("#translate-output")
            # a wrong password shows the API's message
            await page.fill("#login-password", "wrong")
            await page.click("#login-form button")
            await page.wait_for_function("document.getElementById('login-error').textContent !== ''")
            await page.fill("#login-password", "public")
            await page.click("#login-form button")
            await page.wait_for_selector("#counts-box:not([hidden])")
            await page.wait_for_function("document.getElementById('count-clients').textContent === '1'")
            assert await page.text_content("#count-subscriptions") == "1"
            assert await page.text_content("#count-topics") == "1"
            # the translator box: the example, and a request with no equivalent anywhere
            await page.click("#translate-form button")
            await page.wait_for_selector(".target[data-dialect=v5] .call")
            v5 = await page.text_content(".target[data-dialect=v5] .call")
            assert v5.strip() == "GET /api/v5/clients?node=emq@127.0.0.1&page=2&limit=50"
            assert "`curr_page` → `page`" in await page.text_content(".target[data-dialect=v5] .notes")
            await page.fill("#translate-input", "POST /api/v4/mqtt/publish_batch")
            await page.click("#translate-form button")
            await page.wait_for_selector(".target.none[data-dialect=v2]")
            assert "one POST /mqtt/publish per message" in await page.text_content(".target[data-dialect=v2] .missing")
            await page.fill("#translate-input", "GET /api/v2/nothing")
            await page.click("#translate-form button")
            await page.wait_for_selector("#translate-output .error")
            # every API document linked from the page is served, and the Swagger UI renders v5's
            for link in ("#doc-v5", "#doc-v4", "#doc-v2"):
                href = await page.get_attribute(link, "href")
                r = await page.request.get(base + href)
                assert r.ok and (await r.json())["openapi"].startswith("3."), href
            await page.click("#docs-box a[href='/api-docs/index.html']")
            await page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
            # the Swagger UI switches between the three dialects' documents (each has its own title)
            options = await page.eval_on_selector_all(".topbar select option", "os => os.map(o => o.textContent)")
            assert len(options) == 3, options
            titles = []
            for option in options:
                await page.select_option(".topbar select", label=option)
                await page.wait_for_function(
                    "seen => { const e = document.querySelector('.swagger-ui .info .title');"
                    " return e && !seen.includes(e.textContent) }", arg=titles, timeout=15000)
                titles.append(await page.text_content(".swagger-ui .info .title"))
            assert any("EMQX" in t for t in titles), titles
            assert len(titles) == 3, titles
            assert errors == []
        finally:
            await browser.close()
            client.loop_stop()
            client.disconnect()


async def test_page_at_root_unless_a_dashboard_dir_owns_it(gateway, tmp_path):
    from gateway.config import HttpConfig
    gw = await gateway("v5")
    r = await gw.http.get("/")
    assert r.status == 200 and "translate-form" in await r.text()
    r = await gw.http.get("/home-assets/app.js")
    assert r.status == 200 and "gateway/translate" in await r.text()
    site = tmp_path / "dashboard"
    site.mkdir()
    (site / "index.html").write_text("<html>EMQ dashboard</html>")
    gw = await gateway("v2", "v5", http=HttpConfig(dashboard_dir=str(site)))
    r = await gw.http.get("/")
    assert r.status == 200 and "EMQ dashboard" in await r.text()
    assert (await gw.http.get("/home-assets/app.js")).status == 404
