"""The one walk of a model's module tree that a profile makes, and what it finds.

For every module of ``named_modules()``: how its forward is counted (``PLAIN`` op by op; ``NEURON`` whole,
from its input and output spikes, with the counting mode off; ``WHOLE`` as one op, with the counting mode
off: ``rules.WHOLE_MODULES``), the fast paths to switch off for the forward
(``rules.UNCOUNTABLE_FAST_PATHS``), the parameters and buffers (weights), and whose neuron state to reset:
each installed framework one of whose stateful modules the model holds (its ``NeuronFramework.stateful()``
classes: spikingjelly's ``MemoryModule``, snnTorch's ``SpikingNeuron``, sinabs' ``StatefulLayer``), and the
model's own declared neuron classes through their ``reset()`` method, if any. A model with none of them
(an ANN) is not reset at all: a ``reset()`` method of an ANN module (which may re-initialise weights) is
never called.
"""

from __future__ import annotations

from ashbench.profiler.neurons import installed_frameworks, neuron_types
from ashbench.profiler.rules import UNCOUNTABLE_FAST_PATHS, WHOLE_MODULES

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
        any_stateful = tuple(cls for _, classes in stateful for cls in classes)
        found, declared = set(), []
        for name, module in modules:  # one pass, every module: keep it lean
            is_neuron = isinstance(module, self.neuron_classes)
            self.kinds[id(module)] = (name, NEURON if is_neuron else WHOLE if type(module) in WHOLE_MODULES else PLAIN)
            if is_neuron and _holds_a_matrix(module):
                self.warnings.append(f"neuron '{name}' ({type(module).__name__}) holds weights (e.g. a recurrent "
                                     "connection); ops inside a neuron are its membrane update, so their "
                                     "MACs/synops are not counted")
            for cls, attribute in UNCOUNTABLE_FAST_PATHS:
                if isinstance(module, cls) and getattr(module, attribute, False):
                    self.fast_paths.append((module, attribute))
            if module._parameters:
                self.weights.extend(p for p in module._parameters.values() if p is not None)
            if module._buffers:
                self.weights.extend(b for b in module._buffers.values() if b is not None)
            if any_stateful and isinstance(module, any_stateful):
                found.update(id(fw) for fw, classes in stateful if isinstance(module, classes))
            elif self.extra_neuron_types and isinstance(module, self.extra_neuron_types) \
                    and callable(getattr(module, "reset", None)):
                declared.append(module)
        self.present = [fw for fw, _ in stateful if id(fw) in found]  # the frameworks to reset
        self.declared = declared  # declared neurons of no framework, with a reset() of their own

    def reset(self, model) -> None:
        """Clear the neuron state the model holds (before and after a profile)."""
        for fw in self.present:
            fw.reset(model)
        for module in self.declared:
            module.reset()


def _holds_a_matrix(module) -> bool:
    """Whether ``module`` or a submodule holds a parameter of two or more dimensions (a weight matrix)."""
    return any(p is not None and p.dim() >= 2 for m in module.modules() for p in m._parameters.values())
