"""2.3's answers to the interface errors (``schemas.errors``), in one table; the codes are
``adapters.v2.envelope``'s. Every answer is a business error: HTTP 200 with `{"code":N[,"message"]}`.
"""

from __future__ import annotations

from adapters.common.error_answers import find_answer
from gateway.accounts import NotAllowed, PasswordMismatch
from gateway.http.dialect import ApiError
from gateway.http.routes import Endpoint
from schemas.errors import Conflict, ControlError, NotFound

from .envelope import USER_NOT_FOUND, fail

# (error type, what it is about) -> (code, message). A message of None passes the error's own on, ""
# sends none; any other quotes the request's arguments by name, as 2.3's messages did
# ("Clientid: {client_id} not found"). An endpoint that answers otherwise says so in its ``errors``.
CONTROL_ERRORS: dict[tuple[type, str | None], tuple[int, str | None]] = {
    (NotFound, "client"): (112, ""),  # client not online: the bare code, as 2.3's kick answered
    (NotFound, "session"): (112, ""),
    (NotFound, "user"): (105, USER_NOT_FOUND),
    (NotFound, "feature"): (102, "unknown"),  # emqttd_plugins' {error, not_found}
    (Conflict, "user"): (113, "User already exist"),
    (NotAllowed, None): (106, "admin cannot be deleted"),  # the store refuses to delete the default user only
    (PasswordMismatch, None): (114, "OldPassword error"),
    (ControlError, None): (102, None),  # 2.3's "unknown error", its failure for everything else
}


class Quoting(ApiError):
    """A business error whose message quotes the request's arguments (`{name}`). The table is not
    given the call, so the dialect fills them in when it renders the error, from the arguments it read."""

    def quoted(self, arguments: dict) -> ApiError:
        return fail(self.code, self.message.format_map(arguments))


def control_error(err: ControlError, endpoint: Endpoint) -> ApiError:
    code, message = find_answer(err, endpoint, CONTROL_ERRORS)
    if message is None:
        return fail(code, err.message)
    return Quoting(200, code, message)
