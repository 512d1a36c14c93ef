"""Rendered listing rows, remembered as JSON while the control hands out the same record.

The control interface hands out the same ClientInfo object for as long as the client it describes is
unchanged (broker.control.records.ClientRecords), so a row rendered and encoded once can be spliced into the
next page as is (an ``orjson.Fragment``): a dashboard refreshing a page of idle clients then costs
little more than the copy of the bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson


class RenderedRows:
    MAX = 10_000  # remembered rows (about 1 KiB each); beyond that the memo starts over

    __slots__ = ("render", "memo")

    def __init__(self, render: Callable[[Any], dict]):
        self.render = render
        # id(record) -> (record, fragment); the record is held so that its id cannot be reused meanwhile.
        self.memo: dict[int, tuple[Any, orjson.Fragment]] = {}

    def __call__(self, record: Any) -> orjson.Fragment:
        memo = self.memo
        hit = memo.get(id(record))
        if hit is not None and hit[0] is record:
            return hit[1]
        if len(memo) >= self.MAX:
            memo.clear()
        row = orjson.Fragment(orjson.dumps(self.render(record)))
        memo[id(record)] = (record, row)
        return row
