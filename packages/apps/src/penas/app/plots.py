"""The PE-NAS figure (``kdt_vs_mkr.png``): per estimator, Kendall's tau and 1 - MKR against the
ground-truth accuracy that a search driven by that estimator reaches.

Input: an ``penas-app evaluate`` output directory (``scores.csv`` + ``report.json``).
Deviation from [PE] ``kdt_vs_mkr.py`` (Differential Evolution over the whole space, 1000 steps, 5
runs): the search here is random sampling of ``search_budget`` archs from the evaluated set, the
best by the estimator kept, averaged over ``search_runs`` seeded runs; it needs no optimiser library
and works on any evaluated subset.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np


def load_scores(results_dir: Path) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    p = results_dir / "scores.csv"
    if not p.is_file():
        raise ValueError(f"results_dir: {results_dir} has no scores.csv (run penas-app evaluate --out DIR first)")
    try:
        with p.open(encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error):
        raise ValueError(f"results_dir: {p} is not a text CSV (a penas-app evaluate scores.csv)") from None
    if not rows:
        raise ValueError(f"results_dir: {p} is empty")
    head, body = rows[0], rows[1:]
    if head[:2] != ["arch_id", "gt"] or len(head) < 3:
        raise ValueError(f"results_dir: {p} is not a penas-app evaluate scores.csv")

    def num(x: str) -> float:
        return float(x) if x else float("nan")

    ids = [r[0] for r in body]
    gt = np.array([num(r[1]) for r in body])
    table = {h: np.array([num(r[j]) for r in body]) for j, h in enumerate(head) if j >= 2}
    return ids, gt, table


def kdt_vs_mkr(results_dir: str, search_budget: int = 1000, search_runs: int = 5, seed: int = 0) -> dict[str, Any]:
    from penas.metrics import kendall_tau, mkr

    rd = Path(results_dir)
    ids, gt, table = load_scores(rd)
    ok = np.isfinite(gt)
    if ok.sum() < 2:
        raise ValueError(f"results_dir: {rd} has fewer than 2 archs with ground truth")
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    n = int(ok.sum())
    g = gt[ok]
    if search_budget >= n:
        import warnings

        warnings.warn(f"--search-budget {search_budget} >= the {n} evaluated archs with ground truth: every "
                      "search sees all of them, so the search accuracy is the estimator's top-1 pick; evaluate "
                      "more archs or lower the budget", stacklevel=2)
    for name, s in table.items():
        p = np.where(np.isfinite(s[ok]), s[ok], -np.inf)
        reached = []
        for _ in range(search_runs):
            pick = rng.choice(n, size=min(search_budget, n), replace=False)
            reached.append(float(g[pick[np.argmax(p[pick])]]))
        pf = np.where(np.isfinite(p), p, np.nanmin(p[np.isfinite(p)]) - 1 if np.isfinite(p).any() else 0.0)
        out[name] = {"kendall_tau": float(kendall_tau(pf, g)), "one_minus_mkr": 1.0 - float(mkr(pf, g)),
                     "search_accuracy": float(np.mean(reached))}
    return out


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("plot: needs matplotlib: pip install 'penas-app[analysis]'") from None
    return plt


def plot_kdt_vs_mkr(data: dict[str, Any], path: str, search_budget: int | None = None,
                    n_archs: int | None = None) -> str:
    """Search accuracy against Kendall's tau (left axis) and against MKR (right axis), one point
    per estimator, labelled; a least-squares line per panel when the x values vary."""
    plt = _pyplot()
    names = list(data)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True)
    panels = ((axes[0], "kendall_tau", "Kendall's tau (higher = better ranking)", lambda v: v),
              (axes[1], "one_minus_mkr", "MKR (lower = better)", lambda v: 1.0 - v))
    ys = np.array([data[k]["search_accuracy"] for k in names])
    for ax, key, label, tf in panels:
        xs = np.array([tf(data[k][key]) for k in names])
        ax.scatter(xs, ys, s=28, zorder=3)
        for i, name in enumerate(names):  # alternate label sides so neighbours do not collide
            ax.annotate(name, (xs[i], ys[i]), xytext=(5, 5 if i % 2 == 0 else -11), textcoords="offset points",
                        fontsize=8)
        if len(xs) >= 2 and np.ptp(xs) > 0:
            a, b = np.polyfit(xs, ys, 1)
            grid = np.linspace(xs.min(), xs.max(), 20)
            ax.plot(grid, a * grid + b, lw=1, color="0.5", zorder=2)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
        ax.margins(x=0.15, y=0.12)
    axes[0].set_ylabel("GT accuracy reached by the search")
    title = "search accuracy vs ranking quality"
    if search_budget is not None and n_archs is not None:
        title += f"  (budget {search_budget} of N = {n_archs} archs"
        title += ": budget >= N, every run sees all archs)" if search_budget >= n_archs else ")"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_rank_scatter(path: str | Path, name: str, gt: np.ndarray, score: np.ndarray) -> str:
    """Predicted rank against true rank, rank 1 = best on both axes (the criteria's convention:
    higher GT and higher oriented score are better; invalid scores rank last), annotated with N,
    Kendall's tau and Spearman's rho. The annotation sits outside the data area."""
    from scipy.stats import rankdata

    from penas.metrics import kendall_tau, spearman

    plt = _pyplot()
    ok = np.isfinite(gt)
    g = gt[ok]
    s = np.where(np.isfinite(score[ok]), score[ok], -np.inf)
    true_rank = rankdata(-g, method="average")
    pred_rank = rankdata(-s, method="average")
    n = int(ok.sum())
    sf = np.where(np.isfinite(s), s, (np.min(s[np.isfinite(s)]) - 1) if np.isfinite(s).any() else 0.0)
    tau, rho = float(kendall_tau(sf, g)), float(spearman(sf, g))
    fig, ax = plt.subplots(figsize=(4.6, 4.8))
    ax.scatter(true_rank, pred_rank, s=6 if n > 500 else 14, alpha=0.5 if n > 500 else 0.8, lw=0)
    ax.plot([1, n], [1, n], lw=0.8, color="0.6", ls="--")
    ax.set_xlabel("true rank (1 = best)")
    ax.set_ylabel(f"{name} rank (1 = best)")
    ax.set_xlim(0, n + 1)
    ax.set_ylim(0, n + 1)
    ax.set_title(f"{name}\nN = {n}   Kendall's tau = {tau:+.3f}   Spearman = {rho:+.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
