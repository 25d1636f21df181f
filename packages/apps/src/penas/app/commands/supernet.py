"""``penas-app supernet train|eval``: supernet training with the trainer presets and one-shot
scores per checkpoint into a score store, the CLI over :mod:`penas.app.supernet` (the workflows
:func:`penas.app.workflows.supernet_train` / ``supernet_eval``). Options map 1:1 onto
:class:`~penas.app.supernet.train.SupernetTrainConfig` /
:class:`~penas.app.supernet.evaluate.SupernetEvalConfig`."""

from __future__ import annotations

import os

import typer

from ..configs import defaults
from ..supernet.evaluate import SupernetEvalConfig
from ..supernet.train import SupernetTrainConfig
from ._app import app

_T = defaults(SupernetTrainConfig)
_E = defaults(SupernetEvalConfig)

supernet_app = typer.Typer(help="Train supernets and score archs with their checkpoints.", no_args_is_help=True)
app.add_typer(supernet_app, name="supernet")


def _bar(console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[stats]}"), console=console, transient=True)


def _event_text(ev: dict) -> str:
    """The progress line's tail for one engine event: epoch, loss (running or epoch mean), ETA."""
    import math

    loss = ev.get("train_loss", ev.get("loss"))
    eta = ev.get("eta_s", math.nan)
    parts = [f"epoch {ev.get('epoch', 0)}"]
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    if ev.get("train_acc") is not None:
        parts.append(f"acc {ev['train_acc']:.2f}%")
    if isinstance(eta, (int, float)) and math.isfinite(eta):
        parts.append(f"ETA {int(eta) // 3600}:{int(eta) % 3600 // 60:02d}:{int(eta) % 60:02d}")
    return " ".join(parts)


@supernet_app.command("train")
def train(
    space: str = typer.Argument(..., help="Search space with a registered supernet."),
    preset: str = typer.Option(None, help="Trainer preset: aw_nas_nb201 | pe_nas | pe_nas_macro | hess_topformer "
                                          "(default: the supernet class's default_preset, else pe_nas)."),
    out: str = typer.Option(..., help="Checkpoint directory (last.pt, epochNNNN.pt)."),
    epochs: int = typer.Option(None, help="Override the preset's epochs (epoch-based presets)."),
    iterations: int = typer.Option(None, help="Override the schedule length in steps (iteration-based run)."),
    batch_size: int = typer.Option(None, help="Override the preset's batch size."),
    lr: float = typer.Option(None, help="Override the preset's learning rate."),
    sampler: str = typer.Option(None, help="Override the preset's path sampler."),
    seed: int = typer.Option(None, help="Override the preset's seed."),
    save_every: int = typer.Option(_T["save_every"], help="Keep a checkpoint every E epochs (0: last.pt only)."),
    max_steps: int = typer.Option(None, help="Stop after this many steps in total."),
    resume: bool = typer.Option(False, "--resume/--no-resume", help="Continue from OUT/last.pt."),
    data: str = typer.Option(_T["data"], help="auto (real CIFAR-10 when present) | synthetic[:N] | png-aug[:N] | cifar10[:DIR][@SPLIT] | ade20k:<dir> "
                                              "(segmentation presets) | a bare <dir> (the preset task's "
                                              "format: cifar10 or ade20k)"),
    channels: int = typer.Option(None, help="Supernet width C (default: the supernet's)."),
    cells: int = typer.Option(None, help="Supernet cells per stage N (default: the supernet's)."),
    crop_size: int = typer.Option(_T["crop_size"], help="ade20k: training crop size (scale (4*crop, crop))."),
    device: str = typer.Option(_T["device"], help="cpu | cuda | cuda:K (under torchrun: each rank's GPU)."),
    workers: int = typer.Option(_T["workers"], help="Data-loading worker processes per rank (ade20k data)."),
    progress: bool = typer.Option(_T["progress"], "--progress/--no-progress"),
) -> None:
    """Train SPACE's supernet with a preset; resumable, checkpoints every E epochs.

    Many GPUs: torchrun --nproc_per_node 4 -m penas.app supernet train topformer --data ade20k:DIR --out OUT
    """
    from rich.console import Console

    from ..workflows import supernet_train

    cfg = SupernetTrainConfig(space=space, preset=preset, out=out, epochs=epochs, iterations=iterations,
                              batch_size=batch_size, lr=lr, sampler=sampler, seed=seed, save_every=save_every,
                              max_steps=max_steps, resume=resume, data=data, channels=channels, cells=cells,
                              crop_size=crop_size, device=device, workers=workers, progress=progress)
    from .. import checks

    checks.positive(channels, "--channels")
    checks.positive(cells, "--cells")
    checks.check_out_dir(out, "--out")
    console = Console()
    progress = progress and int(os.environ.get("RANK", "0")) == 0  # one bar under torchrun
    if progress:
        with _bar(console) as bar:
            task = bar.add_task(f"supernet {space}", total=None, stats="")
            res = supernet_train(cfg, on_event=lambda ev: bar.update(
                task, completed=ev["step"], total=ev["total_steps"], stats=_event_text(ev)))
    else:
        res = supernet_train(cfg)
    if not res.is_main:
        return
    if res.synthetic:
        console.print(f"[yellow]note: trained on SYNTHETIC data ({res.data_source})[/yellow]", soft_wrap=True)
    if res.resumed_from_step:
        console.print(f"resumed at step {res.resumed_from_step}", soft_wrap=True)
    ranks = f", {res.world_size} ranks" if res.world_size > 1 else ""
    console.print(f"{space}: preset {res.preset}{ranks}; step {res.steps}/{res.total_steps}, epoch {res.epochs_done}, "
                  f"last loss {res.last_loss:.4f}; data {res.data_source}; checkpoints: {', '.join(res.checkpoints)}",
                  soft_wrap=True)


@supernet_app.command("eval")
def evaluate(
    space: str = typer.Argument(..., help="Search space name."),
    checkpoints: list[str] = typer.Option(..., help="Trainer checkpoints, or a checkpoint directory (every "
                                                    "epochNNNN.pt and last.pt in it); repeat the option."),
    archs: str = typer.Option(_E["archs"], help="all | deiso | sample:N | FILE of arch ids."),
    sample_seed: int = typer.Option(_E["sample_seed"]),
    bn_mode: str = typer.Option(_E["bn_mode"], help="train | recalibrate | no_track"),
    per_batch: bool = typer.Option(False, "--per-batch/--no-per-batch", help="Also write per-batch scores (CSV)."),
    metric: str = typer.Option(_E["metric"], help="acc | loss"),
    store: str = typer.Option(..., help="SQLite score store (stored scores are reused)."),
    data: str = typer.Option(_E["data"], help="auto | synthetic[:N] | png-aug[:N] | cifar10[:DIR][@SPLIT] (default: "
                                              "the data the checkpoint was trained on; a supernet trained on "
                                              "cifar10@nb201-train is scored on nb201-valid)"),
    batch_size: int = typer.Option(_E["batch_size"]),
    n_batches: int = typer.Option(None, help="Held-out batches per arch (default: all)."),
    recal_batches: int = typer.Option(_E["recal_batches"], help="Training batches for BN recalibration."),
    holdout: float = typer.Option(_E["holdout"], help="Held-out fraction at the end of the data."),
    out: str = typer.Option(None, help="Directory of the per-batch CSVs (default: the store's)."),
    progress: bool = typer.Option(_E["progress"], "--progress/--no-progress"),
) -> None:
    """One-shot scores of ARCHS under every checkpoint into the store."""
    from rich.console import Console
    from rich.table import Table

    from ..workflows import supernet_eval

    cfg = SupernetEvalConfig(space=space, checkpoints=list(checkpoints), archs=archs, sample_seed=sample_seed,
                             bn_mode=bn_mode, per_batch=per_batch, metric=metric, store=store, data=data,
                             batch_size=batch_size, n_batches=n_batches, recal_batches=recal_batches,
                             holdout=holdout, out=out, progress=progress)
    _validate_eval(cfg)
    console = Console()
    if progress:
        with _bar(console) as bar:
            task = bar.add_task(f"one-shot {space}", total=None)
            rows, source, synthetic = supernet_eval(cfg, on_progress=lambda d, t: bar.update(task, completed=d,
                                                                                              total=t))
    else:
        rows, source, synthetic = supernet_eval(cfg)
    if synthetic:
        console.print(f"[yellow]note: scored on SYNTHETIC data ({source})[/yellow]", soft_wrap=True)
    t = Table(title=f"{space}: one-shot ({bn_mode} BN, {metric})")
    for h in ("checkpoint", "epoch", "step", "config_hash", "archs", "computed", "mean score"):
        t.add_column(h, justify="left" if h in ("checkpoint", "config_hash") else "right")
    for r in rows:
        t.add_row(r.checkpoint, str(r.epoch), str(r.step), r.config_hash, str(r.n_archs), str(r.n_computed),
                  f"{r.mean_score:.4f}")
    console.print(t)
    console.print(f"data {source}; scores in {store}" + "".join(f"; per-batch {r.per_batch_csv}" for r in rows if r.per_batch_csv),
                  soft_wrap=True)


def _validate_eval(cfg: SupernetEvalConfig) -> None:
    """``supernet eval`` options before any checkpoint is scored (one-line errors)."""
    from penas.estimators.one_shot import BN_MODES
    from penas.supernets.engine.checkpoint import CheckpointError, load_checkpoint

    from .. import checks

    if cfg.bn_mode not in BN_MODES:
        raise ValueError(f"--bn-mode: expected one of {', '.join(BN_MODES)}, got {cfg.bn_mode!r}")
    from ..study.supernet_data import expand_checkpoints

    checks.positive(cfg.recal_batches, "--recal-batches")
    for ck in expand_checkpoints(list(cfg.checkpoints)):
        try:
            load_checkpoint(ck, map_location="cpu")
        except CheckpointError as e:
            raise ValueError(f"--checkpoints: {str(e).removeprefix('checkpoint: ')}") from None
    if cfg.data is not None:
        checks.check_data(cfg.data, "--data")
    checks.check_store(cfg.store, "--store")
    if cfg.out is not None:
        checks.check_out_dir(cfg.out, "--out")
