"""``penas-app segmentation eval|show``: ADE20K evaluation and cost of TopFormer configs.

``penas-app segmentation eval --config cfg.json --data ADE20K_DIR [--checkpoint supernet.pt]``
prints mIoU, aAcc, mAcc and per-class IoU (single scale, test scale (4*size, size)); with a
supernet checkpoint its subnet is evaluated after BN recalibration on the training split.
``penas-app segmentation show cfg.json`` prints GFLOPs (512x512) and params. Options map 1:1
onto :class:`~penas.app.segmentation.evaluate.SegEvalConfig` / ``SegShowConfig``.
"""

from __future__ import annotations

from dataclasses import asdict

import typer

from ..segmentation.evaluate import SegEvalConfig
from ..segmentation.show import SegShowConfig
from ._app import app

_E = asdict(SegEvalConfig())
_S = asdict(SegShowConfig())

segmentation_app = typer.Typer(help="Semantic segmentation (ADE20K, TopFormer space): evaluate, show.",
                               no_args_is_help=True)
app.add_typer(segmentation_app, name="segmentation")


def _fmt(v: float) -> str:
    return "nan" if v != v else f"{v * 100:.2f}"


@segmentation_app.command("eval")
def eval_(
    config: str = typer.Option(..., help="JSON file (or inline JSON) of the TopFormer config."),
    data: str = typer.Option(..., help="ADE20K directory: images/{training,validation}, annotations/{...}."),
    space: str = typer.Option(_E["space"], help="topformer | topformer_small | topformer_tiny"),
    checkpoint: str = typer.Option(None, help="Supernet trainer checkpoint: evaluate its subnet (BN recalibrated)."),
    calib_batches: int = typer.Option(_E["calib_batches"], help="BN recalibration batches (with --checkpoint)."),
    calib_batch_size: int = typer.Option(_E["calib_batch_size"], help="BN recalibration batch size."),
    limit: int = typer.Option(None, help="Evaluate only the first N validation images."),
    size: int = typer.Option(_E["size"], help="Test scale (4*SIZE, SIZE), keep ratio; calibration crop SIZE."),
    seed: int = typer.Option(_E["seed"], help="Seed of the calibration batches and augmentation."),
    device: str = typer.Option(_E["device"], help="torch device (cpu, cuda, cuda:1, ...)."),
    out: str = typer.Option(None, help="Result JSON (a per-class CSV is written next to it)."),
    metric_backend: str = typer.Option(_E["metric_backend"], help="Who counts the pixels: penas | torchmetrics | "
                                                                  "mmseg (same mmseg IoUMetric definition)."),
    progress: bool = typer.Option(_E["progress"], "--progress/--no-progress"),
) -> None:
    """mIoU / pixel accuracy / per-class IoU of a TopFormer config on ADE20K-format data."""
    from rich.console import Console
    from rich.table import Table

    from ..segmentation.data import ADE20K_CLASSES
    from ..segmentation.evaluate import run_eval

    cfg = SegEvalConfig(config=config, data=data, space=space, checkpoint=checkpoint, calib_batches=calib_batches,
                        calib_batch_size=calib_batch_size, limit=limit, size=size, seed=seed, device=device,
                        out=out, metric_backend=metric_backend, progress=progress)
    console = Console()
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=True) as bar:
            tasks: dict[str, int] = {}

            def on_progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            res = run_eval(cfg, on_progress=on_progress)
    else:
        res = run_eval(cfg)
    s = res.scores
    t = Table(title=f"{res.space}: per-class IoU ({s.n_images} images, classes present in pred or label)")
    for h in ("class", "name", "IoU %", "Acc %", "label px"):
        t.add_column(h, justify="left" if h == "name" else "right")
    for c, name, iou, acc in s.rows(ADE20K_CLASSES if s.num_classes == len(ADE20K_CLASSES) else None):
        if s.area_union[c] > 0:
            t.add_row(str(c), name, _fmt(iou), _fmt(acc), str(s.area_label[c]))
    console.print(t)
    how = "supernet subnet, BN recalibrated" if res.recalibrated else "standalone build (random init)"
    console.print(f"{res.space} ({how}): mIoU {_fmt(s.miou)}  aAcc {_fmt(s.pixel_acc)}  mAcc {_fmt(s.mean_acc)}  "
                  f"[{res.flops / 1e9:.2f} GFLOPs, {res.params / 1e6:.2f} M params]", soft_wrap=True)
    if out is not None:
        console.print(f"wrote {out} and its _per_class.csv", soft_wrap=True)


@segmentation_app.command("show")
def show(
    config: str = typer.Argument(..., help="JSON file (or inline JSON) of the TopFormer config."),
    space: str = typer.Option(_S["space"], help="topformer | topformer_small | topformer_tiny"),
    size: int = typer.Option(_S["size"], help="Input resolution of the FLOPs count (SIZE x SIZE)."),
) -> None:
    """GFLOPs and parameters (M) of a TopFormer config."""
    from rich.console import Console

    from ..segmentation.show import run_show

    r = run_show(SegShowConfig(config=config, space=space, size=size))
    line = f"{r.space}: {r.flops / 1e9:.2f} GFLOPs at {r.size}x{r.size}, {r.params / 1e6:.2f} M params"
    if r.seed_name is not None:
        line += f" (PE-NAS Ours-{r.seed_name}: {r.published_gflops} G published)"
    Console().print(line, soft_wrap=True)
    Console().print(r.config_id, soft_wrap=True, highlight=False)
