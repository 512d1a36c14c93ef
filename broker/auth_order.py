"""Moving one member of an ordered chain (authenticators, authorization sources) the way EMQX 5 does:
a position is ``front``, ``rear``, ``before:<id>`` or ``after:<id>``; or the whole order at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from schemas.errors import InvalidArgument, NotFound

T = TypeVar("T")


def move(items: Sequence[T], key: Callable[[T], str], ident: str, position: str, kind: str) -> list[T]:
    """``items`` with ``ident`` moved to ``position``. NotFound (``kind``) for an unknown id or target,
    InvalidArgument (field "position") for a position that is none of the four forms."""
    order = list(items)
    moving = next((it for it in order if key(it) == ident), None)
    if moving is None:
        raise NotFound(f"{ident} not found", kind=kind)
    where, _, target = position.partition(":")
    if position == "front" or position == "rear":
        order.remove(moving)
        return [moving, *order] if position == "front" else [*order, moving]
    if where not in ("before", "after") or not target:
        raise InvalidArgument(
            f"invalid position {position!r}: front, rear, before:<id> or after:<id>", field="position"
        )
    if target == ident:
        return order
    order.remove(moving)
    at = next((i for i, it in enumerate(order) if key(it) == target), None)
    if at is None:
        raise NotFound(f"{target} not found", kind=kind)
    order.insert(at if where == "before" else at + 1, moving)
    return order


def reorder(items: Sequence[T], key: Callable[[T], str], wanted: Sequence[str], kind: str) -> list[T]:
    """``items`` in the order ``wanted`` names them; every id must be named exactly once. InvalidArgument
    (field "order") naming the unknown ids and the ones left out."""
    by_id = {key(it): it for it in items}
    unknown = [w for w in wanted if w not in by_id]
    missing = [k for k in by_id if k not in wanted]
    if unknown or missing or len(set(wanted)) != len(wanted):
        parts = []
        if unknown:
            parts.append(f"{kind}: {', '.join(unknown)} are not found")
        if missing:
            parts.append(f"No positions are specified for {kind}: {', '.join(missing)}")
        if not parts:
            parts.append(f"{kind}: each one must be named once")
        raise InvalidArgument("; ".join(parts), field="order")
    return [by_id[w] for w in wanted]
