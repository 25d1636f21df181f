"""VKDNW (Tybl & Neumann, CVPR 2025: variance of knowledge of deep network weights).

Reference (``ondratybl/VKDNW``, NB201 ``ZeroShotProxy/compute_vkdnw_score.py`` and
``tss_utils.get_scores``): the network is re-initialised as in AZ-NAS (Kaiming normal fan-in),
put in **eval** mode (BN with its initial running statistics, so samples are independent) and
fed one batch of real images. One weight per parameter tensor (its first element) of the first
128 parameter tensors is chosen; J_i is the ``[classes, 128]`` Jacobian of sample i's logits
with respect to those weights, and the Fisher information is
``F = mean_i J_i^T C_i J_i`` with ``C_i = diag(p) - p p^T``, ``p = 0.95 softmax(logits_i) + 0.05/K``
(the reference multiplies J by a Cholesky factor of C_i: the same matrix). With lambda the
singular values of F and q its deciles (``torch.quantile`` at 0.1..0.9), the score is the
entropy ``-sum t log(t + 1e-10)`` of ``t = q / (|q|_1 + 1e-10)``. Higher is better.

The reference ranks architectures by the pair ``(vkdnw_dim, vkdnw_entropy)`` lexicographically
(``vkdnw_dim`` = number of parameter tensors, a depth-like count). ``vkdnw`` returns
``vkdnw_dim + vkdnw_entropy / (ln 9 + 1e-6)``: the entropy of 9 values is at most ln 9, so the
fraction stays below 1 and this number orders archs exactly like the reference's pair.
``vkdnw_entropy`` and ``vkdnw_dim`` are registered on their own. VKDNW_agg (the reference's
aggregation with jacob_cov, expressivity, trainability and FLOPs) is in
:mod:`penas.estimators.combination` (``vkdnw_agg``).

The Jacobian is taken with ``torch.func`` (``vmap`` over samples of ``jacrev`` with respect to
the 128 chosen weights), as the reference does. Classification outputs only.
"""

from __future__ import annotations

import math

import torch

from ._registry import register_proxy
from .az_nas import kaiming_init
from .context import ProxyContext, ProxyUndefined

N_TENSORS = 128
SAMPLE_CHUNK = 4
CLASS_CHUNK = 16
SMOOTH = 0.05
_MAX_ENTROPY = math.log(9.0) + 1e-6


def _fisher(ctx: ProxyContext) -> torch.Tensor:
    from torch.func import functional_call, jacrev, vmap

    model = ctx.model
    named = list(model.named_parameters())[:N_TENSORS]
    base = {n: p.detach() for n, p in model.named_parameters()}
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    onehots = {}
    for n, p in named:
        e = torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
        e[0] = 1.0
        onehots[n] = e.view_as(p)

    def logits(delta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        params = dict(base)
        for j, (n, _) in enumerate(named):
            params[n] = base[n] + delta[j] * onehots[n]
        return ctx.output_fn(functional_call(model, (params, buffers), (x.unsqueeze(0),)))[0]

    delta0 = torch.zeros(len(named), dtype=ctx.inputs.dtype, device=ctx.inputs.device)
    x = ctx.inputs.clone()
    with torch.no_grad():
        out = ctx.forward(x)
    if out.dim() != 2:
        raise ProxyUndefined("vkdnw: needs [batch, classes] logits")
    # chunked vmaps bound the memory to SAMPLE_CHUNK * CLASS_CHUNK parameter-sized cotangents
    jac = vmap(jacrev(logits, chunk_size=CLASS_CHUNK), in_dims=(None, 0), chunk_size=SAMPLE_CHUNK)(delta0, x)
    jac = jac.to(torch.float64)  # [B, K, P]
    k = out.shape[1]
    p = torch.softmax(out.to(torch.float64), dim=1) * (1 - SMOOTH) + SMOOTH / k
    cov = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)  # [B, K, K]
    return (jac.transpose(1, 2) @ cov @ jac).mean(0)


def _vkdnw_pass(ctx: ProxyContext) -> dict[str, float]:
    if "vkdnw" in ctx.cache:
        return ctx.cache["vkdnw"]
    with ctx.isolated():
        kaiming_init(ctx.model, torch.Generator().manual_seed(ctx.seed))
        ctx.model.eval()
        fisher = _fisher(ctx)
    lam = torch.linalg.svdvals(fisher)
    q = torch.quantile(lam, torch.arange(1, 10, dtype=lam.dtype, device=lam.device) / 10)
    t = q / (q.abs().sum() + 1e-10)
    res = {
        "entropy": float(-(t * torch.log(t + 1e-10)).sum()),
        "dim": float(len(list(ctx.model.parameters()))),
    }
    ctx.cache["vkdnw"] = res
    return res


@register_proxy("vkdnw", modifies_weights=True, tasks=("classification",))
def vkdnw(ctx: ProxyContext) -> float:
    """VKDNW: number of parameter tensors + Fisher-decile entropy / ln 9 (the reference's
    lexicographic (dim, entropy) order as one number)."""
    r = _vkdnw_pass(ctx)
    return r["dim"] + r["entropy"] / _MAX_ENTROPY


@register_proxy("vkdnw_entropy", modifies_weights=True, tasks=("classification",))
def vkdnw_entropy(ctx: ProxyContext) -> float:
    """VKDNW entropy of the normalised deciles of the Fisher spectrum (128 weights, eval mode)."""
    return _vkdnw_pass(ctx)["entropy"]


@register_proxy("vkdnw_dim", needs_data=False, needs_grad=False)
def vkdnw_dim(ctx: ProxyContext) -> float:
    """Number of parameter tensors of the module (VKDNW's first ranking key)."""
    return float(len(list(ctx.model.parameters())))
