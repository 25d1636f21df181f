"""``penas-app supernet train|eval``: supernet training with the trainer presets and one-shot
scores per checkpoint into a score store (see :mod:`penas.app.study.supernet`). Options map 1:1
onto :class:`~penas.app.study.supernet.SupernetTrainConfig` / ``SupernetEvalConfig``."""

from __future__ import annotations

import os

import typer

from ..cli import app
from ..configs import defaults
from ..study.supernet import SupernetEvalConfig, SupernetTrainConfig

_T = defaults(SupernetTrainConfig)
_E = defaults(SupernetEvalConfig)

supernet_app = typer.Typer(help="Train supernets and score archs with their checkpoints.", no_args_is_help=True)
app.add_typer(supernet_app, name="supernet")


def _bar(console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


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
    data: str = typer.Option(_T["data"], help="synthetic[:N] | png-aug[:N] | cifar10:<dir> | ade20k:<dir> "
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

    from ..study.supernet import run_supernet_train

    cfg = SupernetTrainConfig(space=space, preset=preset, out=out, epochs=epochs, iterations=iterations,
                              batch_size=batch_size, lr=lr, sampler=sampler, seed=seed, save_every=save_every,
                              max_steps=max_steps, resume=resume, data=data, channels=channels, cells=cells,
                              crop_size=crop_size, device=device, workers=workers, progress=progress)
    console = Console()
    progress = progress and int(os.environ.get("RANK", "0")) == 0  # one bar under torchrun
    if progress:
        with _bar(console) as bar:
            task = bar.add_task(f"supernet {space}", total=None)
            res = run_supernet_train(cfg, on_progress=lambda d, t: bar.update(task, completed=d, total=t))
    else:
        res = run_supernet_train(cfg)
    if not res.is_main:
        return
    if res.synthetic:
        console.print(f"[yellow]note: trained on synthetic data ({res.data_source})[/yellow]", soft_wrap=True)
    if res.resumed_from_step:
        console.print(f"resumed at step {res.resumed_from_step}", soft_wrap=True)
    ranks = f", {res.world_size} ranks" if res.world_size > 1 else ""
    console.print(f"{space}: preset {res.preset}{ranks}; step {res.steps}/{res.total_steps}, epoch {res.epochs_done}, "
                  f"last loss {res.last_loss:.4f}; data {res.data_source}; checkpoints: {', '.join(res.checkpoints)}",
                  soft_wrap=True)


@supernet_app.command("eval")
def evaluate(
    space: str = typer.Argument(..., help="Search space name."),
    checkpoints: list[str] = typer.Option(..., help="Trainer checkpoints (repeat the option per file)."),
    archs: str = typer.Option(_E["archs"], help="all | deiso | sample:N | FILE of arch ids."),
    sample_seed: int = typer.Option(_E["sample_seed"]),
    bn_mode: str = typer.Option(_E["bn_mode"], help="train | recalibrate | no_track"),
    per_batch: bool = typer.Option(False, "--per-batch/--no-per-batch", help="Also write per-batch scores (CSV)."),
    metric: str = typer.Option(_E["metric"], help="acc | loss"),
    store: str = typer.Option(..., help="SQLite score store (stored scores are reused)."),
    data: str = typer.Option(_E["data"], help="synthetic[:N] | png-aug[:N] | cifar10:<dir>"),
    batch_size: int = typer.Option(_E["batch_size"]),
    n_batches: int = typer.Option(None, help="Held-out batches per arch (default: all)."),
    holdout: float = typer.Option(_E["holdout"], help="Held-out fraction at the end of the data."),
    out: str = typer.Option(None, help="Directory of the per-batch CSVs (default: the store's)."),
    progress: bool = typer.Option(_E["progress"], "--progress/--no-progress"),
) -> None:
    """One-shot scores of ARCHS under every checkpoint into the store."""
    from rich.console import Console
    from rich.table import Table

    from ..study.supernet import run_supernet_eval

    cfg = SupernetEvalConfig(space=space, checkpoints=list(checkpoints), archs=archs, sample_seed=sample_seed,
                             bn_mode=bn_mode, per_batch=per_batch, metric=metric, store=store, data=data,
                             batch_size=batch_size, n_batches=n_batches, holdout=holdout, out=out, progress=progress)
    console = Console()
    if progress:
        with _bar(console) as bar:
            task = bar.add_task(f"one-shot {space}", total=None)
            rows, source, synthetic = run_supernet_eval(cfg, on_progress=lambda d, t: bar.update(task, completed=d,
                                                                                                  total=t))
    else:
        rows, source, synthetic = run_supernet_eval(cfg)
    if synthetic:
        console.print(f"[yellow]note: scored on synthetic data ({source})[/yellow]", soft_wrap=True)
    t = Table(title=f"{space}: one-shot ({bn_mode} BN, {metric})")
    for h in ("checkpoint", "epoch", "step", "config_hash", "archs", "computed", "mean score"):
        t.add_column(h, justify="left" if h in ("checkpoint", "config_hash") else "right")
    for r in rows:
        t.add_row(r.checkpoint, str(r.epoch), str(r.step), r.config_hash, str(r.n_archs), str(r.n_computed),
                  f"{r.mean_score:.4f}")
    console.print(t)
    console.print(f"scores in {store}" + "".join(f"; per-batch {r.per_batch_csv}" for r in rows if r.per_batch_csv),
                  soft_wrap=True)
