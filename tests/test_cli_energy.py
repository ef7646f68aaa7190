"""The ``ashbench energy`` command through its real entry point, including every bad input."""

import json

import pytest
import torch
from helpers import run_cli

TINY = ["--model", "test-hybrid-tiny"]


def invoke(*args):
    return run_cli("energy", *args)


def test_default_run_prints_table_and_energy():
    result = invoke()
    assert result.exit_code == 0, result.output
    assert "ashbench energy" in result.output
    assert "energy [45nm-fp32]" in result.output
    assert "neuron" in result.output


def test_json_schema(tmp_path):
    out = tmp_path / "report.json"
    result = invoke(*TINY, "--format", "json", "--output", str(out), "-e", "45nm-fp32", "-e", "memory-aware")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert {"model", "batch_size", "timesteps", "totals", "branches", "layers", "energy", "unsupported_ops"} <= set(doc)
    assert set(doc["branches"]) == {"ann", "snn", "neuron"}
    for key in ("dense_macs", "macs", "synops", "neuron_updates", "spikes", "neurons", "timesteps", "firing_rate",
                "firing_rate_per_step", "params", "weight_read_bytes", "activation_read_bytes",
                "activation_write_bytes", "membrane_read_bytes", "membrane_write_bytes"):
        assert key in doc["totals"], key
    assert {"module", "type", "branch", "synops", "macs"} <= set(doc["layers"][1])
    assert [e["model"] for e in doc["energy"]] == ["45nm-fp32", "memory-aware"]
    assert {"total_pj", "breakdown_pj", "assumptions"} <= set(doc["energy"][0])
    # the per-layer energies add up to the total
    assert sum(doc["energy"][0]["per_layer_pj"].values()) == pytest.approx(doc["energy"][0]["total_pj"])


@pytest.mark.parametrize("fmt,marker", [("csv", "module,type,branch"), ("markdown", "| module |"),
                                        ("latex", r"\begin{tabular}")])
def test_formats(fmt, marker):
    result = invoke(*TINY, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert marker in result.output


def test_views_and_depth():
    by_op = invoke(*TINY, "--by", "op", "--format", "csv")
    assert "aten.convolution.default" in by_op.output
    by_branch = invoke(*TINY, "--by", "branch", "--format", "csv")
    assert [line.split(",")[0] for line in by_branch.output.splitlines()[1:4]] == ["ann", "snn", "neuron"]
    shallow = invoke(*TINY, "--depth", "1", "--format", "csv").output
    assert "snn.lif1" not in shallow and "\nsnn," in shallow


def test_check_fvcore_prints_both_counts():
    result = invoke(*TINY, "--check-fvcore", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "fvcore cross-check" in result.output
    assert "conv" in result.output and "equal" in result.output


FACTORIES = '''
import torch, torch.nn as nn
from spikingjelly.activation_based import neuron

def good(batch_size=2):
    return nn.Linear(4, 3), (torch.rand(batch_size, 4),)

def wrong():
    return "not a model"

def broken():
    raise ValueError("boom")

def wrong_shape():
    return nn.Linear(4, 3), (torch.rand(2, 5),)

class Doubled(neuron.IFNode):
    def forward(self, x):
        return super().forward(x) * 2

def double_spikes():
    return nn.Sequential(nn.Linear(4, 4), Doubled()), (torch.ones(2, 4) * 5,)
'''


@pytest.fixture
def factories(tmp_path):
    path = tmp_path / "factories.py"
    path.write_text(FACTORIES)
    return str(path)


def test_user_factory_and_checkpoint(factories, tmp_path):
    ckpt = tmp_path / "w.pt"
    torch.save(torch.nn.Linear(4, 3).state_dict(), ckpt)
    result = invoke("--model", f"{factories}:good", "--checkpoint", str(ckpt), "-b", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["batch_size"] == 3 and doc["totals"]["macs"] == 12  # 4 * 3 per sample


def test_checkpoint_for_a_registered_model_without_checkpoint_parameter(tmp_path):
    from ashbench.models import MODELS

    ckpt = tmp_path / "demo.pt"
    torch.save(MODELS.get("test-hybrid-tiny")().model.state_dict(), ckpt)
    result = invoke(*TINY, "--checkpoint", str(ckpt), "--format", "csv")
    assert result.exit_code == 0, result.output


def _bad_cases(factories, tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00not a checkpoint")
    other = tmp_path / "other.pt"
    torch.save(torch.nn.Linear(7, 7).state_dict(), other)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("name = [")
    return [
        (["--model", "no-such-model"], "unknown model 'no-such-model'; valid models:"),
        (["--model", str(tmp_path / "nope.py") + ":f"], "factory file not found"),
        (["--model", f"{factories}:missing"], "has no function 'missing'"),
        (["--model", f"{factories}:wrong"], "must return (model, example_inputs)"),
        (["--model", f"{factories}:broken"], "failed: ValueError: boom"),
        (["--model", f"{factories}:good", "--checkpoint", str(tmp_path / "none.pt")], "checkpoint not found"),
        (["--model", f"{factories}:good", "--checkpoint", str(corrupt)], "corrupt or unreadable checkpoint"),
        (["--model", f"{factories}:good", "--checkpoint", str(other)], "does not match the model"),
        (["--model", f"{factories}:wrong_shape"], "model forward failed on the given inputs"),
        (["--model", f"{factories}:double_spikes"], "outside the declared 'binary' spike semantics"),
        (TINY + ["--timesteps", "0"], "--timesteps must be >= 1"),
        (TINY + ["--timesteps", "-3"], "--timesteps must be >= 1"),
        (TINY + ["--energy-model", "7nm-magic"], "unknown energy model '7nm-magic'"),
        (TINY + ["--energy-model", str(bad_toml)], "malformed energy model TOML"),
        (TINY + ["--format", "yaml"], "--format must be one of"),
        (TINY + ["--by", "layer"], "--by must be one of"),
        (TINY + ["--spikes", "quaternary"], "unknown spike semantics"),
        (["--model", f"{factories}:good", "--timesteps", "2"], "does not accept --timesteps"),
        (TINY + ["--batch-size", "0"], "--batch-size must be >= 1"),
        (TINY + ["--depth", "-1"], "--depth must be >= 0"),
        (TINY + ["--layout", "XY"], "unknown layout 'XY'"),
    ]


def test_every_bad_input_is_one_line_exit_2_and_writes_nothing(factories, tmp_path):
    target = tmp_path / "report.json"
    target.write_text("previous content")
    for args, message in _bad_cases(factories, tmp_path):
        result = invoke(*args, "--output", str(target))
        assert result.exit_code == 2, (args, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.output)
        assert message in lines[0], (args, lines[0])
        assert "Traceback" not in result.output
        assert target.read_text() == "previous content"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == []


def test_models_command_lists_registry():
    result = run_cli("models")
    assert result.exit_code == 0
    assert "test-hybrid-tiny" in result.output.split()
