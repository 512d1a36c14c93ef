"""What the account store raises besides the interface errors of ``schemas.errors``."""

from __future__ import annotations

from schemas.errors import ControlError


class AccountStoreError(Exception):
    """The database cannot be used (unreadable, corrupt, newer schema, IO error).

    Not a ControlError: it is the server's trouble, not the caller's mistake, and should surface as a
    500 or a failed start, never as a 4xx.
    """


class NotAllowed(ControlError):
    """The operation is refused by rule (deleting the default user)."""


class PasswordMismatch(ControlError):
    """``change_password``: the old password is wrong (EMQX ERROR_PWD_NOT_MATCH)."""


class TokenExpired(ControlError):
    """A known token past its expiry (EMQX TOKEN_TIME_OUT)."""


class BadToken(ControlError):
    """An unknown or revoked token (EMQX BAD_TOKEN)."""
