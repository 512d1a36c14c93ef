"""MQTT vocabulary shared by codec, session and server.

Packet types and the reason-code enums come from gmqtt so that the broker, the bridges (which use gmqtt
as a client) and the tests speak one vocabulary. gmqtt stops short of a server's needs (no AUTH packet
type, no DISCONNECT or SUBACK-only codes), so the missing pieces are filled in here, once.
"""

import enum

from gmqtt.mqtt.constants import (  # noqa: F401  (re-exported vocabulary)
    ConnAckReasonCode,
    MQTTCommands,
    PubAckReasonCode,
    PubRecReasonCode,
    SubAckReasonCode,
)

# Fixed-header packet types as the high nibble, as gmqtt spells them; AUTH (MQTT 5 only) is absent there.
CONNECT = MQTTCommands.CONNECT
CONNACK = MQTTCommands.CONNACK
PUBLISH = MQTTCommands.PUBLISH
PUBACK = MQTTCommands.PUBACK
PUBREC = MQTTCommands.PUBREC
PUBREL = MQTTCommands.PUBREL
PUBCOMP = MQTTCommands.PUBCOMP
SUBSCRIBE = MQTTCommands.SUBSCRIBE
SUBACK = MQTTCommands.SUBACK
UNSUBSCRIBE = MQTTCommands.UNSUBSCRIBE
UNSUBACK = MQTTCommands.UNSUBACK
PINGREQ = MQTTCommands.PINGREQ
PINGRESP = MQTTCommands.PINGRESP
DISCONNECT = MQTTCommands.DISCONNECT
AUTH = 0xF0

# Protocol levels carried in CONNECT [MQTT-3.1.2-2].
MQTT_3_1 = 3
MQTT_3_1_1 = 4
MQTT_5 = 5
PROTOCOL_NAMES = {MQTT_3_1: "MQIsdp", MQTT_3_1_1: "MQTT", MQTT_5: "MQTT"}


class ReasonCode(enum.IntEnum):
    """Every MQTT 5 reason code (spec 2.4), one table for all packet types."""

    SUCCESS = 0x00
    GRANTED_QOS_1 = 0x01
    GRANTED_QOS_2 = 0x02
    DISCONNECT_WITH_WILL = 0x04
    NO_MATCHING_SUBSCRIBERS = 0x10
    NO_SUBSCRIPTION_EXISTED = 0x11
    CONTINUE_AUTHENTICATION = 0x18
    RE_AUTHENTICATE = 0x19
    UNSPECIFIED_ERROR = 0x80
    MALFORMED_PACKET = 0x81
    PROTOCOL_ERROR = 0x82
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    UNSUPPORTED_PROTOCOL_VERSION = 0x84
    CLIENT_IDENTIFIER_NOT_VALID = 0x85
    BAD_USERNAME_OR_PASSWORD = 0x86
    NOT_AUTHORIZED = 0x87
    SERVER_UNAVAILABLE = 0x88
    SERVER_BUSY = 0x89
    BANNED = 0x8A
    SERVER_SHUTTING_DOWN = 0x8B
    BAD_AUTHENTICATION_METHOD = 0x8C
    KEEP_ALIVE_TIMEOUT = 0x8D
    SESSION_TAKEN_OVER = 0x8E
    TOPIC_FILTER_INVALID = 0x8F
    TOPIC_NAME_INVALID = 0x90
    PACKET_IDENTIFIER_IN_USE = 0x91
    PACKET_IDENTIFIER_NOT_FOUND = 0x92
    RECEIVE_MAXIMUM_EXCEEDED = 0x93
    TOPIC_ALIAS_INVALID = 0x94
    PACKET_TOO_LARGE = 0x95
    MESSAGE_RATE_TOO_HIGH = 0x96
    QUOTA_EXCEEDED = 0x97
    ADMINISTRATIVE_ACTION = 0x98
    PAYLOAD_FORMAT_INVALID = 0x99
    RETAIN_NOT_SUPPORTED = 0x9A
    QOS_NOT_SUPPORTED = 0x9B
    USE_ANOTHER_SERVER = 0x9C
    SERVER_MOVED = 0x9D
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
    CONNECTION_RATE_EXCEEDED = 0x9F
    MAXIMUM_CONNECT_TIME = 0xA0
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2


# MQTT 3.1 / 3.1.1 CONNACK return codes [MQTT-3.2.2-3]; the MQTT 5 reason is mapped onto them.
class ConnackReturnCode(enum.IntEnum):
    ACCEPTED = 0
    UNACCEPTABLE_PROTOCOL_VERSION = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_USERNAME_OR_PASSWORD = 4
    NOT_AUTHORIZED = 5


V5_TO_V3_CONNACK: dict[int, int] = {
    ReasonCode.SUCCESS: ConnackReturnCode.ACCEPTED,
    ReasonCode.UNSUPPORTED_PROTOCOL_VERSION: ConnackReturnCode.UNACCEPTABLE_PROTOCOL_VERSION,
    ReasonCode.CLIENT_IDENTIFIER_NOT_VALID: ConnackReturnCode.IDENTIFIER_REJECTED,
    ReasonCode.SERVER_UNAVAILABLE: ConnackReturnCode.SERVER_UNAVAILABLE,
    ReasonCode.SERVER_BUSY: ConnackReturnCode.SERVER_UNAVAILABLE,
    ReasonCode.BAD_USERNAME_OR_PASSWORD: ConnackReturnCode.BAD_USERNAME_OR_PASSWORD,
    ReasonCode.NOT_AUTHORIZED: ConnackReturnCode.NOT_AUTHORIZED,
    ReasonCode.BANNED: ConnackReturnCode.NOT_AUTHORIZED,
}


class Deferred:
    """What an authenticator answers when the verdict comes later (the check runs off the loop)."""

    def __repr__(self) -> str:
        return "DEFERRED"


DEFERRED = Deferred()
