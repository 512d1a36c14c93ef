"""Topic names, filters, shared forms, matching and the routing trie."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.constants import ReasonCode
from broker.errors import MQTTError
from broker.topics import (
    SubscriptionTrie,
    filter_covers,
    topic_matches,
    validate_topic_filter,
    validate_topic_name,
)
from schemas.topics import MAX_TOPIC_BYTES, parse_share, shared_filter

# -- validate_topic_name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    ["a", "a/b/c", "/", "//", "/a", "a/", "a//b", "$SYS/broker", "$", " ", "température/°C", "a" * MAX_TOPIC_BYTES],
)
def test_valid_topic_names(topic):
    validate_topic_name(topic)


@pytest.mark.parametrize(
    "topic",
    [
        "",  # [MQTT-4.7.3-1]
        "+",
        "#",
        "a/+",
        "a/#",
        "a+/b",
        "a/b#",
        "+/a",  # [MQTT-4.7.1-1], [MQTT-3.3.2-2]
        "a\x00b",  # [MQTT-4.7.3-2]
        "a" * (MAX_TOPIC_BYTES + 1),  # [MQTT-4.7.3-3]
        "é" * (MAX_TOPIC_BYTES // 2 + 1),  # short in code points, too long in UTF-8 bytes
        "\ud800" * 20000,  # a lone surrogate cannot be encoded at all
    ],
)
def test_invalid_topic_names(topic):
    with pytest.raises(MQTTError) as e:
        validate_topic_name(topic)
    assert e.value.reason_code == ReasonCode.TOPIC_NAME_INVALID


def test_topic_name_length_is_counted_in_utf8_bytes():
    validate_topic_name("é" * (MAX_TOPIC_BYTES // 2) + "a")  # 65535 bytes exactly
    with pytest.raises(MQTTError):
        validate_topic_name("é" * (MAX_TOPIC_BYTES // 2) + "ab")


# -- validate_topic_filter ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f",
    [
        "a",
        "a/b",
        "/",
        "#",
        "+",
        "+/+",
        "a/#",
        "a/+/c",
        "+/#",
        "/#",
        "a//+",
        "$SYS/#",
        "$SYS/+/x",
        "$share/g/a/b",
        "$share/g/#",
        "$share/g/+/x",
        "$share/group-1/$SYS/#",
        "$share/g//",
        "$queue/a/b",
        "$queue/#",
        "$share",
        "$queue",
        "$sharex/a",
        "share/g/a",
    ],
)
def test_valid_topic_filters(f):
    validate_topic_filter(f)


@pytest.mark.parametrize(
    "f",
    [
        "",  # [MQTT-4.7.3-1]
        "a\x00",  # [MQTT-4.7.3-2]
        "#/a",
        "a/#/b",
        "a#",
        "a/b#",
        "#a",
        "##",
        "a/#/#",  # [MQTT-4.7.1-2]
        "a+",
        "a/+b",
        "+a/b",
        "++",
        "a/b+/c",  # [MQTT-4.7.1-3]
        "$share/",
        "$share//a",
        "$share/g",
        "$share/g/",  # [MQTT-4.8.2-1], [MQTT-4.8.2-2]
        "$share/g+/a",
        "$share/g#/a",
        "$share/+/a",
        "$share/#/a",  # [MQTT-4.8.2-2]
        "$share/g/a/#/b",
        "$share/g/a+",  # the filter after the share name is checked too
        "$queue/",
        "$queue/a#",
        "$share/g/$share/h/a",
        "$queue/$share/g/a",
        "$share/g/$queue/a",  # nested shares
        "a" * (MAX_TOPIC_BYTES + 1),
    ],
)
def test_invalid_topic_filters(f):
    with pytest.raises(MQTTError) as e:
        validate_topic_filter(f)
    assert e.value.reason_code == ReasonCode.TOPIC_FILTER_INVALID


def test_filter_error_message_names_the_filter():
    with pytest.raises(MQTTError, match="a/#/b"):
        validate_topic_filter("a/#/b")


# -- parse_share --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f, expected",
    [
        ("$share/g/a/b", ("g", "a/b")),
        ("$share/g/#", ("g", "#")),
        ("$share/g/$SYS/x", ("g", "$SYS/x")),
        ("$share/g//a", ("g", "/a")),
        ("$queue/a/b", ("$queue", "a/b")),
        ("$queue/#", ("$queue", "#")),
        ("a/b", (None, "a/b")),
        ("#", (None, "#")),
        ("$SYS/#", (None, "$SYS/#")),
        ("$share", (None, "$share")),
    ],
)
def test_parse_share(f, expected):
    assert parse_share(f) == expected
    group, real = expected
    if group is not None:
        # How the broker writes a shared subscription back out (routes, topic tree) undoes the split.
        assert shared_filter(group, real) == f


# -- topic_matches ------------------------------------------------------------------------------------

MATCHES = [
    ("a", "a", True),
    ("a", "b", False),
    ("a/b", "a/b", True),
    ("a/b", "a", False),
    ("a", "a/b", False),
    ("+", "a", True),
    ("+", "a/b", False),
    ("+", "", True),  # an empty level is a level
    ("+/+", "/", True),
    ("/+", "/a", True),
    ("+", "/a", False),
    ("a/+", "a/b", True),
    ("a/+", "a", False),
    ("a/+", "a/", True),
    ("a/+/c", "a/b/c", True),
    ("a/+/c", "a/b/d", False),
    ("#", "a", True),
    ("#", "a/b/c", True),
    ("#", "/", True),
    ("a/#", "a", True),  # "#" includes the parent level [MQTT-4.7.1-2]
    ("a/#", "a/b", True),
    ("a/#", "a/b/c", True),
    ("a/#", "ab", False),
    ("a/#", "b/a", False),
    ("a/b/#", "a", False),
    ("+/#", "a", True),
    ("+/+/#", "a", False),
    ("a/+/#", "a/b", True),
    ("a/+/#", "a", False),
    # the "$" rule [MQTT-4.7.2-1]
    ("#", "$SYS", False),
    ("#", "$SYS/broker", False),
    ("+", "$SYS", False),
    ("+/broker", "$SYS/broker", False),
    ("+/#", "$SYS/broker", False),
    ("$SYS/#", "$SYS/broker", True),
    ("$SYS/#", "$SYS", True),
    ("$SYS/+", "$SYS/broker", True),
    ("$SYS", "$SYS", True),
    ("a/#", "a/$b", True),  # only the first level is special
    ("a/+", "a/$b", True),
    ("#", "a$", True),
]


@pytest.mark.parametrize("f, topic, expected", MATCHES)
def test_topic_matches(f, topic, expected):
    assert topic_matches(f, topic) is expected


# -- filter_covers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "outer, inner, expected",
    [
        ("a/b", "a/b", True),
        ("a/b", "a/c", False),
        ("a/+", "a/b", True),
        ("a/+", "a/+", True),
        ("a/+", "a/#", False),  # "a/#" would receive a/b/c
        ("a/b", "a/+", False),
        ("a/#", "a", True),
        ("a/#", "a/#", True),
        ("a/#", "a/+/c", True),
        ("a/#", "a/+/#", True),
        ("a/#", "b/#", False),
        ("a/+/#", "a/#", False),  # "a/#" receives "a" itself
        ("a/+/#", "a/b/#", True),
        ("#", "#", True),
        ("#", "a/+", True),
        ("+", "+", True),
        ("+", "#", False),
        ("+/#", "#", False),  # conservative, documented
        ("a", "a/#", False),
        ("a/b/c", "a/b", False),
        # the "$" rule: leading wildcards do not cover requests for "$..." topics
        ("#", "$SYS/#", False),
        ("+/#", "$SYS/#", False),
        ("+/x", "$SYS/x", False),
        ("$SYS/#", "$SYS/+/x", True),
        ("$SYS/#", "$SYS", True),
        ("#", "+/x", True),
        ("a/+", "a/$x", True),
    ],
)
def test_filter_covers(outer, inner, expected):
    assert filter_covers(outer, inner) is expected


_level = st.sampled_from(["a", "b", "", "$x"])
_topic = st.lists(_level, min_size=1, max_size=4).map("/".join).filter(bool)
_filter_level = st.sampled_from(["a", "b", "", "$x", "+"])


@st.composite
def _filters(draw):
    levels = draw(st.lists(_filter_level, min_size=0, max_size=4))
    if not levels or draw(st.booleans()):
        levels.append("#")
    return "/".join(levels)


@settings(max_examples=300, deadline=None)
@given(outer=_filters(), inner=_filters(), topic=_topic)
def test_filter_covers_is_sound(outer, inner, topic):
    # If outer covers inner, no topic matched by inner escapes outer.
    if filter_covers(outer, inner) and topic_matches(inner, topic):
        assert topic_matches(outer, topic)


# -- SubscriptionTrie ---------------------------------------------------------------------------------


def test_trie_add_get_remove():
    t = SubscriptionTrie()
    assert len(t) == 0 and t.count() == 0
    assert t.get("a/b") is None
    assert t.add("a/b", "c1", 1) is True
    assert t.add("a/b", "c1", 2) is False  # replaced, not new
    assert t.get("a/b") == {"c1": 2}
    assert t.add("a/b", "c2", 3) is True
    assert t.add("a/+", "c1", 4) is True
    assert len(t) == 2 and t.count() == 3
    assert "a/b" in t and "a" not in t
    assert t.get("a") is None  # an interior node is not a filter
    assert t.remove("a/b", "nobody") is False
    assert t.remove("nope", "c1") is False
    assert t.remove("a", "c1") is False
    assert t.remove("a/b", "c1") is True
    assert t.remove("a/b", "c1") is False
    assert t.get("a/b") == {"c2": 3}
    assert t.remove("a/b", "c2") is True
    assert t.get("a/b") is None
    assert len(t) == 1 and t.count() == 1
    assert list(t.filters()) == ["a/+"]


def test_trie_filters_order_and_snapshot():
    t = SubscriptionTrie()
    for f in ["x", "a/#", "+/b", "x/y"]:
        t.add(f, "k", None)
    assert list(t.filters()) == ["x", "a/#", "+/b", "x/y"]
    for f in t.filters():  # removing while iterating is safe
        t.remove(f, "k")
    assert len(t) == 0


def _sorted_filters(t, topic):
    return sorted(t.match_filters(topic))


def test_trie_match_basic():
    t = SubscriptionTrie()
    for f in ["a/b", "a/+", "a/#", "#", "+/b", "+/+", "a/b/c", "a", "+", "b/#", "a/b/#", "/", "+/#"]:
        t.add(f, f, f)
    assert _sorted_filters(t, "a/b") == sorted(["a/b", "a/+", "a/#", "#", "+/b", "+/+", "a/b/#", "+/#"])
    assert _sorted_filters(t, "a") == sorted(["a", "a/#", "#", "+", "+/#"])
    assert _sorted_filters(t, "b") == sorted(["#", "+", "b/#", "+/#"])
    assert _sorted_filters(t, "/") == sorted(["/", "#", "+/+", "+/#"])
    assert _sorted_filters(t, "x/y/z") == sorted(["#", "+/#"])
    # match returns the dicts, in the same order as match_filters
    assert t.match("a/b/c") == [t.get(f) for f in t.match_filters("a/b/c")]


def test_trie_dollar_rule():
    t = SubscriptionTrie()
    for f in ["#", "+", "+/broker", "+/#", "$SYS/#", "$SYS/+", "$SYS/broker", "$SYS"]:
        t.add(f, 1, f)
    assert _sorted_filters(t, "$SYS/broker") == sorted(["$SYS/#", "$SYS/+", "$SYS/broker"])
    assert _sorted_filters(t, "$SYS") == sorted(["$SYS/#", "$SYS"])
    assert _sorted_filters(t, "$other") == []
    # "$" only matters at the start
    t.add("a/+", 1, "a/+")
    assert _sorted_filters(t, "a/$x") == sorted(["#", "+/#", "a/+"])


def test_trie_match_each_filter_once_and_never_empty():
    t = SubscriptionTrie()
    t.add("a/#", 1, None)
    t.add("a/+", 1, None)
    t.add("a", 1, None)
    t.add("gone", 1, None)
    t.remove("gone", 1)
    for topic in ["a", "a/b", "a/b/c"]:
        hits = t.match_filters(topic)
        assert len(hits) == len(set(hits))
        assert all(t.match(topic))
    assert t.match("gone") == []
    # a wildcard sneaking into a topic still yields each filter at most once
    for topic in ["a/+", "a/#", "+", "#"]:
        hits = t.match_filters(topic)
        assert len(hits) == len(set(hits))


def test_trie_match_on_empty_trie():
    t = SubscriptionTrie()
    assert t.match("a") == [] and t.match_filters("a/b") == []


def test_trie_prunes_on_remove():
    t = SubscriptionTrie()
    t.add("a/b/c/d", 1, None)
    t.add("a/b", 1, None)
    t.add("a/x/#", 1, None)
    t.remove("a/b/c/d", 1)
    assert set(t._root.children["a"].children["b"].children or ()) == set()
    t.remove("a/b", 1)
    assert set(t._root.children["a"].children) == {"x"}
    t.remove("a/x/#", 1)
    assert t._root.children is None


def _node_count(t):
    n, stack = 0, [t._root]
    while stack:
        node = stack.pop()
        n += 1
        stack.extend((node.children or {}).values())
    return n


def test_trie_churn_does_not_grow_memory():
    t = SubscriptionTrie()
    t.add("keep/this", "k", 1)
    baseline = _node_count(t)
    for i in range(2000):
        f = f"dev/{i}/+/state/#"
        t.add(f, i, i)
        t.add(f, i + 1, i)
        t.remove(f, i)
        t.remove(f, i + 1)
    assert _node_count(t) == baseline
    assert len(t) == 1 and t.count() == 1


def test_trie_clear():
    t = SubscriptionTrie()
    t.add("a/#", 1, 1)
    t.clear()
    assert len(t) == 0 and t.count() == 0 and t.match("a") == []


def test_trie_keeps_the_callers_filter_with_shared_keys():
    # The core stores real filters; share groups are just keys.
    t = SubscriptionTrie()
    group, real = parse_share("$share/g/sensors/+")
    t.add(real, ("$share", group), {"members": ["c1"]})
    t.add(real, "c2", {"qos": 1})
    assert t.match("sensors/1") == [{("$share", "g"): {"members": ["c1"]}, "c2": {"qos": 1}}]


_trie_ops = st.lists(st.tuples(st.booleans(), _filters() | _topic, st.integers(0, 2)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(ops=_trie_ops, topics=st.lists(_topic, min_size=1, max_size=5))
def test_trie_agrees_with_topic_matches(ops, topics):
    t = SubscriptionTrie()
    model: dict[str, dict] = {}
    for is_add, f, key in ops:
        if is_add:
            assert t.add(f, key, (f, key)) == (key not in model.get(f, {}))
            model.setdefault(f, {})[key] = (f, key)
        else:
            assert t.remove(f, key) == (key in model.get(f, {}))
            if key in model.get(f, {}):
                del model[f][key]
                if not model[f]:
                    del model[f]
    assert sorted(t.filters()) == sorted(model)
    assert len(t) == len(model) and t.count() == sum(map(len, model.values()))
    for topic in topics:
        expected = sorted(f for f in model if topic_matches(f, topic))
        assert sorted(t.match_filters(topic)) == expected
        assert sorted(map(sorted, t.match(topic))) == sorted(sorted(model[f]) for f in expected)
    for f in list(model):
        for key in list(model[f]):
            t.remove(f, key)
    assert t._root.children is None
