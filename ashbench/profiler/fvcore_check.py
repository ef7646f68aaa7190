"""Cross-check of ashbench's dense MAC counts against fvcore's FlopCountAnalysis.

fvcore counts one fused multiply-add as one flop, so for conv, linear, matmul/bmm and einsum on
real-valued inputs its count equals ashbench's ``dense_macs``. Families compared:

- ``conv``: aten.convolution (fvcore 'conv');
- ``matmul``: aten mm/addmm/bmm/baddbmm/mv/dot (fvcore 'linear', 'addmm', 'matmul', 'mm', 'bmm', 'einsum');
- ``attention``: fused scaled_dot_product_attention (fvcore does not count it: 0 there);
- ``norm``: ashbench's ``elementwise_ops`` of batch/layer/group norm, defined as fvcore's norm counts.

Known reasons for a difference: fvcore counts no fused attention; fvcore's JIT trace drops ops
whose results never reach the model's output (ashbench counts what actually runs).
"""

from __future__ import annotations

import logging

import torch

from ashbench.profiler.engine import reset_state

FAMILIES = {
    "conv": {"ashbench": ("convolution",), "fvcore": ("conv",)},
    "matmul": {"ashbench": ("aten.mm.", "aten.addmm.", "aten.bmm.", "aten.baddbmm.", "aten.mv.", "aten.dot."),
               "fvcore": ("linear", "addmm", "matmul", "mm", "bmm", "einsum")},
    "attention": {"ashbench": ("scaled_dot_product",), "fvcore": ("scaled_dot_product_attention",)},
    "norm": {"ashbench": ("batch_norm", "layer_norm", "group_norm"),
             "fvcore": ("batch_norm", "layer_norm", "group_norm", "instance_norm")},
}


def fvcore_by_operator(model, inputs) -> dict[str, int]:
    """fvcore's per-operator counts for one forward (JIT trace), warnings silenced."""
    from fvcore.nn import FlopCountAnalysis  # imported on use: slow, and only this check needs it

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    analysis = FlopCountAnalysis(model, tuple(inputs)).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        counts = dict(analysis.by_operator())
    reset_state(model)
    return {k: int(v) for k, v in counts.items()}


def compare(ashbench_by_op: dict, fvcore_counts: dict, batch_size: int) -> list[dict]:
    """Rows {family, ashbench, fvcore, equal}; ashbench per-sample counts scaled back to the batch."""
    rows = []
    for family, names in FAMILIES.items():
        field = "elementwise_ops" if family == "norm" else "dense_macs"
        ours = sum(c[field] for op, c in ashbench_by_op.items() if any(n in op for n in names["ashbench"]))
        theirs = sum(v for k, v in fvcore_counts.items() if k in names["fvcore"])
        ours_batch = round(ours * batch_size)
        rows.append({"family": family, "ashbench": ours_batch, "fvcore": theirs, "equal": ours_batch == theirs})
    return rows


def check_against_fvcore(workload, doc: dict) -> list[dict]:
    return compare(doc["by_operator"], fvcore_by_operator(workload.model, workload.inputs), doc["batch_size"])
