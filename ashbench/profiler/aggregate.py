"""Turn the raw records of a run into a Profile: credit each record to every module on its stack.

A record's module stack is the nesting of module calls when it was made (a module called by another
module that is not its parent still counts under its caller). Every module on the stack is credited
(inclusive counts), once per occurrence; the last one also owns it (own counts). Rows are summed per
stack first and then carried up the stacks, so each credit is one list addition per distinct stack
prefix rather than one per record and module. A stack's row carries, after its ROW_FIELDS, one column per
branch counting the records of that branch, so the same pass gives each module its branches.
"""

from __future__ import annotations

from types import MappingProxyType

from ashbench.profiler.counts import NEURON_FIELDS, OP_FIELDS, ROW_FIELDS
from ashbench.profiler.result import EMPTY_ROW, LayerRecord, Profile
from ashbench.profiler.walk import NEURON, subtree_params

_WIDTH = len(ROW_FIELDS)
_OPS = len(OP_FIELDS)
_ELEMENTWISE = OP_FIELDS.index("elementwise_ops")
_NO_NEURON_FIELDS = [0] * len(NEURON_FIELDS)
_NO_STEPS = ((), ())  # spikes and units per step of a layer without neurons (shared: read only)
_NO_SPLIT = MappingProxyType({})  # own elementwise ops per branch of a layer without ops of its own


def _add(a: list, b: list) -> list:
    return [x + y for x, y in zip(a, b)]


def _add_steps(a: tuple, b: tuple) -> tuple:
    """(spikes per step, units per step) + the same, step by step, the shorter padded with zeros."""
    (spikes, units), (more_spikes, more_units) = (a, b) if len(a[0]) >= len(b[0]) else (b, a)
    spikes, units = spikes[:], units[:]
    for t, (s, u) in enumerate(zip(more_spikes, more_units)):
        spikes[t] += s
        units[t] += u
    return spikes, units


def _summed(sums: dict, key, value, add=_add) -> None:
    found = sums.get(key)
    sums[key] = value if found is None else add(found, value)


# Up to this many stacks ``up_the_stacks`` credits each row to every name on its stack directly (one addition
# per name and stack: fewer steps than carrying for a small model); above it it carries rows up the levels.
DIRECT_STACKS = 12


def up_the_stacks(rows: dict, add=_add) -> dict:
    """name -> the sum (``add``), over every stack and every position on it where the name occurs, of
    the rows of that stack and of every stack extending it: what ``for name in stack: total[name] +=
    row`` gives over all (stack, row) pairs. Beyond ``DIRECT_STACKS`` stacks the rows are first carried from
    each stack to its prefix (one addition per distinct prefix rather than per name on every stack)."""
    inclusive: dict = {}
    if len(rows) <= DIRECT_STACKS:
        for stack, row in rows.items():
            for name in stack:
                found = inclusive.get(name)
                inclusive[name] = row if found is None else add(found, row)
        return inclusive
    levels: dict[int, dict] = {}
    for stack, row in rows.items():
        levels.setdefault(len(stack), {})[stack] = row
    for n in range(max(levels, default=0), 0, -1):
        parents = levels.setdefault(n - 1, {})
        for stack, row in levels.get(n, {}).items():
            _summed(inclusive, stack[-1], row, add)
            _summed(parents, stack[:-1], row, add)
    return inclusive


def _neuron_row(stats) -> list:
    """The ROW_FIELDS of one neuron module's counts (its spikes and updates, bytes in and out)."""
    counts = {
        "neuron_updates": stats.updates,
        "spikes": sum(stats.spikes_per_step),
        "membrane_read_bytes": stats.updates * stats.membrane_bytes_per_update,
        "membrane_write_bytes": stats.updates * stats.membrane_bytes_per_update,
        "activation_read_bytes": stats.input_bytes,
        "activation_write_bytes": stats.output_bytes,
    }
    return [counts.get(name, 0) for name in ROW_FIELDS]


class _Sums:
    """The run's records and neurons summed per module stack (rows widened by a record count per branch of
    ``branch_names``), per owning module, per branch and per op."""

    def __init__(self, run):
        self.branch_names = list(dict.fromkeys(branch for _, _, branch in run.records))
        one_of = {b: [int(b == other) for other in self.branch_names] for b in self.branch_names}
        self.stacks, self.steps, self.own, self.own_elementwise, self.branches, self.by_op = {}, {}, {}, {}, {}, {}
        for (stack, op, branch), row in run.records.items():
            full = row[:_OPS] + _NO_NEURON_FIELDS  # the record's OP_FIELDS, then zero neuron fields: ROW_FIELDS
            _summed(self.stacks, stack, full + one_of[branch])
            owner = stack[-1] if stack else ""
            _summed(self.own, owner, full)
            split = self.own_elementwise.setdefault(owner, {})
            split[branch] = split.get(branch, 0) + row[_ELEMENTWISE]
            _summed(self.branches, branch, full)  # rows are never added in place (_add): shared safely
            _summed(self.by_op, op, row)
        no_branch = [0] * len(self.branch_names)
        for name, stats in run.neurons.items():
            full, stack = _neuron_row(stats), run.neuron_stacks[name] + (name,)
            _summed(self.stacks, stack, full + no_branch)
            _summed(self.own, name, full)
            _summed(self.branches, "neuron", full)
            steps = (stats.spikes_per_step, [stats.units_per_step] * len(stats.spikes_per_step))
            _summed(self.steps, stack, steps, _add_steps)


def build_profile(modules, run, model_name, batch, layout, spikes, input_t) -> Profile:
    """``modules``: the model's ``named_modules()``."""
    sums = _Sums(run)
    inclusive = up_the_stacks(sums.stacks)
    steps_of = up_the_stacks(sums.steps, _add_steps) if sums.steps else {}
    params = run.walk.params if modules == run.walk.modules else subtree_params(modules)  # the forward added modules
    kinds, branch_names = run.walk.kinds, sums.branch_names  # a module added by the forward is no neuron
    own, split_of = sums.own, sums.own_elementwise
    layers = []
    for name, module in modules:
        row = inclusive.get(name)
        if row is None or not any(row):
            if name:
                continue  # did not run
            row = [0] * (_WIDTH + len(branch_names))
        spikes_t, units_t = steps_of.get(name, _NO_STEPS)
        kind = kinds.get(id(module))
        layers.append(LayerRecord(name, type(module).__name__, name.count(".") + 1 if name else 0, params[id(module)],
                                  kind is not None and kind[1] == NEURON, row[:_WIDTH],
                                  {b for b, n in zip(branch_names, row[_WIDTH:]) if n}, spikes_t, units_t,
                                  own.get(name, EMPTY_ROW), split_of.get(name, _NO_SPLIT)))
    totals = [sum(column) for column in zip(*sums.branches.values())] if sums.branches else list(EMPTY_ROW)
    unsupported = [{"op": op, "module": module, "calls": calls}
                   for (op, module), calls in sorted(run.unsupported.items())] if run.unsupported else []
    all_steps = ([], [])
    for steps in sums.steps.values():
        all_steps = _add_steps(all_steps, steps)
    return Profile(model_name, batch, layout, spikes, layers, totals, sums.branches, sums.by_op, unsupported,
                   all_steps[0], all_steps[1], params[id(modules[0][1])], input_t, list(run.warnings))
