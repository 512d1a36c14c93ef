"""Client and subscription queries as terms over the broker's listing index (``broker.client_index``),
read by ``broker.control.plan``; and the cursor of the cursor listing.

Each filter becomes one ``Term`` whose test is the filter's rule (the one place it is written) and
whose source is what the index holds for it: a bucket for an equality filter (the few-valued ones
together: the buckets of their kinds), a time range's client ids read by their chunks' times, the
sessions with a non-empty queue, a topic's subscribers. A ``like`` substring has no source (no index
answers "contains"): it is tested on what another source yields, so a rare substring in a large
listing reads until it has its page or runs out.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from schemas.errors import InvalidArgument
from schemas.records import ClientQuery, SubscriptionQuery
from schemas.topics import parse_share

from ..channel import Channel
from ..client_index import (
    CONNECTED,
    DISCONNECTED,
    KIND,
    MEASURE_CONNECTED,
    MEASURE_CREATED,
    Buckets,
    ClientIndex,
)
from ..core import Broker, SharedGroup
from ..session import Session, SubOptions
from ..sorted_keys import MeasuredKeys, SortedKeys
from .plan import Run, Runs, Term


def known_total(terms: list[Term], everything: int) -> int | None:
    """The number of matching rows when a counter holds it: no filter, or one whose size is exact."""
    if not terms:
        return everything
    if len(terms) == 1 and terms[0].exact:
        return terms[0].size
    return None


# -- clients -------------------------------------------------------------------------------------


def _equal(buckets: Buckets, values: Iterable[Any], value_of: Callable[[str], Any]) -> Term:
    """An equality filter (several values: any of them): its buckets are exactly its matches."""
    wanted = frozenset(values)
    runs = [buckets.ids(v) for v in wanted]
    run: Run = runs[0] if len(runs) == 1 else Runs(runs)
    return Term(test=lambda cid: value_of(cid) in wanted, size=len(run), exact=True, ordered=run)


def _of_kinds(index: ClientIndex, q: ClientQuery) -> Term:
    """The few-valued filters (state, clean start, protocol), alone or together: the buckets of the
    kinds that pass hold exactly their matches, their lengths add up to the total."""
    wanted = tuple(getattr(q, name) for name in KIND)  # None: any value
    kinds = index.by_kind
    passing = frozenset(
        kind for kind in kinds.values() if all(w is None or v == w for v, w in zip(kind, wanted, strict=True))
    )
    runs = [kinds.ids(kind) for kind in passing]
    return Term(
        test=lambda cid: index.kind(cid) in passing,
        size=sum(map(len, runs)),
        exact=True,
        ordered=runs[0] if len(runs) == 1 else Runs(runs),
    )


class _InRange:
    """The sessions whose created or connected time lies in a range, as a run: counted by the index's
    time keys, read from its client ids, whose chunks know their time ranges (``MeasuredKeys``)."""

    __slots__ = ("ids", "measure", "low", "high", "size")

    def __init__(self, ids: MeasuredKeys, measure: int, low: float, high: float, size: int):
        self.ids, self.measure, self.low, self.high, self.size = ids, measure, low, high, size

    def __len__(self) -> int:
        return self.size

    def descending(self, skip: int = 0) -> Iterator[str]:
        return islice(self.ids.within(self.measure, self.low, self.high), skip, None)

    def top(self, skip: int, count: int) -> list[str]:
        return list(islice(self.descending(skip), count))

    def below(self, key: str) -> Iterator[str]:
        return self.ids.within(self.measure, self.low, self.high, below=key)


def _between(
    index: ClientIndex, measure: int, keys: SortedKeys, lo: float | None, hi: float | None, value_of: Callable
) -> Term:
    """A created-at or connected-at range over ``keys`` ``(time, clientid)``: exactly its matches."""
    low = -math.inf if lo is None else lo
    high = math.inf if hi is None else hi
    # (t,) sorts before every (t, clientid): the first key at or after ``low`` and the first after ``high``.
    size = keys.count_between((low,), (math.nextafter(high, math.inf),))

    def test(cid: str) -> bool:
        value = value_of(cid)
        return value is not None and low <= value <= high

    return Term(test=test, size=size, exact=True, ordered=_InRange(index.all, measure, low, high, size))


def _from_zero(
    nonzero: set[str], lo: int | None, hi: int | None, value_of: Callable[[str], int], everyone: int
) -> Term:
    """A range over a count that is 0 for every session outside ``nonzero`` (queue length, drops)."""
    low = -math.inf if lo is None else lo
    high = math.inf if hi is None else hi

    def test(cid: str) -> bool:
        return low <= value_of(cid) <= high

    if low <= 0 <= high:
        # Zero passes: the sessions that fail are among the few with a non-zero count.
        return Term(test=test, size=everyone - sum(1 for cid in nonzero if not test(cid)), exact=True)
    return Term(test=test, size=len(nonzero) if high > 0 else 0, members=lambda: nonzero)


def client_terms(q: ClientQuery, b: Broker) -> list[Term]:
    index = b.index
    sessions = b.sessions
    last_channels = b.last_channels

    def channel(cid: str) -> Channel | None:
        return sessions[cid].channel or last_channels.get(cid)

    def of_channel(attr: str) -> Callable[[str], Any]:
        """The live (else last) connection's ``attr``; None for a session that never had one here."""
        return lambda cid: getattr(channel(cid), attr, None)

    terms = []
    if q.clientid is not None:
        present = sorted({cid for cid in q.clientid if cid in sessions})
        wanted = frozenset(present)
        terms.append(Term(test=wanted.__contains__, size=len(present), exact=True, ordered=SortedKeys.view(present)))
    if q.username is not None:
        terms.append(_equal(index.by_username, q.username, lambda cid: sessions[cid].username))
    few = [name for name in KIND if getattr(q, name) is not None]
    if few == ["conn_state"]:
        # "idle" (EMQX: connected, CONNECT not yet done) has no bucket: no session here is ever in it.
        terms.append(
            _equal(
                index.by_state,
                (q.conn_state,),
                lambda cid: DISCONNECTED if sessions[cid].channel is None else CONNECTED,
            )
        )
    elif few:
        terms.append(_of_kinds(index, q))
    if q.ip_address is not None:
        terms.append(_equal(index.by_peerhost, (q.ip_address,), of_channel("peerhost")))
    if q.like_clientid is not None:
        part = q.like_clientid
        terms.append(Term(test=lambda cid: part in cid, size=len(index)))
    if q.like_username is not None:
        name_part = q.like_username

        def like_username(cid: str) -> bool:
            username = sessions[cid].username
            return username is not None and name_part in username

        terms.append(Term(test=like_username, size=len(index)))
    if q.gte_created_at is not None or q.lte_created_at is not None:
        terms.append(
            _between(
                index,
                MEASURE_CREATED,
                index.created,
                q.gte_created_at,
                q.lte_created_at,
                lambda cid: sessions[cid].created_at,
            )
        )
    if q.gte_connected_at is not None or q.lte_connected_at is not None:
        terms.append(
            _between(
                index,
                MEASURE_CONNECTED,
                index.connected,
                q.gte_connected_at,
                q.lte_connected_at,
                of_channel("connected_at"),
            )
        )
    if q.gte_mqueue_len is not None or q.lte_mqueue_len is not None:
        terms.append(
            _from_zero(
                index.queued, q.gte_mqueue_len, q.lte_mqueue_len, lambda cid: len(sessions[cid].mqueue), len(index)
            )
        )
    if q.gte_mqueue_dropped is not None or q.lte_mqueue_dropped is not None:
        terms.append(
            _from_zero(
                index.dropping,
                q.gte_mqueue_dropped,
                q.lte_mqueue_dropped,
                lambda cid: sessions[cid].mqueue_dropped,
                len(index),
            )
        )
    return terms


# -- subscriptions -------------------------------------------------------------------------------


def subscription_matcher(q: SubscriptionQuery, b: Broker) -> Callable[[str, SubOptions], bool]:
    """The rule of every subscription filter, applied to each row a listing reads."""
    # The filters matching the topic, found once by the routing tries: a row's test is a set lookup.
    matching = (
        frozenset(b.trie.match_filters(q.match_topic)) | frozenset(b.shared.match_filters(q.match_topic))
        if q.match_topic is not None
        else frozenset()
    )

    def keep(cid: str, o: SubOptions) -> bool:
        if q.clientid is not None and cid != q.clientid:
            return False
        if q.qos is not None and o.qos != q.qos:
            return False
        if q.topic is not None and (o.group is not None or o.topic_filter != q.topic) and o.filter != q.topic:
            return False
        if q.share_group is not None and o.group != q.share_group:
            return False
        if q.match_topic is not None and o.topic_filter not in matching:
            return False
        return True

    return keep


def subscription_terms(q: SubscriptionQuery, b: Broker) -> list[Term]:
    """Where each subscription filter's rows can be: sizes count rows where a counter knows them
    exactly, else bound them; the rows themselves are tested by ``subscription_matcher``."""
    terms = []
    if q.clientid is not None:
        s = b.sessions.get(q.clientid)
        n = len(s.subscriptions) if s is not None else 0
        terms.append(Term(test=None, size=n, exact=True, ordered=SortedKeys.view([q.clientid] if n else [])))
    if q.topic is not None:
        group, real = parse_share(q.topic)
        if group is None:
            holders = b.trie.get(q.topic) or {}
            terms.append(Term(test=None, size=len(holders), exact=True, members=holders.keys))
        else:
            # The members of `$share/g/t` and `$queue/t` (group "$queue") may include another spelling
            # of the same group: a superset, each row is tested.
            groups = b.shared.get(real) or {}
            found = groups.get(group)
            members = {s.clientid for s, _ in found.members} if found is not None else set()
            terms.append(Term(test=None, size=len(members), members=lambda: members))
    if q.share_group is not None:
        shared = b.shared
        in_group = [s.clientid for f in shared.filters() for s, _ in _group_members(shared.get(f), q.share_group)]
        holding = set(in_group)
        terms.append(Term(test=None, size=len(in_group), exact=True, members=lambda: holding))
    if q.qos is not None:
        terms.append(Term(test=None, size=b.index.qos_counts[q.qos], exact=True))
    if q.match_topic is not None:
        holders_of = b.trie.match(q.match_topic)
        groups_of = [group for groups in b.shared.match(q.match_topic) for group in groups.values()]

        def matching() -> set[str]:
            found: set[str] = set()
            for holders in holders_of:
                found.update(holders)
            for group in groups_of:
                found.update(s.clientid for s, _ in group.members)
            return found

        # The filters that match are found at once; their subscribers are gathered only if they are
        # the cheaper source (a page of a popular topic walks the subscribed sessions instead).
        bound = sum(map(len, holders_of)) + sum(len(group.members) for group in groups_of)
        terms.append(Term(test=None, size=bound, members=matching))
    return terms


def _group_members(groups: dict[str, SharedGroup] | None, name: str) -> list[tuple[Session, SubOptions]]:
    group = groups.get(name) if groups else None
    return group.members if group is not None else []


def subscription_rows(
    b: Broker, keep: Callable[[str, SubOptions], bool]
) -> Callable[[Iterator[str]], Iterator[tuple[str, SubOptions]]]:
    """Client ids to the rows a subscription listing shows: each session's matching subscriptions,
    in the order it made them."""
    sessions = b.sessions

    def rows(ids: Iterator[str]) -> Iterator[tuple[str, SubOptions]]:
        for cid in ids:
            for o in sessions[cid].subscriptions.values():
                if keep(cid, o):
                    yield cid, o

    return rows


# -- the cursor ----------------------------------------------------------------------------------


def encode_cursor(clientid: str) -> str:
    return base64.urlsafe_b64encode(clientid.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise InvalidArgument("bad cursor", field="cursor") from e
