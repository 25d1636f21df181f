"""Proxies that read only the weights or the layer shapes: l2_norm, params, flops."""

from __future__ import annotations

from ._registry import register_proxy
from .context import ProxyContext, layer_sum


@register_proxy("l2_norm", needs_data=False, needs_grad=False)
def l2_norm(ctx: ProxyContext) -> float:
    """Sum over Conv2d/Linear layers of the Frobenius norm of the weight (at initialisation)."""
    return layer_sum([m.weight.detach().norm() for _, m in ctx.layers])


@register_proxy("params", needs_data=False, needs_grad=False)
def params(ctx: ProxyContext) -> float:
    """Number of trainable parameters of the module (shared tensors counted once)."""
    return float(sum(p.numel() for p in ctx.model.parameters() if p.requires_grad))


@register_proxy("flops", needs=("macs",), needs_data=False, needs_grad=False)
def flops(ctx: ProxyContext) -> float:
    """Multiply-accumulates of Conv2d/Linear layers for one input sample (other ops not counted)."""
    return float(ctx.shared.macs)
