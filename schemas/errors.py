"""What can go wrong behind the control interface, said once.

The broker-control interface (``schemas.control.BrokerControl``) and the account store raise these
and nothing else for a request that cannot be carried out. Each dialect maps the types to its own
envelope in one table (v2 codes, NanoMQ and EMQX 4 codes, v5 status plus string code); handlers do
not catch them to re-render them, and no code branches on the message, which is written for people.
What a dialect may need beyond the type travels in attributes:

- ``kind``: what the error is about, one of ``KINDS`` ("client", "topic", "listener" ...), so that a
  dialect can answer EMQX 5's ``CLIENTID_NOT_FOUND`` for a client and ``TOPIC_NOT_FOUND`` for a topic;
- ``field``: the argument at fault (``InvalidArgument``), as the caller named it in the interface;
- ``reason_code``: the MQTT reason code the same refusal carries over MQTT (a SUBACK's 0x87, 0xA2 ...),
  when the rule that refused it is one the MQTT door applies too.
"""

from __future__ import annotations

# What an error may be about. A dialect's table keys on these; add one here before raising it.
KINDS = frozenset(
    (
        "client",
        "session",
        "subscription",
        "topic",
        "retained",
        "listener",
        "feature",
        "banned",
        "alarm",
        "node",
        "config",
        "user",
        "api_key",
        "token",
        "message",
        "authenticator",
        "mqtt_user",
        "authz_source",
        "authz_rules",
    )
)


class ControlError(Exception):
    """Base of the errors the control interface and the account store raise."""

    def __init__(
        self, message: str, *, kind: str | None = None, field: str | None = None, reason_code: int | None = None
    ) -> None:
        super().__init__(message)
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        self.message = message
        self.kind = kind
        self.field = field
        self.reason_code = reason_code


class NotFound(ControlError):
    """The named client, topic, listener, banned entry ... does not exist."""


class InvalidArgument(ControlError):
    """A value is out of range or malformed (a bad topic filter, QoS 3, a bad cursor ...)."""


class Conflict(ControlError):
    """The request collides with what exists (a duplicate ban, user or API key)."""


class NotSupported(ControlError):
    """This broker (or this backend of the interface) cannot do it at all, or has it switched off."""


class Unavailable(ControlError):
    """It could be done, but not now: the broker is stopped, or the backend cannot be reached."""


class Denied(ControlError):
    """An authorization rule refuses it (the ACL, for a subscription made on a client's behalf)."""


class LimitExceeded(ControlError):
    """A configured quota refuses it (subscriptions per client, API keys ...)."""
