"""MQTT authentication and authorization in the state database (``<data_dir>/emqgw.db``): the
authenticator chain, the credential database, the authorizer's settings and sources, the rule database.

The broker holds all of it in memory (no query on the MQTT path); its ``authn.*`` / ``authz.*`` events
become operations here, written by the state store's writer thread like every other broker change
(``gateway.state_store``), and read back once at start. ``emqgw mqtt-users`` works on the same tables
through the same functions.

Tables: ``auth_config`` (name -> JSON: ``authn_chain`` the authenticators in order, ``authz`` the
settings and sources; a row exists only once the thing was changed, so the defaults and the acl_file
stay in force until then); ``auth_users`` (one row per user: hash, salt, algorithm as JSON);
``authz_rules`` (one row per record: its rules as JSON, in match order).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import attrs
import cattrs

from broker.authn import default_chain
from broker.authn_users import StoredUser
from schemas.records import AuthenticatorConfig, AuthzRule, AuthzRuleSet, AuthzSettings, AuthzSource, PasswordHash

SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_config (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS auth_users (
    user_id_type TEXT NOT NULL, user_id TEXT NOT NULL, password_hash TEXT NOT NULL, salt TEXT NOT NULL,
    algorithm TEXT NOT NULL, is_superuser INTEGER NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (user_id_type, user_id));
CREATE TABLE IF NOT EXISTS authz_rules (
    who_type TEXT NOT NULL, who TEXT NOT NULL, rules TEXT NOT NULL, PRIMARY KEY (who_type, who));
"""
TABLES = ("auth_config", "auth_users", "authz_rules")
CHAIN = "authn_chain"
AUTHZ = "authz"

_converter = cattrs.Converter()
Read = Callable[[str], list]  # runs a SELECT, answers its rows


def _dumps(value) -> str:
    return json.dumps(_converter.unstructure(value), separators=(",", ":"))


# --- broker events -> operations -------------------------------------------------------------------


def operation(event: str, data: dict) -> tuple | None:
    """The write that keeps one broker event, or None for events that are not about auth."""
    if event == "authn.chain":
        return ("auth_config", CHAIN, _dumps(data["configs"]))
    if event == "authn.user":
        return ("auth_user", data["user"])
    if event == "authn.user_deleted":
        return ("auth_user_delete", data["user_id_type"], data["user_id"])
    if event == "authn.users_cleared":
        return ("auth_users_clear",)
    if event == "authz.config":
        return ("auth_config", AUTHZ, _dumps({"settings": data["settings"], "sources": data["sources"]}))
    if event == "authz.rules":
        rs = data["rule_set"]
        return ("authz_rules", rs.who_type, rs.who, _dumps(rs.rules))
    if event == "authz.rules_deleted":
        return ("authz_rules_delete", data["who_type"], data["who"])
    if event == "authz.rules_purged":
        return ("authz_rules_purge",)
    return None


def _op_config(c: sqlite3.Connection, op: tuple) -> None:
    c.execute("INSERT OR REPLACE INTO auth_config VALUES (?, ?)", (op[1], op[2]))


def _op_user(c: sqlite3.Connection, op: tuple) -> None:
    u: StoredUser = op[1]
    c.execute(
        "INSERT OR REPLACE INTO auth_users VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            u.user_id_type,
            u.user_id,
            u.password_hash,
            u.salt,
            _dumps(u.algorithm),
            int(u.is_superuser),
            u.created_at,
        ),
    )


def _op_user_delete(c: sqlite3.Connection, op: tuple) -> None:
    c.execute("DELETE FROM auth_users WHERE user_id_type = ? AND user_id = ?", (op[1], op[2]))


def _op_users_clear(c: sqlite3.Connection, op: tuple) -> None:
    c.execute("DELETE FROM auth_users")


def _op_rules(c: sqlite3.Connection, op: tuple) -> None:
    c.execute("INSERT OR REPLACE INTO authz_rules VALUES (?, ?, ?)", op[1:])


def _op_rules_delete(c: sqlite3.Connection, op: tuple) -> None:
    c.execute("DELETE FROM authz_rules WHERE who_type = ? AND who = ?", (op[1], op[2]))


def _op_rules_purge(c: sqlite3.Connection, op: tuple) -> None:
    c.execute("DELETE FROM authz_rules")


# What the writer thread does with each operation (merged into the state store's table).
OPS: dict[str, Callable[[sqlite3.Connection, tuple], None]] = {
    "auth_config": _op_config,
    "auth_user": _op_user,
    "auth_user_delete": _op_user_delete,
    "auth_users_clear": _op_users_clear,
    "authz_rules": _op_rules,
    "authz_rules_delete": _op_rules_delete,
    "authz_rules_purge": _op_rules_purge,
}


# --- reading back ----------------------------------------------------------------------------------


def read_chain(read: Read) -> list[AuthenticatorConfig] | None:
    rows = read(f"SELECT doc FROM auth_config WHERE name = '{CHAIN}'")
    return _converter.structure(json.loads(rows[0][0]), list[AuthenticatorConfig]) if rows else None


def read_users(read: Read) -> list[StoredUser]:
    return [
        StoredUser(
            user_id_type=t,
            user_id=uid,
            password_hash=h,
            salt=salt,
            algorithm=_converter.structure(json.loads(algo), PasswordHash),
            is_superuser=bool(sup),
            created_at=created,
        )
        for t, uid, h, salt, algo, sup, created in read(
            "SELECT user_id_type, user_id, password_hash, salt, algorithm, is_superuser, created_at FROM auth_users"
        )
    ]


def read_authz(read: Read) -> tuple[AuthzSettings | None, list[AuthzSource] | None, list[AuthzRuleSet]]:
    rows = read(f"SELECT doc FROM auth_config WHERE name = '{AUTHZ}'")
    settings = sources = None
    if rows:
        doc = json.loads(rows[0][0])
        settings = _converter.structure(doc["settings"], AuthzSettings)
        sources = _converter.structure(doc["sources"], list[AuthzSource])
    rule_sets = [
        AuthzRuleSet(who_type=t, who=who, rules=_converter.structure(json.loads(rules), list[AuthzRule]))
        for t, who, rules in read("SELECT who_type, who, rules FROM authz_rules ORDER BY rowid")
    ]
    return settings, sources, rule_sets


def restore(read: Read, broker) -> None:
    """Put the kept chain, users, settings, sources and rules back into the broker (before it listens)."""
    broker.authn.restore(read_chain(read), read_users(read))
    settings, sources, rule_sets = read_authz(read)
    broker.authz.restore(settings, sources, rule_sets)


def builtin_config(read: Read) -> AuthenticatorConfig | None:
    """The built-in database authenticator the gateway will start with (None: the chain has none)."""
    chain = read_chain(read)
    configs = chain if chain is not None else default_chain()
    return next((attrs.evolve(c) for c in configs if c.backend == "built_in_database"), None)
