"""The zero-cost fidelity table on real CIFAR-10 batches: every registered proxy, 3 seeds, against
the published references on NB201, and on NB101 / NB301 samples.

    PENAS_DATA=../shared/benchmarks OMP_NUM_THREADS=1 python tools/bench/zc_reproduce.py \\
        [--stages cost,valid,test,nb101,nb301] [--seeds 42,43,44] [--n-test 1000] [--n-other 500] \\
        [--store PATH] [--budget-min M] [--report-only] [--proxies all]

* Protocol ``zero-cost-nas`` of :mod:`penas.estimators.protocols` on ``--data`` (default
  ``cifar10``: the real training set under ``$PENAS_DATA``): per seed, the network is built after
  ``torch.manual_seed(seed)`` and scored on one batch of 64 random training images of that seed
  (crop + flip as the reference loader), train mode, the proxy's BN setting.
* Stages, scored in this order (seeds in order, within a seed the cheap proxies first):
  ``cost`` -- every proxy scored *alone* (its own forward/backward) on ``--cost-archs`` archs of
  the valid sample, ms per arch; ``valid`` -- the 725 NB201 archs of NASLib's sample
  (``nb201/naslib_sample/gt_nasbench201_subset725.csv``, dataset ``cifar10``: ``cifar10-valid``
  validation accuracy); ``test`` -- the first ``--n-test`` archs of the seeded NB201 sample of
  ``zc_frontier.py`` (:func:`_zc.sample_indices`, so the archs are a prefix of its 3,000)
  against ``test_acc`` (``cifar10``, 200 epochs); ``nb101`` / ``nb301`` -- the NASLib 500-arch
  samples (validation accuracy; NB101's 500 keys are 301 distinct cells after isomorphism merging).
* Every score goes through the score store (``cached_scores``, one arch per transaction): a
  rerun (or ``--budget-min``, which stops cleanly between archs) resumes where it stopped;
  ``--report-only`` prints the table from what is stored. Rows say how many archs and seeds
  they cover; a row with ``complete: false`` is partial and marked ``PARTIAL``.
* Statistics: per seed, the criteria of ``zc_frontier.criteria`` (invalid scores ranked last);
  the row value is the mean over the complete seeds; the 95% interval is a percentile bootstrap
  over *archs* (``--boot`` resamples of the archs, the same resample for every seed, statistic =
  mean over seeds), not over seeds.

Prints the table and writes ``tools/bench/results/zc_reproduce.json`` (house format).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from penas.estimators.proxies import get_proxy, list_proxies
from penas.estimators.scoring import cached_scores
from penas.estimators.store import ScoreStore
from penas.estimators.zero_cost import score_module
from penas.spaces import get_space
from penas.spaces.paths import data_root

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402
from _zc import default_store, estimator, sample_indices  # noqa: E402
from zc_frontier import criteria, read_table, worst_to_last  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STAGES = ("cost", "valid", "test", "nb101", "nb301")
#: Abdelfattah et al. ICLR 2021, |Spearman| on NB201 CIFAR-10 (all 15,625 archs, cifar10-valid).
PUBLISHED = {"synflow": 0.737, "jacob_cov": 0.731, "snip": 0.596, "grad_norm": 0.594, "grasp": 0.514, "fisher": 0.360}
#: FreeREA on all 15,625 archs vs test_acc cifar10 (../shared/spec/reproduction_targets.md): rho.
FREEREA_ALL = {"synflow": 0.769, "nwot": 0.785, "params": 0.753}
FREEREA_FILE = {"synflow": "synflow", "nwot": "naswot", "params": "params"}  # our proxy -> FreeREA csv
SLOW_MS = 20_000.0  # proxies above this (alone, per arch) are scored after the others of a seed


# --- the samples ------------------------------------------------------------------------------
def stage_sample(stage: str, root: Path, n_test: int, n_other: int) -> dict:
    """``{"space", "ids", "gt", "gt_source"}`` of one scored stage."""
    if stage == "valid":
        path = root / "nb201" / "naslib_sample" / "gt_nasbench201_subset725.csv"
        if not path.is_file():
            raise SystemExit(f"--stages valid: {path} not found (NASLib's 725-arch NB201 sample)")
        with path.open() as f:
            rows = [r for r in csv.DictReader(f) if r["dataset"] == "cifar10"]
        space = get_space("nb201")
        return {"space": space, "ids": [space.arch_id(r["arch_str"]) for r in rows],
                "gt": np.array([float(r["val_accuracy"]) for r in rows]),
                "gt_source": "NASLib subset725 val_accuracy (cifar10-valid, 200 epochs)"}
    if stage == "test":
        names, acc = read_table(root)
        idx = sample_indices(len(names), n_test)
        space = get_space("nb201")
        return {"space": space, "ids": [space.arch_id(names[i]) for i in idx], "gt": acc[idx], "rows": idx,
                "gt_source": f"nb201_table.csv test_acc_cifar10 (cifar10, 200 epochs), prefix {n_test} of "
                             "zc_frontier's seeded sample"}
    from penas.spaces.benchmarks import open_benchmark

    name = {"nb101": "nb101", "nb301": "darts"}[stage]
    bench = open_benchmark(name)
    acc = np.asarray(bench.column("valid_acc", "cifar10"), dtype=float)
    ok = np.flatnonzero(np.isfinite(acc))
    ok = ok[sample_indices(len(ok), min(n_other, len(ok)))]
    return {"space": get_space(name), "ids": [str(a) for a in np.asarray(bench.arch_ids)[ok]], "gt": acc[ok],
            "gt_source": f"NASLib {name} subset500 valid_acc (cifar10), {len(ok)} distinct archs"}


# --- scoring ----------------------------------------------------------------------------------
def measure_cost(sample: dict, data: str, proxies: list[str], n_archs: int, path: Path, log) -> dict:
    """ms per arch of each proxy scored alone (own build + shared pass), merged into ``path``."""
    cost = json.loads(path.read_text()) if path.is_file() else {}
    space = sample["space"]
    base = estimator(space, 42, data, proxies[0])
    batch = base.batches()[0]
    for p in proxies:
        if cost.get(p, {}).get("n_archs", 0) >= n_archs:
            continue
        times = []
        for a in sample["ids"][:n_archs]:
            t0 = time.perf_counter()
            score_module(base.build(space.parse(a), 42), batch, [p], seed=42)
            times.append(time.perf_counter() - t0)
        cost[p] = {"ms": 1000 * float(np.mean(times)), "n_archs": len(times), "space": space.name,
                   "load_avg": os.getloadavg()[0]}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(cost, indent=1))
        tmp.replace(path)
        log(f"  cost {p}: {cost[p]['ms']:.0f} ms/arch ({len(times)} archs, load {cost[p]['load_avg']:.1f})")
    return cost


def score_stage(stage: str, sample: dict, seeds: list[int], data: str, proxies: list[str], store: ScoreStore,
                cost: dict, deadline: float, log) -> bool:
    """Score what the store lacks; ``False`` when the deadline stopped it."""
    space, ids = sample["space"], sample["ids"]
    fast = [p for p in proxies if cost.get(p, {}).get("ms", 0.0) <= SLOW_MS]
    tiers = [t for t in (fast, [p for p in proxies if p not in fast]) if t]
    for seed in seeds:
        base = estimator(space, seed, data, proxies[0])
        for tier in tiers:
            subs = {p: base.for_proxy(p) for p in tier}
            have = {p: store.get_many(space.name, e.name, e.config_hash, ids) for p, e in subs.items()}
            todo = [a for a in ids if any(a not in have[p] for p in tier)]
            t0, n_done = time.perf_counter(), 0
            for a in todo:
                if time.time() > deadline:
                    log(f"  budget reached in {stage} seed {seed}; rerun to resume")
                    return False
                missing = [p for p in tier if a not in have[p]]  # only what the store lacks
                cached_scores(base.with_proxies(missing), [a], store, shard_size=1)
                n_done += 1
                if n_done % 5 == 0 or n_done == len(todo):
                    dt = time.perf_counter() - t0
                    log(f"  {stage} seed {seed} [{len(tier)} proxies]: {n_done}/{len(todo)} archs, "
                        f"{dt / n_done:.1f} s/arch")
    return True


# --- statistics -------------------------------------------------------------------------------
def rank_rows(m: np.ndarray) -> np.ndarray:
    return stats.rankdata(m, axis=-1)


def boot_spearman(preds: list[np.ndarray], gt: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean over seeds of Spearman on each bootstrap resample ``idx`` (B, n) of the archs."""
    g = rank_rows(gt[idx])
    g = g - g.mean(1, keepdims=True)
    out = np.zeros(len(idx))
    for p in preds:
        r = rank_rows(p[idx])
        r = r - r.mean(1, keepdims=True)
        den = np.sqrt((r * r).sum(1) * (g * g).sum(1))
        out += np.where(den > 0, (r * g).sum(1) / np.where(den > 0, den, 1), np.nan)
    return out / len(preds)


def boot_kendall(preds: list[np.ndarray], gt: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.array([np.mean([stats.kendalltau(p[i], gt[i])[0] for p in preds]) for i in idx])


def ci(v: np.ndarray) -> list[float]:
    v = v[np.isfinite(v)]
    return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v.size else [float("nan")] * 2


def proxy_row(stage: str, sample: dict, seeds: list[int], data: str, proxy: str, store: ScoreStore,
              n_boot: int) -> dict:
    space, ids, gt = sample["space"], sample["ids"], sample["gt"]
    spec = get_proxy(proxy)
    got = {}
    for s in seeds:
        e = estimator(space, s, data, proxy)
        got[s] = store.get_many(space.name, e.name, e.config_hash, ids)
    complete = [s for s in seeds if len(got[s]) == len(ids)]
    if complete:
        use, keep = complete, np.arange(len(ids))
    else:  # partial: the most covered seed, on the archs it has
        best = max(seeds, key=lambda s: len(got[s]))
        use, keep = [best], np.array([i for i, a in enumerate(ids) if a in got[best]], dtype=int)
    row = {"stage": stage, "space": space.name, "proxy": proxy, "n_archs": len(ids), "n_scored": int(keep.size),
           "seeds": seeds, "seeds_complete": complete, "seeds_used": use,
           "complete": len(complete) == len(seeds)}
    if keep.size < 10:
        return row
    sign = 1.0 if spec.higher_is_better else -1.0
    preds = [worst_to_last(sign * np.array([got[s].get(ids[i], np.nan) for i in keep])) for s in use]
    g = gt[keep]
    per_seed = [criteria(p, g) for p in preds]
    for k in ("spearman", "kt", "mkr", "p_top5"):
        row[k] = float(np.mean([c[k] for c in per_seed]))
    row["spearman_per_seed"] = [c["spearman"] for c in per_seed]
    row["n_invalid"] = int(max(c["n_invalid"] for c in per_seed))
    boot = np.random.default_rng(0).integers(0, keep.size, size=(n_boot, keep.size))
    row["spearman_ci"] = ci(boot_spearman(preds, g, boot))
    if stage != "valid":
        row["kt_ci"] = ci(boot_kendall(preds, g, boot))
    if stage == "valid" and proxy in PUBLISHED:
        pub, lo, hi = PUBLISHED[proxy], *row["spearman_ci"]
        a_lo, a_hi = (lo, hi) if row["spearman"] >= 0 else (-hi, -lo)
        row.update(published_abs_spearman=pub, diff=abs(row["spearman"]) - pub,
                   published_in_ci=bool(a_lo <= pub <= a_hi))
    return row


def freerea_rows(root: Path, sample: dict) -> list[dict]:
    """FreeREA's own precomputed scores on the test sample (one score per arch, no seeds)."""
    out = []
    for ours, fname in FREEREA_FILE.items():
        path = root / "nb201" / "freerea" / "cifar10" / f"{fname}.csv"
        if not path.is_file():
            continue
        with path.open() as f:
            rows = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
        s = np.array([float(r[fname]) for r in rows])[sample["rows"]]
        c = criteria(s, sample["gt"])
        out.append({"stage": "test", "space": "nb201", "proxy": f"FreeREA {fname} (precomputed)",
                    "n_archs": len(s), "n_scored": len(s), "complete": True, "reference_all_15625_rho":
                    FREEREA_ALL[ours], **{k: c[k] for k in ("spearman", "kt", "mkr", "p_top5", "n_invalid")}})
    return out


def fmt(v, ci_=None) -> str:
    if not isinstance(v, float) or not np.isfinite(v):
        return "-"
    return f"{v:.3f}" + (f" [{ci_[0]:.3f}, {ci_[1]:.3f}]" if ci_ else "")


def print_table(rows: list[dict], cost: dict, header: str) -> None:
    print(f"\n{header}")
    print("| proxy | coverage | Spearman [95% CI] | KT [95% CI] | MKR | P@5% | reference | diff | in CI | ms/arch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cov = f"{r['n_scored']}/{r['n_archs']} archs"
        if "seeds" in r:
            cov += f", {len(r['seeds_complete'])}/{len(r['seeds'])} seeds" + ("" if r["complete"] else " PARTIAL")
        pub = r.get("published_abs_spearman", r.get("reference_all_15625_rho"))
        c = cost.get(r["proxy"], {})
        ms = c.get("ms") if c.get("space") == r["space"] else None  # measured on NB201 only
        print(f"| {r['proxy']} | {cov} | {fmt(r.get('spearman'), r.get('spearman_ci'))} | "
              f"{fmt(r.get('kt'), r.get('kt_ci'))} | {fmt(r.get('mkr'))} | {fmt(r.get('p_top5'))} | "
              f"{fmt(pub)} | {fmt(r.get('diff'))} | {'yes' if r.get('published_in_ci') else ('no' if 'published_in_ci' in r else '-')} | "
              f"{f'{ms:.0f}' if ms else '-'} |")


# --- main -------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, from {','.join(STAGES)}")
    ap.add_argument("--seeds", default="42,43,44", help="protocol seeds (init + batch)")
    ap.add_argument("--proxies", default="all", help="comma-separated proxy names, or 'all' (the registry)")
    ap.add_argument("--data", default="cifar10", help="data spec of the batches (default: real CIFAR-10)")
    ap.add_argument("--n-test", type=int, default=1000, help="archs of the test_acc sample (>= 1000)")
    ap.add_argument("--n-other", type=int, default=500, help="archs of the NB101/NB301 samples")
    ap.add_argument("--max-archs", type=int, default=None,
                    help="smoke runs: only the first N archs of every sample (recorded in the summary)")
    ap.add_argument("--cost-archs", type=int, default=2, help="archs per proxy of the cost stage")
    ap.add_argument("--store", default=None, help=f"score store (default {default_store()})")
    ap.add_argument("--budget-min", type=float, default=None, help="stop cleanly after M minutes of scoring")
    ap.add_argument("--report-only", action="store_true", help="no scoring: the table of what is stored")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of the archs")
    ap.add_argument("--out", default=str(REPO / "tools" / "bench" / "results" / "zc_reproduce.json"))
    a = ap.parse_args(argv)
    a.stages = [s for s in a.stages.split(",") if s]
    bad = [s for s in a.stages if s not in STAGES]
    if bad:
        ap.error(f"--stages: expected names from {', '.join(STAGES)}, got {', '.join(bad)}")
    try:
        a.seeds = [int(s) for s in a.seeds.split(",") if s]
    except ValueError:
        ap.error(f"--seeds: expected comma-separated integers, got {a.seeds!r}")
    if not a.seeds:
        ap.error("--seeds: expected at least one seed")
    a.proxies = list_proxies() if a.proxies == "all" else [p for p in a.proxies.split(",") if p]
    for p in a.proxies:
        try:
            get_proxy(p)
        except KeyError as e:
            ap.error(f"--proxies: {e.args[0]}")
    if a.n_test < 2 or a.n_other < 2 or a.cost_archs < 1 or a.boot < 10:
        ap.error("--n-test/--n-other: expected >= 2, --cost-archs >= 1, --boot >= 10")
    if a.budget_min is not None and a.budget_min <= 0:
        ap.error(f"--budget-min: expected a positive number of minutes, got {a.budget_min}")
    return a


def main(argv: list[str] | None = None) -> dict:
    a = parse_args(argv)
    root = data_root()
    store_path = Path(a.store).expanduser() if a.store else default_store()
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = ScoreStore(store_path)
    cost_path = store_path.with_name(store_path.name + ".cost.json")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    try:
        src = estimator(get_space("nb201"), a.seeds[0], a.data, a.proxies[0]).batches()[0]
    except ValueError as e:
        raise SystemExit(f"--data: {e}") from None
    if src.synthetic:
        log("data: SYNTHETIC batches (no real CIFAR-10 found)")
    log(f"{len(a.proxies)} proxies, seeds {a.seeds}, data {src.source}, store {store_path}")
    samples = {s: stage_sample(s, root, a.n_test, a.n_other) for s in a.stages if s != "cost"}
    if a.max_archs:
        for smp in samples.values():
            for k in ("ids", "gt", "rows"):
                if k in smp:
                    smp[k] = smp[k][: a.max_archs]
    deadline = time.time() + (a.budget_min * 60 if a.budget_min else float("inf"))
    finished = True
    if not a.report_only:
        for stage in a.stages:
            if stage == "cost":
                measure_cost(samples.get("valid") or stage_sample("valid", root, a.n_test, a.n_other), a.data,
                             a.proxies, a.cost_archs, cost_path, log)
                continue
            if not score_stage(stage, samples[stage], a.seeds, a.data, a.proxies, store,
                               json.loads(cost_path.read_text()) if cost_path.is_file() else {}, deadline, log):
                finished = False
                break
    cost = json.loads(cost_path.read_text()) if cost_path.is_file() else {}

    rows: list[dict] = []
    for stage, sample in samples.items():
        st_rows = [proxy_row(stage, sample, a.seeds, a.data, p, store, a.boot) for p in a.proxies]
        if stage == "test":
            st_rows += freerea_rows(root, sample)
        for r in st_rows:
            r["gt"] = sample["gt_source"]
            c = cost.get(r["proxy"], {})
            r["cost_ms"] = c.get("ms") if c.get("space") == r["space"] else None
        print_table(st_rows, cost, f"{stage}: {sample['space'].name}, {len(sample['ids'])} archs, GT {sample['gt_source']}")
        rows += st_rows

    def by(stage: str, key: str) -> dict:
        return {r["proxy"]: r.get(key) for r in rows if r["stage"] == stage and "seeds" in r}

    coverage = {st: {"n_archs": len(samples[st]["ids"]),
                     "proxies_complete": sum(r["complete"] for r in rows if r["stage"] == st and "seeds" in r),
                     "proxies": len(a.proxies),
                     "arch_seed_scores": int(sum(r["n_scored"] * max(1, len(r["seeds_complete"]))
                                                 for r in rows if r["stage"] == st and "seeds" in r))}
                for st in samples}
    summary = {
        "spearman_valid": by("valid", "spearman"), "kt_test": by("test", "kt"),
        "n_archs_test": len(samples["test"]["ids"]) if "test" in samples else 0,
        "n_scored_valid": by("valid", "n_scored"), "n_scored_test": by("test", "n_scored"),
        "data_source": src.source, "protocol": "zero-cost-nas", "seeds": a.seeds, "proxies": a.proxies,
        "coverage": coverage, "max_archs": a.max_archs, "complete": all(r.get("complete", True) for r in rows), "run_finished": finished,
        "interval": f"95% percentile bootstrap over archs ({a.boot} resamples), statistic = mean over seeds",
        "cost_ms": {p: c["ms"] for p, c in cost.items()}, "cost_note": "each proxy alone (own build and "
        "forward/backward) on the first archs of the valid sample, OMP_NUM_THREADS=1, on a shared CPU",
    }
    out = write_result(a.out, rows, summary, store=store_path.name)
    log(f"wrote {out}" + ("" if summary["complete"] else " (PARTIAL: rerun without --report-only to resume)"))
    return summary


if __name__ == "__main__":
    main()
