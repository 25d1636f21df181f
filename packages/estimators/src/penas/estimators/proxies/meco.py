"""MeCo and MeCo-opt (Jiang et al., NeurIPS 2023: minimum eigenvalue of feature correlation).

Reference (``HamsterMimi/MeCo``, ``correlation/NAS_Bench_201.py`` ``get_score``): a forward
hook on *every* module (``named_modules()``: containers, the root and leaves alike) takes the
first sample of the module's output, reshapes it to ``[C, rest]``, forms the channel
correlation matrix (``torch.corrcoef``; NaN/inf entries set to 0) and keeps its smallest
eigenvalue; the score is the sum over hooks of the finite values. Conventions of the
reference: a batch of **one** real image (``--batch_size 1``, ``dataload appoint``), the network
as built in train mode (BN on, normalising with that one image's statistics), higher is better.
``meco_opt`` uses 8 randomly chosen channels per module (``random.sample``) and rescales the
eigenvalue by ``C / 8``; modules with fewer than 8 channels make the reference fail, here they
use all channels.

Here one extra no-grad forward of the batch's first sample computes both, so the score does
not depend on the rest of the batch but does depend on which sample comes first
(``order_invariant=False``). MeCo-opt's channel draws come from a generator seeded with the
context seed. Eigenvalues are taken with ``eigvalsh`` (the matrix is symmetric; the reference's
general ``eig`` returns the same real values).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn as nn

from ._registry import register_proxy
from .context import ProxyContext, ProxyUndefined

OPT_CHANNELS = 8


def _min_eig_corr(fea: torch.Tensor) -> float:
    with warnings.catch_warnings():  # one value per channel row: corrcoef is NaN, set to 0 below
        warnings.simplefilter("ignore", UserWarning)
        corr = torch.corrcoef(fea.to(torch.float64))
    corr = torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


def _meco_pass(ctx: ProxyContext) -> dict[str, float]:
    if "meco" in ctx.cache:
        return ctx.cache["meco"]
    gen = torch.Generator().manual_seed(ctx.seed)
    full: list[float] = []
    opt: list[float] = []

    def hook(mod: nn.Module, inp: Any, out: Any) -> None:
        t = out[0] if isinstance(out, (tuple, list)) else out
        if not isinstance(t, torch.Tensor) or t.dim() < 1 or not t.is_floating_point():
            return
        fea = t[0].detach() if t.dim() > 1 else t.detach()  # the first sample, as data_output[0]
        fea = fea.reshape(fea.shape[0], -1)
        if fea.shape[0] < 1:
            return
        full.append(_min_eig_corr(fea))
        c = fea.shape[0]
        if c > OPT_CHANNELS:
            idx = torch.randperm(c, generator=gen)[:OPT_CHANNELS].to(fea.device)
            opt.append(_min_eig_corr(fea[idx]) * c / OPT_CHANNELS)
        else:
            opt.append(full[-1])

    handles = [m.register_forward_hook(hook) for m in ctx.model.modules()]
    try:
        with ctx.isolated(), torch.no_grad():
            ctx.forward(ctx.inputs[:1].clone())
    except ValueError as e:  # train-mode BN on one sample at 1x1 resolution
        if "more than 1 value per channel" in str(e):
            raise ProxyUndefined(f"meco: {e}") from e
        raise
    finally:
        for h in handles:
            h.remove()

    def total(vals: list[float]) -> float:
        t = torch.tensor(vals, dtype=torch.float64)
        return float(t[torch.isfinite(t)].sum()) if vals else float("nan")

    ctx.cache["meco"] = {"meco": total(full), "meco_opt": total(opt)}
    return ctx.cache["meco"]


@register_proxy("meco", needs_grad=False, order_invariant=False)
def meco(ctx: ProxyContext) -> float:
    """MeCo: sum over modules of the minimum eigenvalue of the first sample's channel correlation."""
    return _meco_pass(ctx)["meco"]


@register_proxy("meco_opt", needs_grad=False, order_invariant=False)
def meco_opt(ctx: ProxyContext) -> float:
    """MeCo-opt: MeCo on 8 seeded random channels per module, each eigenvalue scaled by C/8."""
    return _meco_pass(ctx)["meco_opt"]
