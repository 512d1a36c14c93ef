"""NanoMQ's `POST /ctrl/{stop|restart}`: the broker (its listeners and sessions) and the bridge.

`restart` applies what waits for it (listener addresses, TLS, the bridge section); a listener that
cannot be opened is NanoMQ's 500 `{"code":101}`. Another action is 404 `{"code":101}`.
"""

from __future__ import annotations

import logging

from aiohttp import web

from gateway.http.routes import Call, Param, Routes

from . import codes, nanomq_http
from .nanomq_state import NanoMQState

log = logging.getLogger("emqgw.v4")


def routes(state: NanoMQState) -> Routes:
    nanomq = Routes(**nanomq_http.ROUTES)

    async def stop(call: Call) -> None:
        await state.bridge.stop()
        await call.control.stop()

    async def restart(call: Call) -> None:
        await state.bridge.stop()
        try:
            await call.control.restart()
        except OSError as e:  # e.g. a new listener address already taken
            log.error("restart failed: %s", e)
            raise nanomq_http.fail(500, codes.RPC_ERROR) from None
        state.settings.pending.clear()
        await state.bridge.start(state.settings.own)

    actions = {"stop": stop, "restart": restart}

    @nanomq.post(
        "/ctrl/{action}",
        name="ctrl_broker",
        summary="Control broker stop or restart",
        params=(Param(name="action", where="path", enum=tuple(actions)),),
    )
    async def ctrl(call: Call) -> web.StreamResponse:
        action = actions.get(call.args["action"])
        if action is None:
            raise nanomq_http.fail(404, codes.RPC_ERROR)
        await action(call)
        return nanomq_http.ok()

    return nanomq
