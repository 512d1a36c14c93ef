"""Shared by the `/api/v2` tests: calls as the 2.3 dashboard makes them (the ``v2`` fixture, in conftest,
wraps a gateway serving only v2 in a ``V2``)."""

from __future__ import annotations

import asyncio

import aiohttp
import attrs

NODE = "emqgw@127.0.0.1"
ADMIN = ("admin", "public")


def basic(username: str, password: str) -> dict:
    return {"Authorization": aiohttp.encode_basic_auth(username, password)}


@attrs.define
class V2:
    gw: object
    auth: tuple[str, str] = ADMIN

    @property
    def broker(self):
        return self.gw.broker

    async def call(self, method: str, path: str, *, auth=None, raw: bool = False, **kw):
        """`/api/v2<path>` with Basic (the dashboard's axios `auth`); JSON bodies as `JSON.stringify`."""
        headers = {**basic(*(auth or self.auth)), **kw.pop("headers", {})}
        r = await self.gw.http.request(method, "/api/v2" + path, headers=headers, **kw)
        if raw:
            return r
        assert r.status == 200, (method, path, r.status, await r.text())
        assert r.content_type == "application/json"
        return await r.json()

    async def get(self, path: str, **kw):
        return await self.call("GET", path, **kw)

    async def result(self, method: str, path: str, **kw):
        """The `result` of a success, asserting the 2.3 envelope."""
        body = await self.call(method, path, **kw)
        assert body["code"] == 0 and set(body) == {"code", "result"}, body
        return body["result"]

    async def code(self, method: str, path: str, **kw):
        """A business error: HTTP 200 and `{"code":N[,"message"]}` with no `result`."""
        body = await self.call(method, path, **kw)
        assert "result" not in body and body["code"] != 0, body
        return body


async def settle(pred, timeout: float = 5.0):
    """Await an HTTP-visible condition (the broker runs in its own thread)."""
    end = asyncio.get_running_loop().time() + timeout
    while True:
        value = await pred()
        if value:
            return value
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
