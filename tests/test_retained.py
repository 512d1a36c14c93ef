"""The retained-message store: exact and wildcard lookups, the "$" rule, paging and pruning."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.retained import RetainedStore
from broker.topics import topic_matches

TOPICS = ["a", "a/b", "a/b/c", "a/c", "b", "/", "/x", "a/", "$SYS/broker/uptime", "$SYS", "$other/x", "a/$b"]


@pytest.fixture
def store():
    s = RetainedStore()
    for t in TOPICS:
        s.set(t, f"msg:{t}")
    return s


def test_set_get_delete():
    s = RetainedStore()
    assert len(s) == 0 and s.get("a") is None
    s.set("a/b", 1)
    s.set("a/b", 2)  # replaced
    assert len(s) == 1 and s.get("a/b") == 2 and "a/b" in s and "a" not in s
    assert s.delete("a") is False  # an interior level holds nothing
    assert s.delete("a/b") is True
    assert s.delete("a/b") is False
    assert len(s) == 0 and s.get("a/b") is None


def test_falsy_messages_are_kept():
    s = RetainedStore()
    s.set("a", None)
    s.set("b", b"")
    assert len(s) == 2 and s.match("a") == [None] and s.match("#") and s.delete("a")


@pytest.mark.parametrize(
    "f, expected",
    [
        ("a", ["a"]),
        ("nope", []),
        ("a/b", ["a/b"]),
        ("$SYS", ["$SYS"]),
        ("+", ["a", "b"]),
        ("+/b", ["a/b"]),
        ("+/+", ["a/b", "a/c", "/", "/x", "a/", "a/$b"]),
        ("a/+", ["a/b", "a/c", "a/", "a/$b"]),
        ("a/+/c", ["a/b/c"]),
        ("/+", ["/", "/x"]),
        ("a/#", ["a", "a/b", "a/b/c", "a/c", "a/", "a/$b"]),  # "#" includes the parent
        ("a/b/#", ["a/b", "a/b/c"]),
        ("b/#", ["b"]),
        ("c/#", []),
        ("#", ["a", "a/b", "a/b/c", "a/c", "b", "/", "/x", "a/", "a/$b"]),  # no "$..." topics
        ("+/#", ["a", "a/b", "a/b/c", "a/c", "b", "/", "/x", "a/", "a/$b"]),
        ("$SYS/#", ["$SYS", "$SYS/broker/uptime"]),
        ("$SYS/+/uptime", ["$SYS/broker/uptime"]),
        ("$other/+", ["$other/x"]),
        ("+/+/+/+", []),
    ],
)
def test_match(store, f, expected):
    got = store.match(f)
    assert sorted(got) == sorted(f"msg:{t}" for t in expected)
    assert sorted(got) == sorted(f"msg:{t}" for t in TOPICS if topic_matches(f, t))


def test_match_without_wildcards_does_not_walk(store):
    class Exploding:
        def __getattr__(self, name):
            raise AssertionError("walked the trie for a plain filter")

    store._root = Exploding()
    assert store.match("a/b") == ["msg:a/b"]
    assert store.match("a/zz") == []


def test_delete_prunes_levels():
    s = RetainedStore()
    s.set("a/b/c/d", 1)
    s.set("a/b", 2)
    s.delete("a/b/c/d")
    assert s._root.children["a"].children["b"].children is None
    s.delete("a/b")
    assert s._root.children is None
    s.set("a", 1)
    s.set("a/b", 2)
    s.delete("a")  # a level with children below stays
    assert s.match("a/#") == [2]


def test_topics_insertion_order_and_snapshot():
    s = RetainedStore()
    for t in ["z", "a", "m"]:
        s.set(t, t)
    s.set("z", "z2")  # replacing keeps the place
    assert list(s.topics()) == ["z", "a", "m"]
    for t in s.topics():
        s.delete(t)
    assert len(s) == 0


def test_page():
    s = RetainedStore()
    for i in range(10):
        s.set(f"t/{i}", i)
    assert s.page(0, 3) == [("t/0", 0), ("t/1", 1), ("t/2", 2)]
    assert s.page(8, 5) == [("t/8", 8), ("t/9", 9)]
    assert s.page(10, 5) == []
    assert s.page(3, 0) == []
    with pytest.raises(ValueError):
        s.page(-1, 2)


def test_clear(store):
    store.clear()
    assert len(store) == 0 and store.match("#") == [] and list(store.topics()) == []
    store.set("a", 1)
    assert store.match("#") == [1]


def test_deep_topics_do_not_recurse():
    s = RetainedStore()
    deep = "/".join(["x"] * 5000)
    s.set(deep, "deep")
    assert s.match("#") == ["deep"]
    assert s.match("x/+/#") == ["deep"]
    assert s.delete(deep) and s._root.children is None


_level = st.sampled_from(["a", "b", "", "$x"])
_topic = st.lists(_level, min_size=1, max_size=4).map("/".join).filter(bool)


@st.composite
def _filters(draw):
    levels = draw(st.lists(st.sampled_from(["a", "b", "", "$x", "+"]), min_size=1, max_size=4))
    if draw(st.booleans()):
        levels.append("#")
    return "/".join(levels)


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(st.tuples(st.booleans(), _topic), max_size=30),
    filters=st.lists(_filters() | st.just("#"), min_size=1, max_size=5),
)
def test_store_agrees_with_topic_matches(ops, filters):
    s = RetainedStore()
    model: dict[str, str] = {}
    for is_set, topic in ops:
        if is_set:
            s.set(topic, topic)
            model[topic] = topic
        else:
            assert s.delete(topic) == (model.pop(topic, None) is not None)
    assert len(s) == len(model) and list(s.topics()) == list(model)
    for f in filters:
        assert sorted(s.match(f)) == sorted(t for t in model if topic_matches(f, t))
    for topic in list(model):
        s.delete(topic)
    assert s._root.children is None
