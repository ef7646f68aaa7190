"""aggregate.up_the_stacks (inclusive credit along module-call stacks) against the naive loop it replaces."""

import random

from ashbench.profiler.aggregate import DIRECT_STACKS, _add_steps, up_the_stacks


def _naive(rows: dict, add) -> dict:
    total: dict = {}
    for stack, row in rows.items():
        for name in stack:
            total[name] = row if name not in total else add(total[name], row)
    return total


def _add(a, b):
    return [x + y for x, y in zip(a, b)]


def _union(a, b):
    return a | b


def test_hand_example_with_a_module_called_from_a_non_parent_and_a_recursion():
    # stacks: root > a > b (3), root > a (5), root > c > b (7: b called from c), root > a > a (11: a calls
    # itself) -> root 3+5+7+11 = 26; a 3+5 + 11 twice (two places on its stack) = 30; b 3+7 = 10; c 7
    rows = {("", "a", "b"): [3], ("", "a"): [5], ("", "c", "b"): [7], ("", "a", "a"): [11]}
    assert up_the_stacks(rows) == {"": [26], "a": [30], "b": [10], "c": [7]} == _naive(rows, _add)


def test_random_stacks_equal_the_naive_credit_for_rows_sets_and_steps():
    # up to 40 stacks: both ways of crediting (directly up to DIRECT_STACKS stacks, carried above it)
    rng = random.Random(0)
    names = ["", "a", "b", "c", "a.x", "b.y"]
    sizes = []
    for _ in range(300):
        stacks = {tuple(rng.choice(names) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 40))}
        sizes.append(len(stacks))
        rows = {s: [rng.randint(0, 9), rng.randint(0, 9)] for s in stacks}
        assert up_the_stacks(rows) == _naive(rows, _add)
        sets = {s: {rng.choice("xyz")} for s in stacks}
        assert up_the_stacks(sets, _union) == _naive(sets, _union)
        steps = {s: ([rng.randint(0, 3) for _ in range(n)], [rng.randint(1, 4)] * n)
                 for s in stacks for n in [rng.randint(0, 4)]}
        assert up_the_stacks(steps, _add_steps) == _naive(steps, _add_steps)
    assert min(sizes) <= DIRECT_STACKS < max(sizes)


def test_steps_add_step_by_step_padding_the_shorter():
    # (spikes, units) per step: [1, 2] + [10, 20, 30] = [11, 22, 30]; units [4, 4] + [1, 1, 1] = [5, 5, 1]
    assert _add_steps(([1, 2], [4, 4]), ([10, 20, 30], [1, 1, 1])) == ([11, 22, 30], [5, 5, 1])
