"""MQTT authentication (the authenticator chain, the built-in credential database) and authorization
(settings, sources, the built-in rule database, the per-connection caches).

Every change is one of ``broker.authn`` / ``broker.authz``'s commands; what is done here is what
needs the event loop's room: slow password hashes (bcrypt, pbkdf2) run in a worker thread before the
command that stores them.
"""

from __future__ import annotations

import asyncio
import time

import attrs

from schemas.errors import InvalidArgument, NotFound
from schemas.records import (
    USER_ID_TYPES,
    AuthenticatorConfig,
    AuthStatus,
    AuthzCacheEntry,
    AuthzRuleSet,
    AuthzSettings,
    AuthzSource,
    ImportResult,
    MqttUser,
    MqttUserImport,
    MqttUserQuery,
    Page,
)

from .. import authn_hashing, authn_users
from ..authn_users import StoredUser
from .base import ControlBase


class AuthControl(ControlBase):
    """The authenticator chain, the MQTT users, and the authorizer's settings, sources, rules and caches."""

    # ------------------------------------------------------------------ authenticators

    async def authenticators(self) -> list[AuthenticatorConfig]:
        return self.broker.authn.configs()

    async def get_authenticator(self, authenticator_id: str) -> AuthenticatorConfig:
        return attrs.evolve(self.broker.authn.get(authenticator_id).config)

    async def create_authenticator(self, config: AuthenticatorConfig) -> AuthenticatorConfig:
        return self.broker.authn.create(config)

    async def update_authenticator(self, authenticator_id: str, config: AuthenticatorConfig) -> AuthenticatorConfig:
        return self.broker.authn.update(authenticator_id, config)

    async def delete_authenticator(self, authenticator_id: str) -> None:
        self.broker.authn.delete(authenticator_id)

    async def move_authenticator(self, authenticator_id: str, position: str) -> None:
        self.broker.authn.move(authenticator_id, position)

    async def order_authenticators(self, ids: list[str]) -> None:
        self.broker.authn.reorder(ids)

    async def authenticator_status(self, authenticator_id: str) -> AuthStatus:
        return self.broker.authn.status(authenticator_id)

    # ------------------------------------------------------------------ MQTT users

    async def list_mqtt_users(self, query: MqttUserQuery, *, offset: int, limit: int) -> Page[MqttUser]:
        authn = self.broker.authn
        authn.builtin()
        if query.user_id_type not in USER_ID_TYPES:
            raise InvalidArgument(f"bad user_id_type {query.user_id_type!r}", field="user_id_type")
        items, total, hasnext = authn.users.query(query, offset, limit)
        return Page(items=items, total=total, hasnext=hasnext)

    async def get_mqtt_user(self, user_id_type: str, user_id: str) -> MqttUser:
        return self.broker.authn.user(user_id_type, user_id).record()

    async def _stored(
        self, user_id_type: str, user_id: str, password: str, is_superuser: bool, created_at: float
    ) -> StoredUser:
        """A user with ``password`` hashed under the built-in authenticator's algorithm (off the loop when slow)."""
        algo = self.broker.authn.builtin().config.password_hash
        args = (user_id_type, user_id, password, algo, is_superuser, created_at)
        if authn_hashing.is_slow(algo):
            return await asyncio.to_thread(authn_users.new_user, *args)
        return authn_users.new_user(*args)

    async def add_mqtt_user(
        self, user_id_type: str, user_id: str, password: str, *, is_superuser: bool = False
    ) -> MqttUser:
        authn_users.check_user_id(user_id_type, user_id)
        authn_users.check_password(password)
        authn = self.broker.authn
        authn.require_new_user(user_id_type, user_id)  # before the hash: a refusal costs nothing
        user = await self._stored(user_id_type, user_id, password, is_superuser, time.time())
        authn.add_user(user)
        return user.record()

    async def update_mqtt_user(
        self, user_id_type: str, user_id: str, *, password: str | None = None, is_superuser: bool | None = None
    ) -> MqttUser:
        """None keeps the password / the superuser flag."""
        authn = self.broker.authn
        old = authn.user(user_id_type, user_id)
        if password is None:
            new = attrs.evolve(old, is_superuser=old.is_superuser if is_superuser is None else is_superuser)
        else:
            authn_users.check_password(password)
            flag = old.is_superuser if is_superuser is None else is_superuser
            new = await self._stored(user_id_type, user_id, password, flag, old.created_at)
        authn.user(user_id_type, user_id)  # it may have gone while the hash was computed
        authn.save_user(new)
        return new.record()

    async def delete_mqtt_user(self, user_id_type: str, user_id: str) -> None:
        self.broker.authn.delete_user(user_id_type, user_id)

    async def import_mqtt_users(self, user_id_type: str, rows: list[MqttUserImport], *, hashed: bool) -> ImportResult:
        authn_users.check_import(rows, hashed)
        authn = self.broker.authn
        algo = authn.builtin().config.password_hash
        args = (rows, user_id_type, algo, hashed, time.time())
        if authn_hashing.is_slow(algo) and not hashed:
            users = await asyncio.to_thread(authn_users.imported_users, *args)
        else:
            users = authn_users.imported_users(*args)
        authn.builtin()  # still there after the hashing
        result, save = authn_users.merge_import(len(rows), users, authn.users.get)
        for user in save:
            authn.save_user(user)
        return result

    # ------------------------------------------------------------------ authorization settings and sources

    async def authz_settings(self) -> AuthzSettings:
        return attrs.evolve(self.broker.authz.settings, no_match=self.broker.config.acl_no_match)

    async def set_authz_settings(self, settings: AuthzSettings) -> AuthzSettings:
        """``no_match`` is the broker configuration's ``acl_no_match``; the rest the authorizer's."""
        b = self.broker
        b.authz.set_settings(settings)
        if b.config.acl_no_match != settings.no_match:
            b.apply_config(attrs.evolve(b.config, acl_no_match=settings.no_match))
        return await self.authz_settings()

    async def authz_sources(self) -> list[AuthzSource]:
        return [s.config() for s in self.broker.authz.sources]

    async def get_authz_source(self, source_type: str) -> AuthzSource:
        return self.broker.authz.source(source_type).config()

    async def create_authz_source(self, source: AuthzSource) -> None:
        self.broker.authz.create_source(source)

    async def update_authz_source(self, source_type: str, source: AuthzSource) -> None:
        self.broker.authz.update_source(source_type, source)

    async def delete_authz_source(self, source_type: str) -> None:
        self.broker.authz.delete_source(source_type)

    async def move_authz_source(self, source_type: str, position: str) -> None:
        self.broker.authz.move_source(source_type, position)

    async def order_authz_sources(self, types: list[str]) -> None:
        self.broker.authz.reorder_sources(types)

    async def authz_source_status(self, source_type: str) -> AuthStatus:
        return self.broker.authz.status(source_type)

    # ------------------------------------------------------------------ the built-in rule database

    async def list_authz_rules(
        self, who_type: str, *, like: str | None = None, offset: int, limit: int
    ) -> Page[AuthzRuleSet]:
        authz = self.broker.authz
        authz.builtin()
        if who_type == "all":
            found = authz.db.get("all", "")
            items = [found] if found is not None else []
            return Page(items=items[offset : offset + limit], total=len(items), hasnext=offset + limit < len(items))
        if who_type not in ("clientid", "username"):
            raise InvalidArgument(f"bad who_type {who_type!r}", field="who_type")
        items, total, hasnext = authz.db.query(who_type, like, offset, limit)
        return Page(items=items, total=total, hasnext=hasnext)

    async def get_authz_rules(self, who_type: str, who: str) -> AuthzRuleSet:
        return self.broker.authz.rules(who_type, who)

    async def add_authz_rules(self, rule_sets: list[AuthzRuleSet]) -> None:
        self.broker.authz.add_rule_sets(rule_sets)

    async def put_authz_rules(self, rule_set: AuthzRuleSet) -> None:
        self.broker.authz.put_rule_set(rule_set)

    async def delete_authz_rules(self, who_type: str, who: str) -> None:
        self.broker.authz.delete_rule_set(who_type, who)

    async def purge_authz_rules(self) -> None:
        self.broker.authz.purge_rules()

    # ------------------------------------------------------------------ caches

    def _connection(self, clientid: str):
        ch = self.broker.channels.get(clientid)
        if ch is None:
            raise NotFound(f"client {clientid!r} is not connected", kind="client")
        return ch

    async def authz_cache(self, clientid: str) -> list[AuthzCacheEntry]:
        return self.broker.authz.cache_of(self._connection(clientid))

    async def clean_authz_cache(self, clientid: str, topic: str | None = None) -> None:
        self.broker.authz.clean_cache(self._connection(clientid), topic)

    async def clean_all_authz_caches(self) -> None:
        self.broker.authz.invalidate_caches()
