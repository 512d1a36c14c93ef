"""A sorted list of unique keys kept in chunks: the ordered part of the listing indexes.

One flat sorted list pays a memmove of everything after the insertion point on every add or remove:
about 10 µs per connect at 100,000 client ids and 100 µs at a million, on the connect path. Chunks of
at most 2 * LOAD keys bound that cost (the layout of sortedcontainers' SortedList, cut down to what a
listing needs): a key's chunk is found by bisecting the chunks' last keys, then the key in its chunk.

Listings read it from the top (descending client ids), from a position (a page offset: the walk over
the chunk lengths costs one step per chunk, not per key) or from below a key (a cursor), and count
the keys in a range (created-at and connected-at ranges, keys ``(time, clientid)``).
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any

# Keys per chunk before a split; a chunk holds LOAD // 2 .. 2 * LOAD keys once the list has several.
# 512 keeps a chunk's memmove under a microsecond and a walk over 100,000 keys' chunk lengths short.
LOAD = 512

_last = itemgetter(-1)


class SortedKeys:
    __slots__ = ("_chunks", "_len")

    def __init__(self, keys: Iterable[Any] = ()):
        ordered = sorted(keys)
        self._chunks: list[list[Any]] = [ordered[i : i + LOAD] for i in range(0, len(ordered), LOAD)]
        self._len = len(ordered)

    @classmethod
    def view(cls, ordered: list[Any]) -> SortedKeys:
        """A read-only view of a list that is already sorted (a small index bucket), without a copy."""
        view = cls.__new__(cls)
        view._chunks = [ordered] if ordered else []
        view._len = len(ordered)
        return view

    def __len__(self) -> int:
        return self._len

    def __contains__(self, key: Any) -> bool:
        chunks = self._chunks
        i = bisect_left(chunks, key, key=_last)
        if i == len(chunks):
            return False
        chunk = chunks[i]
        return chunk[bisect_left(chunk, key)] == key

    def __iter__(self) -> Iterator[Any]:
        for chunk in self._chunks:
            yield from chunk

    def add(self, key: Any) -> None:
        """Insert ``key``, which must not be present."""
        chunks = self._chunks
        self._len += 1
        if not chunks:
            chunks.append([key])
            self._chunk_made(0)
            return
        i = bisect_left(chunks, key, key=_last)
        if i == len(chunks):
            i -= 1
            chunk = chunks[i]
            chunk.append(key)
        else:
            chunk = chunks[i]
            insort(chunk, key)
        self._key_placed(i, key)
        if len(chunk) > 2 * LOAD:
            chunks.insert(i + 1, chunk[LOAD:])
            del chunk[LOAD:]
            self._chunk_split(i)

    def remove(self, key: Any) -> bool:
        """Take ``key`` out; False when it was not there."""
        chunks = self._chunks
        i = bisect_left(chunks, key, key=_last)
        if i == len(chunks):
            return False
        chunk = chunks[i]
        j = bisect_left(chunk, key)
        if chunk[j] != key:
            return False
        del chunk[j]
        self._len -= 1
        if len(chunk) < LOAD // 2 and len(chunks) > 1:
            # Merge a thin chunk into a neighbour, so that walks by position stay one step per chunk.
            k = i if i + 1 < len(chunks) else i - 1
            chunks[k] += chunks.pop(k + 1)
            self._chunks_merged(k)
            if len(chunks[k]) > 2 * LOAD:
                merged = chunks[k]
                chunks.insert(k + 1, merged[LOAD:])
                del merged[LOAD:]
                self._chunk_split(k)
        elif not chunk:
            del chunks[i]
            self._chunk_gone(i)
        return True

    # What a subclass keeping something per chunk (MeasuredKeys) hears of; nothing here.

    def _chunk_made(self, i: int) -> None:
        """Chunk ``i`` was created holding one key."""

    def _key_placed(self, i: int, key: Any) -> None:
        """``key`` went into chunk ``i``."""

    def _chunk_split(self, i: int) -> None:
        """Chunk ``i`` was split into ``i`` and ``i + 1``."""

    def _chunks_merged(self, i: int) -> None:
        """Chunk ``i + 1`` was appended to chunk ``i``."""

    def _chunk_gone(self, i: int) -> None:
        """Chunk ``i`` was emptied and removed."""

    def rank(self, key: Any) -> int:
        """How many keys are below ``key``."""
        chunks = self._chunks
        i = bisect_left(chunks, key, key=_last)
        below = sum(map(len, chunks[:i]))
        return below if i == len(chunks) else below + bisect_left(chunks[i], key)

    def descending(self, skip: int = 0) -> Iterator[Any]:
        """The keys from the largest down, after skipping the ``skip`` largest."""
        chunks = self._chunks
        i = len(chunks) - 1
        while i >= 0 and skip >= len(chunks[i]):
            skip -= len(chunks[i])
            i -= 1
        if i < 0:
            return
        first = chunks[i]
        yield from reversed(first[: len(first) - skip])
        for k in range(i - 1, -1, -1):
            yield from reversed(chunks[k])

    def top(self, skip: int, count: int) -> list[Any]:
        """``count`` keys from the largest down after skipping the ``skip`` largest (a page), sliced
        chunk by chunk rather than stepped through."""
        chunks = self._chunks
        i = len(chunks) - 1
        while i >= 0 and skip >= len(chunks[i]):
            skip -= len(chunks[i])
            i -= 1
        out: list[Any] = []
        while i >= 0 and len(out) < count:
            chunk = chunks[i]
            end = len(chunk) - skip
            out += reversed(chunk[max(0, end - (count - len(out))) : end])
            skip = 0
            i -= 1
        return out

    def below(self, key: Any) -> Iterator[Any]:
        """The keys under ``key``, from the largest down."""
        chunks = self._chunks
        i = bisect_left(chunks, key, key=_last)
        if i < len(chunks):
            chunk = chunks[i]
            yield from reversed(chunk[: bisect_left(chunk, key)])
        for k in range(min(i, len(chunks)) - 1, -1, -1):
            yield from reversed(chunks[k])

    def between(self, lo: Any, hi: Any) -> Iterator[Any]:
        """The keys ``lo <= key < hi``, ascending."""
        chunks = self._chunks
        i = bisect_left(chunks, lo, key=_last)
        if i == len(chunks):
            return
        start = bisect_left(chunks[i], lo)
        for chunk in islice(chunks, i, None):
            if chunk[-1] >= hi:
                yield from islice(chunk, start, bisect_left(chunk, hi))
                return
            yield from islice(chunk, start, None)
            start = 0

    def count_between(self, lo: Any, hi: Any) -> int:
        """How many keys ``lo <= key < hi``."""
        return max(0, self.rank(hi) - self.rank(lo))


class MeasuredKeys(SortedKeys):
    """SortedKeys that also know, per chunk, the range of a few measures of their keys (a session's
    created and connected times), so that a walk for keys whose measure lies in a range skips every
    chunk that cannot hold one.

    Client ids given out in order are often created (and connected) in order too: then the keys in a
    time range sit in a few chunks, and a page of them costs the chunks skipped plus the page, not a
    walk past every session outside the range. Where ids and times are unrelated each chunk spans
    every time and the walk tests key by key, finding matches as often as they occur.

    A chunk's ranges only widen as keys arrive or a measure changes (``touch``); a key leaving does not
    narrow them, they are taken afresh when the chunk is split or merged. A stale range costs a look
    into a chunk that holds nothing, never a key missed. A measure may be None (not measured: no
    connection yet), which no range holds.
    """

    __slots__ = ("_measures", "_bounds")

    def __init__(self, measures: Sequence[Callable[[Any], float | None]]):
        super().__init__()
        self._measures = tuple(measures)
        self._bounds: list[list[float]] = []  # per chunk: [low, high] per measure, flattened

    def _measured(self, keys: Iterable[Any]) -> list[float]:
        bounds = [math.inf, -math.inf] * len(self._measures)
        for key in keys:
            self._widen(bounds, key)
        return bounds

    def _widen(self, bounds: list[float], key: Any) -> None:
        for m, measure in enumerate(self._measures):
            value = measure(key)
            if value is not None:
                if value < bounds[2 * m]:
                    bounds[2 * m] = value
                if value > bounds[2 * m + 1]:
                    bounds[2 * m + 1] = value

    def _chunk_made(self, i: int) -> None:
        self._bounds.insert(i, self._measured(self._chunks[i]))

    def _key_placed(self, i: int, key: Any) -> None:
        self._widen(self._bounds[i], key)

    def _chunk_split(self, i: int) -> None:
        self._bounds[i : i + 1] = [self._measured(self._chunks[i]), self._measured(self._chunks[i + 1])]

    def _chunks_merged(self, i: int) -> None:
        a, b = self._bounds[i], self._bounds.pop(i + 1)
        self._bounds[i] = [min(x, y) if n % 2 == 0 else max(x, y) for n, (x, y) in enumerate(zip(a, b, strict=True))]

    def _chunk_gone(self, i: int) -> None:
        del self._bounds[i]

    def touch(self, key: Any) -> None:
        """A measure of ``key`` (present) changed."""
        self._widen(self._bounds[bisect_left(self._chunks, key, key=_last)], key)

    def within(self, m: int, low: float, high: float, below: Any = None) -> Iterator[Any]:
        """The keys whose measure ``m`` lies in ``low..high``, from the largest down (under ``below``)."""
        chunks, bounds, measure = self._chunks, self._bounds, self._measures[m]
        last = len(chunks) - 1 if below is None else min(bisect_left(chunks, below, key=_last), len(chunks) - 1)
        for i in range(last, -1, -1):
            b = bounds[i]
            if b[2 * m] > high or b[2 * m + 1] < low:
                continue
            chunk = chunks[i]
            end = len(chunk) if below is None or i < last else bisect_left(chunk, below)
            for j in range(end - 1, -1, -1):
                value = measure(chunk[j])
                if value is not None and low <= value <= high:
                    yield chunk[j]
