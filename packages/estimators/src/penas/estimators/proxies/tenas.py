"""TE-NAS (Chen et al., ICLR 2021): NTK condition number and number of linear regions.

References: ``VITA-Group/TENAS`` (``lib/procedures/ntk.py``, ``lib/procedures/linear_region_counter.py``,
``prune_tenas.py``, ``prune_launch.py``) and its per-architecture port that AZ-NAS and VKDNW run
on NB201 (``ondratybl/VKDNW`` ``NB201/ZeroShotProxy/compute_te_nas_score.py``). TE-NAS itself is a
pruning search: it compares two supernets (before/after removing one op, NTK batch 72 on NB201,
3 repeats); the per-arch port scores one network on one batch.

* **NTK** (``tenas_ntk``, as both references): train mode (BN with batch statistics), one batch
  of **real** images; for every sample i the gradient of ``sum(logits[i])`` with respect to every
  parameter whose name contains ``weight`` (Conv, Linear *and* BN weights), taken through the
  one batch forward (``logit[i:i+1].backward(ones)`` on the batch graph, so train-mode BN
  couples the samples); ``NTK = G G^T``, score = ``lambda_max / lambda_min``. **Lower is
  better** (the port returns ``-cond`` and maps NaN to 1e5; here NaN stays invalid). The B
  gradients are B backward passes of the batch graph (the shared pass, :mod:`.context`): the
  BN coupling makes every gradient a full-batch backward, so the cost is that of B backward
  passes whatever the batching (per-sample-gradient tricks would change the quantity: they
  drop the batch-statistics path).
* **Linear regions** (``tenas_lr``, as the original TE-NAS; the per-arch port differs): TE-NAS
  counts the distinct ReLU activation patterns of a *thin* copy of the network
  (``model_config_thin``: ``C=1, N=1``, no stem -- one channel per op) over ``3 x 1000`` real
  training images randomly cropped to ``3 x 3`` and reduced to one random channel
  (``Linear_Region_Collector(input_size=(1000, 1, 3, 3), sample_batch=3)``, ``RandChannel(1)``),
  in train mode; the count is
  ``sum_i 1 / #{j: pattern_j == pattern_i}`` (the number of distinct patterns). The per-arch
  port instead feeds the full-width network one Gaussian batch of the batch's shape, where every
  sample's pattern is distinct: the count is the batch size (64) for every NB201 architecture,
  an uninformative constant. Here the thin network is the model itself with every Conv2d/Linear
  weight reduced to its ``[0, 0]`` slice (bias to ``[0]``) -- channel 0 then only sees channel
  0, a one-channel copy of the architecture -- and the inputs are ``3 x 1000`` crops of the
  context's (real) images at TE-NAS's ``3 x 3`` (the smallest larger size on :data:`CROPS` that
  the network accepts, for nets that cannot run at 3 x 3), one random channel placed in input
  channel 0, drawn with the context seed from the images in a canonical (content-sorted) order
  so the score does not depend on the batch order. Higher is better. Differences: the
  architecture keeps its stem and all its cells (``N`` of the space, not 1), weights are the
  build's (TE-NAS's ``--init kaiming_normal`` matches none of its ``init_model`` branches, so it
  also keeps PyTorch's default init), and the crops come from the protocol's batch, not the
  whole training set.

The TE-NAS combination (sum of the two ranks, ``te_nas``) is in :mod:`penas.estimators.combination`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ._registry import register_proxy
from .context import ProxyContext, ProxyUndefined, _is_relu, count_distinct_rows, scored_layers

LR_SAMPLES = 1000  # per train-mode batch (TE-NAS input_size[0])
LR_BATCHES = 3  # TE-NAS sample_batch
CROPS = (3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)  # TE-NAS crops 3 x 3


@register_proxy("tenas_ntk", higher_is_better=False, needs=("ntk",))
def tenas_ntk(ctx: ProxyContext) -> float:
    """TE-NAS NTK condition number lambda_max / lambda_min of G G^T (per-sample logit-sum gradients)."""
    ntk = ctx.shared.ntk
    ev = np.linalg.eigvalsh(ntk)
    return float(ev[-1] / ev[0]) if ev[0] != 0 else float("nan")


@torch.no_grad()
def thin_weights(model: nn.Module) -> None:
    """Keep only ``weight[0, 0]`` (and ``bias[0]``) of every Conv2d/Linear: a one-channel copy of
    the architecture in channel 0 (TE-NAS's thin network), the other channels constant."""
    for _, m in scored_layers(model):
        keep = m.weight[0, 0].clone()
        m.weight.zero_()
        m.weight[0, 0] = keep
        if m.bias is not None:
            b0 = m.bias[0].clone()
            m.bias.zero_()
            m.bias[0] = b0


def canonical_order(x: torch.Tensor) -> torch.Tensor:
    """The samples of ``x`` sorted by content (lexicographically): a batch-order-free indexing."""
    flat = x.detach().reshape(x.shape[0], -1).cpu().double().numpy()
    return torch.as_tensor(np.lexsort(flat.T[::-1].copy()), device=x.device)


def random_crops(x: torch.Tensor, n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` crops ``size x size`` of random images of ``x`` [B, C, H, W], each of one random
    channel, put in channel 0 of a ``[n, C, size, size]`` zero tensor (TE-NAS's RandChannel(1))."""
    b, c, h, w = x.shape
    img = torch.randint(0, b, (n,), generator=gen)
    ch = torch.randint(0, c, (n,), generator=gen)
    oy = torch.randint(0, h - size + 1, (n,), generator=gen)
    ox = torch.randint(0, w - size + 1, (n,), generator=gen)
    r = torch.arange(size)
    rows = (oy[:, None] + r)[:, :, None]
    cols = (ox[:, None] + r)[:, None, :]
    dev = x.device
    patch = x[img.to(dev)[:, None, None], ch.to(dev)[:, None, None], rows.to(dev), cols.to(dev)]
    out = torch.zeros(n, c, size, size, dtype=x.dtype, device=dev)
    out[:, 0] = patch
    return out


def _runs(ctx: ProxyContext, x: torch.Tensor) -> bool:
    try:
        ctx.forward(x)
    except (RuntimeError, ValueError):
        return False
    return True


@register_proxy("tenas_lr", version=2, needs_grad=False, modifies_weights=True)
def tenas_lr(ctx: ProxyContext) -> float:
    """TE-NAS number of linear regions: distinct ReLU patterns of the one-channel (thin) network over
    3 x 1000 single-channel 3 x 3 crops of the batch's images (train mode)."""
    x = ctx.inputs
    if x.dim() != 4:
        raise ProxyUndefined("tenas_lr: needs image inputs [B, C, H, W]")
    x = x[canonical_order(x)]
    gen = torch.Generator().manual_seed(ctx.seed)
    words: list[np.ndarray] = []

    def hook(mod: nn.Module, inp: tuple[Any, ...], out: torch.Tensor) -> None:
        if inp[0].dim() == 4:
            words.append(np.packbits((out.detach() > 0).reshape(out.shape[0], -1).cpu().numpy(), axis=1))

    with ctx.isolated(), torch.no_grad():
        thin_weights(ctx.model)
        sizes = [s for s in CROPS if s <= min(x.shape[2], x.shape[3])] or [min(x.shape[2], x.shape[3])]
        size = next((s for s in sizes if _runs(ctx, random_crops(x, 2, s, torch.Generator().manual_seed(0)))), None)
        if size is None:
            raise ProxyUndefined("tenas_lr: the network runs on no crop size of the inputs")
        handles = [m.register_forward_hook(hook) for m in ctx.model.modules() if _is_relu(m)]
        per_batch = []
        try:
            for _ in range(LR_BATCHES):
                words.clear()
                ctx.forward(random_crops(x, LR_SAMPLES, size, gen))
                if words:
                    per_batch.append(np.concatenate(words, axis=1))
        finally:
            for h in handles:
                h.remove()
    if not per_batch:
        return float("nan")
    return float(count_distinct_rows([np.concatenate(per_batch, axis=0)]))
