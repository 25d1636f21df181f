"""Gradient proxies from one loss backward: grad_norm, snip, plain, fisher, grasp.

All read the weight gradients ``g = dL/dW`` of the shared pass (CE loss, train mode, BN on),
so asking for several of them costs one forward/backward. Per Conv2d/Linear layer a tensor
is formed and the score is the sum over layers of the sum over elements (foresight's
``sum_arr``).
"""

from __future__ import annotations

import torch

from ._registry import register_proxy
from .context import ProxyContext, layer_sum


def _grads(ctx: ProxyContext) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    sh = ctx.shared
    return [(m.weight.detach(), sh.grads.get(name)) for name, m in ctx.layers]


@register_proxy("grad_norm", needs=("grads",))
def grad_norm(ctx: ProxyContext) -> float:
    """Sum over layers of the Frobenius norm of the weight gradient (not one global norm)."""
    return layer_sum([g.norm() for _, g in _grads(ctx) if g is not None])


@register_proxy("snip", needs=("grads",))
def snip(ctx: ProxyContext) -> float:
    """SNIP: sum of |dL/dmask| = |W * g| over all weights (mask = ones)."""
    return layer_sum([(w * g).abs() for w, g in _grads(ctx) if g is not None])


@register_proxy("plain", needs=("grads",))
def plain(ctx: ProxyContext) -> float:
    """Sum of W * g (no abs)."""
    return layer_sum([w * g for w, g in _grads(ctx) if g is not None])


@register_proxy("fisher", needs=("fisher",))
def fisher(ctx: ProxyContext) -> float:
    """Per output channel 0.5*mean_n(sum_hw act*grad)^2, abs, broadcast to every weight of the
    channel (so channel c counts Cin/groups*kh*kw times: foresight's per-channel quirk)."""
    sh = ctx.shared
    vals = []
    for name, m in ctx.layers:
        f = sh.fisher.get(name)
        if f is None:
            continue
        per_weight = int(torch.tensor(m.weight.shape[1:]).prod()) if m.weight.dim() > 1 else 1
        vals.append(f.abs().to(torch.float64) * per_weight)
    return layer_sum(vals)


@register_proxy("grasp", needs=("grads", "hvp"))
def grasp(ctx: ProxyContext) -> float:
    """GraSP: sum of -W * Hg, with Hg the Hessian-gradient product (T=1, one iteration).

    Foresight runs a second forward for Hg; here the shared pass builds the gradient graph
    (``create_graph``) once and differentiates ``sum(g.detach() * g)`` on it: the same
    quantity without another forward.
    """
    sh = ctx.shared
    return layer_sum([-m.weight.detach() * h for name, m in ctx.layers if (h := sh.hvp.get(name)) is not None])
