"""Which tensors hold events and which are weights, by provenance and identity.

Events: a tensor holds events because of where it comes from, never because of its values
alone. Event tensors are (1) the spike outputs of spiking neurons (validated against the declared
semantics when they are emitted), (2) tensors entering the model from outside (its inputs) whose
values obey the semantics' input rule (an event camera's frames; ``auto``: 0/1 values), and
(3) what event-preserving ops make of event tensors (``provenance.py``: views, copies, cat,
padding, max pooling, and sums of event tensors, whose values are event counts). Anything else,
in particular a product of event tensors (attention scores) or anything mixed with real values,
is real-valued, whatever its values. Marks are kept per storage while the tensor lives and is not
modified in place (``_version``).

Weights: parameters and buffers are recognised by the address of the storage they had at the start
of the profile. The tracker holds those storages for the profile's duration, so no other tensor can
be given one of those addresses: a buffer a model replaces on every call (snnTorch's ``mem``) can
never make a later activation at a reused address pass for a weight.

An event mark lives as long as its storage, not a Python tensor object: tensors made inside C++
decompositions (``linear`` -> ``view`` -> ``addmm``) get short-lived wrappers. It holds a ``weakref`` to the
storage's Python object, which PyTorch keeps alive exactly as long as the storage itself (PyObject
preservation; ``tests/test_provenance.py`` checks it), at a fifth of the cost of a ``StorageWeakRef``.
"""

from __future__ import annotations

import weakref

import torch
from torch import Tensor

from ashbench.errors import InputError
from ashbench.profiler.spikes import BINARY, SpikeSemantics, first_element

LAZY_MESSAGE = ("the model has uninitialised lazy parameters or buffers (a LazyLinear, LazyConv, ...): run one "
                "forward on an input of the right shape before profiling it")
NOW = float("inf")  # ``SpikeTracker.as_of`` outside a held op's count: every mark is seen


def _storage_ptr(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


class SpikeTracker:
    def __init__(self, semantics: SpikeSemantics, params):
        self.semantics = semantics
        self._params = {}  # storage address -> the storage itself, held so the address stays its own
        try:
            for p in params:
                storage = p.untyped_storage()
                self._params[storage.data_ptr()] = storage
        except ValueError as exc:  # an UninitializedParameter / UninitializedBuffer has no storage
            raise InputError(LAZY_MESSAGE) from exc
        self._known: dict[int, tuple] = {}  # storage address -> (weakref to the storage, _version, clock when marked)
        self.clock = 0  # ops held for a later count so far: a mark made after op k has a clock above k
        self.as_of = NOW  # while a held op is counted, its clock: marks made after it ran are not seen
        self._looked: dict[tuple, bool] = {}
        self.spike_like_unmarked = False  # a real operand of a MAC op held only 0/1 values
        self.watch = True  # look for such operands (until a recognised neuron has run)

    def is_param(self, t: torch.Tensor) -> bool:
        return _storage_ptr(t) in self._params

    def mark(self, t: torch.Tensor) -> None:
        """Remember that the whole storage of ``t`` holds events (call only after validation); a storage
        marked already, unchanged since, keeps the clock of its first mark."""
        storage = t.untyped_storage()
        if storage.nbytes() == t.numel() * t.element_size():
            ptr = storage.data_ptr()
            entry = self._known.get(ptr)
            if entry is None or entry[1] != t._version or entry[0]() is None:
                self._known[ptr] = (weakref.ref(storage), t._version, self.clock)

    def mark_inputs(self, tensors) -> None:
        """Mark the model's input tensors that obey the semantics' input rule."""
        for t in tensors:
            if torch.is_tensor(t) and not t.is_meta and not self.is_param(t):
                if self.semantics.is_input_spike(t):
                    self.mark(t)
                elif _may_be_binary(t):
                    # nor 0/1 values (every semantics admits those): ``look_spike_like`` need not scan it again
                    # (one whose first element is neither, it drops at once)
                    self._looked[_view_key(t)] = False

    def known_spike(self, t: torch.Tensor, ptr: int | None = None) -> bool:
        entry = self._known.get(_storage_ptr(t) if ptr is None else ptr)
        return entry is not None and entry[1] == t._version and entry[2] <= self.as_of and entry[0]() is not None

    def spike(self, t: torch.Tensor):
        """Event tensor of an event-holding activation ``t``; None for real values or parameters."""
        if not torch.is_tensor(t) or t.is_meta:
            return None
        if self.known_spike(t):
            return self.semantics.events(t)
        if self.watch:
            self.look_spike_like(t)
        return None

    def look_spike_like(self, t: torch.Tensor) -> None:
        """Note when a real-valued activation holds only 0/1 values: spikes from a neuron the profiler does
        not recognise (reported as a warning). A first element other than 0 or 1 settles it at once (the
        common case); otherwise the whole tensor is checked, once per tensor view."""
        if self.spike_like_unmarked or not _may_be_binary(t):
            return
        if self.is_param(t):
            return
        key = _view_key(t)
        if key not in self._looked:
            self._looked[key] = BINARY.is_spike(t) and bool(t.any())
            self.spike_like_unmarked = self._looked[key]

    def propagate(self, inputs, out) -> None:
        """Mark the outputs of an event-preserving op whose tensor inputs all hold events."""
        known = self._known
        if not known:
            return  # nothing holds events yet
        shared = set()  # a view's storage is marked already
        for a in tensors_of(inputs):
            ptr = a.untyped_storage().data_ptr()
            entry = known.get(ptr)
            if entry is None or entry[1] != a._version or entry[0]() is None:
                return
            shared.add(ptr)
        if not shared:
            return
        for o in tensors_of(out):
            if (o.is_floating_point() or o.dtype == torch.bool) and _storage_ptr(o) not in shared:
                self.mark(o)


def _may_be_binary(t: torch.Tensor) -> bool:
    """Whether ``t`` is a non-empty floating tensor whose first element is 0 or 1 (only then can it hold 0/1
    values alone: any other first element settles it at once)."""
    return t.is_floating_point() and t.numel() > 0 and first_element(t) in (0, 1)


def _view_key(t: torch.Tensor) -> tuple:
    """What a value check of ``t`` depends on: its storage, the view of it, and the storage's version."""
    return _storage_ptr(t), t.storage_offset(), tuple(t.shape), t.stride(), t._version


def tensors_of(obj) -> list:
    """The tensors among the leaves of nested lists/tuples of op arguments, in order (``_flat``)."""
    if isinstance(obj, Tensor):
        return [obj]
    if not isinstance(obj, (list, tuple)):
        return []
    found = []
    for item in obj:
        if isinstance(item, Tensor):
            found.append(item)
        elif isinstance(item, (list, tuple)):  # a list of tensors (cat) or of sizes (view)
            for leaf in item:
                if isinstance(leaf, Tensor):
                    found.append(leaf)
                elif isinstance(leaf, (list, tuple)):
                    found.extend(t for t in _flat(leaf) if isinstance(t, Tensor))
    return found


def _flat(obj):
    """The leaves of nested lists/tuples of op arguments (most op arguments are flat)."""
    if not isinstance(obj, (list, tuple)):
        yield obj
        return
    for item in obj:
        if isinstance(item, (list, tuple)):
            yield from _flat(item)
        else:
            yield item
