"""Turn the raw records of a run into a Profile: credit each record to every module on its stack."""

from __future__ import annotations

from ashbench.profiler.counts import OP_FIELDS, add_into, empty_counts
from ashbench.profiler.result import LayerRecord, Profile, merge_branch


def _layer_table(modules, neuron_classes) -> dict[str, LayerRecord]:
    """One record per module of ``named_modules()`` (``modules``), root first."""
    params = _subtree_params(modules)
    table = {}
    for name, module in modules:
        depth = 0 if name == "" else name.count(".") + 1
        table[name] = LayerRecord(name, type(module).__name__, depth, params[id(module)],
                                  isinstance(module, neuron_classes))
    return table


def _subtree_params(modules) -> dict[int, int]:
    """id(module) -> ``sum(p.numel() for p in module.parameters())`` for every module: added up
    from the leaves when no parameter is shared and every module reached from more than one parent
    is an empty leaf (no parameters, no children: e.g. one surrogate-function module shared by every
    neuron), which adds 0 to each parent; otherwise (shared modules with parameters, or shared
    parameters, counted once per subtree) module by module."""
    own, seen, listed, reached = {}, set(), 0, set()
    shared_ok = True
    for _, module in modules:
        count = 0
        for p in module._parameters.values():
            if p is not None:
                seen.add(id(p))
                listed += 1
                count += p.numel()
        own[id(module)] = count
        for child in module._modules.values():
            if child is None:
                continue
            if id(child) in reached and (any(p is not None for p in child._parameters.values()) or
                                         any(c is not None for c in child._modules.values())):
                shared_ok = False
            reached.add(id(child))
    if not shared_ok or len(seen) != listed:
        return _shared_subtree_params(modules)
    for _, module in reversed(modules):  # pre-order reversed: every child before its parent
        for child in module._modules.values():
            if child is not None:
                own[id(module)] += own[id(child)]
    return own


def _shared_subtree_params(modules) -> dict[int, int]:
    """``_subtree_params`` where modules or parameters are shared: each module's distinct parameters
    ({id: numel}, the set ``module.parameters()`` yields), merged from its children's, memoised."""
    memo: dict[int, dict[int, int]] = {}

    def params_of(module) -> dict[int, int]:
        found = memo.get(id(module))
        if found is None:
            found = {id(p): p.numel() for p in module._parameters.values() if p is not None}
            for child in module._modules.values():
                if child is not None:
                    found.update(params_of(child))
            memo[id(module)] = found
        return found

    return {id(module): sum(params_of(module).values()) for _, module in modules}


def _op_records(run, layers, totals, branches, by_op) -> None:
    for (stack, op, branch), row in run.records.items():
        counts = dict(zip(OP_FIELDS, row[:-1]))
        add_into(totals, counts)
        merge_branch(branches, branch, counts)
        add_into(by_op.setdefault(op, {"calls": 0, **dict.fromkeys(OP_FIELDS, 0)}), {**counts, "calls": row[-1]})
        for name in stack:
            layers[name].branches.add(branch)
            add_into(layers[name].counts, counts)
        owner = layers[stack[-1] if stack else ""]
        add_into(owner.own, counts)
        add_into(owner.own_elementwise, {branch: counts["elementwise_ops"]})


def _neuron_counts(stats) -> dict:
    return {
        "neuron_updates": stats.updates,
        "spikes": sum(stats.spikes_per_step),
        "membrane_read_bytes": stats.updates * stats.membrane_bytes_per_update,
        "membrane_write_bytes": stats.updates * stats.membrane_bytes_per_update,
        "activation_read_bytes": stats.input_bytes,
        "activation_write_bytes": stats.output_bytes,
    }


def _neuron_records(run, layers, totals, branches, steps) -> None:
    for name, stats in run.neurons.items():
        counts = _neuron_counts(stats)
        add_into(totals, counts)
        merge_branch(branches, "neuron", counts)
        steps.add_steps(stats.spikes_per_step, stats.units_per_step)
        for ancestor in run.neuron_stacks[name] + (name,):
            layers[ancestor].add_steps(stats.spikes_per_step, stats.units_per_step)
            add_into(layers[ancestor].counts, counts)
        add_into(layers[name].own, counts)


def build_profile(modules, run, model_name, batch, layout, spikes, input_t) -> Profile:
    """``modules``: the model's ``named_modules()``."""
    layers = _layer_table(modules, run.neuron_classes)
    totals, branches, by_op = empty_counts(), {}, {}
    steps = LayerRecord("", "", 0)
    _op_records(run, layers, totals, branches, by_op)
    _neuron_records(run, layers, totals, branches, steps)
    unsupported = [{"op": op, "module": module, "calls": calls}
                   for (op, module), calls in sorted(run.unsupported.items())]
    return Profile(model_name, batch, layout, spikes, [r for r in layers.values() if _ran(r)], totals, branches,
                   by_op, unsupported, steps.spikes_per_step, steps.units_per_step,
                   layers[""].params, input_t, list(run.warnings))


def _ran(record: LayerRecord) -> bool:
    return record.name == "" or any(record.counts.values()) or bool(record.branches)
