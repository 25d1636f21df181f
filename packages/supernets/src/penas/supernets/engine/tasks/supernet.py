"""The supernet training task (SPOS family: uniform / deiso / FairNAS / sandwich paths, optional
in-place distillation) on the engine's :class:`~penas.supernets.engine.loop.TrainLoop`.

Determinism contract (what makes ``resume`` bit-exact on CPU):

* data order: epoch ``e`` visits the samples in ``torch.randperm(n)`` seeded with
  ``seed * 1_000_003 + e``; a step consumes positions ``[pos * B, (pos + 1) * B)``, the last
  partial batch is dropped;
* paths: step ``t`` draws its archs from ``np.random.default_rng([seed, t])`` (stateless, so
  every DDP rank and a resumed run draw the same paths);
* the checkpoint holds model, optimizer, plateau state, the full RNG state (python, numpy, torch,
  CUDA), step, epoch, position and the running epoch-loss sum; it is written atomically;
* a dataset with ``set_epoch(e)`` (e.g. the segmentation ``SegDataset``) is told the epoch
  before every batch, so its augmentation depends only on ``(seed, epoch, index)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ...base import Supernet
from ...losses import DISTILL, LOSSES, MultiPathLoss
from ...samplers import make_sampler
from ...train_config import _LATER_FIELDS, TrainConfig
from ..checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ..distributed import wrap_ddp
from ..loop import LoopState, TrainLoop, head_param_groups, to_device
from ..schedules import BoundSchedule, LRSchedule, Plateau

CKPT_FORMAT = "penas-supernet-ckpt/1"
TrainState = LoopState  # step, epoch, pos, loss_sum, loss_n, last_loss (older name)


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


class SupernetBatches:
    """The batches of every epoch, by ``(epoch, pos)``: this rank's slice of positions
    ``[pos * B, (pos + 1) * B)`` of :func:`epoch_order`; with ``num_workers`` a map-style dataset is
    loaded by a ``DataLoader`` over the same batches (restarted on a new epoch or a jump)."""

    def __init__(self, data: IndexedData, batch_size: int, seed: int, dist: Any = None, num_workers: int = 0,
                 pin_memory: bool = False) -> None:
        self.data, self.batch_size, self.seed, self.dist = data, batch_size, seed, dist
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.steps_per_epoch = len(data) // batch_size
        self.epoch = 0
        self._loader: Any = None
        self._loader_at: tuple[int, int] | None = None  # (epoch, pos) the loader yields next

    def __len__(self) -> int:
        return self.steps_per_epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def iter_from(self, start: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        epoch = self.epoch
        for pos in range(start, self.steps_per_epoch):
            yield self.batch_at(epoch, pos)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.iter_from(0)

    def indices(self, order: torch.Tensor, pos: int) -> torch.Tensor:
        """This rank's sample indices of batch ``pos`` of an epoch ``order``."""
        b = self.batch_size
        idx = order[pos * b : (pos + 1) * b]
        if self.dist is not None and self.dist.world_size > 1:
            idx = idx[self.dist.rank :: self.dist.world_size]
        return idx

    def batch_at(self, epoch: int, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.num_workers:
            if self._loader_at != (epoch, pos):  # new epoch, resume or first step: restart the loader
                order = epoch_order(len(self.data), self.seed, epoch)
                self.data.set_epoch(epoch)  # before the workers start (they copy the dataset)
                batches = [self.indices(order, p).tolist() for p in range(pos, self.steps_per_epoch)]
                self._loader = self.data.loader(batches, self.num_workers, pin_memory=self.pin_memory)
            x, y = next(self._loader)
            self._loader_at = (epoch, pos + 1)
            return x, y
        self.data.set_epoch(epoch)
        return self.data.batch(self.indices(epoch_order(len(self.data), self.seed, epoch), pos))


# --- optimiser and the per-iteration scheduler -------------------------------------------------
def param_groups(supernet: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """One group, or (with ``head_prefixes``) [rest, head at ``lr * head_lr_mult``]."""
    groups = head_param_groups(supernet, config.lr, config.head_prefixes, config.head_lr_mult)
    if config.head_prefixes and len(groups) == 1:
        raise ValueError(f"head_prefixes: no parameter of supernet {getattr(supernet, 'name', '?')!r} starts "
                         f"with {config.head_prefixes}")
    return groups


def make_optimizer(supernet: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    groups = param_groups(supernet, config)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                           nesterov=config.nesterov)




class PolyWarmupLR(BoundSchedule):
    """mmcv ``PolyLrUpdaterHook(by_epoch=False)`` with ``warmup='linear'``, stateless in the step.

    At step ``t`` (0-based, of ``total``) each group's lr is
    ``poly = (base - min_lr) * (1 - t / total) ** power + min_lr`` and, while ``t < warmup_iters``,
    ``poly * (1 - (1 - t / warmup_iters) * (1 - warmup_ratio))`` (so step 0 uses
    ``warmup_ratio * base``). ``base`` is the group's initial lr (the head's includes its multiplier).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total: int, power: float = 1.0, min_lr: float = 0.0,
                 warmup_iters: int = 0, warmup_ratio: float = 0.1) -> None:
        super().__init__(optimizer, LRSchedule("poly", total, False, min_lr, power, warmup_iters, warmup_ratio))


class SupernetTrainer:
    """Trains a :class:`Supernet` with SGD or AdamW and one of the path samplers.

    ``data``: an ``(x, y)`` pair of tensors or a map-style dataset. ``ckpt_dir``: where
    ``last.pt`` goes; with ``resume=True`` an existing one is loaded (and must match).
    ``dist``: a :class:`penas.supernets.engine.distributed.DistContext` for DDP (None: single process).
    ``on_step(trainer, archs, loss)`` is called after every step (rank-local).
    ``device``: where batches go without DDP (the supernet must already be there); under DDP the
    ``dist`` context's device is used. ``num_workers`` > 0: a map-style dataset is loaded by that
    many worker processes (a ``DataLoader`` over the same batches; not part of the checkpoint
    identity), so items must depend only on their index and the epoch. ``log_path``: a JSON-lines
    log (one line per epoch, and every ``log_every`` steps); ``progress(event)``: step/epoch events
    with ETA (see :class:`~penas.supernets.engine.loop.TrainLoop`). ``amp``: mixed precision on CUDA.
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
        log_path: str | os.PathLike[str] | None = None,
        log_every: int = 0,
        progress: Callable[[dict[str, Any]], None] | None = None,
        amp: bool = False,
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
        if len(self.data) < config.batch_size:
            raise ValueError(f"batch_size: {config.batch_size} exceeds the {len(self.data)} training samples")
        world = dist.world_size if dist is not None else 1
        if config.batch_size % world:
            raise ValueError(f"batch_size: {config.batch_size} is not divisible by the world size {world}")
        self.batches = SupernetBatches(self.data, config.batch_size, config.seed, dist,
                                       num_workers if self.data.is_dataset else 0,
                                       pin_memory=self.device is not None and self.device.type == "cuda")
        self.steps_per_epoch = self.batches.steps_per_epoch
        self.num_workers = self.batches.num_workers
        self.loss_module: nn.Module = wrap_ddp(
            MultiPathLoss(supernet, LOSSES[config.task], DISTILL[config.distill] if config.distill is not None else None),
            dist, self.device, find_unused_parameters=True)
        self.optimizer = make_optimizer(supernet, config)
        schedule, plateau = self._make_schedule()
        self.loop = TrainLoop(supernet, self.optimizer, self._loss, steps_per_epoch=self.steps_per_epoch,
                              total_steps=self.total_steps, schedule=schedule, plateau=plateau,
                              grad_clip=config.grad_clip, amp=amp, device=self.device, dist=dist,
                              log_path=log_path, log_every=log_every, progress=progress, step_hook=self._after_step)
        self.scheduler: Any = plateau if plateau is not None else (
            BoundSchedule(self.optimizer, schedule, self.steps_per_epoch, self.loop.base_lrs)
            if schedule is not None else None)
        self._archs: list[Any] = []
        self._saving = True
        if resume:
            if self.ckpt_dir is None:
                raise ValueError("resume: needs ckpt_dir")
            if self.checkpoint_path.is_file():
                self.load(self.checkpoint_path)

    # --- setup ------------------------------------------------------------------------------
    def _make_schedule(self) -> tuple[LRSchedule | None, Plateau | None]:
        c = self.config
        if c.scheduler == "cosine":
            return LRSchedule("cosine", c.epochs, by_epoch=True, min_lr=c.min_lr), None
        if c.scheduler == "plateau":
            return None, Plateau([g["lr"] for g in self.optimizer.param_groups], c.plateau_factor, c.plateau_patience)
        if c.scheduler == "poly":
            return LRSchedule("poly", self.total_steps, False, c.min_lr, c.poly_power, c.warmup_iters,
                              c.warmup_ratio), None
        return None, None

    @property
    def state(self) -> LoopState:
        return self.loop.state

    @state.setter
    def state(self, value: LoopState) -> None:
        self.loop.state = value

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
        return self.loop.lr

    # --- one step ---------------------------------------------------------------------------
    def paths_at(self, step: int) -> list[Any]:
        """The archs step ``step`` trains (same on every rank and after a resume)."""
        return self.sampler.draw(np.random.default_rng([self.config.seed, step]))

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor], state: LoopState) -> tuple[torch.Tensor, dict]:
        self._archs = self.paths_at(state.step)
        x, y = batch
        loss = self.loss_module(x, y, self._archs)
        inner = getattr(self.loss_module, "module", self.loss_module)  # through DDP
        return loss, dict(getattr(inner, "counts", {}))

    def _after_step(self, value: float) -> None:
        if self.on_step is not None:
            self.on_step(self, self._archs, value)
        every = self.config.checkpoint_every
        if self._saving and every and self.ckpt_dir is not None and self.state.step % every == 0:
            self.save()

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch the next step trains on (on the trainer's device)."""
        return to_device(self.batches.batch_at(self.state.epoch, self.state.pos), self.device)

    def train_step(self) -> float:
        """One step on the next batch (no periodic checkpoint: :meth:`run` writes those)."""
        self._saving = False
        try:
            return self.loop.train_step(self.batches.batch_at(self.state.epoch, self.state.pos))
        finally:
            self._saving = True

    def run(self, steps: int | None = None) -> LoopState:
        """Train ``steps`` more steps (default: until ``epochs`` are done); checkpoint as configured."""
        self.loop.run(self.batches, steps=steps)
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
        loop = self.loop.state_dict()
        loop.pop("loop")
        return {
            "format": CKPT_FORMAT, **self._identity(), **loop,
            "torch_rng": loop["rng"]["torch"],
            "step": s.step, "epoch": s.epoch, "pos": s.pos,
            "loss_sum": s.loss_sum, "loss_n": s.loss_n, "last_loss": s.last_loss, "sums": dict(s.sums),
        }

    def save(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Atomic write (rank 0 only under DDP). Returns the path written."""
        if not self.is_main:
            return None
        return save_checkpoint(self.state_dict(), Path(path) if path is not None else self.checkpoint_path)

    def load(self, path: str | os.PathLike[str]) -> None:
        ck = read_checkpoint(path)
        mine = self._identity()
        for key, what in (("supernet", "supernet config"), ("train", "training config")):
            if ck.get(key) != mine[key]:
                raise CheckpointError(
                    f"checkpoint: {path} was written for another {what} ({ck.get(key)} != {mine[key]})"
                )
        if "rng" not in ck:  # written before the engine: torch's RNG only
            ck = {**ck, "rng": {"torch": ck["torch_rng"]}}
        ck["loop"] = {k: ck[k] for k in ("step", "epoch", "pos", "loss_sum", "loss_n", "last_loss", "sums") if k in ck}
        self.loop.load_state_dict(ck)


_REQUIRED = ("format", "supernet", "train", "model", "optimizer", "scheduler", "torch_rng", "step", "epoch", "pos")


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a trainer checkpoint with ``weights_only=True``; one-line :class:`CheckpointError` if bad."""
    return load_checkpoint(path, fmt=CKPT_FORMAT, required=_REQUIRED)


def load_supernet_weights(supernet: Supernet, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load only the model weights of a trainer checkpoint into ``supernet`` (config checked)."""
    ck = read_checkpoint(path)
    if ck["supernet"] != supernet.config_id():
        raise CheckpointError(
            f"checkpoint: {path} was written for another supernet config ({ck['supernet']} != {supernet.config_id()})"
        )
    supernet.load_state_dict(ck["model"])
    return ck
