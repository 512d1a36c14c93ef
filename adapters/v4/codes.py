"""Result codes of both `/api/v4` flavors (one numbering: EMQ 2.x's table, extended by each).

NanoMQ: nanomq/include/rest_api.h ``enum result_code`` (0, 101-118); EMQX 4.4: include/emqx_mgmt.hrl
(0, 101-116, where 115 is a bad topic and 116 a bad QoS). The numbers coincide up to 114; 115 and 116
mean different things in the two products, so each flavor names them itself.
"""

from __future__ import annotations

SUCCEED = 0
RPC_ERROR = 101
UNKNOWN_MISTAKE = 102
WRONG_USERNAME_OR_PASSWORD = 103
EMPTY_USERNAME_OR_PASSWORD = 104
USER_DOES_NOT_EXIST = 105
ADMIN_CANNOT_BE_DELETED = 106
MISSING_KEY_REQUEST_PARAMS = 107
REQ_PARAM_ERROR = 108
REQ_PARAMS_JSON_FORMAT_ILLEGAL = 109
PLUGIN_IS_ENABLED = 110
PLUGIN_IS_CLOSED = 111
CLIENT_IS_OFFLINE = 112
USER_ALREADY_EXISTS = 113
OLD_PASSWORD_IS_WRONG = 114
# NanoMQ's meanings of 115/116
ILLEGAL_SUBJECT = 115
TOKEN_EXPIRED = 116
# EMQX 4's meanings of 115/116
EMQX4_BAD_TOPIC = 115
EMQX4_BAD_QOS = 116
