"""Which activation tensors hold spikes, cheaply.

Neuron outputs are validated once and remembered by storage; views of them share the storage and
are recognised without a scan, and single-input structural ops (copies, max pooling) pass the
mark on. Any other activation is scanned once against the declared semantics and the verdict is
cached for that exact view while the tensor lives and is not modified in place (``_version``).
Parameters are never activations: weights are recognised by their storage.
"""

from __future__ import annotations

import weakref

import torch

from ashbench.profiler.spikes import SpikeSemantics


def _storage_ptr(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


class SpikeTracker:
    def __init__(self, semantics: SpikeSemantics, param_ptrs: set[int]):
        self.semantics = semantics
        self._params = param_ptrs
        self._known: dict[int, tuple] = {}
        self._scanned: dict[tuple, tuple] = {}

    def is_param(self, t: torch.Tensor) -> bool:
        return _storage_ptr(t) in self._params

    def mark(self, t: torch.Tensor) -> None:
        """Remember that the whole storage of ``t`` holds spikes (call only after validation)."""
        if t.untyped_storage().nbytes() == t.numel() * t.element_size():
            self._known[_storage_ptr(t)] = (weakref.ref(t), t._version)

    def known_spike(self, t: torch.Tensor, ptr: int | None = None) -> bool:
        entry = self._known.get(_storage_ptr(t) if ptr is None else ptr)
        return entry is not None and entry[0]() is not None and entry[1] == t._version

    def spike(self, t: torch.Tensor):
        """Event tensor of a spike-valued activation ``t``; None for real values or parameters."""
        if not torch.is_tensor(t) or t.device.type == "meta":
            return None
        ptr = _storage_ptr(t)
        if ptr in self._params:
            return None
        if self.known_spike(t, ptr) or self._scan(t, ptr):
            return self.semantics.events(t)
        return None

    def _scan(self, t: torch.Tensor, ptr: int) -> bool:
        key = (ptr, t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
        entry = self._scanned.get(key)
        if entry is not None and entry[0]() is not None and entry[1] == t._version:
            return entry[2]
        verdict = self.semantics.is_spike(t)
        self._scanned[key] = (weakref.ref(t), t._version, verdict)
        return verdict

    def propagate(self, inputs, out) -> None:
        """Mark the outputs of a structural op whose tensor inputs are all known spikes."""
        tensors = [a for a in _flat(inputs) if torch.is_tensor(a)]
        if tensors and all(self.known_spike(a) for a in tensors):
            for o in _flat(out):
                if torch.is_tensor(o) and o.is_floating_point():
                    self.mark(o)


def _flat(obj):
    if isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _flat(item)
    else:
        yield obj
