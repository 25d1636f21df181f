"""The zero-cost frontier on NB201 CIFAR-10: every proxy, training-free combinations and learned
ensembles, against ``test_acc/cifar10``, beside the published references.

    PENAS_DATA=../shared/benchmarks python tools/bench/zc_frontier.py [--n 3000] [--seed 0] \\
        [--store $PENAS_CACHE/bench/zc_reproduce.db] [--proxies all] [--device cpu] [--workers 1]

* Archs: ``default_rng(seed).permutation(15625)[:n]`` of the NB201 table order -- a smaller
  ``--n`` is a prefix of a larger one, so a run can grow and resume.
* Data: protocol ``zero-cost-nas`` of the data layer: one seeded batch of 64 random real CIFAR-10
  *training* images (``--zc-seed``, default 42) -- the same estimator and store as ``zc_reproduce.py``
  (``_zc.py``), so each script reuses the other's scores.
* Scores go through the score store (``cached_scores``): rerunning skips stored rows, a killed
  run loses at most one shard.
* Rows: KT, Spearman, MKR, P@top-5%, nDCG@top-1% (gain ``2**acc - 1``, acc in %, as VKDNW's
  nDCG), BR@1% (best true rank among the predicted top 1%, as a fraction of N) for every proxy
  and every training-free combination (ranked among the sampled archs, as the references do);
  learned rows on the NAS-Bench-Suite-Zero protocol (train on N seeded archs, evaluate on the
  rest, ``--seeds`` seeds, mean and 95% t-interval) for N in ``--n-train`` with at least 2N archs.
* ``--score-file NAME=PATH`` (repeatable) adds precomputed columns: a FreeREA CSV (``index,<score>``)
  or ``penas:<table>[:<column>]``; ``NAME`` is the proxy it stands for (its direction, its place in
  the combinations). With ``--proxies none`` nothing is computed and every row comes from the files
  (results: ``--out``, e.g. ``zc_frontier_precomputed.json``; the summary names the sources).
* Learned rows fit ``--target`` (``rank``: the training archs' normalised ranks, penas's default;
  ``value``: the accuracy itself, as Suite-Zero).
* Reference rows are the published numbers (not recomputed): AZ-NAS and VKDNW_agg on all 15,625
  archs with NB201 test accuracy; Suite-Zero's XGBoost ensemble at 400 training archs, whose
  ground truth is NB201 *validation* accuracy.

Prints the table and writes ``tools/bench/results/zc_frontier.json``
(``{"command", "git", "date", "machine", "rows", "summary"}``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from penas.estimators.combination import PRESETS, combine
from penas.estimators.executors import LocalExecutor
from penas.estimators.predictor import ENSEMBLE_MODELS, ENSEMBLE_TARGETS, suite_zero_protocol
from penas.estimators.proxies import get_proxy, list_proxies
from penas.estimators.scoring import cached_scores
from penas.estimators.store import ScoreStore
from penas.metrics import best_rank_at, kendall_tau, mkr, ndcg, precision_at_top, spearman
from penas.spaces import get_space
from penas.spaces.paths import data_root

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402
from _zc import SEEDS, default_store, estimator, sample_indices  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ALIASES = {"relu_logdet"}  # same function as nwot
REFERENCES = [
    {"estimator": "AZ-NAS (published)", "kind": "reference", "kt": 0.741, "spearman": 0.913,
     "note": "Lee & Ham CVPR 2024, all 15,625 archs, test accuracy"},
    {"estimator": "VKDNW_agg (published)", "kind": "reference", "kt": 0.750, "spearman": 0.919,
     "note": "Tybl & Neumann CVPR 2025, all 15,625 archs, test accuracy"},
    {"estimator": "Suite-Zero XGB@400 (published)", "kind": "reference", "kt": 0.794, "spearman": 0.941,
     "note": "NAS-Bench-Suite-Zero, 400 training archs; GT = NB201 validation accuracy"},
]
AZ = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
#: Label-free combinations beyond the published presets (penas's own candidates, fixed before the
#: table was computed; the table names the best of them, so their best KT is a selection among these).
EXTRA_COMBOS = {
    "az_nas+jacob_cov": (("az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "jacob_cov"),
                         "log_rank"),
    "az_nas+nwot+synflow": (("az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "nwot",
                             "synflow"), "log_rank"),
    "vkdnw_agg+nwot": (("vkdnw", "jacob_cov", "az_expressivity", "az_trainability", "az_complexity", "nwot"),
                       "log_rank"),
    "swap+az_nas": (("swap", "az_expressivity", "az_progressivity", "az_trainability", "az_complexity"),
                    "log_rank"),
    "mean_rank(az_nas+vkdnw+nwot)": (("az_expressivity", "az_progressivity", "az_trainability", "az_complexity",
                                      "vkdnw", "nwot"), "mean_rank"),
    # MeCo: the strongest single proxy on the 725-arch cifar10-valid sample of zc_reproduce.py
    # (a different ground truth), chosen before this table was computed
    "az_nas+meco": (AZ + ("meco",), "log_rank"),
    "az_nas+meco+jacob_cov": (AZ + ("meco", "jacob_cov"), "log_rank"),
    "az_nas+meco+nwot+synflow": (AZ + ("meco", "nwot", "synflow"), "log_rank"),
    "mean_rank(az_nas+meco)": (AZ + ("meco",), "mean_rank"),
}


def read_table(root: Path) -> tuple[list[str], np.ndarray]:
    with (root / "nb201" / "derived" / "nb201_table.csv").open() as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
    return [r["arch_str"] for r in rows], np.array([float(r["test_acc_cifar10"]) for r in rows])


def worst_to_last(s: np.ndarray) -> np.ndarray:
    """Invalid (NaN) predictions ranked below every valid one."""
    s = np.asarray(s, dtype=np.float64).copy()
    bad = ~np.isfinite(s)
    if bad.any():
        s[bad] = (np.min(s[~bad]) - 1.0) if (~bad).any() else 0.0
    return s


def top(ratio: float, n: int) -> int:
    """K = floor(ratio * N), at least 1 (tiny runs)."""
    return max(1, int(np.floor(ratio * n + 1e-9)))


def criteria(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    p = worst_to_last(pred)
    n = p.size
    return {
        "kt": kendall_tau(p, gt), "spearman": spearman(p, gt), "mkr": mkr(p, gt),
        "p_top5": precision_at_top(p, gt, top(0.05, n)), "ndcg_top1": ndcg(p, gt, top(0.01, n), gain="exp2"),
        "br_1": best_rank_at(p, gt, top(0.01, n)).fraction, "n_invalid": int(np.count_nonzero(~np.isfinite(pred))),
    }


def halves(pred: np.ndarray, gt: np.ndarray) -> list[float]:
    """KT on the first and the second half of the sample (disjoint arch sets; the candidates'
    members are fixed, so a combination that only fits one half shows it here)."""
    p, h = worst_to_last(pred), gt.size // 2
    return [kendall_tau(p[:h], gt[:h]), kendall_tau(p[h:], gt[h:])]


def interval(v: np.ndarray) -> tuple[float, float, float]:
    m = float(np.mean(v))
    if v.size < 2:
        return m, m, m
    h = float(stats.t.ppf(0.975, v.size - 1) * np.std(v, ddof=1) / np.sqrt(v.size))
    return m, m - h, m + h


def file_column(spec: str, space, ids: list[str]) -> np.ndarray:
    """Scores of ``ids`` from a precomputed file or ``penas:<table>[:<column>]`` (NaN where absent)."""
    if spec.startswith("penas:"):
        from penas.estimators.score_tables import resolve_score_file

        fid, vals = resolve_score_file(spec, space=space.name)
    else:
        from penas.spaces.benchmarks import load_score_file

        fid, vals = load_score_file(spec, space=space.name)
    m = {space.arch_id(a): float(v) for a, v in zip(fid, vals, strict=True)}
    return np.array([m.get(i, np.nan) for i in ids])


def main() -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # the GP's noise bound, every seed
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="sampled NB201 archs (a prefix-stable seeded sample)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the arch sample")
    ap.add_argument("--proxies", default="all", help="comma-separated proxy names, or 'all'")
    ap.add_argument("--store", default=str(default_store()), help="shared with zc_reproduce.py")
    ap.add_argument("--zc-seed", type=int, default=SEEDS[0], help="seed of the zero-cost batch")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=50, help="archs per progress line")
    ap.add_argument("--n-train", default="50,100,400,1000", help="learned-ensemble training sizes")
    ap.add_argument("--seeds", type=int, default=10, help="Suite-Zero protocol seeds")
    ap.add_argument("--models", default="hgb,gp,mlp", help=f"learned models, from {','.join(ENSEMBLE_MODELS)}")
    ap.add_argument("--report-only", action="store_true", help="no scoring; archs missing from the store are NaN")
    ap.add_argument("--score-file", action="append", default=[],
                    help="NAME=PATH precomputed column (FreeREA CSV or penas:<table>[:<column>]); repeatable")
    ap.add_argument("--target", default="rank", help=f"learned rows fit: {' | '.join(ENSEMBLE_TARGETS)}")
    ap.add_argument("--out", default=str(REPO / "tools" / "bench" / "results" / "zc_frontier.json"))
    ap.add_argument("--write-ids", default=None, metavar="PATH",
                    help="write the sample's arch ids (one per line, sample order) to PATH and exit: the --archs "
                         "file of `penas-app scores build-table` for the shipped nb201_zc table")
    a = ap.parse_args()

    root = data_root()
    names, acc = read_table(root)
    if not 2 <= a.n <= len(names):
        raise SystemExit(f"--n: expected 2..{len(names)}, got {a.n}")
    proxies = ([p for p in list_proxies() if p not in ALIASES] if a.proxies == "all" else
               [] if a.proxies in ("none", "") else a.proxies.split(","))
    files: dict[str, str] = {}
    for pair in a.score_file:
        name, eq, path = pair.partition("=")
        if not eq or not name or not path:
            raise SystemExit(f"--score-file: expected NAME=PATH, got {pair!r}")
        files[name] = path
    if not proxies and not files:
        raise SystemExit("--proxies none: give at least one --score-file")
    if a.target not in ENSEMBLE_TARGETS:
        raise SystemExit(f"--target: expected one of {', '.join(ENSEMBLE_TARGETS)}, got {a.target!r}")
    for p in proxies:
        try:
            get_proxy(p)
        except KeyError as e:
            raise SystemExit(f"--proxies: {e.args[0]}") from None
    models = a.models.split(",")
    bad = [m for m in models if m not in ENSEMBLE_MODELS]
    if bad:
        raise SystemExit(f"--models: expected names from {', '.join(ENSEMBLE_MODELS)}, got {bad}")
    n_trains = [int(v) for v in a.n_train.split(",") if v]

    idx = sample_indices(len(names), a.n, a.seed)
    space = get_space("nb201")
    ids = [space.arch_id(names[i]) for i in idx]
    if a.write_ids:
        out = Path(a.write_ids)
        if out.exists():
            raise SystemExit(f"--write-ids: {out} exists; give a new path")
        out.write_text("".join(i + "\n" for i in ids))
        print(f"wrote {len(ids)} arch ids (seed {a.seed}) to {out}")
        return
    gt = acc[idx]
    print(f"nb201 cifar10: {a.n} archs (seed {a.seed}), {len(proxies)} proxies, zero-cost-nas batch seed {a.zc_seed}, "
          f"store {a.store}; files: {files or 'none'}", flush=True)
    t0 = time.perf_counter()
    scores: dict[str, np.ndarray] = {}
    oriented: dict[str, np.ndarray] = {}
    if proxies:
        est = estimator(space, a.zc_seed, "cifar10", proxies[0], device=a.device)
        multi = est.with_proxies(proxies)
        store = ScoreStore(a.store)
        ex = LocalExecutor(a.workers)
        for st in range(0, len(ids), a.chunk if not a.report_only else len(ids)):
            table = cached_scores(multi, ids[st : st + a.chunk] if not a.report_only else ids, store, ex,
                                  compute=not a.report_only)
            if not a.report_only:
                n_comp = max(c.n_computed for c in table.values())
                print(f"  {min(st + a.chunk, len(ids))}/{len(ids)} archs ({n_comp} computed), "
                      f"{time.perf_counter() - t0:.0f}s", flush=True)
        table = cached_scores(multi, ids, store, compute=False)
        scores = {p: table[p].values for p in proxies}
        oriented = {p: table[p].oriented() for p in proxies}
    for name, path in files.items():
        try:
            v = file_column(path, space, ids)
        except (OSError, ValueError) as e:
            raise SystemExit(f"--score-file: {name}={path}: {e}") from None
        try:
            up = get_proxy(name).higher_is_better
        except KeyError:
            up = True  # not a registered proxy: higher is better, as in FreeREA's files
        scores[name] = v
        oriented[name] = v if up else -v
    proxies = [*proxies, *[n for n in files if n not in proxies]]

    rows: list[dict] = []
    for p in proxies:
        rows.append({"estimator": p, "kind": "proxy", **criteria(oriented[p], gt)})
    combos = {**PRESETS, **EXTRA_COMBOS}
    for name, (members, method) in combos.items():
        if not all(m in oriented for m in members):
            continue
        s = combine({m: oriented[m] for m in members}, method)
        rows.append({"estimator": name, "kind": "training-free", "members": list(members), "method": method,
                     **criteria(s, gt), "kt_halves": halves(s, gt)})

    if len(proxies) > 1:  # every column at once, no selection (the label-free baseline of the learned rows)
        for method in ("log_rank", "mean_rank"):
            s = combine({m: oriented[m] for m in proxies}, method)
            rows.append({"estimator": f"{method}(all {len(proxies)} columns)", "kind": "training-free",
                         "members": list(proxies), "method": method, **criteria(s, gt)})

    enc = np.stack([np.asarray(space.encode(space.parse(i)), dtype=np.float64) for i in ids])
    x = np.concatenate([np.stack([scores[p] for p in proxies], 1), enc], 1)
    used_n = []
    for n_tr in n_trains:
        if a.n < 2 * n_tr:
            continue
        used_n.append(n_tr)
        for model in models:
            r = suite_zero_protocol(x, gt, n_tr, seeds=range(a.seeds), model=model, target=a.target)
            kt, lo, hi = interval(r["kt"])
            sp_, slo, shi = interval(r["spearman"])
            rows.append({"estimator": f"zc_ensemble[{model}]@{n_tr}", "kind": "learned", "model": model,
                         "n_train": n_tr, "seeds": a.seeds, "target": a.target, "kt": kt, "kt_interval": [lo, hi], "spearman": sp_,
                         "spearman_interval": [slo, shi],
                         **{k: v for k, v in criteria(r["pred"], gt[r["test"]]).items()
                            if k not in ("kt", "spearman")},
                         "note": "criteria other than KT/Spearman: the last seed's held-out archs"})
    rows += REFERENCES

    print(f"\nground truth: NB201 test_acc/cifar10 (200 epochs), {a.n} archs")
    print("| estimator | kind | KT | Spearman | MKR | P@5% | nDCG@1% | BR@1% |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        f = {k: (f"{r[k]:.3f}" if isinstance(r.get(k), float) else "-")
             for k in ("kt", "spearman", "mkr", "p_top5", "ndcg_top1", "br_1")}
        ci = f" [{r['kt_interval'][0]:.3f}, {r['kt_interval'][1]:.3f}]" if "kt_interval" in r else ""
        print(f"| {r['estimator']} | {r['kind']} | {f['kt']}{ci} | {f['spearman']} | {f['mkr']} | {f['p_top5']} | "
              f"{f['ndcg_top1']} | {f['br_1']} |")

    def best(kind: str, n_tr: int | None = None) -> str | None:
        cand = [r for r in rows if r["kind"] == kind and (n_tr is None or r.get("n_train") == n_tr)
                and np.isfinite(r.get("kt", np.nan))]
        return max(cand, key=lambda r: r["kt"])["estimator"] if cand else None

    n_train = 400 if 400 in used_n else (max(used_n) if used_n else None)
    summary = {
        "n_archs": a.n,
        "kt": {r["estimator"]: r["kt"] for r in rows if r["kind"] != "reference"},
        "mkr": {r["estimator"]: r["mkr"] for r in rows if r["kind"] in ("proxy", "training-free")},
        "best_training_free": best("training-free"),
        "best_learned": best("learned", n_train),
        "n_train": n_train,
        "gt": "nb201 test_acc/cifar10",
        "data": (f"computed: zero-cost-nas protocol, real CIFAR-10 training batch of 64 (seed {a.zc_seed})"
                 if len(proxies) > len(files) else "no proxy computed") +
                (f"; precomputed files: {files}" if files else ""),
        "learned_target": a.target,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(f"\nbest training-free: {summary['best_training_free']}; best learned at N={n_train}: {summary['best_learned']}")
    out = write_result(a.out, rows, summary, device=a.device, torch=torch.__version__)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
