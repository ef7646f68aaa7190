"""Spike semantics: which tensor values count as spikes, and how many events a value carries.

Three semantics, declared by the user (never guessed):

- ``binary``   values in {0, 1}; one event per 1.
- ``ternary``  values in {-1, 0, 1}; one event per non-zero (a -1 is a negative spike).
- ``multi:N``  integer values in {0, ..., N}; a value k carries k events (a SEW residual sum of
  two spikes, value 2, is two synaptic events downstream).

A tensor "is spike-valued" when every element obeys the declared semantics. Activations that are
not spike-valued are real-valued (ANN work, counted as MACs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ashbench.errors import InputError


@dataclass(frozen=True)
class SpikeSemantics:
    """``kind`` is 'binary', 'ternary' or 'multi'; ``max_events`` the largest value (multi: N)."""

    kind: str
    max_events: int = 1

    @property
    def name(self) -> str:
        return f"multi:{self.max_events}" if self.kind == "multi" else self.kind

    def describe(self) -> str:
        return {"binary": "values in {0,1}", "ternary": "values in {-1,0,1}"}.get(
            self.kind, f"integer values in 0..{self.max_events}"
        )

    def is_spike(self, x: torch.Tensor) -> bool:
        """True when every element of ``x`` obeys the semantics (bool tensors are binary spikes).

        Range by ``aminmax``; integrality for binary/ternary by sum(|x|) == sum(x*x), which holds
        exactly when every value in [-1, 1] is -1, 0 or 1 (v*v < |v| for 0 < |v| < 1); multi-spike
        by x == round(x). Sums are exact integer float32 sums over chunks (see ``exact_sum``)."""
        if x.dtype == torch.bool:
            return True
        if x.numel() == 0 or x.is_complex():
            return False
        low, high = (float(v) for v in torch.aminmax(x))
        if low < (-1 if self.kind == "ternary" else 0) or high > self.max_events:
            return False
        if self.kind == "multi":
            return bool(torch.equal(x, torch.round(x)))
        flat = (x.abs() if low < 0 else x).reshape(-1).float()
        total, squares = _chunked(flat, torch.sum), _chunked(flat, lambda c: torch.dot(c, c))
        return total == squares and total.is_integer()

    def events(self, x: torch.Tensor) -> torch.Tensor:
        """Per-element event counts of a spike-valued tensor (same shape, floating)."""
        if x.dtype == torch.bool:
            return x.float()
        return x.abs() if self.kind == "ternary" else x

    def events_per_row(self, rows: torch.Tensor) -> list[int]:
        """Exact events of each row of a 2-D spike tensor (e.g. one row per time step)."""
        events = self.events(rows)
        return [exact_sum(row, self.max_events) for row in events] if _needs_chunks(rows.shape[1], self.max_events) \
            else [int(v) for v in events.sum(dim=1).tolist()]


# float32 holds every integer below 2**24 exactly, so a float32 sum of integer values whose
# total stays below that bound is exact whatever the summation order.
_EXACT_LIMIT = 1 << 24


def _needs_chunks(numel: int, max_value: int) -> bool:
    return numel * max_value >= _EXACT_LIMIT


def exact_sum(flat: torch.Tensor, max_value: int = 1) -> int:
    """Exact sum of a 1-D tensor of non-negative integer values <= max_value."""
    step = max(_EXACT_LIMIT // max(max_value, 1) - 1, 1)
    return sum(int(chunk.sum(dtype=torch.float32)) for chunk in flat.split(step))


def _chunked(flat: torch.Tensor, reduce) -> float:
    """float32 reduction per chunk of fewer than 2**24 elements, added up in Python floats:
    exact whenever the values are 0/1 (every partial result is an integer below 2**24)."""
    return sum(float(reduce(chunk)) for chunk in flat.split(_EXACT_LIMIT - 1))


def parse_semantics(spec: str) -> SpikeSemantics:
    """Parse 'binary', 'ternary' or 'multi:N' (N >= 1). Raises InputError otherwise."""
    if spec in ("binary", "ternary"):
        return SpikeSemantics(spec)
    if isinstance(spec, str) and spec.startswith("multi:"):
        tail = spec.split(":", 1)[1]
        if tail.isascii() and tail.isdigit() and int(tail) >= 1:
            return SpikeSemantics("multi", int(tail))
    raise InputError(f"unknown spike semantics {spec!r}; use 'binary', 'ternary' or 'multi:N' with N >= 1")
