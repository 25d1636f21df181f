"""``penas-app supernet train`` as a library call: SPOS-family supernet training with the
:mod:`penas.supernets.trainer` presets (resumable, a checkpoint every E epochs).

Data (``--data``, the data layer's spec :mod:`penas.spaces.datasets.spec`): ``auto`` (the
default: real CIFAR-10 under ``$PENAS_DATA/cifar10`` when present, else the PNGs, else
SYNTHETIC), ``synthetic[:N]`` (seeded Gaussian images, N = 512 by default), ``png-aug[:N]`` (the
20 shared CIFAR-10 PNGs + seeded crop/flip copies) or ``cifar10[:DIR][@SPLIT]`` (default: the
CIFAR-10 train split; e.g. ``@nb201-train``). NB201 supernets train on NB201's ``nb201-train``
half unless ``--data`` names a split (:mod:`penas.app.study.supernet_data`).

Segmentation supernets (``topformer*``, preset ``hess_topformer``) train on ``ade20k:<dir>``:
``SegDataset(dir, "training", mode="train")`` with ``--crop-size`` crops (mmseg's ADE20K train
pipeline at scale ``(4 * crop, crop)``). Each ``--data`` kind declares the task it feeds
(:data:`TRAIN_DATA`), checked against the preset's ``task``. Without ``--preset`` the supernet
class's ``default_preset`` attribute is used (``pe_nas`` when it has none).

Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) training runs as DDP through
:mod:`penas.supernets.dist`; only rank 0 writes files::

    torchrun --nproc_per_node 4 -m penas.app supernet train topformer --data ade20k:DIR --out OUT

Nothing here imports torch at import time; progress comes back through callbacks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import checks
from .._registry import TRAIN_DATA

ProgressFn = Callable[[int, int], None]
EventFn = Callable[[dict[str, Any]], None]  # the engine's progress events (step/epoch, loss, eta_s)


@dataclass
class SupernetTrainConfig:
    """``penas-app supernet train``."""

    space: str = "nb201"
    preset: str | None = None  # a penas.supernets.trainer preset (None: the supernet's default_preset)
    out: str = ""
    epochs: int | None = None  # preset overrides (None: the preset's)
    iterations: int | None = None  # schedule length in steps (iteration-based run; None: the preset's)
    batch_size: int | None = None
    lr: float | None = None
    sampler: str | None = None
    seed: int | None = None
    save_every: int = 0  # epochs; 0 = only last.pt
    max_steps: int | None = None  # stop after this many steps in total (smoke runs)
    resume: bool = False
    data: str = "auto"  # the data layer spec; auto = real CIFAR-10 when present
    channels: int | None = None  # supernet C (None: the supernet's default)
    cells: int | None = None  # supernet N
    crop_size: int = 512  # segmentation data: training crop (and the resize scale (4 * crop, crop))
    device: str = "cpu"  # cpu | cuda | cuda:K (single process; under torchrun each rank's GPU)
    workers: int = 0  # data-loading worker processes per rank (map-style data such as ade20k)
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_data(spec: str, space: Any, dataset: str) -> tuple[Any, Any, str]:
    """``(x, y, source)`` for ``--data`` (the data layer's spec; ``auto`` = real CIFAR-10 under
    ``$PENAS_DATA`` when present); one-line error naming ``--data``."""
    from penas.estimators.data import image_set

    x, y, source, _ = image_set(spec, tuple(space.input_shape(dataset)), space.num_classes(dataset))
    return x, y, source


@dataclass(frozen=True)
class TrainDataKind:
    """One ``--data`` kind of ``supernet train``: the task it feeds and its loader
    ``load(spec, space, dataset, cfg, seed) -> (data, source)``."""

    task: str
    load: Callable[[str, Any, str, SupernetTrainConfig, int], tuple[Any, str]]
    usage: str


def _classification_data(spec: str, space: Any, dataset: str, cfg: SupernetTrainConfig, seed: int
                         ) -> tuple[Any, str]:
    x, y, source = load_data(spec, space, dataset)
    return (x, y), source


def _ade20k_data(spec: str, space: Any, dataset: str, cfg: SupernetTrainConfig, seed: int) -> tuple[Any, str]:
    from penas.spaces.datasets import parse_data_spec

    from ..segmentation.data import SegDataset

    root = parse_data_spec(spec).arg  # ade20k:DIR (the parser requires the DIR)
    ds = SegDataset(root, "training", mode="train", size=cfg.crop_size, crop=cfg.crop_size, seed=seed)
    return ds, f"ade20k-training {root} ({len(ds)} images, {cfg.crop_size}px crops)"


for _name, _kind in {
    "auto": TrainDataKind("classification", _classification_data, "auto"),
    "synthetic": TrainDataKind("classification", _classification_data, "synthetic[:N]"),
    "png-aug": TrainDataKind("classification", _classification_data, "png-aug[:N]"),
    "cifar10": TrainDataKind("classification", _classification_data, "cifar10[:DIR][@SPLIT]"),
    "cifar100": TrainDataKind("classification", _classification_data, "cifar100[:DIR][@SPLIT]"),
    "imagefolder": TrainDataKind("classification", _classification_data, "imagefolder:DIR[@SPLIT]"),
    "ade20k": TrainDataKind("segmentation", _ade20k_data, "ade20k:<dir>"),
}.items():
    TRAIN_DATA.register(_name)(_kind)

#: What a bare ``--data DIR`` means for each task (``penas-app supernet train topformer --data ADE20K_DIR``).
DIR_KIND: dict[str, str] = {"classification": "cifar10", "segmentation": "ade20k"}


def load_train_data(spec: str, space: Any, dataset: str, cfg: SupernetTrainConfig, preset_name: str,
                    task: str, seed: int) -> tuple[Any, str]:
    """``(data, source)`` for ``supernet train --data``: tensors or a map-style dataset of the
    preset's ``task``; one-line error naming ``--data``."""
    from penas.supernets.trainer import PRESETS

    if spec == "auto" and task == "segmentation":  # the ADE20K under the data root, when there is one
        from penas.spaces.paths import data_root

        ade = data_root() / "ade20k" / "ADEChallengeData2016"
        if not ade.is_dir():
            raise ValueError(f"--data: no ADE20K under {ade.parent}; pass --data ade20k:DIR")
        spec = f"ade20k:{ade}"
    kind = TRAIN_DATA.get(spec.partition(":")[0].partition("@")[0], None)
    if kind is None and Path(spec).is_dir():  # a bare directory: the preset task's dataset format
        spec = f"{DIR_KIND[task]}:{spec}"
        kind = TRAIN_DATA[DIR_KIND[task]]
    if kind is None:
        raise ValueError(f"--data: expected one of {', '.join(k.usage for k in TRAIN_DATA.values())}, got {spec!r}")
    if kind.task != task:
        fits = ", ".join(k.usage for k in TRAIN_DATA.values() if k.task == task)
        others = ", ".join(n for n, p in PRESETS.items() if p.task == kind.task)
        raise ValueError(f"--data: preset {preset_name!r} trains {task} ({fits}), but {spec!r} is {kind.task} "
                         f"data (its presets: {others})")
    return kind.load(spec, space, dataset, cfg, seed)


def _device(spec: str) -> Any:
    import torch

    try:
        dev = torch.device(spec)
    except RuntimeError:
        raise ValueError(f"--device: expected cpu, cuda or cuda:K, got {spec!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device: {spec!r} requested but CUDA is not available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"--device: expected cpu, cuda or cuda:K, got {spec!r}")
    return dev


def default_preset(space_name: str) -> str:
    """The supernet class's ``default_preset`` attribute (``pe_nas`` unless the class overrides it)."""
    from penas.supernets import SUPERNETS

    return str(SUPERNETS.get(space_name).default_preset)


def _supernet_kwargs(cfg: SupernetTrainConfig) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if cfg.channels is not None:
        kw["C"] = cfg.channels
    if cfg.cells is not None:
        kw["N"] = cfg.cells
    return kw


@dataclass
class TrainSummary:
    """What :func:`run_supernet_train` did: steps/epochs reached, last loss, checkpoints written, data used."""

    out: str
    steps: int
    epochs_done: int
    total_steps: int
    last_loss: float
    checkpoints: list[str]
    data_source: str
    synthetic: bool
    resumed_from_step: int
    preset: str = ""
    is_main: bool = True  # False on DDP ranks other than 0 (they write nothing)
    world_size: int = 1


def run_supernet_train(cfg: SupernetTrainConfig, on_progress: ProgressFn | None = None,
                       on_event: EventFn | None = None) -> TrainSummary:
    """Train ``cfg.space``'s supernet; ``on_progress(done, total)`` per epoch, ``on_event(event)`` the
    engine's step/epoch events (loss, lr, ``eta_s``). Writes ``train_config.json`` (with the resolved
    training data spec) and the per-epoch JSON-lines log ``train_log.jsonl`` next to the checkpoints."""
    from penas.spaces import get_space
    from penas.supernets import SUPERNETS, get_supernet
    from penas.supernets.trainer import preset

    checks.check_space(cfg.space)
    if cfg.space not in SUPERNETS:
        raise ValueError(f"space: no supernet for {cfg.space!r}; supernets exist for: {', '.join(SUPERNETS.names())}")
    if not cfg.out:
        raise ValueError("--out: expected an output directory")
    if cfg.save_every < 0:
        raise ValueError(f"--save-every: expected a non-negative number of epochs, got {cfg.save_every}")
    if cfg.max_steps is not None and cfg.max_steps < 1:
        raise ValueError(f"--max-steps: expected a positive integer, got {cfg.max_steps}")
    if cfg.iterations is not None and cfg.iterations < 1:
        raise ValueError(f"--iterations: expected a positive integer, got {cfg.iterations}")
    if cfg.crop_size < 1:
        raise ValueError(f"--crop-size: expected a positive integer, got {cfg.crop_size}")
    if cfg.workers < 0:
        raise ValueError(f"--workers: expected a non-negative integer, got {cfg.workers}")
    preset_name = cfg.preset if cfg.preset is not None else default_preset(cfg.space)
    overrides = {k: getattr(cfg, k) for k in ("epochs", "iterations", "batch_size", "lr", "sampler", "seed")
                 if getattr(cfg, k) is not None}
    try:
        tcfg = preset(preset_name, **overrides)
    except ValueError as e:  # "batch_size: expected ..." -> the option that set it
        key, sep, rest = str(e).partition(":")
        raise ValueError(f"--{key.replace('_', '-')}:{rest}" if sep and key.isidentifier() else str(e)) from None
    if cfg.epochs is not None and tcfg.iterations is not None:
        raise ValueError(f"--epochs: preset {preset_name!r} is iteration-based ({tcfg.iterations} iterations); "
                         "set the length with --iterations")
    space = get_space(cfg.space)
    import torch

    from penas.supernets import dist as sdist

    device = None if "RANK" in os.environ else _device(cfg.device)  # under torchrun: each rank's own
    torch.manual_seed(tcfg.seed)  # deterministic initial weights (a resumed run loads its own)
    net = get_supernet(cfg.space, space=space, **_supernet_kwargs(cfg))
    dataset = net.cfg.get("dataset", space.datasets[0])
    from ..study.supernet_data import train_spec

    spec = train_spec(cfg.data, cfg.space) if tcfg.task == "classification" else cfg.data
    data, source = load_train_data(spec, space, dataset, cfg, preset_name, tcfg.task, tcfg.seed)
    ctx = sdist.init_from_env() if "RANK" in os.environ and "WORLD_SIZE" in os.environ else None
    try:
        return _train(cfg, tcfg, preset_name, net, data, source, ctx, device, on_progress, on_event, spec)
    finally:
        if ctx is not None:
            sdist.shutdown()


def _train(cfg: SupernetTrainConfig, tcfg: Any, preset_name: str, net: Any, data: Any, source: str, ctx: Any,
           device: Any, on_progress: ProgressFn | None, on_event: EventFn | None = None,
           spec: str | None = None) -> TrainSummary:
    from penas.supernets.trainer import SupernetTrainer

    from ..study.supernet_data import TRAIN_CONFIG, TRAIN_LOG

    if ctx is not None:
        device = ctx.device
    if device is not None:
        net = net.to(device)
    out = Path(cfg.out)
    trainer = SupernetTrainer(net, data, tcfg, ckpt_dir=out, resume=cfg.resume, dist=ctx,
                              device=device if ctx is None else None, num_workers=cfg.workers,
                              log_path=out / TRAIN_LOG, progress=on_event)
    start = trainer.state.step
    if trainer.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / TRAIN_CONFIG).write_text(json.dumps(
            {"command": cfg.to_dict(), "preset": preset_name, "train": tcfg.to_dict(),
             "supernet": json.loads(net.config_id()), "data": spec or cfg.data, "data_source": source,
             "world_size": ctx.world_size if ctx is not None else 1}, indent=1))
    end = trainer.total_steps if cfg.max_steps is None else min(trainer.total_steps, cfg.max_steps)
    spe = trainer.steps_per_epoch
    saved: list[str] = []
    if on_progress is not None:
        on_progress(trainer.state.step, end)
    ran = False
    while trainer.state.step < end:
        to_epoch_end = spe - trainer.state.step % spe
        trainer.run(steps=min(to_epoch_end, end - trainer.state.step))  # ends by writing last.pt
        ran = True
        if on_progress is not None:
            on_progress(trainer.state.step, end)
        ep = trainer.state.epoch
        if cfg.save_every and trainer.state.step % spe == 0 and ep % cfg.save_every == 0:
            p = trainer.save(out / f"epoch{ep:04d}.pt")
            if p is not None:
                saved.append(str(p))
    last = (trainer.checkpoint_path if trainer.is_main else None) if ran else trainer.save()
    if last is not None:
        saved.append(str(last))
    return TrainSummary(str(out), trainer.state.step, trainer.state.epoch, trainer.total_steps,
                        trainer.state.last_loss, saved, source, source.startswith("synthetic"), start,
                        preset_name, trainer.is_main, ctx.world_size if ctx is not None else 1)
