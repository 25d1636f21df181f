"""Training losses of the supernet task (registries by name) and the multi-path loss module.

Tasks (``TrainConfig.task``, registry :data:`LOSSES`): ``classification`` (cross-entropy) and
``segmentation`` (mmseg decode-head loss: logits bilinearly resized to the label size,
``align_corners=False``, cross-entropy with ``ignore_index=255`` averaged over all pixels).
In-place distillation (:data:`DISTILL`): HESS's pixel-wise KD from the step's first path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._registry import DISTILL, LOSSES

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


LOSSES.register("classification")(classification_loss)
LOSSES.register("segmentation")(segmentation_loss)


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
DISTILL.register("kd")(pixelwise_kd_loss)


# --- the multi-path loss module (what DDP wraps) -----------------------------------------------
def top1_counts(logits: Any, target: torch.Tensor) -> dict[str, float]:
    """``{"correct", "seen"}`` of class logits ``(N, C)`` against labels ``(N,)``; ``{}`` for other outputs
    (dense predictions)."""
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or target.dim() != 1:
        return {}
    with torch.no_grad():
        return {"correct": float((logits.argmax(1) == target).sum()), "seen": float(target.numel())}


class MultiPathLoss(nn.Module):
    """The supernet's loss over ``archs`` on one batch (one forward for DDP): the mean task loss
    (default: cross-entropy) or, with ``distill_fn``, the first path's task loss plus the sum of
    every other path's distillation loss against the first path's detached logits (HESS/BigNAS)."""

    def __init__(self, supernet: nn.Module, loss_fn: LossFn = classification_loss,
                 distill_fn: LossFn | None = None) -> None:
        super().__init__()
        self.supernet = supernet
        self.loss_fn = loss_fn
        self.distill_fn = distill_fn

    def forward(self, x: torch.Tensor, y: torch.Tensor, archs: Sequence[Any]) -> torch.Tensor:
        self.counts: dict[str, float] = {}  # the first path's top-1 counts (classification), for the epoch log
        if self.distill_fn is None:
            loss: Any = 0
            for i, a in enumerate(archs):
                out = self.supernet(x, a)
                if i == 0:
                    self.counts = top1_counts(out, y)
                loss = loss + self.loss_fn(out, y)
            return loss / len(archs)
        teacher = self.supernet(x, archs[0])
        self.counts = top1_counts(teacher, y)
        loss = self.loss_fn(teacher, y)
        soft = teacher.detach()
        for a in archs[1:]:
            loss = loss + self.distill_fn(self.supernet(x, a), soft)
        return loss
