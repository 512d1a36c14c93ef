"""What the dialects say about the runtime under the broker, where EMQ and EMQX name their Erlang/OTP
release (`otp_release`): the truth, never a made-up Erlang version."""

from __future__ import annotations

from schemas.records import NodeInfo

RUNTIME = "Python"
# asyncio accepts on each listening socket from one loop: one acceptor per listener (EMQX has a pool).
ACCEPTORS = 1


def runtime_release(info: NodeInfo) -> str:
    """`Python/3.11.9`, where EMQ 2.3 said `R19/8.3` and EMQX 4.4 `24.3.4.2/12.3.2.2`."""
    return f"{RUNTIME}/{info.python_version}"
