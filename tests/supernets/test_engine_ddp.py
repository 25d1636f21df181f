"""Training engine under torchrun on CPU (gloo, 2 processes): the one DDP set-up, the loop's
epoch meters summed over the ranks, identical weights on every rank, one log writer.

Run as a script by torchrun (the test below launches it); the data are synthetic tensors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(out: Path) -> None:
    import torch.nn as nn
    import torch.nn.functional as F

    from penas.supernets.engine.distributed import DistContext, barrier, setup, shutdown, wrap_ddp
    from penas.supernets.engine.loop import TrainLoop
    from penas.supernets.engine.schedules import LRSchedule

    ctx, device = setup(DistContext.from_env())
    try:
        assert ctx.world_size == 2 and ctx.backend == "gloo"
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
        net = wrap_ddp(model, ctx, device)
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(24, 5, generator=g), torch.randint(0, 3, (24,), generator=g)
        shard = [(x[i:i + 6][ctx.rank::2], y[i:i + 6][ctx.rank::2]) for i in range(0, 24, 6)]  # 3 per rank

        def loss(batch, s):
            xb, yb = batch
            return F.cross_entropy(net(xb), yb), {"n": len(yb)}

        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        records: list[dict] = []
        loop = TrainLoop(model, opt, loss, steps_per_epoch=4, total_steps=8, schedule=LRSchedule("cosine", 8),
                         grad_clip=1.0, dist=ctx, device=device, log_path=out / "log.jsonl" if ctx.is_main else None,
                         epoch_hook=lambda r: records.append(r) or None)
        loop.run(shard)
        torch.save({"model": model.state_dict(), "records": records}, out / f"rank{ctx.rank}.pt")
        barrier()
    finally:
        shutdown()


def test_engine_loop_on_two_gloo_ranks(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", __file__, str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k  # DDP averaged the gradients
    assert [r["n"] for r in a["records"]] == [24, 24]  # the epoch meter counts both ranks' images
    assert a["records"][0]["train_loss"] == b["records"][0]["train_loss"]
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]  # one writer


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
