"""Search benchmark: random search, REA and PE-NAS A/B/C on NAS-Bench-Macro and NB201.

For every (space, strategy, seed) it records the ground-truth accuracy reached, whether it is the
benchmark optimum, the number of archs fully evaluated (GT lookups + archs that entered partial
training) and the CPU time of the search stages. It prints one table and writes JSON to
``--out`` (default ``runs/bench-search``).

What is real and what is tabular (printed with the table):

* random / REA: fitness = the GT lookup (``oracle``; one "full evaluation" each). REA is the seed's
  variant (population 20, parent = best of the population, FIFO ageing), 500 evaluations;
  random search gets the same 500.
* PE-NAS zero-cost vote: proxies over ALL candidates are not computed here (l2_norm/nwot/zen over
  15,625 NB201 archs take hours on 2 CPU cores). NB201 uses the precomputed FreeREA scores
  (``nb201/freerea/cifar10/{naswot,synflow,params}.csv``: nwot, synflow, params) through the score-file
  loader; NAS-Bench-Macro uses the table's ``params`` and ``flops`` columns (2 proxies, vote 2 of 2).
  l2_norm and zen are NOT used (not precomputed).
* PE-NAS one-shot stage: skipped (no supernet can be trained on CPU in this budget).
* PE-NAS partial-training stages: TABULAR, ``tabular-final``: the benchmarks have no learning curves,
  so epoch e returns the final accuracy (an oracle). PE-NAS therefore finds the best arch that
  survives the zero-cost stages; "archs fully evaluated" counts the archs that entered partial
  training (each charged its epochs, see ``epochs``).

Usage: ``python tools/bench/search.py [--seeds 10] [--spaces nb201,nasbench_macro]``.

``--spaces darts`` (:func:`run_darts`) is PE-NAS on NAS-Bench-301 over the whole DARTS space, with the
YAHPO NB301 surrogate as ground truth (``gt_source=surrogate``):

* candidates: the reference scores the ~5k NB301 archs with full training info, which are not
  available; here a pool of ``--pool`` genotypes is sampled uniformly (fixed seed) and each search seed
  draws ``--candidates`` of them, so zero-cost scores (which do not depend on the search seed) are
  computed once per genotype and reused across seeds through one score store;
* zero-cost vote: l2_norm, nwot, zen on the real CIFAR-10 training images (the zero-cost-nas protocol:
  one seeded random batch, crop + flip), NB301 ``NetworkCIFAR`` C=32, 8 layers, batch ``--zc-batch-size``
  (the reference uses 64; a smaller batch keeps the bench within its CPU budget and is recorded);
* one-shot stage: skipped (no trained DARTS supernet on CPU);
* partial training: the surrogate's learning curve at each stage's epoch (fidelity ``surrogate-curve``),
  charged the surrogate's predicted training runtime;
* random search and the seed's REA: fitness = the surrogate's final-epoch accuracy (one full training
  each, charged its predicted runtime), stopped at the charged runtime of each PE-NAS variant of the
  same seed (``random@pe-nas-a`` ...);
* reported: the chosen genotype's final surrogate accuracy, its rank percentile among ``--reference``
  genotypes sampled uniformly, the charged runtime. Results: ``tools/bench/results/search_nb301.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from penas.app.workflows import Binding, SearchConfig, search
from penas.spaces import get_space
from penas.spaces.paths import data_root

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402

STRATEGIES = ("random", "rea-seed", "pe-nas-a", "pe-nas-b", "pe-nas-c")
OPTIMUM = {"nasbench_macro": 93.13, "nb201": 94.37}


def zc_setup(space: str, root: Path) -> tuple[list[str], dict[str, Binding], str]:
    if space == "nb201":
        d = root / "nb201" / "freerea" / "cifar10"
        files = {"nwot": d / "naswot.csv", "synflow": d / "synflow.csv", "params": d / "params.csv"}
        missing = [str(p) for p in files.values() if not p.is_file()]
        if missing:
            raise SystemExit(f"missing FreeREA score files: {missing}")
        b = {f"zc:{k}": Binding(f"zc:{k}", k, {}, str(p)) for k, p in files.items()}
        return list(files), b, "nwot, synflow, params: FreeREA precomputed (vote 2 of 3)"
    b = {f"zc:{m}": Binding(f"zc:{m}", "partial_training", {"mode": "tabular", "metric": m, "gt_dataset": "cifar10"},
                            cost="cheap") for m in ("params", "flops")}
    return ["params", "flops"], b, "params, flops: benchmark table columns (vote 2 of 2)"


def one_run(space_name: str, strategy: str, seed: int, root: Path, workdir: Path) -> dict:
    proxies, zc_bind, _ = zc_setup(space_name, root)
    cfg = SearchConfig(space=space_name, strategy=strategy, seed=seed, budget=500 if strategy in ("random", "rea-seed")
                       else None, proxies=proxies, one_shot="none", partial="tabular", progress=False,
                       candidates="all", chunk=2000, out=str(workdir / f"{space_name}-{strategy}-{seed}"))
    c0 = time.process_time()
    res = search(cfg, bindings=zc_bind)  # the zero-cost roles read the precomputed scores / table columns
    res["cpu_total_s"] = time.process_time() - c0
    return res


DARTS_PENAS = ("pe-nas-a", "pe-nas-b", "pe-nas-c")
DARTS_BASELINES = ("random", "rea-seed")


def darts_pool(n: int, seed: int = 301) -> list[str]:
    """The bench's pool of ``n`` genotypes sampled uniformly from the DARTS space."""
    sp = get_space("darts")
    return [sp.format(a) for a in sp.sample_many(n, np.random.default_rng(seed))]


def darts_run(strategy: str, seed: int, cand_file: Path, workdir: Path, store, zc_batch: int, reference: int,
              runtime_budget: float | None = None, tag: str | None = None) -> dict:
    cfg = SearchConfig(space="darts", strategy=strategy, seed=seed, candidates=str(cand_file), one_shot="none",
                       partial="tabular", gt_source="surrogate", zc_batch_size=zc_batch, progress=False, chunk=50,
                       runtime_budget=runtime_budget, out=str(workdir / f"darts-{tag or strategy}-{seed}"))
    c0, w0 = time.process_time(), time.perf_counter()
    res = search(cfg, store=store, reference_samples=reference)
    res["cpu_total_s"], res["wall_total_s"] = time.process_time() - c0, time.perf_counter() - w0
    return res


def run_darts(args: argparse.Namespace) -> None:
    """PE-NAS A/B/C and the runtime-matched baselines on NB301 (see the module docs)."""
    from penas.estimators.store import ScoreStore

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    store = ScoreStore(cache / "nb301_scores.db")
    pool = darts_pool(args.pool)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            cand = sorted(pool[i] for i in rng.choice(len(pool), size=min(args.candidates, len(pool)), replace=False))
            cand_file = Path(tmp) / f"candidates-{seed}.txt"
            cand_file.write_text("\n".join(cand) + "\n")
            for st in DARTS_PENAS:
                res = darts_run(st, seed, cand_file, Path(tmp), store, args.zc_batch_size, args.reference)
                rows.append(_darts_row(st, seed, res))
                # no partial-training stage ran (one survivor after the vote): the baselines get one evaluation
                budget = res["accounting"]["charged_runtime_s"] or 1e-6
                for base in DARTS_BASELINES:
                    r = darts_run(base, seed, cand_file, Path(tmp), store, args.zc_batch_size, args.reference,
                                  runtime_budget=budget, tag=f"{base}@{st}")
                    rows.append(_darts_row(f"{base}@{st}", seed, r))
                print(f"darts seed {seed} {st}: acc {rows[-3]['final_acc']:.3f} pct {rows[-3]['rank_percentile']:.2f} "
                      f"runtime {budget:.0f}s cpu {rows[-3]['cpu_s']:.0f}s", file=sys.stderr, flush=True)
            path = write_result(args.darts_out, rows, _darts_summary(rows, args, seed + 1))  # after every seed
    print(json.dumps({k: v for k, v in json.loads(path.read_text())["summary"].items()
                      if k in ("mean_final_acc", "mean_rank_percentile")}, indent=1))
    print(f"wrote {path}")


def _darts_summary(rows: list[dict], args: argparse.Namespace, seeds_done: int) -> dict:
    from penas.spaces.benchmarks import surrogate

    keys = list(dict.fromkeys(r["strategy"] for r in rows))

    def mean(k: str, f: str) -> float:
        return float(np.mean([r[f] for r in rows if r["strategy"] == k]))

    summary = {
        "mean_final_acc": {k: mean(k, "final_acc") for k in keys},
        "mean_rank_percentile": {k: mean(k, "rank_percentile") for k in keys},
        "mean_charged_runtime_s": {k: mean(k, "charged_runtime_s") for k in keys},
        "mean_full_trainings": {k: mean(k, "full_training_equivalents") for k in keys},
        "seeds": seeds_done,
        "cpu_s_total": float(sum(r["cpu_s"] for r in rows)),
        "gt": "YAHPO Gym NB301 surrogate (val_acc %, epoch 98), model sha256 " + surrogate("darts").model_sha256,
        "candidates": f"{args.candidates} per seed, drawn from a pool of {args.pool} genotypes sampled uniformly "
                      "from the DARTS space (the reference's ~5k NB301 archs with training info are not available)",
        "reference": f"rank percentile among {args.reference} genotypes sampled uniformly (fixed seed)",
        "zero_cost": f"l2_norm, nwot, zen on real CIFAR-10 (zero-cost-nas protocol), NetworkCIFAR C=32 8 layers, "
                     f"batch {args.zc_batch_size} (reference: 64)",
        "one_shot": "skipped (no trained DARTS supernet)",
        "partial_training": "surrogate-curve: the surrogate's val_acc at the stage's epoch, charged its runtime",
        "baselines": "random / rea-seed, fitness = surrogate final val_acc (a full training each), stopped at the "
                     "charged runtime of the PE-NAS variant named after '@' (same seed, same candidates)",
    }
    return summary


def _darts_row(strategy: str, seed: int, res: dict) -> dict:
    gt, acc = res["gt"], res["accounting"]
    return {"strategy": strategy, "seed": seed, "chosen": res["chosen"], "final_acc": gt["value"],
            "rank_percentile": gt["rank_percentile"], "best_among_candidates": gt["best_among_candidates"],
            "charged_runtime_s": acc["charged_runtime_s"] or 0.0, "epochs": acc["epochs"],
            "full_training_equivalents": acc["full_training_equivalents"],
            "archs_evaluated": acc["archs_fully_evaluated"], "n_candidates": res["n_candidates"],
            "cpu_s": res["cpu_total_s"], "wall_s": res["wall_total_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--spaces", default="nasbench_macro,nb201")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--out", default="runs/bench-search")
    ap.add_argument("--pool", type=int, default=600, help="darts: genotypes sampled once, shared by the seeds")
    ap.add_argument("--candidates", type=int, default=500, help="darts: candidates per seed, drawn from the pool")
    ap.add_argument("--zc-batch-size", type=int, default=16, help="darts: zero-cost batch (reference: 64)")
    ap.add_argument("--reference", type=int, default=100_000, help="darts: genotypes of the rank percentile")
    ap.add_argument("--cache", default="runs/bench-search-nb301", help="darts: score store folder (reused)")
    ap.add_argument("--darts-out", default=str(Path(__file__).resolve().parent / "results" / "search_nb301.json"))
    args = ap.parse_args()
    if args.spaces == "darts":
        if "PENAS_DATA" not in os.environ and not (data_root() / "nb301").is_dir():
            shared = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"
            if shared.is_dir():
                os.environ["PENAS_DATA"] = str(shared)
        run_darts(args)
        return
    root = data_root()
    if not (root / "nb201").is_dir():
        shared = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"
        if shared.is_dir():
            os.environ["PENAS_DATA"] = str(shared)
            root = shared
        else:
            print("benchmark data not found (set PENAS_DATA); nothing to do")
            return
    rows = []
    all_res: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for sp in args.spaces.split(","):
            _, _, zc_desc = zc_setup(sp, root)
            for st in args.strategies.split(","):
                res = [one_run(sp, st, s, root, Path(tmp)) for s in range(args.seeds)]
                all_res[f"{sp}/{st}"] = res
                acc = np.array([r["gt"]["value"] for r in res])
                hit = sum(r["gt"]["reached_optimum"] for r in res)
                full = np.array([r["accounting"]["archs_fully_evaluated"] for r in res])
                epochs = np.array([r["accounting"]["epochs"] for r in res])
                cpu = np.array([r["cpu_total_s"] for r in res])
                rows.append((sp, st, f"{acc.mean():.2f} ± {acc.std():.2f}", f"{acc.min():.2f}",
                             f"{hit}/{len(res)}", f"{full.mean():.0f}", f"{epochs.mean():.0f}", f"{cpu.mean():.2f}",
                             zc_desc if st.startswith("pe-nas") else "fitness = GT lookup"))
                print(f"done {sp} {st}", file=sys.stderr)
    head = ("space", "strategy", "GT acc mean ± sd", "min", "optimum", "archs fully eval.", "epochs", "CPU s/run",
            "zero-cost / fitness source")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    print(f"\nsearch benchmark: {args.seeds} seeds; optimum = {OPTIMUM}")
    for r in [head, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    print("\nPE-NAS: one-shot stage skipped; partial-training stages TABULAR (tabular-final: final GT accuracy "
          "at every epoch, no learning curves in the tables). CPU s/run excludes computing the precomputed "
          "zero-cost scores. random/REA: 500 evaluations, fitness = GT lookup.")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_search.json").write_text(json.dumps({"rows": rows, "header": head}, indent=1))
    (out / "bench_search_runs.json").write_text(json.dumps(all_res, indent=1, default=str))


if __name__ == "__main__":
    main()
