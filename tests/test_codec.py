"""Unit tests for the sans-IO MQTT codec (broker.codec, broker.properties).

Oracles: hand-written spec bytes, and packets built by paho-mqtt's and gmqtt's own client encoders, which
share no code with ours.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from broker import constants as c
from broker import properties as P
from broker.codec import (
    MAX_PACKET_SIZE_DEFAULT,
    MAX_PACKET_SIZE_PROTOCOL,
    REASON_CODES,
    Decoder,
    UnsupportedProtocolVersion,
    decode,
    encode,
    encode_puback,
    encode_publish,
    patch_publish,
)
from broker.constants import ReasonCode as RC
from broker.errors import MQTTError
from broker.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    SubscriptionRequest,
    Unsuback,
    Unsubscribe,
    Will,
)

MALFORMED = RC.MALFORMED_PACKET
PROTOCOL = RC.PROTOCOL_ERROR
CLIENT_TYPES = (Connect, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe, Unsubscribe, Pingreq, Disconnect, Auth)
SERVER_TYPES = (Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Suback, Unsuback, Pingresp, Disconnect, Auth)


def split(raw: bytes) -> tuple[int, bytes]:
    """First byte and body of one encoded packet."""
    i = 1
    while raw[i] & 0x80:
        i += 1
    return raw[0], raw[i + 1 :]


def decoder_for(version: int, server_side: bool) -> Decoder:
    d = Decoder(server_side=server_side)
    if server_side:
        d.feed(encode(Connect("x", proto_ver=version, proto_name=c.PROTOCOL_NAMES[version]), version))
    else:
        d.version = version
    assert d.version == version
    return d


def roundtrip(packet, version: int):
    """Encode, then decode on every side that may receive this packet type; all must agree."""
    raw = encode(packet, version)
    results = []
    for server_side, types_ in ((True, CLIENT_TYPES), (False, SERVER_TYPES)):
        if type(packet) not in types_:
            continue
        if server_side and "subscription_identifier" in getattr(packet, "properties", {}) and type(packet) is Publish:
            # Only a server sends these [MQTT-3.3.4-6].
            assert rc_of(decoder_for(version, True).feed, raw) == PROTOCOL
            continue
        first, body = split(raw)
        results.append(decode(first, body, None if type(packet) is Connect else version, server_side))
        if type(packet) is not Connect:
            results.append(decoder_for(version, server_side).feed(raw)[0])
        else:
            d = Decoder()
            results.append(d.feed(raw)[0])
            assert d.version == version
    assert results
    for r in results:
        assert r == packet
    return raw


def rc_of(fn, *args) -> int:
    with pytest.raises(MQTTError) as info:
        fn(*args)
    return info.value.reason_code


def feed_rc(data: bytes, version: int | None = 4, server_side: bool = True, **kw) -> int:
    d = Decoder(server_side=server_side, **kw)
    if version is not None:
        if server_side:
            d.feed(encode(Connect("x", proto_ver=version, proto_name=c.PROTOCOL_NAMES[version]), version))
        else:
            d.version = version
    return rc_of(d.feed, data)


# --- round trips: every packet type in every version it exists in -------------------------------------

ALL = (3, 4, 5)
V5_PROPS = {
    Connect: {
        "session_expiry_interval": 3600,
        "receive_maximum": 10,
        "maximum_packet_size": 4096,
        "topic_alias_maximum": 5,
        "request_response_information": 1,
        "request_problem_information": 0,
        "user_property": [("a", "1"), ("a", "2")],
        "authentication_method": "SCRAM",
        "authentication_data": b"\x00\x01",
    },
    Connack: {
        "session_expiry_interval": 0,
        "receive_maximum": 100,
        "maximum_qos": 1,
        "retain_available": 0,
        "maximum_packet_size": 65536,
        "assigned_client_identifier": "auto-1",
        "topic_alias_maximum": 10,
        "reason_string": "ok",
        "user_property": [("k", "v")],
        "wildcard_subscription_available": 1,
        "subscription_identifier_available": 1,
        "shared_subscription_available": 0,
        "server_keep_alive": 30,
        "response_information": "resp/",
        "server_reference": "other:1883",
        "authentication_method": "m",
        "authentication_data": b"d",
    },
    Publish: {
        "payload_format_indicator": 1,
        "message_expiry_interval": 60,
        "topic_alias": 3,
        "response_topic": "reply/to",
        "correlation_data": b"\xff\x00",
        "user_property": [("x", "y")],
        "subscription_identifier": [1, 268_435_455],
        "content_type": "text/plain",
    },
}


def v5_cases():
    will = Will(
        "will/topic",
        b"gone",
        2,
        True,
        {
            "will_delay_interval": 10,
            "payload_format_indicator": 0,
            "message_expiry_interval": 9,
            "content_type": "ct",
            "response_topic": "r",
            "correlation_data": b"c",
            "user_property": [("w", "1")],
        },
    )
    reason = {"reason_string": "because", "user_property": [("u", "v")]}
    return [
        Connect("cid", 5, "MQTT", False, 0, "user", b"pw", will, V5_PROPS[Connect]),
        Connect("", 5, "MQTT", True, 65535, None, b"password-only", None, {}),
        Connack(True, 0, V5_PROPS[Connack]),
        Connack(False, RC.NOT_AUTHORIZED, {"reason_string": "no"}),
        Publish("a/b", b"payload", 1, True, True, 65535, V5_PROPS[Publish]),
        Publish("", b"", 0, False, False, None, {"topic_alias": 1}),
        Puback(1, 0x10, reason),
        Puback(2, 0x97, {}),
        Puback(3),
        Pubrec(1, 0x80, reason),
        Pubrec(4),
        Pubrel(1, 0x92, reason),
        Pubrel(5),
        Pubcomp(1, 0x92, {}),
        Pubcomp(6, 0, reason),
        Subscribe(
            7,
            [SubscriptionRequest("a/#", 2, True, True, 2), SubscriptionRequest("$share/g/b", 0)],
            {"subscription_identifier": 42, "user_property": [("s", "1")]},
        ),
        Suback(7, [0, 1, 2, 0x80, 0x8F, 0xA2], reason),
        Unsubscribe(8, ["a/#", "b"], {"user_property": [("x", "y")]}),
        Unsuback(8, [0, 0x11, 0x8F], reason),
        Pingreq(),
        Pingresp(),
        Disconnect(),
        Disconnect(0x04),
        Disconnect(
            0x8E,
            {
                "reason_string": "bye",
                "session_expiry_interval": 0,
                "server_reference": "s",
                "user_property": [("a", "")],
            },
        ),
        Auth(),
        Auth(
            0x18,
            {
                "authentication_method": "SCRAM",
                "authentication_data": b"x" * 300,
                "reason_string": "r",
                "user_property": [("a", "b")],
            },
        ),
    ]


def v3_cases(version: int):
    name = c.PROTOCOL_NAMES[version]
    return [
        Connect("cid", version, name, True, 60, None, None, None, {}),
        Connect("cid", version, name, False, 10, "user", b"pw", Will("w/t", b"bye", 1, True), {}),
        Connack(True, 0),
        Connack(False, RC.UNSUPPORTED_PROTOCOL_VERSION),
        Connack(False, RC.NOT_AUTHORIZED),
        Connack(False, RC.BAD_USERNAME_OR_PASSWORD),
        Connack(False, RC.SERVER_UNAVAILABLE),
        Connack(False, RC.CLIENT_IDENTIFIER_NOT_VALID),
        Publish("a/b", b"x" * 200, 0),
        Publish("a/b", b"", 1, True, True, 1),
        Publish("ü/€/𝄞", b"z", 2, False, False, 9),
        Puback(1),
        Pubrec(2),
        Pubrel(3),
        Pubcomp(4),
        Subscribe(5, [SubscriptionRequest("a/+", 1), SubscriptionRequest("#", 2)]),
        Suback(5, [0, 1, 2, 0x80]),
        Unsubscribe(6, ["a/+"]),
        Unsuback(6),
        Pingreq(),
        Pingresp(),
        Disconnect(),
    ]


@pytest.mark.parametrize("packet", v5_cases(), ids=lambda p: type(p).__name__)
def test_roundtrip_v5(packet):
    roundtrip(packet, 5)


@pytest.mark.parametrize("version", [3, 4])
def test_roundtrip_v3_v311(version):
    for packet in v3_cases(version):
        roundtrip(packet, version)


def test_every_type_covered():
    seen = {type(p) for p in v5_cases()}
    assert len(seen) == 15
    assert {type(p) for p in v3_cases(4)} == seen - {Auth}


def test_large_packet_multibyte_remaining_length():
    for size in (127 - 7, 128, 16_383, 16_384, 2_097_152):
        p = Publish("t", b"x" * size, 1, packet_id=1)
        raw = encode(p, 4)
        d = decoder_for(4, True)
        d.max_packet_size = MAX_PACKET_SIZE_PROTOCOL
        assert d.feed(raw) == [p]


# --- exact bytes --------------------------------------------------------------------------------------


def test_spec_examples():
    # MQTT 3.1.1 figure 3.9: PUBLISH variable header, topic "a/b", packet id 10.
    assert encode(Publish("a/b", b"", 1, packet_id=10), 4) == bytes.fromhex("3207 0003 612f62 000a")
    # MQTT 5 figure 3-9 adds the empty property length.
    assert encode(Publish("a/b", b"", 1, packet_id=10), 5) == bytes.fromhex("3208 0003 612f62 000a 00")
    # MQTT 3.1.1 figure 3.21: SUBSCRIBE a/b QoS 1, c/d QoS 2, packet id 10.
    assert encode(Subscribe(10, [SubscriptionRequest("a/b", 1), SubscriptionRequest("c/d", 2)]), 4) == bytes.fromhex(
        "820e 000a 0003612f6201 0003632f6402"
    )
    assert encode(Connack(False, 0), 4) == b"\x20\x02\x00\x00"
    assert encode(Connack(True, 0, {}), 5) == b"\x20\x03\x01\x00\x00"
    assert encode(Pingreq(), 4) == b"\xc0\x00" and encode(Pingresp(), 5) == b"\xd0\x00"
    assert encode(Suback(1, [0, 1, 2, 0x80]), 4) == bytes.fromhex("9006 0001 00010280")
    assert encode(Unsuback(1), 4) == bytes.fromhex("b002 0001")
    assert encode(Unsuback(1, [0x00, 0x11]), 5) == bytes.fromhex("b005 0001 00 0011")


def test_v5_short_forms():
    for cls, b0 in ((Puback, 0x40), (Pubrec, 0x50), (Pubrel, 0x62), (Pubcomp, 0x70)):
        assert encode(cls(0x1234), 5) == bytes((b0, 2, 0x12, 0x34))
        assert encode(cls(0x1234, 0x92 if cls in (Pubrel, Pubcomp) else 0x10), 5)[1] == 3
        d = decoder_for(5, True)
        # Long forms with an empty property block, as gmqtt sends them, decode to the same record.
        assert d.feed(bytes((b0, 4, 0x12, 0x34, 0, 0))) == [cls(0x1234)]
        assert d.feed(bytes((b0, 3, 0x12, 0x34, 0))) == [cls(0x1234)]
    assert encode(Disconnect(), 5) == b"\xe0\x00"
    assert encode(Disconnect(0x04), 5) == b"\xe0\x01\x04"
    assert encode(Auth(), 5) == b"\xf0\x00"
    d = decoder_for(5, True)
    assert d.feed(b"\xe0\x00\xe0\x01\x04\xe0\x02\x00\x00\xf0\x00\xf0\x02\x18\x00") == [
        Disconnect(),
        Disconnect(4),
        Disconnect(),
        Auth(),
        Auth(0x18),
    ]


def test_v3_encoding_drops_what_old_protocols_cannot_say():
    props = {"reason_string": "x"}
    assert encode(Puback(5, 0x80, props), 4) == b"\x40\x02\x00\x05"
    assert encode(Pubrel(5, 0x92, props), 3) == b"\x62\x02\x00\x05"
    assert encode(Disconnect(0x8E, {"reason_string": "x"}), 4) == b"\xe0\x00"
    assert encode(Unsuback(5, [0x11], props), 4) == b"\xb0\x02\x00\x05"
    assert encode(Suback(5, [0x00, 0x02, 0x87, 0x97, 0xA2], props), 4) == b"\x90\x07\x00\x05\x00\x02\x80\x80\x80"
    assert encode(Publish("t", b"p", 0, properties={"user_property": [("a", "b")]}), 4) == b"\x30\x04\x00\x01tp"
    # CONNACK reasons go through constants.V5_TO_V3_CONNACK; unmapped refusals become 3, server unavailable.
    for reason, code in c.V5_TO_V3_CONNACK.items():
        assert encode(Connack(False, reason, props), 4) == bytes((0x20, 2, 0, code))
    assert encode(Connack(False, RC.QUOTA_EXCEEDED), 4) == b"\x20\x02\x00\x03"
    with pytest.raises(ValueError):
        encode(Auth(), 4)


def test_connect_3_1_uses_mqisdp():
    raw = encode(Connect("c", proto_ver=3, proto_name="MQIsdp", keepalive=10), 3)
    assert raw == bytes.fromhex("100f 00064d5149736470 03 02 000a 000163")


def test_suback_v3_failure_code():
    assert decode(0x90, b"\x00\x01\x80", 4, False) == Suback(1, [0x80])


class _FakeSock:
    def close(self):
        pass


def paho_packets(protocol: int, build) -> list[bytes]:
    """Packets built by paho-mqtt's own client encoders (its _send_* methods), captured before IO."""
    paho = pytest.importorskip("paho.mqtt.client")
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="paho-oracle", protocol=protocol)
    out: list[bytes] = []
    client._sock = _FakeSock()
    client._packet_queue = lambda command, packet, mid, qos, info=None: out.append(bytes(packet)) or 0
    build(client)
    client._sock = None
    return out


@pytest.mark.parametrize("version", ALL)
def test_paho_client_packets(version):
    paho = pytest.importorskip("paho.mqtt.client")
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions

    v5 = version == 5

    def build(cl):
        cl.username_pw_set("user", "pw")
        if v5:
            wp = Properties(PacketTypes.WILLMESSAGE)
            wp.WillDelayInterval = 5
            wp.UserProperty = ("wk", "wv")
            cl.will_set("will/t", b"bye", 1, True, properties=wp)
            cp = Properties(PacketTypes.CONNECT)
            cp.SessionExpiryInterval = 30
            cp.ReceiveMaximum = 20
            cp.UserProperty = ("k", "v")
            cl._connect_properties = cp
        else:
            cl.will_set("will/t", b"bye", 1, True)
        cl._send_connect(30)
        pp = None
        if v5:
            pp = Properties(PacketTypes.PUBLISH)
            pp.MessageExpiryInterval = 60
            pp.ContentType = "text/plain"
            pp.CorrelationData = b"\x01\x02"
        cl._send_publish(7, "a/b/ü".encode(), b"hello", 1, True, False, None, pp)
        cl._send_publish(0, b"q0", b"", 0, False, False)
        if v5:
            sp = Properties(PacketTypes.SUBSCRIBE)
            sp.SubscriptionIdentifier = 99
            cl._send_subscribe(
                False,
                [
                    (b"a/+", SubscribeOptions(qos=1, noLocal=True, retainHandling=1)),
                    (b"#", SubscribeOptions(qos=2, retainAsPublished=True)),
                ],
                sp,
            )
        else:
            cl._send_subscribe(False, [(b"a/+", 1), (b"#", 2)])
        cl._send_unsubscribe(False, [b"a/+", b"#"])
        cl._send_puback(3)
        cl._send_pubrec(4)
        cl._send_pubrel(5)
        cl._send_pubcomp(6)
        cl._send_pingreq()
        cl._send_disconnect()

    protocol = {3: paho.MQTTv31, 4: paho.MQTTv311, 5: paho.MQTTv5}[version]
    raw = paho_packets(protocol, build)
    name = c.PROTOCOL_NAMES[version]
    will_props = {"will_delay_interval": 5, "user_property": [("wk", "wv")]} if v5 else {}
    expected = [
        Connect(
            "paho-oracle",
            version,
            name,
            True,
            30,
            "user",
            b"pw",
            Will("will/t", b"bye", 1, True, will_props),
            {"session_expiry_interval": 30, "receive_maximum": 20, "user_property": [("k", "v")]} if v5 else {},
        ),
        Publish(
            "a/b/ü",
            b"hello",
            1,
            True,
            False,
            7,
            {"message_expiry_interval": 60, "content_type": "text/plain", "correlation_data": b"\x01\x02"}
            if v5
            else {},
        ),
        Publish("q0", b"", 0),
        Subscribe(
            1,
            [SubscriptionRequest("a/+", 1, True, False, 1), SubscriptionRequest("#", 2, False, True, 0)],
            {"subscription_identifier": 99},
        )
        if v5
        else Subscribe(1, [SubscriptionRequest("a/+", 1), SubscriptionRequest("#", 2)]),
        Unsubscribe(2, ["a/+", "#"]),
        Puback(3),
        Pubrec(4),
        Pubrel(5),
        Pubcomp(6),
        Pingreq(),
        Disconnect(),
    ]
    d = Decoder()
    assert d.feed(b"".join(raw)) == expected
    # And our encoder writes the very same bytes (property order follows paho's, i.e. identifier order).
    for packet, theirs in zip(expected, raw, strict=True):
        if isinstance(packet, Connect) and v5:
            packet.properties = {"session_expiry_interval": 30, "receive_maximum": 20, "user_property": [("k", "v")]}
        assert encode(packet, version) == theirs, type(packet).__name__


@pytest.mark.parametrize("version", [4, 5])
def test_gmqtt_client_packets(version):
    pytest.importorskip("gmqtt")
    from gmqtt import Message, Subscription
    from gmqtt.mqtt import package as gp
    from gmqtt.mqtt.utils import IdGenerator

    proto = SimpleNamespace(proto_ver=version, proto_name=b"MQTT", id_generator=IdGenerator())
    v5 = version == 5
    props = {"message_expiry_interval": 3, "user_property": [("a", "b"), ("a", "c")]} if v5 else {}
    _, pub = gp.PublishPacket.build_package(Message("t/1", b"data", 2, True, **props), proto)
    # gmqtt writes the MQTT 5 option bits whatever the version; 3.1.1 would call them malformed.
    options = dict(no_local=True, retain_as_published=True, retain_handling_options=2) if v5 else {}
    _, sub = gp.SubscribePacket.build_package([Subscription("a/#", qos=2, **options)], proto)
    _, unsub = gp.UnsubscribePacket.build_package(["a/#", "b"], proto)
    login = gp.LoginPackageFactor.build_package(
        "cid",
        "u",
        "p",
        False,
        30,
        proto,
        Message("w", b"bye", 1, True),
        **({"session_expiry_interval": 5} if v5 else {}),
    )
    disc = gp.DisconnectPacket.build_package(proto, 0x04) if v5 else gp.DisconnectPacket.build_package(proto)
    ack = gp.CommandWithMidPacket.build_package(0x40, 5, False, 0x10 if v5 else 0, version)
    ping = gp.SimpleCommandPacket.build_package(c.PINGREQ)

    d = Decoder()
    got = d.feed(bytes(login) + bytes(pub) + bytes(sub) + bytes(unsub) + ack + ping + disc)
    sub_req = SubscriptionRequest("a/#", 2, True, True, 2) if v5 else SubscriptionRequest("a/#", 2)
    assert got == [
        Connect(
            "cid",
            version,
            "MQTT",
            False,
            30,
            "u",
            b"p",
            Will("w", b"bye", 1, True),
            {"session_expiry_interval": 5} if v5 else {},
        ),
        Publish("t/1", b"data", 2, True, False, 1, props),
        Subscribe(2, [sub_req]),
        Unsubscribe(3, ["a/#", "b"]),
        Puback(5, 0x10 if v5 else 0),
        Pingreq(),
        Disconnect(0x04 if v5 else 0),
    ]
    assert encode(got[1], version) == bytes(pub)
    assert encode(got[3], version) == bytes(unsub)
    if not v5:
        assert encode(got[0], version) == bytes(login)


def test_properties_match_paho_table():
    """Our property table against paho's independent one: names, wire types, allowed packets."""
    pytest.importorskip("paho.mqtt.properties")
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    ref = Properties(PacketTypes.PUBLISH)
    types_ = {
        "Byte": P.BYTE,
        "Two Byte Integer": P.TWO_BYTE_INT,
        "Four Byte Integer": P.FOUR_BYTE_INT,
        "Variable Byte Integer": P.VARINT,
        "Binary Data": P.BINARY,
        "UTF-8 Encoded String": P.UTF8,
        "UTF-8 String Pair": P.UTF8_PAIR,
    }
    kinds = {
        getattr(PacketTypes, n): getattr(c, n)
        for n in (
            "CONNECT",
            "CONNACK",
            "PUBLISH",
            "PUBACK",
            "PUBREC",
            "PUBREL",
            "PUBCOMP",
            "SUBSCRIBE",
            "SUBACK",
            "UNSUBSCRIBE",
            "UNSUBACK",
            "DISCONNECT",
            "AUTH",
        )
    }
    kinds[PacketTypes.WILLMESSAGE] = P.WILL
    assert len(P.PROPERTIES) == 27
    assert set(P.PROPERTIES) == set(ref.properties)
    for pid, (wire, packets) in ref.properties.items():
        prop = P.PROPERTIES[pid]
        assert prop.name == ref.getNameFromIdent(pid).lower().replace(" ", "_")
        assert prop.wire_type == types_[ref.types[wire]]
        assert prop.packet_types == {kinds[k] for k in packets}, prop.name


def test_reason_codes_match_paho_table():
    pytest.importorskip("paho.mqtt.reasoncodes")
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode as PahoRC

    for ptype, codes in REASON_CODES.items():
        paho_type = getattr(PacketTypes, _type_name(ptype))
        theirs = {code for code, names in PahoRC.names.items() if any(paho_type in v for v in names.values())}
        if ptype == c.CONNACK:
            # paho misses 0x99: a Will payload not matching its Payload Format Indicator [3.1.3.2.3].
            theirs.add(0x99)
        assert codes == theirs, _type_name(ptype)


def _type_name(ptype: int) -> str:
    return "AUTH" if ptype == c.AUTH else c.MQTTCommands(ptype).name


def test_property_block_matches_paho_pack():
    pytest.importorskip("paho.mqtt.properties")
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    theirs = Properties(PacketTypes.CONNACK)
    theirs.SessionExpiryInterval = 7
    theirs.ReceiveMaximum = 300
    theirs.MaximumQoS = 1
    theirs.AssignedClientIdentifier = "ïd"
    theirs.ReasonString = "r"
    theirs.UserProperty = [("a", "b"), ("c", "d")]
    theirs.MaximumPacketSize = 2**20
    theirs.AuthenticationData = b"\x00" * 3
    ours = {
        "session_expiry_interval": 7,
        "assigned_client_identifier": "ïd",
        "authentication_data": b"\x00" * 3,
        "reason_string": "r",
        "receive_maximum": 300,
        "maximum_qos": 1,
        "user_property": [("a", "b"), ("c", "d")],
        "maximum_packet_size": 2**20,
    }
    packed = theirs.pack()
    assert P.encode_properties(ours, c.CONNACK) == packed
    assert P.decode_properties(packed, 0, len(packed), c.CONNACK) == (ours, len(packed))


# --- validation: every rule produces its reason code -------------------------------------------------


def connect_bytes(version=4, flags=0x02, payload=b"\x00\x01c", name=None, props=b""):
    name = (name if name is not None else c.PROTOCOL_NAMES.get(version, "MQTT")).encode()
    body = len(name).to_bytes(2, "big") + name + bytes((version, flags)) + b"\x00\x3c" + props + payload
    return bytes((0x10, len(body))) + body


@pytest.mark.parametrize(
    "data,version,server_side,code",
    [
        # Fixed header [MQTT-2.1.3-1]: reserved flags, reserved/forbidden types, direction.
        (b"\x41\x02\x00\x01", 4, True, MALFORMED),
        (b"\x60\x02\x00\x01", 4, True, MALFORMED),  # PUBREL must be 0b0010
        (b"\x80\x06\x00\x01\x00\x01a\x00", 4, True, MALFORMED),  # SUBSCRIBE must be 0b0010
        (b"\xa0\x05\x00\x01\x00\x01a", 4, True, MALFORMED),  # UNSUBSCRIBE must be 0b0010
        (b"\xc1\x00", 4, True, MALFORMED),
        (b"\xe2\x00", 5, True, MALFORMED),
        (b"\xf1\x00", 5, True, MALFORMED),
        (b"\x21\x02\x00\x00", 4, False, MALFORMED),
        (b"\x00\x00", 4, True, MALFORMED),  # type 0 is forbidden
        (b"\x00\x00", 5, False, MALFORMED),
        (b"\xf0\x00", 4, True, MALFORMED),  # AUTH is reserved before MQTT 5
        (b"\xf0\x00", 3, False, MALFORMED),
        (b"\x20\x02\x00\x00", 4, True, PROTOCOL),  # CONNACK from a client
        (b"\x90\x03\x00\x01\x00", 5, True, PROTOCOL),  # SUBACK from a client
        (b"\xd0\x00", 4, True, PROTOCOL),  # PINGRESP from a client
        (b"\xc0\x00", 4, False, PROTOCOL),  # PINGREQ from a server
        (b"\x82\x06\x00\x01\x00\x01a\x00", 4, False, PROTOCOL),  # SUBSCRIBE from a server
        (connect_bytes(), 4, False, PROTOCOL),  # CONNECT from a server
        (connect_bytes(), 4, True, PROTOCOL),  # second CONNECT [MQTT-3.1.0-2]
        # PUBLISH flags.
        (b"\x36\x05\x00\x01t\x00\x01", 4, True, MALFORMED),  # QoS 3 [MQTT-3.3.1-4]
        (b"\x38\x03\x00\x01t", 4, True, MALFORMED),  # DUP on QoS 0 [MQTT-3.3.1-2]
        (b"\x38\x04\x00\x01t\x00", 5, False, MALFORMED),
        # Packet identifier 0 [MQTT-2.2.1-3].
        (b"\x32\x05\x00\x01t\x00\x00", 4, True, PROTOCOL),
        (b"\x32\x06\x00\x01t\x00\x00\x00", 5, True, PROTOCOL),
        (b"\x40\x02\x00\x00", 4, True, PROTOCOL),
        (b"\x62\x02\x00\x00", 5, False, PROTOCOL),
        (b"\x82\x06\x00\x00\x00\x01a\x00", 4, True, PROTOCOL),
        (b"\xa2\x05\x00\x00\x00\x01a", 4, True, PROTOCOL),
        (b"\x90\x03\x00\x00\x00", 4, False, PROTOCOL),
        (b"\xb0\x02\x00\x00", 4, False, PROTOCOL),
        # UTF-8 [MQTT-1.5.4-1/2]: invalid sequences, surrogates, overlong, U+0000.
        (b"\x30\x04\x00\x02\xc3\x28", 4, True, MALFORMED),
        (b"\x30\x05\x00\x03\xed\xa0\x80", 4, True, MALFORMED),  # U+D800 encoded
        (b"\x30\x04\x00\x02\xc0\x80", 4, True, MALFORMED),  # overlong NUL
        (b"\x30\x04\x00\x02a\x00", 4, True, MALFORMED),
        (b"\x30\x05\x00\x02a\x00\x00", 5, True, MALFORMED),
        (b"\xa2\x06\x00\x01\x00\x02\x00a", 4, True, MALFORMED),  # topic filter with U+0000
        (b"\x82\x07\x00\x01\x00\x02\xff\xfe\x00", 4, True, MALFORMED),
        # SUBSCRIBE / UNSUBSCRIBE payloads.
        (b"\x82\x02\x00\x01", 4, True, PROTOCOL),  # no filters [MQTT-3.8.3-3]
        (b"\x82\x03\x00\x01\x00", 5, True, PROTOCOL),
        (b"\xa2\x02\x00\x01", 4, True, PROTOCOL),  # [MQTT-3.10.3-2]
        (b"\xa2\x03\x00\x01\x00", 5, True, PROTOCOL),
        (b"\x82\x06\x00\x01\x00\x01a\x04", 4, True, MALFORMED),  # 3.1.1 reserved option bits [MQTT-3-8.3-4]
        (b"\x82\x06\x00\x01\x00\x01a\x03", 4, True, MALFORMED),  # 3.1.1 QoS 3
        (b"\x82\x07\x00\x01\x00\x00\x01a\x40", 5, True, MALFORMED),  # MQTT 5 reserved bits [MQTT-3.8.3-5]
        (b"\x82\x07\x00\x01\x00\x00\x01a\x80", 5, True, MALFORMED),
        (b"\x82\x07\x00\x01\x00\x00\x01a\x03", 5, True, PROTOCOL),  # MQTT 5 QoS 3 [3.8.3.1]
        (b"\x82\x07\x00\x01\x00\x00\x01a\x30", 5, True, PROTOCOL),  # retain handling 3 [3.8.3.1]
        (b"\x82\x05\x00\x01\x00\x01a", 4, True, MALFORMED),  # filter without options byte
        # Trailing bytes / truncation inside a packet.
        (b"\x40\x03\x00\x01\x00", 4, True, MALFORMED),
        (b"\xc0\x01\x00", 4, True, MALFORMED),
        (b"\xe0\x01\x00", 4, True, MALFORMED),
        (b"\xd0\x01\x00", 4, False, MALFORMED),
        (b"\xb0\x03\x00\x01\x00", 4, False, MALFORMED),  # 3.1.1 UNSUBACK has no payload
        (b"\x20\x03\x00\x00\x00", 4, False, MALFORMED),
        (b"\x40\x05\x00\x01\x00\x00\x00", 5, True, MALFORMED),  # after an empty property block
        (b"\xe0\x03\x00\x00\x00", 5, True, MALFORMED),
        (b"\x30\x01\x00", 4, True, MALFORMED),
        (b"\x30\x03\x00\x05a", 4, True, MALFORMED),
        (b"\x32\x04\x00\x01t\x00", 4, True, MALFORMED),
        (b"\x30\x03\x00\x01t", 5, True, MALFORMED),  # missing property length
        (b"\x40\x01\x00", 5, True, MALFORMED),
        (b"\x90\x02\x00\x01", 4, False, PROTOCOL),  # SUBACK without codes
        (b"\xb0\x03\x00\x01\x00", 5, False, PROTOCOL),  # UNSUBACK without codes
        # Reason codes not defined for the packet type.
        (b"\x40\x03\x00\x01\x05", 5, True, PROTOCOL),
        (b"\x62\x03\x00\x01\x10", 5, True, PROTOCOL),
        (b"\xe0\x01\x01", 5, True, PROTOCOL),
        (b"\xf0\x01\x01", 5, True, PROTOCOL),
        (b"\x90\x04\x00\x01\x00\x03", 5, False, PROTOCOL),
        (b"\x90\x03\x00\x01\x03", 4, False, PROTOCOL),  # 3.1.1 SUBACK [MQTT-3.9.3-2]
        (b"\xb0\x04\x00\x01\x00\x01", 5, False, PROTOCOL),
        (b"\x20\x03\x00\x01\x00", 5, False, PROTOCOL),
        (b"\x20\x02\x00\x06", 4, False, PROTOCOL),  # reserved 3.1.1 return code
        # CONNACK flags.
        (b"\x20\x02\x02\x00", 4, False, MALFORMED),  # [MQTT-3.2.2-1]
        (b"\x20\x02\x01\x05", 4, False, PROTOCOL),  # session present with refusal [MQTT-3.2.2-4]
        (b"\x20\x03\x01\x87\x00", 5, False, PROTOCOL),
    ],
)
def test_validation(data, version, server_side, code):
    assert feed_rc(data, version, server_side) == code


def test_first_packet_must_be_connect():
    assert feed_rc(b"\x30\x03\x00\x01t", version=None) == PROTOCOL  # [MQTT-3.1.0-1]
    assert feed_rc(b"\xc0", version=None) == PROTOCOL  # refused at the first byte
    assert feed_rc(b"\xf0\x00", version=None) == PROTOCOL
    assert feed_rc(b"\x00", version=None) == MALFORMED
    assert rc_of(decode, 0xC0, b"", None, True) == PROTOCOL


@pytest.mark.parametrize(
    "data,code",
    [
        (connect_bytes(flags=0x03), MALFORMED),  # reserved flag [MQTT-3.1.2-3]
        (connect_bytes(flags=0x0A), MALFORMED),  # will QoS without will flag [MQTT-3.1.2-11]
        (connect_bytes(flags=0x22), MALFORMED),  # will retain without will flag [MQTT-3.1.2-13]
        (connect_bytes(flags=0x1E, payload=b"\x00\x01c\x00\x01t\x00\x00"), MALFORMED),  # will QoS 3
        (connect_bytes(flags=0x42, payload=b"\x00\x01c\x00\x01p"), MALFORMED),  # password, no user [MQTT-3.1.2-22]
        (connect_bytes(version=3, flags=0x42, payload=b"\x00\x01c\x00\x01p"), MALFORMED),
        (connect_bytes(version=4, name="MQIsdp"), PROTOCOL),  # name does not go with level [MQTT-3.1.2-1]
        (connect_bytes(version=3, name="MQTT"), PROTOCOL),
        (connect_bytes(version=5, name="MQIsdp", props=b"\x00"), PROTOCOL),
        (connect_bytes(version=4, name="HTTP"), PROTOCOL),
        (connect_bytes(payload=b"\x00\x01c\x00"), MALFORMED),  # trailing byte
        (connect_bytes(payload=b"\x00\x05c"), MALFORMED),  # truncated client id
        (connect_bytes(flags=0x06, payload=b"\x00\x01c\x00\x01t"), MALFORMED),  # will payload missing
        (connect_bytes(flags=0x82, payload=b"\x00\x01c"), MALFORMED),  # user name missing
        (connect_bytes(payload=b"\x00\x01\x00"), MALFORMED),  # U+0000 in client id
        (connect_bytes(version=5, props=b"\x03\x16\x00\x00"), PROTOCOL),  # auth data without method
        (connect_bytes(version=5, props=b"\x02\x24\x01"), MALFORMED),  # maximum_qos is CONNACK-only
        (connect_bytes(version=5, props=b"\x03\x21\x00\x00"), PROTOCOL),  # receive maximum 0
        (connect_bytes(version=5, props=b"\x05\x27\x00\x00\x00\x00"), PROTOCOL),  # maximum packet size 0
        (connect_bytes(version=5, props=b"\x02\x17\x02"), PROTOCOL),  # request problem information 2
        (connect_bytes(version=5, props=b"\x02\x19\x02"), PROTOCOL),  # request response information 2
        (connect_bytes(version=5, props=b"\x0a\x11\x00\x00\x00\x01\x11\x00\x00\x00\x01"), PROTOCOL),  # twice
        (connect_bytes(version=5, props=b"\x05\x11\x00\x00\x00"), MALFORMED),  # truncated property
        (connect_bytes(version=5, props=b"\x09\x11\x00\x00\x00\x01"), MALFORMED),  # length past the end
        (connect_bytes(version=5, props=b"\x02\x7f\x00"), MALFORMED),  # unknown identifier
        (connect_bytes(version=5, props=b"\x02\x18\x00"), MALFORMED),  # will_delay only in will props
        (
            connect_bytes(version=5, flags=0x06, props=b"\x00", payload=b"\x00\x01c\x02\x11\x00\x00\x01t\x00\x00"),
            MALFORMED,
        ),  # session expiry in will
        (
            connect_bytes(version=5, flags=0x06, props=b"\x00", payload=b"\x00\x01c\x02\x01\x05\x00\x01t\x00\x00"),
            PROTOCOL,
        ),  # will payload format 5
    ],
)
def test_connect_validation(data, code):
    assert feed_rc(data, version=None) == code


def test_connect_v5_password_without_username_is_fine():
    d = Decoder()
    (p,) = d.feed(connect_bytes(version=5, flags=0x42, props=b"\x00", payload=b"\x00\x01c\x00\x01p"))
    assert p.username is None and p.password == b"p" and d.version == 5


@pytest.mark.parametrize("level", [0, 1, 2, 6, 7, 0x83, 255])
def test_unsupported_protocol_level(level):
    d = Decoder()
    with pytest.raises(MQTTError) as info:
        d.feed(connect_bytes(version=level, name="MQTT"))
    err = info.value
    assert isinstance(err, UnsupportedProtocolVersion)
    assert err.version_unsupported is True
    assert err.reason_code == RC.UNSUPPORTED_PROTOCOL_VERSION and err.level == level
    assert d.version is None
    # What the channel answers for 3.1.1: return code 1, unacceptable protocol version [MQTT-3.1.2-2].
    assert encode(Connack(False, RC.UNSUPPORTED_PROTOCOL_VERSION), 4) == b"\x20\x02\x00\x01"
    # Other failures carry no such marker.
    with pytest.raises(MQTTError) as other:
        Decoder().feed(connect_bytes(flags=0x03))
    assert not getattr(other.value, "version_unsupported", False)


@pytest.mark.parametrize(
    "props,code",
    [
        (b"\x02\x01\x02", PROTOCOL),  # payload format indicator 2
        (b"\x03\x23\x00\x00", RC.TOPIC_ALIAS_INVALID),  # topic alias 0 [MQTT-3.3.2-8]
        (b"\x02\x0b\x00", PROTOCOL),  # subscription identifier 0
        (b"\x02\x0b\x01", PROTOCOL),  # from a client at all [MQTT-3.3.4-6]
        (b"\x02\x11\x00", MALFORMED),  # session expiry in PUBLISH [MQTT 5 2.2.2.2]
        (b"\x06\x03\x00\x01a\x03\x00", MALFORMED),  # content type, then a truncated one
        (b"\x08\x03\x00\x01a\x03\x00\x01b", PROTOCOL),  # content type twice
        (b"\x04\x02\x00\x00\x00", MALFORMED),  # message expiry truncated
        (b"\x03\x0b\x80\x00", MALFORMED),  # non-minimal varint [MQTT-1.5.5-1]
        (b"\x05\x0b\x80\x80\x80\x80", MALFORMED),  # 5-byte varint
        (b"\x80\x00", MALFORMED),  # non-minimal property length
        (b"\x03\x26\x00\x01", MALFORMED),  # user property pair cut short
        (b"\x05\x26\x00\x00\x00\x01", MALFORMED),
    ],
)
def test_publish_property_validation(props, code):
    body = b"\x00\x01t" + props
    assert feed_rc(bytes((0x30, len(body))) + body, version=5) == code


def test_properties_repeat_rules():
    def block(raw: bytes, kind: int):
        data = bytes((len(raw),)) + raw
        return P.decode_properties(data, 0, len(data), kind)[0]

    up = b"\x26\x00\x01a\x00\x01b"
    assert block(up + up, c.PUBLISH) == {"user_property": [("a", "b"), ("a", "b")]}
    assert block(up, c.AUTH) == {"user_property": [("a", "b")]}
    # Subscription identifiers repeat in PUBLISH (server to client) as a list, are single in SUBSCRIBE.
    assert block(b"\x0b\x01\x0b\xff\xff\xff\x7f", c.PUBLISH) == {"subscription_identifier": [1, 268_435_455]}
    assert block(b"\x0b\x05", c.SUBSCRIBE) == {"subscription_identifier": 5}
    assert rc_of(block, b"\x0b\x05\x0b\x06", c.SUBSCRIBE) == PROTOCOL
    assert block(b"", c.CONNECT) == {}
    # 0/1 bytes.
    for pid in (0x24, 0x25, 0x28, 0x29, 0x2A):
        assert block(bytes((pid, 1)), c.CONNACK) == {P.PROPERTIES[pid].name: 1}
        assert rc_of(block, bytes((pid, 2)), c.CONNACK) == PROTOCOL
    # Not allowed in this packet type [MQTT 5 2.2.2.2]: malformed.
    assert rc_of(block, b"\x26\x00\x01a\x00\x01b", c.PINGREQ) == MALFORMED
    assert rc_of(block, b"\x1f\x00\x01a", c.UNSUBSCRIBE) == MALFORMED
    assert rc_of(block, b"\x1f\x00\x01a", c.SUBSCRIBE) == MALFORMED
    assert rc_of(block, b"\x23\x00\x01", P.WILL) == MALFORMED


def test_client_side_publish_may_carry_subscription_ids():
    body = b"\x00\x01t\x04\x0b\x01\x0b\x02pay"
    d = decoder_for(5, False)
    assert d.feed(bytes((0x30, len(body))) + body) == [
        Publish("t", b"pay", properties={"subscription_identifier": [1, 2]})
    ]


def test_encode_properties_rejects_misuse():
    with pytest.raises(ValueError):
        P.encode_properties({"no_such_property": 1}, c.PUBLISH)
    with pytest.raises(ValueError):
        P.encode_properties({"session_expiry_interval": 1}, c.PUBLISH)
    with pytest.raises(ValueError):
        P.encode_properties({"user_property": ("a", "b")}, c.PUBLISH)
    # A lone subscription identifier in PUBLISH is accepted and decodes as a one-item list.
    raw = P.encode_properties({"subscription_identifier": 7}, c.PUBLISH)
    assert P.decode_properties(raw, 0, len(raw), c.PUBLISH)[0] == {"subscription_identifier": [7]}


def test_bom_is_kept():
    # U+FEFF is a legal character and must not be stripped [MQTT-1.5.4-3].
    p = Publish("\ufeffa", b"")
    assert roundtrip(p, 4)


# --- remaining length and packet size ---------------------------------------------------------------


def test_remaining_length_rules():
    # A fourth length byte with its continuation bit set announces a fifth: malformed at once.
    assert feed_rc(b"\x30\xff\xff\xff\x80", max_packet_size=MAX_PACKET_SIZE_PROTOCOL) == MALFORMED
    assert feed_rc(b"\x30\xff\xff\xff\xff\x01", max_packet_size=MAX_PACKET_SIZE_PROTOCOL) == MALFORMED
    # Non-minimal encodings [MQTT-1.5.5-1].
    assert feed_rc(b"\x30\x80\x00") == MALFORMED
    assert feed_rc(b"\xc0\x80\x00") == MALFORMED
    assert feed_rc(b"\x30\x85\x80\x00") == MALFORMED
    # The largest legal remaining length is too large for the default limit, and fine under the protocol's.
    assert feed_rc(b"\x30\xff\xff\xff\x7f") == RC.PACKET_TOO_LARGE
    d = Decoder(max_packet_size=MAX_PACKET_SIZE_PROTOCOL)
    d.version = 4
    d.server_side = False
    assert d.feed(b"\x30\xff\xff\xff\x7f\x00") == [] and d.buffered == 6


def test_oversize_detected_from_the_header_alone():
    assert MAX_PACKET_SIZE_DEFAULT == 1024 * 1024
    d = decoder_for(4, True)
    d.max_packet_size = 100
    ok = encode(Publish("t", b"x" * 95), 4)  # 2 + 2 + 1 + 95 = 100 bytes in all
    assert len(ok) == 100 and d.feed(ok) == [Publish("t", b"x" * 95)]
    with pytest.raises(MQTTError) as info:
        d.feed(b"\x30\x63")  # 2 + 99 = 101 bytes announced, none of them sent
    assert info.value.reason_code == RC.PACKET_TOO_LARGE
    # The default limit; a header that arrives a byte at a time still trips it before any body.
    d = decoder_for(5, True)
    for b in b"\x30\xff\xff":
        assert d.feed(bytes((b,))) == []
    with pytest.raises(MQTTError) as info:
        d.feed(b"\x7f")
    assert info.value.reason_code == RC.PACKET_TOO_LARGE
    assert d.buffered == 0
    # Also before CONNECT, and for the CONNECT itself.
    assert feed_rc(b"\x10\xff\xff\x7f", version=None) == RC.PACKET_TOO_LARGE


def test_decoder_argument_checks():
    with pytest.raises(ValueError):
        Decoder(max_packet_size=1)
    with pytest.raises(ValueError):
        Decoder(server_side=False).feed(b"\xd0\x00")  # client side needs .version
    d = Decoder(server_side=False)
    d.version = 6
    with pytest.raises(ValueError):
        d.feed(b"\xd0\x00")


# --- feeding ----------------------------------------------------------------------------------------


def _stream(version):
    cases = v5_cases() if version == 5 else v3_cases(version)
    client = [
        p
        for p in cases
        if type(p) in CLIENT_TYPES
        and type(p) is not Connect
        and "subscription_identifier" not in getattr(p, "properties", {})
    ]
    connect = next(p for p in cases if type(p) is Connect)
    big = Publish("big", bytes(range(256)) * 3, 1, packet_id=77)  # two-byte remaining length
    packets = [connect] + client + [big]
    return packets, b"".join(encode(p, version) for p in packets)


@pytest.mark.parametrize("version", ALL)
def test_feed_split_at_every_boundary(version):
    packets, stream = _stream(version)
    assert Decoder().feed(stream) == packets
    for i in range(len(stream) + 1):
        d = Decoder()
        got = d.feed(stream[:i])
        got += d.feed(stream[i:])
        assert got == packets, i
        assert d.buffered == 0


@pytest.mark.parametrize("version", ALL)
def test_feed_byte_by_byte(version):
    packets, stream = _stream(version)
    d = Decoder()
    got = []
    for i in range(len(stream)):
        got += d.feed(stream[i : i + 1])
        assert d.buffered <= i + 1
    assert got == packets and d.buffered == 0


def test_feed_accepts_bytearray_and_memoryview():
    packets, stream = _stream(4)
    d = Decoder()
    half = len(stream) // 2
    got = d.feed(bytearray(stream[:half])) + d.feed(memoryview(stream)[half:])
    assert got == packets
    assert decode(0x30, memoryview(b"\x00\x01tpay"), 4, True) == Publish("t", b"pay")
    assert type(got[-1].payload) is bytes


def test_error_keeps_earlier_packets_and_poisons_decoder():
    d = decoder_for(4, True)
    good = encode(Publish("a", b"1"), 4) + encode(Pingreq(), 4)
    with pytest.raises(MQTTError) as info:
        d.feed(good + b"\x41\x02\x00\x01")
    assert info.value.packets == [Publish("a", b"1"), Pingreq()]
    with pytest.raises(MQTTError) as again:
        d.feed(encode(Pingreq(), 4))
    assert again.value is info.value


def test_connect_sets_version_mid_stream():
    # The CONNECT's level decides how the rest of the same read is parsed.
    stream = encode(Connect("c", proto_ver=5), 5) + encode(Publish("t", b"x", properties={"topic_alias": 2}), 5)
    d = Decoder()
    assert d.version is None
    got = d.feed(stream)
    assert d.version == 5 and got[1] == Publish("t", b"x", properties={"topic_alias": 2})


# --- encode_publish / patch_publish -----------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_encode_publish_and_patch(version):
    props = {"user_property": [("k", "v")], "message_expiry_interval": 10} if version == 5 else {}
    pub = Publish("fan/out", b"m" * 300, 1, False, False, None, props)
    buf, offset = encode_publish(pub, version)
    assert isinstance(buf, bytearray)
    assert buf[offset : offset + 2] == b"\x00\x00"  # placeholder for the per-receiver id
    first, body = split(bytes(buf))
    for pid, qos, retain, dup in ((1, 1, False, False), (0xBEEF, 2, True, True), (65535, 1, True, False)):
        out = patch_publish(buf, offset, pid, qos, retain, dup)
        assert buf[offset : offset + 2] == b"\x00\x00"  # the original is untouched
        got = decoder_for(version, False).feed(bytes(out))
        assert got == [Publish("fan/out", b"m" * 300, qos, retain, dup, pid, props)]
        assert bytes(out) == encode(Publish("fan/out", b"m" * 300, qos, retain, dup, pid, props), version)
    q0, off0 = encode_publish(Publish("t", b"x", 0, True), version)
    assert off0 == -1
    assert decoder_for(version, False).feed(bytes(patch_publish(q0, -1, 0, 0, False, False))) == [Publish("t", b"x")]
    with pytest.raises(ValueError):
        patch_publish(q0, -1, 1, 1, False, False)
    with pytest.raises(ValueError):
        patch_publish(buf, offset, 1, 0, False, False)
    with pytest.raises(ValueError):
        patch_publish(buf, offset, 0, 1, False, False)


def test_encode_publish_offset_small_and_large():
    buf, off = encode_publish(Publish("ab", b"", 2, packet_id=0x0102), 4)
    assert bytes(buf) == b"\x34\x06\x00\x02ab\x01\x02" and off == 6
    buf, off = encode_publish(Publish("ab", b"x" * 200, 1, packet_id=0x0102), 5)
    assert buf[:3] == b"\x32\xcf\x01" and off == 7 and buf[7:9] == b"\x01\x02"


def test_encode_rejects_programming_errors():
    with pytest.raises(ValueError):
        encode(Publish("t", b"", 1), 4)  # QoS 1 needs an id in a finished packet
    with pytest.raises(ValueError):
        encode(Publish("t", b"", 0, dup=True), 4)
    with pytest.raises(ValueError):
        encode(Publish("t", b"", 3, packet_id=1), 4)
    with pytest.raises(ValueError):
        encode(Puback(0), 4)
    with pytest.raises(ValueError):
        encode(Subscribe(1, []), 4)
    with pytest.raises(ValueError):
        encode(Unsubscribe(1, []), 4)
    with pytest.raises(ValueError):
        encode(Connect("c", password=b"p"), 4)  # [MQTT-3.1.2-22]
    with pytest.raises(ValueError):
        encode(Publish("x" * 70000, b""), 4)
    with pytest.raises(ValueError):
        encode(Pingreq(), 6)
    with pytest.raises(TypeError):
        encode(object(), 4)
    with pytest.raises(UnicodeEncodeError):
        encode(Publish("\ud800", b""), 4)


@pytest.mark.parametrize("version", [3, 4, 5])
@pytest.mark.parametrize("reason", [0x00, 0x10, 0x80, 0x97])
def test_the_puback_of_a_publish_is_the_packet_encode_makes(version, reason):
    # The QoS 1 path writes PUBACKs without building a packet: the bytes must be the same.
    assert encode_puback(0xBEEF, reason, version) == encode(Puback(0xBEEF, reason, {}), version)
