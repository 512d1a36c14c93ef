"""Subscription listings, and subscribing on a client's behalf."""

from __future__ import annotations

from schemas.errors import (
    ControlError,
    Denied,
    InvalidArgument,
    LimitExceeded,
    NotSupported,
)
from schemas.records import (
    Page,
    SubscribeRequest,
    Subscription,
    SubscriptionQuery,
)
from schemas.topics import QUEUE_PREFIX, SHARE_PREFIX, topic_name_problem

from .. import packets as pk
from ..admission import Refusal
from ..constants import ReasonCode
from .base import ControlBase
from .plan import read_page
from .queries import known_total, subscription_matcher, subscription_rows, subscription_terms
from .records import subscription_record


def refusal_error(refusal: Refusal) -> ControlError:
    """The error for a request the broker's rules refused, with the reason code MQTT would answer."""
    code = refusal.reason_code
    if code == ReasonCode.TOPIC_FILTER_INVALID:
        return InvalidArgument(refusal.message, field="topic", reason_code=code)
    if code == ReasonCode.PROTOCOL_ERROR:
        return InvalidArgument(refusal.message, field="no_local", reason_code=code)
    if code in (ReasonCode.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED, ReasonCode.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED):
        return NotSupported(refusal.message, kind="subscription", reason_code=code)
    if code == ReasonCode.NOT_AUTHORIZED:
        return Denied(refusal.message, kind="subscription", reason_code=code)
    if code == ReasonCode.QUOTA_EXCEEDED:
        return LimitExceeded(refusal.message, kind="subscription", reason_code=code)
    raise AssertionError(f"no error type for reason code 0x{code:02X}")


class SubscriptionsControl(ControlBase):
    """Subscription listings, and subscribing on a client's behalf."""

    async def list_subscriptions(self, query: SubscriptionQuery, *, offset: int, limit: int) -> Page[Subscription]:
        b = self.broker
        q = self._here(query)
        if q.match_topic is not None:
            # A topic to match is a topic name, and a shared form names a subscription, not a topic.
            if topic_name_problem(q.match_topic) or q.match_topic.startswith((SHARE_PREFIX, QUEUE_PREFIX)):
                raise InvalidArgument("match_topic_invalid", field="match_topic")
        if q.qos is not None and q.qos not in (0, 1, 2):
            raise InvalidArgument("qos must be 0, 1 or 2", field="qos")
        terms = subscription_terms(q, b)
        page, total, hasnext = read_page(
            terms,
            b.index.subscribed,
            offset=offset,
            limit=limit,
            total=known_total(terms, b.subscription_count()),
            # A topic match is the one filter EMQX does not count (it scans the routes).
            want_total=q.match_topic is None,
            rows=subscription_rows(b, subscription_matcher(q, b)),
        )
        return Page(items=[subscription_record(b, c, o) for c, o in page], total=total, hasnext=hasnext)

    async def client_subscriptions(self, clientid: str) -> list[Subscription]:
        s = self._session(clientid)
        return [subscription_record(self.broker, clientid, o) for o in s.subscriptions.values()]

    async def subscribe(self, clientid: str, requests: list[SubscribeRequest]) -> list[Subscription]:
        s = self._session(clientid)
        for r in requests:
            if r.qos not in (0, 1, 2) or r.retain_handling not in (0, 1, 2):
                raise InvalidArgument("qos and retain handling must be 0, 1 or 2", field="qos")
        granted = self.broker.subscribe_for(
            s,
            [
                pk.SubscriptionRequest(r.topic, r.qos, r.no_local, r.retain_as_published, r.retain_handling)
                for r in requests
            ],
        )
        if isinstance(granted, Refusal):
            raise refusal_error(granted)
        return [subscription_record(self.broker, clientid, o) for o in granted]

    async def unsubscribe(self, clientid: str, topics: list[str]) -> None:
        self.broker.unsubscribe(self._session(clientid), topics, "api")
