"""Energy arithmetic on hand-built profiles (no torch needed), TOML user models and their errors."""

import subprocess
import sys
from dataclasses import dataclass

import pytest
from helpers import ZERO_COUNTS

from ashbench.energy.models import (
    ENERGY_KINDS,
    PROFILES_DIR,
    EnergyModel,
    access_pj,
    estimate_energy,
    get_energy_model,
    list_energy_models,
    load_energy_model_file,
)
from ashbench.errors import EnergyModelError
from ashbench.schema import spec

ZERO = dict(ZERO_COUNTS)


def _row(module, params=0, neurons=0, timesteps=1, elementwise=None, **own):
    return {"module": module, "params": params, "neurons": neurons, "timesteps": timesteps,
            "self": {**ZERO, **own}, "self_branch_elementwise": elementwise or {}}


PROFILE = {"layers": [
    _row("conv", params=100, macs=1000, dense_macs=1000),
    _row("fc", params=50, synops=200, dense_macs=800),
    _row("lif", neurons=10, timesteps=4, neuron_updates=40, spikes=8),
]}


def test_45nm_fp32_is_the_literature_formula():
    # E = 4.6 pJ * 1000 MACs + 0.9 pJ * 200 ACs = 4600 + 180 = 4780 pJ; neuron updates not counted
    e = estimate_energy(PROFILE, "45nm-fp32")
    assert e["total_pj"] == pytest.approx(4780.0)
    assert e["breakdown_pj"] == pytest.approx({"ann": 4600.0, "snn": 180.0, "neuron": 0.0, "memory": 0.0})
    assert e["per_layer_pj"] == pytest.approx({"conv": 4600.0, "fc": 180.0, "lif": 0.0})
    assert e["assumptions"]["neuron_updates"] == "not counted"
    assert e["assumptions"]["bit_width"] == 32


@pytest.mark.parametrize("name,expected", [
    ("45nm-fp16", 1.5 * 1000 + 0.4 * 200),  # 1580
    ("45nm-int8", 0.23 * 1000 + 0.03 * 200),  # 236
])
def test_other_precisions(name, expected):
    assert estimate_energy(PROFILE, name)["total_pj"] == pytest.approx(expected)


def test_memory_aware_arithmetic():
    # ops: 1000 MACs * (3.1 + 0.1) = 3200; 200 synops * 2 adds * 0.1 = 40; 40 updates * 3.2 = 128
    # memory: fc's 200 events each read a 32-bit weight (0.5 of a 64-bit access) from a 200-byte
    # buffer (<= 8 KiB: 10 pJ) and read+write a 32-bit accumulator (10 neurons... fc has none: 0
    # bytes -> smallest tier 10 pJ): 200 * 0.5 * (10 + 2 * 10) = 3000 pJ
    profile = {"layers": [PROFILE["layers"][0], PROFILE["layers"][1], PROFILE["layers"][2]]}
    e = estimate_energy(profile, "memory-aware")
    assert e["breakdown_pj"]["ann"] == pytest.approx(3200.0)
    assert e["breakdown_pj"]["snn"] == pytest.approx(40.0)
    assert e["breakdown_pj"]["neuron"] == pytest.approx(128.0)
    assert e["breakdown_pj"]["memory"] == pytest.approx(3000.0)


def test_memory_aware_prices_traffic_by_buffer_size():
    model = get_energy_model("memory-aware")
    assert [access_pj(model, b) for b in (1, 8192, 8193, 32768, 32769, 10**9)] == [10, 10, 20, 20, 100, 100]
    # 64 bytes of weights read by an ANN layer with a 4-KiB weight buffer: 8 accesses * 10 pJ = 80
    row = _row("a", params=1024, weight_read_bytes=64)
    assert estimate_energy({"layers": [row]}, model)["breakdown_pj"]["memory"] == pytest.approx(80.0)


BUILTIN_PRICES = {  # name -> (kind, hand-computed breakdown of PROFILE in pJ: ann, snn, neuron, memory)
    "45nm-fp32": ("compute", (4.6 * 1000, 0.9 * 200, 0, 0)),  # 4600 + 180 = 4780
    "45nm-fp16": ("compute", (1.5 * 1000, 0.4 * 200, 0, 0)),  # 1500 + 80 = 1580
    "45nm-int8": ("compute", (0.23 * 1000, 0.03 * 200, 0, 0)),  # 230 + 6 = 236
    # 1000 MACs * (3.1 + 0.1); 200 synops * 2 * 0.1; 40 updates * 3.2; fc's 200 events * 0.5 * (10 + 2 * 10)
    "memory-aware": ("memory-aware", (3200.0, 40.0, 128.0, 3000.0)),  # 6368
}


CHIPS = {"darwin3", "loihi", "odin", "spinnaker2", "truenorth"}  # priced by hand in tests/test_chips.py


def test_every_builtin_model_is_a_profile_file():
    files = sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))
    assert list_energy_models() == sorted(set(BUILTIN_PRICES) | CHIPS) == files


@pytest.mark.parametrize("name", sorted(BUILTIN_PRICES))
def test_builtin_model_loads_from_its_toml_and_prices_by_hand(name):
    kind, (ann, snn, neuron, memory) = BUILTIN_PRICES[name]
    path = PROFILES_DIR / f"{name}.toml"
    assert "# Source:" in path.read_text()  # each file names its source in a comment
    model = load_energy_model_file(str(path))  # loaded exactly like a user's file
    assert model == get_energy_model(name) and model.name == name and type(model) is ENERGY_KINDS.get(kind)
    e = estimate_energy(PROFILE, model)
    assert e["breakdown_pj"] == pytest.approx({"ann": ann, "snn": snn, "neuron": neuron, "memory": memory})
    assert e["total_pj"] == pytest.approx(ann + snn + neuron + memory)
    assert sum(e["per_layer_pj"].values()) == pytest.approx(e["total_pj"])
    assert list(e["assumptions"]) == ["description", "source", "bit_width", "first_layer_on_real_input", "mac_pj",
                                      "ac_pj", "neuron_updates", "elementwise_ops", "memory"]


@ENERGY_KINDS.register("test-per-spike")
@dataclass(frozen=True, kw_only=True)
class PerSpikeModel(EnergyModel):
    """A kind added by a test: one class and its registration. spike_pj (>= 0): per emitted spike."""

    spike_pj: float = spec(ge=0)

    def price(self, row: dict) -> dict:
        return {"ann": 0.0, "snn": row["self"]["spikes"] * self.spike_pj, "neuron": 0.0, "memory": 0.0}

    def assumptions(self) -> dict:
        return self._stated(mac_pj=0.0, ac_pj=0.0, neuron_pj=0.0, memory="not counted")


def test_a_new_kind_is_one_class_and_its_registration(tmp_path):
    # lif emits 8 spikes at 2.5 pJ = 20 pJ; other parts 0
    e = estimate_energy(PROFILE, _write(tmp_path, "name = 'spiky'\nkind = 'test-per-spike'\nspike_pj = 2.5\n"))
    assert e["total_pj"] == pytest.approx(20.0) and e["per_layer_pj"]["lif"] == pytest.approx(20.0)
    with pytest.raises(EnergyModelError, match="invalid spike_pj=nan; it must be finite"):
        load_energy_model_file(_write(tmp_path, "name = 'x'\nkind = 'test-per-spike'\nspike_pj = nan\n"))


def _write(tmp_path, text, name="chip.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_user_energy_model_from_toml(tmp_path):
    # 2 pJ * 1000 MACs + 0.5 pJ * 200 synops + 0.1 pJ * 40 updates = 2000 + 100 + 4 = 2104
    path = _write(tmp_path, 'name = "my-chip"\nmac_pj = 2\nac_pj = 0.5\nneuron_update_pj = 0.1\nbit_width = 8\n')
    e = estimate_energy(PROFILE, path)
    assert e["model"] == "my-chip"
    assert e["total_pj"] == pytest.approx(2104.0)
    assert e["assumptions"]["neuron_updates"] == "counted at 0.1 pJ each"


TIERS_RULE = "it must be a non-empty list of [max_bytes, pj_per_access] pairs of positive numbers"
MEMORY_AWARE = "name = 'x'\nkind = 'memory-aware'\nadd_pj = 0.1\nmult_pj = 3.1\n"
TIERS = "memory = [[8192, 10.0]]\n"


@pytest.mark.parametrize("text,message", [
    ("name = 'x'\nmac_pj = [", "malformed energy model TOML"),
    # compute models need name, mac_pj and ac_pj
    ("name = 'x'\nac_pj = 1", "missing required key 'mac_pj'"),
    ("name = 'x'\nmac_pj = 1\nac_pj = -1", "invalid ac_pj=-1.0; it must be >= 0"),
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nwatts = 3", "unknown key 'watts'; valid keys: ac_pj, bit_width, "),
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nkind = 'magic'",
     "unknown energy model kind 'magic'; valid energy model kinds: compute, memory-aware"),
    # non-finite energies are errors (inf or nan would make every total inf or nan)
    ("name = 'x'\nmac_pj = inf\nac_pj = 1", "invalid mac_pj=inf; it must be finite"),
    ("name = 'x'\nmac_pj = 1\nac_pj = nan", "invalid ac_pj=nan; it must be finite"),
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nneuron_update_pj = -inf",
     "invalid neuron_update_pj=-inf; it must be finite"),
    # types are strict: no bool for an int, no number for a string
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nbit_width = true", "invalid bit_width=True; it needs a int"),
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nbit_width = 0", "invalid bit_width=0; it must be >= 1"),
    ("name = 5\nmac_pj = 1\nac_pj = 1", "invalid name=5; it needs a str"),
    # a compute model has no memory tiers
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nmemory = [[1, 2]]", "unknown key 'memory'"),
    # memory-aware: tiers, add_pj and mult_pj are required (without them it priced everything at 0 pJ)
    (MEMORY_AWARE, "missing required key 'memory'"),
    (MEMORY_AWARE.replace("add_pj = 0.1\n", "") + TIERS, "missing required key 'add_pj'"),
    (MEMORY_AWARE.replace("mult_pj = 3.1\n", "") + TIERS, "missing required key 'mult_pj'"),
    (MEMORY_AWARE + "memory = []", f"invalid memory=[]; {TIERS_RULE}"),
    (MEMORY_AWARE + "memory = [[1]]", f"invalid memory=[[1]]; {TIERS_RULE}"),
    (MEMORY_AWARE + "memory = [[8192, inf]]", f"invalid memory=[[8192, inf]]; {TIERS_RULE}"),
    (MEMORY_AWARE + "memory = [[8192, nan]]", f"invalid memory=[[8192, nan]]; {TIERS_RULE}"),
    (MEMORY_AWARE + "memory = [[0, 10.0]]", f"invalid memory=[[0, 10.0]]; {TIERS_RULE}"),
    # memory-aware prices ops with add_pj/mult_pj: mac_pj/ac_pj (ignored before) are unknown keys
    (MEMORY_AWARE + TIERS + "mac_pj = 999", "unknown key 'mac_pj'; valid keys: access_bits, add_pj, bit_width, "),
    (MEMORY_AWARE + TIERS + "add_pj = nan", "malformed energy model TOML"),  # a key given twice
    (MEMORY_AWARE.replace("0.1", "nan") + TIERS, "invalid add_pj=nan; it must be finite"),
])
def test_malformed_energy_toml(tmp_path, text, message):
    # each problem is one EnergyModelError line naming the file, then the key, value and rule
    path = _write(tmp_path, text)
    with pytest.raises(EnergyModelError) as info:
        load_energy_model_file(path)
    assert str(info.value).startswith(f"{path}: ") or "malformed" in message
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_energy_model_lists_valid_ones(tmp_path):
    with pytest.raises(EnergyModelError, match="45nm-fp32"):
        get_energy_model("7nm-magic")
    with pytest.raises(EnergyModelError, match="not found"):
        get_energy_model(str(tmp_path / "missing.toml"))


def test_energy_and_report_do_not_import_torch():
    code = "import sys, ashbench.energy, ashbench.report.profile_report; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
