"""``penas-app analyze bias``: how estimator scores are biased (after Ning et al., aw_nas).

For every score set (a ``--score-file NAME=PATH`` or an ``(estimator, config)`` of a store):

* **criteria** -- Kendall's tau, Spearman and MKR of the score vs the ground truth;
* **complexity bias** -- Spearman / Kendall's tau of the score with parameter count and FLOPs
  (the ground truth's own correlations are reported as the ``ground truth`` row);
* **operation-level bias** (spaces whose archs are one op per edge, with ``space.ops`` and
  ``space.edges``, e.g. nb201) -- per op type, and per (edge, op), the mean predicted rank vs the
  mean true rank of the archs that contain it. Ranks are percentiles in (0, 1], higher = better;
  invalid scores rank last;
* **post de-isomorphism** -- the criteria over all archs ("iso") vs over isomorphism classes
  (``space.canonical``) with score and ground truth averaged within each class ("deiso").

Writes ``bias.json``, ``criteria.csv``, ``complexity.csv``, ``ops.csv``, ``ops_edges.csv``,
``deiso.csv``, ``bias.md`` and (``--plots``) ``complexity.png`` / ``ops.png``.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

GT_ROW = "ground truth"


@dataclass
class BiasConfig:
    """``penas-app analyze bias``."""

    space: str = "nb201"
    store: str | None = None  # every (estimator, config) stored for the space
    score_file: list[str] = field(default_factory=list)  # NAME=PATH
    estimators: list[str] = field(default_factory=list)  # restrict --store to these names
    out: str = ""
    gt_metric: str = "auto"
    gt_dataset: str | None = None
    min_archs: int = 3
    plots: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScoreSet:
    label: str
    ids: list[str]
    values: np.ndarray  # oriented: higher = better; NaN = invalid
    source: str


def _orient(name: str, v: np.ndarray) -> np.ndarray:
    """``v`` turned so that higher is better, by the direction estimator ``name`` declares."""
    from penas.estimators import higher_is_better

    return v if higher_is_better(name) else -v


def load_score_sets(cfg: BiasConfig, space: Any) -> list[ScoreSet]:
    from .. import checks
    from ..configs import parse_pairs

    out: list[ScoreSet] = []
    for name, path in parse_pairs(cfg.score_file, "--score-file").items():
        have = checks.load_scores(path, space.name, "--score-file", name=name)
        ids = [space.arch_id(a) for a in have]
        vals = np.fromiter(have.values(), dtype=np.float64, count=len(have))
        out.append(ScoreSet(name, ids, _orient(name, vals), f"file {path}"))
    if cfg.store is not None:
        if not Path(cfg.store).is_file():
            raise ValueError(f"--store: no score store at {cfg.store!r}")
        from penas.estimators.store import ScoreStore

        store = ScoreStore(cfg.store, readonly=True)
        keys = store.keys(space.name)
        if cfg.estimators:
            keys = [k for k in keys if k[0] in cfg.estimators]
        for est, chash in keys:
            rows = store.rows(space.name, est, chash)
            seed = rows[0].provenance.get("seed") if rows else None
            label = f"{est}[{chash[:8]}]" + (f" seed={seed}" if seed is not None else "")
            vals = np.array([r.value for r in rows], dtype=np.float64)
            for r in rows[:1]:
                try:
                    space.parse(r.arch_id)
                except (ValueError, KeyError, IndexError, TypeError):
                    raise ValueError(f"--store: {cfg.store} holds {est} rows for {space.name!r} whose arch id "
                                     f"{r.arch_id!r} is not one of the space's") from None
            out.append(ScoreSet(label, [r.arch_id for r in rows], _orient(est, vals), f"store {cfg.store}"))
    if not out:
        raise ValueError("--store/--score-file: expected at least one score set (none found for "
                         f"space {space.name!r})")
    return out


def pct_ranks(v: np.ndarray) -> np.ndarray:
    """Average-tie ranks scaled to (0, 1], higher value = higher rank; NaN ranks last."""
    from scipy.stats import rankdata

    x = np.where(np.isfinite(v), v, -np.inf)
    return rankdata(x, method="average") / x.size


def _corr(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from scipy.stats import kendalltau, spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return {"spearman": math.nan, "kendall_tau": math.nan}
    return {"spearman": float(spearmanr(a[ok], b[ok])[0]), "kendall_tau": float(kendalltau(a[ok], b[ok])[0])}


def _criteria(score: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    from penas.metrics import criteria_report

    r = criteria_report(score, gt, ratios=(), invalid="last")
    return {"n": r.n, "n_invalid": r.n_invalid, "kendall_tau": r.kendall_tau, "spearman": r.spearman, "mkr": r.mkr}


def op_bias(space: Any, ids: Sequence[str], score: np.ndarray, gt: np.ndarray) -> tuple[list[dict], list[dict]]:
    """Per op and per (edge, op): mean predicted vs mean true percentile rank."""
    archs = [space.parse(a) for a in ids]
    ops, edges = list(space.ops), list(space.edges)
    table = np.array([[ops.index(op) for op in a] for a in archs])  # (n, n_edges)
    pr, tr = pct_ranks(score), pct_ranks(gt)
    per_op, per_edge = [], []
    for j, op in enumerate(ops):
        m = (table == j).any(axis=1)
        if m.any():
            per_op.append({"op": op, "n": int(m.sum()), "pred_rank": float(pr[m].mean()),
                           "true_rank": float(tr[m].mean()), "bias": float(pr[m].mean() - tr[m].mean())})
        for e, edge in enumerate(edges):
            me = table[:, e] == j
            if me.any():
                per_edge.append({"edge": f"{edge[0]}<-{edge[1]}", "op": op, "n": int(me.sum()),
                                 "pred_rank": float(pr[me].mean()), "true_rank": float(tr[me].mean()),
                                 "bias": float(pr[me].mean() - tr[me].mean())})
    return per_op, per_edge


def deiso(space: Any, ids: Sequence[str], score: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score and GT averaged within each isomorphism class (NaN scores stay NaN if all are)."""
    groups: dict[str, list[int]] = {}
    for i, a in enumerate(ids):
        groups.setdefault(space.format(space.canonical(space.parse(a))), []).append(i)
    s_out, g_out = [], []
    for idx in groups.values():
        s = score[idx]
        s_out.append(float(np.mean(s[np.isfinite(s)])) if np.isfinite(s).any() else math.nan)
        g_out.append(float(np.mean(gt[idx])))
    return np.array(s_out), np.array(g_out)


def _has_op_structure(space: Any, ids: Sequence[str]) -> bool:
    ops, edges = getattr(space, "ops", None), getattr(space, "edges", None)
    if not ops or not edges or not ids:
        return False
    a = space.parse(ids[0])
    return isinstance(a, tuple) and len(a) == len(edges) and all(op in ops for op in a)


def run_bias(cfg: BiasConfig) -> dict[str, Any]:
    from penas.estimators.simple import OracleEstimator
    from penas.spaces import get_space

    from .. import checks

    checks.check_space(cfg.space)
    if not cfg.out:
        raise ValueError("--out: expected an output directory")
    space = get_space(cfg.space)
    gt_src = OracleEstimator(space, dataset=cfg.gt_dataset, metric=cfg.gt_metric)
    if not gt_src.available:
        raise ValueError(f"space: no ground truth for {space.name!r} ({gt_src.reason or 'no table'})")
    sets = load_score_sets(cfg, space)
    all_ids = list(dict.fromkeys(a for s in sets for a in s.ids))
    gt_all = dict(zip(all_ids, gt_src.values(all_ids), strict=True))
    cost: dict[str, tuple[float, float]] = {}
    for a in all_ids:
        arch = space.parse(a)
        try:
            fl = float(space.flops(arch, gt_src.dataset))
        except NotImplementedError:
            fl = math.nan
        cost[a] = (float(space.params(arch, gt_src.dataset)), fl)
    has_ops = _has_op_structure(space, all_ids)
    res: dict[str, Any] = {"space": space.name, "gt": {"metric": gt_src.metric, "dataset": gt_src.dataset},
                           "rank_convention": "percentile in (0,1], higher = better; invalid scores last",
                           "sets": {}, "skipped": {}}
    gt_ref_done = False
    for s in sets:
        keep = [i for i, a in enumerate(s.ids) if math.isfinite(gt_all[a])]
        if len(keep) < cfg.min_archs:
            res["skipped"][s.label] = f"{len(keep)} archs with ground truth (< {cfg.min_archs})"
            continue
        ids = [s.ids[i] for i in keep]
        score = s.values[keep]
        gt = np.array([gt_all[a] for a in ids])
        params = np.array([cost[a][0] for a in ids])
        flops = np.array([cost[a][1] for a in ids])
        entry: dict[str, Any] = {
            "source": s.source, "n": len(ids),
            "criteria": _criteria(score, gt),
            "complexity": {"params": _corr(score, params), "flops": _corr(score, flops)},
        }
        if not gt_ref_done:
            res["gt_complexity"] = {"n": len(ids), "params": _corr(gt, params), "flops": _corr(gt, flops)}
            gt_ref_done = True
        if has_ops:
            entry["ops"], entry["ops_edges"] = op_bias(space, ids, score, gt)
        ds, dg = deiso(space, ids, score, gt)
        entry["deiso"] = {"iso": entry["criteria"], "deiso": {**_criteria(ds, dg), "n_classes": int(ds.size)}}
        res["sets"][s.label] = entry
    if not res["sets"]:
        raise ValueError(f"--store/--score-file: no score set has >= {cfg.min_archs} archs with ground truth")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(res, out, cfg.plots)
    res["out"] = str(out)
    return res


# --- outputs ----------------------------------------------------------------------------------
def _f(v: Any, d: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "nan"
    return f"{v:.{d}f}" if isinstance(v, float) else str(v)


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def tables(res: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The result as named (header, rows) tables (also the CSV files)."""
    crit = (["estimator", "n", "n_invalid", "kendall_tau", "spearman", "mkr"],
            [[k, e["criteria"]["n"], e["criteria"]["n_invalid"], e["criteria"]["kendall_tau"],
              e["criteria"]["spearman"], e["criteria"]["mkr"]] for k, e in res["sets"].items()])
    comp_rows = [[k, e["complexity"]["params"]["spearman"], e["complexity"]["params"]["kendall_tau"],
                  e["complexity"]["flops"]["spearman"], e["complexity"]["flops"]["kendall_tau"]]
                 for k, e in res["sets"].items()]
    if "gt_complexity" in res:
        g = res["gt_complexity"]
        comp_rows.append([GT_ROW, g["params"]["spearman"], g["params"]["kendall_tau"],
                          g["flops"]["spearman"], g["flops"]["kendall_tau"]])
    comp = (["estimator", "params_spearman", "params_kendall_tau", "flops_spearman", "flops_kendall_tau"], comp_rows)
    ops = (["estimator", "op", "n", "pred_rank", "true_rank", "bias"],
           [[k, r["op"], r["n"], r["pred_rank"], r["true_rank"], r["bias"]]
            for k, e in res["sets"].items() for r in e.get("ops", [])])
    edges = (["estimator", "edge", "op", "n", "pred_rank", "true_rank", "bias"],
             [[k, r["edge"], r["op"], r["n"], r["pred_rank"], r["true_rank"], r["bias"]]
              for k, e in res["sets"].items() for r in e.get("ops_edges", [])])
    de = (["estimator", "iso_n", "iso_kendall_tau", "iso_spearman", "iso_mkr",
           "deiso_n", "deiso_kendall_tau", "deiso_spearman", "deiso_mkr"],
          [[k, e["deiso"]["iso"]["n"], e["deiso"]["iso"]["kendall_tau"], e["deiso"]["iso"]["spearman"],
            e["deiso"]["iso"]["mkr"], e["deiso"]["deiso"]["n"], e["deiso"]["deiso"]["kendall_tau"],
            e["deiso"]["deiso"]["spearman"], e["deiso"]["deiso"]["mkr"]] for k, e in res["sets"].items()])
    return {"criteria": crit, "complexity": comp, "ops": ops, "ops_edges": edges, "deiso": de}


def markdown(res: dict[str, Any]) -> str:
    lines = [f"# Bias analysis: {res['space']} (ground truth {res['gt']['metric']} on {res['gt']['dataset']})", ""]
    titles = {"criteria": "Ranking criteria", "complexity": "Complexity bias (correlation of the score with cost)",
              "ops": "Operation-level bias (mean percentile rank, higher = better)",
              "ops_edges": "Operation-level bias per edge", "deiso": "Post de-isomorphism (iso vs group-averaged)"}
    for name, (head, rows) in tables(res).items():
        if not rows:
            continue
        lines += [f"## {titles[name]}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(_f(v) for v in r) + " |" for r in rows]
        lines.append("")
    if res["skipped"]:
        lines += ["Skipped: " + "; ".join(f"{k}: {v}" for k, v in res["skipped"].items()), ""]
    return "\n".join(lines)


def write_outputs(res: dict[str, Any], out: Path, plots: bool) -> None:
    (out / "bias.json").write_text(json.dumps(_json_safe(res), indent=1, allow_nan=False))
    for name, (head, rows) in tables(res).items():
        with (out / f"{name}.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(head)
            w.writerows([[_f(v, 6) if isinstance(v, float) else v for v in r] for r in rows])
    (out / "bias.md").write_text(markdown(res))
    if plots:
        plot_bias(res, out)


def plot_bias(res: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    head, rows = tables(res)["complexity"]
    labels = [r[0] for r in rows]
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(labels)), 3.5))
    for j, (col, name) in enumerate(((2, "KT vs params"), (4, "KT vs FLOPs"))):
        ax.bar(x + (j - 0.5) * 0.38, [np.nan_to_num(r[col]) for r in rows], 0.38, label=name)
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=7)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("Kendall's tau")
    # outside the axes, so it never covers a point or a bar
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(out / "complexity.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(out / "complexity.png")
    _, orows = tables(res)["ops"]
    if orows:
        sets = list(dict.fromkeys(r[0] for r in orows))
        ops = list(dict.fromkeys(r[1] for r in orows))
        val = {(r[0], r[1]): r[5] for r in orows}
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(ops)), 3.5))
        w = 0.8 / len(sets)
        for j, s in enumerate(sets):
            ax.bar(np.arange(len(ops)) + (j - (len(sets) - 1) / 2) * w, [val.get((s, o), 0.0) for o in ops], w, label=s)
        ax.set_xticks(np.arange(len(ops)), ops, fontsize=7)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("mean pred rank - mean true rank")
        # outside the axes, so it never covers a point or a bar
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
        fig.tight_layout()
        fig.savefig(out / "ops.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(out / "ops.png")
    return written
