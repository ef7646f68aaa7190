"""Spike semantics: which values a spiking neuron may emit, and how many events a value carries.

Which tensors hold events is decided by provenance (``tracking.py``): neuron outputs and what
event-preserving ops make of them. The semantics say what a neuron output (and an input tensor
that enters the model from outside) must look like, and how to count its events:

- ``auto``     (default) neuron outputs are non-negative integers, a value k carrying k events
  (binary spikes, or multi-spike counts); an input tensor holds events when its values are 0/1.
- ``binary``   values in {0, 1}; one event per 1.
- ``ternary``  values in {-1, 0, 1}; one event per non-zero (a -1 is a negative spike).
- ``multi:N``  integer values in {0, ..., N}; a value k carries k events.

A neuron whose output breaks the semantics is an error; an input tensor that breaks them is
real-valued (ANN work, counted as MACs).
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

import torch

from ashbench.errors import InputError


@dataclass(frozen=True)
class SpikeSemantics:
    """``kind`` is 'auto', 'binary', 'ternary' or 'multi'; ``max_events`` the largest value a
    spike may take (multi: N; auto: None, unbounded, so every event sum is taken in float64)."""

    kind: str
    max_events: int | None = 1

    @property
    def name(self) -> str:
        return f"multi:{self.max_events}" if self.kind == "multi" else self.kind

    def describe(self) -> str:
        return {"binary": "values in {0,1}", "ternary": "values in {-1,0,1}",
                "auto": "non-negative integers"}.get(self.kind, f"integer values in 0..{self.max_events}")

    def is_input_spike(self, x: torch.Tensor) -> bool:
        """Whether a tensor entering the model from outside holds events (auto: values 0/1)."""
        return BINARY.is_spike(x) if self.kind == "auto" else self.is_spike(x)

    def is_spike(self, x: torch.Tensor) -> bool:
        """True when every element of ``x`` obeys the semantics (bool tensors are binary spikes).
        A first element that breaks them decides at once (no scan of the whole tensor)."""
        if x.dtype != torch.bool and x.numel() and not x.is_complex() and not self._allows(first_element(x)):
            return False
        return self.bound(x) is not None

    def _allows(self, v) -> bool:
        """Whether one value may be an element of a spike tensor (range and integrality, as ``bound``)."""
        if not math.isfinite(v):
            return v == v  # NaN breaks them; an infinity is left to ``bound``
        lowest = -1 if self.kind == "ternary" else 0
        highest = self.max_events if self.max_events is not None else math.inf
        return lowest <= v <= highest and v == round(v)

    def bound(self, x: torch.Tensor) -> int | None:
        """The largest event count an element of ``x`` carries, or None when ``x`` breaks the
        semantics: the range by ``aminmax`` (finite, within the semantics'), then integrality: values
        within [-1, 1] by ``fraction_free``, larger ones by ``x == round(x)``. (Until 2026-11-29 the values
        in [-1, 1] were tested by sum(|x|) == sum(x*x) in float32: exact for -1/0/1 values, but with a
        fraction both sums round, and [1, 1e-9] passed as binary.)"""
        if x.dtype == torch.bool:
            return 1
        if x.numel() == 0 or x.is_complex():
            return None
        low, high = (float(v) for v in torch.aminmax(x))
        lowest = -1 if self.kind == "ternary" else 0
        if not (low >= lowest and high <= (self.max_events if self.max_events is not None else math.inf)
                and high < math.inf):
            return None  # out of range (a NaN fails every comparison)
        if not x.is_floating_point():
            return int(max(high, -low))
        if max(high, -low) <= 1:
            return 1 if fraction_free(x, signed=low < 0) else None
        return int(high) if bool(torch.equal(x, torch.round(x))) else None

    def events(self, x: torch.Tensor) -> torch.Tensor:
        """Per-element event counts of a spike-valued tensor (same shape, floating)."""
        if x.dtype == torch.bool:
            return x.float()
        return x.abs() if self.kind == "ternary" else x

    def unit_events_per_row(self, rows: torch.Tensor) -> list[int] | None:
        """Exact events of each row of a 2-D tensor of 0/1 spikes (one row per time step), or None
        when its values are anything else (counts above 1, -1, fractions, NaN; then ``bound`` and
        ``events_per_row`` decide): ``unit_events_per_row_of`` of the one block."""
        found = self.unit_events_per_row_of([rows])
        return None if found is None else found[0]

    def unit_events_per_row_of(self, blocks: list) -> list[list[int]] | None:
        """``unit_events_per_row`` of each 2-D block (one dtype and device), or None when any value of any
        block is other than 0/1. The common case of neuron outputs in few, fast passes over all blocks at
        once: the range by ``aminmax``, integrality by ``fraction_free``, then the row sums of each run of
        adjacent blocks of one width in one reduction, exact integers (float32 sums of 0/1 values over rows
        of fewer than 2**24 elements)."""
        if blocks[0].dtype == torch.bool:
            return [b.sum(dim=1).tolist() for b in blocks]
        if not blocks[0].is_floating_point() or any(b.shape[1] >= FLOAT32_EXACT_LIMIT for b in blocks):
            return None
        flat = blocks[0].reshape(-1) if len(blocks) == 1 else torch.cat([b.reshape(-1) for b in blocks])
        if flat.numel() == 0:
            return None
        low, high = torch.aminmax(flat)
        if not (float(low) >= 0 and float(high) <= 1):  # a NaN fails both
            return None
        if not fraction_free(flat):
            return None
        found, start, i = [], 0, 0
        while i < len(blocks):  # a run of blocks of one width: one view of ``flat``, one sum
            width, j = blocks[i].shape[1], i
            while j < len(blocks) and blocks[j].shape[1] == width:
                j += 1
            rows = sum(b.shape[0] for b in blocks[i:j])
            sums = flat[start:start + rows * width].view(rows, width).sum(dim=1, dtype=torch.float32).tolist()
            for b in blocks[i:j]:
                found.append([int(v) for v in sums[:b.shape[0]]])
                sums = sums[b.shape[0]:]
            start, i = start + rows * width, j
        return found

    def events_per_row(self, rows: torch.Tensor) -> list[int]:
        """Exact events of each row of a 2-D spike tensor (e.g. one row per time step) that obeys the
        semantics (checked by ``bound`` first: its events are non-negative integers)."""
        return [int(v) for v in event_sums(self.events(rows), dim=1).tolist()]


# dtypes whose element a ctypes type reads as Python does (``Tensor.item``)
_CTYPES = {torch.float32: ctypes.c_float, torch.float64: ctypes.c_double, torch.int64: ctypes.c_int64,
           torch.int32: ctypes.c_int32, torch.int16: ctypes.c_int16, torch.int8: ctypes.c_int8,
           torch.uint8: ctypes.c_uint8}


def first_element(x: torch.Tensor):
    """``x[0, ..., 0].item()`` of a non-empty tensor. A plain dense CPU tensor's is read where
    ``data_ptr()`` points (index 0 on every axis sits at the storage offset, whatever the strides), a
    tenth of the cost of indexing; others (CUDA, subclasses, negated views, other dtypes) are indexed."""
    c_type = _CTYPES.get(x.dtype)
    if c_type is not None and type(x) is torch.Tensor and x.is_cpu and x.layout == torch.strided and not x.is_neg():
        return c_type.from_address(x.data_ptr()).value
    return x[(0,) * x.dim()].item()


FRACTION_CHUNK = 1 << 18  # elements per dot product of ``fraction_free`` (its float32 temporary: 1 MiB)


def fraction_free(x: torch.Tensor, signed: bool = False) -> bool:
    """Whether no value of ``x`` (every value within [0, 1], or [-1, 1] when ``signed``) lies strictly
    between -1, 0 and 1: sum(|x| * (1 - |x|)) == 0. Each term is >= 0, and exactly 0 for -1, 0 and 1; a
    float sum of non-negative terms is 0 only when every term is (a positive term never rounds away), so
    the test is exact whatever the tensor's size, unlike sum(x) == sum(x*x). Taken as dot products over
    chunks of ``FRACTION_CHUNK`` elements, in float32 (float64 for float64 tensors; half and bfloat16
    convert exactly). A subnormal value counts as a fraction unless the CPU flushes subnormals to zero
    (``torch.set_flush_denormal``), which reads it as 0."""
    convert = x.dtype not in (torch.float32, torch.float64)
    flat = x.reshape(-1)
    for chunk in (flat,) if flat.numel() <= FRACTION_CHUNK else flat.split(FRACTION_CHUNK):
        magnitude = chunk.float() if convert else chunk  # per chunk: no float32 copy of a whole half tensor
        magnitude = magnitude.abs() if signed else magnitude
        if float(torch.dot(magnitude, 1 - magnitude)) != 0:
            return False
    return True


# float32 holds every integer below 2**24 exactly, so a float32 sum of integer values whose
# total stays below that bound is exact whatever the summation order.
FLOAT32_EXACT_LIMIT = 1 << 24


def event_sums(events: torch.Tensor, dim=None) -> torch.Tensor:
    """Exact sums of non-negative integer event counts, over all elements or along ``dim``, as
    float64. A float32 sum is tried first: every partial sum of non-negative integers is at most the
    true total and rounding is monotone, so a float32 result below 2**24 is exact, and a true total
    of 2**24 or more never comes out below it; only a result at or above 2**24 is summed again in
    float64 (exact below 2**53). float64 reductions are many times slower on CPU (no SIMD path)."""
    summed = events.sum(dtype=torch.float32) if dim is None else events.sum(dim=dim, dtype=torch.float32)
    if summed.numel() == 0 or float(summed.max()) < FLOAT32_EXACT_LIMIT:
        return summed.double()
    return events.sum(dtype=torch.float64) if dim is None else events.sum(dim=dim, dtype=torch.float64)


_PARSED: dict[str, SpikeSemantics] = {}  # spec -> its (immutable) semantics, parsed once


def parse_semantics(spec: str) -> SpikeSemantics:
    """Parse 'auto', 'binary', 'ternary' or 'multi:N' (N >= 1). Raises InputError otherwise."""
    found = _PARSED.get(spec) if isinstance(spec, str) else None
    if found is None:
        found = _PARSED[spec] = _parse(spec)
    return found


def _parse(spec: str) -> SpikeSemantics:
    if spec == "auto":
        return SpikeSemantics("auto", None)
    if spec in ("binary", "ternary"):
        return SpikeSemantics(spec)
    if isinstance(spec, str) and spec.startswith("multi:"):
        tail = spec.split(":", 1)[1]
        if tail.isascii() and tail.isdigit() and int(tail) >= 1:
            return SpikeSemantics("multi", int(tail))
    raise InputError(f"unknown spike semantics {spec!r}; use 'auto', 'binary', 'ternary' or 'multi:N' with N >= 1")


BINARY = SpikeSemantics("binary")
