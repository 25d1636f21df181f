"""SynFlow (data-free): ``synflow`` (BN off), ``synflow_bn`` (BN on) and ``log_synflow``.

References: Tanaka et al. (NeurIPS 2020); ``SamsungLabs/zero-cost-nas``
``foresight/pruners/measures/synflow.py`` (registered as ``synflow`` with ``bn=False``: the
measure runs on a copy whose BatchNorm forwards are the identity) and NASLib's
``measures/synflow.py`` (the same function registered twice, ``synflow`` with ``bn=False`` and
``synflow_bn`` with ``bn=True``). As there: every state tensor is replaced by its absolute
value, the net is cast to float64, an all-ones ``[1, C, H, W]`` float64 input is pushed through
(train mode), and ``sum(output)`` is backpropagated. Score = sum over Conv2d/Linear weights of
``|W * g|``. Here the abs/float64 state is undone in place by the context (no copy of the module).

``synflow_bn`` keeps BatchNorm in train mode on that single all-ones sample, so every BN
rescales each channel to zero mean and unit variance over the spatial positions of one constant
image (whose maps vary only through the zero padding at the borders): the path magnitudes that
SynFlow accumulates are normalised away at every BN. That is why SynFlow's authors and
zero-cost-nas turn BN off, and a low correlation (Spearman +0.19 on 40 NASLib NB201 archs, +0.10 on the
bench's 86) is what the reference measure gives, not a porting error. It is undefined (NaN) when
a train-mode BatchNorm sees a single value per channel (the batch of one at 1x1 resolution,
e.g. TopFormer's token branch at small inputs).

``log_synflow`` is the natural log of the ``synflow`` sum. It is computed as
``logsumexp(log|W| + log|g|)`` over all elements in float64, so it stays finite when the
plain sum overflows (it is NaN only when a gradient itself overflows float64).
"""

from __future__ import annotations

import torch

from ._registry import register_proxy
from .context import ProxyContext, ProxyUndefined


def _synflow_terms(ctx: ProxyContext, bn: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    model = ctx.model
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.abs_()
    model.double()
    ws = ctx.weights()
    x = torch.ones([1, *ctx.inputs.shape[1:]], dtype=torch.float64, device=ctx.inputs.device)
    if bn:
        try:
            out = ctx.forward(x)
        except ValueError as e:  # train-mode BN on one sample at 1x1 resolution
            if "more than 1 value per channel" in str(e):
                raise ProxyUndefined(f"synflow_bn: {e}") from e
            raise
    else:
        with ctx.bn_off():
            out = ctx.forward(x)
    gs = torch.autograd.grad(out.sum(), ws, allow_unused=True)
    # clone: the restore may copy the original weights back into the same storage
    return [(w.detach().clone(), g) for w, g in zip(ws, gs, strict=True) if g is not None]


def _cached_terms(ctx: ProxyContext, bn: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (|W|, g) pairs of one synflow pass, shared by ``synflow`` and ``log_synflow``."""
    key = f"synflow_terms_bn={bn}"
    if key not in ctx.cache:
        with ctx.isolated():
            ctx.cache[key] = _synflow_terms(ctx, bn)
    return ctx.cache[key]


def _synflow(ctx: ProxyContext, bn: bool) -> float:
    total = torch.zeros((), dtype=torch.float64)
    for w, g in _cached_terms(ctx, bn):
        total = total + (w * g).abs().sum()
    return float(total)


@register_proxy("synflow", needs_data=False, bn=False, modifies_weights=True)
def synflow(ctx: ProxyContext) -> float:
    """SynFlow with BatchNorm as identity: sum |W * g| on |W|, float64, all-ones input."""
    return _synflow(ctx, bn=False)


@register_proxy("synflow_bn", needs_data=False, bn=True, modifies_weights=True)
def synflow_bn(ctx: ProxyContext) -> float:
    """SynFlow with BatchNorm active (train mode on the single all-ones sample)."""
    return _synflow(ctx, bn=True)


@register_proxy("log_synflow", needs_data=False, bn=False, modifies_weights=True)
def log_synflow(ctx: ProxyContext) -> float:
    """ln(synflow), computed stably as logsumexp of per-element log|W| + log|g| (float64)."""
    logs = [(w.abs().log() + g.abs().log()).reshape(-1) for w, g in _cached_terms(ctx, bn=False)]
    if not logs:
        return float("-inf")
    return float(torch.logsumexp(torch.cat(logs), dim=0))
