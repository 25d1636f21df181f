"""Segmentation supernet training throughput on CPU (tiny crops), with in-run baselines.

Per supernet (topformer_tiny, topformer) at one crop size and batch size:
  * standalone : ``space.build(largest)`` + AdamW + the segmentation loss (the baseline),
  * sn-largest : the supernet trainer with one fixed path, the largest config (slicing overhead),
  * sandwich-4 : the hess_topformer recipe (largest, smallest, 2 random paths per step).
Then data loading of SegDataset train items at crop 512 from 683x512 JPEGs (ADE20K-like size):
main process vs 2 worker processes (SupernetTrainer num_workers), images/s.

    OMP_NUM_THREADS=2 .venv/bin/python tools/bench/supernet_seg.py --crop 64 --batch 2 --steps 4
"""

# ruff: noqa: B023  (the step closures are timed inside the iteration that defines them)
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from penas.app.workflows import SegDataset, make_tiny_ade20k
from penas.supernets import get_supernet
from penas.supernets.samplers import FixedSampler
from penas.supernets.trainer import SupernetTrainer, preset, segmentation_loss


def _rate(fn, steps: int, batch: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--load-images", type=int, default=8)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    small = make_tiny_ade20k(tmp / "small", n_train=max(8, a.batch * (a.steps + 2)), n_val=1, size=(64, 48))
    print(f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads; crop {a.crop}, batch {a.batch}")
    print(f"{'supernet':<16}{'mode':<13}{'img/s':>8}{'steps/s':>9}{'x standalone':>14}")
    for name in ("topformer_tiny", "topformer"):
        torch.manual_seed(0)
        ds = SegDataset(small, "training", mode="train", size=a.crop, crop=a.crop)
        cfg = preset("hess_topformer", batch_size=a.batch, warmup_iters=0)
        sand = SupernetTrainer(get_supernet(name), ds, cfg)
        largest = sand.sampler.largest
        fixed = SupernetTrainer(get_supernet(name), ds, cfg)
        fixed.sampler = FixedSampler(fixed.supernet, largest)
        net = sand.supernet.space.build(largest)
        net.train()
        opt = torch.optim.AdamW(net.parameters(), lr=1.2e-4, weight_decay=0.01)
        x, y = sand._batch()

        def standalone_step():
            opt.zero_grad(set_to_none=True)
            segmentation_loss(net(x), y).backward()
            opt.step()

        base = _rate(standalone_step, a.steps, a.batch)
        rows = [("standalone", base), ("sn-largest", _rate(fixed.train_step, a.steps, a.batch)),
                ("sandwich-4", _rate(sand.train_step, a.steps, a.batch))]
        for mode, r in rows:
            print(f"{name:<16}{mode:<13}{r:>8.2f}{r / a.batch:>9.3f}{r / base:>14.2f}")
    big = make_tiny_ade20k(tmp / "big", n_train=a.load_images, n_val=1, size=(683, 512))
    print(f"\ndata: SegDataset train items, crop 512 from 683x512 JPEGs ({a.load_images} images, batch 2)")
    print(f"{'loader':<14}{'img/s':>8}{'x main':>8}")
    base = None
    for w in (0, 2):
        tr = SupernetTrainer(get_supernet("topformer_tiny"), SegDataset(big, "training", mode="train"),
                             preset("hess_topformer", batch_size=2), num_workers=w)
        spe = tr.steps_per_epoch

        def load_epoch():
            for _ in range(spe):
                tr._batch()
                tr.state.pos += 1
            tr.state.epoch, tr.state.pos = tr.state.epoch + 1, 0

        r = _rate(load_epoch, 2, spe * 2)
        base = base or r
        print(f"{'workers=' + str(w):<14}{r:>8.2f}{r / base:>8.2f}")


if __name__ == "__main__":
    main()
