"""Benchmark of single-scale ADE20K subnet evaluation (``penas-app segmentation eval``).

For the PE-NAS seed configs (Ours-base/small/tiny, each in its space) on a synthetic
ADE20K-format set of 683x512 images (the test scale (2048, 512) keeps them at 683x512, like a
typical ADE20K val image), it measures:

* ``ours img/s``: :func:`penas.app.workflows.evaluate_subnet` end to end (decode + normalise,
  forward under ``torch.inference_mode``, bilinear resize of the 150 logits to the label size in
  channels_last layout, argmax, numpy-bincount confusion update), batch 1, on the CPU;
* ``naive img/s`` (baseline, same run): the same loop written the plain way: forward under
  ``torch.no_grad``, softmax, resize and argmax in the default layout (mmseg's ``predict``
  path), and mmseg 1.x ``intersect_and_union`` (four ``torch.histc`` calls) per image;
* ``channels_last img/s``: ours with the model (forward) also in ``channels_last``;
* the per-image split of ours (data / forward / resize+argmax / metric, ms);
* ``metric ms``: ours (bincount) vs mmseg's histc intersect_and_union on the same
  prediction, and checks that both give the same areas;
* a GPU column (ours, ``cuda``) when ``torch.cuda.is_available()``;
* FLOPs (analytic, 512x512) and params of the seed configs vs the published GFLOPs.

Usage::

    python tools/bench/segmentation.py [--images 4] [--threads 1] [--repeat 2] [--clock cpu|wall]
                                       [--configs base,small,tiny]

Times are process CPU seconds by default (``--clock cpu``, with 1 thread), so that other jobs on
a shared machine do not inflate them; the GPU column always uses the wall clock.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from penas.app.workflows import SegDataset, make_tiny_ade20k, subnet_for
from penas.app.workflows import evaluate_subnet as evaluate
from penas.app.workflows import load_segmentation_config as load_config
from penas.metrics.segmentation import SegmentationMeter
from penas.spaces import get_space
from penas.spaces.topformer import SEED_CONFIGS

NC = 150


def mmseg_intersect_and_union(pred: torch.Tensor, label: torch.Tensor, num_classes: int = NC,
                              ignore_index: int = 255) -> tuple[torch.Tensor, ...]:
    """mmseg 1.x ``IoUMetric.intersect_and_union`` (torch.histc)."""
    mask = label != ignore_index
    pred, label = pred[mask], label[mask]
    inter = pred[pred == label]
    ai = torch.histc(inter.float(), bins=num_classes, min=0, max=num_classes - 1)
    ap = torch.histc(pred.float(), bins=num_classes, min=0, max=num_classes - 1)
    al = torch.histc(label.float(), bins=num_classes, min=0, max=num_classes - 1)
    return ai, ap + al - ai, ap, al


def naive_eval(model: torch.nn.Module, ds: SegDataset) -> tuple[float, np.ndarray]:
    """Baseline loop; returns (mIoU, summed intersect areas)."""
    model.eval()
    tot = [torch.zeros(NC) for _ in range(4)]
    with torch.no_grad():
        for i in range(len(ds)):
            img, label = ds[i]
            prob = model(img[None]).softmax(1)
            prob = F.interpolate(prob, size=tuple(label.shape), mode="bilinear", align_corners=False)
            for t, a in zip(tot, mmseg_intersect_and_union(prob.argmax(1)[0], label), strict=True):
                t += a
    iou = tot[0] / tot[1]
    return float(np.nanmean(iou.numpy())), tot[0].numpy()


CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def split_times(model: torch.nn.Module, ds: SegDataset, clock: Callable[[], float]) -> dict[str, float]:
    """Per-image ms of each stage of ours (the same steps as ``evaluate``)."""
    t = dict.fromkeys(("data", "forward", "resize", "metric"), 0.0)
    meter = SegmentationMeter(NC)
    model.eval()
    with torch.inference_mode():
        for i in range(len(ds)):
            t0 = clock()
            img, label = ds[i]
            t1 = clock()
            logits = model(img[None])
            t2 = clock()
            logits = logits.contiguous(memory_format=torch.channels_last)
            pred = F.interpolate(logits, size=tuple(label.shape), mode="bilinear", align_corners=False).argmax(1)
            pred = pred[0].cpu().numpy()
            t3 = clock()
            meter.update(pred, label.numpy())
            t4 = clock()
            for k, a, b in (("data", t0, t1), ("forward", t1, t2), ("resize", t2, t3), ("metric", t3, t4)):
                t[k] += (b - a) * 1000 / len(ds)
    return t


def metric_times(ds: SegDataset, clock: Callable[[], float], repeat: int = 5) -> tuple[float, float, bool]:
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, NC, size=tuple(lab.shape)), lab.numpy()) for _, lab in (ds[i] for i in range(len(ds)))]
    t0 = clock()
    for _ in range(repeat):
        m = SegmentationMeter(NC)
        for p, lab in pairs:
            m.update(p, lab)
    ours = (clock() - t0) * 1000 / (repeat * len(pairs))
    t0 = clock()
    for _ in range(repeat):
        tot = torch.zeros(NC)
        for p, lab in pairs:
            tot += mmseg_intersect_and_union(torch.from_numpy(p), torch.from_numpy(lab))[1]
    ref = (clock() - t0) * 1000 / (repeat * len(pairs))
    same = np.array_equal(m.areas()[1], tot.numpy().astype(np.int64))
    return ours, ref, same


class ChannelsLast(torch.nn.Module):
    """Runs ``model`` (converted to channels_last) on channels_last input."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last))


def best_of(repeat: int, fn: Callable[[], Any], clock: Callable[[], float]) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return best, out


def bench_config(name: str, root: Path, repeat: int, gpu: bool, clock: Callable[[], float]) -> tuple[dict[str, Any], tuple[Any, ...]]:
    d, space_name, published = SEED_CONFIGS[name]
    space = get_space(space_name)
    arch = load_config(json.dumps(d), space)
    cost = (name, space_name, space.flops(arch, resolution=512) / 1e9, published, space.params(arch) / 1e6)
    torch.manual_seed(0)
    model = subnet_for(space, arch).eval()
    ds, warm = SegDataset(root, size=512), SegDataset(root, size=512, limit=1)
    evaluate(model, warm)  # warm-up (allocator, kernels)
    naive_eval(model, warm)
    t = {"ours": math.inf, "naive": math.inf}
    for _ in range(repeat):  # interleaved, best of: robust to other load on the machine
        dt, s = best_of(1, lambda: evaluate(model, ds), clock)
        t["ours"] = min(t["ours"], dt)
        dt, (miou_naive, _) = best_of(1, lambda: naive_eval(model, ds), clock)
        t["naive"] = min(t["naive"], dt)
    split = split_times(model, ds, clock)
    cl = ChannelsLast(copy.deepcopy(model)).eval()
    evaluate(cl, warm)
    t_cl, s_cl = best_of(repeat, lambda: evaluate(cl, ds), clock)
    row = {"config": name, "ours": len(ds) / t["ours"], "naive": len(ds) / t["naive"], "cl": len(ds) / t_cl,
           "same_miou": abs(s.miou - miou_naive) < 1e-9 and abs(s_cl.miou - s.miou) < 1e-6, **split}
    if gpu:
        gmodel = copy.deepcopy(model).to("cuda")
        evaluate(gmodel, warm, device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(repeat):
            evaluate(gmodel, ds, device="cuda")
        t_gpu = (time.perf_counter() - t0) / repeat
        row["gpu"] = len(ds) / t_gpu
    return row, cost


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=4, help="validation images (683x512)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--repeat", type=int, default=2, help="rounds per variant (best of)")
    ap.add_argument("--configs", default="base,small,tiny")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                    help="cpu: process CPU time (robust to other jobs; use with --threads 1), wall: elapsed")
    args = ap.parse_args()
    clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    root = make_tiny_ade20k(Path(tempfile.mkdtemp()) / "ade", n_train=1, n_val=args.images, size=(683, 512))
    ds = SegDataset(root, size=512)
    gpu = torch.cuda.is_available()
    rows, costs = [], []
    for name in args.configs.split(","):
        row, cost = bench_config(name, root, args.repeat, gpu, clock)
        rows.append(row)
        costs.append(cost)
    m_ours, m_ref, m_same = metric_times(ds, clock)

    print(f"## subnet evaluation, {len(ds)} images 683x512, batch 1, CPU threads {args.threads}, {args.clock} clock,"
          f" best of {args.repeat} ({torch.__version__})\n")
    hdr = "| config | ours img/s | naive img/s | ours/naive | channels_last img/s | data ms | forward ms | " \
          "resize+argmax ms | metric ms | same mIoU |" + (" GPU img/s |" if gpu else "")
    print(hdr)
    print("|" + "---|" * (hdr.count("|") - 1))
    for r in rows:
        print(f"| {r['config']} | {r['ours']:.2f} | {r['naive']:.2f} | {r['ours'] / r['naive']:.2f}x | {r['cl']:.2f} | "
              f"{r['data']:.0f} | {r['forward']:.0f} | {r['resize']:.0f} | {r['metric']:.1f} | {r['same_miou']} |"
              + (f" {r['gpu']:.1f} |" if gpu else ""))
    print(f"\n## metric update per 683x512 image: ours (numpy bincount) {m_ours:.2f} ms, mmseg intersect_and_union "
          f"(torch.histc) {m_ref:.2f} ms, ratio {m_ref / m_ours:.2f}x, same areas: {m_same}\n")
    print("## FLOPs at 512x512 (analytic, mmcv_syncbn convention) vs PE-NAS README\n")
    print("| config | space | GFLOPs (ours) | GFLOPs (published) | params (M) |")
    print("|---|---|---|---|---|")
    for name, sp, g, pub, par in costs:
        print(f"| {name} | {sp} | {g:.3f} | {pub:.2f} | {par:.2f} |")


if __name__ == "__main__":
    main()
