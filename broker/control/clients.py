"""Client listings, lookups, kick and keepalive."""

from __future__ import annotations

import ipaddress
from itertools import islice

import attrs

from schemas.errors import (
    InvalidArgument,
    NotFound,
)
from schemas.records import (
    CONN_STATES,
    ClientInfo,
    ClientQuery,
    Page,
)

from .base import ControlBase
from .queries import client_matches, decode_cursor, encode_cursor, is_unfiltered


class ClientsControl(ControlBase):
    """Client listings, lookups, kick and keepalive."""

    def _local_query(self, q: ClientQuery) -> ClientQuery:
        """The query checked, without its node (every client of this one-node cluster is on it)."""
        if q.node is not None:
            self._only_here(q.node)
            q = attrs.evolve(q, node=None)
        self._validate_query(q)
        return q

    def _validate_query(self, q: ClientQuery) -> None:
        if q.ip_address is not None:
            try:
                ipaddress.ip_address(q.ip_address)
            except ValueError as e:
                raise InvalidArgument(
                    f"the ip_address parameter expected type is ip, but the value is {q.ip_address}", field="ip_address"
                ) from e
        if q.conn_state is not None and q.conn_state not in CONN_STATES:
            raise InvalidArgument(f"bad conn_state {q.conn_state!r}", field="conn_state")

    async def list_clients(self, query: ClientQuery, *, offset: int, limit: int) -> Page[ClientInfo]:
        b = self.broker
        records = self.records
        query = self._local_query(query)
        ids = b.sorted_ids
        if is_unfiltered(query):
            n = len(ids)
            hi = max(n - offset, 0)
            lo = max(hi - limit, 0)
            items = [records(b.sessions[cid]) for cid in reversed(ids[lo:hi])]
            return Page(items=items, total=n, hasnext=lo > 0)
        if query.clientid is not None:
            # Exact ids: look them up rather than scan.
            found = sorted({cid for cid in query.clientid if cid in b.sessions}, reverse=True)
            rows = [b.sessions[cid] for cid in found if client_matches(query, b.sessions[cid], b)]
            return Page(
                items=[records(s) for s in rows[offset : offset + limit]],
                total=len(rows),
                hasnext=offset + limit < len(rows),
            )
        matching = (b.sessions[cid] for cid in self._descending() if client_matches(query, b.sessions[cid], b))
        if query.exact_only:
            rows = list(matching)
            page = rows[offset : offset + limit]
            return Page(items=[records(s) for s in page], total=len(rows), hasnext=offset + limit < len(rows))
        page = list(islice(matching, offset, offset + limit + 1))
        return Page(items=[records(s) for s in page[:limit]], total=None, hasnext=len(page) > limit)

    async def list_clients_cursor(self, query: ClientQuery, *, cursor: str | None, limit: int) -> Page[ClientInfo]:
        b = self.broker
        records = self.records
        query = self._local_query(query)
        before = decode_cursor(cursor) if cursor else None
        rows = list(
            islice(
                (b.sessions[cid] for cid in self._descending(before) if client_matches(query, b.sessions[cid], b)),
                limit + 1,
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            items=[records(s) for s in rows],
            total=len(rows),
            hasnext=more,
            cursor=encode_cursor(rows[-1].clientid) if more else None,
        )

    async def get_client(self, clientid: str) -> ClientInfo:
        return self.records(self._session(clientid))

    async def clients_by_username(self, username: str) -> list[ClientInfo]:
        b = self.broker
        records = self.records
        return [records(b.sessions[cid]) for cid in self._descending() if b.sessions[cid].username == username]

    async def kick_client(self, clientid: str, *, discard_session: bool = True) -> None:
        if not self.broker.kick(clientid, discard_session):
            raise NotFound(f"client {clientid!r} not found", kind="client")

    async def set_keepalive(self, clientid: str, interval: int) -> ClientInfo:
        if not 0 <= interval <= 65535:
            raise InvalidArgument("keepalive must be 0..65535", field="interval")
        s = self._session(clientid)
        if not self.broker.set_keepalive(clientid, interval):
            raise NotFound(f"client {clientid!r} is not connected", kind="client")
        return self.records(s)
