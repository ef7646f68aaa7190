"""Energy arithmetic on hand-built profiles (no torch needed), TOML user models and their errors."""

import subprocess
import sys

import pytest

from ashbench.energy.models import access_pj, estimate_energy, get_energy_model, load_energy_model_file
from ashbench.errors import EnergyModelError

ZERO = dict.fromkeys(["dense_macs", "macs", "synops", "elementwise_ops", "weight_read_bytes",
                      "activation_read_bytes", "activation_write_bytes", "neuron_updates", "spikes",
                      "membrane_read_bytes", "membrane_write_bytes"], 0)


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


@pytest.mark.parametrize("text,message", [
    ("name = 'x'\nmac_pj = [", "malformed energy model TOML"),
    ("name = 'x'\nac_pj = 1", "missing required key 'mac_pj'"),
    ("name = 'x'\nmac_pj = 1\nac_pj = -1", "invalid value for 'ac_pj'"),
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nwatts = 3", "unknown key 'watts'"),
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nkind = 'magic'", "kind must be"),
    ("name = 'x'\nmac_pj = 1\nac_pj = 1\nmemory = [[1]]", "'memory' must be a list"),
])
def test_malformed_energy_toml(tmp_path, text, message):
    with pytest.raises(EnergyModelError, match=message):
        load_energy_model_file(_write(tmp_path, text))


def test_unknown_energy_model_lists_valid_ones(tmp_path):
    with pytest.raises(EnergyModelError, match="45nm-fp32"):
        get_energy_model("7nm-magic")
    with pytest.raises(EnergyModelError, match="not found"):
        get_energy_model(str(tmp_path / "missing.toml"))


def test_energy_and_report_do_not_import_torch():
    code = "import sys, ashbench.energy, ashbench.report.profile_report; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
