"""SortedKeys (the ordered part of the listing index) against a plain sorted list, through enough adds and
removes to split and merge its chunks many times."""

import bisect
import random

import pytest

from broker.sorted_keys import LOAD, SortedKeys


def check(sk: SortedKeys, plain: list, rnd: random.Random) -> None:
    assert len(sk) == len(plain) and list(sk) == plain
    for skip in (0, 1, LOAD - 1, LOAD, 2 * LOAD + 3, len(plain) - 1, len(plain), len(plain) + 5):
        assert list(sk.descending(max(skip, 0))) == plain[::-1][max(skip, 0) :]
    for _ in range(20):
        key = rnd.randrange(-10, 50_000)
        assert (key in sk) == (key in plain)
        assert sk.rank(key) == bisect.bisect_left(plain, key)
        assert list(sk.below(key)) == [k for k in reversed(plain) if k < key]
        hi = key + rnd.randrange(0, 5000)
        assert list(sk.between(key, hi)) == [k for k in plain if key <= k < hi]
        assert sk.count_between(key, hi) == sum(1 for k in plain if key <= k < hi)
        assert sk.count_between(hi + 1, key) == 0  # an empty range


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adds_and_removes_agree_with_a_sorted_list(seed):
    rnd = random.Random(seed)
    sk, plain = SortedKeys(), []
    for round_ in range(12):
        # Grow past several chunks, then shrink (thin chunks merge), with removals of absent keys.
        grow = round_ % 3 != 2
        for _ in range(1500):
            key = rnd.randrange(0, 40_000)
            if grow and key not in plain:
                sk.add(key)
                bisect.insort(plain, key)
            elif not grow and plain:
                victim = plain[rnd.randrange(len(plain))] if rnd.random() < 0.9 else -1
                assert sk.remove(victim) == (victim in plain)
                if victim in plain:
                    plain.remove(victim)
        check(sk, plain, rnd)
    while plain:
        assert sk.remove(plain.pop())
    assert len(sk) == 0 and list(sk.descending()) == [] and not sk.remove(7)


def test_keys_in_order_of_insertion_and_of_tuples():
    # Client ids arrive mostly in order (generated names); times always do: appends at the end.
    sk = SortedKeys()
    for i in range(3 * LOAD):
        sk.add((float(i), f"c{i:05d}"))
    assert sk.count_between((10.0,), (20.0,)) == 10
    assert [cid for _, cid in sk.between((5.0,), (8.0,))] == ["c00005", "c00006", "c00007"]
    assert next(sk.descending()) == (3 * LOAD - 1.0, f"c{3 * LOAD - 1:05d}")


def test_a_view_reads_a_sorted_list_in_place():
    ids = ["a", "c", "d"]
    view = SortedKeys.view(ids)
    assert list(view.descending(1)) == ["c", "a"] and list(view.below("d")) == ["c", "a"] and "c" in view
    assert len(SortedKeys.view([])) == 0 and list(SortedKeys.view([]).below("x")) == []
