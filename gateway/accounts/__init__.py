"""Dashboard users, login tokens and API keys, kept in one SQLite file (``<data_dir>/emqgw.db``).

The facts copied from EMQX 5 (reference: emqx-v5-api.md §1.1-1.3; emqx/emqx
apps/emqx_dashboard/src/emqx_dashboard_admin.erl, emqx_dashboard_token.erl,
apps/emqx_management/src/emqx_mgmt_auth.erl):

* the default user ``admin`` / ``public`` is created when there are no users at all, and cannot be deleted;
* usernames ``^[_a-zA-Z0-9]*$``; passwords 8-64 bytes with two of {letters, digits, specials} (the EMQ 2.x
  and EMQX 4 dialects switch the password rule off: they accept ``public``);
* login tokens are opaque to their holder, valid for a sliding TTL (default 60 min), dropped when the
  user's password changes or the user is deleted, and lost on restart;
* an API key's ``api_key`` is the first 16 hex chars of sha512(name); its secret is base62 of 32 random
  bytes, shown once; at most 100 keys; a key is refused when disabled or past ``expired_at``.

One module per concern: ``policy`` (what names and passwords may be), ``hashing`` (stored hashes and
their check), ``verified_cache`` (recent successful checks), ``tokens`` (login tokens), ``database``
(the file and its schema), ``bootstrap`` (the operator's API key file), ``store`` (``AccountStore``,
which puts them together). Callers import from the package; the names below are its interface.
"""

from .database import DB_NAME
from .errors import AccountStoreError, BadToken, NotAllowed, PasswordMismatch, TokenExpired
from .policy import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    api_key_for_name,
    validate_api_key_name,
    validate_password,
    validate_username,
)
from .records import KEEP, ApiKey, User
from .store import MAX_API_KEYS, AccountStore
from .tokens import TOKEN_TTL
from .verified_cache import CREDENTIAL_CACHE_TTL

__all__ = [
    "CREDENTIAL_CACHE_TTL",
    "DB_NAME",
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "KEEP",
    "MAX_API_KEYS",
    "TOKEN_TTL",
    "AccountStore",
    "AccountStoreError",
    "ApiKey",
    "BadToken",
    "NotAllowed",
    "PasswordMismatch",
    "TokenExpired",
    "User",
    "api_key_for_name",
    "validate_api_key_name",
    "validate_password",
    "validate_username",
]
