"""NB301 surrogate (YAHPO Gym's ONNX model through penas' own encoding): speed and rank evidence.

* speed: penas' batched ``query_many`` vs yahpo-gym's own per-configuration
  ``BenchmarkSet("nb301").objective_function`` call, measured in the same run (configs/s, ratio);
  penas' one-at-a-time ``query`` too;
* the final-epoch (98) prediction vs the measured 500-arch NB301 sample (Spearman, Kendall tau);
* epoch-e vs final-epoch predictions (Spearman, Kendall tau) for e = 1, 4, 12, 25, 50 on
  ``--n`` uniformly sampled genotypes: the curve PE-NAS's partial-training stages rely on.

Usage::

    PENAS_DATA=/path/to/benchmarks python tools/bench/nb301_surrogate.py [--n 2000] [--seed 0]

Prints a table and writes ``tools/bench/results/nb301_surrogate.json``
(``{"command", "git", "date", "machine", "rows", "summary"}``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from penas.metrics import kendall_tau, spearman
from penas.spaces import get_space, paths
from penas.spaces._darts_nb301 import yahpo_name
from penas.spaces.benchmarks import surrogate
from penas.spaces.darts import genotype_to_nb301_config, load_nb301_naslib_keys

REPO = Path(__file__).resolve().parents[2]
EPOCHS = (1, 4, 12, 25, 50)


sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402  (the house-format helpers of tools/bench)


def _yahpo_per_config(data_dir: Path, gens: list, epoch: int) -> tuple[np.ndarray, float] | None:
    """yahpo-gym's own call, one configuration at a time; None when yahpo-gym is not installed."""
    if importlib.util.find_spec("yahpo_gym") is None:
        return None
    os.environ["YAHPO_LOCAL_CONFIG"] = str(Path(tempfile.mkdtemp(prefix="penas-yahpo-")) / "config.yaml")
    from yahpo_gym import BenchmarkSet, local_config

    local_config.init_config()
    local_config.set_data_path(str(data_dir))
    bset = BenchmarkSet("nb301", multithread=False)
    cfgs = [{**{yahpo_name(k): v for k, v in genotype_to_nb301_config(g).items()}, "epoch": epoch} for g in gens]
    bset.objective_function(cfgs[0])  # session warm-up
    t = time.perf_counter()
    vals = np.array([bset.objective_function(c)[0]["val_accuracy"] for c in cfgs])
    return vals, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="sampled genotypes for the epoch-e vs final rows")
    ap.add_argument("--n-speed", type=int, default=10000, help="genotypes for the batched speed row")
    ap.add_argument("--n-yahpo", type=int, default=500, help="configurations for yahpo-gym's per-config row")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "tools" / "bench" / "results" / "nb301_surrogate.json"))
    a = ap.parse_args()
    if a.n < 10 or a.n_speed < 1 or a.n_yahpo < 1:
        raise SystemExit("error: --n must be >= 10 and --n-speed/--n-yahpo >= 1")
    root = paths.data_root()
    try:
        sur = surrogate("darts", root)
    except (FileNotFoundError, ValueError, ImportError) as e:
        raise SystemExit(f"error: {str(e).splitlines()[0]}") from None
    space = get_space("darts")
    rng = np.random.default_rng(a.seed)
    rows: list[dict] = []

    # speed, same run: batched penas vs per-config yahpo-gym (and per-config penas)
    gens = [space.sample(rng) for _ in range(max(a.n_speed, a.n_yahpo))]
    ids = [space.format(g) for g in gens]
    sur.query_many(ids[:10])  # session warm-up
    t = time.perf_counter()
    batched = sur.query_many(ids[: a.n_speed])
    t_batch = time.perf_counter() - t
    t = time.perf_counter()
    single = np.array([sur.query(x) for x in ids[: a.n_yahpo]])
    t_single = time.perf_counter() - t
    rows.append({"what": "speed", "method": "penas query_many (batched, 1 thread)", "n": a.n_speed,
                 "seconds": t_batch, "configs_per_s": a.n_speed / t_batch})
    rows.append({"what": "speed", "method": "penas query (one at a time)", "n": a.n_yahpo,
                 "seconds": t_single, "configs_per_s": a.n_yahpo / t_single})
    yahpo = _yahpo_per_config(sur.path.parent, gens[: a.n_yahpo], 98)
    summary: dict = {"model_sha256": sur.model_sha256, "batched_configs_per_s": a.n_speed / t_batch,
                     "max_abs_diff_batched_vs_single": float(np.max(np.abs(batched[: a.n_yahpo] - single[: a.n_speed])))}
    if yahpo is not None:
        vals, t_y = yahpo
        rows.append({"what": "speed", "method": "yahpo-gym objective_function (one config per call)",
                     "n": a.n_yahpo, "seconds": t_y, "configs_per_s": a.n_yahpo / t_y})
        summary["yahpo_per_config_configs_per_s"] = a.n_yahpo / t_y
        summary["speedup_batched_vs_yahpo"] = (a.n_speed / t_batch) / (a.n_yahpo / t_y)
        summary["max_abs_diff_vs_yahpo"] = float(np.max(np.abs(single - vals)))
    else:
        summary["yahpo"] = "yahpo-gym not installed: no per-config comparison"

    # final epoch vs the measured sample
    sample = load_nb301_naslib_keys(root / "nb301" / "gt_nasbench301_subset500.json")
    sids = list(sample)
    pred = sur.query_many(sids, "val_acc")
    meas = np.array([sample[x]["val_accuracy"] for x in sids])
    rows.append({"what": "final vs 500-arch sample", "n": len(sids), "spearman": spearman(pred, meas),
                 "kendall_tau": kendall_tau(pred, meas), "mean_offset_pct": float(np.mean(pred - meas))})
    summary["sample_spearman"] = rows[-1]["spearman"]
    summary["sample_kendall_tau"] = rows[-1]["kendall_tau"]

    # epoch-e vs final on sampled genotypes
    cur = sur.curve(gens[: a.n], "val_acc", [*EPOCHS, 98])
    final = cur[:, -1]
    summary["epoch_vs_final_spearman"] = {}
    for k, e in enumerate(EPOCHS):
        r = {"what": "epoch e vs final (98)", "epoch": e, "n": a.n, "spearman": spearman(cur[:, k], final),
             "kendall_tau": kendall_tau(cur[:, k], final)}
        rows.append(r)
        summary["epoch_vs_final_spearman"][str(e)] = r["spearman"]

    print(f"NB301 surrogate (YAHPO nb301 model.onnx sha256 {sur.model_sha256[:16]}...), seed {a.seed}")
    print("| what | method / epoch | n | value |")
    print("|---|---|---|---|")
    for r in rows:
        if r["what"] == "speed":
            print(f"| speed | {r['method']} | {r['n']} | {r['configs_per_s']:,.0f} configs/s ({r['seconds']:.3f} s) |")
        else:
            label = r.get("epoch", "final")
            print(f"| {r['what']} | {label} | {r['n']} | Spearman {r['spearman']:.3f}, KT {r['kendall_tau']:.3f} |")
    if "speedup_batched_vs_yahpo" in summary:
        print(f"batched / yahpo-gym per-config: {summary['speedup_batched_vs_yahpo']:.1f}x; "
              f"max |penas - yahpo| = {summary['max_abs_diff_vs_yahpo']:.2g}")
    out = write_result(a.out, rows, summary)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
