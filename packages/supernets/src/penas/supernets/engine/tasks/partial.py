"""Partial training of one architecture: ``e`` epochs of SGD with a per-epoch cosine schedule on
a fixed list of batches, resumable from a per-arch checkpoint (the early-stopping estimator's
training, :class:`penas.estimators.partial_training.PartialTrainingEstimator`).

Epoch ``e`` visits the batches in ``torch.randperm`` order seeded by ``(seed, e)``, and the
checkpoint holds the engine's full state (weights, optimizer, RNG, position), so training to
epoch 4 in one call or to 2 and then on to 4 gives the same weights. Training runs inside an RNG
fork: the caller's python/numpy/torch RNG states are restored afterwards.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checkpoint import rng_state, save_checkpoint, set_rng_state
from ..loop import LoopState, TrainLoop
from ..schedules import LRSchedule


def final_logits(out: Any) -> torch.Tensor:
    """The logits of a model output: the last element of a tuple/list, else the output."""
    return out[-1] if isinstance(out, tuple | list) else out


@dataclass(frozen=True)
class PartialRecipe:
    """SGD + cosine-over-``t_max``-epochs settings of partial training (NB201 ``LESS.config``
    defaults: lr 0.1, nesterov, wd 5e-4, ``t_max`` 200 as in the 200-epoch protocol)."""

    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = True
    t_max: int = 200
    grad_clip: float | None = 5.0
    seed: int = 0


class ShuffledBatches:
    """A fixed list of ``(x, y)`` batches, visited in an order seeded by ``(seed, epoch)``."""

    def __init__(self, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], seed: int) -> None:
        if not batches:
            raise ValueError("batches: expected at least one training batch")
        self.batches, self.seed, self.epoch = list(batches), seed, 0

    def __len__(self) -> int:
        return len(self.batches)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return (self.batches[i] for i in torch.randperm(len(self.batches), generator=g).tolist())


def _ce(model: nn.Module) -> Any:
    def loss(batch: tuple[torch.Tensor, torch.Tensor], state: LoopState) -> tuple[torch.Tensor, dict]:
        x, y = batch
        return F.cross_entropy(final_logits(model(x)), y), {}
    return loss


def train_partial(model: nn.Module, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], epochs: int,
                  recipe: PartialRecipe, checkpoint: str | os.PathLike[str] | None = None,
                  meta: dict[str, Any] | None = None, device: str | torch.device | None = None) -> int:
    """Train ``model`` to ``epochs`` epochs in total, resuming from ``checkpoint`` when it holds an
    earlier (or the same) epoch, and write the checkpoint afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        Freshly built (its initial weights are used when there is nothing to resume).
    batches : sequence of (x, y)
        One epoch's training batches.
    epochs : int
        Epochs in total after this call.
    recipe : PartialRecipe
        Optimizer / schedule settings.
    checkpoint : path, optional
        Per-arch checkpoint file (None: no resume, nothing written).
    meta : dict, optional
        Plain values stored with the checkpoint (e.g. the arch id).
    device : str or torch.device, optional
        Where to train (``model`` is moved there; batches follow step by step; AMP on CUDA).
        Checkpoints always load to the CPU first, so a CPU run resumes a CUDA one and back.

    Returns
    -------
    int
        The epochs trained by this call.
    """
    dev = torch.device(device) if device is not None else None
    if dev is not None:
        model.to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                          weight_decay=recipe.weight_decay, nesterov=recipe.nesterov and recipe.momentum > 0)
    data = ShuffledBatches(batches, recipe.seed)
    spe = len(data)
    loop = TrainLoop(model, opt, _ce(model), steps_per_epoch=spe, total_steps=epochs * spe,
                     schedule=LRSchedule("cosine", recipe.t_max, by_epoch=True), grad_clip=recipe.grad_clip, device=dev,
                     amp=dev is not None and dev.type == "cuda")
    path = Path(checkpoint) if checkpoint is not None else None
    caller_rng = rng_state()
    try:
        if path is not None and path.is_file():
            ck = torch.load(path, map_location="cpu", weights_only=True)
            if int(ck["epoch"]) <= epochs:
                if "loop" in ck:
                    loop.load_state_dict(ck)
                else:  # written before the engine: weights and optimizer only
                    model.load_state_dict(ck["model"])
                    opt.load_state_dict(ck["optimizer"])
                    loop.state = LoopState(step=int(ck["epoch"]) * spe, epoch=int(ck["epoch"]))
                    loop.apply_lr()
        start = loop.state.epoch
        if epochs > start:
            loop.run(data)
            if path is not None:
                save_checkpoint({**(meta or {}), **loop.state_dict(), "epoch": epochs}, path)
    finally:
        set_rng_state(caller_rng)
    return epochs - start


@torch.no_grad()
def accuracy(model: nn.Module, batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
             device: str | torch.device | None = None) -> float:
    """Top-1 accuracy (%) of ``model`` in eval mode over ``batches`` (NaN without samples), on
    ``device`` (default: where the model's first parameter is)."""
    model.eval()
    if device is None:
        p = next(model.parameters(), None)
        device = p.device if p is not None else "cpu"
    correct = total = 0
    for x, y in batches:
        y = y.to(device)
        correct += int((final_logits(model(x.to(device))).argmax(1) == y).sum())
        total += int(y.numel())
    return 100.0 * correct / total if total else math.nan
