"""torchrun entry point for DDP supernet training.

``torchrun --nproc_per_node=K -m penas.supernets.dist --supernet nb201 --data data.pt ...``
Every rank draws the same paths at each step (the sampler is seeded by ``(seed, step)``), the
global batch of ``batch_size`` is split across ranks, and the loss module is wrapped in
``DistributedDataParallel(find_unused_parameters=True)`` (a path leaves most ops unused).
The DDP set-up itself is the engine's (:mod:`penas.supernets.engine.distributed`); its names
are re-exported here.
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from .engine.distributed import DistContext, init_from_env, shutdown

__all__ = ["DistContext", "init_from_env", "main", "shutdown"]


def main(argv: list[str] | None = None) -> None:
    from penas.supernets import get_supernet
    from penas.supernets.trainer import SupernetTrainer, preset

    ap = argparse.ArgumentParser(prog="penas.supernets.dist")
    ap.add_argument("--supernet", required=True)
    ap.add_argument("--supernet-kwargs", default="{}", help="JSON kwargs of the supernet")
    ap.add_argument("--preset", default="pe_nas")
    ap.add_argument("--overrides", default="{}", help="JSON TrainConfig overrides")
    ap.add_argument("--data", required=True, help="torch file holding an (x, y) tensor pair")
    ap.add_argument("--ckpt-dir", required=True)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--dump-rank-state", default=None, help="dir: each rank writes rank<r>.pt (weights, paths)")
    a = ap.parse_args(argv)
    ctx = init_from_env()
    try:
        net = get_supernet(a.supernet, **json.loads(a.supernet_kwargs))
        if ctx.device is not None:
            net = net.to(ctx.device)
        x, y = torch.load(a.data, weights_only=True)
        paths: list[str] = []
        trainer = SupernetTrainer(
            net, (x, y), preset(a.preset, **json.loads(a.overrides)), ckpt_dir=a.ckpt_dir,
            resume=a.resume, dist=ctx,
            on_step=lambda tr, archs, loss: paths.append("/".join(net.space.format(x) for x in archs)),
        )
        st = trainer.run(a.steps)
        if a.dump_rank_state:
            os.makedirs(a.dump_rank_state, exist_ok=True)
            state = {k: v.cpu() for k, v in net.state_dict().items()}
            torch.save({"model": state, "paths": paths}, os.path.join(a.dump_rank_state, f"rank{ctx.rank}.pt"))
        if ctx.rank == 0:
            print(json.dumps({"step": st.step, "epoch": st.epoch, "loss": st.last_loss}))
    finally:
        shutdown()


if __name__ == "__main__":  # pragma: no cover
    main()
