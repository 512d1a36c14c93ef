"""What a username, a password and an API key name may be, and how an API key is derived from its name.

EMQX 5's rules (emqx_dashboard_admin.erl, emqx_dashboard_api.erl, emqx_mgmt_api_api_keys.erl,
emqx_mgmt_auth.erl), with EMQX's own messages so that the dialects can pass them through.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from schemas.errors import InvalidArgument

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "public"  # EMQX dashboard.default_password
DEFAULT_USER_DESCRIPTION = "administrator"  # what EMQX writes for its default user
MAX_USERNAME_LEN = 100  # emqx_dashboard_api: username maxLength 100
MAX_API_KEY_NAME_BYTES = 256  # emqx_mgmt_api_api_keys:validate_name/1
API_KEY_HEX_LEN = 16  # emqx_mgmt_auth ?DEFAULT_HASH_LEN

MSG_USERNAME_EMPTY = "Username cannot be empty"
MSG_USERNAME_BAD = "Bad Username. Only upper and lower case letters, numbers and underscores are supported"
MSG_USERNAME_LONG = f"Bad Username. The maximum length is {MAX_USERNAME_LEN}"
MSG_PASSWORD_EMPTY = "Password cannot be empty"
MSG_PASSWORD_LEN = "The range of password length is 8~64"
MSG_PASSWORD_WEAK = (
    "Bad password. At least two different kind of characters from groups of letters, numbers, and special "
    "characters. For example, if password is composed from letters, it must contain at least one number or a "
    "special character."
)
API_KEY_NAME_RE = "^[A-Za-z]+[A-Za-z0-9-_]*$"
MSG_API_KEY_NAME = "Name should be " + API_KEY_NAME_RE
MSG_API_KEY_NAME_LEN = "Name Length must =< 256"

_USERNAME_RE = re.compile(r"[_a-zA-Z0-9]*")
_API_KEY_NAME_RE = re.compile(r"[A-Za-z]+[A-Za-z0-9_-]*")
# emqx_dashboard_admin: ?LETTER, ?NUMBER, ?SPECIAL_CHARS (note: space is special, backslash is not).
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_SPECIALS = frozenset("!@#$%^&*()_+-=[]{}\"|;':,./<>?`~ ")


def validate_username(username: str) -> None:
    """EMQX 5 rule; InvalidArgument with EMQX's message. Applied in every dialect (usernames end up in
    URL paths and in ``user:password`` Basic credentials, so the safe charset is kept everywhere)."""
    if not username:
        raise InvalidArgument(MSG_USERNAME_EMPTY, field="username")
    if len(username) > MAX_USERNAME_LEN:
        raise InvalidArgument(MSG_USERNAME_LONG, field="username")
    if not _USERNAME_RE.fullmatch(username):
        raise InvalidArgument(MSG_USERNAME_BAD, field="username")


def validate_password(password: str, *, enforce_policy: bool = True) -> None:
    """EMQX 5 ``legal_password/1`` when ``enforce_policy``; otherwise only non-empty (EMQ 2.x, EMQX 4)."""
    if not enforce_policy:
        if not password:
            raise InvalidArgument(MSG_PASSWORD_EMPTY, field="password")
        return
    # EMQX measures binary_to_list(Password): bytes, not characters.
    if not 8 <= len(password.encode("utf-8", "surrogatepass")) <= 64:
        raise InvalidArgument(MSG_PASSWORD_LEN, field="password")
    kinds = sum(1 for group in (_DIGITS, _LETTERS, _SPECIALS) if any(c in group for c in password))
    if kinds < 2:
        raise InvalidArgument(MSG_PASSWORD_WEAK, field="password")


def validate_api_key_name(name: str) -> None:
    size = len(name.encode("utf-8", "surrogatepass"))
    if not 0 < size <= MAX_API_KEY_NAME_BYTES:
        raise InvalidArgument(MSG_API_KEY_NAME_LEN, field="name")
    # fullmatch, not EMQX's PCRE `$` (which also lets a trailing newline through).
    if not _API_KEY_NAME_RE.fullmatch(name):
        raise InvalidArgument(MSG_API_KEY_NAME, field="name")


def sha512_prefix(text: str) -> str:
    """emqx_mgmt_auth's short hash: how a key's api_key comes from its name and a bootstrapped key's name
    from its api_key."""
    return hashlib.sha512(text.encode("utf-8")).hexdigest()[:API_KEY_HEX_LEN]


def api_key_for_name(name: str) -> str:
    """EMQX: the api_key of a key created by name is the first 16 hex chars of sha512(name)."""
    return sha512_prefix(name)


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(reversed(out)) or "0"


def new_api_secret() -> str:
    """emqx_mgmt_auth:generate_api_secret/0: base62 of 32 random bytes (~43 chars)."""
    return _base62(secrets.token_bytes(32))
