"""Rendered listing rows, remembered as JSON for as long as the control hands out the same record.

The control hands out the same ClientInfo object for as long as the client it describes is unchanged
(broker.control.records.ClientRecords), so a row rendered and encoded once is spliced into every
later page as is (``gateway.http.listing``): a dashboard refreshing a page of idle clients, or NanoMQ
listing all of them, then costs little more than the copy of the bytes.

A row is remembered exactly as long as its record lives: when the control lets go of a record (the
client changed, or left) the row goes with it, so the memo never holds a row nobody can ask for. It
takes rows while it holds fewer than MAX; beyond that a row is encoded for the one request.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import orjson

from gateway.http.listing import EncodedRow


def encoded(doc: Any) -> EncodedRow:
    """A row rendered for one answer (nothing to remember it by)."""
    return EncodedRow(orjson.dumps(doc))


class _RecordRef(weakref.ref):
    """A weak reference to a record that knows the memo key it was filed under."""

    __slots__ = ("key",)


class RenderedRows:
    # Rows remembered per dialect and shape, each about 0.1-1.3 KiB (NanoMQ's, EMQX 5's); the records
    # themselves are bounded by the control's memo (ClientRecords.MAX), so this rarely binds.
    MAX = 10_000

    __slots__ = ("render", "memo", "_dropped")

    def __init__(self, render: Callable[[Any], Any]):
        self.render = render
        # id(record) -> (weak reference to it, row); the entry leaves when the record dies, before its
        # id can be given to another object.
        self.memo: dict[int, tuple[_RecordRef, EncodedRow]] = {}
        memo = self.memo

        def dropped(ref: _RecordRef) -> None:
            hit = memo.get(ref.key)
            if hit is not None and hit[0] is ref:
                del memo[ref.key]

        self._dropped = dropped

    def __call__(self, record: Any) -> EncodedRow:
        key = id(record)
        hit = self.memo.get(key)
        if hit is not None:
            return hit[1]
        row = encoded(self.render(record))
        if len(self.memo) < self.MAX:
            ref = _RecordRef(record, self._dropped)
            ref.key = key
            self.memo[key] = (ref, row)
            row.remembered = True
        return row
