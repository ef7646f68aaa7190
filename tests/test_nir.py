"""``ashbench energy --model graph.nir``: NIR graphs converted (ashbench.models.nir_graph), run one
time step per call over [T, B, ...] inputs, and profiled through the CLI's real entry point."""

import json

import numpy as np
import pytest
import torch
import torch.nn as nn
from helpers import run_cli

nir = pytest.importorskip("nir")  # the optional extra 'frameworks'
h5py = pytest.importorskip("h5py")
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402

from ashbench.models.nir_graph import poisson_inputs  # noqa: E402
from ashbench.profiler import profile  # noqa: E402

DT = 1e-4  # the NIR time step ashbench assumes for a graph without metadata['dt']
COMPARED = ("dense_macs", "macs", "synops", "spikes", "neuron_updates", "neurons", "timesteps", "firing_rate",
            "firing_rate_per_step")


def energy_json(*args):
    result = run_cli("energy", *args, "-f", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows(doc):
    return {row["module"]: row for row in doc["layers"]}


def write_graph(path, nodes, edges, **kwargs):
    """Write a NIR graph as nir 1.0.0-1.0.4 wrote it: no ``v_reset`` (reset by subtracting the
    threshold); nir >= 1.0.5 writes v_reset = 0 (a reset to 0) by default, which the tests that need
    it add explicitly."""
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges, **kwargs))
    with h5py.File(path, "a") as f:
        for node in f["node/nodes"].values():
            if "v_reset" in node:
                del node["v_reset"]
    return str(path)


def chain(*names):
    return [(a, b) for a, b in zip(names, names[1:])]


def f32(values):
    return np.asarray(values, dtype=np.float32)


# -- round trip: a spikingjelly net and the same net as a NIR graph give the same counts -------------

# Hand-built case: every weight, input and membrane value below is a multiple of 1/64, so every
# update is exact in float32 whatever order the arithmetic takes, and no membrane ever equals its
# threshold (1.0) exactly, where spikingjelly (v >= 1) and NIR (v > 1) would differ.
W0 = [[0.75, 0.75, 0.75, 0.75],  # neuron a
      [0.375, 0.0, 0.0, 1.5],  # neuron b
      [0.3125, 0.3125, 0.3125, 0.3125]]  # neuron c
W2 = [[1.5, 0.5, 1.0],  # neuron p
      [0.5, 1.5, 0.25]]  # neuron q
B2 = [0.25, 0.0]
X = [  # [T=3, B=2, 4]
    [[1, 1, 0, 0], [0, 0, 0, 0]],
    [[1, 0, 1, 0], [1, 1, 1, 1]],
    [[0, 0, 0, 1], [1, 0, 0, 0]],
]


def sj_net():
    """Linear(4, 3, no bias) -> IF -> Linear(3, 2) -> LIF(tau=2), soft reset (spikingjelly's
    v_reset=None: nir 1.0's reset by subtraction), multi-step mode."""
    net = nn.Sequential(layer.Linear(4, 3, bias=False), neuron.IFNode(v_reset=None),
                        layer.Linear(3, 2), neuron.LIFNode(tau=2.0, v_reset=None))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(W0))
        net[2].weight.copy_(torch.tensor(W2))
        net[2].bias.copy_(torch.tensor(B2))
    functional.set_step_mode(net, "m")
    return net


def sj_graph(path):
    """The same net as a NIR graph, node names = the spikingjelly module names.

    IF: r = 1/dt gives v += dt*r*x = x. LIF: tau = 2*dt, r = 1, v_leak = 0 gives
    v += (x - v) / 2, spikingjelly's LIFNode(tau=2, decay_input=True)."""
    nodes = {
        "input": nir.Input(input_type=np.array([4])),
        "0": nir.Linear(weight=f32(W0)),
        "1": nir.IF(r=np.full(3, 1 / DT), v_threshold=np.ones(3)),
        "2": nir.Affine(weight=f32(W2), bias=f32(B2)),
        "3": nir.LIF(tau=np.full(2, 2 * DT), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
        "output": nir.Output(output_type=np.array([2])),
    }
    return write_graph(path, nodes, chain("input", "0", "1", "2", "3", "output"))


def test_round_trip_hand_built_counts(tmp_path):
    graph = sj_graph(tmp_path / "net.nir")
    x = torch.tensor(X, dtype=torch.float32)
    torch.save(x, tmp_path / "x.pt")
    doc = energy_json("--model", graph, "--inputs", tmp_path / "x.pt")
    ref = profile(sj_net(), x, layout="TB").to_dict()
    got, want = rows(doc), rows(ref)
    for name in ("", "0", "1", "2", "3"):
        for key in COMPARED:
            assert got[name][key] == want[name][key], (name, key)
    assert (doc["batch_size"], doc["timesteps"], doc["layout"]) == (2, 3, "TB")
    assert [got[n]["type"] for n in ("0", "1", "2", "3")] == ["Linear", "NIRIF", "Linear", "NIRLIF"]

    # Input events: sample 0 has 2 + 2 + 1 = 5, sample 1 has 0 + 4 + 1 = 5; 10 in all.
    # Layer 0, Linear(4, 3): each input event reaches 3 neurons: 10 * 3 = 30 synops, 15 per sample;
    # dense: T * B * 4 * 3 = 72 MACs, 36 per sample.
    assert (got["0"]["synops"], got["0"]["dense_macs"], got["0"]["macs"]) == (15, 36, 0)
    # IF (v += W0 x; spike if v > 1; v -= 1 on a spike). Currents per step [a, b, c]:
    #   sample 0: t0 [1.5, .375, .625], t1 [1.5, .375, .625], t2 [.75, 1.5, .3125]
    #     a: 1.5 s .5 | 2.0 s 1.0 | 1.75 s        -> t0 t1 t2
    #     b: .375     | .75       | 2.25 s        -> t2
    #     c: .625     | 1.25 s .25| .5625         -> t1
    #   sample 1: t0 [0, 0, 0], t1 [3.0, 1.875, 1.25], t2 [.75, .375, .3125]
    #     a: 0 | 3.0 s 2.0 | 2.75 s    -> t1 t2
    #     b: 0 | 1.875 s .875 | 1.25 s -> t1 t2
    #     c: 0 | 1.25 s .25 | .5625    -> t1
    # spikes per step (both samples): t0 1, t1 5, t2 4: 10 in all, 5 per sample; 3 neurons x 3 steps.
    assert (got["1"]["spikes"], got["1"]["neuron_updates"], got["1"]["neurons"]) == (5, 9, 3)
    assert got["1"]["firing_rate"] == pytest.approx(5 / 9)
    assert got["1"]["firing_rate_per_step"] == pytest.approx([1 / 6, 5 / 6, 4 / 6])
    # Layer 2, Linear(3, 2): 10 spikes x 2 = 20 synops, 10 per sample; dense 3 * 2 * 3 * 2 = 36, 18.
    assert (got["2"]["synops"], got["2"]["dense_macs"]) == (10, 18)
    # LIF (v += (J - v) / 2, J = W2 s + B2; spike if v > 1; v -= 1):
    #   sample 0, spikes [a,b,c]: t0 [1,0,0], t1 [1,0,1], t2 [1,1,0]
    #     p: J 1.75, 2.75, 2.25 -> v .875 | 1.8125 s .8125 | 1.53125 s -> t1 t2
    #     q: J .5, .75, 2.0     -> v .25 | .5 | 1.25 s                 -> t2
    #   sample 1, spikes: t0 [0,0,0], t1 [1,1,1], t2 [1,1,0]
    #     p: J .25, 3.25, 2.25  -> v .125 | 1.6875 s .6875 | 1.46875 s -> t1 t2
    #     q: J 0, 2.25, 2.0     -> v 0 | 1.125 s .125 | 1.0625 s       -> t1 t2
    # spikes per step: t0 0, t1 3, t2 4: 7 in all, 3.5 per sample; 2 neurons x 3 steps.
    assert (got["3"]["spikes"], got["3"]["neuron_updates"]) == (3.5, 6)
    assert got["3"]["firing_rate_per_step"] == pytest.approx([0.0, 0.75, 1.0])
    totals = doc["totals"]
    assert (totals["synops"], totals["dense_macs"], totals["macs"], totals["neuron_updates"], totals["spikes"]) == \
        (25, 54, 0, 15, 8.5)
    assert totals["firing_rate"] == pytest.approx(8.5 / 15)


def conv_net():
    """Conv2d(1, 2, 3, padding=1) -> IF -> Flatten -> Linear(50, 3) -> IF, random float weights
    (seed 0) mostly positive, so that both IF layers fire (about 34% and 61% of the time)."""
    net = nn.Sequential(layer.Conv2d(1, 2, 3, padding=1), neuron.IFNode(v_reset=None), layer.Flatten(),
                        layer.Linear(50, 3), neuron.IFNode(v_reset=None))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        net[0].weight.copy_(torch.rand(2, 1, 3, 3, generator=g) - 0.2)
        net[0].bias.copy_(torch.rand(2, generator=g) * 0.2 - 0.1)
        net[3].weight.copy_(torch.rand(3, 50, generator=g) * 0.3 - 0.1)
        net[3].bias.copy_(torch.rand(3, generator=g) * 0.2 - 0.1)
    functional.set_step_mode(net, "m")
    return net


def conv_graph(net, path):
    conv, linear = net[0], net[3]
    array = lambda p: p.detach().numpy()  # noqa: E731
    nodes = {
        "input": nir.Input(input_type=np.array([1, 5, 5])),
        "0": nir.Conv2d(input_shape=(5, 5), weight=array(conv.weight), stride=(1, 1), padding=(1, 1),
                        dilation=(1, 1), groups=1, bias=array(conv.bias)),
        "1": nir.IF(r=np.full((2, 5, 5), 1 / DT), v_threshold=np.ones((2, 5, 5))),
        "2": nir.Flatten(input_type={"input": np.array([2, 5, 5])}, start_dim=0, end_dim=-1),
        "3": nir.Affine(weight=array(linear.weight), bias=array(linear.bias)),
        "4": nir.IF(r=np.full(3, 1 / DT), v_threshold=np.ones(3)),
        "output": nir.Output(output_type=np.array([3])),
    }
    return write_graph(path, nodes, chain("input", "0", "1", "2", "3", "4", "output"))


def test_round_trip_conv_net_same_counts_per_layer(tmp_path):
    net = conv_net()
    graph = conv_graph(net, tmp_path / "conv.nir")
    x = (torch.rand((6, 3, 1, 5, 5), generator=torch.Generator().manual_seed(1)) < 0.3).float()
    torch.save(x, tmp_path / "x.pt")
    doc = energy_json("--model", graph, "--inputs", tmp_path / "x.pt")
    ref = profile(net, x, layout="TB").to_dict()
    got, want = rows(doc), rows(ref)
    assert set(got) == set(want) == {"", "0", "1", "3", "4"}  # Flatten does no work: no row
    for name in want:
        for key in COMPARED:
            assert got[name][key] == want[name][key], (name, key, got[name][key], want[name][key])
    assert got["1"]["spikes"] > 0 and got["4"]["spikes"] > 0  # the comparison is not vacuous
    # Conv2d on 5x5 with padding 1: dense 2 * 25 * 9 = 450 MACs per step and sample, 6 steps.
    assert got["0"]["dense_macs"] == 6 * 450 and got["0"]["macs"] == 0
    # Linear(50, 3): each spike of layer 1 reaches 3 neurons
    assert got["3"]["synops"] == got["1"]["spikes"] * 3


# -- Poisson inputs ----------------------------------------------------------------------------------

def test_poisson_inputs_are_reproducible_and_count_as_synops(tmp_path):
    graph = sj_graph(tmp_path / "net.nir")
    first = energy_json("--model", graph)
    assert first == energy_json("--model", graph)  # seed 0: the same counts on every run
    assert (first["timesteps"], first["batch_size"]) == (8, 1)  # defaults: T = 8, B = 1
    # default rate 0.1: the input spikes are rand((8, 1, 4), seed 0) < 0.1
    events = int(poisson_inputs((4,), 8, 1, 0.1).sum())
    assert events == 3
    assert rows(first)["0"]["synops"] == events * 3  # each input spike reaches the 3 neurons of layer 0
    assert rows(first)["0"]["macs"] == 0

    # rate 1: every input spikes at every step: 5 steps x 4 inputs x 3 = 60 synops into layer 0
    full = energy_json("--model", graph, "--input-rate", "1", "-T", "5", "-b", "2")
    assert (full["timesteps"], full["batch_size"]) == (5, 2)
    assert rows(full)["0"]["synops"] == 5 * 4 * 3
    silent = energy_json("--model", graph, "--input-rate", "0")
    assert silent["totals"]["synops"] == 0 and silent["totals"]["spikes"] == 0
    assert silent["totals"]["neuron_updates"] == 8 * 5  # 5 neurons updated at each of 8 steps


# -- neuron semantics --------------------------------------------------------------------------------

def one_neuron_graph(path, neuron_node, weight=1.0):
    """Input [1] -> Linear [[weight]] -> neuron -> Output."""
    nodes = {"input": nir.Input(input_type=np.array([1])), "w": nir.Linear(weight=f32([[weight]])),
             "n": neuron_node, "output": nir.Output(output_type=np.array([1]))}
    return write_graph(path, nodes, chain("input", "w", "n", "output"))


def run_ones(tmp_path, graph, steps=4):
    torch.save(torch.ones(steps, 1, 1), tmp_path / "ones.pt")
    return rows(energy_json("--model", graph, "--inputs", tmp_path / "ones.pt"))["n"]


def test_threshold_is_strict_as_in_nir(tmp_path):
    """NIR fires when v > v_threshold: input 0.5 per step reaches v = 1.0 at t1 without a spike
    (spikingjelly's IFNode, firing at v >= 1, would spike there); 1.5 at t2 fires, v -> 0.5;
    1.0 at t3 does not fire again."""
    graph = one_neuron_graph(tmp_path / "if.nir", nir.IF(r=np.array([1 / DT]), v_threshold=np.ones(1)), 0.5)
    assert run_ones(tmp_path, graph)["firing_rate_per_step"] == [0.0, 0.0, 1.0, 0.0]


def test_v_reset_of_newer_nir_files_is_a_hard_reset(tmp_path):
    """Input 0.875 per step into IF(threshold 1). Without v_reset (nir 1.0: subtract the threshold):
    v = .875 | 1.75 s .75 | 1.625 s .625 | 1.5 s -> spikes at t1 t2 t3. With v_reset = 0 (a dataset
    NIR >= 1.1 writes): v = .875 | 1.75 s 0 | .875 | 1.75 s -> spikes at t1 t3."""
    node = nir.IF(r=np.array([1 / DT]), v_threshold=np.ones(1))
    soft = one_neuron_graph(tmp_path / "soft.nir", node, 0.875)
    with h5py.File(soft, "a") as f:  # a file of nir <= 1.0.4 (newer versions write v_reset = 0 by default)
        if "v_reset" in f["node/nodes/n"]:
            del f["node/nodes/n/v_reset"]
    assert run_ones(tmp_path, soft)["firing_rate_per_step"] == [0.0, 1.0, 1.0, 1.0]
    hard = one_neuron_graph(tmp_path / "hard.nir", node, 0.875)
    with h5py.File(hard, "a") as f:
        if "v_reset" not in f["node/nodes/n"]:
            f["node/nodes/n"].create_dataset("v_reset", data=np.zeros(1))
    assert run_ones(tmp_path, hard)["firing_rate_per_step"] == [0.0, 1.0, 0.0, 1.0]


def test_cuba_lif_dynamics(tmp_path):
    """CubaLIF, tau_syn = tau_mem = 2 dt, w_in = 1.5, r = 2, v_leak = 0, threshold 1, input 1:
    i += (1.5 - i) / 2 then v += (2 i - v) / 2:
      t0: i .75,    v .75                 no spike
      t1: i 1.125,  v 1.5     spike, v .5
      t2: i 1.3125, v 1.5625  spike, v .5625
      t3: i 1.40625, v 1.6875 spike"""
    one = np.ones(1)
    node = nir.CubaLIF(tau_syn=2 * DT * one, tau_mem=2 * DT * one, r=2 * one, v_leak=0 * one, v_threshold=one,
                       w_in=1.5 * one)
    row = run_ones(tmp_path, one_neuron_graph(tmp_path / "cuba.nir", node))
    assert (row["type"], row["firing_rate_per_step"], row["neuron_updates"]) == ("NIRCubaLIF", [0, 1, 1, 1], 4)


def test_graph_dt_metadata_sets_the_time_step(tmp_path):
    """LIF tau = 2e-3 s: with metadata dt = 1e-3, v += (x - v) / 2; input 1.5 -> v .75 | 1.125 s."""
    one = np.ones(1)
    nodes = {"input": nir.Input(input_type=np.array([1])), "w": nir.Linear(weight=f32([[1.5]])),
             "n": nir.LIF(tau=2e-3 * one, r=one, v_leak=0 * one, v_threshold=one),
             "output": nir.Output(output_type=np.array([1]))}
    graph = write_graph(tmp_path / "dt.nir", nodes, chain("input", "w", "n", "output"), metadata={"dt": 1e-3})
    assert run_ones(tmp_path, graph, steps=2)["firing_rate_per_step"] == [0.0, 1.0]


def test_every_supported_node_converts_and_runs(tmp_path):
    """Input [1, 4, 4] -> Conv2d 1->2 k3 -> IF -> SumPool2d 2 -> Scale -> AvgPool2d 1 -> Flatten -> Affine
    -> CubaLIF; a branch Input -> Flatten -> Linear -> LI -> I joins at the output (edges summed)."""
    one = lambda *shape: np.ones(shape)  # noqa: E731
    rng = np.random.default_rng(0)
    nodes = {
        "input": nir.Input(input_type=np.array([1, 4, 4])),
        "conv": nir.Conv2d(input_shape=(4, 4), weight=rng.normal(size=(2, 1, 3, 3)).astype(np.float32), stride=1,
                           padding=0, dilation=1, groups=1, bias=np.zeros(2, dtype=np.float32)),
        "if": nir.IF(r=one(2, 2, 2) / DT, v_threshold=one(2, 2, 2)),
        "sum": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "scale": nir.Scale(scale=np.full((2, 1, 1), 0.5, dtype=np.float32)),
        "avg": nir.AvgPool2d(kernel_size=np.array([1, 1]), stride=np.array([1, 1]), padding=np.array([0, 0])),
        "flat": nir.Flatten(input_type={"input": np.array([2, 1, 1])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=rng.normal(size=(3, 2)).astype(np.float32), bias=np.zeros(3, dtype=np.float32)),
        "cuba": nir.CubaLIF(tau_syn=one(3) * 2 * DT, tau_mem=one(3) * 4 * DT, r=one(3), v_leak=0 * one(3),
                            v_threshold=one(3)),
        "flat2": nir.Flatten(input_type={"input": np.array([1, 4, 4])}, start_dim=0, end_dim=-1),
        "lin": nir.Linear(weight=rng.normal(size=(3, 16)).astype(np.float32)),
        "li": nir.LI(tau=one(3) * 2 * DT, r=one(3), v_leak=0 * one(3)),
        "int": nir.I(r=one(3)),
        "output": nir.Output(output_type=np.array([3])),
    }
    edges = chain("input", "conv", "if", "sum", "scale", "avg", "flat", "fc", "cuba", "output") + \
        chain("input", "flat2", "lin", "li", "int", "output")
    graph = write_graph(tmp_path / "all.nir", nodes, edges)
    doc = energy_json("--model", graph, "--input-rate", "0.5", "-T", "3")
    got = rows(doc)
    assert {name: got[name]["type"] for name in ("conv", "if", "sum", "scale", "avg", "fc", "cuba", "lin", "li",
                                                 "int")} == {
        "conv": "Conv2d", "if": "NIRIF", "sum": "AvgPool2d", "scale": "Scale", "avg": "AvgPool2d", "fc": "Linear",
        "cuba": "NIRCubaLIF", "lin": "Linear", "li": "NIRLI", "int": "NIRIntegrator"}  # Flatten does no work
    assert got["conv"]["dense_macs"] == 3 * 2 * 2 * 2 * 9  # T x (2 channels x 2 x 2 outputs) x 9 taps
    assert got["conv"]["macs"] == 0 and got["conv"]["synops"] > 0  # input spikes: synops
    assert (got["if"]["neurons"], got["cuba"]["neurons"]) == (8, 3)
    assert got["li"]["neurons"] == 0 and got["li"]["elementwise_ops"] > 0  # LI: no spikes, arithmetic
    assert doc["unsupported_ops"] == []


def test_conv1d(tmp_path):
    """Input [1, 6] -> Conv1d(1, 2, 3) -> IF: 2 channels x 4 positions x 3 taps = 24 dense MACs per step;
    at input rate 1 every input element spikes: each of the 6 positions reaches the outputs its
    kernel covers (1, 2, 3, 3, 2, 1 = 12 positions) x 2 channels = 24 synops per step."""
    nodes = {"input": nir.Input(input_type=np.array([1, 6])),
             "conv": nir.Conv1d(input_shape=6, weight=np.full((2, 1, 3), 0.5, dtype=np.float32), stride=1,
                                padding=0, dilation=1, groups=1, bias=np.zeros(2, dtype=np.float32)),
             "if": nir.IF(r=np.ones((2, 4)) / DT, v_threshold=np.ones((2, 4))),
             "output": nir.Output(output_type=np.array([2, 4]))}
    graph = write_graph(tmp_path / "c1.nir", nodes, chain("input", "conv", "if", "output"))
    conv = rows(energy_json("--model", graph, "--input-rate", "1", "-T", "2"))["conv"]
    assert (conv["type"], conv["dense_macs"], conv["synops"]) == ("Conv1d", 2 * 24, 2 * 24)


def test_converted_modules_compute_the_nir_equations(tmp_path):
    """Through the library: two Output nodes give a tuple, in the order of their names; SumPool2d
    sums its window, AvgPool2d averages it; LI (tau = 2 dt) v += (x - v) / 2; I (r = 2 / dt) v += 2 x."""
    from ashbench.models.nir_graph import load_nir

    one = np.ones(1)
    nodes = {"input": nir.Input(input_type=np.array([1])),
             "li": nir.LI(tau=2 * DT * one, r=one, v_leak=0 * one), "int": nir.I(r=2 / DT * one),
             "out_li": nir.Output(output_type=np.array([1])), "out_int": nir.Output(output_type=np.array([1]))}
    net = load_nir(write_graph(tmp_path / "li.nir", nodes, [("input", "li"), ("li", "out_li"), ("input", "int"),
                                                            ("int", "out_int")]))
    integrated, li = net(torch.ones(3, 1, 1))  # out_int, out_li
    assert li.flatten().tolist() == [0.5, 0.75, 0.875] and integrated.flatten().tolist() == [2.0, 4.0, 6.0]
    assert net(torch.ones(1, 1, 1))[0].flatten().tolist() == [2.0]  # every call starts from a reset state

    pools = {"input": nir.Input(input_type=np.array([1, 2, 2])),
             "sum": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
             "avg": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
             "o1": nir.Output(output_type=np.array([1, 1, 1])), "o2": nir.Output(output_type=np.array([1, 1, 1]))}
    net = load_nir(write_graph(tmp_path / "pool.nir", pools, [("input", "sum"), ("sum", "o1"), ("input", "avg"),
                                                              ("avg", "o2")]))
    x = torch.tensor([1.0, 2.0, 3.0, 6.0]).reshape(1, 1, 1, 2, 2)
    summed, averaged = net(x)
    assert summed.flatten().tolist() == [12.0] and averaged.flatten().tolist() == [3.0]


# -- bad input: one line, exit 2, nothing written ------------------------------------------------------

@pytest.fixture
def nir_files(tmp_path):
    """A good graph (input shape [4]) and the broken files of the bad-input cases."""
    sj_graph(tmp_path / "good.nir")
    (tmp_path / "corrupt.nir").write_bytes(b"\x89HDF\r\n\x1a\n but truncated garbage")
    (tmp_path / "text.nir").write_text("not a graph\n")
    with h5py.File(tmp_path / "other.nir", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    delay = {"input": nir.Input(input_type=np.array([4])), "delay": nir.Delay(delay=np.ones(4)),
             "output": nir.Output(output_type=np.array([4]))}
    write_graph(tmp_path / "delay.nir", delay, chain("input", "delay", "output"))
    cycle = {"input": nir.Input(input_type=np.array([2])), "a": nir.Linear(weight=f32(np.eye(2))),
             "b": nir.Linear(weight=f32(np.eye(2))), "output": nir.Output(output_type=np.array([2]))}
    write_graph(tmp_path / "cycle.nir", cycle, [("input", "a"), ("a", "b"), ("b", "a"), ("b", "output")])
    torch.save(torch.zeros(3, 1, 5), tmp_path / "wrong.pt")
    torch.save(torch.zeros(3, 2, 4), tmp_path / "x.pt")
    torch.save({"x": torch.zeros(3, 1, 4)}, tmp_path / "dict.pt")
    (tmp_path / "text.pt").write_text("no tensor here\n")
    return tmp_path


NIR_BAD_INPUTS = [
    (["--model", "{d}/corrupt.nir"], "corrupt or unreadable NIR graph {d}/corrupt.nir"),
    (["--model", "{d}/text.nir"], "corrupt or unreadable NIR graph {d}/text.nir: not an HDF5 file"),
    (["--model", "{d}/other.nir"], "no 'node' group (not a NIR file)"),
    (["--model", "{d}/missing.nir"], "NIR graph not found: {d}/missing.nir"),
    (["--model", "{d}/delay.nir"], "node 'delay' has unsupported type 'Delay'; supported: Input, Output, Affine"),
    (["--model", "{d}/cycle.nir"], "recurrent graphs (cycles) are not supported"),
    (["--model", "{d}/good.nir", "--inputs", "{d}/wrong.pt"],
     "--inputs tensor of shape [3, 1, 5] does not fit the graph's input shape [4]: expected [T, B, 4]"),
    (["--model", "{d}/good.nir", "--inputs", "{d}/none.pt"], "--inputs file not found: {d}/none.pt"),
    (["--model", "{d}/good.nir", "--inputs", "{d}/dict.pt"], "holds a dict, not a tensor"),
    (["--model", "{d}/good.nir", "--inputs", "{d}/text.pt"], "cannot read --inputs {d}/text.pt as a saved tensor"),
    (["--model", "{d}/good.nir", "--input-rate", "1.5"], "--input-rate must be in [0, 1], got 1.5"),
    (["--model", "{d}/good.nir", "--input-rate", "-0.1"], "--input-rate must be in [0, 1], got -0.1"),
    (["--model", "{d}/good.nir", "--input-rate", "nan"], "--input-rate must be in [0, 1], got nan"),
    (["--model", "{d}/good.nir", "--inputs", "{d}/x.pt", "--input-rate", "0.2"], "cannot be combined with --inputs"),
    (["--model", "{d}/good.nir", "--inputs", "{d}/x.pt", "-T", "4"], "--timesteps 4 contradicts the --inputs tensor"),
    (["--model", "{d}/good.nir", "--checkpoint", "{d}/x.pt"], "--checkpoint does not apply to a .nir graph"),
    (["--model", "{d}/good.nir", "--layout", "B"], "--layout B does not apply"),
    (["--model", "test-hybrid-tiny", "--inputs", "{d}/x.pt"], "--inputs applies to NIR graphs"),
    (["--model", "test-hybrid-tiny", "--input-rate", "0.5"], "--input-rate applies to NIR graphs"),
]


@pytest.mark.parametrize("args,message", NIR_BAD_INPUTS, ids=[m for _, m in NIR_BAD_INPUTS])
def test_bad_nir_input_is_one_line_exit_2_and_writes_nothing(nir_files, args, message):
    target = nir_files / "report.json"
    target.write_text("previous content")
    before = sorted(p.name for p in nir_files.iterdir())
    result = run_cli("energy", *(a.format(d=nir_files) for a in args), "--output", target)
    assert result.exit_code == 2, (args, result.output)
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith("error: ") and message.format(d=nir_files) in result.stderr, result.stderr
    assert target.read_text() == "previous content"
    assert sorted(p.name for p in nir_files.iterdir()) == before
