"""Shared by the `/api/v5` tests: ``V5``, a gateway with the v5 dialect, an API key to call it with, and
paho clients that are disconnected when the test ends. The ``v5`` and ``make_v5`` fixtures (in conftest)
hand them out."""

from __future__ import annotations

import base64

import attrs

from tests.mqtt_helpers import Client

API = "/api/v5"


def basic(key: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@attrs.define
class V5:
    gw: object
    auth: dict
    clients: list = attrs.field(factory=list)

    def client(self, clientid: str | None = None, **kw) -> Client:
        """A connected paho client on this gateway's broker, disconnected at teardown."""
        c = Client(self.broker, clientid, **kw)
        self.clients.append(c)
        return c

    def clients_of(self, *clientids: str, **kw) -> list[Client]:
        return [self.client(cid, **kw) for cid in clientids]

    @property
    def http(self):
        return self.gw.http

    @property
    def broker(self):
        return self.gw.broker

    @property
    def dialect(self):
        return self.gw.dialects["v5"]

    @property
    def node(self) -> str:
        return self.gw.ctx.control.node_name

    async def get(self, path: str, **kw):
        return await self.http.get(API + path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    async def post(self, path: str, body=None, **kw):
        if body is not None:
            kw["json"] = body
        return await self.http.post(API + path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    async def put(self, path: str, body=None, **kw):
        if body is not None:
            kw["json"] = body
        return await self.http.put(API + path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    async def delete(self, path: str, **kw):
        return await self.http.delete(API + path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    async def json(self, method: str, path: str, body=None, status: int = 200, **kw):
        r = (
            await getattr(self, method)(path, body, **kw)
            if method in ("post", "put")
            else await getattr(self, method)(path, **kw)
        )
        text = await r.text()
        assert r.status == status, f"{method.upper()} {path}: {r.status} {text}"
        return await r.json() if text else None
