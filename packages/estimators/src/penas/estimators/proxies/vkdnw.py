"""VKDNW (Tybl & Neumann, CVPR 2025: variance of knowledge of deep network weights).

Reference (``ondratybl/VKDNW``, NB201 ``ZeroShotProxy/compute_vkdnw_score.py`` in the revision
of the paper -- weight index ``p = 0`` -- driven by ``tss_general_.py``): the network is
re-initialised as in AZ-NAS (Kaiming normal fan-in), put in **eval** mode (BN with its initial
running statistics, so samples are independent) and fed one batch of **N(0, 1) inputs** of the
batch's shape (``vkdnw`` is not among the harness's ``real_input_metrics``; ``--real_input`` is
off by default). One weight per parameter tensor (its first element) of the first 128 parameter
tensors is chosen; J_i is the ``[classes, 128]`` Jacobian of sample i's logits with respect to
those weights. With ``p = 0.95 softmax(logits_i) + 0.05/K`` and L_i the Tanabe-Sagae Cholesky
factor of the multinomial covariance (``L_i L_i^T = diag(p) - p p^T``), the reference's matrix
is ``F = mean_i (L_i J_i)^T (L_i J_i)`` -- ``J^T L^T L J``, *not* the Fisher
``J^T (diag(p) - p p^T) J`` of the paper's text (``L^T L != L L^T``); it is what produced the
published numbers, so it is what is computed here. With lambda the singular values of F and q
its deciles (``torch.quantile`` at 0.1..0.9), the score is the entropy ``-sum t log(t + 1e-10)``
of ``t = q / (|q|_1 + 1e-10)``. Higher is better.

The reference ranks architectures by the pair ``(vkdnw_dim, vkdnw_entropy)`` lexicographically
(``vkdnw_dim`` = number of parameter tensors, a depth-like count). ``vkdnw`` returns
``vkdnw_dim + vkdnw_entropy / (ln 9 + 1e-6)``: the entropy of 9 values is at most ln 9, so the
fraction stays below 1 and this number orders archs exactly like the reference's pair.
``vkdnw_entropy`` and ``vkdnw_dim`` are registered on their own. VKDNW_agg (the reference's
aggregation with jacob_cov, expressivity, trainability and FLOPs) is in
:mod:`penas.estimators.combination` (``vkdnw_agg``).

Here: the Kaiming weights and then the Gaussian batch are drawn from one CPU generator seeded
with the context seed (the real batch only fixes the shape). J is computed without the
reference's per-sample functional copies (``vmap(jacrev(...))``, which build a full per-sample
weight gradient of every layer): the batch is forwarded once, and the module owning chosen
weight j adds ``delta[j, i] * T_j(i)`` to its output, where ``delta`` is a zero ``[128, B]``
leaf and ``T_j = d out / d w_j`` the module's forward-mode derivative (``torch.func.jvp`` of that
one module on its recorded inputs). In eval mode sample i's logits depend on ``delta[:, i]``
only, so ``d logits[:, k].sum() / d delta`` is row k of every J_i: K backward passes of the
batch give all Jacobians exactly (first order at delta = 0; per-sample autograd to float
rounding). Classification outputs only; every module owning a chosen weight must return a
batch-major tensor (else the proxy is undefined, NaN).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn

from ._registry import register_proxy
from .az_nas import kaiming_init
from .context import ProxyContext, ProxyUndefined

N_TENSORS = 128
SMOOTH = 0.05
_MAX_ENTROPY = math.log(9.0) + 1e-6


def _owner(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    mod_name, _, pname = name.rpartition(".")
    return model.get_submodule(mod_name), pname


def _first_element_tangent(mod: nn.Module, pname: str, args: tuple, kwargs: dict) -> torch.Tensor:
    """``d mod(*args) / d mod.<pname>.flatten()[0]`` by forward-mode AD of this module alone."""
    from torch.func import functional_call, jvp

    p = getattr(mod, pname).detach()
    e = torch.zeros_like(p)
    e.view(-1)[0] = 1.0
    args_d = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
    kwargs_d = {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    _, t = jvp(lambda w: functional_call(mod, {pname: w}, args_d, kwargs_d), (p,), (e,))
    return t


def per_sample_jacobian(
    ctx: ProxyContext, names: list[str], x: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits [B, K], J [B, K, P])``: per-sample Jacobians of the logits on ``x`` (default: the
    context's inputs) with respect to the first element of each named parameter, for a model whose
    samples are independent (eval mode)."""
    model = ctx.model
    x = (ctx.inputs if x is None else x).clone()
    b = x.shape[0]
    owners: dict[nn.Module, list[tuple[int, str]]] = {}
    for j, name in enumerate(names):
        mod, pname = _owner(model, name)
        owners.setdefault(mod, []).append((j, pname))
    delta = torch.zeros(len(names), b, dtype=x.dtype, device=x.device, requires_grad=True)
    inside = {"on": False}

    def hook(mod: nn.Module, args: tuple, kwargs: dict, out: Any) -> Any:
        if inside["on"]:  # a module run inside another module's jvp
            return None
        if not (isinstance(out, torch.Tensor) and out.is_floating_point() and out.dim() >= 1 and out.shape[0] == b):
            raise ProxyUndefined(f"vkdnw: module {type(mod).__name__} does not return a batch-major tensor")
        inside["on"] = True
        try:
            for j, pname in owners[mod]:
                t = _first_element_tangent(mod, pname, args, kwargs).detach()
                shape = (b,) + (1,) * (out.dim() - 1)
                if out.dim() >= 2:  # keep only the channels the weight reaches (one for conv/linear/BN)
                    live = t.reshape(b, t.shape[1], -1).abs().amax(dim=(0, 2)) > 0
                    idx = live.nonzero().reshape(-1)
                    out = out.index_add(1, idx, delta[j].view(shape) * t.index_select(1, idx))
                else:
                    out = out + delta[j].view(shape) * t
        finally:
            inside["on"] = False
        return out

    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in owners]
    try:
        with torch.enable_grad():
            logits = ctx.forward(x)
            if logits.dim() != 2:
                raise ProxyUndefined("vkdnw: needs [batch, classes] logits")
            cols = []
            for k in range(logits.shape[1]):
                (g,) = torch.autograd.grad(logits[:, k].sum(), delta, retain_graph=k + 1 < logits.shape[1],
                                           allow_unused=True)
                cols.append(torch.zeros_like(delta) if g is None else g)
    finally:
        for h in handles:
            h.remove()
    jac = torch.stack(cols, 0).permute(2, 0, 1)  # [K, P, B] -> [B, K, P]
    return logits.detach(), jac.detach()


def multinomial_cholesky(p: torch.Tensor) -> torch.Tensor:
    """``[B, K, K]`` lower-triangular L with ``L L^T = diag(p) - p p^T`` for each row of ``p`` [B, K]
    (Tanabe & Sagae 1992, as in the VKDNW reference): ``L[i, j] = -p_i / q_j * d_j`` below the
    diagonal and ``L[j, j] = d_j``, with ``q_j = 1 - sum_{m<=j} p_m``, ``q_{-1} = 1`` and
    ``d_j = sqrt(p_j q_j / q_{j-1})`` (the last column is 0: the covariance has rank K-1)."""
    k = p.shape[1]
    q = 1.0 - torch.cumsum(p, dim=1)
    q[:, -1] = 0.0
    q_prev = torch.cat([torch.ones_like(q[:, :1]), q[:, :-1]], dim=1)
    d = torch.sqrt((p * q / q_prev).clamp_min(0.0))
    below = -p.unsqueeze(2) / torch.where(q > 0, q, torch.ones_like(q)).unsqueeze(1)
    eye = torch.eye(k, dtype=p.dtype, device=p.device)
    return (torch.tril(below, diagonal=-1) + eye) * d.unsqueeze(1)


def _fisher(ctx: ProxyContext, x: torch.Tensor | None = None) -> torch.Tensor:
    """The reference's ``[128, 128]`` matrix ``mean_i (L_i J_i)^T (L_i J_i)`` on ``x`` (default: the
    context's inputs), for the model in its current (eval) mode."""
    names = [n for n, _ in ctx.model.named_parameters()][:N_TENSORS]
    out, jac = per_sample_jacobian(ctx, names, x)
    k = out.shape[1]
    p = torch.softmax(out.to(torch.float64), dim=1) * (1 - SMOOTH) + SMOOTH / k
    lj = multinomial_cholesky(p) @ jac.to(torch.float64)  # [B, K, P]
    return (lj.transpose(1, 2) @ lj).mean(0)


def _vkdnw_pass(ctx: ProxyContext) -> dict[str, float]:
    if "vkdnw" in ctx.cache:
        return ctx.cache["vkdnw"]
    gen = torch.Generator().manual_seed(ctx.seed)
    with ctx.isolated():
        kaiming_init(ctx.model, gen)
        ctx.model.eval()
        # drawn on the CPU generator (the same numbers on every device), then moved
        x = torch.randn(list(ctx.inputs.shape), generator=gen, dtype=ctx.inputs.dtype).to(ctx.inputs.device)
        fisher = _fisher(ctx, x)
    lam = torch.linalg.svdvals(fisher)
    q = torch.quantile(lam, torch.arange(1, 10, dtype=lam.dtype, device=lam.device) / 10)
    t = q / (q.abs().sum() + 1e-10)
    res = {
        "entropy": float(-(t * torch.log(t + 1e-10)).sum()),
        "dim": float(len(list(ctx.model.parameters()))),
    }
    ctx.cache["vkdnw"] = res
    return res


@register_proxy("vkdnw", version=2, needs_data=False, modifies_weights=True, tasks=("classification",))
def vkdnw(ctx: ProxyContext) -> float:
    """VKDNW: number of parameter tensors + Fisher-decile entropy / ln 9 (the reference's
    lexicographic (dim, entropy) order as one number)."""
    r = _vkdnw_pass(ctx)
    return r["dim"] + r["entropy"] / _MAX_ENTROPY


@register_proxy("vkdnw_entropy", version=2, needs_data=False, modifies_weights=True, tasks=("classification",))
def vkdnw_entropy(ctx: ProxyContext) -> float:
    """VKDNW entropy of the normalised deciles of the reference's Fisher spectrum (128 weights, eval
    mode, Gaussian inputs)."""
    return _vkdnw_pass(ctx)["entropy"]


@register_proxy("vkdnw_dim", needs_data=False, needs_grad=False)
def vkdnw_dim(ctx: ProxyContext) -> float:
    """Number of parameter tensors of the module (VKDNW's first ranking key)."""
    return float(len(list(ctx.model.parameters())))
