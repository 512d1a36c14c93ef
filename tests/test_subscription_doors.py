"""The same subscription rules hold whichever door a subscription comes through.

A door is one way to subscribe on a client's behalf: SUBSCRIBE over MQTT (paho, real sockets),
``BrokerControl.subscribe`` (what every API dialect calls), and each dialect's HTTP call for it — EMQ
2.3's `POST /api/v2/mqtt/subscribe`, EMQX 4's `POST /api/v4/mqtt/subscribe` (served whichever `/api/v4`
flavor is chosen, so both are doors) and EMQX 5's `POST /api/v5/clients/{clientid}/subscribe`. Each
case sets a broker up with one rule and asks every door for a subscription the rule refuses; the
refusal must carry the rule's reason (the MQTT reason code, or the dialect's answer for it) and leave
nothing subscribed.

A door is a class in DOORS with three methods: ``open`` starts what it needs (the ``gateway`` fixture
gives a broker with the dialects mounted; its ``.broker`` is what the cases use for clients),
``subscribe`` answers an Outcome, and ``assert_refused`` checks a refusal the way that door reports it.
"""

from __future__ import annotations

import base64

import attrs
import pytest

from gateway.config import HttpConfig
from schemas.errors import ControlError, Denied, InvalidArgument, LimitExceeded, NotSupported
from schemas.records import SubscribeRequest
from tests.mqtt_helpers import Client, RunningBroker, wait_for


@attrs.frozen
class Env:
    """What a door opened: the broker the cases connect clients to, and the door's own handle."""

    broker: RunningBroker
    handle: object = None


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
    status: int | None = None  # an HTTP door's answer: status and body
    body: object = None


class MqttDoor:
    """SUBSCRIBE from the client itself; the SUBACK answers."""

    name = "mqtt"

    async def open(self, make_broker, gateway, **overrides) -> Env:
        return Env(make_broker(**overrides))

    async def subscribe(self, env: Env, client: Client, topic: str, qos: int = 1) -> Outcome:
        [rc] = client.subscribe(topic, qos)
        code = rc.value
        return Outcome(granted_qos=code) if code < 0x80 else Outcome(reason_code=code)

    def assert_refused(self, outcome: Outcome, code: int) -> None:
        assert outcome.granted_qos is None and outcome.reason_code == code, outcome


class ControlDoor:
    """``BrokerControl.subscribe`` on the client's behalf, as the API dialects call it."""

    name = "control"

    async def open(self, make_broker, gateway, **overrides) -> Env:
        return Env(make_broker(**overrides))

    async def subscribe(self, env: Env, client: Client, topic: str, qos: int = 1) -> Outcome:
        broker = env.broker
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


class HttpDoor:
    """A dialect's subscribe-on-behalf call over real HTTP. Subclasses say the call and how a refusal of
    each reason code reads in that dialect (``REFUSALS``: reason code -> (status, body fields))."""

    dialect = ""
    flavor: str | None = None
    REFUSALS: dict[int, tuple[int, dict]] = {}

    async def open(self, make_broker, gateway, **overrides) -> Env:
        http = HttpConfig(v4_flavor=self.flavor) if self.flavor else None
        gw = await gateway(self.dialect, http=http, **overrides)
        return Env(gw.broker, gw)

    def auth(self, gw) -> dict:
        return {"Authorization": "Basic " + base64.b64encode(b"admin:public").decode()}

    async def subscribe(self, env: Env, client: Client, topic: str, qos: int = 1) -> Outcome:
        gw = env.handle
        path, body = self.request(client.clientid, topic, qos)
        r = await gw.http.post(path, json=body, headers=self.auth(gw))
        doc = await r.json()
        if self.granted(r.status, doc):
            # The HTTP answers do not all say the QoS granted: ask the broker, as a client of the API would.
            subs = env.broker.run(env.broker.control.client_subscriptions(client.clientid))
            [sub] = [s for s in subs if s.topic == topic]
            return Outcome(granted_qos=sub.qos)
        return Outcome(status=r.status, body=doc)

    def assert_refused(self, outcome: Outcome, code: int) -> None:
        status, fields = self.REFUSALS[code]
        assert outcome.granted_qos is None and outcome.status == status, outcome
        assert {k: outcome.body.get(k) for k in fields} == fields, outcome
        assert outcome.body.get("message"), outcome  # the broker's reason, for the person reading it


class V2Door(HttpDoor):
    name = dialect = "v2"
    # 2.3 answered every failure of its broker calls with "unknown error" and the reason.
    REFUSALS = {code: (200, {"code": 102}) for code in ERROR_FOR_CODE}

    def request(self, clientid, topic, qos):
        return "/api/v2/mqtt/subscribe", {"client_id": clientid, "topic": topic, "qos": qos}

    def granted(self, status, doc):
        return status == 200 and doc["code"] == 0


class Emqx4Door(HttpDoor):
    name = "v4-emqx4"
    dialect, flavor = "v4", "emqx4"
    # EMQX 4's API checked neither: a filter it cannot take is its bad topic (115), the rest its
    # "unknown error" (102), each with the broker's reason.
    REFUSALS = {
        0x87: (200, {"code": 102}),
        0x97: (200, {"code": 102}),
        0x8F: (200, {"code": 115}),
        0x9E: (200, {"code": 115}),
        0xA2: (200, {"code": 115}),
    }

    def request(self, clientid, topic, qos):
        return "/api/v4/mqtt/subscribe", {"clientid": clientid, "topic": topic, "qos": qos}

    def granted(self, status, doc):
        return status == 200 and doc["code"] == 0


class NanoMQFlavorDoor(Emqx4Door):
    """The same EMQX 4 call when NanoMQ is the chosen flavor: still answered in EMQX 4's form."""

    name = "v4-nanomq"
    flavor = "nanomq"


class V5Door(HttpDoor):
    name = dialect = "v5"
    REFUSALS = {
        0x87: (403, {"code": "NOT_AUTHORIZED"}),
        0x8F: (400, {"code": "INVALID_PARAMETER"}),
        0x97: (400, {"code": "EXCEED_LIMIT"}),
        0x9E: (400, {"code": "NOT_SUPPORTED"}),
        0xA2: (400, {"code": "NOT_SUPPORTED"}),
    }

    def auth(self, gw) -> dict:
        key, secret = gw.accounts.create_api_key(f"door{len(gw.accounts.list_api_keys())}", "", True, None)
        return {"Authorization": "Basic " + base64.b64encode(f"{key.api_key}:{secret}".encode()).decode()}

    def request(self, clientid, topic, qos):
        return f"/api/v5/clients/{clientid}/subscribe", {"topic": topic, "qos": qos}

    def granted(self, status, doc):
        return status == 200


DOORS = [MqttDoor(), ControlDoor(), V2Door(), Emqx4Door(), NanoMQFlavorDoor(), V5Door()]


@pytest.fixture(params=DOORS, ids=lambda d: d.name)
def door(request):
    return request.param


@pytest.fixture
def open_env(door, make_broker, gateway):
    """Start a broker with the given settings, and whatever else this door needs."""

    async def open_(**overrides) -> Env:
        return await door.open(make_broker, gateway, **overrides)

    return open_


def subscribed(env: Env, clientid: str) -> list[str]:
    broker = env.broker
    return [s.topic for s in broker.run(broker.control.client_subscriptions(clientid))]


async def granted(door, env, client, topic, qos=1):
    return (await door.subscribe(env, client, topic, qos)).granted_qos


async def refuses(door, env, client, topic, code, before=()):
    outcome = await door.subscribe(env, client, topic)
    door.assert_refused(outcome, code)
    assert subscribed(env, client.clientid) == list(before)


ACL = (
    '{allow, {username, "ann"}, subscribe, ["ann/#"]}.\n{deny, all, subscribe, ["ann/#", "secret/#"]}.\n{allow, all}.\n'
)


@pytest.fixture
def acl_file(tmp_path):
    f = tmp_path / "acl.conf"
    f.write_text(ACL)
    return str(f)


async def test_acl_deny(door, open_env, acl_file):
    env = await open_env(acl_file=acl_file)
    c = Client(env.broker, "acl-1", v5=True)
    await refuses(door, env, c, "secret/x", 0x87)
    assert await granted(door, env, c, "public/x") == 1


async def test_acl_is_checked_with_the_clients_own_identity(door, open_env, acl_file):
    env = await open_env(acl_file=acl_file)
    ann = Client(env.broker, "acl-ann", v5=True, username="ann")
    bob = Client(env.broker, "acl-bob", v5=True, username="bob")
    assert await granted(door, env, ann, "ann/inbox") == 1
    await refuses(door, env, bob, "ann/inbox", 0x87)


async def test_wildcard_subscriptions_switched_off(door, open_env):
    env = await open_env(wildcard_subscription=False)
    c = Client(env.broker, "wild", v5=True)
    await refuses(door, env, c, "a/#", 0xA2)
    await refuses(door, env, c, "a/+/c", 0xA2)
    assert await granted(door, env, c, "a/b") == 1


async def test_shared_subscriptions_switched_off(door, open_env):
    env = await open_env(shared_subscription=False)
    c = Client(env.broker, "shared", v5=True)
    await refuses(door, env, c, "$share/g/a", 0x9E)
    await refuses(door, env, c, "$queue/a", 0x9E)


async def test_max_subscriptions(door, open_env):
    env = await open_env(max_subscriptions=1)
    c = Client(env.broker, "quota", v5=True)
    assert await granted(door, env, c, "a") == 1
    await refuses(door, env, c, "b", 0x97, before=["a"])
    assert await granted(door, env, c, "a", qos=0) == 0  # replacing one is not a new one


async def test_too_many_topic_levels(door, open_env):
    env = await open_env(max_topic_levels=2)
    c = Client(env.broker, "levels", v5=True)
    await refuses(door, env, c, "a/b/c", 0x8F)
    assert await granted(door, env, c, "a/b") == 1


async def test_filter_longer_than_max_topic_length(door, open_env):
    env = await open_env(max_topic_length=16)
    c = Client(env.broker, "long-filter", v5=True)
    await refuses(door, env, c, "a/" + "b" * 15, 0x8F)  # 17 bytes
    await refuses(door, env, c, "$share/g/" + "c" * 8, 0x8F)  # the share prefix counts too
    assert await granted(door, env, c, "a/" + "b" * 14) == 1


async def test_invalid_filter(door, open_env):
    env = await open_env()
    c = Client(env.broker, "bad-filter", v5=True)
    await refuses(door, env, c, "$share//a", 0x8F)  # no share name (paho refuses to send misplaced wildcards)


async def test_qos_is_capped_at_max_qos_allowed(door, open_env):
    env = await open_env(max_qos_allowed=1)
    c = Client(env.broker, "capped", v5=True)
    assert await granted(door, env, c, "t", qos=2) == 1


async def test_the_reported_case_wildcards_off_and_one_subscription(door, open_env):
    """The bug that started it: the API accepted `a/#` and then `b/+` where SUBSCRIBE refused both."""
    env = await open_env(wildcard_subscription=False, max_subscriptions=1)
    c = Client(env.broker, "issue", v5=True)
    await refuses(door, env, c, "a/#", 0xA2)
    await refuses(door, env, c, "b/+", 0xA2)
    assert await granted(door, env, c, "x") == 1
    await refuses(door, env, c, "y", 0x97, before=["x"])


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
    assert subscribed(Env(b), c.clientid) == []
    subs = b.run(ctl.subscribe("whole", [SubscribeRequest(topic="a"), SubscribeRequest(topic="b")]))
    assert [s.topic for s in subs] == ["a", "b"]


def test_api_no_local_on_a_shared_subscription_is_invalid(broker):
    Client(broker, "nl", v5=True)
    with pytest.raises(InvalidArgument) as e:
        broker.run(broker.control.subscribe("nl", [SubscribeRequest(topic="$share/g/t", no_local=True)]))
    assert e.value.field == "no_local" and e.value.reason_code == 0x82
    assert subscribed(Env(broker), "nl") == []


def test_api_checks_an_offline_client_with_its_last_connection(make_broker, acl_file):
    """An offline persistent session is still its client: the ACL sees its username and address."""
    acl_broker = make_broker(acl_file=acl_file)
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


def test_observers_hear_which_door_a_change_came_through(broker):
    heard = []

    def observer(event, **data):
        if event in ("client.subscribed", "client.unsubscribed"):
            topics = [o.filter for o in data["subscriptions"]] if "subscriptions" in data else data["filters"]
            heard.append((event, data["clientid"], topics, data["origin"]))

    broker.call(broker.broker.observe, observer)
    c = Client(broker, "heard", v5=True)
    c.subscribe("m", 1)
    broker.run(broker.control.subscribe("heard", [SubscribeRequest(topic="a"), SubscribeRequest(topic="b")]))
    broker.run(broker.control.unsubscribe("heard", ["a", "never"]))
    with pytest.raises(InvalidArgument):  # refused as a whole: nothing applied, nothing heard
        broker.run(broker.control.subscribe("heard", [SubscribeRequest(topic=t) for t in ("c", "$share//x")]))
    c.c.unsubscribe("m")
    wait_for(lambda: broker.call(lambda: len(heard)) == 4)
    assert broker.call(lambda: list(heard)) == [
        ("client.subscribed", "heard", ["m"], "mqtt"),
        ("client.subscribed", "heard", ["a", "b"], "api"),
        ("client.unsubscribed", "heard", ["a"], "api"),
        ("client.unsubscribed", "heard", ["m"], "mqtt"),
    ]
