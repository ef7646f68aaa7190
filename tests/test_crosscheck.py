"""Cross-checks against other counters: fvcore (dense MACs on ANN models) and spikingjelly's
own SynOpCounter (synops on a spiking conv net)."""

import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional, layer, neuron

from ashbench.profiler import profile
from ashbench.profiler.fvcore_check import compare, fvcore_by_operator


class MatmulNet(nn.Module):
    """Linear on 3-D input, matmul, bmm and a two-operand einsum."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 12)
        self.w = nn.Parameter(torch.randn(12, 6))

    def forward(self, x):
        h = self.proj(x)  # [B, 5, 12]
        a = torch.matmul(h, self.w)  # [B, 5, 6]
        g = torch.bmm(a, a.transpose(1, 2))  # [B, 5, 5]
        return torch.einsum("bij,bjk->bik", g, a)  # [B, 5, 6]


def _conv_net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 8 * 8, 10),
    )


@pytest.mark.parametrize("build,shape", [
    (_conv_net, (4, 3, 16, 16)),
    (MatmulNet, (3, 5, 8)),
    (lambda: nn.Sequential(nn.Linear(16, 32), nn.LayerNorm(32), nn.GELU(), nn.Linear(32, 4)), (6, 16)),
])
def test_dense_macs_equal_fvcore_on_ann_models(build, shape):
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(*shape)
    doc = profile(model, x).to_dict()
    rows = {r["family"]: r for r in compare(doc["by_operator"], fvcore_by_operator(model, (x,)), shape[0])}
    assert rows["conv"]["equal"] and rows["matmul"]["equal"] and rows["norm"]["equal"], rows
    assert rows["conv"]["ashbench"] + rows["matmul"]["ashbench"] > 0
    assert doc["totals"]["dense_macs"] * shape[0] == rows["conv"]["fvcore"] + rows["matmul"]["fvcore"]


def test_conv_net_dense_macs_by_hand_equal_fvcore():
    # conv 3->8, k3, stride 2, pad 1 on 16x16: out 8x8x8 = 512 * C_in 3 * 9 = 13,824 per sample
    # grouped dilated conv 8->8, groups 4, k3: out 512 * (8/4) * 9 = 9,216; linear 512 * 10 = 5,120
    model = _conv_net().eval()
    t = profile(model, torch.randn(1, 3, 16, 16)).totals
    assert t["dense_macs"] == 13_824 + 9_216 + 5_120


def _spiking_conv_net():
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(3, 8, 3, padding=1), layer.BatchNorm2d(8), neuron.LIFNode(), layer.MaxPool2d(2),
        layer.Conv2d(8, 16, 3, padding=1, stride=2), layer.BatchNorm2d(16), neuron.LIFNode(),
        layer.Conv2d(16, 16, 3, padding=2, dilation=2, groups=4), layer.BatchNorm2d(16), neuron.IFNode(),
        layer.Flatten(), layer.Linear(16 * 4 * 4, 10),
    )
    for m in net:
        if isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 2.5)
    functional.set_step_mode(net, "m")
    return net.eval()


def test_synops_equal_spikingjelly_synop_counter():
    from spikingjelly.activation_based.op_counter import DispatchCounterMode, SynOpCounter

    net = _spiking_conv_net()
    x = torch.rand(4, 2, 3, 16, 16) * 3  # [T, B, C, H, W]
    prof = profile(net, x, layout="TB")
    counter = SynOpCounter()
    with torch.no_grad(), DispatchCounterMode([counter]):
        net(x)
    functional.reset_net(net)
    assert prof.totals["synops"] > 0
    assert prof.totals["synops"] * 2 == counter.get_total()  # ashbench is per sample, batch 2
