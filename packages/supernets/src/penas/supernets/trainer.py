"""SPOS-family supernet training: typed config, named presets, exact resume, DDP.

Determinism contract (what makes ``resume`` bit-exact on CPU):

* data order: epoch ``e`` visits the samples in ``torch.randperm(n)`` seeded with
  ``seed * 1_000_003 + e``; a step consumes positions ``[pos * B, (pos + 1) * B)``, the last
  partial batch is dropped;
* paths: step ``t`` draws its archs from ``np.random.default_rng([seed, t])`` (stateless, so
  every DDP rank and a resumed run draw the same paths);
* the checkpoint holds model, optimizer, scheduler, torch RNG state (dropout), step, epoch,
  position and the running epoch-loss sum; it is written atomically (tmp file + rename);
* a dataset with ``set_epoch(e)`` (e.g. the segmentation ``SegDataset``) is told the epoch
  before every batch, so its augmentation depends only on ``(seed, epoch, index)``.

Tasks (``TrainConfig.task``, registry :data:`LOSSES`): ``classification`` (cross-entropy) and
``segmentation`` (mmseg decode-head loss: logits bilinearly resized to the label size,
``align_corners=False``, cross-entropy with ``ignore_index=255`` averaged over all pixels).
Optimisers: SGD or AdamW, optionally with a decode-head parameter group at ``lr * head_lr_mult``
(mmseg ``paramwise_cfg.custom_keys``). Schedulers: per-epoch ``cosine`` / ``plateau`` and the
per-iteration ``poly`` with a linear warmup (mmcv ``PolyLrUpdaterHook``); a run is either
``epochs`` long or, with ``iterations`` set, iteration-based (mmseg ``IterBasedRunner``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Supernet
from .samplers import SAMPLERS, make_sampler

CKPT_FORMAT = "penas-supernet-ckpt/1"
SCHEDULERS = ("cosine", "plateau", "poly", "none")
OPTIMIZERS = ("sgd", "adamw")
IGNORE_INDEX = 255  # segmentation labels: mmseg's ignore value


# --- losses (registry by task) ----------------------------------------------------------------
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def classification_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of ``[B, K]`` logits against ``[B]`` class indices."""
    return F.cross_entropy(logits, target)


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mmseg decode-head loss: ``[B, K, h, w]`` logits bilinearly resized (``align_corners=False``)
    to the ``[B, H, W]`` label size, cross-entropy with ``ignore_index=255``, averaged over all
    ``B*H*W`` pixels (mmseg ``CrossEntropyLoss`` with ``avg_non_ignore=False``: ignored pixels
    count as 0, so an all-ignored batch gives 0, not NaN)."""
    if logits.shape[2:] != target.shape[1:]:
        logits = F.interpolate(logits, size=target.shape[1:], mode="bilinear", align_corners=False)
    return F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX, reduction="none").mean()


LOSSES: dict[str, LossFn] = {"classification": classification_loss, "segmentation": segmentation_loss}


def pixelwise_kd_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """HESS ``CriterionPixelWise``: ``sum(-softmax(teacher) * log_softmax(student)) / (h * w)``
    over ``[B, K, h, w]`` logits (summed over the batch, averaged over pixels); teacher detached."""
    if student.ndim != 4 or student.shape != teacher.shape:
        raise ValueError(f"distill: 'kd' needs two [B, K, h, w] logits of one shape, got {tuple(student.shape)} "
                         f"and {tuple(teacher.shape)}")
    p = teacher.detach().softmax(dim=1)
    return -(p * student.log_softmax(dim=1)).sum() / (student.shape[2] * student.shape[3])


# in-place distillation (registry by name): the step's first path (the sandwich's largest) takes the
# task loss, every other path this loss against the first path's detached logits; the terms are summed
DISTILL: dict[str, LossFn] = {"kd": pixelwise_kd_loss}


class CheckpointError(ValueError):
    """A checkpoint is unreadable or belongs to another supernet/training setup (one line)."""


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a supernet training run (override with ``dataclasses.replace``)."""

    epochs: int = 50
    batch_size: int = 64
    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 3e-4
    nesterov: bool = False
    scheduler: str = "cosine"  # cosine (per epoch, to min_lr) | plateau | none
    min_lr: float = 0.0
    plateau_patience: int = 30  # ReduceLROnPlateau on the epoch-mean train loss (aw_nas)
    plateau_factor: float = 0.5
    grad_clip: float | None = 5.0
    seed: int = 0
    checkpoint_every: int = 0  # steps; 0 = only at the end of run()
    sampler: str = "uniform"
    paths_per_step: int = 1
    # --- added for segmentation (issue 9); the defaults keep the older presets unchanged ---
    optimizer: str = "sgd"  # sgd (momentum, nesterov) | adamw (betas)
    betas: tuple[float, float] = (0.9, 0.999)
    head_lr_mult: float = 1.0  # lr (and so AdamW's decoupled decay) x mult on the head_prefixes parameters
    head_prefixes: tuple[str, ...] = ()  # parameter-name prefixes of the decode head, e.g. ("head.",)
    iterations: int | None = None  # iteration-based run of this many steps (then `epochs` is unused)
    warmup_iters: int = 0  # poly only: linear warmup over the first steps (mmcv 'linear')
    warmup_ratio: float = 0.1  # warmup starts at warmup_ratio * the scheduled lr (mmcv default 0.1)
    poly_power: float = 1.0
    task: str = "classification"  # a LOSSES key: classification | segmentation
    distill: str | None = None  # a DISTILL key (in-place distillation from the first path), None: mean task loss

    def __post_init__(self) -> None:
        for f in ("epochs", "batch_size", "paths_per_step"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{f}: expected a positive integer, got {v!r}")
        if self.iterations is not None and (
            isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 1
        ):
            raise ValueError(f"iterations: expected a positive integer or None, got {self.iterations!r}")
        for f in ("checkpoint_every", "plateau_patience", "seed", "warmup_iters"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{f}: expected a non-negative integer, got {v!r}")
        for f in ("lr", "momentum", "weight_decay", "min_lr", "poly_power"):
            v = getattr(self, f)
            if not isinstance(v, int | float) or isinstance(v, bool) or not np.isfinite(v) or v < 0:
                raise ValueError(f"{f}: expected a finite non-negative number, got {v!r}")
        if not 0.0 < self.plateau_factor < 1.0:
            raise ValueError(f"plateau_factor: expected a number in (0, 1), got {self.plateau_factor!r}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler: expected one of {SCHEDULERS}, got {self.scheduler!r}")
        if self.grad_clip is not None and not (isinstance(self.grad_clip, int | float) and self.grad_clip > 0):
            raise ValueError(f"grad_clip: expected a positive number or None, got {self.grad_clip!r}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler: expected one of {SAMPLERS.names()}, got {self.sampler!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {self.optimizer!r}")
        if len(self.betas) != 2 or not all(isinstance(b, int | float) and 0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas: expected two numbers in [0, 1), got {self.betas!r}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        object.__setattr__(self, "head_prefixes", tuple(self.head_prefixes))
        if not (isinstance(self.head_lr_mult, int | float) and np.isfinite(self.head_lr_mult)
                and self.head_lr_mult > 0):
            raise ValueError(f"head_lr_mult: expected a positive number, got {self.head_lr_mult!r}")
        if self.head_lr_mult != 1.0 and not self.head_prefixes:
            raise ValueError("head_lr_mult: needs head_prefixes (the decode head's parameter-name prefixes)")
        if not 0.0 < self.warmup_ratio <= 1.0:
            raise ValueError(f"warmup_ratio: expected a number in (0, 1], got {self.warmup_ratio!r}")
        if self.warmup_iters and self.scheduler != "poly":
            raise ValueError(f"warmup_iters: only the per-iteration 'poly' scheduler has a warmup, "
                             f"not {self.scheduler!r}")
        if self.task not in LOSSES:
            raise ValueError(f"task: expected one of {sorted(LOSSES)}, got {self.task!r}")
        if self.distill is not None and self.distill not in DISTILL:
            raise ValueError(f"distill: expected None or one of {sorted(DISTILL)}, got {self.distill!r}")
        if self.distill == "kd" and self.task != "segmentation":
            raise ValueError("distill: 'kd' is the pixel-wise (segmentation) distillation; task is "
                             f"{self.task!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# fields added after checkpoint format 1 was written: left out of a checkpoint's identity while at
# their defaults, so checkpoints of the older presets still resume
_LATER_FIELDS = {
    f.name: f.default for f in dataclasses.fields(TrainConfig)
    if f.name in ("optimizer", "betas", "head_lr_mult", "head_prefixes", "iterations", "warmup_iters",
                  "warmup_ratio", "poly_power", "task", "distill")
}


PRESETS: dict[str, TrainConfig] = {
    # aw_nas surgery nb201/deiso_plateaulr.yaml
    "aw_nas_nb201": TrainConfig(
        epochs=1400, batch_size=512, lr=0.05, momentum=0.9, weight_decay=5e-4, scheduler="plateau",
        grad_clip=5.0, sampler="deiso",
    ),
    # PE-NAS OneShot_PE (SPOS, RAND sampler), NB201 / NB301: cosine to 0
    "pe_nas": TrainConfig(
        epochs=50, batch_size=64, lr=0.025, momentum=0.9, weight_decay=3e-4, scheduler="cosine",
        min_lr=0.0, grad_clip=5.0, sampler="uniform",
    ),
    # PE-NAS on NAS-Bench-Macro: cosine to 0.001
    "pe_nas_macro": TrainConfig(
        epochs=50, batch_size=64, lr=0.025, momentum=0.9, weight_decay=3e-4, scheduler="cosine",
        min_lr=0.001, grad_clip=5.0, sampler="uniform",
    ),
    # HESS / TopFormer mmseg ADE20K recipe (spec pe_nas.md 3.5; HESS hess_4x8_ade20k_fix_*.py):
    # AdamW 1.2e-4, wd 0.01, decode head ("head.", mmseg custom_keys 'head') lr x10, poly (power 1,
    # min_lr 0) stepped per iteration with a 1500-iteration linear warmup from 1e-6 x lr, 160k
    # iterations (`epochs` unused), sandwich rule with 4 paths (largest, smallest, 2 random) and
    # HESS's pixel-wise in-place distillation from the largest (distiller 'kd').
    # batch_size 16 = 4 images per GPU x 4 GPUs: the spec gives 4 images/GPU but not the GPU count
    # (HESS's config names say 4x8, i.e. 32 on 8 GPUs: override with --batch-size 32).
    "hess_topformer": TrainConfig(
        epochs=1, iterations=160_000, batch_size=16, optimizer="adamw", lr=1.2e-4, betas=(0.9, 0.999),
        weight_decay=0.01, head_lr_mult=10.0, head_prefixes=("head.",), scheduler="poly", poly_power=1.0,
        min_lr=0.0, warmup_iters=1500, warmup_ratio=1e-6, grad_clip=None, sampler="sandwich",
        paths_per_step=4, task="segmentation", distill="kd",
    ),
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """A named preset with fields overridden (unknown fields raise)."""
    if name not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {name!r}")
    bad = set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)}
    if bad:
        raise ValueError(f"overrides: unknown TrainConfig field(s) {sorted(bad)}")
    return dataclasses.replace(PRESETS[name], **overrides)


# --- data -------------------------------------------------------------------------------------
class IndexedData:
    """Random access to ``(x, y)``: a pair of tensors or a map-style dataset of pairs."""

    def __init__(self, data: Any) -> None:
        if isinstance(data, tuple | list) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
            x, y = data
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"data: x has {x.shape[0]} samples but y has {y.shape[0]}")
            self._x, self._y, self._ds = x, y, None
        elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):
            self._x = self._y = None
            self._ds = data
        else:
            raise ValueError("data: expected an (x, y) pair of tensors or a map-style dataset of (x, y)")

    def __len__(self) -> int:
        return int(self._x.shape[0]) if self._x is not None else len(self._ds)

    def set_epoch(self, epoch: int) -> None:
        """Forward the epoch to a dataset whose augmentation depends on it (``set_epoch``)."""
        if self._ds is not None and hasattr(self._ds, "set_epoch"):
            self._ds.set_epoch(epoch)

    @property
    def is_dataset(self) -> bool:
        return self._ds is not None

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._x is not None:
            return self._x[idx], self._y[idx]
        return collate([self._ds[int(i)] for i in idx])

    def loader(self, batches: list[list[int]], num_workers: int, pin_memory: bool = False) -> Any:
        """An iterator over ``batches`` (index lists) loaded by ``num_workers`` worker processes;
        the same batches as :meth:`batch` when items depend only on (index, epoch)."""
        from torch.utils.data import DataLoader

        # its own generator: creating the iterator must not consume the global torch RNG (dropout)
        return iter(DataLoader(self._ds, batch_sampler=batches, num_workers=num_workers, collate_fn=collate,
                               pin_memory=pin_memory, generator=torch.Generator().manual_seed(0)))


def collate(items: Sequence[tuple[Any, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(x, y)`` items: dense targets (masks) are stacked, scalar ones become class indices."""
    x = torch.stack([torch.as_tensor(a) for a, _ in items])
    if all(isinstance(b, torch.Tensor) and b.ndim > 0 for _, b in items):
        return x, torch.stack([b.long() for _, b in items])
    return x, torch.as_tensor([int(b) for _, b in items])


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


# --- the multi-path loss module (what DDP wraps) -----------------------------------------------
class MultiPathLoss(nn.Module):
    """The supernet's loss over ``archs`` on one batch (one forward for DDP): the mean task loss
    (default: cross-entropy) or, with ``distill_fn``, the first path's task loss plus the sum of
    every other path's distillation loss against the first path's detached logits (HESS/BigNAS)."""

    def __init__(self, supernet: Supernet, loss_fn: LossFn = classification_loss,
                 distill_fn: LossFn | None = None) -> None:
        super().__init__()
        self.supernet = supernet
        self.loss_fn = loss_fn
        self.distill_fn = distill_fn

    def forward(self, x: torch.Tensor, y: torch.Tensor, archs: Sequence[Any]) -> torch.Tensor:
        if self.distill_fn is None:
            return sum(self.loss_fn(self.supernet(x, a), y) for a in archs) / len(archs)
        teacher = self.supernet(x, archs[0])
        loss = self.loss_fn(teacher, y)
        soft = teacher.detach()
        for a in archs[1:]:
            loss = loss + self.distill_fn(self.supernet(x, a), soft)
        return loss


# --- optimiser and the per-iteration scheduler -------------------------------------------------
def param_groups(supernet: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """One group, or (with ``head_prefixes``) [rest, head at ``lr * head_lr_mult``]."""
    if not config.head_prefixes:
        return [{"params": list(supernet.parameters())}]
    head, rest = [], []
    for name, p in supernet.named_parameters():
        (head if name.startswith(config.head_prefixes) else rest).append(p)
    if not head:
        raise ValueError(f"head_prefixes: no parameter of supernet {getattr(supernet, 'name', '?')!r} starts "
                         f"with {config.head_prefixes}")
    return [{"params": rest}, {"params": head, "lr": config.lr * config.head_lr_mult}]


def make_optimizer(supernet: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    groups = param_groups(supernet, config)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                           nesterov=config.nesterov)


class PolyWarmupLR:
    """mmcv ``PolyLrUpdaterHook(by_epoch=False)`` with ``warmup='linear'``, stateless in the step.

    At step ``t`` (0-based, of ``total``) each group's lr is
    ``poly = (base - min_lr) * (1 - t / total) ** power + min_lr`` and, while ``t < warmup_iters``,
    ``poly * (1 - (1 - t / warmup_iters) * (1 - warmup_ratio))`` (so step 0 uses
    ``warmup_ratio * base``). ``base`` is the group's initial lr (the head's includes its multiplier).
    """

    per_iteration = True

    def __init__(self, optimizer: torch.optim.Optimizer, total: int, power: float = 1.0, min_lr: float = 0.0,
                 warmup_iters: int = 0, warmup_ratio: float = 0.1) -> None:
        self.optimizer = optimizer
        self.total, self.power, self.min_lr = total, power, min_lr
        self.warmup_iters, self.warmup_ratio = warmup_iters, warmup_ratio
        self.base_lrs = [float(g["lr"]) for g in optimizer.param_groups]

    def lr_at(self, step: int) -> list[float]:
        t = min(step, self.total)
        coeff = (1.0 - t / self.total) ** self.power
        lrs = [(b - self.min_lr) * coeff + self.min_lr for b in self.base_lrs]
        if t < self.warmup_iters:
            k = (1.0 - t / self.warmup_iters) * (1.0 - self.warmup_ratio)
            lrs = [lr * (1.0 - k) for lr in lrs]
        return lrs

    def apply(self, step: int) -> None:
        for g, lr in zip(self.optimizer.param_groups, self.lr_at(step), strict=True):
            g["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        return {"base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lrs = [float(b) for b in state["base_lrs"]]


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    pos: int = 0  # batches consumed in the current epoch
    loss_sum: float = 0.0
    loss_n: int = 0
    last_loss: float = float("nan")


class SupernetTrainer:
    """Trains a :class:`Supernet` with SGD or AdamW and one of the path samplers.

    ``data``: an ``(x, y)`` pair of tensors or a map-style dataset. ``ckpt_dir``: where
    ``last.pt`` goes; with ``resume=True`` an existing one is loaded (and must match).
    ``dist``: a :class:`penas.supernets.dist.DistContext` for DDP (None: single process).
    ``on_step(trainer, archs, loss)`` is called after every step (rank-local).
    ``device``: where batches go without DDP (the supernet must already be there); under DDP the
    ``dist`` context's device is used. ``num_workers`` > 0: a map-style dataset is loaded by that
    many worker processes (a ``DataLoader`` over the same batches; not part of the checkpoint
    identity), so items must depend only on their index and the epoch.
    """

    def __init__(
        self,
        supernet: Supernet,
        data: Any,
        config: TrainConfig,
        ckpt_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        dist: Any = None,
        on_step: Callable[[SupernetTrainer, list[Any], float], None] | None = None,
        device: str | torch.device | None = None,
        num_workers: int = 0,
    ) -> None:
        self.supernet = supernet
        self.data = IndexedData(data)
        self.config = config
        self.ckpt_dir = Path(ckpt_dir) if ckpt_dir is not None else None
        self.dist = dist
        self.on_step = on_step
        self.sampler = make_sampler(config.sampler, supernet, config.paths_per_step)
        self.device = dist.device if dist is not None and dist.device is not None else (
            torch.device(device) if device is not None else None)
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers: expected a non-negative integer, got {num_workers!r}")
        self.num_workers = num_workers if self.data.is_dataset else 0
        self._loader: Any = None
        self._loader_at: tuple[int, int] | None = None  # (epoch, pos) the loader yields next
        if len(self.data) < config.batch_size:
            raise ValueError(f"batch_size: {config.batch_size} exceeds the {len(self.data)} training samples")
        self.steps_per_epoch = len(self.data) // config.batch_size
        world = dist.world_size if dist is not None else 1
        if config.batch_size % world:
            raise ValueError(f"batch_size: {config.batch_size} is not divisible by the world size {world}")
        self.loss_module: nn.Module = MultiPathLoss(
            supernet, LOSSES[config.task], DISTILL[config.distill] if config.distill is not None else None)
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.loss_module = DistributedDataParallel(self.loss_module, find_unused_parameters=True)
        self.optimizer = make_optimizer(supernet, config)
        self.scheduler = self._make_scheduler()
        self.state = TrainState()
        if resume:
            if self.ckpt_dir is None:
                raise ValueError("resume: needs ckpt_dir")
            if self.checkpoint_path.is_file():
                self.load(self.checkpoint_path)
        self._apply_iteration_lr()

    # --- setup ------------------------------------------------------------------------------
    def _make_scheduler(self) -> Any:
        c = self.config
        if c.scheduler == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=c.epochs, eta_min=c.min_lr)
        if c.scheduler == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="min", factor=c.plateau_factor, patience=c.plateau_patience
            )
        if c.scheduler == "poly":
            return PolyWarmupLR(self.optimizer, self.total_steps, c.poly_power, c.min_lr, c.warmup_iters,
                                c.warmup_ratio)
        return None

    def _apply_iteration_lr(self) -> None:
        """Set a per-iteration scheduler's lr for the next step (``self.state.step``)."""
        if getattr(self.scheduler, "per_iteration", False):
            self.scheduler.apply(self.state.step)

    @property
    def total_steps(self) -> int:
        c = self.config
        return c.iterations if c.iterations is not None else c.epochs * self.steps_per_epoch

    @property
    def checkpoint_path(self) -> Path:
        if self.ckpt_dir is None:
            raise ValueError("ckpt_dir: no checkpoint directory was given")
        return self.ckpt_dir / "last.pt"

    @property
    def is_main(self) -> bool:
        return self.dist is None or self.dist.rank == 0

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # --- one step ---------------------------------------------------------------------------
    def paths_at(self, step: int) -> list[Any]:
        """The archs step ``step`` trains (same on every rank and after a resume)."""
        return self.sampler.draw(np.random.default_rng([self.config.seed, step]))

    def _indices(self, order: torch.Tensor, pos: int) -> torch.Tensor:
        """This rank's sample indices of batch ``pos`` of an epoch ``order``."""
        b = self.config.batch_size
        idx = order[pos * b : (pos + 1) * b]
        if self.dist is not None and self.dist.world_size > 1:
            idx = idx[self.dist.rank :: self.dist.world_size]
        return idx

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        c, s = self.config, self.state
        if self.num_workers:
            if self._loader_at != (s.epoch, s.pos):  # new epoch, resume or first step: restart the loader
                order = epoch_order(len(self.data), c.seed, s.epoch)
                self.data.set_epoch(s.epoch)  # before the workers start (they copy the dataset)
                batches = [self._indices(order, p).tolist() for p in range(s.pos, self.steps_per_epoch)]
                pin = self.device is not None and self.device.type == "cuda"
                self._loader = self.data.loader(batches, self.num_workers, pin_memory=pin)
            x, y = next(self._loader)
            self._loader_at = (s.epoch, s.pos + 1)
        else:
            self.data.set_epoch(s.epoch)
            x, y = self.data.batch(self._indices(epoch_order(len(self.data), c.seed, s.epoch), s.pos))
        if self.device is not None:
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        return x, y

    def train_step(self) -> float:
        c, s = self.config, self.state
        archs = self.paths_at(s.step)
        x, y = self._batch()
        self._apply_iteration_lr()
        self.supernet.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_module(x, y, archs)
        loss.backward()
        if c.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.supernet.parameters(), c.grad_clip)
        self.optimizer.step()
        value = float(loss.detach())
        s.step += 1
        s.pos += 1
        s.loss_sum += value
        s.loss_n += 1
        s.last_loss = value
        if s.pos >= self.steps_per_epoch:
            self._end_epoch()
        self._apply_iteration_lr()
        if self.on_step is not None:
            self.on_step(self, archs, value)
        return value

    def _end_epoch(self) -> None:
        s = self.state
        mean_loss = s.loss_sum / max(s.loss_n, 1)
        if self.dist is not None and self.dist.world_size > 1:
            t = torch.tensor([mean_loss], dtype=torch.float64)
            torch.distributed.all_reduce(t)
            mean_loss = float(t.item()) / self.dist.world_size
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(mean_loss)
        elif self.scheduler is not None and not getattr(self.scheduler, "per_iteration", False):
            self.scheduler.step()
        s.epoch += 1
        s.pos = 0
        s.loss_sum, s.loss_n = 0.0, 0

    def run(self, steps: int | None = None) -> TrainState:
        """Train ``steps`` more steps (default: until ``epochs`` are done); checkpoint as configured."""
        end = self.total_steps if steps is None else min(self.total_steps, self.state.step + steps)
        every = self.config.checkpoint_every
        while self.state.step < end:
            self.train_step()
            if every and self.ckpt_dir is not None and self.state.step % every == 0:
                self.save()
        if self.ckpt_dir is not None:
            self.save()
        return self.state

    # --- checkpoints ------------------------------------------------------------------------
    def _identity(self) -> dict[str, Any]:
        train = {k: v for k, v in self.config.to_dict().items()
                 if k != "checkpoint_every" and not (k in _LATER_FIELDS and v == _LATER_FIELDS[k])}
        return {"supernet": self.supernet.config_id(), "train": json.dumps(train, sort_keys=True)}

    def state_dict(self) -> dict[str, Any]:
        s = self.state
        return {
            "format": CKPT_FORMAT,
            **self._identity(),
            "model": self.supernet.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
            "torch_rng": torch.get_rng_state(),
            "step": s.step, "epoch": s.epoch, "pos": s.pos,
            "loss_sum": s.loss_sum, "loss_n": s.loss_n, "last_loss": s.last_loss,
        }

    def save(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Atomic write (rank 0 only under DDP). Returns the path written."""
        if not self.is_main:
            return None
        p = Path(path) if path is not None else self.checkpoint_path
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
        torch.save(self.state_dict(), tmp)
        os.replace(tmp, p)
        return p

    def load(self, path: str | os.PathLike[str]) -> None:
        ck = read_checkpoint(path)
        mine = self._identity()
        for key, what in (("supernet", "supernet config"), ("train", "training config")):
            if ck.get(key) != mine[key]:
                raise CheckpointError(
                    f"checkpoint: {path} was written for another {what} ({ck.get(key)} != {mine[key]})"
                )
        self.supernet.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["torch_rng"])
        self.state = TrainState(
            int(ck["step"]), int(ck["epoch"]), int(ck["pos"]), float(ck["loss_sum"]), int(ck["loss_n"]),
            float(ck["last_loss"]),
        )
        self._apply_iteration_lr()


_REQUIRED = ("format", "supernet", "train", "model", "optimizer", "scheduler", "torch_rng", "step", "epoch", "pos")


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a trainer checkpoint with ``weights_only=True``; one-line :class:`CheckpointError` if bad."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint: no file at {p}")
    try:
        ck = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling/zip failure means a corrupt file
        msg = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint: {p} is corrupted or not a penas checkpoint ({msg})") from None
    if not isinstance(ck, dict) or ck.get("format") != CKPT_FORMAT or any(k not in ck for k in _REQUIRED):
        raise CheckpointError(f"checkpoint: {p} is not a {CKPT_FORMAT} file")
    return ck


def load_supernet_weights(supernet: Supernet, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load only the model weights of a trainer checkpoint into ``supernet`` (config checked)."""
    ck = read_checkpoint(path)
    if ck["supernet"] != supernet.config_id():
        raise CheckpointError(
            f"checkpoint: {path} was written for another supernet config ({ck['supernet']} != {supernet.config_id()})"
        )
    supernet.load_state_dict(ck["model"])
    return ck
