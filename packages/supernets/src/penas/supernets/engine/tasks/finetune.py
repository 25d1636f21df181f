"""Fine-tuning one subnet for a number of iterations (the segmentation search's fine-tuned mIoU):
AdamW with a decode-head group at ``lr * head_lr_mult``, a constant lr, batches drawn from a
map-style dataset in a seeded cyclic order, inside a torch RNG fork seeded with ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn as nn

from ..loop import LoopState, TrainLoop, head_param_groups


class CyclicBatches:
    """Batches of ``batch_size`` items of ``dataset`` from a stream of ``randperm`` orders drawn
    from one generator seeded with ``seed`` (a new permutation is appended when the stream runs
    short); items are ``(x, y)`` pairs stacked into ``(X, Y.long())``."""

    def __init__(self, dataset: Sequence[Any], batch_size: int, seed: int) -> None:
        if batch_size < 1 or len(dataset) < 1:
            raise ValueError("batch_size: expected a positive batch size and a non-empty dataset")
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        gen = torch.Generator().manual_seed(self.seed)
        order: list[int] = []
        while True:
            while len(order) < self.batch_size:
                order += torch.randperm(len(self.dataset), generator=gen).tolist()
            idx, order = order[: self.batch_size], order[self.batch_size :]
            items = [self.dataset[i] for i in idx]
            yield torch.stack([a for a, _ in items]), torch.stack([b.long() for _, b in items])


def finetune(model: nn.Module, dataset: Sequence[Any], iters: int, loss_fn: Callable[[Any, Any], torch.Tensor], *,
             batch_size: int, lr: float, weight_decay: float, head_lr_mult: float = 1.0,
             head_prefixes: tuple[str, ...] = ("head.",), seed: int = 0,
             device: torch.device | str | None = None) -> nn.Module:
    """Fine-tune ``model`` in place for ``iters`` AdamW steps of ``loss_fn(model(x), y)``.

    Parameters
    ----------
    model : torch.nn.Module
        The subnet (already on ``device``).
    dataset : sequence of (x, y)
        Map-style training items.
    iters : int
        Optimizer steps.
    loss_fn : callable
        ``loss_fn(output, target) -> loss``.
    batch_size, lr, weight_decay, head_lr_mult, head_prefixes, seed, device
        Batch size, AdamW settings, decode-head group, seed of the batch order and of the torch RNG
        fork, and where batches go.

    Returns
    -------
    torch.nn.Module
        ``model``, in train mode.
    """
    if iters < 1:
        raise ValueError(f"iters: expected a positive integer, got {iters}")
    opt = torch.optim.AdamW(head_param_groups(model, lr, head_prefixes, head_lr_mult), lr=lr,
                            weight_decay=weight_decay)

    def loss(batch: tuple[torch.Tensor, torch.Tensor], state: LoopState) -> tuple[torch.Tensor, dict]:
        x, y = batch
        return loss_fn(model(x), y), {}

    dev = torch.device(device) if device is not None else None
    loop = TrainLoop(model, opt, loss, steps_per_epoch=iters, total_steps=iters, device=dev)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        loop.run(CyclicBatches(dataset, batch_size, seed))
    return model
