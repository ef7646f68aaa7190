"""Shared test helpers: the CLI run through its real entry point, ``ashbench.cli.main``."""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ashbench.cli import main

# every additive own count of a profile row, zero: hand-made rows start from it
ZERO_COUNTS = dict.fromkeys(["dense_macs", "macs", "synops", "elementwise_ops", "weight_read_bytes",
                             "activation_read_bytes", "activation_write_bytes", "neuron_updates", "spikes",
                             "membrane_read_bytes", "membrane_write_bytes"], 0)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args) -> CliResult:
    """``ashbench ARGS...`` as the console script runs it: exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return CliResult(code, out.getvalue(), err.getvalue())


FAST = '{ "train.steps" = 2, "data.n_train" = 32, "data.n_test" = 16, "data.n_val" = 8 }'


def sweep_spec(tmp_path, grid: str, name: str = "s", extra: str = ""):
    """A tiny sweep spec file (base test-tiny, 2 training steps, results and runs under tmp_path) with
    the given [grid] lines."""
    text = textwrap.dedent(f"""\
        name = "{name}"
        base = "test-tiny"
        output = "{tmp_path / 'results'}"
        work_dir = "{tmp_path / 'runs'}"
        energy_models = ["45nm-fp32"]
        set = {FAST}
        {extra}
        [grid]
        """) + grid
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


BENCHMARKS = str(Path(__file__).resolve().parent.parent / "benchmarks")


def import_benchmark(name: str):
    """The script ``benchmarks/NAME.py`` as a module (benchmarks/ is not a package)."""
    sys.path.insert(0, BENCHMARKS)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(BENCHMARKS)
