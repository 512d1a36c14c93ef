"""Retained messages."""

from __future__ import annotations

import time

from schemas.errors import (
    InvalidArgument,
    NotFound,
)
from schemas.records import (
    Page,
    RetainedMessage,
)
from schemas.topics import topic_filter_problem

from .base import ControlBase
from .records import retained_record


class RetainedControl(ControlBase):
    """Retained messages."""

    async def list_retained(self, *, topic: str | None, offset: int, limit: int) -> Page[RetainedMessage]:
        store = self.broker.retained
        if topic is not None:
            if topic_filter_problem(topic) is not None:
                raise InvalidArgument("topic_filter_invalid", field="topic")
            rows = store.match(topic)
            return Page(
                items=[retained_record(m, False) for m in rows[offset : offset + limit]],
                total=None,
                hasnext=offset + limit < len(rows),
            )
        page = store.page(offset, limit)
        total = len(store)
        return Page(
            items=[retained_record(m, False) for _t, m in page], total=total, hasnext=offset + len(page) < total
        )

    async def get_retained(self, topic: str) -> RetainedMessage:
        msg = self.broker.retained.get(topic)
        if msg is None or msg.expired(time.time()):
            raise NotFound("Viewed message doesn't exist", kind="retained")
        return retained_record(msg)

    async def delete_retained(self, topic: str) -> None:
        if not self.broker.delete_retained(topic):
            raise NotFound("Viewed message doesn't exist", kind="retained")

    async def clear_retained(self) -> None:
        self.broker.clear_retained()
