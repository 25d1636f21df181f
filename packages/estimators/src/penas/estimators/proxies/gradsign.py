"""GradSign (Zhang & Jia, ICLR 2022): agreement of per-sample gradient signs.

Paper, Algorithm 1: with g[i, k] = sign of the k-th weight's gradient of sample i's loss at the
initialisation, the score is ``tau = sum_k |sum_i g[i, k]|`` -- a **sum** over all weights.

Reference (``cmu-catalyst/GradSign``): the Spearman experiments of the paper run the
``grad_conflict`` measure of its zero-cost-nas port (``zero-cost-nas-code/foresight/pruners/
measures/grad_conflict.py``, results read by ``zero-cost-nas-code/gs.py`` from
``201_results_batch_128/sum/``): train mode, one batch of real images (128 there; the batch of
the protocol here), every sample forwarded **on its own** (a batch of one, so train-mode BN
normalises with that sample's statistics), its cross-entropy gradient taken with respect to every
Conv2d/Linear weight (a weight without gradient counts as 0) and the score is
``np.nansum(|sum_i sign(g_i)|)``. Higher is better.

What differs from other copies: the stand-alone ``zero-cost-nas-code/gradsign.py`` and the
AZ-NAS/VKDNW port (``ondratybl/VKDNW`` ``NB201/ZeroShotProxy/compute_gradsign_score.py``) take
the **mean** over weights instead of the sum. The mean divides by the weight count, which on
NB201 turns the ranking upside down (Spearman -0.21 vs +0.75 for the sum on 40 NASLib archs,
one CIFAR-10 batch of 64); the paper's definition and its own experiments use the sum, as here.

The B single-sample passes run inside :meth:`ProxyContext.isolated` (BN running statistics
restored afterwards); the sum over samples makes the score independent of the sample order.
"""

from __future__ import annotations

import torch

from ._registry import register_proxy
from .context import ProxyContext, ProxyUndefined


@register_proxy("gradsign", version=2)
def gradsign(ctx: ProxyContext) -> float:
    """GradSign: sum over Conv2d/Linear weights of |sum over samples of sign(per-sample gradient)|."""
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
    return float(sum(t.abs().to(torch.float64).sum() for t in total))
