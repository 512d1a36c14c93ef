"""Reading one page of a filtered listing from the cheapest source the index offers.

A query is a list of ``Term``s, one per filter (built in ``broker.control.queries``). Each term can
test one session, and says what the index knows of the sessions that pass it:

- an ordered run of their client ids (``ordered``: exactly its matches: an equality filter's buckets,
  a time range read from chunks that know their times), which a page reads from the top, testing
  the other terms, and stops once it has its rows;
- a set of client ids holding all its matches (``members``: the sessions with a non-empty queue, a
  topic's subscribers), which a page reads whole, tests and sorts;
- nothing but the test (a ``like`` substring): such a term only ever filters another source.

``read_page`` prices each source (a walk stops after about ``wanted * run / matches`` sessions, a set
costs its size) and reads the page from the cheapest; when the query is one term whose size is exact,
that size is the total and nothing more is read for it. Two terms together have no counter: their
total is the length of the cheaper source's matches read whole (the matches of one filter, never
every session).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import islice
from typing import Any, Protocol

import attrs

# A set source costs this many walk steps per member: its members are tested like a walk's, then
# sorted (in C, a fraction of a Python-level test each).
SET_COST = 1.5


class Run(Protocol):
    """Client ids in ascending order, read from the top (``broker.sorted_keys.SortedKeys``)."""

    def __len__(self) -> int: ...
    def descending(self, skip: int = 0) -> Iterator[str]: ...
    def top(self, skip: int, count: int) -> list[str]: ...
    def below(self, key: str) -> Iterator[str]: ...


class Runs:
    """Disjoint runs read as one: an equality filter given several values (`username=a&username=b`),
    or the kinds a few-valued filter passes."""

    __slots__ = ("runs",)

    def __init__(self, runs: Iterable[Run]):
        self.runs = [r for r in runs if len(r)]

    def __len__(self) -> int:
        return sum(map(len, self.runs))

    def descending(self, skip: int = 0) -> Iterator[str]:
        merged = heapq.merge(*(r.descending() for r in self.runs), reverse=True)
        return islice(merged, skip, None)

    def top(self, skip: int, count: int) -> list[str]:
        return list(islice(self.descending(skip), count))

    def below(self, key: str) -> Iterator[str]:
        return heapq.merge(*(r.below(key) for r in self.runs), reverse=True)


@attrs.define(slots=True, kw_only=True)
class Term:
    """One filter. ``test(clientid)`` decides a session (None: the rows are tested instead, see
    ``read_page``); ``size`` bounds its matches (their exact count when ``exact``); ``ordered`` or
    ``members`` is the index's source of them, if any."""

    test: Callable[[str], bool] | None
    size: int
    exact: bool = False
    ordered: Run | None = None
    members: Callable[[], Iterable[str]] | None = None


def _passing(ids: Iterable[str], tests: Sequence[Callable[[str], bool]]) -> Iterator[str]:
    if not tests:
        return iter(ids)
    if len(tests) == 1:
        return filter(tests[0], ids)
    return (cid for cid in ids if all(t(cid) for t in tests))


def _walk(run: Run, tests: Sequence[Callable[[str], bool]], before: str | None) -> Iterator[str]:
    return _passing(run.descending() if before is None else run.below(before), tests)


def read_page(
    terms: Sequence[Term],
    everything: Run,
    *,
    offset: int,
    limit: int,
    total: int | None,
    want_total: bool,
    before: str | None = None,
    rows: Callable[[Iterator[str]], Iterator[Any]] | None = None,
) -> tuple[list[Any], int | None, bool]:
    """One page of the rows of the sessions passing every term, by descending client id.

    ``everything`` is the run every match is in (all sessions, or those with a subscription);
    ``total`` the exact number of rows when a counter knows it; ``before`` starts below a client id
    (a cursor); ``rows`` turns the passing client ids into the listing's rows (several per session
    for subscriptions), else a row is the client id itself. Returns (page, total or None, hasnext):
    the total is counted here when asked for and not known, by reading the cheapest source whole.
    """
    if any(t.size == 0 for t in terms):
        return [], 0 if want_total else None, False
    if total is not None and rows is None and before is None and len(terms) <= 1:
        run = terms[0].ordered if terms else everything
        if run is not None:
            # The run is exactly the matches: the page is a slice of it.
            return run.top(offset, limit), total if want_total else None, offset + limit < total
    read_all = want_total and total is None
    wanted = offset + limit + 1
    matches = max(1, min((t.size for t in terms), default=len(everything)))

    def walk_cost(run: Run) -> float:
        return len(run) if read_all else min(len(run), wanted * len(run) / matches)

    every_test = [t.test for t in terms if t.test is not None]
    cost, source = walk_cost(everything), partial(_walk, everything, every_test, before)
    for term in terms:
        if term.ordered is not None and walk_cost(term.ordered) < cost:
            # An ordered source holds exactly its term's matches: only the other terms are tested.
            others = [t.test for t in terms if t is not term and t.test is not None]
            cost, source = walk_cost(term.ordered), partial(_walk, term.ordered, others, before)
        if term.members is not None and term.size * SET_COST < cost:
            cost, source = term.size * SET_COST, partial(_sorted_members, term, every_test, before)
    out = source() if rows is None else rows(source())
    if read_all:
        everyone = list(out)
        return everyone[offset : offset + limit], len(everyone), offset + limit < len(everyone)
    got = list(islice(out, offset, wanted))
    return got[:limit], total if want_total else None, len(got) > limit


def _sorted_members(term: Term, tests: Sequence[Callable[[str], bool]], before: str | None) -> Iterator[str]:
    """A set source read whole: its members may hold more than its matches, so every test applies."""
    assert term.members is not None
    found = [cid for cid in _passing(term.members(), tests) if before is None or cid < before]
    found.sort(reverse=True)
    return iter(found)
