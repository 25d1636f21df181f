"""Zen-NAS score (data-free; Lin et al. 2021, as ported in NASLib).

With every Conv2d/Linear weight drawn from N(0, 1) (biases 0) and BN/GroupNorm affine reset
to 1/0, feed two Gaussian batches ``x`` and ``x + 0.01*e`` (the batch's shape, no data),
take the feature map *before global pooling* (the input of the last ``AdaptiveAvgPool2d``
call; the model output when there is none) and score
``log(mean_n sum |f(x) - f(x')|) + sum_BN log sqrt(mean(running_var))``.
Randomness comes from a generator seeded with the context seed; the re-initialised weights
are restored in place afterwards.
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
