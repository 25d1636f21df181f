"""One-shot ranking on real CIFAR-10 (issue 16): train the NB201 supernet on NB201's ``nb201-train``
split, score a seeded sample of NB201 archs at every saved checkpoint on a fixed slice of
``nb201-valid`` under each BN mode (with and without post de-isomorphism), and print the ranking
criteria against NB201's CIFAR-10 test accuracy per epoch, beside the params baseline and the
complexity bias (Kendall tau of the one-shot score with params).

Resumable: the supernet checkpoints (``--work DIR/epochNNNN.pt``, ``last.pt``) continue training
and the score store (``DIR/scores.sqlite``) keeps every computed score, so a rerun with a larger
``--epochs`` or ``--budget-min`` only computes what is missing. Training stops at the end of the
epoch during which ``--budget-min`` minutes have passed (the budget is printed).

    # CPU scale (measure first at a tiny size; the lead runs the full one)
    OMP_NUM_THREADS=2 .venv/bin/python tools/bench/one_shot.py --epochs 30 --archs 300 --budget-min 180
    # tiny proof (minutes)
    .venv/bin/python tools/bench/one_shot.py --epochs 1 --train-images 1000 --archs 20 --eval-images 256 \\
        --channels 4 --cells 1 --work /tmp/os --results /tmp/os/one_shot.json
    # sampling variants as shorter runs of the same script
    .venv/bin/python tools/bench/one_shot.py --sampler fairnas --epochs 10 --work runs/bench_os_fairnas ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402

BN_CHOICES = ("train", "recalibrate", "no_track")


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="runs/bench_one_shot", help="checkpoints, score store, training log")
    ap.add_argument("--results", default=str(Path(__file__).parent / "results" / "one_shot.json"))
    ap.add_argument("--preset", default="pe_nas", help="penas.supernets.trainer preset (pe_nas | aw_nas_nb201)")
    ap.add_argument("--layout", default="pe_nas", help="NB201 supernet layout: pe_nas | aw_nas")
    ap.add_argument("--sampler", default="uniform", help="path sampler: uniform | fairnas | deiso")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=30, help="schedule length (cosine over these epochs)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--train-images", type=int, default=None, help="first N of nb201-train (default: all 25,000)")
    ap.add_argument("--budget-min", type=float, default=None, help="stop training after this many minutes")
    ap.add_argument("--archs", type=int, default=300, help="seeded sample of NB201 archs (0: all de-isomorphic)")
    ap.add_argument("--arch-seed", type=int, default=0)
    ap.add_argument("--eval-images", type=int, default=1024, help="fixed slice of nb201-valid (stored order)")
    ap.add_argument("--eval-batch", type=int, default=128)
    ap.add_argument("--recal-batches", type=int, default=8)
    ap.add_argument("--eval-every", type=int, default=1,
                    help="score the checkpoints of epoch 1, every N-th epoch and the last one")
    ap.add_argument("--eval-epochs", default=None,
                    help="comma list of checkpoint epochs to score (overrides --eval-every)")
    ap.add_argument("--stored-only", action="store_true",
                    help="report only the settings whose scores are all in the score store (compute nothing)")
    ap.add_argument("--bn-modes", default="train,recalibrate,no_track")
    ap.add_argument("--post-deiso", default="off,on", help="post de-isomorphism settings: off, on or off,on")
    ap.add_argument("--metrics", default="acc", help="one-shot score: acc (accuracy), loss (negated cross-entropy) "
                    "or acc,loss")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    modes = [m for m in a.bn_modes.split(",") if m]
    if not modes or any(m not in BN_CHOICES for m in modes):
        ap.error(f"--bn-modes: expected a comma list of {', '.join(BN_CHOICES)}, got {a.bn_modes!r}")
    deiso = [d for d in a.post_deiso.split(",") if d]
    if not deiso or any(d not in ("off", "on") for d in deiso):
        ap.error(f"--post-deiso: expected off, on or off,on, got {a.post_deiso!r}")
    for opt in ("channels", "cells", "epochs", "batch", "eval_images", "eval_batch", "recal_batches", "eval_every"):
        if getattr(a, opt) < 1:
            ap.error(f"--{opt.replace('_', '-')}: expected a positive integer, got {getattr(a, opt)}")
    if a.archs < 0:
        ap.error(f"--archs: expected N >= 0 (0: all de-isomorphic archs), got {a.archs}")
    try:
        a.eval_epoch_list = None if a.eval_epochs is None else sorted({int(e) for e in a.eval_epochs.split(",") if e})
    except ValueError:
        ap.error(f"--eval-epochs: expected a comma list of epochs, got {a.eval_epochs!r}")
    metrics = [m for m in a.metrics.split(",") if m]
    if not metrics or any(m not in ("acc", "loss") for m in metrics):
        ap.error(f"--metrics: expected acc, loss or acc,loss, got {a.metrics!r}")
    a.modes, a.deiso, a.metric_list = modes, [d == "on" for d in deiso], metrics
    return a


def train(a: argparse.Namespace, space, x: torch.Tensor, y: torch.Tensor) -> tuple[object, list[Path], dict]:
    """Train (or continue) the supernet epoch by epoch within the budget; every epoch is kept."""
    from penas.supernets import get_supernet
    from penas.supernets.trainer import SupernetTrainer, preset

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(a.seed)
    net = get_supernet("nb201", space=space, layout=a.layout, C=a.channels, N=a.cells).to(a.device)
    over = {"epochs": a.epochs, "batch_size": a.batch, "sampler": a.sampler, "seed": a.seed}
    if a.lr is not None:
        over["lr"] = a.lr
    cfg = preset(a.preset, **over)
    tr = SupernetTrainer(net, (x, y), cfg, ckpt_dir=work, resume=True, device=a.device,
                         log_path=work / "train_log.jsonl")
    spe = tr.steps_per_epoch
    t0 = time.perf_counter()
    budget_s = None if a.budget_min is None else a.budget_min * 60
    print(f"training: {len(y)} images, {spe} steps/epoch, {a.epochs} epochs, resuming at epoch {tr.state.epoch}; "
          f"budget {'none' if budget_s is None else f'{a.budget_min:g} min'}", flush=True)
    while tr.state.step < tr.total_steps and (budget_s is None or time.perf_counter() - t0 < budget_s):
        te = time.perf_counter()
        tr.run(steps=spe - tr.state.step % spe)
        tr.save(work / f"epoch{tr.state.epoch:04d}.pt")
        dt = time.perf_counter() - te
        print(f"epoch {tr.state.epoch}: loss {tr.state.last_loss:.3f}, {spe * a.batch / dt:.0f} images/s", flush=True)
    ckpts = sorted(work.glob("epoch*.pt"))
    last = int(ckpts[-1].stem.removeprefix("epoch")) if ckpts else 0
    if a.eval_epoch_list is not None:
        ckpts = [c for c in ckpts if int(c.stem.removeprefix("epoch")) in a.eval_epoch_list]
    else:
        ckpts = [c for c in ckpts if (e := int(c.stem.removeprefix("epoch"))) == 1 or e % a.eval_every == 0 or e == last]
    log = work / "train_log.jsonl"  # every epoch of every (resumed) invocation
    logged = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []
    info = {"epochs_done": tr.state.epoch, "train_s": sum(float(r.get("epoch_s", 0.0)) for r in logged),
            "train_acc_by_epoch": {str(r["epoch"]): r.get("train_acc") for r in logged}, "steps_per_epoch": spe,
            "config": cfg.to_dict()}
    return net, ckpts, info


def setting(row: dict) -> str:
    """``metric/bn_mode/post_deiso=on|off`` of a result row."""
    return f"{row['metric']}/{row['bn_mode']}/post_deiso={'on' if row['post_deiso'] else 'off'}"


def main() -> None:
    from penas.estimators.data import image_set
    from penas.estimators.one_shot import OneShotEstimator, nb201_valid_batches
    from penas.estimators.simple import OracleEstimator
    from penas.estimators.store import ScoreStore
    from penas.metrics import criteria_report, kendall_tau
    from penas.spaces import get_space

    a = parse()
    space = get_space("nb201")
    x, y, source, synthetic = image_set("cifar10@nb201-train", tuple(space.input_shape("cifar10")), 10)
    if a.train_images is not None:
        x, y = x[: a.train_images], y[: a.train_images]
    data_source = f"{source}; first {len(y)} images" if a.train_images else source
    net, ckpts, info = train(a, space, x, y)
    n_eval = max(1, a.eval_images // a.eval_batch)
    ev, rc, ev_source = nb201_valid_batches(space, "cifar10@nb201-train", a.eval_batch, n_eval, a.recal_batches)
    if a.archs:
        ids = [space.format(ar) for ar in space.sample_many(a.archs, np.random.default_rng(a.arch_seed))]
    else:
        from penas.spaces.candidates import select_candidates

        ids = list(select_candidates(space, "deiso", a.arch_seed).ids)
    gt = np.asarray(OracleEstimator(space, dataset="cifar10", metric="test_acc").score(ids), dtype=float)
    params = np.array([space.params(space.parse(i)) for i in ids], dtype=float)
    op_counts = {op: np.array([list(space.parse(i)).count(op) for i in ids], dtype=float) for op in space.ops}
    gt_op_bias = {op: float(kendall_tau(c, gt)) for op, c in op_counts.items()}
    base = criteria_report(params, gt)
    p5 = next(k for k in base.at_k if k.ratio == 0.05)
    store = ScoreStore(str(Path(a.work) / "scores.sqlite"))
    rows = []
    print(f"\n{len(ids)} archs, eval {ev_source}; GT NB201 cifar10 test_acc; params baseline KT "
          f"{base.kendall_tau:.3f}, P@top-5% {p5.precision_top:.3f}")
    print("| epoch | metric | bn_mode | post_deiso | KT | SpR | P@top5% | BR@5% | MKR | KT(score, params) | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    settings = [(m, b, d) for m in a.metric_list for b in a.modes for d in a.deiso]
    for ck in reversed(ckpts):  # the final checkpoint first: it matters most if a run is cut short
        epoch = int(ck.stem.removeprefix("epoch"))
        for metric, mode, deiso in settings:
            t0 = time.perf_counter()
            est = OneShotEstimator(space, supernet=net, checkpoint=str(ck), eval_batches=ev, recal_data=rc,
                                   metric=metric, bn_mode=mode, batch_size=a.eval_batch, recal_batches=a.recal_batches,
                                   post_deiso=deiso, store=store, progress=False, device=a.device)
            if a.stored_only and store.missing(space.name, est.name, est.config_hash, ids):
                continue
            s = np.asarray(est.score(ids), dtype=float)
            rep = criteria_report(s, gt, invalid="last")
            k5 = next(k for k in rep.at_k if k.ratio == 0.05)
            finite = np.isfinite(s).all()
            bias = float(kendall_tau(s, params)) if finite else float("nan")
            op_bias = {op: float(kendall_tau(s, c)) if finite else float("nan") for op, c in op_counts.items()}
            row = {"epoch": epoch, "metric": metric, "bn_mode": mode, "post_deiso": deiso, "kt": rep.kendall_tau,
                   "spearman": rep.spearman, "p_top5": k5.precision_top, "br5": k5.best_rank_fraction,
                   "mkr": rep.mkr, "kt_with_params": bias, "kt_with_op_count": op_bias,
                   "eval_s": time.perf_counter() - t0}
            rows.append(row)
            print(f"| {epoch} | {metric} | {mode} | {'on' if deiso else 'off'} | {rep.kendall_tau:.3f} "
                  f"| {rep.spearman:.3f} | {k5.precision_top:.3f} | {k5.best_rank_fraction:.3f} | {rep.mkr:.3f} "
                  f"| {bias:.3f} | {row['eval_s']:.0f} |", flush=True)
    print("\nop bias, Kendall tau with the number of edges holding the op (GT: "
          + ", ".join(f"{op} {v:+.2f}" for op, v in gt_op_bias.items()) + ")")
    for r in rows:
        print(f"  epoch {r['epoch']} {setting(r)}: "
              + ", ".join(f"{op} {v:+.2f}" for op, v in r["kt_with_op_count"].items()))
    by_epoch: dict[int, dict] = {}
    for r in rows:
        if r["epoch"] not in by_epoch or r["kt"] > by_epoch[r["epoch"]]["kt"]:
            by_epoch[r["epoch"]] = r
    final = by_epoch[max(by_epoch)] if by_epoch else {}
    summary = {
        "data_source": data_source, "synthetic": synthetic, "eval_source": ev_source, "n_archs": len(ids),
        "scale": {"channels": a.channels, "cells": a.cells, "layout": a.layout, "preset": a.preset,
                  "sampler": a.sampler, "batch": a.batch, "train_images": len(y), **info},
        "kt_by_epoch": {str(e): r["kt"] for e, r in sorted(by_epoch.items())},
        "best_setting_by_epoch": {str(e): setting(r) for e, r in sorted(by_epoch.items())},
        "final_kt": final.get("kt"), "p_top5": final.get("p_top5"),
        "params_kt": base.kendall_tau, "params_p_top5": p5.precision_top,
        # op bias: Kendall tau of the score with the number of edges holding each op, beside the
        # same tau for the ground truth (what the shared weights favour vs what trains well)
        "op_bias_final": final.get("kt_with_op_count"), "op_bias_gt": gt_op_bias,
    }
    path = write_result(a.results, rows, summary, device=a.device)
    print(f"\nsummary: {json.dumps(summary, default=float)}\nwritten {path}")


if __name__ == "__main__":
    main()
