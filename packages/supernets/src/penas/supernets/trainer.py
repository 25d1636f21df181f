"""SPOS-family supernet training: typed config, named presets, exact resume, DDP.

The public face of supernet training. The pieces live where they belong:

* :mod:`penas.supernets.train_config` -- :class:`TrainConfig`, :data:`PRESETS`, :func:`preset`;
* :mod:`penas.supernets.losses` -- the task losses (:data:`LOSSES`), in-place distillation
  (:data:`DISTILL`) and :class:`MultiPathLoss`;
* :mod:`penas.supernets.engine.tasks.supernet` -- :class:`SupernetTrainer` (the supernet task of
  the one training engine, :mod:`penas.supernets.engine`), its data order, checkpoint format and
  determinism contract (bit-exact resume on CPU, the same paths on every DDP rank).
"""

from __future__ import annotations

from .engine.checkpoint import CheckpointError
from .engine.tasks.supernet import (
    CKPT_FORMAT,
    IndexedData,
    PolyWarmupLR,
    SupernetBatches,
    SupernetTrainer,
    TrainState,
    collate,
    epoch_order,
    load_supernet_weights,
    make_optimizer,
    param_groups,
    read_checkpoint,
)
from .losses import (
    DISTILL,
    IGNORE_INDEX,
    LOSSES,
    LossFn,
    MultiPathLoss,
    classification_loss,
    pixelwise_kd_loss,
    segmentation_loss,
)
from .train_config import _LATER_FIELDS, OPTIMIZERS, PRESETS, SCHEDULERS, TrainConfig, preset

__all__ = [
    "CKPT_FORMAT", "DISTILL", "IGNORE_INDEX", "LOSSES", "OPTIMIZERS", "PRESETS", "SCHEDULERS", "_LATER_FIELDS",
    "CheckpointError", "IndexedData", "LossFn", "MultiPathLoss", "PolyWarmupLR", "SupernetBatches",
    "SupernetTrainer", "TrainConfig", "TrainState", "classification_loss", "collate", "epoch_order",
    "load_supernet_weights", "make_optimizer", "param_groups", "pixelwise_kd_loss", "preset", "read_checkpoint",
    "segmentation_loss",
]
