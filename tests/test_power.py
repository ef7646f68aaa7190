"""Measured energy (``ashbench energy --measure``): the arithmetic with a fake counter and clock, and
the one-line refusal where there is no NVIDIA GPU."""

from __future__ import annotations

import pytest
import torch

from ashbench.profiler.power import DeviceError, measure_energy, nvml_counter

IDLE_W, LOAD_W, CALL_S = 50.0, 250.0, 0.25


class Board:
    """A fake board: a clock, and an energy counter that integrates 50 W while idle (sleeping)
    and 250 W while a forward runs (each forward takes 0.25 s, ending at the device sync)."""

    name, device = "fake counter", "fake GPU"

    def __init__(self):
        self.t = self.e = 0.0

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.e += IDLE_W * seconds

    def sync(self) -> None:
        self.t += CALL_S
        self.e += LOAD_W * CALL_S

    def read_j(self) -> float:
        return self.e


def test_energy_per_sample_is_the_energy_above_idle_over_every_sample():
    board = Board()
    result = measure_energy(torch.nn.Linear(4, 3), (torch.rand(2, 4),), 2, board, min_s=1.0, idle_s=1.0,
                            device="cpu", clock=board.clock, sleep=board.sleep, sync=board.sync)
    # idle: 1 s at 50 W -> 50 J -> 50 W. Warm-up call, then calls of 0.25 s until 1 s has passed: 4 calls,
    # 1.0 s, 4 * 0.25 * 250 = 250 J; above idle 250 - 50 * 1.0 = 200 J over 4 calls x batch 2 -> 25 J/sample
    assert (result["idle_w"], result["calls"], result["seconds"], result["energy_j"]) == (50.0, 4, 1.0, 250.0)
    assert (result["joules_per_sample"], result["joules_per_sample_gross"]) == (25.0, 31.25)
    assert result["counter"] == "fake counter" and "idle power subtracted" in result["method"]


def test_measurement_times_must_be_positive():
    board = Board()
    with pytest.raises(DeviceError, match="must be > 0 s"):
        measure_energy(torch.nn.Linear(4, 3), (torch.rand(2, 4),), 2, board, min_s=0.0, device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_no_gpu_is_one_line():
    with pytest.raises(DeviceError) as info:
        nvml_counter()
    assert str(info.value) == "--measure needs an NVIDIA GPU (torch sees no CUDA device here)"


def test_energy_report_with_a_counter_gains_a_measured_entry_and_a_report_line():
    from ashbench.profiler.measure import energy_report
    from ashbench.report.profile_report import summary_lines

    class CPUCounter(Board):
        device = "cpu"

    board = CPUCounter()
    doc = energy_report("test-hybrid-tiny", measure=True, counter=board)
    measured = doc["measured"]
    # real clock here: only the structure and the per-sample arithmetic are checked
    assert measured["batch_size"] == doc["batch_size"] and measured["calls"] >= 1
    expected = (measured["energy_j"] - measured["idle_w"] * measured["seconds"]) / (measured["calls"] * 2)
    assert measured["joules_per_sample"] == pytest.approx(expected)
    assert any(line.startswith("measured [cpu]: ") for line in summary_lines(doc))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_measure_without_a_gpu_is_one_line_exit_2():
    from helpers import run_cli

    result = run_cli("energy", "--model", "test-hybrid-tiny", "--measure")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: --measure needs an NVIDIA GPU (torch sees no CUDA device here)\n"
