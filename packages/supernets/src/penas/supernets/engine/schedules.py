"""THE learning-rate schedules of penas: cosine, poly, linear, constant, with a linear warm-up,
stepped per iteration or per epoch; and the metric-driven plateau reduction.

An :class:`LRSchedule` is stateless: the lr of a step is a closed-form function of
``(step, epoch, position in the epoch)``, so a resumed run needs no scheduler state. Each
parameter group keeps its own base lr (e.g. a decode head at 10x) and the same schedule factor
applies to all of them. Closed forms (``t`` = progress in [0, 1], ``b`` = base, ``m`` = ``min_lr``):

* ``cosine``   ``m + (b - m) * (1 + cos(pi * t)) / 2``
* ``linear``   ``m + (b - m) * (1 - t)``
* ``poly``     ``m + (b - m) * (1 - t) ** power``
* ``constant`` ``b``

Warm-up (``warmup`` > 0), two published forms:

* ``warmup_mode="mmcv"`` (per-iteration schedules, mmcv ``warmup='linear'``): while
  ``step < warmup`` the scheduled lr is multiplied by ``1 - (1 - step / warmup) * (1 - warmup_ratio)``
  (step 0 uses ``warmup_ratio`` times the lr); progress ``t = step / total`` runs over the whole run.
* ``warmup_mode="ramp"`` (per-epoch schedules, PC-DARTS ImageNet): during the first ``warmup``
  epochs the lr is ``b * (i + 1) / (warmup * steps_per_epoch)`` at the run's ``i``-th iteration; after
  it ``t = (epoch - warmup) / (total - warmup)`` (constant within an epoch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("cosine", "linear", "poly", "constant")
WARMUP_MODES = ("mmcv", "ramp")


def anneal(kind: str, base: float, t: float, min_lr: float = 0.0, power: float = 1.0) -> float:
    """The lr at progress ``t`` in [0, 1] from ``base`` down to ``min_lr`` (see the module docs)."""
    t = min(max(t, 0.0), 1.0)
    if kind == "cosine":
        return min_lr + (base - min_lr) * (1 + math.cos(math.pi * t)) / 2
    if kind == "linear":
        return min_lr + (base - min_lr) * (1 - t)
    if kind == "poly":
        return (base - min_lr) * (1 - t) ** power + min_lr
    if kind == "constant":
        return base
    raise ValueError(f"schedule: expected one of {KINDS}, got {kind!r}")


def mmcv_warmup_factor(step: int, warmup: int, ratio: float) -> float:
    """mmcv linear warm-up: ``1 - (1 - step / warmup) * (1 - ratio)`` while ``step < warmup``, else 1."""
    if step >= warmup:
        return 1.0
    return 1.0 - (1.0 - step / warmup) * (1.0 - ratio)


@dataclass(frozen=True)
class LRSchedule:
    """A closed-form schedule (see the module docs).

    Parameters
    ----------
    kind : str
        ``cosine`` | ``linear`` | ``poly`` | ``constant``.
    total : int
        Length of the run in the schedule's unit (iterations, or epochs when ``by_epoch``).
    by_epoch : bool
        Progress counted in finished epochs (constant within an epoch) instead of iterations.
    min_lr, power : float
        Floor of the annealing and the ``poly`` exponent.
    warmup : int
        Warm-up length in the schedule's unit (0: none).
    warmup_ratio : float
        ``mmcv`` warm-up: the fraction of the lr at step 0.
    warmup_mode : str
        ``mmcv`` or ``ramp`` (see the module docs).
    """

    kind: str = "cosine"
    total: int = 1
    by_epoch: bool = False
    min_lr: float = 0.0
    power: float = 1.0
    warmup: int = 0
    warmup_ratio: float = 0.1
    warmup_mode: str = "mmcv"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"schedule: expected one of {KINDS}, got {self.kind!r}")
        if self.warmup_mode not in WARMUP_MODES:
            raise ValueError(f"warmup_mode: expected one of {WARMUP_MODES}, got {self.warmup_mode!r}")
        if isinstance(self.total, bool) or not isinstance(self.total, int) or self.total < 1:
            raise ValueError(f"total: expected a positive integer, got {self.total!r}")
        if self.warmup < 0:
            raise ValueError(f"warmup: expected a non-negative integer, got {self.warmup!r}")

    def lr(self, base: float, step: int, epoch: int = 0, pos: int = 0, steps_per_epoch: int = 1) -> float:
        """The lr of iteration ``step`` (0-based; it is batch ``pos`` of epoch ``epoch``)."""
        if not self.by_epoch:
            t = min(step, self.total)
            return anneal(self.kind, base, t / self.total, self.min_lr, self.power) * \
                mmcv_warmup_factor(t, self.warmup, self.warmup_ratio)
        if self.warmup and epoch < self.warmup:
            if self.warmup_mode == "ramp":
                return base * (epoch * steps_per_epoch + pos + 1) / (self.warmup * steps_per_epoch)
            factor = mmcv_warmup_factor(epoch * steps_per_epoch + pos, self.warmup * steps_per_epoch,
                                        self.warmup_ratio)
            return anneal(self.kind, base, 0.0, self.min_lr, self.power) * factor
        span = max(1, self.total - self.warmup)
        return anneal(self.kind, base, (epoch - self.warmup) / span, self.min_lr, self.power)

    def lrs(self, bases: Sequence[float], step: int, epoch: int = 0, pos: int = 0,
            steps_per_epoch: int = 1) -> list[float]:
        """:meth:`lr` for every parameter group's base lr."""
        return [self.lr(b, step, epoch, pos, steps_per_epoch) for b in bases]


class Plateau:
    """Reduce the lr by ``factor`` when a minimised metric stops improving for ``patience`` epochs
    (``torch.optim.lr_scheduler.ReduceLROnPlateau``'s rule: relative threshold 1e-4, no cooldown,
    changes smaller than ``eps`` are skipped). Stateful: its :meth:`state_dict` is plain values."""

    def __init__(self, lrs: Sequence[float], factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 min_lr: float = 0.0, eps: float = 1e-8) -> None:
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor: expected a number in (0, 1), got {factor!r}")
        self.lrs = [float(v) for v in lrs]
        self.factor, self.patience, self.threshold, self.min_lr, self.eps = factor, patience, threshold, min_lr, eps
        self.best = math.inf
        self.num_bad_epochs = 0

    def step(self, metric: float) -> list[float]:
        """Record one epoch's metric; the (possibly reduced) lrs."""
        if metric < self.best * (1.0 - self.threshold):
            self.best, self.num_bad_epochs = float(metric), 0
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            new = [max(lr * self.factor, self.min_lr) for lr in self.lrs]
            self.lrs = [n if lr - n > self.eps else lr for lr, n in zip(self.lrs, new, strict=True)]
            self.num_bad_epochs = 0
        return list(self.lrs)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "num_bad_epochs": self.num_bad_epochs, "lrs": list(self.lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Also reads a ``ReduceLROnPlateau`` state dict (older supernet checkpoints)."""
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        lrs = state.get("lrs", state.get("_last_lr"))
        if lrs is not None:
            self.lrs = [float(v) for v in lrs]


class BoundSchedule:
    """An :class:`LRSchedule` bound to an optimizer's base lrs: ``lr_at(step)`` (one lr per
    group) and ``apply(step)``; ``steps_per_epoch`` maps a step to its epoch for per-epoch schedules."""

    def __init__(self, optimizer: Any, schedule: LRSchedule, steps_per_epoch: int = 1,
                 base_lrs: Sequence[float] | None = None) -> None:
        self.optimizer, self.schedule, self.steps_per_epoch = optimizer, schedule, steps_per_epoch
        self.base_lrs = [float(b) for b in base_lrs] if base_lrs is not None else \
            [float(g["lr"]) for g in optimizer.param_groups]
        self.per_iteration = not schedule.by_epoch

    def lr_at(self, step: int) -> list[float]:
        spe = self.steps_per_epoch
        return self.schedule.lrs(self.base_lrs, step, step // spe, step % spe, spe)

    def apply(self, step: int) -> None:
        for g, lr in zip(self.optimizer.param_groups, self.lr_at(step), strict=True):
            g["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        return {"base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lrs = [float(b) for b in state["base_lrs"]]
