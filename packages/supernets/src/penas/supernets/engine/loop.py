"""THE training loop of penas: one optimizer step at a time, epochs of an iterable of batches.

:class:`TrainLoop` owns what every training task shares -- lr schedule (per iteration or per
epoch, several parameter groups), gradient clipping, EMA of the weights, AMP (CUDA only: on the
CPU it is off), the epoch meter (loss and any per-step counts, summed over DDP ranks), the
checkpointable state (:meth:`TrainLoop.state_dict`: model, optimizer, schedule, EMA, AMP scaler,
the full RNG state and the loop position) and the reporting: a JSON-lines log (one line per epoch,
plus one every ``log_every`` steps) and a ``progress(event: dict) -> None`` callback with ETA. What
a task adds is its loss (``loss_fn(batch, state) -> (loss, counts)``), its data and what happens at
the end of an epoch (``epoch_hook``: evaluation, checkpoints).

Data: an iterable of batches per epoch. Before each epoch the loop calls ``data.set_epoch(epoch)``
when the data has it (deterministic shuffling / augmentation), then iterates it (or iterates
``data.epoch(epoch)`` when the data is a loader with such a method); a resumed run
continues mid-epoch through ``data.iter_from(pos)`` when available (else the first ``pos`` batches
are skipped). An epoch ends after ``steps_per_epoch`` steps (or when the iterable runs out).

Resume is bit-exact when the data order depends only on ``(seed, epoch)`` and the loss's random
draws only on the global RNGs (restored from the checkpoint) or on ``state.step``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .checkpoint import rng_state, set_rng_state
from .distributed import DistContext, all_reduce_sum
from .ema import ModelEma
from .io import append_jsonl
from .schedules import LRSchedule, Plateau

LossFn = Callable[[Any, "LoopState"], tuple[torch.Tensor, dict[str, float]]]
Progress = Callable[[dict[str, Any]], None]


def train_mode(model: nn.Module) -> None:
    """``model.train()`` at a fraction of its per-step cost on a supernet of thousands of modules.

    The same result: every module's ``training`` flag is set (a module that overrides ``train``
    gets its own ``train(True)`` call, which handles its children). ``Module.train`` walks the
    tree through ``named_modules`` and assigns every flag through ``Module.__setattr__``; on
    NB201's C=16 supernet (5,735 modules) that is about 19 ms a step, 4 % of a cheap path's step.
    Here the walk reads ``_modules`` directly and assigns only the flags that are off.
    """
    stack = [model]
    while stack:
        m = stack.pop()
        if type(m).train is not nn.Module.train:
            m.train(True)
            continue
        if not m.training:
            m.training = True
        stack.extend(c for c in m._modules.values() if c is not None)


@dataclass
class LoopState:
    """Where a run stands: steps done, epochs finished, batches of the current epoch consumed, and
    the current epoch's meter (``loss_sum`` weighted by the step's ``n`` count when it gives one)."""

    step: int = 0
    epoch: int = 0
    pos: int = 0
    loss_sum: float = 0.0
    loss_n: int | float = 0
    last_loss: float = float("nan")
    last_lr: float = float("nan")
    sums: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "epoch": self.epoch, "pos": self.pos, "loss_sum": self.loss_sum,
                "loss_n": self.loss_n, "last_loss": self.last_loss, "last_lr": self.last_lr, "sums": dict(self.sums)}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> LoopState:
        n = d.get("loss_n", 0)
        return LoopState(int(d["step"]), int(d["epoch"]), int(d.get("pos", 0)), float(d.get("loss_sum", 0.0)),
                         int(n) if float(n).is_integer() else float(n), float(d.get("last_loss", math.nan)),
                         float(d.get("last_lr", math.nan)), {k: float(v) for k, v in d.get("sums", {}).items()})


def to_device(batch: Any, device: torch.device | None) -> Any:
    """Move a tensor or a tuple/list of tensors to ``device`` (non-blocking)."""
    if device is None:
        return batch
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(b, device) for b in batch)
    return batch


def epoch_batches(data: Iterable[Any], epoch: int, start: int = 0) -> Iterator[Any]:
    """The batches of ``epoch`` from position ``start`` (``set_epoch`` / ``iter_from`` when present)."""
    if hasattr(data, "set_epoch"):
        data.set_epoch(epoch)
    if start and hasattr(data, "iter_from"):
        return iter(data.iter_from(start))
    it = iter(data.epoch(epoch)) if callable(getattr(data, "epoch", None)) else iter(data)
    return itertools.islice(it, start, None) if start else it


def head_param_groups(module: nn.Module, lr: float, head_prefixes: tuple[str, ...] = (),
                      head_lr_mult: float = 1.0) -> list[dict[str, Any]]:
    """Parameter groups: everything in one group, or ``[rest, head at lr * head_lr_mult]`` where the
    head is the parameters whose names start with one of ``head_prefixes`` (mmseg ``custom_keys``).
    Without a matching parameter the head group is left out."""
    if not head_prefixes:
        return [{"params": list(module.parameters())}]
    head, rest = [], []
    for name, p in module.named_parameters():
        (head if name.startswith(tuple(head_prefixes)) else rest).append(p)
    return [{"params": rest}] + ([{"params": head, "lr": lr * head_lr_mult}] if head else [])


class TrainLoop:
    """One optimizer step at a time (see the module docs).

    Parameters
    ----------
    model : torch.nn.Module
        The trained weights (clipped, averaged, checkpointed); the forward pass is ``loss_fn``'s.
    optimizer : torch.optim.Optimizer
        Its groups' initial lrs are the schedule's base lrs.
    loss_fn : callable
        ``loss_fn(batch, state) -> (loss, counts)``; ``counts`` (plain numbers, may be empty) are
        summed over the epoch; an ``n`` count weights the epoch-mean loss.
    steps_per_epoch, total_steps : int
        Epoch length and run length in steps.
    schedule : LRSchedule, optional
        Closed-form lr per step; ``plateau`` instead: reduced on the epoch-mean loss.
    grad_clip : float, optional
        Max global grad norm (falsy: off).
    ema_decay : float, optional
        EMA of the weights (falsy: off), see :attr:`ema`.
    amp : bool
        Mixed precision (float16 autocast + grad scaling) when ``device`` is CUDA; ignored on CPU.
    device : torch.device, optional
        Where batches are moved before ``loss_fn``.
    dist : DistContext, optional
        Epoch meters are summed over its ranks; only its main rank writes the log.
    log_path : path, optional
        JSON-lines log: one line per epoch (and per ``log_every`` steps when > 0).
    progress : callable, optional
        ``progress(event)`` with ``event`` in ``step`` / ``epoch`` and ``eta_s``.
    epoch_hook : callable, optional
        ``epoch_hook(record) -> record | None`` at the end of every epoch (after the state moved
        to the next epoch): evaluate, checkpoint, and return the record to log.
    step_hook : callable, optional
        ``step_hook(loss)`` after every step (and after the epoch hook when the step ended an epoch).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn, *,
                 steps_per_epoch: int, total_steps: int, schedule: LRSchedule | None = None,
                 plateau: Plateau | None = None, grad_clip: float | None = None, ema_decay: float | None = None,
                 amp: bool = False, device: torch.device | None = None, dist: DistContext | None = None,
                 log_path: str | Path | None = None, log_every: int = 0, progress: Progress | None = None,
                 epoch_hook: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
                 step_hook: Callable[[float], None] | None = None) -> None:
        if steps_per_epoch < 1 or total_steps < 0:
            raise ValueError(f"steps_per_epoch/total_steps: expected positive integers, got "
                             f"{steps_per_epoch}/{total_steps}")
        if schedule is not None and plateau is not None:
            raise ValueError("schedule: give a closed-form schedule or a plateau rule, not both")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.schedule, self.plateau = schedule, plateau
        self.grad_clip = grad_clip
        self.ema = ModelEma(model, ema_decay) if ema_decay else None
        self.device, self.dist = device, dist
        self.amp = bool(amp) and device is not None and device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if self.amp else None
        self.log_path = Path(log_path) if log_path is not None else None
        self.log_every, self.progress, self.epoch_hook, self.step_hook = log_every, progress, epoch_hook, step_hook
        self.base_lrs = [float(g["lr"]) for g in optimizer.param_groups]
        self.state = LoopState()
        self._t0: float | None = None
        self._t0_step = 0
        self._epoch_t0: float | None = None
        self.apply_lr()

    # --- lr ---------------------------------------------------------------------------------
    @property
    def is_main(self) -> bool:
        return self.dist is None or self.dist.is_main

    @property
    def lr(self) -> float:
        """The lr the next step uses (first parameter group)."""
        return float(self.optimizer.param_groups[0]["lr"])

    def lrs_at(self, step: int, epoch: int, pos: int) -> list[float] | None:
        if self.plateau is not None:
            return list(self.plateau.lrs)
        if self.schedule is not None:
            return self.schedule.lrs(self.base_lrs, step, epoch, pos, self.steps_per_epoch)
        return None

    def apply_lr(self) -> None:
        """Set every group's lr for the next step (``state``)."""
        s = self.state
        lrs = self.lrs_at(s.step, s.epoch, s.pos)
        if lrs is not None:
            for g, lr in zip(self.optimizer.param_groups, lrs, strict=True):
                g["lr"] = lr

    # --- one step ---------------------------------------------------------------------------
    def _stepped_params(self) -> list[torch.Tensor]:
        """The parameters the optimizer updates that have a gradient this step: what clipping
        bounds (and what AMP unscaled); read from the optimizer's lists, not by walking the model."""
        return [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]

    def train_step(self, batch: Any) -> float:
        """One optimizer step on ``batch``; returns the step's loss."""
        s = self.state
        if self._t0 is None:
            self._t0, self._t0_step = time.perf_counter(), s.step
        if self._epoch_t0 is None:
            self._epoch_t0 = time.perf_counter()
        batch = to_device(batch, self.device)
        self.apply_lr()
        train_mode(self.model)
        self.optimizer.zero_grad(set_to_none=True)
        if self.amp:
            with torch.autocast("cuda", dtype=torch.float16):
                loss, counts = self.loss_fn(batch, s)
            self.scaler.scale(loss).backward()
            if self.grad_clip:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self._stepped_params(), self.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss, counts = self.loss_fn(batch, s)
            loss.backward()
            if self.grad_clip:
                nn.utils.clip_grad_norm_(self._stepped_params(), self.grad_clip)
            self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)
        value = float(loss.detach())
        n = counts.get("n", 1)
        s.last_lr = self.lr
        s.step += 1
        s.pos += 1
        s.loss_sum += value * n if "n" in counts else value
        s.loss_n += n
        s.last_loss = value
        for k, v in counts.items():
            s.sums[k] = s.sums.get(k, 0.0) + float(v)
        if self.log_every and s.step % self.log_every == 0 and self.is_main and self.log_path is not None:
            append_jsonl(self.log_path, {"step": s.step, "epoch": s.epoch, "loss": value, "lr": s.last_lr})
        if self.progress is not None:
            self.progress({"event": "step", "step": s.step, "total_steps": self.total_steps, "epoch": s.epoch,
                           "pos": s.pos, "loss": value, "lr": s.last_lr, "eta_s": self.eta_s()})
        if s.pos >= self.steps_per_epoch:
            self.end_epoch()
        self.apply_lr()
        if self.step_hook is not None:
            self.step_hook(value)
        return value

    def eta_s(self) -> float:
        """Seconds to ``total_steps`` at this run's mean step time so far."""
        done = self.state.step - self._t0_step
        if self._t0 is None or done <= 0:
            return math.nan
        return (time.perf_counter() - self._t0) / done * max(0, self.total_steps - self.state.step)

    def end_epoch(self) -> dict[str, Any]:
        """Close the current epoch: reduce its meter over the ranks, step a plateau rule, move the
        state to the next epoch, run the epoch hook, log and report. Returns the epoch record."""
        s = self.state
        keys = sorted(s.sums)
        tot = [s.loss_sum, float(s.loss_n), *(s.sums[k] for k in keys)]
        if self.dist is not None and self.dist.world_size > 1:  # NCCL reduces CUDA tensors only
            tot = all_reduce_sum(tot, self.device if self.device is not None and self.device.type == "cuda" else None)
        mean_loss = tot[0] / max(tot[1], 1)
        if self.plateau is not None:
            self.plateau.step(mean_loss)
        record: dict[str, Any] = {"epoch": s.epoch + 1, "step": s.step, "lr": s.last_lr, "train_loss": mean_loss,
                                  **{k: v for k, v in zip(keys, tot[2:], strict=True)},
                                  "epoch_s": time.perf_counter() - (self._epoch_t0 or time.perf_counter())}
        if record.get("seen"):  # top-1 counts of a classification task: the epoch's training accuracy
            record["train_acc"] = 100.0 * record["correct"] / record["seen"]
        s.epoch += 1
        s.pos = 0
        s.loss_sum, s.loss_n, s.sums = 0.0, 0, {}
        self._epoch_t0 = None
        if self.epoch_hook is not None:
            record = self.epoch_hook(record) or record
        if self.is_main and self.log_path is not None:
            append_jsonl(self.log_path, record)
        if self.progress is not None:
            self.progress({"event": "epoch", **record, "total_steps": self.total_steps, "eta_s": self.eta_s()})
        return record

    # --- runs -------------------------------------------------------------------------------
    def run(self, data: Iterable[Any], steps: int | None = None, epochs: int | None = None) -> LoopState:
        """Train until ``total_steps``, or ``steps`` more steps, or the end of ``epochs`` more epochs."""
        s = self.state
        end = self.total_steps
        if steps is not None:
            end = min(end, s.step + steps)
        if epochs is not None:
            end = min(end, (s.epoch + epochs) * self.steps_per_epoch)
        while s.step < end:
            epoch = s.epoch
            for batch in epoch_batches(data, s.epoch, s.pos):
                self.train_step(batch)
                if s.step >= end or s.epoch != epoch:
                    break
            else:  # the iterable ran out before steps_per_epoch
                if s.epoch == epoch:
                    if s.pos == 0:
                        raise ValueError(f"data: epoch {epoch} yielded no batch")
                    self.end_epoch()
        return s

    # --- checkpoint state -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Model, optimizer, schedule, EMA, AMP scaler, full RNG state and loop position (tensors and
        plain values only: loadable with ``weights_only=True``)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.plateau.state_dict() if self.plateau is not None else {},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng_state(),
            "loop": self.state.to_dict(),
        }

    def load_state_dict(self, ck: dict[str, Any], *, model: bool = True) -> None:
        """Restore what :meth:`state_dict` wrote (``model=False``: the caller loads the weights)."""
        if model:
            self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.plateau is not None and ck.get("scheduler"):
            self.plateau.load_state_dict(ck["scheduler"])
        if self.ema is not None and ck.get("ema") is not None:
            self.ema.load_state_dict(ck["ema"])
        if self.scaler is not None and ck.get("scaler") is not None:
            self.scaler.load_state_dict(ck["scaler"])
        if "rng" in ck:
            set_rng_state(ck["rng"])
        if "loop" in ck:
            self.state = LoopState.from_dict(ck["loop"])
        self.apply_lr()
