"""Activation and input-Jacobian proxies: nwot (relu_logdet), relu, jacob_cov, epe_nas.

They read the shared pass: binary ReLU codes, the number of ReLU module calls, and the
gradient of ``sum(output)`` with respect to the input batch.
"""

from __future__ import annotations

import numpy as np

from ._registry import register_proxy
from .context import ProxyContext


@register_proxy("nwot", needs=("relu_codes",), needs_grad=False, aliases=("relu_logdet",))
def nwot(ctx: ProxyContext) -> float:
    """NASWOT: log|det K|, K[i,j] = number of ReLU inputs where samples i and j share a sign.

    Only ``nn.Module`` ReLUs (type name containing "ReLU") are seen; a net without any gives
    K = 0 and an invalid (NaN) score.
    """
    K = ctx.shared.relu_K
    sign, logdet = np.linalg.slogdet(K)
    return float(logdet) if sign != 0 else float("nan")


@register_proxy("relu", needs=("relu_calls",), needs_grad=False, needs_data=False)
def relu(ctx: ProxyContext) -> float:
    """Number of ReLU module calls in one forward (a depth-like proxy)."""
    return float(ctx.shared.relu_calls)


def _jacobian(ctx: ProxyContext) -> np.ndarray:
    j = ctx.shared.input_grad
    return j.reshape(j.shape[0], -1).detach().cpu().numpy().astype(np.float64)


@register_proxy("jacob_cov", needs=("input_grad",), needs_grad=True)
def jacob_cov(ctx: ProxyContext) -> float:
    """-sum(log(v+k) + 1/(v+k)), v = eigenvalues of corrcoef of the per-sample input gradients
    of sum(output), k = 1e-5. NaN when the correlation matrix is undefined."""
    with np.errstate(all="ignore"):
        corrs = np.corrcoef(_jacobian(ctx))
        if not np.all(np.isfinite(corrs)):
            return float("nan")
        v = np.linalg.eigvalsh(corrs)
        k = 1e-5
        return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


@register_proxy("epe_nas", needs=("input_grad",), tasks=("classification",))
def epe_nas(ctx: ProxyContext) -> float:
    """EPE-NAS: sum over classes of |sum log(|corrcoef(J_c)| + 1e-5)| (per-class correlation of
    input Jacobians; NASLib's n_classes <= 100 branch, and the pairwise branch above 100).
    Undefined (NaN) for dense outputs."""
    sh = ctx.shared
    if sh.output_dim != 2:
        return float("nan")
    jac = _jacobian(ctx)
    labels = ctx.require_targets().detach().cpu().numpy()
    n_classes = sh.n_classes
    k = 1e-5
    per_class: dict[int, float] = {}
    with np.errstate(all="ignore"):
        for c in np.unique(labels):
            rows = jac[labels == c]
            corrs = np.atleast_1d(np.corrcoef(rows)) if rows.shape[0] > 1 else np.array([1.0])
            s = float(np.sum(np.log(np.abs(corrs) + k)))
            if n_classes > 100:
                s /= len(corrs)
            per_class[int(c)] = s
    vals = list(per_class.values())
    if n_classes <= 100:
        return float(sum(abs(v) for v in vals))
    return float(sum(abs(a - b) for a in vals for b in vals) / max(len(vals), 1))
