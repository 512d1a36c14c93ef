"""Authorization rules in EMQX's ``acl.conf`` form: parse once, then answer allow / deny / no match.

The file is a sequence of Erlang terms (read by ``broker.erlang_terms``), each ending in ``.``; ``%`` starts
a comment (``%%`` by custom)::

    {allow, {username, {re, "^dashboard$"}}, subscribe, ["$SYS/#"]}.
    {allow, {ipaddr, "127.0.0.1"}, all, ["$SYS/#", "#"]}.
    {deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.
    {allow, all}.

``{Permission, Who, Action, Topics}`` or the catch-alls ``{allow, all}`` / ``{deny, all}``:

- Permission: ``allow`` | ``deny``.
- Who: ``all`` | ``{username, "u"}`` (alias ``user``) | ``{clientid, "c"}`` (alias ``client``) |
  ``{username | clientid, {re, "regex"}}`` (searched, as EMQX's ``re:run``) | ``{ipaddr, "10.0.0.1"}``
  or a CIDR ``"10.0.0.0/8"`` | ``{ipaddrs, ["...", ...]}`` | ``{'and', [Who, ...]}`` | ``{'or', [Who, ...]}``.
- Action: ``publish`` | ``subscribe`` | ``pubsub`` | ``all`` (the last two mean the same).
- Topics: a list of topic filters and ``{eq, "t/#"}`` literals.

How a rule's topics meet a request (EMQX's semantics unless noted):

- PUBLISH: the topic name must match a rule filter (``topics.topic_matches``) or equal an ``eq`` literal.
- SUBSCRIBE: a ``$share/g/`` or ``$queue/`` prefix is removed first, so a rule about ``t/#`` governs
  ``$share/g/t/#`` too (an ``eq`` literal may also equal the request as sent). Then the rule filter
  must *cover* the requested filter (``topics.filter_covers``): every topic the request can receive
  must be one the rule filter matches. EMQX instead matches the request as if it were a topic name,
  which lets a rule on ``a/+`` grant a subscription to ``a/#``; here it does not.
- The ``$`` rule holds for ACL filters too [MQTT-4.7.2-1]: ``#`` does not reach ``$SYS/...``.
- ``%c`` / ``%u`` as a whole level, and ``${clientid}`` / ``${username}`` anywhere, are replaced by the
  client's values before matching. A topic whose placeholder has no value (no username) or whose value
  holds a wildcard (a username of ``#`` would otherwise widen the rule) does not match. ``eq`` literals
  are never substituted.
- Subscribe rules govern the filter asked for, not the messages later delivered: a deny on
  ``secret/#`` does not stop a permitted ``+/#``. Deny the wide filters too (``{eq, "#"}``).

``AclRules.check`` returns the permission of the first rule that matches, or None when none does;
what None means (EMQX's ``no_match``) is the caller's setting.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import re
from collections.abc import Iterator

import attrs

from schemas.topics import parse_share

from .erlang_terms import Atom, List, Str, Term, TermSyntaxError, Tuple, read_terms, show
from .errors import MQTTError
from .topics import filter_covers, topic_matches, validate_topic_filter

ALLOW = "allow"
DENY = "deny"
PUBLISH = "publish"
SUBSCRIBE = "subscribe"
ALL = "all"


class AclSyntaxError(TermSyntaxError):
    """A rules file that cannot be used; the message starts with ``source:line:``."""


# -- the client being checked -------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_UNPARSED = object()


class ClientFacts:
    """The facts a rule may ask about, with the peer address parsed at most once per check (one check may
    ask several rule sets: ``broker.authz``)."""

    __slots__ = ("clientid", "username", "peerhost", "_ip")

    def __init__(self, clientid: str, username: str | None, peerhost: str):
        self.clientid = clientid
        self.username = username
        self.peerhost = peerhost
        self._ip: object = _UNPARSED

    @property
    def ip(self) -> IPAddress | None:
        if self._ip is _UNPARSED:
            self._ip = _parse_peer(self.peerhost)
        return self._ip  # type: ignore[return-value]


def _parse_peer(peerhost: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(peerhost.strip("[]"))
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; rules are written with a.b.c.d.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


# -- Who ----------------------------------------------------------------------------------------------


@attrs.frozen
class WhoAll:
    def matches(self, client: ClientFacts) -> bool:
        return True


@attrs.frozen
class WhoUsername:
    """``equals`` compared exactly, or ``pattern`` searched; a client without a username never matches."""

    equals: str | None = None
    pattern: re.Pattern[str] | None = None

    def matches(self, client: ClientFacts) -> bool:
        username = client.username
        if username is None:
            return False
        if self.pattern is not None:
            return self.pattern.search(username) is not None
        return username == self.equals


@attrs.frozen
class WhoClientid:
    equals: str | None = None
    pattern: re.Pattern[str] | None = None

    def matches(self, client: ClientFacts) -> bool:
        if self.pattern is not None:
            return self.pattern.search(client.clientid) is not None
        return client.clientid == self.equals


@attrs.frozen
class WhoIpaddr:
    """``{ipaddr, ...}`` and ``{ipaddrs, [...]}``: the peer is in one of the networks (a host is a /32 or /128)."""

    networks: tuple[IPNetwork, ...]

    def matches(self, client: ClientFacts) -> bool:
        ip = client.ip
        # Membership across IPv4 / IPv6 is simply False, so mixed lists need no care.
        return ip is not None and any(ip in net for net in self.networks)


@attrs.frozen
class WhoAnd:
    items: tuple[Who, ...]

    def matches(self, client: ClientFacts) -> bool:
        return all(w.matches(client) for w in self.items)


@attrs.frozen
class WhoOr:
    items: tuple[Who, ...]

    def matches(self, client: ClientFacts) -> bool:
        return any(w.matches(client) for w in self.items)


Who = WhoAll | WhoUsername | WhoClientid | WhoIpaddr | WhoAnd | WhoOr


# -- Topics -------------------------------------------------------------------------------------------


class Var(enum.Enum):
    CLIENTID = "clientid"
    USERNAME = "username"


@attrs.frozen
class TopicFilter:
    """A rule filter as written, and its pieces when it holds placeholders (else ``parts`` is None)."""

    filter: str
    parts: tuple[str | Var, ...] | None = None

    def render(self, client: ClientFacts) -> str | None:
        if self.parts is None:
            return self.filter
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = client.clientid if part is Var.CLIENTID else client.username
            if value is None or "+" in value or "#" in value:
                return None
            out.append(value)
        return "".join(out)

    def matches(self, client: ClientFacts, action: str, topic: str, real: str) -> bool:
        rule = self.render(client)
        if rule is None:
            return False
        if action == PUBLISH:
            return topic_matches(rule, topic)
        return filter_covers(rule, real)


@attrs.frozen
class TopicEq:
    """``{eq, "t/#"}``: the request is this very string, wildcards and placeholders taken literally."""

    value: str

    def matches(self, client: ClientFacts, action: str, topic: str, real: str) -> bool:
        return topic == self.value or real == self.value


Topic = TopicFilter | TopicEq


# -- Rules --------------------------------------------------------------------------------------------


@attrs.frozen
class AclRule:
    permission: str  # ALLOW | DENY
    who: Who
    action: str  # PUBLISH | SUBSCRIBE | ALL ("pubsub" is stored as ALL)
    topics: tuple[Topic, ...] | None  # None: every topic (the {allow, all} / {deny, all} forms)
    line: int = 0
    source: str = "<acl>"

    def matches(self, client: ClientFacts, action: str, topic: str, real: str) -> bool:
        if self.action != ALL and self.action != action:
            return False
        if not self.who.matches(client):
            return False
        if self.topics is None:
            return True
        return any(t.matches(client, action, topic, real) for t in self.topics)


@attrs.frozen
class AclRules:
    rules: tuple[AclRule, ...] = ()
    source: str = "<acl>"

    def check(self, *, clientid: str, username: str | None, peerhost: str, action: str, topic: str) -> str | None:
        """``"allow"`` / ``"deny"`` from the first rule that matches, or None when none does.

        ``topic`` is the topic name for ``action="publish"`` and the requested filter (possibly shared)
        for ``action="subscribe"``.
        """
        if action != PUBLISH and action != SUBSCRIBE:
            raise ValueError(f"action must be 'publish' or 'subscribe', not {action!r}")
        real = parse_share(topic)[1] if action == SUBSCRIBE else topic
        return self.check_facts(ClientFacts(clientid, username, peerhost), action, topic, real)

    def check_facts(self, client: ClientFacts, action: str, topic: str, real: str) -> str | None:
        """``check`` for a client already described, ``real`` being the topic without a share prefix."""
        for rule in self.rules:
            if rule.matches(client, action, topic, real):
                return rule.permission
        return None


# -- From terms to rules ------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, source: str):
        self.source = source

    def error(self, message: str, term: Term) -> AclSyntaxError:
        return AclSyntaxError(message, source=self.source, line=term.line)

    def rule(self, term: Term) -> AclRule:
        if not isinstance(term, Tuple):
            raise self.error(f'a rule is a tuple such as {{allow, all, subscribe, ["t/#"]}}, not {show(term)}', term)
        items = term.items
        if not items:
            raise self.error("empty rule {}", term)
        permission = self.permission(items[0])
        if len(items) == 2:
            if not (isinstance(items[1], Atom) and items[1].name == ALL):
                raise self.error(f"a two-element rule is {{allow, all}} or {{deny, all}}, not {show(term)}", term)
            return AclRule(permission, WhoAll(), ALL, None, term.line, self.source)
        if len(items) != 4:
            raise self.error(
                f"a rule is {{Permission, Who, Action, Topics}} or {{allow|deny, all}}; "
                f"this one has {len(items)} elements: {show(term)}",
                term,
            )
        return AclRule(
            permission, self.who(items[1]), self.action(items[2]), self.topics(items[3]), term.line, self.source
        )

    def permission(self, term: Term) -> str:
        if isinstance(term, Atom) and term.name in (ALLOW, DENY):
            return term.name
        raise self.error(f"a rule starts with allow or deny, not {show(term)}", term)

    def action(self, term: Term) -> str:
        if isinstance(term, Atom):
            if term.name in (PUBLISH, SUBSCRIBE):
                return term.name
            if term.name in ("pubsub", ALL):
                return ALL
        if isinstance(term, Tuple):
            raise self.error(f"action options such as {show(term)} are not supported", term)
        raise self.error(f"unknown action {show(term)}; expected publish, subscribe, pubsub or all", term)

    _WHO_FORMS = (
        'all, {username, "u"}, {clientid, "c"}, {username|clientid, {re, "..."}}, '
        "{ipaddr, \"a.b.c.d[/n]\"}, {ipaddrs, [...]}, {'and', [...]} or {'or', [...]}"
    )

    def who(self, term: Term) -> Who:
        if isinstance(term, Atom) and term.name == ALL:
            return WhoAll()
        if not (isinstance(term, Tuple) and len(term.items) == 2 and isinstance(term.items[0], Atom)):
            raise self.error(f"unknown Who {show(term)}; expected {self._WHO_FORMS}", term)
        kind, arg = term.items[0].name, term.items[1]  # type: ignore[union-attr]
        if kind in ("username", "user"):
            equals, pattern = self.name_or_regex(kind, arg)
            return WhoUsername(equals, pattern)
        if kind in ("clientid", "client"):
            equals, pattern = self.name_or_regex(kind, arg)
            return WhoClientid(equals, pattern)
        if kind == "ipaddr":
            return WhoIpaddr((self.network(arg),))
        if kind == "ipaddrs":
            return WhoIpaddr(tuple(self.network(a) for a in self.nonempty_list(kind, arg)))
        if kind in ("and", "or"):
            items = tuple(self.who(a) for a in self.nonempty_list(f"'{kind}'", arg))
            return WhoAnd(items) if kind == "and" else WhoOr(items)
        raise self.error(f"unknown Who {show(term)}; expected {self._WHO_FORMS}", term)

    def name_or_regex(self, kind: str, arg: Term) -> tuple[str | None, re.Pattern[str] | None]:
        if isinstance(arg, Str):
            return arg.value, None
        if (
            isinstance(arg, Tuple)
            and len(arg.items) == 2
            and isinstance(arg.items[0], Atom)
            and arg.items[0].name == "re"
            and isinstance(arg.items[1], Str)
        ):
            try:
                return None, re.compile(arg.items[1].value)
            except re.error as e:
                raise self.error(f"bad regular expression {show(arg.items[1])}: {e}", arg) from None
        raise self.error(f'{{{kind}, ...}} takes a string or {{re, "regex"}}, not {show(arg)}', arg)

    def nonempty_list(self, kind: str, arg: Term) -> tuple[Term, ...]:
        if not isinstance(arg, List):
            raise self.error(f"{{{kind}, ...}} takes a list, not {show(arg)}", arg)
        if not arg.items:
            # An empty 'and' would match everyone and an empty 'or' no one: both are mistakes.
            raise self.error(f"{{{kind}, []}}: the list must not be empty", arg)
        return arg.items

    def network(self, arg: Term) -> IPNetwork:
        if not isinstance(arg, Str):
            raise self.error(f'an IP address is a string such as "10.0.0.0/8", not {show(arg)}', arg)
        try:
            # strict=False: "10.1.2.3/8" means 10.0.0.0/8, as EMQX's CIDR parser reads it.
            return ipaddress.ip_network(arg.value, strict=False)
        except ValueError as e:
            raise self.error(f"bad IP address or CIDR {show(arg)}: {e}", arg) from None

    def topics(self, term: Term) -> tuple[Topic, ...]:
        if not isinstance(term, List):
            raise self.error(f'Topics is a list such as ["t/#", {{eq, "t"}}], not {show(term)}', term)
        if not term.items:
            raise self.error("empty topic list: the rule could never match", term)
        return tuple(self.topic(t) for t in term.items)

    def topic(self, term: Term) -> Topic:
        if isinstance(term, Str):
            return self.topic_filter(term)
        if (
            isinstance(term, Tuple)
            and len(term.items) == 2
            and isinstance(term.items[0], Atom)
            and term.items[0].name == "eq"
            and isinstance(term.items[1], Str)
        ):
            value = term.items[1].value
            self.valid_filter(value, value, term)
            return TopicEq(value)
        raise self.error(f'a topic is a string or {{eq, "..."}}, not {show(term)}', term)

    def topic_filter(self, term: Str) -> TopicFilter:
        text = term.value
        if parse_share(text)[0] is not None:
            raise self.error(
                f"{show(term)}: rules apply to the filter without its $share/$queue prefix; "
                "write the plain filter, or {eq, ...} for the literal",
                term,
            )
        parts = self.placeholders(text, term)
        if parts is None:
            self.valid_filter(text, text, term)
            return TopicFilter(text)
        # Check the shape with each placeholder standing for one plain level.
        self.valid_filter("".join(p if isinstance(p, str) else "x" for p in parts), text, term)
        return TopicFilter(text, parts)

    _PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
    _LEVEL_VARS = {"%c": Var.CLIENTID, "%u": Var.USERNAME}

    def placeholders(self, text: str, term: Term) -> tuple[str | Var, ...] | None:
        if "%" not in text and "${" not in text:
            return None
        parts: list[str | Var] = []
        found = False
        for i, level in enumerate(text.split("/")):
            if i:
                parts.append("/")
            # EMQX 4 substitutes %c / %u only when they are a whole level.
            if level in self._LEVEL_VARS:
                parts.append(self._LEVEL_VARS[level])
                found = True
                continue
            pos = 0
            for m in self._PLACEHOLDER.finditer(level):
                name = m.group(1)
                try:
                    var = Var(name)
                except ValueError:
                    raise self.error(
                        f"unknown placeholder ${{{name}}} in {show(term)}; "
                        "supported: ${clientid}, ${username}, and %c / %u as a whole level",
                        term,
                    ) from None
                parts.append(level[pos : m.start()])
                parts.append(var)
                pos = m.end()
                found = True
            parts.append(level[pos:])
        if not found:
            return None
        merged: list[str | Var] = []
        for p in parts:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] += p
            elif p != "":
                merged.append(p)
        return tuple(merged)

    def valid_filter(self, candidate: str, text: str, term: Term) -> None:
        try:
            validate_topic_filter(candidate)
        except MQTTError as e:
            raise self.error(f"invalid topic filter {text!r}: {e}", term) from None


# -- Entry points -------------------------------------------------------------------------------------


def parse_acl(text: str, source: str = "<acl>") -> AclRules:
    """Parse the text of an acl.conf; raises AclSyntaxError naming ``source`` and the line."""
    compiler = _Compiler(source)
    rules = tuple(compiler.rule(term) for term in _acl_terms(text, source))
    return AclRules(rules, source)


def _acl_terms(text: str, source: str) -> Iterator[Term]:
    """The file's terms, with a syntax error reported as the ACL's own."""
    try:
        yield from read_terms(text, source)
    except TermSyntaxError as e:
        raise AclSyntaxError(e.reason, source=e.source, line=e.line) from None


def compile_topic(text: str) -> Topic:
    """One rule topic written as a string, as EMQX 5's built-in rules write them: ``eq <filter>`` is the
    literal, anything else a filter with the placeholders above. AclSyntaxError (``reason``) if unusable."""
    compiler = _Compiler("<rule>")
    if text.startswith("eq "):
        term = Str(text[3:], 0)
        compiler.valid_filter(term.value, term.value, term)
        return TopicEq(term.value)
    return compiler.topic_filter(Str(text, 0))


def read_acl_text(path: str | os.PathLike[str]) -> str:
    """A rules file's text (UTF-8, as Erlang's file:consult reads it). OSError passes through."""
    source = os.fspath(path)
    with open(source, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise AclSyntaxError("not valid UTF-8", source=source, line=line) from None


def load_acl_file(path: str | os.PathLike[str]) -> AclRules:
    """Read and parse a rules file. OSError passes through."""
    return parse_acl(read_acl_text(path), os.fspath(path))
