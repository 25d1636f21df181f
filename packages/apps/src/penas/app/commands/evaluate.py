"""``penas-app evaluate SPACE``: estimators vs ground truth (aw_nas criteria + MKR)."""

from __future__ import annotations

import typer

from ..configs import EvaluateConfig, defaults
from ._app import app

_D = defaults(EvaluateConfig)


@app.command("evaluate")
def evaluate(
    space: str = typer.Argument(..., help="Search space name."),
    estimators: str = typer.Option(",".join(_D["estimators"]), help="Comma-separated estimator names."),
    archs: str = typer.Option(_D["archs"], help="all | sample:N | FILE of arch ids."),
    seed: int = typer.Option(_D["seed"]),
    out: str = typer.Option(None, help="Output directory (default eval-<space>)."),
    from_store: str = typer.Option(None, help="Read scores from this store only (no recomputation)."),
    store: str = typer.Option(None, help="Keep computed scores in this store (and reuse them)."),
    score_file: list[str] = typer.Option([], help="NAME=PATH precomputed scores (repeatable); PATH: a FreeREA CSV or penas:<table>[:<column>]."),
    gt_metric: str = typer.Option(_D["gt_metric"]),
    gt_dataset: str = typer.Option(None),
    zc_protocol: str = typer.Option(_D["zc_protocol"]),
    zc_batch_size: int = typer.Option(_D["zc_batch_size"]),
    zc_data: str = typer.Option(_D["zc_data"]),
    zc_seed: int = typer.Option(None, help="Zero-cost init seed (default: the protocol's; zero-shot: 20, 2020, ...)."),
    zc_batches: int = typer.Option(None, help="Zero-cost batches averaged (default: the protocol's; zero-shot "
                                              "--batches)."),
    executor: str = typer.Option(_D["executor"], help="local | process:N | ray (a local Ray cluster, or "
                                                      "$RAY_ADDRESS) | gpus | gpus:I,J"),
    plots: bool = typer.Option(False, "--plots/--no-plots", help="PNG rank scatter per estimator."),
) -> None:
    """Score archs with estimators, look up ground truth, print the criteria report."""
    from rich.console import Console

    from ..evaluating import run_evaluate
    from ._render import print_reports

    cfg = EvaluateConfig(space=space, estimators=[e.strip() for e in estimators.split(",") if e.strip()],
                         archs=archs, seed=seed, out=out, from_store=from_store, store=store,
                         score_file=list(score_file), gt_metric=gt_metric, gt_dataset=gt_dataset,
                         zc_protocol=zc_protocol, zc_batch_size=zc_batch_size, zc_data=zc_data, zc_seed=zc_seed,
                         zc_batches=zc_batches, executor=executor, plots=plots)
    validate(cfg)
    print_reports(run_evaluate(cfg), Console())


def validate(cfg: EvaluateConfig) -> None:
    """Every option of ``evaluate`` before anything is scored or written (one-line errors)."""
    from penas.spaces import SPACES, get_space

    from .. import checks
    from ..configs import parse_pairs
    from ..evaluating import select_archs

    if cfg.space not in SPACES:
        raise ValueError(f"space: unknown space {cfg.space!r}; expected one of: {', '.join(SPACES.names())}")
    if not cfg.estimators:
        raise ValueError("--estimators: expected at least one estimator name")
    files = parse_pairs(cfg.score_file, "--score-file")
    unused = [n for n in files if n not in cfg.estimators]
    if unused:
        raise ValueError(f"--score-file: {unused[0]!r} is not among --estimators ({', '.join(cfg.estimators)})")
    checks.check_estimators([n for n in cfg.estimators if n not in files], "--estimators")
    checks.check_zero_cost(cfg.zc_protocol, cfg.zc_batch_size, cfg.zc_data, seed=cfg.zc_seed,
                           n_batches=cfg.zc_batches)
    if cfg.store and cfg.from_store:
        raise ValueError("--from-store: reads scores only; drop --store (or --from-store to compute)")
    space = get_space(cfg.space)
    checks.check_gt(space, cfg.gt_metric, cfg.gt_dataset)
    ids = select_archs(space, cfg.archs, cfg.seed)
    if not ids:
        raise ValueError(f"--archs: {cfg.archs} selects no arch")
    for name, path in files.items():
        have = checks.load_scores(path, space.name, "--score-file", name=name)
        missing = [a for a in ids if a not in have]
        if missing:
            raise ValueError(f"--score-file: {path} has scores for {len(ids) - len(missing)} of the {len(ids)} archs "
                             f"--archs {cfg.archs} selects (first missing: {missing[0]}); pass --archs FILE of its ids")
    checks.check_store(cfg.store, "--store")
    if cfg.from_store:
        _check_from_store(cfg, space, ids, [n for n in cfg.estimators if n not in files])
    checks.check_out_dir(cfg.out or f"eval-{cfg.space}", "--out")
    from ..study.config import parse_executor

    parse_executor(cfg.executor, "--executor")


def _check_from_store(cfg: EvaluateConfig, space, ids: list[str], names: list[str]) -> None:
    """``--from-store`` holds rows of each estimator under the selected config; else say what it holds."""
    from .. import checks
    from ..evaluating import estimator_for

    store = checks.open_store(cfg.from_store, "--from-store", readonly=True)
    stored = store.keys(space.name)
    for name in names:
        est = estimator_for(cfg, space, name)
        if store.count(space.name, est.name, est.config_hash) > 0:
            continue
        held = [(h, store.count(space.name, e, h)) for e, h in stored if e == est.name]
        if not held:
            what = ", ".join(sorted({e for e, _ in stored})) or "nothing"
            raise ValueError(f"--from-store: {cfg.from_store} has no {est.name} scores for {space.name} "
                             f"(it holds: {what})")
        desc = "; ".join(f"config {h} ({n} rows{_describe_config(store, space.name, est.name, h)})" for h, n in held)
        raise ValueError(f"--from-store: {cfg.from_store} has {est.name} scores only under other configs: {desc}; "
                         f"this one is {est.config_hash} - select a stored one with --zc-seed / --zc-batches / "
                         "--zc-batch-size / --zc-protocol / --zc-data")


def _describe_config(store, space: str, estimator: str, config_hash: str) -> str:
    rows = store.rows(space, estimator, config_hash)
    prov = rows[0].provenance if rows else {}
    extra = prov.get("extra", {}) if isinstance(prov.get("extra"), dict) else {}
    parts = [f"{k} {v}" for k, v in (("seed", prov.get("seed")), ("batch size", prov.get("batch_size")),
                                     ("batches", extra.get("n_batches")), ("protocol", extra.get("protocol")))
             if v is not None]
    return (": " + ", ".join(parts)) if parts else ""


plot_app = typer.Typer(help="Figures from result directories.", no_args_is_help=True)
app.add_typer(plot_app, name="plot")


@plot_app.command("kdt-vs-mkr")
def kdt_vs_mkr_cmd(
    results_dir: str = typer.Argument(..., help="A penas-app evaluate output directory."),
    out: str = typer.Option(None, help="PNG path (default RESULTS_DIR/kdt_vs_mkr.png)."),
    search_budget: int = typer.Option(1000, help="Archs sampled per search run."),
    search_runs: int = typer.Option(5),
    seed: int = typer.Option(0),
) -> None:
    """Per estimator: Kendall's tau and 1 - MKR vs the accuracy a search driven by it reaches."""
    import json
    from pathlib import Path

    from .. import checks
    from ..plots import kdt_vs_mkr, plot_kdt_vs_mkr

    checks.positive(search_budget, "--search-budget")
    checks.positive(search_runs, "--search-runs")
    if not Path(results_dir).is_dir():
        raise ValueError(f"results_dir: no directory at {results_dir} (a penas-app evaluate --out directory)")
    checks.check_out_file(out or str(Path(results_dir) / "kdt_vs_mkr.png"), "--out")
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = kdt_vs_mkr(results_dir, search_budget, search_runs, seed)
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    from ..plots import load_scores

    _, gt, _ = load_scores(Path(results_dir))
    import numpy as np

    png = plot_kdt_vs_mkr(data, out or str(Path(results_dir) / "kdt_vs_mkr.png"), search_budget,
                          int(np.isfinite(gt).sum()))
    (Path(results_dir) / "kdt_vs_mkr.json").write_text(json.dumps(data, indent=1))
    for name, v in data.items():
        typer.echo(f"{name:<16} KT {v['kendall_tau']:+.3f}  1-MKR {v['one_minus_mkr']:.4f}  "
                   f"search acc {v['search_accuracy']:.2f}")
    typer.echo(f"wrote {png}")
