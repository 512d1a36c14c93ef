"""The built-in rule database (EMQX 5's ``built_in_database`` authorization source, EMQX 4's mnesia ACL):
one ordered list of rules per client id, per username, and one for all clients.

A rule is EMQX 5's: a topic (``eq <filter>`` for the literal; ``${clientid}`` / ``${username}``, and EMQX
4's ``%c`` / ``%u`` as a whole level, are the client's own), ``allow`` or ``deny``, the action
(publish, subscribe or all), the QoS levels it covers and, for publish, whether it covers retained
messages (None: both). A check asks the client's client-id record, then its username record, then the
one for all; within a record the first rule that matches decides. Topics match as in the ACL file
(``broker.acl``: the same placeholders, ``$share`` prefixes and coverage of a subscription filter).

A record indexes its rules by the literal first level of their topic, so a check (a cache miss) tries
only the rules that could match the request's first level, plus those whose first level is a wildcard,
a placeholder or an ``eq`` literal, in their order: a record of EMQX's 100 rules costs a few rule tests.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import attrs

from schemas.errors import InvalidArgument
from schemas.records import AUTHZ_ACTIONS, AUTHZ_WHO_TYPES, AuthzRule, AuthzRuleSet

from .acl import ALL, PUBLISH, AclSyntaxError, ClientFacts, Topic, TopicFilter, compile_topic

PERMISSIONS = ("allow", "deny")
QOS_LEVELS = frozenset((0, 1, 2))


@attrs.frozen
class CompiledRule:
    permission: str
    action: str
    topic: Topic
    qos: frozenset[int]
    retain: bool | None

    def matches(self, client: ClientFacts, action: str, topic: str, real: str, qos: int, retain: bool) -> bool:
        if self.action != ALL and self.action != action:
            return False
        if qos not in self.qos:
            return False
        # Retain is a property of a published message; EMQX ignores it for subscriptions.
        if action == PUBLISH and self.retain is not None and self.retain != retain:
            return False
        return self.topic.matches(client, action, topic, real)

    @property
    def first_level(self) -> str | None:
        """The literal first level every topic this rule matches starts with; None when it has none."""
        t = self.topic
        if not isinstance(t, TopicFilter):
            return None  # an eq literal: compared whole
        head = t.filter if t.parts is None else t.parts[0]
        if not isinstance(head, str) or (t.parts is not None and "/" not in head):
            return None  # a placeholder in the first level
        first = head.partition("/")[0]
        return None if first in ("+", "#") else first


class _Record:
    """One record's rules, compiled and indexed by their first level (see the module docstring)."""

    __slots__ = ("rules", "compiled", "by_level", "anywhere")

    def __init__(self, rules: list[AuthzRule], compiled: tuple[CompiledRule, ...]) -> None:
        self.rules = rules
        self.compiled = compiled
        self.by_level: dict[str, list[int]] = {}
        self.anywhere: list[int] = []
        for i, rule in enumerate(compiled):
            first = rule.first_level
            if first is None:
                self.anywhere.append(i)
            else:
                self.by_level.setdefault(first, []).append(i)

    def candidates(self, first: str) -> list[CompiledRule]:
        hits = self.by_level.get(first)
        if not hits:
            order = self.anywhere
        elif not self.anywhere:
            order = hits
        else:
            order = sorted(hits + self.anywhere)
        compiled = self.compiled
        return [compiled[i] for i in order]


def compile_rule(rule: AuthzRule) -> CompiledRule:
    """The one validation of a rule, for every door; InvalidArgument (field "rules") says what is wrong."""
    if rule.permission not in PERMISSIONS:
        raise InvalidArgument(f"permission must be allow or deny, not {rule.permission!r}", field="rules")
    if rule.action not in AUTHZ_ACTIONS:
        raise InvalidArgument(f"action must be publish, subscribe or all, not {rule.action!r}", field="rules")
    if not set(rule.qos) <= QOS_LEVELS:
        raise InvalidArgument(f"qos must be a list of 0, 1 and 2, not {rule.qos!r}", field="rules")
    try:
        topic = compile_topic(rule.topic)
    except AclSyntaxError as e:
        raise InvalidArgument(f"bad topic {rule.topic!r}: {e.reason}", field="rules") from None
    return CompiledRule(rule.permission, rule.action, topic, frozenset(rule.qos), rule.retain)


def check_who(who_type: str, who: str) -> None:
    if who_type not in AUTHZ_WHO_TYPES:
        raise InvalidArgument(f"rules are for a clientid, a username or all, not {who_type!r}", field="who_type")
    if (who_type == "all") != (who == ""):
        raise InvalidArgument(f"a {who_type} record needs {'no' if who_type == 'all' else 'a'} name", field="who")


class RuleDatabase:
    def __init__(self) -> None:
        self._records: dict[tuple[str, str], _Record] = {}
        self._sorted: dict[str, list[str]] = {"clientid": [], "username": []}

    def __len__(self) -> int:
        """Records, as EMQX counts them for ``emqx_authz_rules_count``."""
        return len(self._records)

    def get(self, who_type: str, who: str) -> AuthzRuleSet | None:
        found = self._records.get((who_type, who))
        if found is None:
            return None
        return AuthzRuleSet(who_type=who_type, who=who, rules=[attrs.evolve(r) for r in found.rules])

    def put(self, rule_set: AuthzRuleSet, compiled: tuple[CompiledRule, ...]) -> None:
        key = (rule_set.who_type, rule_set.who)
        if key not in self._records and rule_set.who_type != "all":
            bisect.insort(self._sorted[rule_set.who_type], rule_set.who)
        self._records[key] = _Record([attrs.evolve(r) for r in rule_set.rules], compiled)

    def delete(self, who_type: str, who: str) -> bool:
        if self._records.pop((who_type, who), None) is None:
            return False
        if who_type != "all":
            ids = self._sorted[who_type]
            del ids[bisect.bisect_left(ids, who)]
        return True

    def clear(self) -> None:
        self._records.clear()
        for ids in self._sorted.values():
            ids.clear()

    def load(self, rule_sets: Iterable[AuthzRuleSet]) -> None:
        """Replace everything (a restore); the rules were validated when they were stored."""
        self.clear()
        for rs in rule_sets:
            self.put(rs, tuple(compile_rule(r) for r in rs.rules))

    def records(self) -> Iterable[AuthzRuleSet]:
        for who_type, who in self._records:
            found = self.get(who_type, who)
            assert found is not None
            yield found

    def query(
        self, who_type: str, like: str | None, offset: int, limit: int
    ) -> tuple[list[AuthzRuleSet], int | None, bool]:
        """A page of one kind's records in ascending name order; no total with a substring filter (EMQX)."""
        names = self._sorted[who_type]
        if like is not None:
            names = [n for n in names if like in n]
        page = [self.get(who_type, n) for n in names[offset : offset + limit]]
        total = None if like is not None else len(names)
        return [p for p in page if p is not None], total, offset + limit < len(names)

    def check(self, client: ClientFacts, action: str, topic: str, real: str, qos: int, retain: bool) -> str | None:
        records = self._records
        keys = [("clientid", client.clientid)]
        if client.username is not None:
            keys.append(("username", client.username))
        keys.append(("all", ""))
        first = real.partition("/")[0]
        for key in keys:
            found = records.get(key)
            if found is None:
                continue
            for rule in found.candidates(first):
                if rule.matches(client, action, topic, real, qos, retain):
                    return rule.permission
        return None
