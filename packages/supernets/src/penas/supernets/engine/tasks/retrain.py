"""The stand-alone retraining task: cross-entropy (+ label smoothing) + auxiliary head + drop-path,
EMA, evaluation after every epoch, ``best.pt`` / ``checkpoint.pt`` on the engine's loop.

Run directory::

    OUT/recipe.json        the recipe + ``meta`` of the run (a resume checks the recipe)
    OUT/checkpoint.pt      last finished epoch: model, optimizer, schedule, EMA, full RNG state,
                           epoch, best accuracy; written atomically, loads with ``weights_only=True``
    OUT/best.pt            model (or EMA) weights of the best test accuracy so far
    OUT/log.jsonl          one JSON line per epoch
    OUT/report.json        final report: ``meta`` + best/last accuracy, epochs done

``recipe``: any object with the fields ``name, epochs, lr, momentum, nesterov, weight_decay,
schedule, warmup_epochs, label_smoothing, auxiliary_weight, grad_clip, ema_decay`` and the methods
``drop_path_at(epoch)`` and ``to_dict()`` (``penas.app.training.recipes.Recipe``). The lr follows
:class:`~penas.supernets.engine.schedules.LRSchedule` per epoch with a per-step ``ramp`` warm-up.
A model returning ``(logits, aux_logits)`` gets the auxiliary loss; ``model.drop_path_prob`` is set
to ``recipe.drop_path_at(epoch)`` before every step. ``train`` / ``test``: loaders with
``epoch(e)`` (or iterables with ``set_epoch``) and ``len()``; data order is seeded per epoch and the
RNG states are restored, so an interrupted run resumed with :meth:`RetrainTask.resume` ends with
the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checkpoint import CheckpointSaver
from ..distributed import DistContext, all_reduce_sum, wrap_ddp
from ..io import atomic_write_json
from ..loop import LoopState, TrainLoop, epoch_batches
from ..schedules import LRSchedule

CHECKPOINT = "checkpoint.pt"


def split_logits(out: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(logits, aux)`` of a model output that is either logits or a ``(logits, aux)`` pair."""
    return (out[0], out[1]) if isinstance(out, tuple) else (out, None)


def recipe_schedule(recipe: Any) -> LRSchedule:
    """The recipe's lr schedule: ``schedule`` over ``epochs`` after a ``warmup_epochs`` ramp."""
    return LRSchedule(recipe.schedule, recipe.epochs, by_epoch=True, warmup=recipe.warmup_epochs,
                      warmup_mode="ramp")


@dataclass
class RetrainTask:
    """Trains ``model`` with ``recipe``; :meth:`fit` returns the final report dict.

    ``progress(event)`` receives the loop's step/epoch events (with ``eta_s``), ``on_epoch(record)``
    every epoch's log record. Only the main rank writes files.
    """

    recipe: Any
    model: nn.Module
    train: Any
    test: Any
    out: Path
    meta: dict[str, Any]  # arch, dataset, params, flops ... written to recipe.json / report.json
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dist: DistContext = field(default_factory=DistContext)
    progress: Callable[[dict[str, Any]], None] | bool | None = None
    on_epoch: Callable[[dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        r = self.recipe
        self.out = Path(self.out)
        self.model.to(self.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=r.lr, momentum=r.momentum,
                                         weight_decay=r.weight_decay, nesterov=r.nesterov)
        self.net: nn.Module = wrap_ddp(self.model, self.dist, self.device)
        self.saver = CheckpointSaver(self.out, last=CHECKPOINT, best="best.pt", is_main=self.dist.is_main)
        progress = self.progress if callable(self.progress) else None
        self.loop = TrainLoop(self.model, self.optimizer, self._loss, steps_per_epoch=max(1, len(self.train)),
                              total_steps=r.epochs * max(1, len(self.train)), schedule=recipe_schedule(r),
                              grad_clip=r.grad_clip, ema_decay=r.ema_decay, device=self.device, dist=self.dist,
                              log_path=self.out / "log.jsonl" if self.dist.is_main else None, progress=progress,
                              epoch_hook=self._end_epoch)
        self._hooks = True
        self._last: dict[str, Any] = {}

    # --- properties of the run ---------------------------------------------------------------
    @property
    def start_epoch(self) -> int:
        return self.loop.state.epoch

    @property
    def best_acc(self) -> float:
        return 0.0 if self.saver.best_metric is None else max(0.0, self.saver.best_metric)

    @property
    def ema(self) -> dict[str, torch.Tensor] | None:
        return self.loop.ema.state_dict() if self.loop.ema is not None else None

    # --- one step / one epoch -----------------------------------------------------------------
    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor], state: LoopState) -> tuple[torch.Tensor, dict]:
        r = self.recipe
        x, y = batch
        self.model.drop_path_prob = r.drop_path_at(state.epoch)  # read by DARTS networks; harmless elsewhere
        logits, aux = split_logits(self.net(x))
        loss = F.cross_entropy(logits, y, label_smoothing=r.label_smoothing)
        if aux is not None and r.auxiliary_weight:
            loss = loss + r.auxiliary_weight * F.cross_entropy(aux, y, label_smoothing=r.label_smoothing)
        return loss, {"n": len(y), "correct": int((logits.argmax(1) == y).sum())}

    def train_epoch(self, epoch: int) -> LoopState:
        """Train the whole of ``epoch`` (no evaluation, checkpoint or log): for benchmarks."""
        spe = self.loop.steps_per_epoch
        self.loop.state = LoopState(step=epoch * spe, epoch=epoch)
        self._hooks = False
        try:
            return self.loop.run(self.train, epochs=1)
        finally:
            self._hooks = True

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float, int]:
        """Mean loss, accuracy (%) and image count on ``test`` (EMA weights when kept), over all ranks."""
        model = self.model
        swap = self.loop.ema.swapped_into(model) if self.loop.ema is not None else None
        if swap is not None:
            swap.__enter__()
        try:
            model.eval()
            loss = correct = count = 0.0
            for x, y in epoch_batches(self.test, 0):
                x, y = x.to(self.device), y.to(self.device)
                logits, _ = split_logits(model(x))
                loss += float(F.cross_entropy(logits, y)) * len(y)
                correct += int((logits.argmax(1) == y).sum())
                count += len(y)
        finally:
            if swap is not None:
                swap.__exit__()
        if self.dist.world_size > 1:
            loss, correct, count = all_reduce_sum([loss, correct, count],
                                                  self.device if self.device.type == "cuda" else None)
        return loss / max(1, count), 100.0 * correct / max(1, count), int(count)

    def _end_epoch(self, rec: dict[str, Any]) -> dict[str, Any] | None:
        if not self._hooks:
            return None
        r, epoch = self.recipe, rec["epoch"] - 1
        te_loss, te_acc, te_n = self.evaluate()
        n = max(1, rec.get("n", 0))
        self.saver.save(lambda: self.state(epoch + 1), metric=te_acc,
                        best_state=lambda: self.ema if self.ema is not None else self.model.state_dict())
        last = {"epoch": epoch + 1, "lr": rec["lr"], "drop_path": r.drop_path_at(epoch),
                "train_loss": rec["train_loss"], "train_acc": 100.0 * rec.get("correct", 0) / n,
                "test_loss": te_loss, "test_acc": te_acc, "best_acc": self.best_acc,
                "train_images": int(rec.get("n", 0)), "test_images": te_n, "world_size": self.dist.world_size,
                "epoch_s": rec["epoch_s"]}
        self._last = last
        if self.on_epoch:
            self.on_epoch(last)
        return last

    # --- checkpointing --------------------------------------------------------------------------
    def state(self, epoch: int) -> dict[str, Any]:
        loop = self.loop.state_dict()
        return {**loop, "epoch": epoch, "best_acc": self.best_acc,
                "scheduler": {"epoch": epoch, "lr": self.optimizer.param_groups[0]["lr"]},
                "recipe": self.recipe.to_dict()}

    def resume(self) -> None:
        path = self.out / CHECKPOINT
        if not path.is_file():
            raise FileNotFoundError(f"--resume: no {CHECKPOINT} in {self.out}; start without --resume")
        ck = torch.load(path, map_location=self.device, weights_only=True)
        if ck["recipe"] != self.recipe.to_dict():
            diff = sorted(k for k, v in self.recipe.to_dict().items() if ck["recipe"].get(k) != v)
            raise ValueError(f"--resume: the recipe differs from the checkpoint's in {diff}")
        spe = self.loop.steps_per_epoch
        epoch = int(ck["epoch"])
        self.loop.load_state_dict({**ck, "scheduler": {},
                                   "loop": ck.get("loop", {"step": epoch * spe, "epoch": epoch})})
        self.saver.best_metric = float(ck["best_acc"])

    def fit(self, stop_after: int | None = None,
            progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Train from ``start_epoch`` to ``recipe.epochs`` (at most ``stop_after`` epochs in this call);
        ``progress`` (if given) receives this call's events instead of the constructor's."""
        r = self.recipe
        if progress is not None:
            self.loop.progress = progress
        main = self.dist.is_main
        if main:
            atomic_write_json(self.out / "recipe.json", {"recipe": r.to_dict(), **self.meta}, indent=2,
                              sort_keys=True, trailing_newline=True)
        end = r.epochs if stop_after is None else min(r.epochs, self.start_epoch + stop_after)
        self._last: dict[str, Any] = {}
        if end > self.start_epoch:
            self.loop.run(self.train, epochs=end - self.start_epoch)
        last = self._last
        report = {**self.meta, "recipe": r.name, "epochs_done": end, "epochs": r.epochs,
                  "finished": end >= r.epochs, "best_acc": self.best_acc,
                  "last_acc": last.get("test_acc", math.nan) if last else self._last_logged_acc()}
        if main:
            atomic_write_json(self.out / "report.json", report, indent=2, sort_keys=True, trailing_newline=True)
        return report

    def _last_logged_acc(self) -> float:
        log = self.out / "log.jsonl"
        if not log.is_file():
            return math.nan
        lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
        return float(json.loads(lines[-1])["test_acc"]) if lines else math.nan
