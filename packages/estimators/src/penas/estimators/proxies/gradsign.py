"""GradSign (Zhang & Jia, ICLR 2022): agreement of per-sample gradient signs.

Reference (``cmu-catalyst/GradSign``; the NB201 port in ``ondratybl/VKDNW``
``ZeroShotProxy/compute_gradsign_score.py``): train mode, one batch of real images; every
sample is forwarded **on its own** (a batch of one, so train-mode BN normalises with that
sample's statistics) and its cross-entropy gradient with respect to every Conv2d/Linear weight
is taken (a weight without gradient counts as 0). The score is the mean over all weights of
``|sum_i sign(g_i)|``. Higher is better (more samples agree on each weight's direction).

Here the B single-sample passes run inside :meth:`ProxyContext.isolated` (BN running statistics
restored afterwards); the sum over samples makes the score independent of the sample order.
"""

from __future__ import annotations

import torch

from ._registry import register_proxy
from .context import ProxyContext, ProxyUndefined


@register_proxy("gradsign")
def gradsign(ctx: ProxyContext) -> float:
    """GradSign: mean over Conv2d/Linear weights of |sum over samples of sign(per-sample gradient)|."""
    targets = ctx.require_targets()
    total: list[torch.Tensor] | None = None
    with ctx.isolated():
        ws = ctx.weights()
        for i in range(ctx.inputs.shape[0]):
            try:
                out = ctx.forward(ctx.inputs[i : i + 1].clone())
            except ValueError as e:  # train-mode BN on one sample at 1x1 resolution
                if "more than 1 value per channel" in str(e):
                    raise ProxyUndefined(f"gradsign: {e}") from e
                raise
            loss = ctx.loss_fn(out, targets[i : i + 1])
            gs = torch.autograd.grad(loss, ws, allow_unused=True)
            signs = [torch.zeros_like(w) if g is None else torch.sign(g.detach()) for w, g in zip(ws, gs, strict=True)]
            total = signs if total is None else [t + s for t, s in zip(total, signs, strict=True)]
    if not total:
        return float("nan")
    n = sum(t.numel() for t in total)
    return float(sum(t.abs().to(torch.float64).sum() for t in total) / n)
