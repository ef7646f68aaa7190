"""Neuromorphic chip profiles (kind ``neuromorphic``): figures against their source comments, exact
hand pricing, provenance in every report, malformed chip TOMLs, and the CLI (no torch needed except
the last test)."""

import re

import pytest
from helpers import ZERO_COUNTS, run_cli

from ashbench.energy.models import (
    ENERGY_KINDS,
    PROFILES_DIR,
    NeuromorphicModel,
    estimate_energy,
    get_energy_model,
    list_energy_models,
    load_energy_model_file,
)
from ashbench.errors import EnergyModelError
from ashbench.report import profile_report

ZERO = dict(ZERO_COUNTS)


def _row(module, neurons=0, timesteps=1, **own):
    return {"module": module, "params": 0, "neurons": neurons, "timesteps": timesteps,
            "self": {**ZERO, **own}, "self_branch_elementwise": {}}


# a hybrid: an ANN conv on the host (1000 MACs), a synaptic layer (1000 synops) and a LIF layer of
# 10 neurons over 4 steps (40 updates) that spikes 8 times (8 active updates, 32 inactive)
PROFILE = {"layers": [
    _row("conv", macs=1000, dense_macs=1000),
    _row("fc", synops=1000, dense_macs=4000),
    _row("lif", neurons=10, timesteps=4, neuron_updates=40, spikes=8),
]}

# The figures each TOML states in its "# Figures in pJ:" comment (see the comment lines above it for the
# source and what was checked); pJ. neuron_update_pj is (active, inactive); one figure is both.
CHIPS = {
    "loihi": dict(sop_pj=23.6, neuron_update_pj=(81.0, 52.0), spike_pj=1.7, mac_pj=0.23,
                  process="14 nm", figure="simulated (pre-silicon)", operating_point="0.75 V"),
    "truenorth": dict(sop_pj=26.0, neuron_update_pj=(0.0, 0.0), spike_pj=0.0, mac_pj=0.23,
                      process="28 nm", figure="measured on silicon",
                      operating_point="0.775 V, neurons firing at 20 Hz on average with 128 active synapses"),
    "odin": dict(sop_pj=12.7, neuron_update_pj=(0.0, 0.0), spike_pj=0.0, mac_pj=0.23,
                 process="28 nm FDSOI", figure="measured on silicon", operating_point="0.55 V"),
    "darwin3": dict(sop_pj=5.47, neuron_update_pj=(0.0, 0.0), spike_pj=0.0, mac_pj=0.23,
                    process="22 nm", figure="measured on silicon", operating_point="0.8 V, 333 MHz (as cited)"),
    "spinnaker2": dict(sop_pj=450.0, neuron_update_pj=(2190.0, 2190.0), spike_pj=0.0, mac_pj=0.23,
                       process="28 nm SLP CMOS (test chip)", figure="measured on silicon",
                       operating_point="DVFS, 0.7 V / 125 MHz to 1.0 V / 500 MHz; which level the figures are at "
                                       "is not checked"),
}

# hand-computed breakdown of PROFILE in pJ: (ann, snn, neuron)
HAND = {
    # 1000 MACs x 0.23 = 230; 1000 synops x 23.6 = 23600; 8 active x 81 + 32 inactive x 52 + 8 spikes x 1.7
    # = 648 + 1664 + 13.6 = 2325.6; total 26155.6
    "loihi": (230.0, 23600.0, 2325.6),
    # 230; 1000 x 26 = 26000; neuron updates inside the all-in 26 pJ: 0; total 26230
    "truenorth": (230.0, 26000.0, 0.0),
    # 230; 1000 x 12.7 = 12700; 0; total 12930
    "odin": (230.0, 12700.0, 0.0),
    # 230; 1000 x 5.47 = 5470; 0; total 5700
    "darwin3": (230.0, 5470.0, 0.0),
    # 230; 1000 x 450 = 450000; 40 updates x 2190 = 87600; total 537830
    "spinnaker2": (230.0, 450000.0, 87600.0),
}

COMMENT_KEYS = {"sop_pj", "neuron_update_pj", "neuron_update_pj.active", "neuron_update_pj.inactive", "spike_pj",
                "mac_pj"}


def _comment_figures(name: str) -> dict:
    """The ``# Figures in pJ: key value | key value`` comment of a chip TOML, as {key: value}."""
    lines = [line for line in (PROFILES_DIR / f"{name}.toml").read_text().splitlines()
             if line.startswith("# Figures in pJ:")]
    assert len(lines) == 1, name
    pairs = [part.split() for part in lines[0].removeprefix("# Figures in pJ:").split("|")]
    assert all(len(p) == 2 and p[0] in COMMENT_KEYS for p in pairs), lines[0]
    return {key: float(value) for key, value in pairs}


def test_builtin_models_are_the_compute_profiles_and_the_chips():
    assert list_energy_models() == sorted(["45nm-fp32", "45nm-fp16", "45nm-int8", "memory-aware", *CHIPS])
    assert sorted(p.stem for p in PROFILES_DIR.glob("*.toml") if "neuromorphic" in p.read_text()) == sorted(CHIPS)


@pytest.mark.parametrize("name", sorted(CHIPS))
def test_chip_figures_equal_its_source_comment_and_the_table(name):
    model = load_energy_model_file(str(PROFILES_DIR / f"{name}.toml"))  # loaded exactly like a user's file
    assert type(model) is NeuromorphicModel is ENERGY_KINDS.get("neuromorphic")
    assert model == get_energy_model(name) and model.name == name
    for key, value in CHIPS[name].items():
        assert getattr(model, key) == value, key
    comment = _comment_figures(name)
    active, inactive = model.neuron_update_pj
    stated = {"sop_pj": model.sop_pj, "mac_pj": model.mac_pj, "spike_pj": model.spike_pj,
              "neuron_update_pj": active, "neuron_update_pj.active": active, "neuron_update_pj.inactive": inactive}
    assert {key: stated[key] for key in comment} == comment
    # a figure the comment does not state is not priced
    assert "spike_pj" in comment or model.spike_pj == 0
    assert comment.keys() & {"neuron_update_pj", "neuron_update_pj.active"} or model.neuron_update_pj == (0, 0)
    text = (PROFILES_DIR / f"{name}.toml").read_text()
    assert "Source:" in text and ("not checked" in model.caveat) == ("not checked" in text)


@pytest.mark.parametrize("name", sorted(CHIPS))
def test_chip_prices_a_hand_made_profile(name):
    ann, snn, neuron = HAND[name]
    e = estimate_energy(PROFILE, name)
    assert e["breakdown_pj"] == pytest.approx({"ann": ann, "snn": snn, "neuron": neuron, "memory": 0.0})
    assert e["total_pj"] == pytest.approx(ann + snn + neuron)
    assert e["per_layer_pj"] == pytest.approx({"conv": ann, "fc": snn, "lif": neuron})


def test_active_updates_are_spiking_updates_at_most_one_per_update():
    # 4 updates, 6 spikes (a multi-spike step): 4 active x 81 + 0 inactive + 6 spikes x 1.7 = 324 + 10.2 = 334.2
    row = _row("lif", neurons=1, timesteps=4, neuron_updates=4, spikes=6)
    assert estimate_energy({"layers": [row]}, "loihi")["breakdown_pj"]["neuron"] == pytest.approx(334.2)
    # no spikes: 4 inactive x 52 = 208
    row = _row("lif", neurons=1, timesteps=4, neuron_updates=4)
    assert estimate_energy({"layers": [row]}, "loihi")["breakdown_pj"]["neuron"] == pytest.approx(208.0)


PROVENANCE = ("source", "process", "figure", "operating_point", "caveat", "mac_source")


def _doc(energies) -> dict:
    counts = {"params": 10, "dense_macs": 5000, "macs": 1000, "synops": 1000, "elementwise_ops": 0,
              "neuron_updates": 40, "spikes": 8, "firing_rate": 0.2}
    return {"model": "hand", "batch_size": 1, "timesteps": 4, "spikes": "binary", "totals": counts,
            "branches": {"ann": counts}, "layers": [], "by_operator": {}, "energy": energies}


@pytest.mark.parametrize("name", sorted(CHIPS))
def test_report_assumptions_state_the_provenance(name):
    model = get_energy_model(name)
    e = estimate_energy(PROFILE, model)
    assert all(e["assumptions"][key] == getattr(model, key) for key in PROVENANCE)
    lines = profile_report.summary_lines(_doc([e]))
    provenance = f"  provenance: {model.source}; process {model.process}; {model.figure}; " \
                 f"operating point {model.operating_point}"
    assert provenance in lines and f"  caveat: {model.caveat}" in lines
    assumes = next(line for line in lines if line.startswith("  assumes: SOP"))
    assert f"SOP {model.sop_pj:g} pJ" in assumes and f"at {model.mac_pj:g} pJ ({model.mac_source})" in assumes
    # the JSON document keeps them too
    assert profile_report.report_dict(_doc([]), [e])["energy"][0]["assumptions"]["figure"] == model.figure


def test_report_of_a_chip_beside_a_compute_model():
    energies = [estimate_energy(PROFILE, "45nm-fp32"), estimate_energy(PROFILE, "loihi")]
    lines = profile_report.summary_lines(_doc(energies))
    assert any(line.startswith("  assumes: 32-bit, MAC 4.6 pJ, AC 0.9 pJ") for line in lines)
    assert ("  assumes: SOP 23.6 pJ, neuron updates counted at 81 pJ active (the neuron spikes at that step) / 52 pJ "
            "inactive, spikes counted at 1.7 pJ each") in "\n".join(lines)
    assert sum(line.startswith("  provenance: ") for line in lines) == 1


CHIP = """name = "chip"
kind = "neuromorphic"
sop_pj = 10.0
mac_pj = 0.23
mac_source = "host"
source = "paper"
process = "28 nm"
figure = "measured on silicon"
operating_point = "0.8 V"
caveat = "total energy"
"""


def _write(tmp_path, text):
    path = tmp_path / "chip.toml"
    path.write_text(text)
    return str(path)


def test_a_user_chip_with_one_neuron_update_figure(tmp_path):
    # 1000 MACs x 0.23 = 230; 1000 synops x 10 = 10000; 40 updates x 0.5 = 20 (spikes not counted)
    model = load_energy_model_file(_write(tmp_path, CHIP + "neuron_update_pj = 0.5\n"))
    assert model.neuron_update_pj == (0.5, 0.5)
    e = estimate_energy(PROFILE, model)
    assert e["breakdown_pj"] == pytest.approx({"ann": 230.0, "snn": 10000.0, "neuron": 20.0, "memory": 0.0})
    assert e["assumptions"]["neuron_updates"] == "counted at 0.5 pJ each"


NEURON_RULE = "it must be a finite number >= 0 or a table {active = pJ, inactive = pJ} of them"


@pytest.mark.parametrize("text,message", [
    (CHIP.replace('source = "paper"\n', ""), "missing required key 'source'"),
    (CHIP.replace('caveat = "total energy"\n', ""), "missing required key 'caveat'"),
    (CHIP.replace('operating_point = "0.8 V"\n', ""), "missing required key 'operating_point'"),
    (CHIP.replace('process = "28 nm"\n', ""), "missing required key 'process'"),
    (CHIP.replace('figure = "measured on silicon"\n', ""), "missing required key 'figure'"),
    (CHIP.replace('mac_source = "host"\n', ""), "missing required key 'mac_source'"),
    (CHIP.replace('mac_pj = 0.23\n', ""), "missing required key 'mac_pj'"),
    (CHIP.replace('sop_pj = 10.0\n', ""), "missing required key 'sop_pj'"),
    (CHIP.replace('"measured on silicon"', '"measured"'),
     "invalid figure='measured'; valid values: measured on silicon, simulated (pre-silicon)"),
    (CHIP.replace('source = "paper"', 'source = "  "'), "invalid source='  '; it must not be empty"),
    (CHIP.replace("sop_pj = 10.0", "sop_pj = inf"), "invalid sop_pj=inf; it must be finite"),
    (CHIP.replace("sop_pj = 10.0", "sop_pj = -1"), "invalid sop_pj=-1.0; it must be >= 0"),
    (CHIP.replace("mac_pj = 0.23", "mac_pj = nan"), "invalid mac_pj=nan; it must be finite"),
    (CHIP + "spike_pj = -inf\n", "invalid spike_pj=-inf; it must be finite"),
    (CHIP + "neuron_update_pj = inf\n", f"invalid neuron_update_pj=inf; {NEURON_RULE}"),
    (CHIP + "neuron_update_pj = -1\n", f"invalid neuron_update_pj=-1; {NEURON_RULE}"),
    (CHIP + "neuron_update_pj = { active = 81.0 }\n", f"invalid neuron_update_pj={{'active': 81.0}}; {NEURON_RULE}"),
    (CHIP + "neuron_update_pj = { active = 81.0, idle = 52.0 }\n", "invalid neuron_update_pj="),
    (CHIP + "neuron_update_pj = [81.0, 52.0]\n", f"invalid neuron_update_pj=[81.0, 52.0]; {NEURON_RULE}"),
    (CHIP + "neuron_update_pj = true\n", f"invalid neuron_update_pj=True; {NEURON_RULE}"),
    (CHIP + "watts = 3\n", "unknown key 'watts'; valid keys: bit_width, caveat, description, elementwise_pj, figure, "),
    (CHIP + "ac_pj = 1\n", "unknown key 'ac_pj'"),
])
def test_malformed_chip_toml_is_one_line_naming_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(EnergyModelError) as info:
        load_energy_model_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value) and "\n" not in str(info.value)
    result = run_cli("energy", "-m", "test-hybrid-tiny", "-e", path)  # the command: one line, exit 2
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {info.value}\n")


def test_cli_energy_on_loihi_prints_the_provenance():
    result = run_cli("energy", "-m", "test-hybrid-tiny", "-e", "loihi")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # the table format wraps footer lines
    model = get_energy_model("loihi")
    assert "energy [loihi]:" in text
    assert (f"provenance: {model.source}; process 14 nm; simulated (pre-silicon); operating point 0.75 V"
            in text)
    assert f"caveat: {' '.join(model.caveat.split())}" in text
    assert re.search(r"assumes: SOP 23\.6 pJ, neuron updates counted at 81 pJ active", text)
