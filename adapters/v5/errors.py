"""EMQX 5's error codes: the table `GET /error_codes` serves, and the helpers handlers raise with.

Source: emqx/emqx apps/emqx/include/http_api.hrl `ERROR_CODES` (v5.8.9); descriptions verbatim.
Codes the handlers emit but the table does not list (API_KEY_NOT_ALLOW, TOKEN_TIME_OUT,
UNKNOWN_ERROR ...) are not listed here either, exactly as EMQX does.
"""

from __future__ import annotations

import orjson

from adapters.common.error_answers import find_answer
from gateway.accounts import NotAllowed, PasswordMismatch
from gateway.http.dialect import ApiError
from gateway.http.routes import Endpoint
from schemas.errors import (
    Conflict,
    ControlError,
    Denied,
    InvalidArgument,
    LimitExceeded,
    NotFound,
    NotSupported,
    Unavailable,
)

ERROR_CODES: dict[str, str] = {
    "BAD_USERNAME_OR_PWD": "Bad username or password",
    "BAD_API_KEY_OR_SECRET": "Bad API key or secret",
    "BAD_REQUEST": "Request parameters are invalid",
    "NOT_MATCH": "Conditions are not matched",
    "ALREADY_EXISTS": "Resource already existed",
    "BAD_CONFIG_SCHEMA": "Configuration data is invalid",
    "BAD_LISTENER_ID": "Bad listener ID",
    "BAD_NODE_NAME": "Bad Node Name",
    "BAD_RPC": "RPC Failed. Check the cluster status and the requested node status",
    "BAD_TOPIC": "Topic syntax error, Topic needs to comply with the MQTT protocol standard",
    "EXCEED_LIMIT": "Create resources that exceed the maximum limit or minimum limit",
    "INVALID_PARAMETER": "Request parameters is invalid and exceeds the boundary value",
    "CONFLICT": "Conflicting request resources",
    "NO_DEFAULT_VALUE": "Request parameters do not use default values",
    "DEPENDENCY_EXISTS": "Resource is dependent by another resource",
    "MESSAGE_ID_SCHEMA_ERROR": "Message ID parsing error",
    "INVALID_ID": "Bad ID schema",
    "MESSAGE_ID_NOT_FOUND": "Message ID does not exist",
    "NOT_FOUND": "Resource was not found or does not exist",
    "CLIENTID_NOT_FOUND": "Client ID was not found or does not exist",
    "CLIENT_NOT_FOUND": "Client was not found or does not exist(usually not a MQTT client)",
    "RESOURCE_NOT_FOUND": "Resource not found",
    "TOPIC_NOT_FOUND": "Topic not found",
    "USER_NOT_FOUND": "User not found",
    "INTERNAL_ERROR": "Server inter error",
    "SERVICE_UNAVAILABLE": "Service unavailable",
    "SOURCE_ERROR": "Source error",
    "UPDATE_FAILED": "Update failed",
    "RESET_FAILED": "Reset source or config failed",
    "CLIENT_NOT_RESPONSE": "Client not responding",
    "UNSUPPORTED_MEDIA_TYPE": "Unsupported media type",
}

# Both 401s of the Basic scheme carry this challenge (emqx_dashboard.erl).
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic Realm="emqx-dashboard"'}


def error(status: int, code: str, message: str, headers: dict | None = None) -> ApiError:
    return ApiError(status, code, message, headers=headers)


def bad_request(message: str, code: str = "BAD_REQUEST") -> ApiError:
    return ApiError(400, code, message)


def validation_error(path: str, reason: str, value=None, **extra) -> ApiError:
    """A schema violation, its message a JSON-encoded hocon error as EMQX prints it."""
    doc = {"kind": "validation_error", "path": path, "reason": reason, **extra}
    if value is not None:
        doc["value"] = value
    return ApiError(400, "BAD_REQUEST", orjson.dumps(doc).decode())


def node_not_found(node: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"Node not found: {node}")


CLIENTID_NOT_FOUND = (404, "CLIENTID_NOT_FOUND", "Client ID not found")
BAD_LISTENER_ID = (404, "BAD_LISTENER_ID", "Listener id not found")

# Interface errors as EMQX 5 answers them: (error type, what it is about) -> (status, code, message);
# a kind of None is the type's answer for anything else, a message of None passes the error's own on.
# An endpoint that answers otherwise says so in its ``errors`` (adapters.common.error_answers), each
# answer (status, code[, message]).
CONTROL_ERRORS: dict[tuple[type, str | None], tuple] = {
    (NotFound, "client"): CLIENTID_NOT_FOUND,
    (NotFound, "session"): CLIENTID_NOT_FOUND,
    (NotFound, "topic"): (404, "TOPIC_NOT_FOUND", None),
    (NotFound, "user"): (404, "USER_NOT_FOUND", None),
    (NotFound, "listener"): BAD_LISTENER_ID,
    (NotFound, None): (404, "NOT_FOUND", None),
    (InvalidArgument, None): (400, "BAD_REQUEST", None),
    (Conflict, None): (409, "ALREADY_EXISTS", None),
    (NotSupported, None): (400, "NOT_SUPPORTED", None),
    (Unavailable, None): (503, "SERVICE_UNAVAILABLE", None),
    (Denied, None): (403, "NOT_AUTHORIZED", None),
    (LimitExceeded, None): (400, "EXCEED_LIMIT", None),
    # The account store's refusals (emqx_dashboard_api).
    (NotAllowed, None): (400, "NOT_ALLOWED", None),
    (PasswordMismatch, None): (400, "ERROR_PWD_NOT_MATCH", None),
}


def control_error(err: ControlError, endpoint: Endpoint) -> ApiError:
    hit = find_answer(err, endpoint, CONTROL_ERRORS)
    if hit is None:
        return ApiError(500, "INTERNAL_ERROR", err.message)
    status, code, message = (*hit, None)[:3]
    return ApiError(status, code, err.message if message is None else message)
