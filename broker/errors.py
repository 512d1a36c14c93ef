"""The one exception type of the protocol layer, in the manner of h11's ProtocolError.

Whatever the codec or the session rules reject raises MQTTError carrying the reason code the spec
prescribes; the channel turns it into a CONNACK or DISCONNECT with that reason (MQTT 5) or a plain close
(3.1.1) and moves to its closed state. Nothing half-works after it.
"""

from .constants import ReasonCode


class MQTTError(Exception):
    def __init__(self, reason_code: int = ReasonCode.MALFORMED_PACKET, message: str = ""):
        super().__init__(message or ReasonCode(reason_code).name.lower())
        self.reason_code = int(reason_code)


def malformed(message: str) -> MQTTError:
    return MQTTError(ReasonCode.MALFORMED_PACKET, message)


def protocol_error(message: str) -> MQTTError:
    return MQTTError(ReasonCode.PROTOCOL_ERROR, message)
