"""Whether a subscription may be made: the one set of rules for every door a subscription comes through.

A SUBSCRIBE over MQTT and a subscription an API makes on a client's behalf pass the same checks, in
this order: the filter is valid (MQTT 5.0 section 4.7) and at most ``max_topic_length`` bytes, no
``no_local`` on a shared subscription [MQTT-3.8.3-4], shared subscriptions and wildcards are
switched on, the filter has at most ``max_topic_levels`` levels, the ACL lets this client subscribe
(checked with its client id, username and peer address), and the client stays within
``max_subscriptions``. The QoS granted is capped at ``max_qos_allowed`` (section 3.8.4: the server
may grant a lower maximum QoS than asked).

Nothing here changes state: ``admit`` answers, the broker applies (``Broker.subscribe_client`` for
MQTT, ``Broker.subscribe_for`` for the APIs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import attrs

from schemas.records import BrokerConfig
from schemas.topics import parse_share

from .constants import ReasonCode
from .errors import MQTTError
from .packets import SubscriptionRequest
from .session import Session, SubOptions
from .topics import validate_topic_filter


class Identity(Protocol):
    """Who a rule is checked for: a live Channel, or the last known facts of an offline client."""

    @property
    def clientid(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def peerhost(self) -> str: ...


@attrs.frozen
class ClientIdentity:
    clientid: str
    username: str | None
    peerhost: str  # "" when the client has not connected since the broker started


@attrs.frozen
class Refusal:
    """A subscription the rules refuse: the MQTT reason code a SUBACK carries, and why in words."""

    reason_code: int
    message: str
    topic: str


# Answers whether ``who`` may (action) ``topic`` at a QoS, retained or not (``Broker.authorize``).
Authorize = Callable[[Identity, str, str, int, bool], bool]


def admit(
    cfg: BrokerConfig,
    authorize: Authorize,
    s: Session,
    who: Identity,
    requests: Sequence[SubscriptionRequest],
    sub_id: int | None,
) -> list[SubOptions | Refusal]:
    """One verdict per request, in order; a request counts against the quota of the ones after it."""
    added: set[str] = set()  # new filters granted so far in this batch
    return [_admit_one(cfg, authorize, s, who, req, sub_id, added) for req in requests]


def _admit_one(
    cfg: BrokerConfig,
    authorize: Authorize,
    s: Session,
    who: Identity,
    req: SubscriptionRequest,
    sub_id: int | None,
    added: set[str],
) -> SubOptions | Refusal:
    f = req.topic_filter
    try:
        validate_topic_filter(f, cfg.max_topic_length)
    except MQTTError:
        return Refusal(ReasonCode.TOPIC_FILTER_INVALID, f"invalid topic filter {f!r}", f)
    group, real = parse_share(f)
    if group is not None:
        if req.no_local:
            return Refusal(
                ReasonCode.PROTOCOL_ERROR,
                "Invalid Subscribe options: `no_local` not allowed for shared-sub. See [MQTT-3.8.3-4]",
                f,
            )
        if not cfg.shared_subscription:
            return Refusal(
                ReasonCode.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED, f"shared subscriptions are switched off: {f!r}", f
            )
    if not cfg.wildcard_subscription and ("+" in real or "#" in real):
        return Refusal(
            ReasonCode.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED, f"wildcard subscriptions are switched off: {f!r}", f
        )
    if real.count("/") >= cfg.max_topic_levels:
        return Refusal(
            ReasonCode.TOPIC_FILTER_INVALID, f"topic filter {f!r} has more than {cfg.max_topic_levels} levels", f
        )
    if not authorize(who, "subscribe", f, req.qos, False):
        return Refusal(ReasonCode.NOT_AUTHORIZED, f"not authorized to subscribe to {f!r}", f)
    limit = cfg.max_subscriptions
    if limit and f not in s.subscriptions and f not in added:
        if len(s.subscriptions) + len(added) >= limit:
            return Refusal(
                ReasonCode.QUOTA_EXCEEDED,
                f"{s.clientid!r} already has {limit} subscriptions, the most max_subscriptions allows",
                f,
            )
        added.add(f)
    return SubOptions(
        f,
        real,
        group,
        min(req.qos, cfg.max_qos_allowed),
        req.no_local,
        req.retain_as_published,
        req.retain_handling,
        sub_id,
    )
