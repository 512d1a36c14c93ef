"""TLS and WSS listeners, and gmqtt as a second, independent client implementation."""

import asyncio
import ssl
import subprocess
import time

import paho.mqtt.client as paho
import pytest
from gmqtt import Client as GMQTTClient
from gmqtt.mqtt.constants import MQTTv50, MQTTv311

from schemas.records import BrokerConfig, ListenerConfig
from tests.mqtt_helpers import TIMEOUT, Client, RunningBroker


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
    )
    return str(crt), str(key)


@pytest.fixture
def tls_broker(cert):
    crt, key = cert
    cfg = BrokerConfig(
        listeners=[
            ListenerConfig(type="tcp", port=0),
            ListenerConfig(type="ssl", port=0, certfile=crt, keyfile=key),
            ListenerConfig(type="wss", port=0, certfile=crt, keyfile=key),
        ],
        sys_interval=0,
        sys_heartbeat=0,
    )
    b = RunningBroker(cfg)
    yield b
    b.close()


def _tls_client(broker, kind, crt, clientid):
    c = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=clientid, transport="websockets" if kind == "wss" else "tcp"
    )
    if kind == "wss":
        c.ws_set_options(path="/mqtt")
    c.tls_set(ca_certs=crt, cert_reqs=ssl.CERT_REQUIRED)
    got = []
    c.on_message = lambda cl, u, m: got.append(m.payload)
    c.connect("127.0.0.1", broker.port(kind))
    c.loop_start()
    return c, got


@pytest.mark.parametrize("kind", ["ssl", "wss"])
def test_tls_listeners_carry_mqtt(tls_broker, cert, kind):
    crt, _ = cert
    c, got = _tls_client(tls_broker, kind, crt, f"tls-{kind}")
    c.subscribe("secure", 1)
    time.sleep(0.3)
    Client(tls_broker).publish("secure", b"encrypted", qos=1)
    end = time.monotonic() + TIMEOUT
    while not got and time.monotonic() < end:
        time.sleep(0.02)
    c.loop_stop()
    assert got == [b"encrypted"]


@pytest.mark.parametrize("version", [MQTTv311, MQTTv50])
async def test_gmqtt_client_roundtrip(broker, version):
    received = asyncio.Queue()
    sub = GMQTTClient("gm-sub")
    sub.on_message = lambda client, topic, payload, qos, properties: received.put_nowait((topic, payload, qos)) or 0
    await sub.connect("127.0.0.1", broker.port(), version=version)
    sub.subscribe("gm/+", qos=1)
    await asyncio.sleep(0.2)
    pub = GMQTTClient("gm-pub")
    await pub.connect("127.0.0.1", broker.port(), version=version)
    pub.publish("gm/1", b"from gmqtt", qos=1, user_property=("k", "v") if version == MQTTv50 else None)
    topic, payload, qos = await asyncio.wait_for(received.get(), TIMEOUT)
    assert (topic, payload, qos) == ("gm/1", b"from gmqtt", 1)
    await pub.disconnect()
    await sub.disconnect()
