"""ashbench's energy models beside spikingjelly 2.0's estimators (``op_counter``) on one small net whose
every count is computed by hand: equal where the two define the same thing (the same count at the same
price), and each known difference as an exact number with its reason. The benchmark
``benchmarks/energy_estimators.py`` does the same split on the reference net and the ASH-Net default.

The net (multi-step, T=4, B=2, input 0.5 everywhere: real-valued, so the first conv is ANN work):

    conv1  Conv2d(1, 2, 3, bias=False), 6x6 -> 4x4; weights 8/9 (channel 0) and 3.2/9 (channel 1), so
           every output is 4.0 (channel 0) or 1.6 (channel 1)
    bn     BatchNorm2d(2) in eval mode, identity statistics
    lif1   LIFNode (tau 2, threshold 1, hard reset to 0): channel 0 (input 4.0) fires every step, channel 1
           (input 1.6: v = 0.8, then 1.2) every second step -> 16 * 4 + 16 * 2 = 96 spikes per sample
    conv2  Conv2d(2, 2, 3, padding=1), weights 0.01, bias 4.0 on the spikes
    lif2   LIFNode: input >= 4.0, fires every step -> 32 * 4 = 128 spikes per sample
    flat   Flatten
    fc     Linear(32, 3, bias=False) on all-ones spikes
"""

import warnings

import pytest
import torch
from spikingjelly.activation_based import functional, layer, neuron
from spikingjelly.activation_based import op_counter as sj

from ashbench.energy import estimate_energy, get_energy_model
from ashbench.profiler import profile

T, B = 4, 2
HOROWITZ = {"45nm-fp32": "fp32", "45nm-fp16": "fp16", "45nm-int8": "int8"}
# per sample, by hand
MACS = 2 * 4 * 4 * 9 * T  # conv1: 32 outputs x 9 weights per step = 1152
BN_ELEMENTS = 2 * 4 * 4 * T  # 128
# conv2's true fan-out on a 4x4 map, padding 1, 3x3 kernel: a corner input reaches 2x2 outputs, an edge
# input 2x3, an inner one 3x3: 4*4 + 8*6 + 4*9 = 100 per input channel map and output channel; channel 0
# fires 4 steps, channel 1 two, 2 output channels: (4 + 2) * 100 * 2 = 1200
CONV2_SYNOPS = (4 + 2) * 100 * 2
FC_SYNOPS = 32 * 3 * T  # 384: every input spikes every step
SPIKES_IN_CONV2 = 96
UPDATES = 2 * 32 * T  # 256: two LIF layers of 32 neurons
SPIKES = 96 + 128


def build_net() -> torch.nn.Module:
    net = torch.nn.Sequential(layer.Conv2d(1, 2, 3, bias=False), layer.BatchNorm2d(2), neuron.LIFNode(),
                              layer.Conv2d(2, 2, 3, padding=1), neuron.LIFNode(), layer.Flatten(),
                              layer.Linear(32, 3, bias=False))
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        net[0].weight[0].fill_(8 / 9)
        net[0].weight[1].fill_(3.2 / 9)
        net[3].weight.fill_(0.01)  # not 0: spikingjelly takes an all-{0,1} weight for a spike tensor
        net[3].bias.fill_(4.0)
        net[6].weight.fill_(0.1)
    return net.eval()


def _by_op(counter) -> dict:
    return {str(op): n for op, n in counter.get_counts()["Global"].items()}


def _scoped(counter, module: str) -> int:
    """spikingjelly's count of one module (its scope is 'Sequential.<name>'), whole batch."""
    return sum(counter.get_counts().get(f"Sequential.{module}", {}).values())


@pytest.fixture(scope="module")
def run():
    net, x = build_net(), torch.full((T, B, 1, 6, 6), 0.5)
    doc = profile(net, x, layout="TB").to_dict()
    functional.reset_net(net)
    counters = [sj.MACCounter(), sj.ACCounter(), sj.SynOpCounter()]
    with torch.no_grad(), sj.DispatchCounterMode(counters):
        net(x)
    functional.reset_net(net)
    simple = {}
    for preset in HOROWITZ.values():
        profiler = sj.SimpleEnergyProfiler(config=sj.SimpleEnergyConfig(
            cost_config=getattr(sj.SimpleEnergyCostConfig, preset)()))
        profiler.bind_model(net)
        with profiler, torch.no_grad():
            net(x)
        functional.reset_net(net)
        simple[preset] = profiler
    lemaire = {}
    for batch in (B, 1):  # every sample is the same: only the batch dimension changes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # BatchNorm2d and Flatten: outside the paper
            lemaire[batch] = sj.estimate_lemaire_energy(net, x[:, :batch], config=sj.LemaireEnergyConfig(strict=False))
        functional.reset_net(net)
    doc_b1 = profile(net, x[:, :1], layout="TB").to_dict()
    return {"net": net, "doc": doc, "doc_b1": doc_b1, "counters": counters, "simple": simple, "lemaire": lemaire}


def test_the_hand_counts(run):
    doc = run["doc"]
    t = doc["totals"]
    assert (t["macs"], t["synops"], t["neuron_updates"], t["spikes"]) == (MACS, CONV2_SYNOPS + FC_SYNOPS, UPDATES,
                                                                          SPIKES)
    own = {r["module"]: r["self"] for r in doc["layers"]}
    assert (own["3"]["synops"], own["6"]["synops"], own["2"]["spikes"], own["4"]["spikes"]) == (
        CONV2_SYNOPS, FC_SYNOPS, SPIKES_IN_CONV2, 128)


def test_the_presets_are_the_same_numbers():
    for name, preset in HOROWITZ.items():
        model, cost = get_energy_model(name), getattr(sj.SimpleEnergyCostConfig, preset)()
        assert (model.mac_pj, model.ac_pj) == (cost.e_mac_pj, cost.e_ac_pj)
    model, cost = get_energy_model("memory-aware"), sj.LemaireEnergyCostConfig()
    assert (model.add_pj, model.mult_pj, model.bit_width) == (cost.e_add_pj, cost.e_mul_pj, 32)
    # the same SRAM figures (10 / 20 / 100 pJ at 8 KiB / 32 KiB / 1 MiB), but spikingjelly reads them per
    # 32-bit access (pJ per byte = figure / 4) and interpolates linearly from (0, 0); ashbench per 64-bit
    # access (figure / 8 per byte), a step per buffer size
    assert [(x, y * 4) for x, y in cost.memory_breakpoints[1:]] == list(model.memory)
    assert model.access_bits == 64 and cost.memory_cost_pj(4096) == 4096 * (10 / 4) / 8192  # halfway to 8 KiB


@pytest.mark.parametrize("name", HOROWITZ)
def test_horowitz_models_equal_simple_energy_where_they_agree(run, name):
    doc, profiler = run["doc"], run["simple"][HOROWITZ[name]]
    model, report = get_energy_model(name), profiler.get_report()
    cost = profiler.config.cost_config
    energy = estimate_energy(doc, name)
    mac_by_op = _by_op(profiler.mac_counter)
    # equal: the MACs of the conv on the real-valued input, at the same MAC price
    assert mac_by_op["aten.convolution.default"] == MACS * B
    assert energy["breakdown_pj"]["ann"] == cost.e_mac_pj * (mac_by_op["aten.convolution.default"] / B)
    # equal: synops, layer by layer (spikingjelly's SynOpCounter per module scope), at the same AC price
    synop = profiler.synop_counter
    assert [_scoped(synop, "3") / B, _scoped(synop, "6") / B] == [CONV2_SYNOPS, FC_SYNOPS]
    assert energy["breakdown_pj"]["snn"] == cost.e_ac_pj * (_scoped(synop, "3") / B) + cost.e_ac_pj * (
        _scoped(synop, "6") / B)
    assert report.counts["synop"] / B == doc["totals"]["synops"]
    # known difference: spikingjelly prices batch norm's affine step as one MAC per element (128 per
    # sample); ashbench counts it as 2 elementwise ops per element, priced 0 by the Horowitz models
    assert mac_by_op["aten.native_batch_norm.default"] == BN_ELEMENTS * B
    assert report.energy_mac_pj / B == model.mac_pj * (MACS + BN_ELEMENTS)
    # known difference: ACs beyond the synops. Batch norm at inference: C + N = 2 + 256 per call (one call
    # for the batch); the LIF neurons' charge/reset ops (3 subs, 1 rsub, 1 charge add per element and step,
    # 64 elements per step and layer; the reset add counts out.numel() when an operand is real-valued and
    # the operands' nonzeros (0 here) when both are binary: only lif1 keeps a real-valued residue, on
    # 2 of its 4 steps: 2 * 64 more adds); and 127 ACs of an aten.sum that spikingjelly's own memory
    # counter runs on conv2's occupancy map ([T*B, 1, 4, 4] = 128 elements) outside its dispatch guard.
    assert report.counts["ac"] == CONV2_SYNOPS * B + FC_SYNOPS * B + 258 + 1536 + (512 + 128) + 512 + 127
    assert {k: v for k, v in _by_op(profiler.ac_counter).items() if v} == {
        "aten.convolution.default": CONV2_SYNOPS * B, "aten.mm.default": FC_SYNOPS * B,
        "aten.native_batch_norm.default": 2 + 256, "aten.sub.Tensor": 3 * 64 * T * 2,
        "aten.add.Tensor": 64 * T * 2 + 2 * 64, "aten.rsub.Scalar": 64 * T * 2, "aten.sum.default": 128 - 1}
    # the same ACCounter run on its own does not see the 127
    assert sum(_by_op(run["counters"][1]).values()) == report.counts["ac"] - 127
    # known difference: memory, 24.96 pJ per byte, which the Horowitz models do not count: weight reads of
    # 4 bytes per weight use (= per MAC, and per synop: 4 * (1152 + 1584)), conv2's bias per output (4 * 128)
    # and the LIF state read + written per step (2 * 2 layers * 32 neurons * 4 steps * 4 bytes)
    per_sample = {k: v / B for k, v in report.counts.items()}
    assert per_sample["weight_read_bytes"] == 4 * (doc["totals"]["macs"] + doc["totals"]["synops"]) == 10944
    assert per_sample["bias_read_bytes"] == 4 * 32 * T
    assert per_sample["neuron_state_read_bytes"] + per_sample["neuron_state_write_bytes"] == (
        doc["totals"]["membrane_read_bytes"] + doc["totals"]["membrane_write_bytes"]) == 2048
    assert report.energy_memory_pj / B == 24.96 * (10944 + 512 + 2048) and energy["breakdown_pj"]["memory"] == 0.0


def test_memory_aware_equals_lemaire_where_they_agree(run):
    doc, report = run["doc"], run["lemaire"][B]
    energy = estimate_energy(doc, "memory-aware")
    c = {k: v / B for k, v in report.counts.items()}
    # equal: MACs of the conv on real input + one leak-and-integrate MAC per LIF update, at mult + add
    assert c["mac"] == MACS + UPDATES
    assert energy["breakdown_pj"]["ann"] + energy["breakdown_pj"]["neuron"] == (3.1 + 0.1) * c["mac"]
    # known difference: Lemaire's synaptic events of a conv are C_out * k^2 per input spike, whatever the
    # borders (96 spikes * 2 * 9 = 1728); ashbench counts the 1200 outputs they really reach. The Linear
    # layer's 384 agree. Both price 2 adds per event (accumulate + address).
    assert c["synop"] == SPIKES_IN_CONV2 * 2 * 9 + FC_SYNOPS == CONV2_SYNOPS + FC_SYNOPS + 528
    assert energy["breakdown_pj"]["snn"] == 0.2 * (CONV2_SYNOPS + FC_SYNOPS)
    # known differences Lemaire counts and ashbench does not: a bias add per conv2 output (128), an add
    # per emitted spike (224); addressing of the dense conv1: x + out + C_out*k^2 = 288 + 256 + 18 per call
    # (one call for the batch: 562 / 2); 2 address multiplies per input spike of conv2 (2 * 96)
    assert c["ac"] == c["synop"] + 32 * T + SPIKES
    assert c["acc_addr"] == c["synop"] + (288 + 256 + 18) / B
    assert c["mac_addr"] == 2 * SPIKES_IN_CONV2
    assert report.breakdown_pj["ops_pj"] / B == c["ac"] * 0.1 + c["mac"] * 3.2
    assert report.breakdown_pj["addressing_pj"] / B == c["acc_addr"] * 0.1 + c["mac_addr"] * 3.2


def test_memory_aware_and_lemaire_memory_differ_as_stated(run):
    doc, report = run["doc"], run["lemaire"][B]
    t = doc["totals"]
    # ashbench: every buffer of this net is <= 8 KiB: 10 pJ per 64-bit access = 1.25 pJ per byte of
    # activations read + written (3136 + 2608), membranes (1024 + 1024) and the dense layers' weights
    # (conv1 72 bytes + bn 32 bytes per call, one call per batch: 52 per sample); per synop half an
    # access for the 32-bit weight and a read + write of the target accumulator: 1584 * 0.5 * (10 + 2 * 10)
    assert t["activation_read_bytes"] + t["activation_write_bytes"] == 3136 + 2608
    assert energy_memory(doc) == 1.25 * (3136 + 2608 + 1024 + 1024 + 52) + 1584 * 0.5 * 30 == 33565.0
    # Lemaire (batch 2), pJ per byte = 2.5 / 8192 * buffer bytes (all buffers < 8 KiB), buffers sized
    # with the batch. In/out: conv1 reads its input once per MAC (2304 * 4 bytes) from a 1152-byte
    # buffer (the whole [T, B, 1, 6, 6] input); the spikes of lif1 (192 * 4 bytes) and lif2 (256 * 4) are
    # written to and read from 1000-word FIFOs (4000 bytes). Parameters: conv1 2304 * 4 bytes from 72;
    # conv2 one weight per event (192 * 18 * 4) + a bias per output (256 * 4) from 152; fc 768 * 4 from
    # 384. Potentials: each LIF reads and writes 1024 bytes in a 256-byte buffer (B * 32 * 4); conv2
    # reads and writes its accumulators per event (3456 * 4) in 256 bytes, fc 768 * 4 in 24 bytes.
    per_byte = 2.5 / 8192
    inout = per_byte * (9216 * 1152 + 2 * 768 * 4000 + 2 * 1024 * 4000)
    params = per_byte * (9216 * 72 + (13824 + 1024) * 152 + 3072 * 384)
    potential = per_byte * (4 * 1024 * 256 + 2 * 13824 * 256 + 2 * 3072 * 24)
    assert [report.breakdown_pj[k] for k in ("inout_pj", "params_pj", "potential_pj")] == [inout, params, potential]
    assert (inout, params, potential) == (7615.0, 1251.25, 2525.0)
    assert report.breakdown_pj["memory_pj"] / B == 5695.625
    # the batch: the same samples at batch 1 (the same per-sample counts) give Lemaire 4254.375 pJ of
    # memory per sample, as its buffers shrink with the batch (conv1's input buffer 576 bytes, each
    # LIF's 128, ...). ashbench sizes buffers per sample; its only change is that the dense layers'
    # weights, read once per call, are shared by one sample instead of two: 52 more bytes, 65 pJ
    assert run["lemaire"][1].breakdown_pj["memory_pj"] == 4254.375
    assert {k: v / 1 for k, v in run["lemaire"][1].counts.items() if k in ("synop", "mac", "ac")} == {
        k: c / B for k, c in report.counts.items() if k in ("synop", "mac", "ac")}
    assert energy_memory(run["doc_b1"]) == energy_memory(doc) + 1.25 * 52 == 33630.0


def energy_memory(doc: dict) -> float:
    return estimate_energy(doc, "memory-aware")["breakdown_pj"]["memory"]


def test_the_benchmark_splits_the_small_net_the_same_way():
    """benchmarks/energy_estimators.py on this net: its equal rows are equal, the conv's synapses differ."""
    import sys
    from pathlib import Path

    folder = str(Path(__file__).resolve().parent.parent / "benchmarks")
    sys.path.insert(0, folder)
    try:
        import energy_estimators as bench
    finally:
        sys.path.remove(folder)
    rows = bench.compare(bench.Net("small", build_net(), (torch.full((T, B, 1, 6, 6), 0.5),), "TB", B))["rows"]
    agree = {(r["pair"], r["part"]): r["agree"] for r in rows}
    assert agree[("45nm-fp32 / Simple fp32", "MACs both count (conv, linear, matmul)")] == "equal"
    assert agree[("45nm-int8 / Simple int8", "synops as ACs")] == "equal"
    assert agree[("memory-aware / Lemaire", "MACs of Linear/Conv modules + LIF updates")] == "equal"
    assert agree[("memory-aware / Lemaire", "synaptic accumulate + address (2 adds)")] == "differs (f)"
    assert not [r for r in rows if r["agree"] == "DIFFERS"]
    synapses = next(r for r in rows if r["part"] == "synaptic accumulate + address (2 adds)")
    assert (synapses["ashbench_pj"], synapses["sj_pj"]) == (0.2 * 1584, 0.1 * 2 * 2112)
