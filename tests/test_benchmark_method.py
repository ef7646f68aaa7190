"""The timing method of benchmarks/profiler_overhead.py and field_overhead.py: the order of the variants."""

import os
from collections import Counter

import pytest
from helpers import import_benchmark


@pytest.fixture(scope="module")
def overhead():
    return import_benchmark("profiler_overhead")


def test_rounds_are_seeded_permutations(overhead):
    names = ["plain", "ashbench", "sj_opcount", "fvcore", "neurobench", "dispatch_noop"]
    orders = overhead.round_orders(names, 41)
    assert len(orders) == 41 and all(sorted(order) == sorted(names) for order in orders)
    assert orders == overhead.round_orders(names, 41)  # same seed, same orders: a rerun is the same method
    assert orders != overhead.round_orders(names, 41, seed=1)


def test_no_variant_always_follows_the_same_one(overhead):
    # A rotated order (round r starts at variant r mod 6) puts ashbench right after plain in 34 of 41 rounds
    # (all but rounds 1, 7, ..., 37, where it comes first); a shuffled one spreads its predecessors over all
    # 5 others, none in half of the rounds where it has one.
    names = ["plain", "ashbench", "sj_opcount", "fvcore", "neurobench", "dispatch_noop"]
    before = Counter()
    for order in overhead.round_orders(names, 41):
        i = order.index("ashbench")
        if i:
            before[order[i - 1]] += 1
    assert set(before) == set(names) - {"ashbench"}
    assert max(before.values()) < 0.5 * sum(before.values())


@pytest.mark.parametrize("name", ["field-snntorch-csnn", "field-spiking-resnet18", "field-lstm"])
def test_the_field_benchmarks_own_reset_clears_what_ashbench_clears(name):
    # field_overhead resets neuron state through the frameworks' own calls (no ashbench code between timed
    # calls): a forward after it gives what a forward after ashbench's reset_state gives, and what a fresh
    # model gives. The spiking ResNet's membranes carry over between forwards (a second forward without a
    # reset differs); the CSNN and the LSTM start every forward afresh, so for them this checks the calls run
    import torch

    from ashbench.models import MODELS
    from ashbench.profiler.engine import reset_state

    field = import_benchmark("field_overhead")
    torch.manual_seed(0)
    w = MODELS.get(name)(batch_size=2)
    with torch.no_grad():
        fresh = w.model(*w.inputs)
        carried = w.model(*w.inputs)  # from the membranes the first forward left
        field.reset_state(w.model)
        after_own = w.model(*w.inputs)
        w.model(*w.inputs)
        reset_state(w.model)
        after_ashbench = w.model(*w.inputs)
    first = lambda out: out[0] if isinstance(out, tuple) else out  # noqa: E731
    assert torch.equal(first(after_own), first(fresh)) and torch.equal(first(after_ashbench), first(fresh))
    assert torch.equal(first(carried), first(fresh)) == (name != "field-spiking-resnet18")


def test_the_field_benchmarks_reset_is_found_per_model_not_per_id():
    # The reset found for a model is cached by id; a model freed after its profile (the LSTM, whose reset holds
    # no reference to it) leaves its id to a later model. A stale entry under a live spiking model's id (what
    # such a reuse leaves) must not be taken for its reset: its membranes are cleared all the same.
    import torch

    from ashbench.models import MODELS

    field = import_benchmark("field_overhead")
    torch.manual_seed(0)
    w = MODELS.get("field-spiking-resnet18")(batch_size=2)
    field._RESETS[id(w.model)] = (object(), lambda: None)  # another object's entry under this id
    with torch.no_grad():
        fresh = w.model(*w.inputs)
        field.reset_state(w.model)
        after = w.model(*w.inputs)
    assert torch.equal(after, fresh)
    assert field._RESETS[id(w.model)][0] is w.model


def test_the_ab_copies_are_packages_of_their_own(tmp_path):
    # benchmarks/ab_overhead.py compares two renamed copies of ashbench, neither of them the harness's: every
    # import inside a copy must name the copy, or the "copy" would run the harness's (warm) modules
    import importlib
    import re
    import sys

    ab = import_benchmark("ab_overhead")
    path = ab.renamed_copy(ab.WORKTREE, "ashbench_t", str(tmp_path))
    sources = [open(os.path.join(d, f), encoding="utf-8").read()
               for d, _, files in os.walk(path) for f in files if f.endswith(".py")]
    assert sources and not any(re.search(r"^\s*(from|import) ashbench\b(?!_t)", s, re.M) for s in sources)
    sys.path.insert(0, str(tmp_path))
    try:
        engine = importlib.import_module("ashbench_t.profiler.engine")
        assert engine.__name__ == "ashbench_t.profiler.engine" and engine.profile.__module__ == engine.__name__
        assert engine.build_profile.__module__ == "ashbench_t.profiler.aggregate"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "ashbench_t" or n.startswith("ashbench_t.")]:
            del sys.modules[name]


@pytest.mark.parametrize("argv, message", [(["--models", "field-nope"], "error: unknown model 'field-nope'"),
                                           (["--batches", "2,x"], "error: --batches takes comma-separated integers")])
def test_the_field_benchmark_refuses_bad_options_in_one_line(argv, message, capsys):
    field = import_benchmark("field_overhead")
    with pytest.raises(SystemExit) as exit_:
        field.main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and "Traceback" not in err


def test_the_bound_benchmarks_shortcuts_skip_their_pieces_and_restore_them():
    # overhead_bound times the profile with pieces of it made free; each variant must really skip its pieces
    # (no ModelWalk made, no Profile returned, nothing counted, no input marked) and put the engine back after
    from ashbench.models import MODELS
    from ashbench.profiler import engine

    bound = import_benchmark("overhead_bound")
    w = MODELS.get("field-snntorch-csnn")(batch_size=2)
    real = engine.ModelWalk, engine.build_profile, engine._Run.flush_pending, engine.SpikeTracker.mark_inputs
    walks, inputs_checked = [], []
    engine.ModelWalk = lambda *a, **k: walks.append(1) or real[0](*a, **k)
    engine.SpikeTracker.mark_inputs = lambda tracker, tensors: inputs_checked.append(1) or real[3](tracker, tensors)
    counting_walk = engine.ModelWalk
    try:
        runners = {label: bound.shortcut_runner(w, skips) for label, skips in bound.VARIANTS.items()}
        walks.clear()  # each runner makes the one walk the 'walk' piece hands out
        results = {}
        for label, run in runners.items():
            walks.clear(), inputs_checked.clear()
            results[label] = run(w)
            assert walks == ([] if "walk" in bound.VARIANTS[label] else [1]), label
            assert inputs_checked == ([] if "input_check" in bound.VARIANTS[label] else [1]), label
            assert engine.ModelWalk is counting_walk and engine.build_profile is real[1], label  # put back
    finally:
        engine.ModelWalk, engine.build_profile, engine._Run.flush_pending, engine.SpikeTracker.mark_inputs = real
    assert results["unbuilt"] is None and results["neither"] is None
    full = results["ashbench"].to_dict()
    assert results["prewalked"].to_dict() == full  # the same counts from the one walk
    assert full["totals"]["synops"] > 0 and results["uncounted"].totals["synops"] == 0  # nothing counted
    assert full["totals"]["synops"] != results["unchecked"].totals["synops"]  # the 0/1 input was not taken for events
    assert (engine.ModelWalk, engine.build_profile, engine._Run.flush_pending) == real[:3]  # the engine is back
