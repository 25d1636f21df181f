"""Zen-NAS score (data-free; Lin et al., ICCV 2021).

References: ``idstcv/ZenNAS`` ``ZeroShotProxy/compute_zen_score.py``, its NB201 port in AZ-NAS /
VKDNW (``ondratybl/VKDNW`` ``NB201/ZeroShotProxy/compute_zen_score.py``, driven by
``tss_general``: a fresh network per architecture, train mode) and NASLib's ``measures/zen.py``.
With every Conv2d/Linear weight drawn from N(0, 1) (biases 0) and BN/GroupNorm affine reset to
1/0, two Gaussian batches ``x`` and ``x + 0.01 * e`` of the batch's shape are forwarded **in train
mode** (BN normalises with batch statistics and updates its running statistics, momentum 0.1,
from the built state); the feature map *before global pooling* is taken -- on NB201 the output of
``lastact`` (BN + ReLU), which is what the port's ``forward_pre_GAP`` returns and NASLib's
``forward_before_global_avg_pool`` (the input of the ``AdaptiveAvgPool2d``) reads; here the input
of the last ``AdaptiveAvgPool2d`` call (the model output when there is none) -- and the score is
``log(mean_n sum_chw |f(x) - f(x')|) + sum_BN log sqrt(mean(running_var))`` over the BatchNorm
layers with running statistics, after both forwards. Higher is better; one repeat (the port's
default; Zen-NAS's own search averages 32 repeats).

What differs: Zen-NAS scores its own search space with the residual links removed
(``no_reslink=True`` in ``evolution_search.py``); NB201 cells have no separable residual link,
so the port (and this module) score the network as built. NASLib's NB201 cells use BN without
running statistics (``track_running_stats=False``), so NASLib's BN term only sees the stem,
reduction and final BNs; the NB201 network here (and in the port) tracks them in every cell.
Randomness comes from a CPU generator seeded with the context seed; the re-initialised weights
and BN statistics are restored in place afterwards. (On 40 NASLib NB201 archs, one CIFAR-10
batch of 64: Spearman +0.56 vs cifar10-valid; on the first 86 archs of NASLib's 725-arch CSV
the bench measured +0.15 -- the proxy's spread over subsets, not a convention mismatch.)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from ._registry import register_proxy
from .context import ProxyContext

MIXUP_GAMMA = 1e-2


@torch.no_grad()
def gaussian_init(model: nn.Module, gen: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=m.weight.dtype))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)) and m.affine:
            m.weight.fill_(1.0)
            m.bias.zero_()


def _pre_gap(ctx: ProxyContext, x: torch.Tensor) -> torch.Tensor:
    seen: list[torch.Tensor] = []

    def hook(mod: nn.Module, inp: tuple[Any, ...]) -> None:
        seen.append(inp[0])

    handles = [m.register_forward_pre_hook(hook) for m in ctx.model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    try:
        out = ctx.forward(x)
    finally:
        for h in handles:
            h.remove()
    return seen[-1] if seen else out


@register_proxy("zen", needs_data=False, needs_grad=False, modifies_weights=True)
def zen(ctx: ProxyContext) -> float:
    """Zen-NAS: log E|f(x) - f(x + 0.01 e)| before global pooling + sum log sqrt(mean BN var)."""
    gen = torch.Generator().manual_seed(ctx.seed)
    with ctx.isolated(), torch.no_grad():
        gaussian_init(ctx.model, gen)
        shape = list(ctx.inputs.shape)
        # drawn on the CPU generator (same numbers on every device), then moved to the model's device
        x1 = torch.randn(shape, generator=gen, dtype=ctx.inputs.dtype).to(ctx.inputs.device)
        x2 = torch.randn(shape, generator=gen, dtype=ctx.inputs.dtype).to(ctx.inputs.device)
        f1 = _pre_gap(ctx, x1)
        f2 = _pre_gap(ctx, x1 + MIXUP_GAMMA * x2)
        diff = (f1 - f2).abs().to(torch.float64)
        score = diff.reshape(diff.shape[0], -1).sum(1).mean().log()
        for m in ctx.model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None:
                score = score + m.running_var.to(torch.float64).mean().sqrt().log()
        return float(score)
