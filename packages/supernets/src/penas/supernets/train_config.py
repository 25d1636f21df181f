"""Supernet training configuration: the typed :class:`TrainConfig` and its named presets.

Optimisers: SGD or AdamW, optionally with a decode-head parameter group at ``lr * head_lr_mult``
(mmseg ``paramwise_cfg.custom_keys``). Schedulers (closed forms in
:mod:`penas.supernets.engine.schedules`): per-epoch ``cosine`` / ``plateau`` and the
per-iteration ``poly`` with a linear warmup (mmcv ``PolyLrUpdaterHook``); a run is either
``epochs`` long or, with ``iterations`` set, iteration-based (mmseg ``IterBasedRunner``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .losses import DISTILL, LOSSES  # importing the module registers the losses
from .samplers import SAMPLERS

SCHEDULERS = ("cosine", "plateau", "poly", "none")
OPTIMIZERS = ("sgd", "adamw")


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
