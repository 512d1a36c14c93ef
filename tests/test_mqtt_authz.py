"""MQTT authorization: the built-in rule database, the ACL file source, settings and per-connection caches,
changed through the control interface while real paho clients stay connected."""

import time

import pytest

from schemas.errors import Conflict, InvalidArgument, LimitExceeded, NotFound, NotSupported
from schemas.records import AuthzRule, AuthzRuleSet, AuthzSettings, AuthzSource
from tests.mqtt_helpers import Client, wait_for

ACL = '{deny, {username, "alice"}, publish, ["locked/#"]}.\n{allow, all}.\n'


def rules(who_type, who, *rs):
    return AuthzRuleSet(who_type=who_type, who=who, rules=list(rs))


def deny(topic, action="publish", **kw):
    return AuthzRule(topic=topic, permission="deny", action=action, **kw)


def allow(topic, action="publish", **kw):
    return AuthzRule(topic=topic, permission="allow", action=action, **kw)


def puback(c, topic, qos=1, retain=False):
    c.publish(topic, b"x", qos=qos, retain=retain)
    return c.acks.get(timeout=5)[1].value


def test_a_rule_added_while_connected_applies_to_the_next_publish(broker):
    broker.run(broker.control.add_authz_rules([rules("username", "someone", deny("#"))]))
    c = Client(broker, "dev", v5=True, username="u")
    assert puback(c, "t/1") == 0x10  # no subscriber: allowed
    assert puback(c, "t/1") == 0x10  # from the cache
    assert broker.metric("authorization.cache_hit") == 1
    broker.run(broker.control.add_authz_rules([rules("clientid", "dev", deny("t/#"))]))
    assert puback(c, "t/1") == 0x87
    broker.run(broker.control.delete_authz_rules("clientid", "dev"))
    assert puback(c, "t/1") == 0x10


def test_match_order_clientid_then_username_then_all(broker):
    ctl = broker.control
    broker.run(
        ctl.add_authz_rules(
            [
                rules("clientid", "c1", allow("x/#")),
                rules("username", "bob", deny("x/#"), allow("y/#")),
                rules("all", "", deny("#", action="all")),
            ]
        )
    )
    c1 = Client(broker, "c1", v5=True, username="bob")
    c2 = Client(broker, "c2", v5=True, username="bob")
    assert puback(c1, "x/a") == 0x10
    assert puback(c2, "x/a") == 0x87
    assert puback(c2, "y/a") == 0x10
    assert puback(c2, "z/a") == 0x87  # the rule for all
    assert [rc.value for rc in c2.subscribe("z/#", 1)] == [0x87]


def test_placeholders_qos_and_retain_conditions(broker):
    ctl = broker.control
    broker.run(
        ctl.put_authz_rules(
            rules(
                "all",
                "",
                allow("own/${clientid}/#"),
                deny("q/#", qos=[2]),
                deny("r/#", retain=True),
                allow("eq lit/#", action="subscribe"),
                deny("#", action="all"),
            )
        )
    )
    c = Client(broker, "me", v5=True)
    assert puback(c, "own/me/x") == 0x10
    assert puback(c, "own/you/x") == 0x87
    assert puback(c, "q/a", qos=1) == 0x87  # denied by the closing rule, not the qos-2 one
    broker.run(ctl.put_authz_rules(rules("all", "", deny("q/#", qos=[2]), deny("r/#", retain=True))))
    assert puback(c, "q/a", qos=1) == 0x10
    broker.run(ctl.put_authz_rules(rules("all", "", deny("q/#", qos=[1]), deny("r/#", retain=True))))
    assert puback(c, "q/a", qos=1) == 0x87
    assert puback(c, "r/a", retain=False) == 0x10
    assert puback(c, "r/a", retain=True) == 0x87


def test_superusers_skip_authorization(broker):
    broker.run(broker.control.add_mqtt_user("username", "root", "pw", is_superuser=True))
    broker.run(broker.control.put_authz_rules(rules("all", "", deny("#", action="all"))))
    root = Client(broker, v5=True, username="root", password="pw")
    other = Client(broker, v5=True, username="other")
    assert puback(root, "any") == 0x10
    assert puback(other, "any") == 0x87


def test_deny_action_disconnect_ends_the_connection(broker):
    broker.run(broker.control.put_authz_rules(rules("all", "", deny("no/#"))))
    broker.run(broker.control.set_authz_settings(AuthzSettings(deny_action="disconnect")))
    c = Client(broker, v5=True)
    c.publish("no/x", b"x", qos=1, wait=False)
    assert c.disconnects.get(timeout=5).value == 0x87


def test_no_match_deny_applies_when_no_rule_matches(broker):
    broker.run(broker.control.set_authz_settings(AuthzSettings(no_match="deny")))
    assert broker.call(lambda: broker.broker.config.acl_no_match) == "deny"
    c = Client(broker, v5=True)
    assert puback(c, "any") == 0x87
    broker.run(broker.control.put_authz_rules(rules("all", "", allow("ok/#"))))
    assert puback(c, "ok/1") == 0x10


def test_cache_lists_entries_honours_ttl_and_size_and_cleans(broker):
    ctl = broker.control
    broker.run(ctl.put_authz_rules(rules("all", "", deny("d/#"))))
    broker.run(ctl.set_authz_settings(AuthzSettings(cache_max_size=2, cache_ttl=0.5)))
    c = Client(broker, "cached", v5=True)
    for topic in ("a", "b", "d/c"):
        puback(c, topic)
    entries = broker.run(ctl.authz_cache("cached"))
    assert [(e.action, e.topic, e.qos, e.result) for e in entries] == [
        ("publish", "b", 1, "allow"),
        ("publish", "d/c", 1, "deny"),
    ]
    time.sleep(0.6)
    assert broker.run(ctl.authz_cache("cached")) == []
    puback(c, "a")
    broker.run(ctl.clean_authz_cache("cached"))
    assert broker.run(ctl.authz_cache("cached")) == []
    puback(c, "a")
    puback(c, "b")
    broker.run(ctl.clean_authz_cache("cached", "a"))
    assert [e.topic for e in broker.run(ctl.authz_cache("cached"))] == ["b"]
    broker.run(ctl.clean_all_authz_caches())
    assert broker.run(ctl.authz_cache("cached")) == []
    with pytest.raises(NotFound):
        broker.run(ctl.authz_cache("nobody"))


def test_file_source_rules_are_validated_before_they_apply(make_broker, tmp_path):
    f = tmp_path / "acl.conf"
    f.write_text(ACL)
    b = make_broker(acl_file=str(f))
    ctl = b.control
    alice = Client(b, v5=True, username="alice")
    assert puback(alice, "locked/1") == 0x87
    with pytest.raises(InvalidArgument) as bad:
        b.run(ctl.update_authz_source("file", AuthzSource(type="file", rules="{allow, all")))
    assert "<api>:1" in str(bad.value)
    assert b.run(ctl.get_authz_source("file")).rules == ACL  # the old rules stay in force
    assert puback(alice, "locked/1") == 0x87
    b.run(ctl.update_authz_source("file", AuthzSource(type="file", rules="{allow, all}.")))
    assert puback(alice, "locked/1") == 0x10
    b.run(ctl.update_authz_source("file", AuthzSource(type="file", enable=False, rules=ACL)))
    assert puback(alice, "locked/1") == 0x10
    status = b.run(ctl.authz_source_status("file")).counts
    assert status["deny"] == 1 and status["allow"] == 1


def test_sources_create_move_delete(broker):
    ctl = broker.control
    assert [s.type for s in broker.run(ctl.authz_sources())] == ["built_in_database", "file"]
    broker.run(ctl.move_authz_source("file", "front"))
    assert [s.type for s in broker.run(ctl.authz_sources())] == ["file", "built_in_database"]
    with pytest.raises(Conflict):
        broker.run(ctl.create_authz_source(AuthzSource(type="file", rules="")))
    with pytest.raises(NotSupported):
        broker.run(ctl.create_authz_source(AuthzSource(type="http")))
    with pytest.raises(InvalidArgument):
        broker.run(ctl.update_authz_source("file", AuthzSource(type="built_in_database")))
    broker.run(ctl.put_authz_rules(rules("clientid", "x", deny("t"))))
    broker.run(ctl.delete_authz_source("built_in_database"))
    with pytest.raises(NotFound):
        broker.run(ctl.get_authz_rules("clientid", "x"))
    # The rules outlive their source: back with the source, as EMQX keeps its table.
    broker.run(ctl.create_authz_source(AuthzSource(type="built_in_database")))
    assert broker.run(ctl.get_authz_rules("clientid", "x")).rules == [deny("t")]
    assert [s.type for s in broker.run(ctl.authz_sources())] == ["built_in_database", "file"]
    with pytest.raises(InvalidArgument):  # purge only once disabled
        broker.run(ctl.purge_authz_rules())
    broker.run(ctl.update_authz_source("built_in_database", AuthzSource(type="built_in_database", enable=False)))
    broker.run(ctl.purge_authz_rules())
    with pytest.raises(NotFound):
        broker.run(ctl.get_authz_rules("clientid", "x"))


def test_bad_rules_change_nothing(broker):
    ctl = broker.control
    good = rules("clientid", "a", deny("t"))
    for bad in (
        rules("clientid", "b", AuthzRule(topic="t/#/x", permission="deny", action="publish")),
        rules("clientid", "b", AuthzRule(topic="t", permission="maybe", action="publish")),
        rules("clientid", "b", AuthzRule(topic="t", permission="deny", action="pub")),
        rules("clientid", "b", AuthzRule(topic="t", permission="deny", action="publish", qos=[3])),
        rules("clientid", "", deny("t")),
    ):
        with pytest.raises(InvalidArgument):
            broker.run(ctl.add_authz_rules([good, bad]))
    with pytest.raises(LimitExceeded):
        broker.run(ctl.add_authz_rules([rules("clientid", "many", *[deny(f"t/{i}") for i in range(101)])]))
    broker.run(ctl.add_authz_rules([good]))
    with pytest.raises(Conflict):
        broker.run(ctl.add_authz_rules([rules("clientid", "new", deny("t")), good]))
    page = broker.run(ctl.list_authz_rules("clientid", offset=0, limit=10))
    assert [r.who for r in page.items] == ["a"] and page.total == 1


def test_subscribe_rules_cover_shared_filters(broker):
    broker.run(broker.control.put_authz_rules(rules("all", "", deny("secret/#", action="subscribe"))))
    c = Client(broker, v5=True)
    assert [rc.value for rc in c.subscribe("$share/g/secret/x", 1)] == [0x87]
    assert [rc.value for rc in c.subscribe("open/x", 1)] == [1]
    wait_for(lambda: broker.metric("authorization.deny") == 1)


def test_the_first_level_index_keeps_the_rules_order():
    """A record tries only the rules a request's first level can meet, but still in the record's order."""
    from broker.acl import ClientFacts
    from broker.authz_rules import RuleDatabase, compile_rule

    db = RuleDatabase()
    record = rules(
        "all",
        "",
        allow("a/#", action="all"),
        deny("+/x"),
        deny("a/x"),
        allow("${clientid}/#"),
        allow("eq #", action="subscribe"),
        deny("#", action="all"),
    )
    db.put(record, tuple(compile_rule(r) for r in record.rules))
    me = ClientFacts("me", None, "127.0.0.1")

    def check(action, topic):
        real = topic.split("/", 2)[2] if topic.startswith("$share/") else topic
        return db.check(me, action, topic, real, 1, False)

    assert check("publish", "a/x") == "allow"  # a/# comes before +/x and a/x
    assert check("publish", "b/x") == "deny"
    assert check("publish", "me/1") == "allow"
    assert check("publish", "you/1") == "deny"
    assert check("subscribe", "#") == "allow"  # the eq literal, indexed nowhere
    assert check("subscribe", "+/y") == "deny"
    assert check("subscribe", "$share/g/a/b") == "allow"
