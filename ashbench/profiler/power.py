"""Measured energy: the board's own energy counter read around repeated forwards of a workload.

Method (``ashbench energy --measure``, NVIDIA GPUs through NVML):

1. Idle: read the counter, wait ``idle_s`` seconds with nothing running, read it again:
   idle power P_idle = (E_1 - E_0) / t_idle (W).
2. Load: run the forward (``torch.no_grad()``, the model and inputs on the GPU, one warm-up call
   first) repeatedly, synchronising the device after each call, until at least ``min_s`` seconds
   have passed: n calls in t_load seconds, energy E_load = E_3 - E_2 (J).
3. Per sample: J/sample = (E_load - P_idle * t_load) / (n * batch_size); the board energy above
   idle that the forwards cost, averaged over every call. ``joules_per_sample_gross`` keeps the
   idle energy in.

The counter is NVML's ``nvmlDeviceGetTotalEnergyConsumption`` (millijoules since the driver was
loaded; Volta and later), read through ``nvidia-ml-py``. Without such a device the measurement is
refused with one line (``DeviceError``). The counter is an argument, so the arithmetic is tested on
the CPU with a fake one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

import torch

from ashbench.errors import AshbenchError, first_line
from ashbench.profiler.engine import reset_state


class DeviceError(AshbenchError):
    """No device whose energy can be measured (no NVIDIA GPU, no NVML, or an unsupported one)."""


class EnergyCounter(Protocol):
    name: str
    device: str

    def read_j(self) -> float:
        """Cumulative energy of the device in joules (any origin: only differences are used)."""


@dataclass
class NVMLCounter:
    """NVML's total-energy counter of GPU ``index`` (millijoules, converted to joules)."""

    handle: object
    nvml: object
    device: str
    name: str = "NVML nvmlDeviceGetTotalEnergyConsumption"

    def read_j(self) -> float:
        return self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0


def nvml_counter(index: int = 0) -> NVMLCounter:
    """The energy counter of NVIDIA GPU ``index``; DeviceError (one line) when there is none."""
    if not torch.cuda.is_available():
        raise DeviceError("--measure needs an NVIDIA GPU (torch sees no CUDA device here)")
    try:
        import pynvml
    except ImportError:
        raise DeviceError("--measure needs nvidia-ml-py (pip install 'ashbench[gpu]')") from None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        counter = NVMLCounter(handle, pynvml, str(pynvml.nvmlDeviceGetName(handle)))
        counter.read_j()  # unsupported before Volta: fails here, not half-way
    except Exception as exc:  # pynvml raises NVMLError subclasses
        raise DeviceError(f"--measure cannot read the GPU's energy counter: {first_line(exc)}") from None
    return counter


def measure_energy(model, inputs: tuple, batch_size: int, counter: EnergyCounter, *, min_s: float = 1.0,
                   idle_s: float = 1.0, device: str = "cuda", clock: Callable[[], float] = time.perf_counter,
                   sleep: Callable[[float], None] = time.sleep, sync: Callable[[], None] | None = None) -> dict:
    """Measure the energy of ``model(*inputs)`` per sample with ``counter`` (see the module doc)."""
    if min_s <= 0 or idle_s <= 0:
        raise DeviceError(f"measurement times must be > 0 s, got min_s={min_s}, idle_s={idle_s}")
    sync = sync or (torch.cuda.synchronize if device.startswith("cuda") else (lambda: None))
    model, inputs = model.to(device), tuple(t.to(device) if torch.is_tensor(t) else t for t in inputs)
    idle_w = _idle_power(counter, idle_s, clock, sleep)
    _forward(model, inputs, sync)  # warm-up: kernels loaded, caches filled
    calls, seconds, joules = _load(model, inputs, counter, min_s, clock, sync)
    above_idle = joules - idle_w * seconds
    return {"method": "board energy counter around repeated forwards, idle power subtracted",
            "counter": counter.name, "device": counter.device, "calls": calls, "batch_size": batch_size,
            "seconds": seconds, "energy_j": joules, "idle_w": idle_w,
            "joules_per_sample": above_idle / (calls * batch_size),
            "joules_per_sample_gross": joules / (calls * batch_size)}


def _idle_power(counter: EnergyCounter, idle_s: float, clock, sleep) -> float:
    e0, t0 = counter.read_j(), clock()
    sleep(idle_s)
    e1, t1 = counter.read_j(), clock()
    return (e1 - e0) / (t1 - t0)


def _forward(model, inputs: tuple, sync) -> None:
    reset_state(model)
    with torch.no_grad():
        model(*inputs)
    sync()


def _load(model, inputs: tuple, counter: EnergyCounter, min_s: float, clock, sync) -> tuple[int, float, float]:
    calls, e0, t0 = 0, counter.read_j(), clock()
    while True:
        _forward(model, inputs, sync)
        calls += 1
        if clock() - t0 >= min_s:
            break
    t1, e1 = clock(), counter.read_j()
    return calls, t1 - t0, e1 - e0
