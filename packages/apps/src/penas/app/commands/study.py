"""``penas-app zero-shot SPACE``, ``penas-app analyze bias SPACE`` and ``penas-app study SPACE``:
the aw_nas study family (see :mod:`penas.app.study`). Options map 1:1 onto
:class:`~penas.app.study.zeroshot.ZeroShotConfig` and :class:`~penas.app.study.bias.BiasConfig`;
``study`` reads a ``study.yaml`` (:class:`~penas.app.study.config.StudyConfig`)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..configs import defaults
from ..study.bias import BiasConfig
from ..study.zeroshot import ZeroShotConfig
from ._app import app

_Z = defaults(ZeroShotConfig)
_B = defaults(BiasConfig)


@app.command("zero-shot")
def zero_shot(
    space: str = typer.Argument(..., help="Search space name."),
    proxies: str = typer.Option(",".join(_Z["proxies"]), help="Comma-separated zero-cost proxies."),
    seeds: str = typer.Option(",".join(map(str, _Z["seeds"])), help="Init seeds (aw_nas: 20,2020,202020)."),
    batches: str = typer.Option(",".join(map(str, _Z["batches"])), help="Numbers of averaged batches (aw_nas: 1,3,5)."),
    archs: str = typer.Option(_Z["archs"], help="all | sample:N | FILE of arch ids."),
    sample_seed: int = typer.Option(_Z["sample_seed"], help="Seed of --archs sample:N."),
    store: str = typer.Option(..., help="SQLite score store (stored scores are skipped)."),
    data: str = typer.Option(_Z["data"], help="auto (real CIFAR-10 when present) | png-aug | png | synthetic | cifar10[:DIR][@SPLIT]"),
    batch_size: int = typer.Option(_Z["batch_size"]),
    dataset: str = typer.Option(None, help="Dataset of the space (default: its first)."),
    chunk: int = typer.Option(_Z["chunk"], help="Archs per store transaction."),
    progress: bool = typer.Option(_Z["progress"], "--progress/--no-progress"),
    executor: str = typer.Option("local", help="local | process:N | ray (a local Ray cluster, or $RAY_ADDRESS) | "
                                               "gpus | gpus:I,J"),
) -> None:
    """Zero-cost scores for every proxy x seed x batch count into the store (resumable)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..study.zeroshot import parse_int_list, parse_names, run_zero_shot

    cfg = ZeroShotConfig(space=space, proxies=parse_names(proxies, "--proxies"),
                         seeds=parse_int_list(seeds, "--seeds"), batches=parse_int_list(batches, "--batches"),
                         archs=archs, sample_seed=sample_seed, store=store, data=data, batch_size=batch_size,
                         dataset=dataset, chunk=chunk, progress=progress)
    _validate_zero_shot(cfg)
    from ..study.config import make_executor

    ex = make_executor(executor, "--executor")
    console = Console()
    try:
        if progress:
            with Progress(TextColumn("zero-shot {task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=console, transient=True) as bar:
                task = bar.add_task(space, total=None)
                res = run_zero_shot(cfg, on_progress=lambda d, t: bar.update(task, completed=d, total=t),
                                    executor=ex)
        else:
            res = run_zero_shot(cfg, executor=ex)
    finally:
        if hasattr(ex, "close"):
            ex.close()
    if res.synthetic:
        console.print(f"[yellow]note: data is SYNTHETIC ({res.data_source}); scores do not use real images[/yellow]",
                      soft_wrap=True)
    computed = sum(k["computed"] for k in res.keys)
    invalid = sum(k["invalid"] for k in res.keys)
    console.print(f"{res.space}: {res.n_archs} archs x {len(res.keys)} (proxy, seed, batches) keys; "
                  f"{computed} scores computed, {res.n_archs * len(res.keys) - computed} already stored, "
                  f"{invalid} invalid; data {res.data_source}; {res.seconds:.1f}s -> {cfg.store}", soft_wrap=True)


analyze_app = typer.Typer(help="Analyses of stored or precomputed estimator scores.", no_args_is_help=True)
app.add_typer(analyze_app, name="analyze")


@analyze_app.command("bias")
def analyze_bias(
    space: str = typer.Argument(..., help="Search space name."),
    store: str = typer.Option(None, help="Score store: every (estimator, config) stored for SPACE."),
    score_file: list[str] = typer.Option([], help="NAME=PATH precomputed scores (repeatable); PATH: a FreeREA CSV or penas:<table>[:<column>]."),
    estimators: str = typer.Option("", help="Only these estimator names from --store (comma-separated)."),
    out: str = typer.Option(..., help="Output directory (JSON, CSV, Markdown, PNG)."),
    gt_metric: str = typer.Option(_B["gt_metric"]),
    gt_dataset: str = typer.Option(None),
    min_archs: int = typer.Option(_B["min_archs"], help="Skip score sets with fewer archs having GT."),
    plots: bool = typer.Option(_B["plots"], "--plots/--no-plots", help="PNG figures (matplotlib)."),
) -> None:
    """Complexity bias, operation-level bias and the effect of post de-isomorphism."""
    from rich.console import Console

    from ..study.bias import run_bias
    from ._render import print_bias

    cfg = BiasConfig(space=space, store=store, score_file=list(score_file),
                     estimators=[e.strip() for e in estimators.split(",") if e.strip()], out=out,
                     gt_metric=gt_metric, gt_dataset=gt_dataset, min_archs=min_archs, plots=plots)
    _validate_bias(cfg)
    print_bias(run_bias(cfg), Console())


def _validate_zero_shot(cfg: ZeroShotConfig) -> None:
    """``zero-shot`` options before anything is built or stored (one-line errors)."""
    from penas.spaces import get_space

    from .. import checks
    from ..evaluating import select_archs

    checks.check_space(cfg.space)
    checks.check_proxies(cfg.proxies, "--proxies")
    checks.positive(cfg.batch_size, "--batch-size")
    checks.positive(cfg.chunk, "--chunk")
    checks.check_data(cfg.data, "--data")
    space = get_space(cfg.space)
    if cfg.dataset is not None and cfg.dataset not in space.datasets:
        raise ValueError(f"--dataset: {space.name!r} has datasets {', '.join(space.datasets)}; got {cfg.dataset!r}")
    if not select_archs(space, cfg.archs, cfg.sample_seed):
        raise ValueError(f"--archs: {cfg.archs} selects no arch")
    checks.check_store(cfg.store, "--store")


def _validate_bias(cfg: BiasConfig) -> None:
    """``analyze bias`` options before anything is read or written (one-line errors)."""
    from penas.spaces import get_space

    from .. import checks
    from ..configs import parse_pairs

    checks.check_space(cfg.space)
    checks.positive(cfg.min_archs, "--min-archs", minimum=2)
    files = parse_pairs(cfg.score_file, "--score-file")
    if cfg.store is None and not files:
        raise ValueError("--store/--score-file: expected a score store or at least one score file")
    space = get_space(cfg.space)
    checks.check_gt(space, cfg.gt_metric, cfg.gt_dataset)
    for name, path in files.items():
        checks.load_scores(path, space.name, "--score-file", name=name)
    checks.check_store(cfg.store, "--store", readonly=True)
    checks.check_out_dir(cfg.out, "--out")


def _validate_study(cfg, where: str) -> None:
    """The whole study config (names, data, ground truth, checkpoints, store, output) before any
    training: a mistake in the last stage must not cost the supernet training of the first."""
    from penas.spaces import get_space

    from .. import checks
    from ..evaluating import select_archs

    checks.check_space(cfg.space, f"{where}: ")
    space = get_space(cfg.space)
    sn, os_, zs = cfg.supernet, cfg.one_shot, cfg.zero_shot
    if zs.enabled:
        checks.check_proxies(zs.proxies, f"{where}: zero_shot.proxies")
        checks.check_data(zs.data, f"{where}: zero_shot.data")
    if sn.enabled:
        checks.check_data(sn.data, f"{where}: supernet.data")
        if os_.enabled and os_.data is not None:
            checks.check_data(os_.data, f"{where}: one_shot.data")
        if sn.checkpoints:
            from penas.supernets.engine.checkpoint import CheckpointError, load_checkpoint

            for ck in sn.checkpoints:
                try:
                    load_checkpoint(ck, map_location="cpu")
                except CheckpointError as e:
                    raise ValueError(f"{where}: supernet.checkpoints: {str(e).removeprefix('checkpoint: ')}") from None
    checks.check_gt(space, cfg.gt.metric, cfg.gt.dataset, prefix=f"{where}: gt.")
    try:
        if not select_archs(space, cfg.archs, cfg.archs_seed):
            raise ValueError(f"{cfg.archs} selects no arch")
    except ValueError as e:
        raise ValueError(f"{where}: archs: {str(e).removeprefix('--archs: ')}") from None
    if cfg.executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ValueError(f"{where}: executor: ray is not installed: pip install 'penas-estimators[ray]'")
    checks.check_store(cfg.store_path, f"{where}: store")
    checks.check_out_dir(cfg.out, f"{where}: out")
    if sn.enabled and os_.enabled and not sn.checkpoints:
        from ..study.grid import expected_checkpoints

        checks.positive(sn.channels, f"{where}: supernet.channels")
        checks.positive(sn.cells, f"{where}: supernet.cells")
        expected_checkpoints(cfg)  # preset, overrides and save_every agree
        checks.check_out_dir(cfg.supernet_dir, f"{where}: supernet.out")


@app.command("study")
def study(
    space: str = typer.Argument(..., help="Search space name (must match the config's space: when set)."),
    config: str = typer.Option(..., help="study.yaml (see `penas-app config dump study`)."),
    set_: list[str] = typer.Option([], "--set", help="KEY.PATH=VALUE override of the config (repeatable)."),
) -> None:
    """The aw_nas estimator study: supernet checkpoints x one-shot, zero-shot proxies x seeds, one report."""
    from rich.console import Console

    from ..study.config import load_study_config, parse_set
    from ..study.grid import run_study
    from ._render import print_report

    cfg = load_study_config(config, parse_set(list(set_)), space=space)
    _validate_study(cfg, Path(config).name)
    console = Console()
    report = run_study(cfg, on_log=lambda m: console.print(m, soft_wrap=True))
    if any(v.startswith("synthetic") for v in report["grid"]["sources"].values()):
        console.print("[yellow]note: some stage used synthetic data: " + ", ".join(
            f"{k} {v}" for k, v in report["grid"]["sources"].items()) + "[/yellow]", soft_wrap=True)
    if report["grid"].get("torchrun"):
        console.print(f"multi-GPU supernet training: {report['grid']['torchrun']}", soft_wrap=True)
    print_report(report, console)
