"""TE-NAS (Chen et al., ICLR 2021): NTK condition number and number of linear regions.

Reference (``VITA-Group/TENAS`` ``lib/procedures/ntk.py`` / ``linear_region_counter.py``, in the
revision AZ-NAS and VKDNW use on NB201, ``ZeroShotProxy/compute_te_nas_score.py``):

* **NTK** (``tenas_ntk``): train mode (BN with batch statistics), one batch of **real**
  images; for every sample i the gradient of ``sum(logits[i])`` with respect to every
  parameter whose name contains ``weight`` (Conv, Linear *and* BN weights), through the one
  batch forward; ``NTK = G G^T``, score = ``lambda_max / lambda_min``. **Lower is better**
  (the reference returns ``-cond`` and maps NaN to 1e5; here NaN stays invalid).
* **Linear regions** (``tenas_lr``): no data -- a batch of N(0, 1) inputs of the batch's shape
  (drawn with the context seed); the post-ReLU maps of every ReLU with a 4-D input are
  concatenated per sample and the score is the number of distinct sample patterns
  (``sum_i 1 / #{j: pattern_j == pattern_i}``). Higher is better.

The TE-NAS combination (sum of the two ranks, ``te_nas``) is in
:mod:`penas.estimators.combination`. The NTK rides on the shared forward (one batched
backward, ``is_grads_batched``); the linear-region pass is one extra no-grad forward.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ._registry import register_proxy
from .context import ProxyContext, sign_agreement


@register_proxy("tenas_ntk", higher_is_better=False, needs=("ntk",))
def tenas_ntk(ctx: ProxyContext) -> float:
    """TE-NAS NTK condition number lambda_max / lambda_min of G G^T (per-sample logit-sum gradients)."""
    ntk = ctx.shared.ntk
    ev = np.linalg.eigvalsh(ntk)
    return float(ev[-1] / ev[0]) if ev[0] != 0 else float("nan")


@register_proxy("tenas_lr", needs_data=False, needs_grad=False)
def tenas_lr(ctx: ProxyContext) -> float:
    """TE-NAS number of linear regions: distinct ReLU patterns over a seeded Gaussian batch."""
    b = ctx.inputs.shape[0]
    K = np.zeros((b, b), dtype=np.float64)
    units = {"n": 0}

    def hook(mod: nn.Module, inp: tuple[Any, ...], out: torch.Tensor) -> None:
        if inp[0].dim() == 4:
            K[...] += sign_agreement(out)
            units["n"] += out[0].numel()

    handles = [m.register_forward_hook(hook) for m in ctx.model.modules() if "ReLU" in type(m).__name__]
    gen = torch.Generator().manual_seed(ctx.seed)
    x = torch.randn(list(ctx.inputs.shape), generator=gen, dtype=ctx.inputs.dtype).to(ctx.inputs.device)
    try:
        with ctx.isolated(), torch.no_grad():
            ctx.forward(x)
    finally:
        for h in handles:
            h.remove()
    if units["n"] == 0:
        return float("nan")
    same = K == float(units["n"])  # agree on every unit: the same activation pattern
    return float(np.sum(1.0 / same.sum(1)))
