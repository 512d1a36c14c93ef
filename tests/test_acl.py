"""acl.conf rules: every Who / Action / Topics form, placeholders, first-match order and syntax errors."""

import ipaddress
import pathlib

import pytest

from broker.acl import (
    AclRule,
    AclRules,
    AclSyntaxError,
    TopicEq,
    TopicFilter,
    Var,
    WhoAll,
    WhoAnd,
    WhoClientid,
    WhoIpaddr,
    WhoOr,
    WhoUsername,
    load_acl_file,
    parse_acl,
)

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "acl.conf"


def check(rules, action="publish", topic="t", clientid="c1", username="u1", peerhost="192.0.2.1"):
    if isinstance(rules, str):
        rules = parse_acl(rules)
    return rules.check(clientid=clientid, username=username, peerhost=peerhost, action=action, topic=topic)


# -- the parsed records -------------------------------------------------------------------------------


def test_parse_records():
    rules = parse_acl(
        """
        {allow, all}.
        {deny, {user, "u"}, pubsub, ["a/#", {eq, "b"}]}.
        {allow, {clientid, {re, "^x"}}, subscribe, ["d/%c"]}.
        """,
        "f.conf",
    )
    assert isinstance(rules, AclRules) and rules.source == "f.conf"
    r0, r1, r2 = rules.rules
    assert r0 == AclRule("allow", WhoAll(), "all", None, 2, "f.conf")
    assert r1.permission == "deny" and r1.who == WhoUsername("u") and r1.action == "all"
    assert r1.topics == (TopicFilter("a/#"), TopicEq("b")) and r1.line == 3
    assert isinstance(r2.who, WhoClientid) and r2.who.pattern.pattern == "^x"
    assert r2.topics == (TopicFilter("d/%c", ("d/", Var.CLIENTID)),)
    with pytest.raises(AttributeError):
        _ = r0.__dict__  # slots


def test_empty_file_and_comments_only():
    assert parse_acl("").rules == ()
    assert parse_acl("%% nothing\n   % here\n").rules == ()
    assert check("") is None


def test_example_file_loads_and_behaves():
    rules = load_acl_file(EXAMPLE)
    assert rules.source == str(EXAMPLE) and len(rules.rules) == 8
    # dashboard may read $SYS; others may not; localhost may do anything
    assert check(rules, "subscribe", "$SYS/#", username="dashboard") == "allow"
    assert check(rules, "subscribe", "$SYS/#", username="bob") == "deny"
    assert check(rules, "subscribe", "$SYS/#", peerhost="127.0.0.1") == "allow"
    assert check(rules, "subscribe", "#", peerhost="::ffff:127.0.0.1") == "allow"
    assert check(rules, "subscribe", "#") == "deny"
    # own subtree vs others'
    assert check(rules, "publish", "devices/c1/state", clientid="c1") == "allow"
    assert check(rules, "publish", "devices/c2/state", clientid="c1") == "deny"
    # inbox by username; none without one
    assert check(rules, "subscribe", "users/bob/inbox/#", username="bob") == "allow"
    assert check(rules, "subscribe", "users/bob/inbox/#", username=None) == "allow"  # falls to {allow, all}
    # svc users on the private network
    assert check(rules, "subscribe", "devices/+/telemetry/#", username="svc-x", peerhost="10.1.2.3") == "allow"
    assert check(rules, "publish", "anything") == "allow"


# -- first match, no match -----------------------------------------------------------------------------


def test_first_match_wins_and_none_when_nothing_matches():
    text = '{deny, all, publish, ["a/#"]}.\n{allow, all, publish, ["a/b"]}.\n'
    assert check(text, "publish", "a/b") == "deny"
    assert check(text, "publish", "b") is None
    assert check(text, "subscribe", "a/b") is None
    assert check('{allow, all, publish, ["a/b"]}.\n{deny, all}.', "publish", "a/b") == "allow"
    assert check("{deny, all}.\n{allow, all}.", "subscribe", "x") == "deny"


def test_check_rejects_unknown_action():
    with pytest.raises(ValueError):
        check("{allow, all}.", "pubsub", "a")


# -- Action -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, publish, subscribe",
    [("publish", "allow", None), ("subscribe", None, "allow"), ("pubsub", "allow", "allow"), ("all", "allow", "allow")],
)
def test_actions(action, publish, subscribe):
    text = f'{{allow, all, {action}, ["t"]}}.'
    assert check(text, "publish", "t") == publish
    assert check(text, "subscribe", "t") == subscribe


# -- Who ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw", ["username", "user"])
def test_who_username(kw):
    text = f'{{allow, {{{kw}, "alice"}}, publish, ["t"]}}.'
    assert check(text, username="alice") == "allow"
    assert check(text, username="alice2") is None
    assert check(text, username=None) is None
    assert check(text, username="", clientid="alice") is None


@pytest.mark.parametrize("kw", ["clientid", "client"])
def test_who_clientid(kw):
    text = f'{{allow, {{{kw}, "dev-1"}}, publish, ["t"]}}.'
    assert check(text, clientid="dev-1") == "allow"
    assert check(text, clientid="Dev-1") is None  # case matters
    assert check(text, clientid="x", username="dev-1") is None


def test_who_regex_is_searched():
    text = (
        '{allow, {username, {re, "adm"}}, publish, ["t"]}.\n'
        '{deny, {clientid, {re, "^sensor-\\\\d+$"}}, publish, ["t"]}.'
    )
    assert check(text, username="sysadmin") == "allow"  # search, not match
    assert check(text, username=None, clientid="sensor-42") == "deny"
    assert check(text, username=None, clientid="sensor-x") is None
    assert check(text, username=None, clientid="xsensor-42") is None


@pytest.mark.parametrize(
    "spec, peer, expected",
    [
        ('{ipaddr, "127.0.0.1"}', "127.0.0.1", "allow"),
        ('{ipaddr, "127.0.0.1"}', "127.0.0.2", None),
        ('{ipaddr, "127.0.0.1"}', "::ffff:127.0.0.1", "allow"),  # dual-stack listener
        ('{ipaddr, "10.0.0.0/8"}', "10.200.3.4", "allow"),
        ('{ipaddr, "10.0.0.0/8"}', "11.0.0.1", None),
        ('{ipaddr, "10.9.9.9/8"}', "10.0.0.1", "allow"),  # host bits ignored, as EMQX
        ('{ipaddr, "::1"}', "::1", "allow"),
        ('{ipaddr, "2001:db8::/32"}', "2001:db8:1::5", "allow"),
        ('{ipaddr, "2001:db8::/32"}', "[2001:db8::5]", "allow"),
        ('{ipaddr, "2001:db8::/32"}', "10.0.0.1", None),
        ('{ipaddr, "10.0.0.0/8"}', "not-an-ip", None),
        ('{ipaddr, "10.0.0.0/8"}', "", None),
        ('{ipaddrs, ["192.168.0.0/16", "::1", "10.0.0.1"]}', "10.0.0.1", "allow"),
        ('{ipaddrs, ["192.168.0.0/16", "::1", "10.0.0.1"]}', "::1", "allow"),
        ('{ipaddrs, ["192.168.0.0/16", "::1", "10.0.0.1"]}', "192.168.44.1", "allow"),
        ('{ipaddrs, ["192.168.0.0/16", "::1", "10.0.0.1"]}', "10.0.0.2", None),
    ],
)
def test_who_ipaddr(spec, peer, expected):
    assert check(f'{{allow, {spec}, publish, ["t"]}}.', peerhost=peer) == expected


def test_who_ipaddr_record():
    rules = parse_acl('{allow, {ipaddrs, ["10.0.0.0/8", "::1"]}, publish, ["t"]}.')
    assert rules.rules[0].who == WhoIpaddr((ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")))


def test_who_and_or():
    text = """
    {allow, {'and', [{username, "u"}, {ipaddr, "10.0.0.0/8"}]}, publish, ["and"]}.
    {allow, {'or', [{clientid, "c"}, {username, {re, "^ops-"}}]}, publish, ["or"]}.
    {allow, {'or', [{'and', [{clientid, "x"}, {username, "y"}]}, {clientid, "z"}]}, publish, ["nested"]}.
    """
    rules = parse_acl(text)
    assert isinstance(rules.rules[0].who, WhoAnd) and isinstance(rules.rules[1].who, WhoOr)
    assert check(rules, topic="and", username="u", peerhost="10.1.1.1") == "allow"
    assert check(rules, topic="and", username="u", peerhost="11.1.1.1") is None
    assert check(rules, topic="and", username="v", peerhost="10.1.1.1") is None
    assert check(rules, topic="or", clientid="c", username=None) == "allow"
    assert check(rules, topic="or", clientid="d", username="ops-1") == "allow"
    assert check(rules, topic="or", clientid="d", username="dev") is None
    assert check(rules, topic="nested", clientid="x", username="y") == "allow"
    assert check(rules, topic="nested", clientid="x", username="n") is None
    assert check(rules, topic="nested", clientid="z", username=None) == "allow"


def test_unquoted_and_or_are_accepted():
    assert check('{allow, {or, [{clientid, "c1"}]}, publish, ["t"]}.') == "allow"


# -- Topics: publish ----------------------------------------------------------------------------------


def test_publish_topics_match_filters():
    text = '{allow, all, publish, ["a/+/c", "b/#", "x"]}.'
    assert check(text, topic="a/b/c") == "allow"
    assert check(text, topic="b") == "allow"
    assert check(text, topic="b/1/2") == "allow"
    assert check(text, topic="x") == "allow"
    assert check(text, topic="x/y") is None
    assert check(text, topic="a/b") is None


def test_publish_dollar_rule():
    text = '{deny, all, publish, ["#"]}.\n{allow, all, publish, ["$SYS/#"]}.'
    assert check(text, topic="a") == "deny"
    assert check(text, topic="$SYS/x") == "allow"  # "#" does not reach $SYS [MQTT-4.7.2-1]
    assert check('{deny, all, publish, ["+/x"]}.', topic="$SYS/x") is None


def test_eq_is_literal():
    text = '{deny, all, all, [{eq, "a/#"}, {eq, "d/%c"}]}.'
    assert check(text, "subscribe", "a/#") == "deny"
    assert check(text, "subscribe", "a/b") is None
    assert check(text, "publish", "a/b") is None
    assert check(text, "subscribe", "d/%c", clientid="c1") == "deny"  # never substituted
    assert check(text, "subscribe", "d/c1", clientid="c1") is None


# -- Topics: subscribe --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, requested, expected",
    [
        ("a/#", "a/#", "allow"),
        ("a/#", "a/b", "allow"),
        ("a/#", "a/+/c", "allow"),
        ("a/#", "a", "allow"),
        ("a/+", "a/b", "allow"),
        ("a/+", "a/+", "allow"),
        ("a/+", "a/#", None),  # would hand over a/b/c (EMQX would allow this)
        ("a/b", "a/+", None),
        ("#", "#", "allow"),
        ("#", "+/x", "allow"),
        ("#", "$SYS/#", None),  # [MQTT-4.7.2-1]
        ("$SYS/#", "$SYS/brokers/+/uptime", "allow"),
    ],
)
def test_subscribe_rule_must_cover_request(rule, requested, expected):
    assert check(f'{{allow, all, subscribe, ["{rule}"]}}.', "subscribe", requested) == expected


def test_subscribe_ignores_share_prefix():
    text = '{deny, all, subscribe, ["secret/#"]}.\n{allow, all, subscribe, ["#"]}.'
    assert check(text, "subscribe", "$share/g/secret/x") == "deny"
    assert check(text, "subscribe", "$queue/secret/#") == "deny"
    assert check(text, "subscribe", "$share/g/open/x") == "allow"
    # an eq literal can name the shared form as sent, or the real filter
    text = '{deny, all, subscribe, [{eq, "$share/g/#"}, {eq, "#"}]}.'
    assert check(text, "subscribe", "$share/g/#") == "deny"
    assert check(text, "subscribe", "$share/h/#") == "deny"  # via its real filter "#"
    assert check(text, "subscribe", "$share/h/x") is None


def test_default_emqx_rules():
    text = """
    {allow, {username, {re, "^dashboard$"}}, subscribe, ["$SYS/#"]}.
    {allow, {ipaddr, "127.0.0.1"}, all, ["$SYS/#", "#"]}.
    {deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.
    {allow, all}.
    """
    assert check(text, "subscribe", "$SYS/#", username="dashboard") == "allow"
    assert check(text, "subscribe", "$SYS/brokers", username="x") == "deny"
    assert check(text, "subscribe", "#") == "deny"
    assert check(text, "subscribe", "a/#") == "allow"
    assert check(text, "publish", "$SYS/x", peerhost="127.0.0.1") == "allow"


# -- placeholders -------------------------------------------------------------------------------------


@pytest.mark.parametrize("c, u", [("%c", "%u"), ("${clientid}", "${username}")])
def test_placeholders(c, u):
    text = f'{{allow, all, all, ["dev/{c}/#", "user/{u}/inbox"]}}.'
    assert check(text, "publish", "dev/c1/x", clientid="c1") == "allow"
    assert check(text, "publish", "dev/c2/x", clientid="c1") is None
    assert check(text, "subscribe", "dev/c1/#", clientid="c1") == "allow"
    assert check(text, "subscribe", "user/bob/inbox", username="bob") == "allow"
    assert check(text, "subscribe", "user/bob/inbox", username="eve") is None


def test_missing_username_never_matches():
    text = '{allow, all, publish, ["user/%u", "user/${username}/x", "open"]}.'
    assert check(text, topic="user/%u", username=None) is None
    assert check(text, topic="user/", username=None) is None
    assert check(text, topic="user/${username}/x", username=None) is None
    assert check(text, topic="open", username=None) == "allow"  # the rule's other topics still count
    assert check(text, topic="user/", username="") == "allow"  # empty but present


def test_placeholder_values_with_wildcards_do_not_widen_rules():
    text = '{allow, all, all, ["user/%u/#", "dev/${clientid}"]}.'
    assert check(text, "subscribe", "user/x/#", username="#") is None
    assert check(text, "subscribe", "user/#", username="#") is None
    assert check(text, "subscribe", "dev/+", clientid="+") is None


def test_braced_placeholders_work_inside_a_level_but_percent_forms_do_not():
    text = '{allow, all, publish, ["t/${clientid}-out", "p/%c-out"]}.'
    assert check(text, topic="t/c1-out", clientid="c1") == "allow"
    assert check(text, topic="p/%c-out", clientid="c1") == "allow"  # literal, as EMQX 4
    assert check(text, topic="p/c1-out", clientid="c1") is None


def test_placeholder_compiles_to_parts():
    (rule,) = parse_acl('{allow, all, all, ["a/${username}/%c/x${clientid}y"]}.').rules
    assert rule.topics[0].parts == ("a/", Var.USERNAME, "/", Var.CLIENTID, "/x", Var.CLIENTID, "y")


# -- lexical details ----------------------------------------------------------------------------------


def test_multiline_rule_comments_and_quoted_atoms():
    text = """%% leading comment
    {'allow',          % trailing comment
       {'username', "a%b"},   % "%" inside a string is not a comment
       'publish',
       ["t"]}.{deny, all}.
    """
    rules = parse_acl(text)
    assert rules.rules[0].line == 2 and rules.rules[1].line == 5
    assert rules.rules[0].who == WhoUsername("a%b")


def test_string_escapes():
    (rule,) = parse_acl(r'{allow, {username, "q\"b\\s\tx\x41\x{263A}\101\^A\d"}, publish, ["t"]}.').rules
    assert rule.who.equals == 'q"b\\s\txA\u263aA\x01\x7f'
    (rule,) = parse_acl('{allow, {username, "two\nlines"}, publish, ["t"]}.\n{deny, all}.').rules[:1]
    assert rule.who.equals == "two\nlines"
    assert parse_acl('{allow, {username, "two\nlines"}, publish, ["t"]}.\n{deny, all}.').rules[1].line == 3


def test_load_acl_file(tmp_path):
    p = tmp_path / "acl.conf"
    p.write_text('\ufeff{allow, all, publish, ["t"]}.\n', encoding="utf-8")
    rules = load_acl_file(p)
    assert rules.source == str(p) and check(rules) == "allow"
    with pytest.raises(FileNotFoundError):
        load_acl_file(tmp_path / "missing.conf")


def test_load_acl_file_not_utf8(tmp_path):
    p = tmp_path / "acl.conf"
    p.write_bytes(b"{allow, all}.\n%% \xff\n")
    with pytest.raises(AclSyntaxError) as e:
        load_acl_file(p)
    assert e.value.line == 2 and "UTF-8" in str(e.value) and str(p) in str(e.value)


# -- syntax errors ------------------------------------------------------------------------------------

ERRORS = [
    # (text, line, fragment of the message)
    ("{allow, all}", 1, "expected '.'"),
    ("{allow, all}\n{deny, all}.", 2, "expected '.' after the rule that starts on line 1"),
    ('{allow, all, publish, ["t"]', 1, "expected ',' or '}', got end of file"),
    ('{allow, all, publish, ["t" "u"]}.', 1, "expected ',' or ']'"),
    ("{allow, all,, publish}.", 1, "expected a term"),
    ('\n\n{allow, {username, "x}, publish.\n', 3, "unterminated string"),
    ("{'allow, all}.", 1, "unterminated quoted atom"),
    ('{allow, all, publish, [<<"t">>]}.', 1, "unexpected character '<'"),
    ('{allow, User, publish, ["t"]}.', 1, "variables are not allowed"),
    ('{allow, all, publish, ["t", 1]}.', 1, 'a topic is a string or {eq, "..."}, not 1'),
    ('{allow, all, publish, ["t"]} 1.', 1, "expected '.' after the rule that starts on line 1, got '1'"),
    ("{allow, all, publish, [-1]}.", 1, "unexpected character '-'"),
    ('{allow, {username, "a\\.b"}, publish, ["t"]}.', 1, "unknown escape"),
    ("allow.", 1, "a rule is a tuple"),
    ('["t"].', 1, "a rule is a tuple"),
    ("{}.", 1, "empty rule"),
    ("{permit, all}.", 1, "starts with allow or deny"),
    ('{"allow", all}.', 1, "starts with allow or deny"),
    ("{allow, everyone}.", 1, "{allow, all} or {deny, all}"),
    ("{allow, all, publish}.", 1, "this one has 3 elements"),
    ('{allow, all, publish, ["t"], x}.', 1, "this one has 5 elements"),
    ('{allow, all, pubish, ["t"]}.', 1, "unknown action pubish"),
    ('{allow, all, {publish, [{qos, 1}]}, ["t"]}.', 1, "not supported"),
    ('{allow, nobody, publish, ["t"]}.', 1, "unknown Who nobody"),
    ('{allow, {group, "g"}, publish, ["t"]}.', 1, "unknown Who {group"),
    ('{allow, {username}, publish, ["t"]}.', 1, "unknown Who"),
    ('{allow, {username, alice}, publish, ["t"]}.', 1, "takes a string or {re"),
    ('{allow, {clientid, {re, "("}}, publish, ["t"]}.', 1, "bad regular expression"),
    ('{allow, {ipaddr, "300.1.1.1"}, publish, ["t"]}.', 1, "bad IP address"),
    ('{allow, {ipaddr, "10.0.0.0/33"}, publish, ["t"]}.', 1, "bad IP address"),
    ('{allow, {ipaddr, localhost}, publish, ["t"]}.', 1, "is a string"),
    ('{allow, {ipaddrs, "10.0.0.1"}, publish, ["t"]}.', 1, "takes a list"),
    ("{allow, {'and', []}, publish, [\"t\"]}.", 1, "must not be empty"),
    ('{allow, {\'or\', {clientid, "c"}}, publish, ["t"]}.', 1, "takes a list"),
    ('{allow, {\'and\', [{clientid, "c"}, bogus]}, publish, ["t"]}.', 1, "unknown Who bogus"),
    ('{allow, all, publish, "t/#"}.', 1, "Topics is a list"),
    ("{allow, all, publish, []}.", 1, "empty topic list"),
    ("{allow, all, publish, [t]}.", 1, "a topic is a string"),
    ("{allow, all, publish, [{eq, t}]}.", 1, "a topic is a string"),
    ('{allow, all, publish, ["a/#/b"]}.', 1, "invalid topic filter 'a/#/b'"),
    ('{allow, all, publish, [""]}.', 1, "invalid topic filter"),
    ('{allow, all, publish, [{eq, "a+"}]}.', 1, "invalid topic filter"),
    ('{allow, all, publish, ["a/${clientid}+"]}.', 1, "invalid topic filter"),
    ('{allow, all, publish, ["$share/g/t"]}.', 1, "without its $share/$queue prefix"),
    ('{allow, all, publish, ["$queue/t"]}.', 1, "without its $share/$queue prefix"),
    ('{allow, all, publish, ["a/${peerhost}"]}.', 1, "unknown placeholder ${peerhost}"),
]


@pytest.mark.parametrize("text, line, fragment", ERRORS)
def test_syntax_errors(text, line, fragment):
    with pytest.raises(AclSyntaxError) as e:
        parse_acl(text, "rules.conf")
    err = e.value
    assert isinstance(err, ValueError)
    assert err.line == line and err.source == "rules.conf"
    assert fragment in str(err)
    assert str(err).startswith(f"rules.conf:{line}: ")


def test_error_line_points_into_a_multiline_rule():
    text = '{allow, all}.\n{allow,\n  {username, "u"},\n  pubish,\n  ["t"]}.\n'
    with pytest.raises(AclSyntaxError) as e:
        parse_acl(text)
    assert e.value.line == 4 and "pubish" in str(e.value)
