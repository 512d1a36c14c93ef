"""SortedKeys (the ordered part of the listing index) against a plain sorted list, through enough adds and
removes to split and merge its chunks many times."""

import bisect
import random

import pytest

from broker.sorted_keys import LOAD, MeasuredKeys, SortedKeys


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


def test_measured_keys_find_every_key_in_a_range_through_any_history():
    rnd = random.Random(11)
    measures: dict[int, list] = {}  # key -> [created, connected or None]
    mk = MeasuredKeys((lambda k: measures[k][0], lambda k: measures[k][1]))
    plain: list[int] = []
    for round_ in range(10):
        for _ in range(1500):
            key = rnd.randrange(0, 30_000)
            if key not in measures and round_ % 4 != 3:
                # Half the keys measured in their own order (ids given out as time goes), half at random.
                created = key / 10 if key % 2 else rnd.uniform(0, 3000)
                measures[key] = [created, None if key % 5 == 0 else created + rnd.uniform(0, 100)]
                mk.add(key)
                bisect.insort(plain, key)
            elif key in measures and rnd.random() < 0.5:
                measures[key][1] = rnd.uniform(0, 3100)  # reconnected
                mk.touch(key)
            elif plain:
                victim = plain.pop(rnd.randrange(len(plain)))
                del measures[victim]
                assert mk.remove(victim)
        for _ in range(30):
            m, low = rnd.randrange(2), rnd.uniform(-10, 3100)
            high = low + rnd.choice((0.5, 20, 400, 5000))
            below = rnd.choice((None, rnd.randrange(0, 31_000)))
            expected = [
                k
                for k in reversed(plain)
                if (below is None or k < below) and measures[k][m] is not None and low <= measures[k][m] <= high
            ]
            assert list(mk.within(m, low, high, below)) == expected, (round_, m, low, high, below)


def test_a_range_of_keys_measured_in_their_order_is_read_without_looking_at_the_others():
    looked = []

    def created(key: int) -> float:
        looked.append(key)
        return float(key)

    mk = MeasuredKeys((created,))
    for key in range(20 * LOAD):
        mk.add(key)
    looked.clear()
    assert list(mk.within(0, 100.0, 110.0)) == list(range(110, 99, -1))
    assert len(looked) <= 2 * LOAD  # the chunk holding them, not every key


def test_top_slices_a_page_from_any_position():
    keys = list(range(5 * LOAD + 7))
    sk = SortedKeys(keys)
    for skip in (0, 3, LOAD - 1, LOAD, 2 * LOAD + 5, len(keys) - 2, len(keys), len(keys) + 9):
        for count in (0, 1, 100, LOAD + 3, len(keys)):
            assert sk.top(skip, count) == keys[::-1][skip : skip + count], (skip, count)
