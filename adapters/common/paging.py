"""Paging maths shared by the dialects: each names its parameters differently, the sums are one."""

from __future__ import annotations

import attrs

# Pages and page sizes past these are refused rather than computed: the offset, (page - 1) * limit,
# must stay a machine integer (islice, JSON encoders; below 2**62 here), and no listing has 2**31 pages
# or rows. A dialect without a ceiling of its own (EMQ 2.3's page_size, EMQX 4's _limit) still has this one.
MAX_PAGE = 2**31 - 1
MAX_LIMIT = 2**31 - 1


@attrs.define(slots=True, frozen=True)
class PageRequest:
    page: int  # 1-based
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def parse_page(
    page: str | None, limit: str | None, *, default_limit: int, max_limit: int | None = None, default_page: int = 1
) -> PageRequest:
    """Parse and bound page/limit strings; ValueError names the bad one (dialects map it to their code)."""
    try:
        p = default_page if page in (None, "") else int(page)
    except ValueError:
        raise ValueError("page") from None
    try:
        lim = default_limit if limit in (None, "") else int(limit)
    except ValueError:
        raise ValueError("limit") from None
    if not 1 <= p <= MAX_PAGE:
        raise ValueError("page")
    if not 1 <= lim <= (MAX_LIMIT if max_limit is None else min(max_limit, MAX_LIMIT)):
        raise ValueError("limit")
    return PageRequest(p, lim)
