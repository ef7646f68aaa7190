"""Counts computed after the forward pass, from tensors that must stay as they were (``Later``).

A rule whose count needs a reduction over an event tensor (a convolution's fan-out sum, an event
total, co-active pairs) returns a :class:`Later` in place of the integer. The engine adds its value
to the op's record after the forward, where the reductions run one after another instead of between
the model's kernels (a reduction costs several times more there: the caches hold the model's data).
A ``Later`` remembers the ``_version`` of every tensor it reads: one changed in place before it is
computed voids the run, which the engine makes again computing every count at once. Rules add the
counts of parts (attention, fused layers) and scale them by integers, so sums and integer multiples
of ``Later`` values are ``Later`` values.
"""

from __future__ import annotations


class Later:
    """An integer count ``compute()`` of the tensors ``watched``, whose versions were ``versions``."""

    __slots__ = ("compute", "watched", "versions")

    def __init__(self, compute, watched=(), versions=None):
        self.compute = compute
        self.watched = tuple(watched)
        self.versions = tuple(t._version for t in self.watched) if versions is None else tuple(versions)

    def unchanged(self) -> bool:
        """No watched tensor was modified in place since this count was made."""
        return all(t._version == v for t, v in zip(self.watched, self.versions))

    @property
    def nbytes(self) -> int:
        """Bytes of the tensors this count keeps alive until it is computed."""
        return sum(t.numel() * t.element_size() for t in self.watched)

    def __add__(self, other):
        if isinstance(other, Later):
            return Later(lambda: self.compute() + other.compute(), self.watched + other.watched,
                         self.versions + other.versions)
        if other == 0:
            return self
        return Later(lambda: self.compute() + other, self.watched, self.versions)

    __radd__ = __add__

    def __mul__(self, factor: int):
        return Later(lambda: self.compute() * factor, self.watched, self.versions)

    __rmul__ = __mul__

