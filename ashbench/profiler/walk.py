"""The one walk of a model's module tree that a profile makes, and what it finds.

For every module of ``named_modules()``: how its forward is counted (``PLAIN`` op by op; ``NEURON`` whole,
from its input and output spikes, with the counting mode off; ``WHOLE`` as one op, with the counting mode
off: ``rules.WHOLE_MODULES``), the fast paths to switch off for the forward
(``rules.UNCOUNTABLE_FAST_PATHS``), the parameters and buffers (weights), and whose neuron state to reset:
each installed framework one of whose stateful modules the model holds (its ``NeuronFramework.stateful()``
classes: spikingjelly's ``MemoryModule``, snnTorch's ``SpikingNeuron``, sinabs' ``StatefulLayer``), and the
model's own declared neuron classes through their ``reset()`` method, if any. A model with none of them
(an ANN) is not reset at all: a ``reset()`` method of an ANN module (which may re-initialise weights) is
never called. And every module's parameter count, its own and its descendants' (``subtree_params``): taken
here, before the forward, and again after it only when the forward added modules (``aggregate.py``).

What depends on a module's type alone (may it be a neuron, its fast paths, its frameworks' state) is read once
per type (``_TYPE_FACTS``); what depends on the instance (a framework's per-instance neuron test, the
``WHOLE_MODULES`` table, which may change) is read per module.
"""

from __future__ import annotations

from ashbench.errors import InputError
from ashbench.profiler.neurons import installed_frameworks, neuron_types
from ashbench.profiler.rules import UNCOUNTABLE_FAST_PATHS, WHOLE_MODULES
from ashbench.profiler.tracking import LAZY_MESSAGE

PLAIN, NEURON, WHOLE = 0, 1, 2


class ModelWalk:
    """What a profile needs to know of ``modules`` (a model's ``named_modules()``), found in one pass."""

    def __init__(self, modules: list, extra_neuron_types: tuple = ()):
        self.extra_neuron_types = tuple(extra_neuron_types)
        self.installed = installed_frameworks()  # [(NeuronFramework, its neuron classes)], registry order
        self.neuron_classes = neuron_types(self.installed) + self.extra_neuron_types
        self.kinds: dict[int, tuple] = {}  # id(module) -> (name, PLAIN / NEURON / WHOLE)
        self.fast_paths: list = []  # (module, attribute) set to False for the forward
        self.weights: list = []  # parameters and buffers (model.parameters() and model.buffers())
        self.warnings: list[str] = []
        stateful = [(fw, fw.stateful()) for fw, _ in self.installed]
        facts_of, key = _type_facts_table(self.neuron_classes, stateful, self.extra_neuron_types)
        found, declared = set(), []
        for name, module in modules:  # one pass, every module: keep it lean
            cls = type(module)
            facts = facts_of.get(cls)
            if facts is None:
                facts = facts_of[cls] = _type_facts(cls, key)
            maybe_neuron, fast_attributes, frameworks, declared_type = facts
            kind = NEURON if maybe_neuron and isinstance(module, self.neuron_classes) else \
                WHOLE if cls in WHOLE_MODULES else PLAIN  # WHOLE_MODULES may change: looked up each time
            self.kinds[id(module)] = (name, kind)
            if kind == NEURON and _holds_a_matrix(module):
                self.warnings.append(f"neuron '{name}' ({cls.__name__}) holds weights (e.g. a recurrent "
                                     "connection); ops inside a neuron are its membrane update, so their "
                                     "MACs/synops are not counted")
            for attribute in fast_attributes:
                if getattr(module, attribute, False):
                    self.fast_paths.append((module, attribute))
            if module._parameters:
                self.weights.extend(p for p in module._parameters.values() if p is not None)
            if module._buffers:
                self.weights.extend(b for b in module._buffers.values() if b is not None)
            if frameworks:
                found.update(frameworks)
            elif declared_type and isinstance(module, self.extra_neuron_types) \
                    and callable(getattr(module, "reset", None)):
                declared.append(module)
        self.present = [fw for fw, _ in stateful if id(fw) in found]  # the frameworks to reset
        self.declared = declared  # declared neurons of no framework, with a reset() of their own
        self.modules = modules
        self.params = subtree_params(modules)  # id(module) -> its parameters and its descendants' (numel)

    def reset(self, model) -> None:
        """Clear the neuron state the model holds (before and after a profile)."""
        for fw in self.present:
            fw.reset(model)
        for module in self.declared:
            module.reset()


def _holds_a_matrix(module) -> bool:
    """Whether ``module`` or a submodule holds a parameter of two or more dimensions (a weight matrix)."""
    return any(p is not None and p.dim() >= 2 for m in module.modules() for p in m._parameters.values())


# What the walk needs to know of a module type, found once per type and set of classes (they change when a
# framework is imported, or with a profile's own ``neuron_classes``): whether an instance may be a neuron,
# the attributes of ``rules.UNCOUNTABLE_FAST_PATHS`` to check, the ids of the frameworks with state of that
# type, whether it is a declared neuron class of no framework. Read with ``issubclass`` on the module's type.
# A class whose ``isinstance`` is a test per instance (``frameworks.neuron_class``) is read through its
# ``ashbench_bases()``, the classes every module it accepts derives from; a class with a metaclass of its own
# (an ABC, a Protocol) is tested per instance, always.
_TYPE_FACTS: dict[tuple, dict[type, tuple]] = {}
_TYPE_FACTS_TABLES = 64  # tables kept (one per distinct set of classes); past it they are all dropped


def _by_type(classes: tuple) -> tuple[tuple, bool]:
    """(classes an issubclass test of a module's type stands for, whether any must be tested per instance
    whatever the type). Read anew each profile: a per-instance class's ``ashbench_bases()`` are the
    framework's classes of the moment (a reloaded framework has new ones)."""
    found, always = [], False
    for cls in classes:
        bases = getattr(cls, "ashbench_bases", None)
        if bases is not None and callable(bases):
            found.extend(bases())
        elif type(cls) is type:
            found.append(cls)
        else:
            always = True
    return tuple(found), always


def _type_facts_table(neuron_classes: tuple, stateful: list, extra: tuple) -> tuple[dict, tuple]:
    neurons = _by_type(neuron_classes)
    states = tuple((id(fw), _by_type(classes)[0]) for fw, classes in stateful)
    key = (neurons, states, _by_type(extra), UNCOUNTABLE_FAST_PATHS)  # the last: a new table if it is replaced
    table = _TYPE_FACTS.get(key)
    if table is None:
        if len(_TYPE_FACTS) >= _TYPE_FACTS_TABLES:
            _TYPE_FACTS.clear()
        table = _TYPE_FACTS[key] = {}
    return table, key


def _type_facts(cls: type, key: tuple) -> tuple:
    (neurons, always), states, (extra, extra_always), fast_paths = key
    maybe_neuron = always or issubclass(cls, neurons)
    fast_attributes = tuple(attribute for base, attribute in fast_paths if issubclass(cls, base))
    frameworks = frozenset(fw for fw, classes in states if classes and issubclass(cls, classes))
    return maybe_neuron, fast_attributes, frameworks, extra_always or issubclass(cls, extra)


def subtree_params(modules) -> dict[int, int]:
    """id(module) -> ``sum(p.numel() for p in module.parameters())`` for every module of ``modules`` (a
    model's ``named_modules()``; InputError for an uninitialised lazy parameter, which has no size yet): added up
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
                try:
                    count += p.numel()
                except ValueError as exc:  # an UninitializedParameter
                    raise InputError(LAZY_MESSAGE) from exc
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
    """``subtree_params`` where modules or parameters are shared: each module's distinct parameters
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
