"""Alarms raised and cleared by the broker itself, seen through the control interface and `$SYS`.

Memory and CPU alarms read the real host (/proc): the tests move the watermarks, not the readings.
"""

import json
import socket
import time

import attrs
import pytest

from schemas.errors import NotFound
from tests.mqtt_helpers import Client, connect_bytes, wait_for


def alarms(broker, activated=True):
    return broker.run(broker.control.list_alarms(activated=activated))


def names(broker, activated=True):
    return [a.name for a in alarms(broker, activated)]


def reconfigure(broker, **changes):
    config = broker.run(broker.control.get_config())
    broker.run(broker.control.apply_config(attrs.evolve(config, **changes)))


def test_system_memory_alarm_follows_the_watermark(make_broker):
    # The CPU alarm stays out of it: a busy machine would otherwise raise it too.
    broker = make_broker(os_check_interval=1, sysmem_high_watermark=0.0, cpu_high_watermark=100.0)
    sys_sub = Client(broker)
    sys_sub.subscribe("$SYS/brokers/+/alarms/#", 0)
    wait_for(lambda: "high_system_memory_usage" in names(broker))
    alarm = alarms(broker)[0]
    assert alarm.activated and alarm.node == "emqgw@127.0.0.1" and alarm.activate_at <= time.time()
    assert alarm.message == "System memory usage is higher than 0%"
    assert alarm.details["high_watermark"] == 0.0 and 0 < alarm.details["usage"] <= 100
    msg = sys_sub.expect()
    assert msg.topic == "$SYS/brokers/emqgw@127.0.0.1/alarms/activate"
    body = json.loads(msg.payload)
    assert body["name"] == "high_system_memory_usage" and body["deactivate_at"] == "infinity"
    assert body["activated"] is True and isinstance(body["activate_at"], int)

    reconfigure(broker, sysmem_high_watermark=100.0)
    wait_for(lambda: not names(broker))
    (done,) = alarms(broker, activated=False)
    assert done.name == "high_system_memory_usage" and done.deactivate_at >= done.activate_at
    assert sys_sub.expect().topic.endswith("/alarms/deactivate")
    assert [a.name for a in alarms(broker, activated=None)] == ["high_system_memory_usage"]


def test_cpu_alarm_raises_above_high_and_clears_below_low(make_broker):
    broker = make_broker(os_check_interval=1, cpu_high_watermark=0.0, cpu_low_watermark=0.0)

    def busy_until(pred):
        end = time.monotonic() + 10
        while time.monotonic() < end:
            spin = time.monotonic() + 0.2
            while time.monotonic() < spin:
                pass  # some CPU use in every check interval, so that usage > 0
            if pred():
                return
        raise AssertionError("condition not met in time")

    busy_until(lambda: "high_cpu_usage" in names(broker))
    details = alarms(broker)[0].details
    assert details["high_watermark"] == 0.0 and details["low_watermark"] == 0.0 and details["usage"] > 0
    reconfigure(broker, cpu_high_watermark=100.0, cpu_low_watermark=100.0)
    wait_for(lambda: not names(broker), timeout=10)
    assert names(broker, activated=False) == ["high_cpu_usage"]


def test_no_os_checks_when_the_interval_is_zero(make_broker):
    broker = make_broker(os_check_interval=0, sysmem_high_watermark=0.0)
    time.sleep(1.5)  # past a tick of the server's timer
    assert names(broker) == []


def congest(broker, clientid):
    """A subscriber that never reads, and 12.8 MB published to it: more than the kernel buffers hold."""
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect, so the window stays small
    slow.connect(("127.0.0.1", broker.port()))
    slow.sendall(connect_bytes(clientid))
    slow.recv(4)
    slow.sendall(bytes([0x82, 6, 0, 1, 0, 1]) + b"f" + b"\x00")
    time.sleep(0.1)
    pub = Client(broker)
    for _ in range(200):
        pub.publish("f", b"x" * 65536)
    return slow


def drain(slow):
    slow.settimeout(0.2)
    try:
        while slow.recv(65536):
            pass
    except TimeoutError:
        pass


def test_congested_connection_raises_and_clears_its_alarm(make_broker):
    broker = make_broker(write_buffer_high=16 * 1024, conn_congestion_min_alarm_sustain_duration=0)
    slow = congest(broker, "laggard")
    wait_for(lambda: "conn_congestion/laggard/unknown_user" in names(broker))
    details = alarms(broker)[0].details
    assert details["clientid"] == "laggard" and details["peername"].startswith("127.0.0.1:")
    assert alarms(broker)[0].message == "connection congested: laggard"
    wait_for(lambda: drain(slow) or not names(broker), timeout=10)
    assert names(broker, activated=False) == ["conn_congestion/laggard/unknown_user"]
    slow.close()


def test_congestion_alarm_stays_its_sustain_duration_unless_the_connection_closes(make_broker):
    broker = make_broker(write_buffer_high=16 * 1024, conn_congestion_min_alarm_sustain_duration=3600)
    slow = congest(broker, "stuck")
    wait_for(lambda: names(broker) == ["conn_congestion/stuck/unknown_user"])
    wait_for(lambda: drain(slow) or broker.call(lambda: broker.broker.channels["stuck"].writable), timeout=10)
    time.sleep(1.5)  # writing again, but the alarm has not been up for an hour
    assert names(broker) == ["conn_congestion/stuck/unknown_user"]
    slow.close()
    wait_for(lambda: names(broker) == [])


def test_force_deactivate_history_limits_and_clear(make_broker):
    broker = make_broker(alarm_size_limit=2, os_check_interval=0)
    for i in range(3):
        broker.call(broker.broker.raise_alarm, f"a{i}", f"alarm {i}", {"i": i})
    assert set(names(broker)) == {"a0", "a1", "a2"}
    for i in range(3):
        done = broker.run(broker.control.deactivate_alarm(f"a{i}"))
        assert done.name == f"a{i}" and not done.activated
    assert names(broker) == [] and names(broker, activated=False) == ["a2", "a1"]  # newest first, 2 kept
    with pytest.raises(NotFound):
        broker.run(broker.control.deactivate_alarm("a2"))
    broker.run(broker.control.clear_alarm_history())
    assert names(broker, activated=False) == []


def test_history_older_than_the_validity_period_is_forgotten(make_broker):
    broker = make_broker(alarm_validity_period=60, os_check_interval=0)
    b = broker.broker
    now = time.time()
    broker.call(b.raise_alarm, "old", "old one", {}, now - 600)
    broker.call(b.clear_alarm, "old", now - 300)
    broker.call(b.raise_alarm, "recent", "recent one", {}, now - 20)
    broker.call(b.clear_alarm, "recent", now - 10)
    wait_for(lambda: names(broker, activated=False) == ["recent"])
