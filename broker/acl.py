"""Authorization rules in EMQX's ``acl.conf`` form: parse once, then answer allow / deny / no match.

The file is a sequence of Erlang terms, each ending in ``.``; ``%`` starts a comment (``%%`` by custom)::

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
from typing import Union

import attrs

from .errors import MQTTError
from .topics import filter_covers, parse_share, topic_matches, validate_topic_filter

ALLOW = "allow"
DENY = "deny"
PUBLISH = "publish"
SUBSCRIBE = "subscribe"
ALL = "all"


class AclSyntaxError(ValueError):
    """A rules file that cannot be used; the message starts with ``source:line:``."""

    def __init__(self, message: str, *, source: str = "<acl>", line: int = 0):
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line
        self.reason = message


# -- the client being checked -------------------------------------------------------------------------

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_UNPARSED = object()


class _Client:
    """The facts a rule may ask about, with the peer address parsed at most once per check."""

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
    def matches(self, client: _Client) -> bool:
        return True


@attrs.frozen
class WhoUsername:
    """``equals`` compared exactly, or ``pattern`` searched; a client without a username never matches."""

    equals: str | None = None
    pattern: re.Pattern[str] | None = None

    def matches(self, client: _Client) -> bool:
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

    def matches(self, client: _Client) -> bool:
        if self.pattern is not None:
            return self.pattern.search(client.clientid) is not None
        return client.clientid == self.equals


@attrs.frozen
class WhoIpaddr:
    """``{ipaddr, ...}`` and ``{ipaddrs, [...]}``: the peer is in one of the networks (a host is a /32 or /128)."""

    networks: tuple[IPNetwork, ...]

    def matches(self, client: _Client) -> bool:
        ip = client.ip
        # Membership across IPv4 / IPv6 is simply False, so mixed lists need no care.
        return ip is not None and any(ip in net for net in self.networks)


@attrs.frozen
class WhoAnd:
    items: tuple["Who", ...]

    def matches(self, client: _Client) -> bool:
        return all(w.matches(client) for w in self.items)


@attrs.frozen
class WhoOr:
    items: tuple["Who", ...]

    def matches(self, client: _Client) -> bool:
        return any(w.matches(client) for w in self.items)


Who = Union[WhoAll, WhoUsername, WhoClientid, WhoIpaddr, WhoAnd, WhoOr]


# -- Topics -------------------------------------------------------------------------------------------


class Var(enum.Enum):
    CLIENTID = "clientid"
    USERNAME = "username"


@attrs.frozen
class TopicFilter:
    """A rule filter as written, and its pieces when it holds placeholders (else ``parts`` is None)."""

    filter: str
    parts: tuple[str | Var, ...] | None = None

    def render(self, client: _Client) -> str | None:
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

    def matches(self, client: _Client, action: str, topic: str, real: str) -> bool:
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

    def matches(self, client: _Client, action: str, topic: str, real: str) -> bool:
        return topic == self.value or real == self.value


Topic = Union[TopicFilter, TopicEq]


# -- Rules --------------------------------------------------------------------------------------------


@attrs.frozen
class AclRule:
    permission: str  # ALLOW | DENY
    who: Who
    action: str  # PUBLISH | SUBSCRIBE | ALL ("pubsub" is stored as ALL)
    topics: tuple[Topic, ...] | None  # None: every topic (the {allow, all} / {deny, all} forms)
    line: int = 0
    source: str = "<acl>"

    def matches(self, client: _Client, action: str, topic: str, real: str) -> bool:
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

    def check(
        self, *, clientid: str, username: str | None, peerhost: str, action: str, topic: str
    ) -> str | None:
        """``"allow"`` / ``"deny"`` from the first rule that matches, or None when none does.

        ``topic`` is the topic name for ``action="publish"`` and the requested filter (possibly shared)
        for ``action="subscribe"``.
        """
        if action != PUBLISH and action != SUBSCRIBE:
            raise ValueError(f"action must be 'publish' or 'subscribe', not {action!r}")
        real = parse_share(topic)[1] if action == SUBSCRIBE else topic
        client = _Client(clientid, username, peerhost)
        for rule in self.rules:
            if rule.matches(client, action, topic, real):
                return rule.permission
        return None


# -- Reading Erlang terms -----------------------------------------------------------------------------
# Only what acl.conf uses: atoms (bare or quoted), strings, integers, tuples and lists. Anything else is an error
# rather than a guess, so a file accepted here means the same to EMQX.


@attrs.frozen
class _Atom:
    name: str
    line: int


@attrs.frozen
class _Str:
    value: str
    line: int


@attrs.frozen
class _Int:
    value: int
    line: int


@attrs.frozen
class _Tuple:
    items: tuple["_Term", ...]
    line: int


@attrs.frozen
class _List:
    items: tuple["_Term", ...]
    line: int


_Term = Union[_Atom, _Str, _Int, _Tuple, _List]

_SPACE = re.compile(r"[ \t\r\f\v]+")
_ATOM = re.compile(r"[a-z][A-Za-z0-9_@]*")
_INT = re.compile(r"[0-9]+")
_PUNCT = "{}[],."
# Erlang's string escapes; anything else after a backslash is rejected, because Erlang would silently
# drop the backslash (so "\." in a regex would turn into ".").
_ESCAPES = {
    "b": "\b", "d": "\x7f", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r", "s": " ", "t": "\t",
    "v": "\v", "\\": "\\", '"': '"', "'": "'",
}
_OCTAL = re.compile(r"[0-7]{1,3}")
_HEX2 = re.compile(r"[0-9a-fA-F]{2}")
_HEXBRACE = re.compile(r"\{([0-9a-fA-F]+)\}")


class _Reader:
    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.pos = 0
        self.line = 1

    def error(self, message: str, line: int | None = None) -> AclSyntaxError:
        return AclSyntaxError(message, source=self.source, line=self.line if line is None else line)

    # tokens: (kind, value, line); kind is "atom", "str", "int", one of _PUNCT, or "eof"
    def token(self) -> tuple[str, str, int]:
        text = self.text
        while True:
            m = _SPACE.match(text, self.pos)
            if m:
                self.pos = m.end()
            if self.pos >= len(text):
                return "eof", "", self.line
            ch = text[self.pos]
            if ch == "\n":
                self.line += 1
                self.pos += 1
            elif ch == "%":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break
        line = self.line
        if ch in _PUNCT:
            self.pos += 1
            return ch, ch, line
        if ch == '"':
            return "str", self.quoted('"'), line
        if ch == "'":
            return "atom", self.quoted("'"), line
        m = _ATOM.match(text, self.pos)
        if m:
            self.pos = m.end()
            return "atom", m.group(), line
        m = _INT.match(text, self.pos)
        if m:
            self.pos = m.end()
            return "int", m.group(), line
        if ch.isupper() or ch == "_":
            raise self.error(f"unexpected {ch!r}: Erlang variables are not allowed; write strings in double quotes")
        raise self.error(f"unexpected character {ch!r}")

    def quoted(self, quote: str) -> str:
        text = self.text
        start_line = self.line
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(text):
                kind = "string" if quote == '"' else "quoted atom"
                raise self.error(f"unterminated {kind}", start_line)
            ch = text[self.pos]
            self.pos += 1
            if ch == quote:
                return "".join(out)
            if ch == "\n":
                self.line += 1
            if ch != "\\":
                out.append(ch)
                continue
            out.append(self.escape())

    def escape(self) -> str:
        text = self.text
        if self.pos >= len(text):
            raise self.error("unterminated string")
        ch = text[self.pos]
        if ch in _ESCAPES:
            self.pos += 1
            return _ESCAPES[ch]
        m = _OCTAL.match(text, self.pos)
        if m:
            self.pos = m.end()
            return chr(int(m.group(), 8))
        if ch == "x":
            m = _HEXBRACE.match(text, self.pos + 1) or _HEX2.match(text, self.pos + 1)
            if m:
                self.pos = m.end()
                return chr(int(m.group(1) if m.re is _HEXBRACE else m.group(), 16))
        if ch == "^" and self.pos + 1 < len(text) and text[self.pos + 1].isalpha():
            self.pos += 2
            return chr(ord(text[self.pos - 1]) & 0x1F)
        raise self.error(
            f"unknown escape '\\{ch}' in string (for a regex backslash write '\\\\{ch}')"
        )

    def terms(self) -> Iterator[_Term]:
        """Top-level terms, each required to end in '.'."""
        while True:
            kind, value, line = self.token()
            if kind == "eof":
                return
            term = self.term(kind, value, line)
            kind, value, end_line = self.token()
            if kind != ".":
                got = "end of file" if kind == "eof" else repr(value)
                raise self.error(f"expected '.' after the rule that starts on line {line}, got {got}", end_line)
            yield term

    def term(self, kind: str, value: str, line: int) -> _Term:
        if kind == "atom":
            return _Atom(value, line)
        if kind == "str":
            return _Str(value, line)
        if kind == "int":
            return _Int(int(value), line)
        if kind == "{":
            return _Tuple(self.sequence("}"), line)
        if kind == "[":
            return _List(self.sequence("]"), line)
        got = "end of file" if kind == "eof" else repr(value)
        raise self.error(f"expected a term, got {got}", line)

    def sequence(self, close: str) -> tuple[_Term, ...]:
        items: list[_Term] = []
        kind, value, line = self.token()
        if kind == close:
            return ()
        while True:
            items.append(self.term(kind, value, line))
            kind, value, line = self.token()
            if kind == close:
                return tuple(items)
            if kind != ",":
                got = "end of file" if kind == "eof" else repr(value)
                raise self.error(f"expected ',' or '{close}', got {got}", line)
            kind, value, line = self.token()


def _show(term: _Term) -> str:
    """A term as it would be written, for error messages."""
    if isinstance(term, _Atom):
        return term.name if _ATOM.fullmatch(term.name) else f"'{term.name}'"
    if isinstance(term, _Str):
        return f'"{term.value}"'
    if isinstance(term, _Int):
        return str(term.value)
    if isinstance(term, _Tuple):
        return "{" + ", ".join(_show(t) for t in term.items) + "}"
    return "[" + ", ".join(_show(t) for t in term.items) + "]"


# -- From terms to rules ------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, source: str):
        self.source = source

    def error(self, message: str, term: _Term) -> AclSyntaxError:
        return AclSyntaxError(message, source=self.source, line=term.line)

    def rule(self, term: _Term) -> AclRule:
        if not isinstance(term, _Tuple):
            raise self.error(f"a rule is a tuple such as {{allow, all, subscribe, [\"t/#\"]}}, not {_show(term)}", term)
        items = term.items
        if not items:
            raise self.error("empty rule {}", term)
        permission = self.permission(items[0])
        if len(items) == 2:
            if not (isinstance(items[1], _Atom) and items[1].name == ALL):
                raise self.error(
                    f"a two-element rule is {{allow, all}} or {{deny, all}}, not {_show(term)}", term
                )
            return AclRule(permission, WhoAll(), ALL, None, term.line, self.source)
        if len(items) != 4:
            raise self.error(
                f"a rule is {{Permission, Who, Action, Topics}} or {{allow|deny, all}}; "
                f"this one has {len(items)} elements: {_show(term)}",
                term,
            )
        return AclRule(
            permission, self.who(items[1]), self.action(items[2]), self.topics(items[3]), term.line, self.source
        )

    def permission(self, term: _Term) -> str:
        if isinstance(term, _Atom) and term.name in (ALLOW, DENY):
            return term.name
        raise self.error(f"a rule starts with allow or deny, not {_show(term)}", term)

    def action(self, term: _Term) -> str:
        if isinstance(term, _Atom):
            if term.name in (PUBLISH, SUBSCRIBE):
                return term.name
            if term.name in ("pubsub", ALL):
                return ALL
        if isinstance(term, _Tuple):
            raise self.error(f"action options such as {_show(term)} are not supported", term)
        raise self.error(f"unknown action {_show(term)}; expected publish, subscribe, pubsub or all", term)

    _WHO_FORMS = (
        'all, {username, "u"}, {clientid, "c"}, {username|clientid, {re, "..."}}, '
        '{ipaddr, "a.b.c.d[/n]"}, {ipaddrs, [...]}, {\'and\', [...]} or {\'or\', [...]}'
    )

    def who(self, term: _Term) -> Who:
        if isinstance(term, _Atom) and term.name == ALL:
            return WhoAll()
        if not (isinstance(term, _Tuple) and len(term.items) == 2 and isinstance(term.items[0], _Atom)):
            raise self.error(f"unknown Who {_show(term)}; expected {self._WHO_FORMS}", term)
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
        raise self.error(f"unknown Who {_show(term)}; expected {self._WHO_FORMS}", term)

    def name_or_regex(self, kind: str, arg: _Term) -> tuple[str | None, re.Pattern[str] | None]:
        if isinstance(arg, _Str):
            return arg.value, None
        if (
            isinstance(arg, _Tuple) and len(arg.items) == 2
            and isinstance(arg.items[0], _Atom) and arg.items[0].name == "re"
            and isinstance(arg.items[1], _Str)
        ):
            try:
                return None, re.compile(arg.items[1].value)
            except re.error as e:
                raise self.error(f"bad regular expression {_show(arg.items[1])}: {e}", arg) from None
        raise self.error(f'{{{kind}, ...}} takes a string or {{re, "regex"}}, not {_show(arg)}', arg)

    def nonempty_list(self, kind: str, arg: _Term) -> tuple[_Term, ...]:
        if not isinstance(arg, _List):
            raise self.error(f"{{{kind}, ...}} takes a list, not {_show(arg)}", arg)
        if not arg.items:
            # An empty 'and' would match everyone and an empty 'or' no one: both are mistakes.
            raise self.error(f"{{{kind}, []}}: the list must not be empty", arg)
        return arg.items

    def network(self, arg: _Term) -> IPNetwork:
        if not isinstance(arg, _Str):
            raise self.error(f"an IP address is a string such as \"10.0.0.0/8\", not {_show(arg)}", arg)
        try:
            # strict=False: "10.1.2.3/8" means 10.0.0.0/8, as EMQX's CIDR parser reads it.
            return ipaddress.ip_network(arg.value, strict=False)
        except ValueError as e:
            raise self.error(f"bad IP address or CIDR {_show(arg)}: {e}", arg) from None

    def topics(self, term: _Term) -> tuple[Topic, ...]:
        if not isinstance(term, _List):
            raise self.error(f"Topics is a list such as [\"t/#\", {{eq, \"t\"}}], not {_show(term)}", term)
        if not term.items:
            raise self.error("empty topic list: the rule could never match", term)
        return tuple(self.topic(t) for t in term.items)

    def topic(self, term: _Term) -> Topic:
        if isinstance(term, _Str):
            return self.topic_filter(term)
        if (
            isinstance(term, _Tuple) and len(term.items) == 2
            and isinstance(term.items[0], _Atom) and term.items[0].name == "eq"
            and isinstance(term.items[1], _Str)
        ):
            value = term.items[1].value
            self.valid_filter(value, value, term)
            return TopicEq(value)
        raise self.error(f'a topic is a string or {{eq, "..."}}, not {_show(term)}', term)

    def topic_filter(self, term: _Str) -> TopicFilter:
        text = term.value
        if parse_share(text)[0] is not None:
            raise self.error(
                f"{_show(term)}: rules apply to the filter without its $share/$queue prefix; "
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

    def placeholders(self, text: str, term: _Term) -> tuple[str | Var, ...] | None:
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
                        f"unknown placeholder ${{{name}}} in {_show(term)}; "
                        "supported: ${clientid}, ${username}, and %c / %u as a whole level",
                        term,
                    ) from None
                parts.append(level[pos:m.start()])
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

    def valid_filter(self, candidate: str, text: str, term: _Term) -> None:
        try:
            validate_topic_filter(candidate)
        except MQTTError as e:
            raise self.error(f"invalid topic filter {text!r}: {e}", term) from None


# -- Entry points -------------------------------------------------------------------------------------


def parse_acl(text: str, source: str = "<acl>") -> AclRules:
    """Parse the text of an acl.conf; raises AclSyntaxError naming ``source`` and the line."""
    compiler = _Compiler(source)
    rules = tuple(compiler.rule(term) for term in _Reader(text, source).terms())
    return AclRules(rules, source)


def load_acl_file(path: str | os.PathLike[str]) -> AclRules:
    """Read and parse a rules file (UTF-8, as Erlang's file:consult reads it). OSError passes through."""
    source = os.fspath(path)
    with open(source, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise AclSyntaxError("not valid UTF-8", source=source, line=line) from None
    return parse_acl(text, source)
