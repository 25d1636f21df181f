"""Retraining throughput (CPU-sized): images/s of one full ``penas-app retrain`` training step of
the DARTS network at the PC-DARTS CIFAR-10 size (C=36, 20 layers, batch 96: loader with crop/flip/
cutout, auxiliary head 0.4, drop-path, grad clip 5, SGD step), beside the floor of a plain
forward/backward of the same network (no auxiliary head, no drop-path, no clip, no optimizer), both
measured in this run.

    OMP_NUM_THREADS=2 .venv/bin/python tools/bench/retrain.py --steps 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from penas.app.workflows import Loader, TensorSet, get_recipe, get_target
from penas.spaces.datasets.transforms import DARTS_CIFAR10
from penas.supernets.engine.tasks.retrain import RetrainTask as Trainer

CIFAR_MEAN, CIFAR_STD = DARTS_CIFAR10  # the PC-DARTS recipes' statistics

SEED_GENOTYPE = (
    "Genotype(normal=[('skip_connect', 0), ('sep_conv_3x3', 1), ('dil_conv_3x3', 1), ('sep_conv_5x5', 2), "
    "('sep_conv_3x3', 2), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 1), ('dil_conv_3x3', 2), ('avg_pool_3x3', 0), "
    "('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after 1 warm-up step)")
    ap.add_argument("--batch-size", type=int, default=96)
    ap.add_argument("--init-channels", type=int, default=36)
    ap.add_argument("--layers", type=int, default=20)
    args = ap.parse_args()
    torch.manual_seed(0)
    recipe = get_recipe("pcdarts-cifar10").with_overrides(batch_size=args.batch_size, epochs=2,
                                                          init_channels=args.init_channels, layers=args.layers)
    target = get_target("darts", SEED_GENOTYPE, "cifar10", recipe)
    params = target.params(target.build())
    bs, steps = recipe.batch_size, args.steps
    data = TensorSet(torch.randint(0, 256, (bs, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 10, (bs,)))
    loader = Loader(data, bs, True, CIFAR_MEAN, CIFAR_STD, cutout=recipe.cutout)  # one batch per "epoch"
    plain = target.space.build(target.arch, "cifar10", C=recipe.init_channels, layers=recipe.layers,
                               auxiliary=False, drop_path_prob=0.0).train()
    x = torch.randn(bs, 3, 32, 32)
    y = torch.randint(0, 10, (bs,))

    def floor_step() -> float:  # forward/backward only: no aux head, drop-path, clip or optimizer
        t0 = time.perf_counter()
        logits, _ = plain(x)
        F.cross_entropy(logits, y).backward()
        plain.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    # The two measurements alternate step by step so that background load hits both alike.
    ft: list[float] = []
    rt: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(recipe, target.build(), loader, loader, Path(tmp), {}, progress=False)
        for i in range(steps + 1):  # round 0 is warm-up
            ft.append(floor_step())
            t0 = time.perf_counter()
            trainer.train_epoch(1)  # epoch 1 of 2: drop-path 0.15
            rt.append(time.perf_counter() - t0)
            print(f"round {i}: floor {ft[-1]:.2f} s, retrain {rt[-1]:.2f} s", flush=True)
    floor = bs * steps / sum(ft[1:])
    full = bs * steps / sum(rt[1:])

    print(f"DARTS seed genotype, C={recipe.init_channels}, layers={recipe.layers}, batch {bs}, "
          f"{params / 1e6:.2f}M params (aux excluded), torch threads {torch.get_num_threads()}, {steps} timed steps")
    print(f"{'measurement':<48} {'images/s':>10} {'s/step':>8} {'ratio':>7}")
    print(f"{'floor: plain forward+backward':<48} {floor:>10.1f} {bs / floor:>8.2f} {1.0:>7.2f}")
    print(f"{'retrain step (loader+aux+drop-path+clip+SGD)':<48} {full:>10.1f} {bs / full:>8.2f} {full / floor:>7.2f}")


if __name__ == "__main__":
    main()
