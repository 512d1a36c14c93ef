"""Upstream mode's configuration: the `[upstream]` section and its checks, secrets kept out of reprs, and
the configuration documents read and written as EMQX's published API describes them (the
documents here are built from the defaults EMQX's own OpenAPI document declares)."""

import copy
import json

import attrs
import pytest

from adapters.upstream import settings
from gateway.accounts import AccountStoreError
from gateway.config import ConfigError, UpstreamConfig, load
from gateway.upstream_credentials import credentials, token_key
from schemas.records import BrokerConfig

URL = "https://emqx.example:18083/api/v5"


def write(tmp_path, text: str) -> str:
    path = tmp_path / "emqgw.toml"
    path.write_text(text)
    return str(path)


def test_the_section_is_read_and_checked(tmp_path):
    cfg = load(write(tmp_path, f'[upstream]\nurl = "{URL}"\napi_key = "k"\napi_secret = "s"\ntimeout = 2\n'), {})
    assert cfg.upstream == UpstreamConfig(url=URL, api_key="k", api_secret="s", timeout=2.0)
    assert load(None, {}).upstream is None
    env = {"EMQGW_UPSTREAM__URL": URL, "EMQGW_UPSTREAM__API_KEY": "k", "EMQGW_UPSTREAM__API_SECRET": "s"}
    assert load(None, env).upstream.api_secret == "s"
    bad = {
        'api_key = "k"\napi_secret = "s"': "upstream.url",
        'url = "ftp://x/api/v5"\napi_key = "k"\napi_secret = "s"': "upstream.url",
        'url = "https://k:s@x/api/v5"\napi_key = "k"\napi_secret = "s"': "upstream.url",
        f'url = "{URL}"\napi_key = "k"': "'upstream'",
        f'url = "{URL}"': "'upstream'",
        f'url = "{URL}"\napi_key = "k"\napi_secret = "s"\nbootstrap_file = "f"': "'upstream'",
        f'url = "{URL}"\napi_key = "k"\napi_secret = "s"\ntimeout = 0': "upstream.timeout",
        f'url = "{URL}"\napi_key = "k"\napi_secret = "s"\nbogus = 1': "upstream.bogus",
        f'url = "{URL}"\napi_key = "k"\napi_secret = 5': "upstream.api_secret",
    }
    for body, where in bad.items():
        with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
            load(write(tmp_path, "[upstream]\n" + body + "\n"), {})


def test_secrets_stay_out_of_reprs_and_errors(tmp_path):
    cfg = UpstreamConfig(url=URL, api_key="k", api_secret="very-secret", token_secret="also-secret")
    for text in (repr(cfg), str(cfg)):
        assert "very-secret" not in text and "also-secret" not in text
    path = tmp_path / "keys"
    path.write_text("# the upstream's key\nfirst:one-secret:administrator\nsecond:two\n")
    assert credentials(UpstreamConfig(url=URL, bootstrap_file=str(path))) == ("first", "one-secret")
    path.write_text("broken line with secret\n")
    with pytest.raises(AccountStoreError) as e:
        credentials(UpstreamConfig(url=URL, bootstrap_file=str(path)))
    assert "broken line" not in str(e.value)  # the line is not quoted: it may hold a secret
    # the token key: the configured one, else derived from the upstream's secret; never the secret itself
    assert token_key(cfg) != token_key(attrs.evolve(cfg, token_secret=None)) != b"very-secret"
    assert token_key(attrs.evolve(cfg, token_secret=None)) == token_key(attrs.evolve(cfg, token_secret=None))


# -- the configuration documents, as EMQX's published API describes them ------------------------------


@pytest.fixture(scope="module")
def emqx():
    pytest.importorskip("openapi_core", reason="openapi-core (pyproject's test extra) reads EMQX's document")
    from tests.contract_helpers import DOCUMENT, STRICT, violations

    if DOCUMENT is None:
        pytest.skip("EMQX's published API document (shared/reference, tests.reference) is not here")
    return json.loads(DOCUMENT.read_text()), STRICT, violations


def _defaults(doc: dict, schema: dict) -> dict:
    """The document EMQX serves for a schema when nothing was configured: every declared default."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    out = {}
    for name, prop in schema.get("properties", {}).items():
        if "default" in prop:
            out[name] = copy.deepcopy(prop["default"])
        elif "$ref" in prop or "properties" in prop:
            out[name] = _defaults(doc, prop)
    return out


def _served(doc: dict, section: str, method: str = "get") -> dict:
    op = doc["paths"][settings.SECTIONS[section]][method]
    body = op["requestBody"] if method == "put" else op["responses"]["200"]
    return body["content"]["application/json"]["schema"]


# EMQX 5.8 never resends an unacknowledged message to a live client (retry_interval "infinity"); emqgw's
# records keep the 30 s of EMQX 4 and NanoMQ, which 3.x clients expect. Topic aliases (65535) and
# subscriptions per client (infinity) are bounded lower here so that one client's tables cost bounded
# memory (README, "The broker").
DEFAULTS_DIFFER = {"retry_interval": 0, "max_topic_alias": 65535, "max_subscriptions": 0}


def test_emqx_defaults_read_as_the_records_defaults(emqx):
    doc = emqx[0]
    sections = {name: _defaults(doc, _served(doc, name)) for name in settings.SECTIONS}
    values = settings.read(sections)
    assert set(values) == set(settings.FIELDS)
    ours = BrokerConfig()
    for field, value in values.items():
        assert value == DEFAULTS_DIFFER.get(field, getattr(ours, field)), field


def test_every_write_is_a_document_emqx_accepts(emqx):
    doc, strict, violations = emqx
    from openapi_core.testing import MockRequest

    changed = BrokerConfig(
        max_packet_size=2 << 20,
        max_clientid_len=100,
        max_topic_levels=10,
        max_qos_allowed=1,
        max_topic_alias=10,
        retain_available=False,
        wildcard_subscription=False,
        shared_subscription=False,
        server_keepalive=30,
        keepalive_multiplier=2.0,
        session_expiry_interval=3600,
        max_subscriptions=5,
        max_inflight=7,
        max_mqueue_len=0,
        mqueue_store_qos0=False,
        max_awaiting_rel=9,
        await_rel_timeout=60,
        upgrade_qos=True,
        retry_interval=15,
        sys_interval=0,
        sys_heartbeat=5,
        alarm_size_limit=10,
        alarm_validity_period=600,
        os_check_interval=30,
        sysmem_high_watermark=90.0,
        cpu_high_watermark=95.0,
        cpu_low_watermark=50.0,
        acl_no_match="deny",
        retainer=False,
    )
    for name in settings.SECTIONS:
        body = _defaults(doc, _served(doc, name))
        fields = [f for f, place in settings.FIELDS.items() if place.section == name]
        settings.write(body, name, changed, fields)
        request = MockRequest(
            "http://emqx",
            "put",
            "/api/v5" + settings.SECTIONS[name],
            data=json.dumps(body).encode(),
            content_type="application/json",
            headers={"Authorization": "Basic YTpi"},
        )
        path = settings.SECTIONS[name]
        assert violations("PUT", path, "request", None, strict.unmarshal_request(request).errors) == [], name
        assert settings.read({name: body}) == {f: getattr(changed, f) for f in fields}
