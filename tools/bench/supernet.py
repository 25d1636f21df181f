"""Supernet throughput on real CIFAR-10 batches (issue 16), side by side in one run.

For each of ``--paths`` seeded NB201 archs (a sampled path):

* **training**: images/s of a supernet training step on that path (the one training engine's
  supernet task, :class:`~penas.supernets.trainer.SupernetTrainer`, with a
  :class:`~penas.supernets.samplers.FixedSampler`) vs the stand-alone ``space.build(arch)`` of the
  same arch and width trained with the same optimiser, loss and gradient clipping. Paired rounds:
  each round times both models back to back (alternating which goes first), the path's ratio is
  the median of the per-round ratios, so load that drifts between rounds cancels (the machine may
  be shared; the summary records the load average). Target: the supernet keeps >= 0.9x of the
  stand-alone net on every path.
* **one-shot evaluation**: wall time of :meth:`OneShotEstimator.evaluate` (BN recalibration on
  ``--recal-batches`` training batches + scoring ``--eval-batches`` held-out batches) vs a plain
  ``no_grad`` forward of the stand-alone net over the same images, paired per round in the same
  way. Target: <= 1.2x.

Data: the first images of ``nb201-train`` (training and recalibration) and of ``nb201-valid``
(scoring) from the data layer (``PENAS_DATA``: real CIFAR-10); SYNTHETIC only when no CIFAR-10
is present, and then the table says so.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench/supernet.py [--paths 20] [--steps 3] [--rounds 3]

Writes ``tools/bench/results/supernet.json`` (summary: ``train_ratio_median``,
``train_ratio_worst``, ``eval_over_forward_median``, ``eval_over_forward_worst``, ``n_paths``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from penas.estimators.data import image_set
from penas.estimators.one_shot import OneShotEstimator
from penas.spaces import get_space
from penas.supernets import get_supernet
from penas.supernets.samplers import FixedSampler
from penas.supernets.trainer import SupernetTrainer, preset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paths", type=int, default=20, help="seeded NB201 archs (sampled paths)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3, help="timed training steps per round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    ap.add_argument("--eval-batches", type=int, default=2, help="held-out batches scored per arch")
    ap.add_argument("--recal-batches", type=int, default=2, help="BN recalibration batches per arch")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default="auto", help="data-layer spec (auto: real CIFAR-10 when present)")
    ap.add_argument("--results", default=str(Path(__file__).parent / "results" / "supernet.json"))
    a = ap.parse_args()
    for opt in ("paths", "batch", "steps", "rounds", "eval_batches", "recal_batches", "channels", "cells"):
        if getattr(a, opt) < 1:
            ap.error(f"--{opt.replace('_', '-')}: expected a positive integer, got {getattr(a, opt)}")
    return a


def _data(a: argparse.Namespace, space) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str, bool]:
    shape = tuple(space.input_shape("cifar10"))
    spec = a.data if a.data != "auto" or not _has_cifar() else "cifar10@nb201-train"
    x, y, source, synthetic = image_set(spec, shape, 10, default_n=a.batch * (a.steps + 2))
    n_train = a.batch * (a.steps + 1)
    if synthetic or not spec.endswith("@nb201-train"):
        n_eval = a.batch * a.eval_batches
        return x[:n_train], y[:n_train], x[-n_eval:], y[-n_eval:], source, synthetic
    xv, yv, vsource, _ = image_set("cifar10@nb201-valid", shape, 10)
    n_eval = a.batch * a.eval_batches
    return x[:n_train], y[:n_train], xv[:n_eval], yv[:n_eval], f"{source}; scoring on {vsource}", False


def _has_cifar() -> bool:
    from penas.spaces.datasets import parse_data_spec
    from penas.spaces.datasets.spec import resolve_auto

    return resolve_auto(parse_data_spec("auto", "--data")).kind == "cifar10"


def _timed(step, images: int, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return images * steps / (time.perf_counter() - t0)


def main() -> None:
    a = parse()
    load0 = os.getloadavg()[0]  # other work on the machine, for the record (the ratios are paired)
    space = get_space("nb201")
    torch.manual_seed(a.seed)
    x, y, xe, ye, source, synthetic = _data(a, space)
    cfg = preset("pe_nas", batch_size=a.batch, epochs=10**6, seed=a.seed)
    sn = get_supernet("nb201", space=space, layout="pe_nas", C=a.channels, N=a.cells)
    tr = SupernetTrainer(sn, (x, y), cfg)
    eval_batches = [(xe[i * a.batch:(i + 1) * a.batch], ye[i * a.batch:(i + 1) * a.batch]) for i in range(a.eval_batches)]
    recal = [(x[i * a.batch:(i + 1) * a.batch], y[i * a.batch:(i + 1) * a.batch]) for i in range(a.recal_batches)]
    est = OneShotEstimator(space, supernet=sn, eval_batches=eval_batches, recal_data=recal, bn_mode="recalibrate",
                           batch_size=a.batch, recal_batches=a.recal_batches, progress=False)
    archs = space.sample_many(a.paths, np.random.default_rng(a.seed))
    rows = []
    print(f"data: {'SYNTHETIC ' if synthetic else ''}{source}\nNB201 C={a.channels} N={a.cells}, batch {a.batch}, "
          f"{a.rounds} interleaved rounds of {a.steps} steps, median; {torch.get_num_threads()} threads\n")
    print("| # | arch | supernet img/s | stand-alone img/s | train ratio | one-shot eval s | plain forward s | eval ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for k, arch in enumerate(archs):
        arch_id = space.format(arch)
        tr.sampler = FixedSampler(sn, arch)
        torch.manual_seed(a.seed + k)
        net = space.build(arch, C=a.channels, N=a.cells)
        opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        pos = iter(range(10**9))

        def standalone_step(net=net, opt=opt, pos=pos) -> None:
            i = next(pos) % (a.steps + 1)
            xb, yb = x[i * a.batch:(i + 1) * a.batch], y[i * a.batch:(i + 1) * a.batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(xb), yb).backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            opt.step()

        tr.train_step()
        standalone_step()  # warm-up both
        sup, alone = [], []
        for r in range(a.rounds):  # paired rounds, alternating which model goes first
            if r % 2 == 0:
                sup.append(_timed(tr.train_step, a.batch, a.steps))
                alone.append(_timed(standalone_step, a.batch, a.steps))
            else:
                alone.append(_timed(standalone_step, a.batch, a.steps))
                sup.append(_timed(tr.train_step, a.batch, a.steps))

        @torch.no_grad()
        def plain_forward(net=net) -> None:
            net.eval()
            for xb, _ in recal + eval_batches:
                net(xb)

        ev, fw = [], []
        est.evaluate(arch)  # warm-up
        for r in range(a.rounds):
            for which in ((0, 1) if r % 2 == 0 else (1, 0)):
                t0 = time.perf_counter()
                if which == 0:
                    est.evaluate(arch)
                else:
                    plain_forward()
                (ev if which == 0 else fw).append(time.perf_counter() - t0)
        s, t, e, f = (float(np.median(v)) for v in (sup, alone, ev, fw))
        train_ratio = float(np.median(np.array(sup) / np.array(alone)))
        eval_ratio = float(np.median(np.array(ev) / np.array(fw)))
        row = {"arch": arch_id, "supernet_ips": s, "standalone_ips": t, "train_ratio": train_ratio,
               "eval_s": e, "forward_s": f, "eval_over_forward": eval_ratio, "params_m": space.params(arch) / 1e6,
               "train_ratio_rounds": (np.array(sup) / np.array(alone)).tolist()}
        rows.append(row)
        print(f"| {k} | {arch_id} | {s:.0f} | {t:.0f} | {train_ratio:.2f}x | {e:.3f} | {f:.3f} | {eval_ratio:.2f}x |",
              flush=True)
    tr_r = np.array([r["train_ratio"] for r in rows])
    ev_r = np.array([r["eval_over_forward"] for r in rows])
    summary = {"n_paths": len(rows), "train_ratio_median": float(np.median(tr_r)), "train_ratio_worst": float(tr_r.min()),
               "eval_over_forward_median": float(np.median(ev_r)), "eval_over_forward_worst": float(ev_r.max()),
               "data_source": source, "synthetic": synthetic, "threads": torch.get_num_threads(),
               "load_avg_1min": {"start": load0, "end": os.getloadavg()[0]},
               "scale": {"channels": a.channels, "cells": a.cells, "batch": a.batch, "steps": a.steps,
                         "rounds": a.rounds, "eval_images": a.batch * a.eval_batches,
                         "recal_images": a.batch * a.recal_batches},
               "targets": {"train_ratio_worst": ">= 0.9", "eval_over_forward_worst": "<= 1.2"}}
    print(f"\ntraining: median {summary['train_ratio_median']:.2f}x, worst {summary['train_ratio_worst']:.2f}x of "
          f"stand-alone (target >= 0.9x on every path); one-shot eval: median {summary['eval_over_forward_median']:.2f}x, "
          f"worst {summary['eval_over_forward_worst']:.2f}x of a plain forward (target <= 1.2x)")
    print(f"written {write_result(a.results, rows, summary)}")


if __name__ == "__main__":
    main()
