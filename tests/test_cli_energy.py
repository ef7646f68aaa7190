"""The ``ashbench energy`` command through its real entry point, including every bad input."""

import json
import re

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
    # the neuron branch's summary line: neurons do no MACs or synops, and they do update
    assert re.search(r"neuron\s+macs 0, synops 0, elementwise \S+, neuron_updates [1-9]", result.output)


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
    linear = nn.Linear(4, 4)
    nn.init.constant_(linear.weight, 1.0)  # 5 x 4 = 20 (+ a bias under 1): every neuron fires, whatever the seed
    return nn.Sequential(linear, Doubled()), (torch.ones(2, 4) * 5,)

class Halved(neuron.IFNode):
    def forward(self, x):
        return torch.full_like(x, 0.5)

def half_spikes():
    return nn.Sequential(nn.Linear(4, 4), Halved()), (torch.ones(2, 4) * 5,)

class Divides(neuron.IFNode):
    def forward(self, x):
        return 1 // 0

class Looks(nn.Module):
    def forward(self, x):
        return {}["missing"]

def zero_division():
    return nn.Sequential(nn.Linear(4, 4), Divides()), (torch.ones(2, 4),)

def key_error():
    return Looks(), (torch.ones(2, 4),)

def exits():
    import sys
    sys.exit(0)

def lazy():
    return nn.Sequential(nn.LazyLinear(3)), (torch.ones(2, 4),)

def chatty(batch_size=2):
    print("building the model")
    return nn.Linear(4, 3), (torch.rand(batch_size, 4),)
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


@pytest.fixture
def bad_files(tmp_path):
    """Files for the bad-input cases: a corrupt checkpoint, one of another model, a broken TOML."""
    (tmp_path / "corrupt.pt").write_bytes(b"\x00not a checkpoint")
    torch.save(torch.nn.Linear(7, 7).state_dict(), tmp_path / "other.pt")
    (tmp_path / "bad.toml").write_text("name = [")
    (tmp_path / "inf.toml").write_text('name = "x"\nmac_pj = inf\nac_pj = 0.9\n')
    (tmp_path / "no_tiers.toml").write_text('name = "x"\nkind = "memory-aware"\nadd_pj = 0.1\nmult_pj = 3.1\n')
    (tmp_path / "mac_in_memory_aware.toml").write_text(
        'name = "x"\nkind = "memory-aware"\nadd_pj = 0.1\nmult_pj = 3.1\nmemory = [[8192, 10.0]]\nmac_pj = 999\n')
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "text.pt").write_text("these are not weights\n")
    return tmp_path


# (arguments with {f} = the factories file and {d} = the folder of bad files, expected message)
BAD_INPUTS = [
    (["--model", "no-such-model"], "unknown model 'no-such-model'; valid models:"),
    (["--model", "{f}:zero_division"], "model forward failed on the given inputs: ZeroDivisionError"),
    (["--model", "{f}:key_error"], "model forward failed on the given inputs: KeyError: 'missing'"),
    (["--model", "{f}:exits"], "called sys.exit(0)"),
    (["--model", "{f}:good", "--checkpoint", "{d}/empty.pt"], "corrupt or unreadable checkpoint"),
    (["--model", "{f}:good", "--checkpoint", "{d}/text.pt"], "corrupt or unreadable checkpoint"),
    (TINY + ["--timesteps", "1000000"], "--timesteps 1000000 exceeds the limit of 10,000 time steps"),
    (TINY + ["--spikes", "multi:²"], "unknown spike semantics 'multi:²'"),
    (["--model", "{d}/nope.py:f"], "factory file not found"),
    (["--model", "{f}:missing"], "has no function 'missing'"),
    (["--model", "{f}:wrong"], "must return (model, example_inputs)"),
    (["--model", "{f}:broken"], "failed: ValueError: boom"),
    (["--model", "{f}:good", "--checkpoint", "{d}/none.pt"], "checkpoint not found"),
    (["--model", "{f}:good", "--checkpoint", "{d}/corrupt.pt"], "corrupt or unreadable checkpoint"),
    (["--model", "{f}:good", "--checkpoint", "{d}/other.pt"], "does not match the model"),
    (["--model", "{f}:wrong_shape"], "model forward failed on the given inputs"),
    (["--model", "{f}:lazy"], "uninitialised lazy parameters or buffers"),
    (["--model", "{f}:double_spikes", "--spikes", "binary"], "outside the declared 'binary' spike semantics"),
    (["--model", "{f}:half_spikes"], "outside the declared 'auto' spike semantics"),
    (TINY + ["--timesteps", "0"], "--timesteps must be >= 1"),
    (TINY + ["--timesteps", "-3"], "--timesteps must be >= 1"),
    (TINY + ["--energy-model", "7nm-magic"], "unknown energy model '7nm-magic'"),
    (TINY + ["--energy-model", "{d}/bad.toml"], "malformed energy model TOML"),
    (TINY + ["--energy-model", "{d}/inf.toml"], "invalid mac_pj=inf; it must be finite"),
    (TINY + ["--energy-model", "{d}/no_tiers.toml"], "no_tiers.toml: missing required key 'memory'"),
    (TINY + ["--energy-model", "{d}/mac_in_memory_aware.toml"], "unknown key 'mac_pj'"),
    (TINY + ["--format", "yaml"], "--format must be one of"),
    (TINY + ["--by", "layer"], "--by must be one of"),
    (TINY + ["--spikes", "quaternary"], "unknown spike semantics"),
    (["--model", "{f}:good", "--timesteps", "2"], "does not accept --timesteps"),
    (TINY + ["--batch-size", "0"], "--batch-size must be >= 1"),
    (TINY + ["--depth", "-1"], "--depth must be >= 0"),
    (TINY + ["--layout", "XY"], "unknown layout 'XY'"),
    (TINY + ["--neuron-class", "no_such_module:Node"], "cannot import neuron class 'no_such_module:Node'"),
    (TINY + ["--neuron-class", "torch.nn:relu"], "'torch.nn:relu' is not an nn.Module class"),
    (TINY + ["--neuron-class", "torch.nn.ReLU"], "--neuron-class must be module:Class"),
    (TINY + ["--inputs", "{d}/other.pt"], "--inputs applies to NIR graphs (--model graph.nir) only"),
    (["--model", "{f}:good", "--input-rate", "0.5"], "--input-rate applies to NIR graphs (--model graph.nir) only"),
    (["--model", "{d}/none.nir"], "NIR graph not found: "),
    (["--model", "{d}/none.nir", "--input-rate", "2"], "--input-rate must be in [0, 1], got 2.0"),
]


@pytest.mark.parametrize("args,message", BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(factories, bad_files, args, message):
    target = bad_files / "report.json"
    target.write_text("previous content")
    before = sorted(p.name for p in bad_files.iterdir())
    result = invoke(*(a.format(f=factories, d=bad_files) for a in args), "--output", target)
    assert result.exit_code == 2, (args, result.output)
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert target.read_text() == "previous content"
    assert sorted(p.name for p in bad_files.iterdir()) == before  # no temporary file left


@pytest.mark.parametrize("where", ["folder", "missing folder", "/proc"])
def test_output_path_is_checked_before_profiling(tmp_path, where, monkeypatch):
    """A folder, a path in a missing folder or a place where no file can be created as --output
    fails in one line before the model is profiled."""
    missing = tmp_path / "no"
    target, expected = {"folder": (tmp_path, f"output path is a folder: {tmp_path}"),
                        "missing folder": (missing / "r.json", f"output folder does not exist: {missing}"),
                        "/proc": ("/proc/x", "cannot write in /proc: ")}[where]
    monkeypatch.setattr("ashbench.profiler.measure.profile", lambda *a, **k: pytest.fail("profiled first"))
    result = invoke(*TINY, "--output", target)
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {expected}") and result.stderr.count("\n") == 1


def test_what_a_factory_prints_goes_to_stderr_so_json_stays_valid(factories):
    result = invoke("--model", f"{factories}:chatty", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["macs"] == 12  # Linear(4, 3): 4 * 3 MACs per sample
    assert result.stderr == "building the model\n"


def test_user_neuron_class_is_counted_as_a_neuron(tmp_path):
    """--neuron-class declares a user's own spiking neuron: its layer becomes a neuron layer.

    Model: Linear(4, 4) then a Heaviside 'neuron' on the input x >= 0; the factory's input is 2 x 4
    values, 5 of them >= 0 after the linear layer with weight I and bias 0 (x itself)."""
    (tmp_path / "net.py").write_text(NEURON_FACTORY)
    result = invoke("--model", f"{tmp_path}/net.py:build", "--neuron-class", f"{tmp_path}/net.py:Step", "-f", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    step = next(row for row in doc["layers"] if row["module"] == "1")
    # 4 neurons per sample, one step; 5 spikes over a batch of 2 -> 2.5 per sample; rate 2.5 / 4
    assert (step["branch"], step["neurons"], step["spikes"], step["firing_rate"]) == ("neuron", 4, 2.5, 0.625)


NEURON_FACTORY = """
import torch, torch.nn as nn

class Step(nn.Module):
    def forward(self, x):
        return (x >= 0).float()

def build():
    lin = nn.Linear(4, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(4)); lin.bias.zero_()
    x = torch.tensor([[1.0, -1.0, 2.0, 0.5], [-3.0, 0.0, -1.0, 4.0]])
    return nn.Sequential(lin, Step()).eval(), (x,)
"""


def test_models_command_lists_registry():
    result = run_cli("models")
    assert result.exit_code == 0
    assert "test-hybrid-tiny" in result.output.split()


LAYOUT_FACTORY = """
import torch, torch.nn as nn

def build():
    model = nn.Linear(4, 3)
    model.ashbench_layout = "TB"
    return model, (torch.rand(5, 2, 4),)
"""


def test_a_layout_contradicting_the_models_is_warned_about(tmp_path):
    (tmp_path / "net.py").write_text(LAYOUT_FACTORY)
    declared = json.loads(invoke("--model", f"{tmp_path}/net.py:build", "-f", "json").stdout)
    # declared [T=5, B=2, 4]: 5 * 2 rows of Linear(4, 3) = 120 MACs over a batch of 2 -> 60 per sample
    assert (declared["batch_size"], declared["totals"]["macs"], declared["warnings"]) == (2, 60, [])
    overridden = json.loads(invoke("--model", f"{tmp_path}/net.py:build", "--layout", "B", "-f", "json").stdout)
    # read as [B=5, ...]: 120 / 5 = 24 per sample, and the report says why
    assert (overridden["batch_size"], overridden["totals"]["macs"]) == (5, 24)
    assert overridden["warnings"] == ["--layout B overrides the model's declared layout TB: the batch size is read "
                                      "at another position, so every per-sample count changes"]
