"""The authenticator chain: who may connect, checked at CONNECT by each enabled authenticator in order.

Two backends (``password_based:<backend>``):

- ``built_in_database``: the credential database (``authn_users``). A client's rows are the one under
  its username and the one under its client id, the authenticator's ``user_id_type`` first (EMQX 4's
  mnesia auth tried both; EMQX 5 keeps one type per authenticator: here the type decides which users
  the EMQX 5 API manages and which row is tried first). No row: this authenticator has nothing to say
  (``nomatch``) and the next one is asked. A row: the password must match one of the rows (``success``,
  superuser if that row says so) or the client is refused (``failed``).
- ``dashboard_accounts``: the gateway's account store (``Broker.attach_account_check``). It answers for
  every username it is asked about: an unknown user or a wrong password is a refusal, as the
  ``auth_username`` switch always did.

A verdict the chain cannot give at once (a slow hash: bcrypt, pbkdf2, the account store's scrypt) is an
awaitable, which the broker's shell runs off the event loop. When every enabled authenticator passes,
``allow_anonymous`` decides, as in EMQX 4 (EMQX 5 refuses then; set ``allow_anonymous = false`` for that).

Every change is a command here that tells the broker's observers: ``authn.chain`` (configs) after a
change to the chain, ``authn.user`` (user) / ``authn.user_deleted`` (user_id_type, user_id) /
``authn.users_cleared`` after a change to the credential database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

import attrs

from schemas.errors import Conflict, InvalidArgument, NotFound, NotSupported
from schemas.records import AUTHN_BACKENDS, BUILT_IN_DATABASE, USER_ID_TYPES, AuthenticatorConfig, AuthStatus

from . import auth_order, authn_hashing
from .auth_metrics import AuthMetrics
from .authn_users import CredentialDatabase, StoredUser

MECHANISMS = ("password_based",)
KIND = "authenticator"
MSG_TYPE_CHANGE = "Change of authentication type is not allowed"


class Credentials:
    """What a CONNECT presents (a plain class: one is made per CONNECT)."""

    __slots__ = ("clientid", "username", "password", "peerhost")

    def __init__(self, clientid: str, username: str | None, password: bytes | None, peerhost: str) -> None:
        self.clientid = clientid
        self.username = username
        self.password = password
        self.peerhost = peerhost


@attrs.frozen
class Verdict:
    accepted: bool
    superuser: bool = False


ACCEPT = Verdict(True)
ACCEPT_SUPERUSER = Verdict(True, True)
REFUSE = Verdict(False)

# What one authenticator answers: a verdict, None ("not mine": ask the next), or either later.
Answer = Verdict | None
Pending = Awaitable[Answer]


def is_pending(answer: object) -> bool:
    """Whether an answer is still to come (an awaitable), not a verdict or None; cheaper than
    ``inspect.isawaitable`` on the CONNECT path."""
    return answer is not None and answer.__class__ is not Verdict


# The account store's check: (username, password, clientid, peerhost) -> bool, or an awaitable of one.
AccountCheck = Callable[[str | None, bytes | None, str, str], "bool | Awaitable[bool]"]


class Authenticator:
    def __init__(self, config: AuthenticatorConfig) -> None:
        self.config = config
        self.metrics = AuthMetrics(("success", "failed", "nomatch"))

    @property
    def id(self) -> str:
        return self.config.id

    def check(self, creds: Credentials) -> Answer | Pending:
        raise NotImplementedError

    def count(self, answer: Answer) -> Answer:
        c = self.metrics.counts
        c["total"] += 1
        c["nomatch" if answer is None else "success" if answer.accepted else "failed"] += 1
        return answer


def _verify_rows(rows: Sequence[StoredUser], password: bytes) -> Verdict:
    for row in rows:
        if authn_hashing.verify(row.algorithm, password, row.password_hash, row.salt):
            return ACCEPT_SUPERUSER if row.is_superuser else ACCEPT
    return REFUSE


class BuiltinDatabase(Authenticator):
    def __init__(self, config: AuthenticatorConfig, users: CredentialDatabase) -> None:
        super().__init__(config)
        self.users = users

    def _rows(self, creds: Credentials) -> list[StoredUser]:
        tables = self.users.by_type
        by_name = tables["username"].get(creds.username) if creds.username is not None else None
        by_id = tables["clientid"].get(creds.clientid)
        rows = [by_name, by_id] if self.config.user_id_type == "username" else [by_id, by_name]
        return [r for r in rows if r is not None]

    def check(self, creds: Credentials) -> Answer | Pending:
        rows = self._rows(creds)
        if not rows:
            return None
        if creds.password is None:
            return REFUSE
        for r in rows:
            if authn_hashing.is_slow(r.algorithm):
                return asyncio.to_thread(_verify_rows, rows, creds.password)
        return _verify_rows(rows, creds.password)


class DashboardAccounts(Authenticator):
    def __init__(self, config: AuthenticatorConfig, chain: AuthnChain) -> None:
        super().__init__(config)
        self.chain = chain

    def check(self, creds: Credentials) -> Answer | Pending:
        fn = self.chain.account_check
        if fn is None:
            return None  # no account store attached (a bare broker): nothing to check against
        out = fn(creds.username, creds.password, creds.clientid, creds.peerhost)
        if out is True or out is False:
            return ACCEPT if out else REFUSE
        return _as_verdict(out)


async def _as_verdict(pending: Awaitable[bool]) -> Answer:
    return ACCEPT if await pending is True else REFUSE


def check_config(config: AuthenticatorConfig) -> None:
    """The one validation of an authenticator's configuration, for every door."""
    if config.mechanism not in MECHANISMS:
        raise NotSupported(f"mechanism {config.mechanism!r} is not supported; only password_based", kind=KIND)
    if config.backend not in AUTHN_BACKENDS:
        raise NotSupported(
            f"backend {config.backend!r} is not supported; one of {', '.join(AUTHN_BACKENDS)}", kind=KIND
        )
    if config.user_id_type not in USER_ID_TYPES:
        raise InvalidArgument(
            f"user_id_type must be username or clientid, not {config.user_id_type!r}", field="user_id_type"
        )
    if config.backend == "built_in_database":
        authn_hashing.validate(config.password_hash)


def default_chain() -> list[AuthenticatorConfig]:
    """The built-in database (empty, so it lets everyone through to ``allow_anonymous``) and the dashboard
    accounts, off (the gateway switches them with ``mqtt_auth_accounts``)."""
    return [AuthenticatorConfig(), AuthenticatorConfig(backend="dashboard_accounts", enable=False)]


class AuthnChain:
    def __init__(self, emit: Callable[..., None]) -> None:
        self._emit = emit
        self.users = CredentialDatabase()
        self.account_check: AccountCheck | None = None
        self.authenticators: list[Authenticator] = [self._make(c) for c in default_chain()]

    def _make(self, config: AuthenticatorConfig) -> Authenticator:
        if config.backend == "built_in_database":
            return BuiltinDatabase(config, self.users)
        return DashboardAccounts(config, self)

    # ------------------------------------------------------------------ CONNECT

    def authenticate(self, creds: Credentials) -> Answer | Pending:
        """The chain's verdict, None when no enabled authenticator knows the client, or either later."""
        return self._from(0, creds)

    def _from(self, start: int, creds: Credentials) -> Answer | Pending:
        chain = self.authenticators
        for i in range(start, len(chain)):
            a = chain[i]
            if not a.config.enable:
                continue
            answer = a.check(creds)
            if is_pending(answer):
                return self._later(a, cast(Pending, answer), i, creds)
            verdict = cast(Answer, answer)
            if a.count(verdict) is not None:
                return verdict
        return None

    async def _later(self, a: Authenticator, pending: Pending, i: int, creds: Credentials) -> Answer:
        answer = a.count(await pending)
        if answer is not None:
            return answer
        rest = self._from(i + 1, creds)
        return await cast(Pending, rest) if is_pending(rest) else cast(Answer, rest)

    # ------------------------------------------------------------------ the chain

    def get(self, ident: str) -> Authenticator:
        a = next((a for a in self.authenticators if a.id == ident), None)
        if a is None:
            raise NotFound(f"Authenticator '{ident}' does not exist", kind=KIND)
        return a

    def builtin(self) -> BuiltinDatabase:
        """The built-in database authenticator; NotFound when the chain has none (its users are gone too)."""
        a = self.get(BUILT_IN_DATABASE)
        assert isinstance(a, BuiltinDatabase)
        return a

    def configs(self) -> list[AuthenticatorConfig]:
        return [attrs.evolve(a.config) for a in self.authenticators]

    def status(self, ident: str) -> AuthStatus:
        return self.get(ident).metrics.status()

    def tick(self, now: float) -> None:
        for a in self.authenticators:
            a.metrics.tick(now)

    def _changed(self) -> None:
        self._emit("authn.chain", configs=self.configs())

    def create(self, config: AuthenticatorConfig) -> AuthenticatorConfig:
        check_config(config)
        if any(a.id == config.id for a in self.authenticators):
            raise Conflict(f"Authenticator '{config.id}' already exist", kind=KIND)
        self.authenticators.append(self._make(attrs.evolve(config)))
        self._changed()
        return attrs.evolve(config)

    def update(self, ident: str, config: AuthenticatorConfig) -> AuthenticatorConfig:
        a = self.get(ident)
        if config.id != ident:
            raise InvalidArgument(MSG_TYPE_CHANGE, field="backend")
        check_config(config)
        a.config = attrs.evolve(config)
        self._changed()
        return attrs.evolve(config)

    def set_enabled(self, ident: str, enable: bool) -> None:
        self.update(ident, attrs.evolve(self.get(ident).config, enable=enable))

    def delete(self, ident: str) -> None:
        """Remove an authenticator; removing the built-in database drops its users, as EMQX does."""
        a = self.get(ident)
        self.authenticators.remove(a)
        if isinstance(a, BuiltinDatabase) and len(self.users):
            self.users.clear()
            self._emit("authn.users_cleared")
        self._changed()

    def move(self, ident: str, position: str) -> None:
        self.authenticators = auth_order.move(self.authenticators, lambda a: a.id, ident, position, KIND)
        self._changed()

    def reorder(self, ids: Sequence[str]) -> None:
        self.authenticators = auth_order.reorder(self.authenticators, lambda a: a.id, ids, "Authenticators")
        self._changed()

    # ------------------------------------------------------------------ the credential database

    def require_new_user(self, user_id_type: str, user_id: str) -> None:
        """Conflict (kind "mqtt_user") when the id is taken; NotFound without the built-in database."""
        self.builtin()  # users live only while their authenticator does
        if self.users.get(user_id_type, user_id) is not None:
            raise Conflict("User already exists", kind="mqtt_user")

    def add_user(self, user: StoredUser) -> None:
        self.require_new_user(user.user_id_type, user.user_id)
        self.save_user(user)

    def save_user(self, user: StoredUser) -> None:
        """Add or replace."""
        self.builtin()
        self.users.put(user)
        self._emit("authn.user", user=user)

    def user(self, user_id_type: str, user_id: str) -> StoredUser:
        self.builtin()
        found = self.users.get(user_id_type, user_id)
        if found is None:
            raise NotFound("User not found", kind="mqtt_user")
        return found

    def delete_user(self, user_id_type: str, user_id: str) -> None:
        self.user(user_id_type, user_id)
        self.users.delete(user_id_type, user_id)
        self._emit("authn.user_deleted", user_id_type=user_id_type, user_id=user_id)

    # ------------------------------------------------------------------ start

    def restore(self, configs: Sequence[AuthenticatorConfig] | None, users: Sequence[StoredUser]) -> None:
        """What the state database kept (configs None: never changed, the default chain stays)."""
        if configs is not None:
            self.authenticators = [self._make(attrs.evolve(c)) for c in configs]
        self.users.load(users)
