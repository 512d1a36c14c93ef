"""Who may call `/api/v4`: HTTP Basic against the account store, or NanoMQ's RS256 JWT.

NanoMQ (nanomq/web_server.c, NanoNNG conf): ``http_server.auth_type`` is ``basic`` | ``jwt`` |
``no_auth``. Basic compares ``Authorization: Basic`` with the configured pair — here any dashboard
account passes, and the configured ``http_server`` username/password are written into the account
store. JWT: ``Authorization: Bearer <token>``, RS256 only, verified with the PEM public key in
``http_server.jwt.public.keyfile``; ``iss`` must equal that file's base name; ``exp`` is checked with
NanoMQ's 200 s tolerance. NanoMQ never issues tokens (see README.md, "Minting a NanoMQ JWT").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import jwt

from adapters.common.auth import parse_basic, password_ok
from gateway.accounts import api_key_for_name

from . import codes

# NanoMQ's l8w8jwt validation tolerance for `exp` (web_server.c: `exp_tolerance_seconds = 200`).
JWT_EXP_LEEWAY = 200


class AuthFailed(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code


def basic_credentials(header: str | None) -> tuple[str, str]:
    """(username, password) of a Basic header; AuthFailed(104) if absent or another scheme, (108) if the
    Basic value cannot be decoded (NanoMQ's answers)."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise AuthFailed(codes.EMPTY_USERNAME_OR_PASSWORD, "no Basic credentials")
    creds = parse_basic(header)
    if creds is None:
        raise AuthFailed(codes.REQ_PARAM_ERROR, "undecodable Basic credentials")
    if not creds[0]:
        raise AuthFailed(codes.EMPTY_USERNAME_OR_PASSWORD, "empty username")
    return creds


async def check_basic(accounts, header: str | None) -> str:
    user, password = basic_credentials(header)
    if not await password_ok(accounts, user, password):
        raise AuthFailed(codes.WRONG_USERNAME_OR_PASSWORD, "wrong username or password")
    return user


async def check_app(accounts, header: str | None) -> str:
    """EMQX 4's API application credentials, ``app_id:secret`` (the app id is the API key's name); the
    check may be a slow hash (a secret a person chose), so it runs in a thread."""
    app_id, secret = basic_credentials(header)
    key = await asyncio.to_thread(accounts.check_api_key, api_key_for_name(app_id), secret)
    if key is None or key.name != app_id:
        raise AuthFailed(codes.WRONG_USERNAME_OR_PASSWORD, "wrong app id or secret")
    return f"app:{app_id}"


class JwtVerifier:
    """Verifies NanoMQ-style tokens with one public key; reloads the key when the file changes."""

    def __init__(self, keyfile: str) -> None:
        self.keyfile = keyfile
        self.issuer = Path(keyfile).name
        self._key: bytes | None = None
        self._mtime: float | None = None

    def _public_key(self) -> bytes:
        mtime = Path(self.keyfile).stat().st_mtime
        if self._key is None or mtime != self._mtime:
            self._key = Path(self.keyfile).read_bytes()
            self._mtime = mtime
        return self._key

    def verify(self, header: str | None) -> str:
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthFailed(codes.EMPTY_USERNAME_OR_PASSWORD, "no bearer token")
        try:
            claims = jwt.decode(
                token,
                self._public_key(),
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=JWT_EXP_LEEWAY,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailed(codes.TOKEN_EXPIRED, "token expired") from None
        except (jwt.InvalidTokenError, OSError, ValueError):
            raise AuthFailed(codes.WRONG_USERNAME_OR_PASSWORD, "bad token") from None
        return str(claims.get("sub") or claims.get("username") or "jwt")


class NanoMQAuth:
    """NanoMQ's check of a caller by its `http_server` section; keeps one verifier per JWT key file."""

    def __init__(self, accounts) -> None:
        self.accounts = accounts
        self._jwt: JwtVerifier | None = None

    async def check(self, http_server: dict, header: str | None) -> str:
        auth_type = http_server.get("auth_type", "basic")
        if auth_type == "no_auth":
            return "anonymous"
        if auth_type == "jwt":
            keyfile = http_server["jwt"]["public"]["keyfile"]
            if self._jwt is None or self._jwt.keyfile != keyfile:
                self._jwt = JwtVerifier(keyfile)
            return self._jwt.verify(header)
        return await check_basic(self.accounts, header)
