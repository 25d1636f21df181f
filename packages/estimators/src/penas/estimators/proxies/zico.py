"""ZiCo (Li et al., ICLR 2023), as in NASLib: the batch is split in two halves, each gives
one set of Conv2d/Linear weight gradients; per layer,
``log(sum_i mean|g_i| / std(g_i))`` over the weights with non-zero std, summed over layers.
"""

from __future__ import annotations

import numpy as np
import torch

from ._registry import register_proxy
from .context import ProxyContext

SPLITS = 2


@register_proxy("zico", order_invariant=False)
def zico(ctx: ProxyContext) -> float:
    """ZiCo: sum over layers of log(sum |mean g| / std g) across two half-batch gradients."""
    targets = ctx.require_targets()
    n = ctx.inputs.shape[0]
    if n < SPLITS:
        return float("nan")
    per_layer: list[list[np.ndarray]] = [[] for _ in ctx.layers]
    with ctx.isolated():
        ws = ctx.weights()
        for sp in range(SPLITS):
            st, en = sp * n // SPLITS, (sp + 1) * n // SPLITS
            out = ctx.forward(ctx.inputs[st:en].clone())
            loss = ctx.loss_fn(out, targets[st:en])
            gs = torch.autograd.grad(loss, ws, allow_unused=True)
            for i, g in enumerate(gs):
                if g is not None:
                    per_layer[i].append(g.detach().reshape(-1).to(torch.float64).cpu().numpy())
    score = 0.0
    for grads in per_layer:
        if len(grads) < SPLITS:
            continue
        arr = np.stack(grads)
        std = arr.std(axis=0)
        nz = np.nonzero(std)[0]
        tmpsum = float(np.sum(np.abs(arr).mean(axis=0)[nz] / std[nz]))
        if tmpsum != 0.0:
            score += float(np.log(tmpsum))
    return score
