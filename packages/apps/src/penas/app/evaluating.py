"""``penas-app evaluate``: scores of estimators over a set of archs against ground truth.

Scores come, per estimator, from a precomputed score file (``--score-file NAME=PATH``, e.g. the
FreeREA CSVs via ``penas.spaces.benchmarks.load_score_file``), from a score store only
(``--from-store DB``, nothing recomputed; missing archs are invalid and ranked last), or are
computed (and kept in ``--store DB`` when given).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from penas.estimators.simple import OracleEstimator
from penas.spaces.candidates import select_candidates

from . import checks
from .configs import EvaluateConfig, parse_pairs, takes_zero_cost_options, zc_cfg


def select_archs(space: Any, spec: str, seed: int, gt: OracleEstimator | None = None) -> list[str]:
    """``--archs`` (``all | benchmark | sample:N | deiso | FILE``) through the one candidate selector."""
    gt = gt if gt is not None else OracleEstimator(space, metric="auto")
    return select_candidates(space, spec, seed, gt.bench, option="--archs", bench_reason=gt.reason).ids


def scores_for(cfg: EvaluateConfig, space: Any, name: str, ids: list[str], files: dict[str, str],
               store: Any, from_store: Any, executor: Any = None) -> tuple[np.ndarray, str]:
    """Oriented scores (higher is better) aligned with ``ids`` and where they came from."""
    if name in files:
        from . import checks

        have = checks.load_scores(files[name], space.name, "--score-file", name=name)
        m = {space.arch_id(a): v for a, v in have.items()}
        return np.array([m.get(a, math.nan) for a in ids]), f"file {files[name]}"
    from penas.estimators.scoring import cached_scores

    est = estimator_for(cfg, space, name)
    if from_store is not None:
        col = cached_scores(est, ids, from_store, compute=False).one()
        return col.oriented(), f"store {from_store.path} ({col.n_cached} of {len(dict.fromkeys(ids))} stored)"
    col = cached_scores(est, ids, store, executor).one()
    return col.oriented(), f"computed ({col.n_computed} new)"


def estimator_for(cfg: EvaluateConfig, space: Any, name: str) -> Any:
    """The estimator ``name`` as ``cfg`` configures it (its ``config_hash`` is the store key)."""
    from penas.estimators import get_estimator

    opts: dict[str, Any] = {}
    if takes_zero_cost_options(name):
        opts = {**zc_cfg(cfg.zc_protocol, cfg.zc_batch_size, cfg.zc_data), "seed": cfg.zc_seed,
                "n_batches": cfg.zc_batches}
    if name == "oracle":
        g = OracleEstimator(space, dataset=cfg.gt_dataset, metric=cfg.gt_metric)
        opts = {"metric": g.metric, "dataset": g.dataset}
    return get_estimator(name, space, **{k: v for k, v in opts.items() if v is not None})


def run_evaluate(cfg: EvaluateConfig) -> dict[str, Any]:
    from penas.estimators.store import ScoreStore
    from penas.metrics import criteria_report
    from penas.spaces import get_space

    checks.check_space(cfg.space)
    if not cfg.estimators:
        raise ValueError("--estimators: expected at least one estimator name")
    files = parse_pairs(cfg.score_file, "--score-file")
    space = get_space(cfg.space)
    gt = OracleEstimator(space, dataset=cfg.gt_dataset, metric=cfg.gt_metric)
    ids = select_archs(space, cfg.archs, cfg.seed, gt)
    gtv = gt.values(ids) if gt.available else np.full(len(ids), math.nan)
    store = ScoreStore(cfg.store) if cfg.store else None
    if cfg.from_store and not Path(cfg.from_store).is_file():
        raise ValueError(f"--from-store: no score store at {cfg.from_store}")
    from_store = ScoreStore(cfg.from_store, readonly=True) if cfg.from_store else None
    table: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    from .study.config import make_executor

    executor = make_executor(cfg.executor, "--executor")
    try:
        for name in cfg.estimators:
            table[name], sources[name] = scores_for(cfg, space, name, ids, files, store, from_store, executor)
    finally:
        if hasattr(executor, "close"):
            executor.close()
    ok = np.isfinite(gtv)
    reports: dict[str, Any] = {}
    for name, s in table.items():
        if ok.sum() >= 2:
            reports[name] = criteria_report(s[ok], gtv[ok], invalid="last")
    res = {
        "space": space.name, "n_archs": len(ids), "n_with_gt": int(ok.sum()),
        "gt": {"metric": gt.metric, "dataset": gt.dataset} if gt.available else None,
        "gt_unavailable": None if gt.available else (gt.reason or "no ground truth"),
        "sources": sources, "reports": {k: v.to_dict() for k, v in reports.items()},
    }
    out = Path(cfg.out or f"eval-{cfg.space}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({**res, "config": cfg.to_dict()}, indent=1, allow_nan=False,
                                                default=str))
    with (out / "scores.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch_id", "gt", *table])
        for i, a in enumerate(ids):
            w.writerow([a, _fmt(gtv[i]), *(_fmt(table[n][i]) for n in table)])
    res["out"] = str(out)
    if cfg.plots and reports:
        res["plots"] = rank_scatter(out, ids, gtv, table)
    return res


def _fmt(v: float) -> str:
    return "" if not math.isfinite(v) else repr(float(v))


def rank_scatter(out: Path, ids: list[str], gtv: np.ndarray, table: dict[str, np.ndarray]) -> list[str]:
    """One PNG per estimator: predicted vs true rank (:func:`penas.app.plots.plot_rank_scatter`)."""
    from .plots import plot_rank_scatter

    return [plot_rank_scatter(out / f"rank_scatter_{name}.png", name, gtv, s) for name, s in table.items()]
