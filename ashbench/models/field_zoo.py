"""Small configurations of the field's own models, registered for profiling and as a test suite.

Every ``field-*`` factory builds a real model of the field with its package's own constructor, at
a size that profiles in a fraction of a second on a CPU (batch 2, T = 2..4, images of 64 x 64 at
most, few channels and blocks); ``tests/test_field_models.py`` checks ashbench's default profile
of each against independent counters (``tests/oracles.py``):

==================================  ===============================================================
``field-spiking-resnet18``          spikingjelly 2.0 ``spiking_resnet.spiking_resnet18`` (LIF, 'm')
``field-sew-resnet18``              spikingjelly 2.0 ``sew_resnet.sew_resnet18``, ``cnf='ADD'``
``field-spikformer``                spikingjelly 2.0 ``spikformer.Spikformer``
``field-spike-driven-transformer``  spikingjelly 2.0 ``spike_driven_transformer.SpikeDrivenTransformer``
``field-qkformer``                  spikingjelly 2.0 ``qkformer.QKFormer``
``field-snntorch-csnn``             the snnTorch tutorial CSNN (Conv-MaxPool-Leaky x2, Linear-Leaky)
``field-lstm``                      an ``nn.LSTM`` classifier (LSTM + Linear; no spikes)
``field-lstm-h64``                  the same at the size of issue 9's report (hidden 64, 16 steps)
==================================  ===============================================================

The weights are random (seeded, ``torch.manual_seed(0)``), so the models are for counting, not
for accuracy. A random-init SNN emits almost no spikes; each factory's docstring says how its
model is given activity. The spikingjelly models use :func:`calibrate_batch_norm`: every
BatchNorm gets affine weight ``2.0`` and bias ``0.5`` and, as running statistics, the exact
statistics of its own input on the example input, so that in eval mode each BatchNorm output has
mean 0.5 and standard deviation 2 per channel on that input, whatever the initialisation scale of
the convolution before it; a LIF neuron (tau 2, threshold 1) fed by it fires at the first step
where its input reaches 2 (about 23% of a normal distribution) and more often later.

spikingjelly's ResNet modules import ``torchvision.models.utils.load_state_dict_from_url`` when
they are imported (for pretrained weights); torchvision does not import beside the CPU torch
here, so they are imported under :func:`torchvision_stub`, which leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

from ashbench.models.registry import Workload, register_model

_SJ_MODEL = "spikingjelly.activation_based.model"
_STUB_NAMES = ("torchvision", "torchvision.models", "torchvision.models.utils")

BN_WEIGHT = 2.0
BN_BIAS = 0.5


# -- importing spikingjelly's ResNet zoo without torchvision -----------------------------------------
def _no_pretrained_weights(*args, **kwargs):
    raise RuntimeError("pretrained weights are not available: torchvision is replaced by a stub here")


@contextlib.contextmanager
def torchvision_stub():
    """Place stub modules ``torchvision``, ``torchvision.models`` and ``torchvision.models.utils``
    (whose ``load_state_dict_from_url`` raises) in ``sys.modules`` for the duration of the block,
    and remove them afterwards. Does nothing when any of those names is already imported (a real
    torchvision, or a stub of the caller's)."""
    if any(name in sys.modules for name in _STUB_NAMES):
        yield
        return
    stubs = {name: types.ModuleType(name, "stub placed by ashbench.models.field_zoo") for name in _STUB_NAMES}
    stubs["torchvision"].models = stubs["torchvision.models"]
    stubs["torchvision.models"].utils = stubs["torchvision.models.utils"]
    stubs["torchvision.models.utils"].load_state_dict_from_url = _no_pretrained_weights
    sys.modules.update(stubs)
    try:
        yield
    finally:
        for name, stub in stubs.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]


def zoo_module(name: str):
    """``spikingjelly.activation_based.model.<name>``, imported under :func:`torchvision_stub`."""
    full = f"{_SJ_MODEL}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    with torchvision_stub():
        return importlib.import_module(full)


# -- activity ---------------------------------------------------------------------------------------
def _batch_norms(model: nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _set_statistics(module, args) -> None:
    """Forward pre-hook: the BatchNorm's running statistics := those of this input, per channel
    (the biased variance, the one a train-mode forward normalises with)."""
    x = args[0]
    if getattr(module, "step_mode", "s") == "m":  # spikingjelly's multi-step wrappers take [T, N, C, ...]
        x = x.flatten(0, 1)
    dims = [d for d in range(x.dim()) if d != 1]
    module.running_mean.copy_(x.mean(dims))
    module.running_var.copy_(x.var(dims, correction=0))


@torch.no_grad()
def calibrate_batch_norm(model: nn.Module, inputs: tuple, weight: float = BN_WEIGHT, bias: float = BN_BIAS):
    """Give an untrained spikingjelly model activity, deterministically: set every BatchNorm's
    affine weight to ``weight`` and bias to ``bias``, and run ``model(*inputs)`` once in eval mode
    with a pre-hook on each BatchNorm that sets its running mean and variance to the exact (biased)
    statistics of its own input, just before it normalises it; so on ``inputs`` each BatchNorm output
    has per-channel mean ``bias`` and standard deviation ``weight`` (up to eps), as in a train-mode
    forward, whatever the scale of the layers before it. Resets the neuron states before and after
    and leaves the model in eval mode. Returns the model."""
    from spikingjelly.activation_based import functional

    model.eval()
    handles = []
    for bn in _batch_norms(model):
        nn.init.constant_(bn.weight, weight)
        nn.init.constant_(bn.bias, bias)
        handles.append(bn.register_forward_pre_hook(_set_statistics))
    try:
        functional.reset_net(model)
        model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        functional.reset_net(model)
    return model


def _images(batch_size: int, size: int, channels: int = 3, seed: int = 1) -> torch.Tensor:
    """Seeded standard-normal images [B, C, size, size] (scale 1: what a normalised data set gives)."""
    return torch.randn(batch_size, channels, size, size, generator=torch.Generator().manual_seed(seed))


def _direct_encoding(images: torch.Tensor, timesteps: int) -> torch.Tensor:
    """[T, B, C, H, W]: the same frame at every step (direct encoding, real-valued)."""
    return images.unsqueeze(0).repeat(timesteps, 1, 1, 1, 1)


# -- spikingjelly 2.0 zoo --------------------------------------------------------------------------
def _lif():
    from spikingjelly.activation_based import neuron

    return neuron.LIFNode


def _resnet(module: str, builder: str, batch_size: int, timesteps: int, size: int, **kwargs) -> Workload:
    from spikingjelly.activation_based import functional, surrogate

    build = getattr(zoo_module(module), builder)
    torch.manual_seed(0)
    model = build(spiking_neuron=_lif(), surrogate_function=surrogate.ATan(), detach_reset=True, num_classes=10,
                  **kwargs)
    functional.set_step_mode(model, "m")
    x = _direct_encoding(_images(batch_size, size), timesteps)
    calibrate_batch_norm(model, (x,))
    return Workload(model, (x,), "TB")


@register_model("field-spiking-resnet18")
def field_spiking_resnet18(batch_size: int = 2, timesteps: int = 2) -> Workload:
    """spikingjelly 2.0 ``spiking_resnet18`` (widths 64..512 as built, 10 classes) with multi-step
    ``LIFNode`` (tau 2, ATan surrogate, detach_reset) on 32 x 32 images, direct encoding: the
    seeded standard-normal image repeated over T steps, input [T, B, 3, 32, 32] (layout TB).
    Activity: :func:`calibrate_batch_norm` (BN weight 2, bias 0.5, statistics of the example input).
    The stem conv reads real pixels (MACs); ``fc`` reads the average pool of spikes (real, MACs);
    every other conv reads spikes (synops). Also runs in single-step mode (``set_step_mode('s')``)."""
    workload = _resnet("spiking_resnet", "spiking_resnet18", batch_size, timesteps, 32)
    workload.info = {"description": "spikingjelly spiking_resnet18, 32x32, LIF, direct encoding",
                     "activity": "BN calibrated on the example input: weight 2, bias 0.5"}
    return workload


@register_model("field-sew-resnet18")
def field_sew_resnet18(batch_size: int = 2, timesteps: int = 2) -> Workload:
    """spikingjelly 2.0 ``sew_resnet18`` with the ADD connect function (``cnf='ADD'``: a block
    returns identity + out, spike counts 0..3 downstream), multi-step ``LIFNode`` as in
    ``field-spiking-resnet18``, 32 x 32 images, direct encoding, input [T, B, 3, 32, 32] (TB).
    Activity: :func:`calibrate_batch_norm` (BN weight 2, bias 0.5, statistics of the example input)."""
    workload = _resnet("sew_resnet", "sew_resnet18", batch_size, timesteps, 32, cnf="ADD")
    workload.info = {"description": "spikingjelly sew_resnet18 (ADD), 32x32, LIF, direct encoding",
                     "activity": "BN calibrated on the example input: weight 2, bias 0.5"}
    return workload


def _transformer(model: nn.Module, batch_size: int, size: int, description: str) -> Workload:
    images = _images(batch_size, size)
    calibrate_batch_norm(model, (images,))
    return Workload(model, (images,), "B", {"description": description,
                                            "activity": "BN calibrated on the example input: weight 2, bias 0.5"})


@register_model("field-spikformer")
def field_spikformer(batch_size: int = 2, timesteps: int = 3) -> Workload:
    """spikingjelly 2.0 ``Spikformer``: 16 x 16 images, patch size 4 (a 4 x 4 grid of 16 tokens),
    embed_dims 32, 2 heads, mlp_ratio 2, 1 block, 10 classes, default LIF neurons; input the seeded
    standard-normal image [B, 3, 16, 16] (layout B), repeated over T inside the model. Activity:
    :func:`calibrate_batch_norm` (BN weight 2, bias 0.5, statistics of the example input)."""
    module = zoo_module("spikformer")
    torch.manual_seed(0)
    model = module.Spikformer(T=timesteps, img_size_h=16, img_size_w=16, patch_size=4, num_classes=10,
                              embed_dims=32, num_heads=2, mlp_ratio=2.0, depths=1)
    return _transformer(model, batch_size, 16, "spikingjelly Spikformer, 16x16, 1 block, dim 32")


@register_model("field-spike-driven-transformer")
def field_spike_driven_transformer(batch_size: int = 2, timesteps: int = 3) -> Workload:
    """spikingjelly 2.0 ``SpikeDrivenTransformer``: 32 x 32 images, pooling_stat '1011' (a 4 x 4
    grid of 16 tokens; max pooling after a LIF in stage 0 and after the final BN), embed_dims 32,
    2 heads, mlp_ratio 1 (so the MLP's inner residual runs too), 1 block, 10 classes, default LIF
    neurons; input the seeded standard-normal image [B, 3, 32, 32] (layout B). Activity:
    :func:`calibrate_batch_norm` (BN weight 2, bias 0.5, statistics of the example input)."""
    module = zoo_module("spike_driven_transformer")
    torch.manual_seed(0)
    model = module.SpikeDrivenTransformer(T=timesteps, num_classes=10, embed_dims=32, num_heads=2, depths=1,
                                          mlp_ratio=1.0, pooling_stat="1011")
    return _transformer(model, batch_size, 32, "spikingjelly Spike-driven Transformer, 32x32, 1 block, dim 32")


@register_model("field-qkformer")
def field_qkformer(batch_size: int = 2, timesteps: int = 2) -> Workload:
    """spikingjelly 2.0 ``QKFormer``: 64 x 64 images, embed_dims 32 (stages of 8, 16, 32 channels on
    16 x 16, 8 x 8 and 4 x 4 tokens), heads (1, 2, 2), one block per stage (token Q-K attention in
    stages 1-2, spiking self-attention in stage 3), mlp_ratio 2, 10 classes, default LIF neurons;
    input the seeded standard-normal image [B, 3, 64, 64] (layout B). (With 2 x 2 tokens the
    spiking self-attention's scaled scores, at most 4 x 0.125, never reach its attention LIF's
    threshold.) Activity:
    :func:`calibrate_batch_norm` (BN weight 2, bias 0.5, statistics of the example input)."""
    module = zoo_module("qkformer")
    torch.manual_seed(0)
    model = module.QKFormer(T=timesteps, num_classes=10, embed_dims=32, num_heads=(1, 2, 2), depths=(1, 1, 1),
                            mlp_ratio=2.0)
    return _transformer(model, batch_size, 64, "spikingjelly QKFormer, 64x64, 1 block per stage, dim 32")


# -- snnTorch ---------------------------------------------------------------------------------------
class TutorialCSNN(nn.Module):
    """The snnTorch tutorial's convolutional SNN (tutorial 6), ``init_hidden=False`` style: the
    membranes are local variables, each ``Leaky`` call is one step, and ``forward`` loops over T and
    returns the stacked output spikes and membranes ([T, B, classes] each).

    conv1 1->c1 k5 -> max_pool 2 -> Leaky -> conv2 c1->c2 k3 -> max_pool 2 -> Leaky -> Linear -> Leaky.
    """

    def __init__(self, size: int = 16, c1: int = 8, c2: int = 16, classes: int = 10, beta: float = 0.9,
                 threshold: float = 1.0):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        grad = surrogate.fast_sigmoid(slope=25)
        self.conv1 = nn.Conv2d(1, c1, 5)
        self.lif1 = snn.Leaky(beta=beta, threshold=threshold, spike_grad=grad)
        self.conv2 = nn.Conv2d(c1, c2, 3)
        self.lif2 = snn.Leaky(beta=beta, threshold=threshold, spike_grad=grad)
        side = ((size - 4) // 2 - 2) // 2
        self.fc1 = nn.Linear(c2 * side * side, classes)
        self.lif3 = snn.Leaky(beta=beta, threshold=threshold, spike_grad=grad)

    def forward(self, x: torch.Tensor):
        mem1, mem2, mem3 = self.lif1.reset_mem(), self.lif2.reset_mem(), self.lif3.reset_mem()
        spk_rec, mem_rec = [], []
        for step in range(x.shape[0]):
            cur1 = F.max_pool2d(self.conv1(x[step]), 2)
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = F.max_pool2d(self.conv2(spk1), 2)
            spk2, mem2 = self.lif2(cur2, mem2)
            cur3 = self.fc1(spk2.flatten(1))
            spk3, mem3 = self.lif3(cur3, mem3)
            spk_rec.append(spk3)
            mem_rec.append(mem3)
        return torch.stack(spk_rec), torch.stack(mem_rec)


@register_model("field-snntorch-csnn")
def field_snntorch_csnn(batch_size: int = 2, timesteps: int = 4) -> Workload:
    """The snnTorch tutorial CSNN (:class:`TutorialCSNN`: 16 x 16 one-channel images, 8 and 16
    channels, 10 classes, ``Leaky`` beta 0.9) on rate-coded input spikes [T, B, 1, 16, 16]
    (layout TB): each pixel spikes at each step with probability p drawn once, seeded, uniformly in
    [0, 0.5) (as ``snntorch.spikegen.rate`` does with a seeded generator), so the first conv reads
    spikes too. Activity: neuron thresholds 0.5 (instead of 1) with PyTorch's default init."""
    torch.manual_seed(0)
    model = TutorialCSNN(threshold=0.5).eval()
    gen = torch.Generator().manual_seed(1)
    rates = torch.rand(batch_size, 1, 16, 16, generator=gen) * 0.5
    x = (torch.rand(timesteps, batch_size, 1, 16, 16, generator=gen) < rates).float()
    return Workload(model, (x,), "TB", {"description": "snnTorch tutorial CSNN, 16x16, rate-coded input",
                                        "activity": "thresholds 0.5, input spike probability U[0, 0.5)"})


# -- ANN baseline -----------------------------------------------------------------------------------
class LSTMClassifier(nn.Module):
    """``nn.LSTM`` (batch_first) over [B, T, features], then a Linear on the last step's output."""

    def __init__(self, features: int = 8, hidden: int = 16, layers: int = 2, classes: int = 4):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=layers, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


@register_model("field-lstm")
def field_lstm(batch_size: int = 2, timesteps: int = 4) -> Workload:
    """An ``nn.LSTM`` classifier (:class:`LSTMClassifier`: 8 features, hidden 16, 2 layers, 4
    classes) on a seeded standard-normal sequence [B, T, 8] (layout B): no spiking neuron, all work
    is MACs (the real-valued baseline of the zoo)."""
    return _lstm_workload(LSTMClassifier, batch_size, timesteps, "nn.LSTM classifier, 2 layers, hidden 16")


def _lstm_workload(make_model, batch_size: int, timesteps: int, description: str) -> Workload:
    """``make_model`` (an :class:`LSTMClassifier` built after ``torch.manual_seed(0)``) in eval mode on a
    seeded standard-normal sequence [B, T, features] (layout B)."""
    torch.manual_seed(0)
    model = make_model().eval()
    features = model.lstm.input_size
    x = torch.randn(batch_size, timesteps, features, generator=torch.Generator().manual_seed(1))
    return Workload(model, (x,), "B", {"description": description})


@register_model("field-lstm-h64")
def field_lstm_h64(batch_size: int = 2, timesteps: int = 16) -> Workload:
    """The LSTM classifier at the size an LSTM was measured in the report that opened issue 9 (918,144 MACs
    per sample of which ashbench then counted 640): :class:`LSTMClassifier` with 32 features, hidden 64, 2
    layers and 10 classes, on a seeded standard-normal sequence [B, 16, 32] (layout B). Per sample and step,
    layer 1 costs 4*64*(32+64) = 24,576 MACs and layer 2 4*64*(64+64) = 32,768; 16 steps of both and the
    Linear(64, 10) head: 16 * 57,344 + 640 = 918,144. ``field-lstm`` is the same model at a test size."""
    return _lstm_workload(lambda: LSTMClassifier(features=32, hidden=64, layers=2, classes=10), batch_size,
                          timesteps, "nn.LSTM classifier, 2 layers, hidden 64, 16 steps")
