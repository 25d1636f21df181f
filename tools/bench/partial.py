"""Partial training on real CIFAR-10 (issue 16): the early-stopping estimator's curve that PE-NAS's
staged drop ratios rest on. For a seeded set of archs spread over the accuracy range, train each
stand-alone net with NB201's 12-epoch protocol ``LESS.config`` (``partial_training`` with
``protocol="less"``: SGD nesterov, lr 0.1 cosine over 12 epochs, wd 5e-4, batch 256, on
``nb201-train``, validated on ``nb201-valid``) and report the Spearman / Kendall tau of the
accuracy after ``e`` epochs against the final 200-epoch ground truth, with CPU seconds per epoch.

Every arch trains from its own checkpoint (``--work DIR/ckpt``; epoch ``e`` resumes from the
largest earlier one) and every score is kept in ``DIR/scores.sqlite``, so a rerun computes only
what is missing. ``--budget-min``: stop computing new (arch, epoch) scores after this many
minutes (the rows so far are written; rerun to continue).

    # CPU: a stated reduced budget (5,000 training images, e = 1, 2, 4)
    OMP_NUM_THREADS=2 .venv/bin/python tools/bench/partial.py --train-images 5000 --epochs 1,2,4
    # the full LESS.config protocol (25,000 images, e up to 12, 60 NB201 archs): on a GPU
    .venv/bin/python tools/bench/partial.py --full --nb201-archs 60 --device cuda
    # tiny proof
    .venv/bin/python tools/bench/partial.py --train-images 1024 --eval-images 512 --epochs 1 --nb201-archs 4 \\
        --macro-archs 2 --width 4 --work /tmp/pt --results /tmp/pt/partial.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402

SPACES = {"nb201": "nb201_archs", "nasbench_macro": "macro_archs"}


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="runs/bench_partial", help="per-arch checkpoints and the score store")
    ap.add_argument("--results", default=str(Path(__file__).parent / "results" / "partial.json"))
    ap.add_argument("--spaces", default="nb201,nasbench_macro")
    ap.add_argument("--nb201-archs", type=int, default=30)
    ap.add_argument("--macro-archs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", default="1,2,4", help="comma list of e (<= the protocol's 12)")
    ap.add_argument("--train-images", type=int, default=5000, help="training images per epoch (0: all 25,000)")
    ap.add_argument("--eval-images", type=int, default=0, help="nb201-valid images scored (0: all)")
    ap.add_argument("--width", type=int, default=None, help="NB201 width C (default 16; reduced only when given)")
    ap.add_argument("--full", action="store_true", help="the full protocol: all images, e = 1..12")
    ap.add_argument("--budget-min", type=float, default=None)
    ap.add_argument("--cost-from", action="append", default=[], metavar="JSON",
                    help="earlier results of this bench whose CPU s per arch-epoch to keep for the epochs this run "
                         "reads from the store (repeatable; the --results file itself is always read)")
    ap.add_argument("--stored-only", action="store_true",
                    help="report only the epochs whose scores are all in the score store (train nothing)")
    ap.add_argument("--device", default="cpu", help="where each arch trains: cpu | cuda | cuda:N (recorded in every score's provenance)")
    a = ap.parse_args()
    try:
        a.epoch_list = sorted({int(e) for e in a.epochs.split(",") if e})
    except ValueError:
        ap.error(f"--epochs: expected a comma list of integers, got {a.epochs!r}")
    if a.full:
        a.epoch_list, a.train_images, a.eval_images = list(range(1, 13)), 0, 0
    if not a.epoch_list or not all(1 <= e <= 12 for e in a.epoch_list):
        ap.error(f"--epochs: expected epochs in 1..12 (LESS.config), got {a.epochs!r}")
    a.space_list = [s for s in a.spaces.split(",") if s]
    if not a.space_list or any(s not in SPACES for s in a.space_list):
        ap.error(f"--spaces: expected a comma list of {', '.join(SPACES)}, got {a.spaces!r}")
    if a.train_images < 0 or a.eval_images < 0:
        ap.error("--train-images/--eval-images: expected N >= 0 (0: all)")
    return a


def spread_archs(space, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``n`` benchmark archs spread over the accuracy range: one seeded pick per GT-quantile bin."""
    from penas.estimators.simple import OracleEstimator

    oracle = OracleEstimator(space, dataset="cifar10", metric="test_acc")
    ids, vals = oracle.column()
    ok = np.isfinite(vals)
    ids, vals = [i for i, k in zip(ids, ok, strict=True) if k], vals[ok]
    order = np.argsort(vals)
    rng = np.random.default_rng(seed)
    bins = np.array_split(order, n)
    pick = [int(b[rng.integers(len(b))]) for b in bins if len(b)]
    return [ids[i] for i in pick], vals[pick]


def keep_costs(files: list[Path], rho: dict, cost: dict) -> list[str]:
    """Fill ``cost[space][e]`` for the epochs reported here but not trained by this run from earlier
    results of the bench (the first file that has one wins); returns the ``space e=E`` filled."""
    kept = []
    for f in files:
        if not f.is_file():
            continue
        old = json.loads(f.read_text()).get("summary", {}).get("cpu_s_per_arch_epoch", {})
        for space, by_e in old.items():
            for e, v in by_e.items():
                if e in rho.get(space, {}) and e not in cost.get(space, {}):
                    cost.setdefault(space, {})[e] = v
                    kept.append(f"{space} e={e}")
    return kept


def main() -> None:
    from penas.estimators.partial_training import PartialTrainingEstimator, less_config
    from penas.estimators.scoring import cached_scores
    from penas.estimators.store import ScoreStore
    from penas.metrics import kendall_tau, spearman
    from penas.spaces import get_space

    a = parse()
    less = less_config()
    bs = int(less["batch_size"])
    work = Path(a.work)
    store = ScoreStore(str(work / "scores.sqlite"))
    t_start = time.perf_counter()
    rows, rho, kt, cost, protocol = [], {}, {}, {}, {}
    out_of_budget = False
    for name in a.space_list:
        space = get_space(name)
        n = getattr(a, SPACES[name])
        ids, gt = spread_archs(space, n, a.seed)
        kw = {"train_batches": a.train_images // bs if a.train_images else None,
              "eval_batches": a.eval_images // bs if a.eval_images else None}
        if a.width is not None and name == "nb201":
            kw["build_kwargs"] = {"C": a.width}
        base = PartialTrainingEstimator(space, epochs=1, mode="train", data="cifar10", protocol="less",
                                        checkpoint_dir=str(work / "ckpt" / name), device=a.device, **kw)
        protocol[name] = {k: v for k, v in base.cfg.items() if k != "epochs"}
        rho[name], kt[name], cost[name] = {}, {}, {}
        print(f"{name}: {len(ids)} archs (GT test_acc {gt.min():.1f}..{gt.max():.1f}); protocol {protocol[name]}",
              flush=True)
        for e in a.epoch_list:
            if a.budget_min is not None and time.perf_counter() - t_start > a.budget_min * 60:
                out_of_budget = True
                break
            est = base.at_epoch(e)
            if a.stored_only and store.missing(space.name, est.name, est.config_hash, ids):
                continue
            t0 = time.process_time()
            col = cached_scores(est, ids, store).one()
            trained = est.epochs_charged  # epochs this call trained (stored scores: none)
            cpu = time.process_time() - t0
            s = np.asarray(col.values, dtype=float)
            ok = np.isfinite(s)
            rho[name][str(e)] = float(spearman(s[ok], gt[ok]))
            kt[name][str(e)] = float(kendall_tau(s[ok], gt[ok]))
            if trained:
                cost[name][str(e)] = cpu / trained
            rows += [{"space": name, "arch_id": i, "epoch": e, "acc": float(v), "gt": float(g)}
                     for i, v, g in zip(ids, s, gt, strict=True)]
            print(f"  e={e}: Spearman {rho[name][str(e)]:.3f}, KT {kt[name][str(e)]:.3f}; trained {trained} "
                  f"arch-epochs" + (f", {cpu / trained:.1f} CPU s each" if trained else " (all stored)"), flush=True)
    kept = keep_costs([Path(a.results), *map(Path, a.cost_from)], rho, cost)
    summary = {"data_source": "cifar10 nb201-train / nb201-valid (NB201 LESS.config protocol)",
               "less_config": less, "protocol": protocol, "spearman_by_epoch": rho, "kt_by_epoch": kt,
               "cpu_s_per_arch_epoch": cost,
               "cpu_note": "CPU s per arch-epoch of the runs that trained the scores" + (
                   f" (read from earlier results for {', '.join(kept)}: this run took them from the store)"
                   if kept else ""),
               "out_of_budget": out_of_budget,
               "reduced": {"train_images": a.train_images or None, "eval_images": a.eval_images or None,
                           "width": a.width}}
    path = write_result(a.results, rows, summary, device=a.device)
    print(f"\nsummary: {json.dumps(summary, default=float)}\nwritten {path}")


if __name__ == "__main__":
    main()
