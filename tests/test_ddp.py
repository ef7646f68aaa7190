"""Multi-process training (DistributedDataParallel, gloo on CPU): both ranks end with identical weights."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ashbench.ashnet.checkpoint import load_checkpoint
from ashbench.ashnet.config import load_config
from ashbench.ashnet.model import build_model

OVERRIDES = ["train.steps=3", "data.n_val=0", "train.threads=1", "train.batch_size=4"]


def _vl_ddp_worker(rank: int, world: int, port: int, out_dir: str, result_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    from ashbench.ashnet.train import train

    result = train("test-tiny", out_dir, overrides=OVERRIDES)
    torch.save({k: v.detach().clone() for k, v in result.model.named_parameters()}, f"{result_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_vl_two_gloo_ranks_end_with_identical_weights(tmp_path):
    out = tmp_path / "run"
    mp.spawn(_vl_ddp_worker, args=(2, _free_port(), str(out), str(tmp_path)), nprocs=2, join=True)
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    cfg = load_config("test-tiny", OVERRIDES)
    vocab = len(load_checkpoint(out / "model.pt")["vocab"])
    init = dict(build_model(cfg, vocab).named_parameters())
    assert any(not torch.equal(init[k], rank0[k]) for k in rank0)  # it did train
    assert load_checkpoint(out / "last.pt")["step"] == 3  # rank 0 wrote the checkpoint
