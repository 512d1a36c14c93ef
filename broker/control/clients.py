"""Client listings, lookups, kick and keepalive."""

from __future__ import annotations

import ipaddress

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
from .plan import read_page
from .queries import client_terms, decode_cursor, encode_cursor, known_total


class ClientsControl(ControlBase):
    """Client listings, lookups, kick and keepalive."""

    def _local_query(self, q: ClientQuery) -> ClientQuery:
        """The query checked, without its node (every client of this one-node cluster is on it)."""
        q = self._here(q)
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
        query = self._local_query(query)
        terms = client_terms(query, b)
        ids, total, hasnext = read_page(
            terms,
            b.index.all,
            offset=offset,
            limit=limit,
            total=known_total(terms, len(b.index)),
            # EMQX counts a listing unless a substring filter makes it a full scan; a list of exact ids
            # is short enough to count whatever else is asked.
            want_total=query.exact_only or query.clientid is not None,
        )
        return Page(items=self._records(ids), total=total, hasnext=hasnext)

    async def list_clients_cursor(self, query: ClientQuery, *, cursor: str | None, limit: int) -> Page[ClientInfo]:
        b = self.broker
        query = self._local_query(query)
        before = decode_cursor(cursor) if cursor else None
        ids, _, more = read_page(
            client_terms(query, b), b.index.all, offset=0, limit=limit, total=None, want_total=False, before=before
        )
        return Page(
            items=self._records(ids),
            total=len(ids),
            hasnext=more,
            cursor=encode_cursor(ids[-1]) if more else None,
        )

    async def get_client(self, clientid: str) -> ClientInfo:
        return self.records(self._session(clientid))

    async def clients_by_username(self, username: str) -> list[ClientInfo]:
        return self._records(self.broker.index.by_username.ids(username).descending())

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
