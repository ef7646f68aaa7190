"""Every registered tiny test model profiles strictly (no op without a rule) and its counts are
consistent: per-module own counts add up to the totals, and so do the branches."""

import pytest
import torch
import torch.nn as nn

from ashbench.models import MODELS, list_models
from ashbench.models.registry import call_factory
from ashbench.profiler import profile
from ashbench.profiler.counts import OP_FIELDS

get_factory = MODELS.get

TEST_MODELS = [name for name in list_models() if name.startswith("test-")]


def test_registry_has_test_models():
    assert {"test-hybrid-tiny", "test-ashnet-tiny"} <= set(TEST_MODELS)


@pytest.mark.parametrize("name", TEST_MODELS)
def test_registered_model_profiles_strictly_and_consistently(name):
    workload = call_factory(get_factory(name), batch_size=2)
    prof = profile(workload.model, workload.inputs, layout=workload.layout, strict=True)
    doc = prof.to_dict()
    assert doc["unsupported_ops"] == []
    totals = doc["totals"]
    for field in OP_FIELDS + ("neuron_updates", "spikes"):
        own = sum(row["self"][field] for row in doc["layers"])
        by_branch = sum(b[field] for b in doc["branches"].values())
        assert own == pytest.approx(totals[field]) and by_branch == pytest.approx(totals[field]), field
    assert totals["macs"] <= totals["dense_macs"]
    assert totals["params"] == sum(p.numel() for p in workload.model.parameters())


def test_memory_traffic_bytes():
    # Linear(4, 5) on x [1, 4] fp32 runs addmm(bias, x, W^T):
    # weights read = bias 5*4 + W 20*4 = 100 bytes; activations read = x 4*4 = 16; written = 5*4 = 20
    torch.manual_seed(0)
    t = profile(nn.Linear(4, 5), torch.rand(1, 4)).totals
    assert (t["weight_read_bytes"], t["activation_read_bytes"], t["activation_write_bytes"]) == (100, 16, 20)
    assert t["params"] == 25  # 4*5 weights + 5 biases
