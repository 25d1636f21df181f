"""The study report: everything computed from the score store and the ground truth.

* **criteria per estimator** -- :func:`penas.metrics.criteria_report` (the aw_nas list: one-shot
  average, Pearson, Kendall's tau-b, Spearman, P@top/bottom K, BR/WR@K as a fraction of N,
  KT@top/bottom K; plus weighted tau, MKR, MKR@K) for every replicate, then mean and std over the
  replicates. Replicates are the zero-shot init seeds; a one-shot estimator is one per checkpoint
  (one training seed, std 0). Scores are oriented so that higher is better (estimators whose
  ``higher_is_better`` is False are negated; one-shot ``loss`` is stored negated); invalid scores
  rank last (``n_invalid``); archs without ground truth are left out. The std is the population
  std (``ddof=0``); replicates where a criterion is undefined (NaN) are left out of its mean/std.
* **criteria vs checkpoint epoch** -- the one-shot criteria of every checkpoint (table + PNG).
* **per-batch variance of one-shot scores** -- per checkpoint, from the per-batch scores kept in
  the store: ``mean_batch_std`` = mean over archs of the std (``ddof=0``) of the arch's per-batch
  scores; ``kt_between_batches`` = mean Kendall's tau-b between the arch rankings of two batches
  (over all batch pairs); ``kt_batch_vs_mean`` = mean tau-b of one batch's ranking vs the ranking by
  the mean score; ``kt_batch_vs_gt`` = mean tau-b of one batch's ranking vs the ground truth.

Files: ``report.json`` (machine), ``scores.csv`` (one row per arch: id, GT, every stored score),
``report.md`` (people; also printed as rich tables) and ``criteria_vs_epoch.png`` (matplotlib,
the ``analysis`` extra).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .config import StudyConfig
from .result import StoreKey, StudyResult

STD_NOTE = "population std (ddof=0) over replicates; NaN replicates left out"
SUMMARY = ("kendall_tau", "spearman", "pearson", "weighted_tau", "mkr")


def flatten_criteria(rep: Any) -> dict[str, float]:
    """A :class:`~penas.metrics.CriteriaReport` as ``{criterion: value}`` (the at-K rows by ratio or K)."""
    out = {"kendall_tau": rep.kendall_tau, "spearman": rep.spearman, "pearson": rep.pearson,
           "weighted_tau": rep.weighted_tau, "mkr": rep.mkr, "mkr_any": rep.mkr_any,
           "one_shot_average": rep.one_shot_average}
    for r in rep.at_k:
        tag = f"{r.ratio:g}" if r.ratio is not None else f"k={r.k}"
        out[f"P@top[{tag}]"] = r.precision_top
        out[f"P@bottom[{tag}]"] = r.precision_bottom
        out[f"BR@K[{tag}]"] = r.best_rank_fraction
        out[f"WR@K[{tag}]"] = r.worst_rank_fraction
        out[f"KT@top[{tag}]"] = r.kendall_tau_top
        out[f"KT@bottom[{tag}]"] = r.kendall_tau_bottom
        out[f"MKR@K[{tag}]"] = r.mkr_topk
    return {k: float(v) for k, v in out.items()}


def criteria_of(values: np.ndarray, gt: np.ndarray, higher_is_better: bool, ratios: list[float], ks: list[int]
                ) -> tuple[dict[str, float], int, int]:
    """``(criteria, n, n_invalid)`` of raw stored ``values`` vs ``gt`` (NaN GT left out);
    ``higher_is_better`` is the estimator's declared direction."""
    from penas.metrics import criteria_report

    keep = np.isfinite(gt)
    v = values[keep] if higher_is_better else -values[keep]
    g = gt[keep]
    rep = criteria_report(v, g, ratios=tuple(float(r) for r in ratios), ks=tuple(k for k in ks if k <= g.size),
                          invalid="last")
    return flatten_criteria(rep), rep.n, rep.n_invalid


def mean_std(values: list[float]) -> dict[str, Any]:
    finite = [v for v in values if math.isfinite(v)]
    return {"mean": float(np.mean(finite)) if finite else math.nan,
            "std": float(np.std(finite)) if finite else math.nan,
            "values": values, "n_finite": len(finite)}


def per_batch_stats(per: np.ndarray, gt: np.ndarray | None = None) -> dict[str, float]:
    """Variance statistics of an (archs x batches) matrix of per-batch scores (see module docs)."""
    from scipy.stats import kendalltau

    def kt(a: np.ndarray, b: np.ndarray) -> float:
        return float(kendalltau(a, b)[0]) if np.ptp(a) > 0 and np.ptp(b) > 0 else math.nan

    n_b = per.shape[1]
    mean = per.mean(axis=1)
    pairs = [kt(per[:, i], per[:, j]) for i in range(n_b) for j in range(i + 1, n_b)]
    vs_mean = [kt(per[:, i], mean) for i in range(n_b)]
    out = {"n_archs": int(per.shape[0]), "n_batches": int(n_b), "mean_batch_std": float(per.std(axis=1).mean()),
           "kt_between_batches": float(np.nanmean(pairs)) if pairs and np.isfinite(pairs).any() else math.nan,
           "kt_batch_vs_mean": float(np.nanmean(vs_mean)) if np.isfinite(vs_mean).any() else math.nan}
    if gt is not None:
        vs_gt = [kt(per[:, i], gt) for i in range(n_b)]
        out["kt_batch_vs_gt"] = float(np.nanmean(vs_gt)) if np.isfinite(vs_gt).any() else math.nan
    return out


def _key_dict(k: StoreKey) -> dict[str, Any]:
    return {f: getattr(k, f) for f in ("family", "label", "estimator", "config_hash", "seed", "n_batches",
                                       "checkpoint", "epoch", "step")} | {"column": k.column}


def build_report(cfg: StudyConfig, res: StudyResult) -> dict[str, Any]:
    from penas.estimators.simple import OracleEstimator
    from penas.estimators.store import ScoreStore
    from penas.spaces import get_space

    space = get_space(cfg.space)
    gt_src = OracleEstimator(space, dataset=cfg.gt.dataset, metric=cfg.gt.metric)
    if not gt_src.available:
        raise ValueError(f"study.yaml: gt: no ground truth for {space.name!r} ({gt_src.reason or 'no table'})")
    ids = res.ids
    gt = np.asarray(gt_src.values(ids), dtype=np.float64)
    store = ScoreStore(cfg.store_path)
    raw: dict[StoreKey, np.ndarray] = {}
    rows_of: dict[StoreKey, list[Any]] = {}
    for k in res.keys:
        rows = store.rows(space.name, k.estimator, k.config_hash, ids)
        rows_of[k] = rows
        got = {r.arch_id: r.value for r in rows}
        raw[k] = np.array([got.get(a, math.nan) for a in ids], dtype=np.float64)
    ratios, ks = list(cfg.criteria.ratios), list(cfg.criteria.ks)

    groups: dict[str, list[StoreKey]] = {}
    for k in res.keys:
        groups.setdefault(k.label if k.family == "zero_shot" else k.column, []).append(k)
    estimators: dict[str, Any] = {}
    for label, keys in groups.items():
        per_rep = [criteria_of(raw[k], gt, k.higher_is_better, ratios, ks) for k in keys]
        names = list(per_rep[0][0])
        estimators[label] = {
            "family": keys[0].family,
            "replicates": "seed" if keys[0].family == "zero_shot" else "checkpoint (one training seed)",
            "seeds": [k.seed for k in keys] if keys[0].family == "zero_shot" else [],
            "epoch": keys[0].epoch, "n": per_rep[0][1], "n_invalid": [r[2] for r in per_rep],
            "keys": [_key_dict(k) for k in keys],
            "criteria": {c: mean_std([r[0][c] for r in per_rep]) for c in names},
        }
    epochs = []
    per_batch = []
    for k in (k for k in res.keys if k.family == "one_shot"):
        e = estimators[k.column]
        epochs.append({"epoch": k.epoch, "step": k.step, "checkpoint": k.checkpoint, "config_hash": k.config_hash,
                       "criteria": {c: v["mean"] for c, v in e["criteria"].items()}})
        if cfg.one_shot.per_batch:
            pb = {r.arch_id: r.provenance.get("per_batch") for r in rows_of[k]}
            sel = [i for i, a in enumerate(ids) if pb.get(a) and np.all(np.isfinite(pb[a]))]
            if sel:
                width = min(len(pb[ids[i]]) for i in sel)
                mat = np.array([pb[ids[i]][:width] for i in sel], dtype=np.float64)
                g = gt[sel]
                stats = per_batch_stats(mat[np.isfinite(g)], g[np.isfinite(g)])
                per_batch.append({"epoch": k.epoch, "checkpoint": k.checkpoint, **stats})
    epochs.sort(key=lambda r: r["epoch"])
    per_batch.sort(key=lambda r: r["epoch"])
    return {
        "space": space.name,
        "gt": {"metric": gt_src.metric, "dataset": gt_src.dataset},
        "n_archs": len(ids), "n_with_gt": int(np.isfinite(gt).sum()),
        "store": cfg.store_path,
        "config": cfg.to_dict(),
        "grid": {**res.to_dict()},
        "criteria_options": {"ratios": ratios, "ks": ks, "orientation": "higher is better",
                             "invalid": "ranked last", "std": STD_NOTE},
        "estimators": estimators,
        "checkpoints": epochs,
        "per_batch": per_batch,
        "files": {},
        "_ids": ids, "_gt": gt, "_raw": {k.column: raw[k] for keys in groups.values() for k in keys},  # CSV columns, by estimator
    }


# --- outputs ----------------------------------------------------------------------------------
def _f(v: Any, d: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "nan"
    if isinstance(v, float):
        return f"{v:.{d}e}" if v != 0 and not 1e-3 <= abs(v) < 1e5 else f"{v:.{d}f}"
    return str(v)


def _pm(c: dict[str, Any]) -> str:
    """``mean ± std`` (the mean alone for a single replicate)."""
    m = _f(c["mean"])
    if len(c["values"]) == 1:
        return m
    sci = "e" in m and m != "nan"  # the std in the mean's style (fixed: 4 decimals, no 1e-17 noise)
    return f"{m} ± {_f(c['std']) if sci or m == 'nan' else format(c['std'], '.4f')}"


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.floating | np.integer):
        return _json_safe(x.item())
    return x


def tables(report: dict[str, Any]) -> dict[str, tuple[str, list[str], list[list[str]]]]:
    """The report as ``{name: (title, header, rows)}`` (Markdown and rich)."""
    est = report["estimators"]
    ratios = report["criteria_options"]["ratios"]
    names = list(next(iter(est.values()))["criteria"]) if est else []
    at_k = [c for c in names if c.startswith(("P@top", "BR@K"))]
    head_ratio = [c for c in at_k if c.endswith(f"[{ratios[len(ratios) // 2]:g}]")] if ratios else []
    cols = [*SUMMARY, *head_ratio]
    summary = ["estimator", "replicates", "n", "n_invalid", *cols]
    srows = [[lab, str(max(1, len(e["seeds"]))), str(e["n"]), "/".join(map(str, e["n_invalid"])),
              *(_pm(e["criteria"][c]) for c in cols)] for lab, e in est.items()]
    full = (["criterion", *est], [[c, *(_pm(e["criteria"][c]) for e in est.values())] for c in names])
    out = {"summary": ("Criteria per estimator (mean ± std over seeds)", summary, srows),
           "full": ("All criteria (mean ± std over seeds)", *full)}
    if report["checkpoints"]:
        ecols = ["kendall_tau", "spearman", "mkr", *head_ratio, "one_shot_average"]
        out["epochs"] = ("One-shot criteria vs checkpoint epoch", ["epoch", "step", *ecols],
                         [[str(r["epoch"]), str(r["step"]), *(_f(r["criteria"][c]) for c in ecols)]
                          for r in report["checkpoints"]])
    if report["per_batch"]:
        pcols = ["n_archs", "n_batches", "mean_batch_std", "kt_between_batches", "kt_batch_vs_mean", "kt_batch_vs_gt"]
        out["per_batch"] = ("Per-batch variance of one-shot scores", ["epoch", *pcols],
                            [[str(r["epoch"]), *(_f(r.get(c)) for c in pcols)] for r in report["per_batch"]])
    return out


def markdown(report: dict[str, Any]) -> str:
    g = report["grid"]
    lines = [f"# Estimator study: {report['space']} ({report['n_archs']} archs, ground truth "
             f"{report['gt']['metric']} on {report['gt']['dataset']}, {report['n_with_gt']} with GT)", "",
             "Computed by this run: " + ", ".join(f"{k} {v}" for k, v in g["computed"].items())
             + "; data: " + ", ".join(f"{k} {v}" for k, v in g["sources"].items()) + ".", ""]
    if g.get("torchrun"):
        lines += ["Multi-GPU supernet training (run before the study; it then finds the checkpoints):", "",
                  f"    {g['torchrun']}", ""]
    for title, head, rows in tables(report).values():
        lines += [f"## {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    lines += [f"Criteria: higher is better; invalid scores ranked last; std: {report['criteria_options']['std']}. "
              "BR@K/WR@K are fractions of N. Per-batch columns: see penas.app.study.report.", ""]
    return "\n".join(lines)


def write_csv(report: dict[str, Any], path: Path) -> None:
    ids, gt, raw = report["_ids"], report["_gt"], report["_raw"]
    cols = list(raw)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch_id", "gt", *cols])
        for i, a in enumerate(ids):
            w.writerow([a, "" if not math.isfinite(gt[i]) else repr(float(gt[i])),
                        *("" if not math.isfinite(raw[c][i]) else repr(float(raw[c][i])) for c in cols)])


def plot_epochs(report: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["checkpoints"]
    ep = [r["epoch"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for c, name in (("kendall_tau", "Kendall tau"), ("spearman", "Spearman"), ("mkr", "MKR")):
        ax.plot(ep, [r["criteria"][c] for r in rows], marker="o", label=f"one-shot {name}")
    zs = [(lab, e) for lab, e in report["estimators"].items() if e["family"] == "zero_shot"]
    for j, (lab, e) in enumerate(zs):
        ax.axhline(e["criteria"]["kendall_tau"]["mean"], ls="--", lw=0.8, color=f"C{3 + j}",
                   label=f"{lab} Kendall tau (mean over seeds)")
    ax.set_xticks(ep)
    ax.set_xlabel("checkpoint epoch")
    ax.set_ylabel("criterion")
    # outside the axes, so it never covers a point or a bar
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], out: Path, plots: bool = True) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    files = report["files"]
    write_csv(report, out / "scores.csv")
    files["csv"] = str(out / "scores.csv")
    if plots and report["checkpoints"]:
        try:
            files["plot"] = str(plot_epochs(report, out / "criteria_vs_epoch.png"))
        except ImportError:
            files["plot_skipped"] = "matplotlib is not installed: pip install 'penas-app[analysis]'"
    files["markdown"] = str(out / "report.md")
    files["json"] = str(out / "report.json")
    (out / "report.md").write_text(markdown(report))
    (out / "report.json").write_text(json.dumps(_json_safe(report), indent=1, allow_nan=False))
    return report
