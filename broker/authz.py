"""Authorization: whether a client may publish to a topic or subscribe to a filter.

Sources are asked in order, each enabled one answering allow, deny or "no match":

- ``built_in_database``: the rule database (``authz_rules``), first by default so that rules added over
  the API come before the ACL file's usual closing ``{allow, all}`` (EMQX 5 puts a new source first too);
- ``file``: the ACL rules in ``acl.conf`` form (``broker.acl``), from ``acl_file`` or, once set over an
  API, the text given there (validated first: a text that does not parse changes nothing).

The first answer decides; none: ``no_match`` (``BrokerConfig.acl_no_match``). A superuser (the built-in
credential database says so) is allowed everything. ``deny_action`` "disconnect" ends the connection of
a client whose PUBLISH is denied (EMQX 5: publish only). Verdicts are cached per connection
(``authz_cache``), so a PUBLISH costs a dictionary lookup, not a walk of the rules.

Every change is a command here that tells the broker's observers: ``authz.config`` (settings, sources)
and ``authz.rules`` (rule_set) / ``authz.rules_deleted`` (who_type, who) / ``authz.rules_purged``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from schemas.errors import Conflict, InvalidArgument, LimitExceeded, NotFound, NotSupported
from schemas.records import AUTHZ_SOURCE_TYPES, AuthStatus, AuthzCacheEntry, AuthzRuleSet, AuthzSettings, AuthzSource
from schemas.topics import parse_share

from . import auth_order
from .acl import SUBSCRIBE, AclRules, AclSyntaxError, ClientFacts, parse_acl
from .admission import Identity
from .auth_metrics import AuthMetrics
from .authz_cache import AuthzCache
from .authz_rules import RuleDatabase, check_who, compile_rule
from .errors import MQTTError
from .topics import topic_matches, validate_topic_filter

KIND = "authz_source"
DENY_ACTIONS = ("ignore", "disconnect")
NO_MATCH = ("allow", "deny")
CACHE_MAX_SIZE = (1, 1_048_576)  # EMQX: authorization.cache.max_size range
# What an identity without a cache (an offline client's last facts) answers for one.
_NO_CACHE: Any = object()
API_SOURCE = "<api>"  # the source name in the errors of a rules text given over an API


# How EMQX names a record's owner in its messages ("User 'u1' already exist").
_OWNER = {"clientid": "Client", "username": "User", "all": "All"}


def _not_found(source_type: str) -> NotFound:
    return NotFound(f"Not found: {source_type}", kind=KIND)


class Source:
    type = ""

    def __init__(self, enable: bool) -> None:
        self.enable = enable
        self.metrics = AuthMetrics(("allow", "deny", "nomatch", "ignore"))

    @property
    def has_rules(self) -> bool:
        raise NotImplementedError

    def check(self, client: ClientFacts, action: str, topic: str, real: str, qos: int, retain: bool) -> str | None:
        raise NotImplementedError

    def config(self) -> AuthzSource:
        raise NotImplementedError


class FileSource(Source):
    type = "file"

    def __init__(self, enable: bool, text: str, rules: AclRules, from_api: bool) -> None:
        super().__init__(enable)
        self.text = text
        self.rules = rules
        self.from_api = from_api  # kept in the state database only when it came from an API

    @property
    def has_rules(self) -> bool:
        return bool(self.rules.rules)

    def check(self, client: ClientFacts, action: str, topic: str, real: str, qos: int, retain: bool) -> str | None:
        return self.rules.check_facts(client, action, topic, real)

    def config(self) -> AuthzSource:
        return AuthzSource(type=self.type, enable=self.enable, rules=self.text)


class BuiltinSource(Source):
    type = "built_in_database"

    def __init__(self, enable: bool, max_rules: int, db: RuleDatabase) -> None:
        super().__init__(enable)
        self.max_rules = max_rules
        self.db = db

    @property
    def has_rules(self) -> bool:
        return len(self.db) > 0

    def check(self, client: ClientFacts, action: str, topic: str, real: str, qos: int, retain: bool) -> str | None:
        return self.db.check(client, action, topic, real, qos, retain)

    def config(self) -> AuthzSource:
        return AuthzSource(type=self.type, enable=self.enable, max_rules=self.max_rules)


def parse_rules_text(text: str) -> AclRules:
    """An ACL text given over an API; InvalidArgument (field "rules") naming the line when it does not parse."""
    try:
        return parse_acl(text, API_SOURCE)
    except AclSyntaxError as e:
        raise InvalidArgument(str(e), field="rules") from None


def check_settings(s: AuthzSettings) -> None:
    """The one validation of the settings, for every door."""
    if s.no_match not in NO_MATCH:
        raise InvalidArgument(f"no_match must be allow or deny, not {s.no_match!r}", field="no_match")
    if s.deny_action not in DENY_ACTIONS:
        raise InvalidArgument(f"deny_action must be ignore or disconnect, not {s.deny_action!r}", field="deny_action")
    lo, hi = CACHE_MAX_SIZE
    if not lo <= s.cache_max_size <= hi:
        raise InvalidArgument(f"cache max_size must be between {lo} and {hi}", field="cache")
    if not s.cache_ttl > 0:
        raise InvalidArgument("cache ttl must be above 0", field="cache")
    for f in s.cache_excludes:
        try:
            validate_topic_filter(f)
        except MQTTError:
            raise InvalidArgument(f"cache excludes: invalid topic filter {f!r}", field="cache") from None


class Authorization:
    def __init__(self, emit: Callable[..., None], acl_text: str, acl_rules: AclRules) -> None:
        """``acl_text`` / ``acl_rules``: the acl_file's (empty without one)."""
        self._emit = emit
        self.db = RuleDatabase()
        self.settings = AuthzSettings()
        self.sources: list[Source] = [
            BuiltinSource(True, AuthzSource(type="built_in_database").max_rules, self.db),
            FileSource(True, acl_text, acl_rules, from_api=False),
        ]
        # Bumped by every change: caches of an older generation are stale (``authz_cache``).
        self.generation = 0
        self.idle = True
        # The no_match verdicts in the caches were given under (it is the broker configuration's).
        self._no_match = ""
        self._refresh()

    def _refresh(self) -> None:
        self.generation += 1
        self.idle = not any(s.enable and s.has_rules for s in self.sources)

    @property
    def disconnect_on_deny(self) -> bool:
        return self.settings.deny_action == "disconnect"

    # ------------------------------------------------------------------ the check

    def check(
        self, who: Identity, action: str, topic: str, qos: int, retain: bool, no_match: str, m: dict[str, int]
    ) -> bool:
        m["client.authorize"] += 1
        if getattr(who, "is_superuser", False):
            m["authorization.allow"] += 1
            return True
        if no_match != self._no_match:
            self._no_match = no_match
            self.generation += 1
        s = self.settings
        cache: AuthzCache | None = None
        now = 0.0
        key = (action, topic, qos, retain)
        # Only a live connection has a cache (``who`` may be an offline client's last facts).
        if s.cache_enable and (cache := getattr(who, "authz_cache", _NO_CACHE)) is not _NO_CACHE:
            if s.cache_excludes and self._excluded(topic):
                cache = None
            else:
                if cache is None or cache.generation != self.generation:
                    cache = who.authz_cache = AuthzCache(self.generation)  # type: ignore[attr-defined]
                now = time.monotonic()
                # The cache's lookup inline: this runs for every PUBLISH of a client under rules.
                hit = cache.entries.get(key)
                if hit is not None and hit[1] > now:
                    m["authorization.cache_hit"] += 1
                    m["authorization.allow" if hit[0] else "authorization.deny"] += 1
                    return hit[0]
                m["authorization.cache_miss"] += 1
        else:
            cache = None
        allowed = (self._evaluate(who, action, topic, qos, retain) or no_match) == "allow"
        if cache is not None:
            cache.put(key, allowed, now, s.cache_ttl, s.cache_max_size)
        m["authorization.allow" if allowed else "authorization.deny"] += 1
        return allowed

    def _excluded(self, topic: str) -> bool:
        return any(topic_matches(f, topic) for f in self.settings.cache_excludes)

    def _evaluate(self, who: Identity, action: str, topic: str, qos: int, retain: bool) -> str | None:
        client = ClientFacts(who.clientid, who.username, who.peerhost)
        real = parse_share(topic)[1] if action == SUBSCRIBE else topic
        for src in self.sources:
            if not src.enable:
                continue
            verdict = src.check(client, action, topic, real, qos, retain)
            c = src.metrics.counts
            c["total"] += 1
            c["nomatch" if verdict is None else verdict] += 1
            if verdict is not None:
                return verdict
        return None

    def tick(self, now: float) -> None:
        for src in self.sources:
            src.metrics.tick(now)

    # ------------------------------------------------------------------ settings and sources

    def _changed(self) -> None:
        self._refresh()
        self._emit("authz.config", settings=attrs.evolve(self.settings), sources=self.stored_sources())

    def stored_sources(self) -> list[AuthzSource]:
        """The sources as the state database keeps them: a file source's text only if an API set it."""
        out = []
        for src in self.sources:
            cfg = src.config()
            if isinstance(src, FileSource) and not src.from_api:
                cfg.rules = None
            out.append(cfg)
        return out

    def set_settings(self, settings: AuthzSettings) -> None:
        check_settings(settings)
        self.settings = attrs.evolve(settings, cache_excludes=list(settings.cache_excludes))
        self._changed()

    def source(self, source_type: str) -> Source:
        src = next((s for s in self.sources if s.type == source_type), None)
        if src is None:
            raise _not_found(source_type)
        return src

    def builtin(self) -> BuiltinSource:
        src = self.source("built_in_database")
        assert isinstance(src, BuiltinSource)
        return src

    def status(self, source_type: str) -> AuthStatus:
        return self.source(source_type).metrics.status()

    def _make(self, cfg: AuthzSource) -> Source:
        if cfg.type not in AUTHZ_SOURCE_TYPES:
            raise NotSupported(
                f"authorization source type {cfg.type!r} is not supported; one of file, built_in_database", kind=KIND
            )
        if cfg.type == "file":
            if cfg.rules is None:
                raise InvalidArgument("a file source needs its rules text", field="rules")
            return FileSource(cfg.enable, cfg.rules, parse_rules_text(cfg.rules), from_api=True)
        if cfg.max_rules < 1:
            raise InvalidArgument("max_rules must be 1 or more", field="max_rules")
        return BuiltinSource(cfg.enable, cfg.max_rules, self.db)

    def create_source(self, cfg: AuthzSource) -> None:
        """A new source goes first, as in EMQX 5; one per type (Conflict)."""
        src = self._make(cfg)
        if any(s.type == cfg.type for s in self.sources):
            raise Conflict(f"{cfg.type} source already exists", kind=KIND)
        self.sources.insert(0, src)
        self._changed()

    def update_source(self, source_type: str, cfg: AuthzSource) -> None:
        old = self.source(source_type)
        if cfg.type != source_type:
            raise InvalidArgument("Type mismatch", field="type")
        new = self._make(cfg)
        self.sources[self.sources.index(old)] = new
        new.metrics = old.metrics
        self._changed()

    def delete_source(self, source_type: str) -> None:
        """Remove a source from the chain; the built-in database keeps its rules (purge them apart)."""
        self.sources.remove(self.source(source_type))
        self._changed()

    def move_source(self, source_type: str, position: str) -> None:
        self.sources = auth_order.move(self.sources, lambda s: s.type, source_type, position, KIND)
        self._changed()

    def reorder_sources(self, types: Sequence[str]) -> None:
        self.sources = auth_order.reorder(self.sources, lambda s: s.type, types, "Authorization sources")
        self._changed()

    # ------------------------------------------------------------------ the built-in rule database

    def rules(self, who_type: str, who: str) -> AuthzRuleSet:
        self.builtin()
        check_who(who_type, who)
        found = self.db.get(who_type, who)
        if found is None:
            # field "who": the record is missing, not the source (the dialects answer the two apart).
            raise NotFound(f"{_OWNER[who_type]} '{who}' not found", kind="authz_rules", field="who")
        return found

    def _compiled(self, rs: AuthzRuleSet) -> tuple:
        check_who(rs.who_type, rs.who)
        limit = self.builtin().max_rules
        if len(rs.rules) > limit:
            raise LimitExceeded(
                f"The rules length of {_OWNER[rs.who_type]} '{rs.who}' exceeds the maximum limit.", kind="authz_rules"
            )
        return tuple(compile_rule(r) for r in rs.rules)

    def add_rule_sets(self, rule_sets: Sequence[AuthzRuleSet]) -> None:
        """New records, all or none: Conflict if any of them exists already."""
        compiled = [self._compiled(rs) for rs in rule_sets]
        for rs in rule_sets:
            if self.db.get(rs.who_type, rs.who) is not None:
                raise Conflict(f"{_OWNER[rs.who_type]} '{rs.who}' already exist", kind="authz_rules")
        for rs, c in zip(rule_sets, compiled, strict=True):
            self._store(rs, c)
        self._refresh()

    def put_rule_set(self, rs: AuthzRuleSet) -> None:
        """Create or replace one record (an empty list keeps an empty record, as EMQX does)."""
        self._store(rs, self._compiled(rs))
        self._refresh()

    def _store(self, rs: AuthzRuleSet, compiled: tuple) -> None:
        self.db.put(rs, compiled)
        self._emit("authz.rules", rule_set=attrs.evolve(rs, rules=list(rs.rules)))

    def delete_rule_set(self, who_type: str, who: str) -> None:
        self.rules(who_type, who)
        self.db.delete(who_type, who)
        self._emit("authz.rules_deleted", who_type=who_type, who=who)
        self._refresh()

    def purge_rules(self) -> None:
        if self.builtin().enable:
            raise InvalidArgument("'built_in_database' type source must be disabled before purge.", field="enable")
        self.db.clear()
        self._emit("authz.rules_purged")
        self._refresh()

    # ------------------------------------------------------------------ caches

    def invalidate_caches(self) -> None:
        self.generation += 1

    def cache_of(self, holder: object) -> list[AuthzCacheEntry]:
        cache = getattr(holder, "authz_cache", None)
        if cache is None or cache.generation != self.generation:
            return []
        return cache.listing(time.monotonic())

    def clean_cache(self, holder: object, topic: str | None = None) -> None:
        """Drop a connection's cache, or only its entries for ``topic`` (EMQ 2.x cleans one topic)."""
        cache = getattr(holder, "authz_cache", None)
        if cache is None:
            return
        if topic is None:
            holder.authz_cache = None  # type: ignore[attr-defined]
        else:
            cache.drop_topic(topic)

    # ------------------------------------------------------------------ start

    def restore(
        self, settings: AuthzSettings | None, sources: Sequence[AuthzSource] | None, rule_sets: Sequence[AuthzRuleSet]
    ) -> None:
        """What the state database kept; a file source without a text keeps the acl_file's."""
        if settings is not None:
            self.settings = settings
        if sources is not None:
            file_now = next((s for s in self.sources if isinstance(s, FileSource)), None)
            restored: list[Source] = []
            for cfg in sources:
                if cfg.type == "file" and cfg.rules is None:
                    text, rules = (file_now.text, file_now.rules) if file_now else ("", AclRules())
                    restored.append(FileSource(cfg.enable, text, rules, from_api=False))
                else:
                    restored.append(self._make(cfg))
            self.sources = restored
        self.db.load(rule_sets)
        self._refresh()
