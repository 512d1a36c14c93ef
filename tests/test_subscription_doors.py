"""The same subscription rules hold whichever door a subscription comes through.

A door is one way to subscribe on a client's behalf: SUBSCRIBE over MQTT (paho, real sockets), or
``BrokerControl.subscribe`` (what every API dialect calls). Each case sets a broker up with one rule
and asks every door for a subscription the rule refuses; the refusal must carry the rule's MQTT
reason code and leave nothing subscribed. Another door (an HTTP API) is one more class with the
same three methods in DOORS.
"""
from __future__ import annotations

import attrs
import pytest

from schemas.errors import ControlError, Denied, InvalidArgument, LimitExceeded, NotSupported
from schemas.records import SubscribeRequest
from tests.mqtt_helpers import Client, RunningBroker

# What the control interface must raise for each reason code a SUBACK can carry here.
ERROR_FOR_CODE = {
    0x87: Denied,
    0x8F: InvalidArgument,
    0x97: LimitExceeded,
    0x9E: NotSupported,
    0xA2: NotSupported,
}


@attrs.frozen
class Outcome:
    granted_qos: int | None = None  # set when the subscription was made
    reason_code: int | None = None  # the refusal's MQTT reason code, when the door reports one
    error: Exception | None = None  # what an API door raised


class MqttDoor:
    """SUBSCRIBE from the client itself; the SUBACK answers."""

    name = "mqtt"

    def subscribe(self, broker: RunningBroker, client: Client, topic: str, qos: int = 1) -> Outcome:
        [rc] = client.subscribe(topic, qos)
        code = rc.value
        return Outcome(granted_qos=code) if code < 0x80 else Outcome(reason_code=code)

    def assert_refused(self, outcome: Outcome, code: int) -> None:
        assert outcome.granted_qos is None and outcome.reason_code == code, outcome


class ControlDoor:
    """``BrokerControl.subscribe`` on the client's behalf, as the API dialects call it."""

    name = "control"

    def subscribe(self, broker: RunningBroker, client: Client, topic: str, qos: int = 1) -> Outcome:
        try:
            [sub] = broker.run(broker.control.subscribe(client.clientid, [SubscribeRequest(topic=topic, qos=qos)]))
        except ControlError as e:
            return Outcome(reason_code=e.reason_code, error=e)
        return Outcome(granted_qos=sub.qos)

    def assert_refused(self, outcome: Outcome, code: int) -> None:
        assert outcome.granted_qos is None and outcome.reason_code == code, outcome
        assert type(outcome.error) is ERROR_FOR_CODE[code], outcome
        if code == 0x8F:
            assert outcome.error.field == "topic"


DOORS = [MqttDoor(), ControlDoor()]


@pytest.fixture(params=DOORS, ids=lambda d: d.name)
def door(request):
    return request.param


def subscribed(broker: RunningBroker, clientid: str) -> list[str]:
    return [s.topic for s in broker.run(broker.control.client_subscriptions(clientid))]


def refuses(door, broker, client, topic, code, before=()):
    outcome = door.subscribe(broker, client, topic)
    door.assert_refused(outcome, code)
    assert subscribed(broker, client.clientid) == list(before)


@pytest.fixture
def acl_broker(make_broker, tmp_path):
    f = tmp_path / "acl.conf"
    f.write_text('{allow, {username, "ann"}, subscribe, ["ann/#"]}.\n'
                 '{deny, all, subscribe, ["ann/#", "secret/#"]}.\n'
                 '{allow, all}.\n')
    return make_broker(acl_file=str(f))


def test_acl_deny(door, acl_broker):
    c = Client(acl_broker, "acl-1", v5=True)
    refuses(door, acl_broker, c, "secret/x", 0x87)
    assert door.subscribe(acl_broker, c, "public/x").granted_qos == 1


def test_acl_is_checked_with_the_clients_own_identity(door, acl_broker):
    ann = Client(acl_broker, "acl-ann", v5=True, username="ann")
    bob = Client(acl_broker, "acl-bob", v5=True, username="bob")
    assert door.subscribe(acl_broker, ann, "ann/inbox").granted_qos == 1
    refuses(door, acl_broker, bob, "ann/inbox", 0x87)


def test_wildcard_subscriptions_switched_off(door, make_broker):
    b = make_broker(wildcard_subscription=False)
    c = Client(b, "wild", v5=True)
    refuses(door, b, c, "a/#", 0xA2)
    refuses(door, b, c, "a/+/c", 0xA2)
    assert door.subscribe(b, c, "a/b").granted_qos == 1


def test_shared_subscriptions_switched_off(door, make_broker):
    b = make_broker(shared_subscription=False)
    c = Client(b, "shared", v5=True)
    refuses(door, b, c, "$share/g/a", 0x9E)
    refuses(door, b, c, "$queue/a", 0x9E)


def test_max_subscriptions(door, make_broker):
    b = make_broker(max_subscriptions=1)
    c = Client(b, "quota", v5=True)
    assert door.subscribe(b, c, "a").granted_qos == 1
    refuses(door, b, c, "b", 0x97, before=["a"])
    assert door.subscribe(b, c, "a", qos=0).granted_qos == 0  # replacing one is not a new one


def test_too_many_topic_levels(door, make_broker):
    b = make_broker(max_topic_levels=2)
    c = Client(b, "levels", v5=True)
    refuses(door, b, c, "a/b/c", 0x8F)
    assert door.subscribe(b, c, "a/b").granted_qos == 1


def test_invalid_filter(door, broker):
    c = Client(broker, "bad-filter", v5=True)
    refuses(door, broker, c, "$share//a", 0x8F)  # no share name (paho refuses to send misplaced wildcards)


def test_qos_is_capped_at_max_qos_allowed(door, make_broker):
    b = make_broker(max_qos_allowed=1)
    c = Client(b, "capped", v5=True)
    assert door.subscribe(b, c, "t", qos=2).granted_qos == 1


def test_the_reported_case_wildcards_off_and_one_subscription(door, make_broker):
    """The bug that started it: the API accepted `a/#` and then `b/+` where SUBSCRIBE refused both."""
    b = make_broker(wildcard_subscription=False, max_subscriptions=1)
    c = Client(b, "issue", v5=True)
    refuses(door, b, c, "a/#", 0xA2)
    refuses(door, b, c, "b/+", 0xA2)
    assert door.subscribe(b, c, "x").granted_qos == 1
    refuses(door, b, c, "y", 0x97, before=["x"])


# --- the API door only -----------------------------------------------------------------------------


def test_api_request_is_checked_whole_before_anything_is_applied(make_broker):
    b = make_broker(max_subscriptions=2, wildcard_subscription=False)
    c = Client(b, "whole", v5=True)
    ctl = b.control
    with pytest.raises(NotSupported) as e:
        b.run(ctl.subscribe("whole", [SubscribeRequest(topic="a"), SubscribeRequest(topic="b/#")]))
    assert e.value.reason_code == 0xA2
    with pytest.raises(LimitExceeded):
        b.run(ctl.subscribe("whole", [SubscribeRequest(topic=t) for t in ("a", "b", "c")]))
    assert subscribed(b, c.clientid) == []
    subs = b.run(ctl.subscribe("whole", [SubscribeRequest(topic="a"), SubscribeRequest(topic="b")]))
    assert [s.topic for s in subs] == ["a", "b"]


def test_api_no_local_on_a_shared_subscription_is_invalid(broker):
    Client(broker, "nl", v5=True)
    with pytest.raises(InvalidArgument) as e:
        broker.run(broker.control.subscribe("nl", [SubscribeRequest(topic="$share/g/t", no_local=True)]))
    assert e.value.field == "no_local" and e.value.reason_code == 0x82
    assert subscribed(broker, "nl") == []


def test_api_checks_an_offline_client_with_its_last_connection(acl_broker):
    """An offline persistent session is still its client: the ACL sees its username and address."""
    ann = Client(acl_broker, "offline-ann", v5=False, clean=False, username="ann")
    bob = Client(acl_broker, "offline-bob", v5=False, clean=False, username="bob")
    ann.disconnect()
    bob.disconnect()
    ctl = acl_broker.control
    [sub] = acl_broker.run(ctl.subscribe("offline-ann", [SubscribeRequest(topic="ann/inbox")]))
    assert sub.topic == "ann/inbox"
    with pytest.raises(Denied) as e:
        acl_broker.run(ctl.subscribe("offline-bob", [SubscribeRequest(topic="ann/inbox")]))
    assert e.value.reason_code == 0x87
