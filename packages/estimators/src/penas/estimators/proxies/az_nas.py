"""AZ-NAS (Lee & Ham, CVPR 2024): expressivity, progressivity, trainability, complexity.

Reference (``cvlab-yonsei/AZ-NAS``, NB201 ``ZeroShotProxy/compute_az_nas_score.py`` driven by
``NB201/tss_general.ipynb``; the same files in ``ondratybl/VKDNW``): the network is
re-initialised (Kaiming normal, fan-in, ReLU gain; biases 0; BN/GroupNorm affine 1/0), put in
train mode (BN with batch statistics) and fed one batch of **N(0, 1) inputs** of the batch's
shape: on NB201 ``az_nas`` is not among the notebook's ``real_input_metrics`` (zico, snip, grasp,
te_nas, gradsign), so ``compute_nas_score`` gets ``trainloader=None`` and draws
``torch.randn([batch_size, 3, resolution, resolution])`` (the ImageNet search takes real images
only with its ``--rand_input`` flag off). ``extract_cell_features`` returns the stem output and
every cell's output (18 maps on NB201). Then

* **expressivity** = sum over maps of the entropy of the normalised eigenvalues of the channel
  covariance of the ``[B*H*W, C]`` features (isotropy of the feature space);
* **progressivity** = the minimum over consecutive maps of the increase of that entropy;
* **trainability** = mean over consecutive pairs (f_in, f_out) of ``-s - 1/(s + 1e-6) + 2``,
  s = the top singular value of ``g_in^T g_out / (B*H*W)`` where g_out is a Rademacher tensor
  and g_in its back-propagation onto f_in (``pixel_unshuffle`` of g_in when the resolution
  halves); a pair whose gradient passes unchanged scores -inf (here: the arch's trainability is
  invalid, NaN, and combinations rank it last -- the place -inf takes in the reference);
* **complexity** = FLOPs (``az_complexity``: the ``flops`` proxy, MACs of Conv2d/Linear).

All four are higher-is-better; the reference's training-free aggregation (the sum over the
four of ``log(rank / N)``) lives in :mod:`penas.estimators.combination` (``az_nas``).

Here the maps are taken by forward hooks at :func:`feature_taps`; the Kaiming weights, then the
Gaussian batch, then the Rademacher probes are drawn from one CPU generator seeded with the
context seed (the real batch only fixes the shape), and the weights are restored afterwards.
Feeding the real batch instead (as this module did before) is not the NB201 reference; on 40
NASLib NB201 archs (one CIFAR-10 batch of 64, cifar10-valid) it gave progressivity a Spearman of
-0.23 instead of +0.24 (expressivity +0.63 instead of +0.57, trainability +0.46 instead of
+0.43: within the spread of 40 archs). The scores do not depend on the order of the real batch;
trainability keeps ``order_invariant=False`` (its probe is a stochastic estimate) conservatively.
One forward and one gradient call per consecutive pair serve all three scores (``ctx.cache``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ._registry import register_proxy
from .context import ProxyContext, scored_layers
from .static import flops


def _is_leaf(m: nn.Module) -> bool:
    return next(iter(m.children()), None) is None


def feature_taps(model: nn.Module) -> list[nn.Module]:
    """The modules whose outputs AZ-NAS reads, in forward order.

    ``model.proxy_taps()`` when the model defines it; the blocks of a model that is an
    ``nn.Sequential`` of non-leaf blocks; else the stem (the direct child just
    before the block container) followed by every block of the container -- the direct child
    that is an ``nn.Sequential``/``nn.ModuleList`` with the most non-leaf children (NB201: stem
    + the 17 cells/reduction blocks); else every Conv2d/Linear layer (a plain stack of layers).
    """
    taps = getattr(model, "proxy_taps", None)
    if callable(taps):
        return list(taps())
    kids = list(model.children())
    if isinstance(model, nn.Sequential) and len(kids) > 1 and not any(_is_leaf(k) for k in kids):
        return kids  # the model is itself a stack of blocks
    best, best_n = -1, 1
    for i, k in enumerate(kids):
        if isinstance(k, (nn.Sequential, nn.ModuleList)):
            n = sum(1 for c in k.children() if not _is_leaf(c))
            if n > best_n:
                best, best_n = i, n
    if best >= 0:
        blocks = list(kids[best].children())
        return ([kids[best - 1]] if best > 0 else []) + blocks
    return [m for _, m in scored_layers(model)]


@torch.no_grad()
def kaiming_init(model: nn.Module, gen: torch.Generator) -> None:
    """AZ-NAS's ``init_model(kaiming_norm_fanin)``: N(0, 2/fan_in) Conv2d/Linear weights, zero
    biases, BN/GroupNorm affine 1/0 (drawn on the CPU generator, then copied)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            std = math.sqrt(2.0 / fan_in)
            w = torch.randn(m.weight.shape, generator=gen, dtype=torch.float64) * std
            m.weight.copy_(w.to(m.weight.dtype))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)) and m.affine:
            m.weight.fill_(1.0)
            m.bias.zero_()


def _as_map(t: torch.Tensor) -> torch.Tensor:
    return t if t.dim() == 4 else t.reshape(t.shape[0], -1, 1, 1)


def _entropy_of_covariance(feat: torch.Tensor) -> float:
    b, c, h, w = feat.shape
    x = feat.detach().permute(0, 2, 3, 1).reshape(b * h * w, c).to(torch.float64)
    x = x - x.mean(0, keepdim=True)
    sigma = x.t() @ x / x.shape[0]
    s = torch.linalg.eigvalsh(sigma)
    p = s / s.sum()
    return float((-p * torch.log(p + 1e-8)).sum())


def _pair_trainability(f_in: torch.Tensor, f_out: torch.Tensor, gen: torch.Generator) -> float:
    g_out = (torch.randint(0, 2, f_out.shape, generator=gen).to(f_out.dtype) * 2 - 1).to(f_out.device)
    (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True)
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf
    g_in, g_out = _as_map(g_in), _as_map(g_out)
    if g_in.shape[2:] != g_out.shape[2:]:
        g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    bo, co, ho, wo = g_out.shape
    gi = g_in.permute(0, 2, 3, 1).reshape(-1, g_in.shape[1]).to(torch.float64)
    go = g_out.permute(0, 2, 3, 1).reshape(-1, co).to(torch.float64)
    s = float(torch.linalg.svdvals(gi.t() @ go / (bo * ho * wo)).max())
    return -s - 1.0 / (s + 1e-6) + 2.0


def _az_pass(ctx: ProxyContext) -> dict[str, float]:
    if "az_nas" in ctx.cache:
        return ctx.cache["az_nas"]
    feats: list[torch.Tensor] = []

    def hook(mod: nn.Module, inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.is_floating_point():
            feats.append(out)

    taps = feature_taps(ctx.model)
    gen = torch.Generator().manual_seed(ctx.seed)
    handles = [m.register_forward_hook(hook) for m in taps]
    try:
        with ctx.isolated():
            kaiming_init(ctx.model, gen)
            # drawn on the CPU generator (the same numbers on every device), then moved
            x = torch.randn(list(ctx.inputs.shape), generator=gen, dtype=ctx.inputs.dtype).to(ctx.inputs.device)
            with torch.enable_grad():
                ctx.forward(x)
                expr = np.array([_entropy_of_covariance(_as_map(f)) for f in feats], dtype=np.float64)
                pairs = []
                for i in reversed(range(1, len(feats))):
                    if feats[i].requires_grad and feats[i - 1].requires_grad:
                        pairs.append(_pair_trainability(feats[i - 1], feats[i], gen))
    finally:
        for h in handles:
            h.remove()
    nan = float("nan")
    res = {
        "expressivity": float(expr.sum()) if expr.size else nan,
        "progressivity": float(np.min(np.diff(expr))) if expr.size > 1 else nan,
        "trainability": float(np.mean(pairs)) if pairs else nan,
    }
    ctx.cache["az_nas"] = res
    return res


@register_proxy("az_expressivity", version=2, needs_data=False, modifies_weights=True)
def az_expressivity(ctx: ProxyContext) -> float:
    """AZ-NAS expressivity: sum over block maps of the eigen-entropy of the channel covariance."""
    return _az_pass(ctx)["expressivity"]


@register_proxy("az_progressivity", version=2, needs_data=False, modifies_weights=True)
def az_progressivity(ctx: ProxyContext) -> float:
    """AZ-NAS progressivity: the smallest increase of expressivity between consecutive block maps."""
    return _az_pass(ctx)["progressivity"]


@register_proxy("az_trainability", version=2, needs_data=False, modifies_weights=True, order_invariant=False)
def az_trainability(ctx: ProxyContext) -> float:
    """AZ-NAS trainability: mean over block pairs of -s - 1/s + 2, s = top singular value of the
    block Jacobian estimated with a Rademacher probe (NaN where a block passes gradients unchanged)."""
    return _az_pass(ctx)["trainability"]


register_proxy("az_complexity", needs=("macs",), needs_data=False, needs_grad=False)(flops)
