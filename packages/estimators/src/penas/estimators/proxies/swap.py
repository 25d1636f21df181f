"""SWAP and reg-SWAP (Peng et al., ICLR 2024: sample-wise activation patterns).

Reference (``pym1024/SWAP``, ``src/metrics/swap.py``): forward hooks on every ``nn.ReLU``
whose input is 4-D keep the post-ReLU map; the signs of all of them are concatenated into a
``[samples, units]`` matrix, transposed, and the score is the number of *distinct rows*: the
number of different on/off patterns a unit shows across the batch. Conventions of the reference:
real images (a batch of 16 CIFAR-10 training images), the freshly built network in its default
(train) mode under ``no_grad`` (so BN normalises with batch statistics), higher is better.

Here the patterns come from the shared forward (the same ReLU pre-hooks as ``nwot``:
``input > 0`` is exactly ``sign(ReLU(input))``), on the protocol's batch (64 images under
zero-cost-nas instead of the reference's 16: more samples can only separate more units), packed
into one 64-bit key per unit (a byte string beyond 64 samples) so counting is one ``np.unique``. Permuting the batch permutes every
pattern's bits the same way, so the count does not depend on the sample order.

reg-SWAP multiplies by ``exp(-(P - mu)^2 / sigma)`` with P the parameter count in thousands
(the reference's ``count_parameters`` unit). The reference publishes no mu/sigma; penas uses
:data:`REG_SWAP_MU` / :data:`REG_SWAP_SIGMA`, the midpoint and the squared half-width of the
NB201 CIFAR-10 parameter range (73K..1532K; chosen from sizes only, not from accuracies).
"""

from __future__ import annotations

import math

from ._registry import register_proxy
from .context import ProxyContext

REG_SWAP_MU = 800.0  # thousands of parameters
REG_SWAP_SIGMA = 729.0**2  # thousands of parameters, squared


def reg_swap_factor(params_k: float, mu: float = REG_SWAP_MU, sigma: float = REG_SWAP_SIGMA) -> float:
    """reg-SWAP's size regulariser ``exp(-(params_k - mu)^2 / sigma)`` (params in thousands)."""
    return math.exp(-((params_k - mu) ** 2) / sigma)


@register_proxy("swap", needs=("relu_patterns",), needs_grad=False)
def swap(ctx: ProxyContext) -> float:
    """SWAP: number of distinct per-unit ReLU on/off patterns across the batch's samples."""
    n = ctx.shared.relu_patterns
    return float(n) if n > 0 else float("nan")


@register_proxy("reg_swap", needs=("relu_patterns",), needs_grad=False)
def reg_swap(ctx: ProxyContext) -> float:
    """reg-SWAP: SWAP times exp(-(params/1e3 - mu)^2 / sigma) (mu=800, sigma=729^2, in K params)."""
    params_k = sum(p.numel() for p in ctx.model.parameters() if p.requires_grad) / 1e3
    return swap(ctx) * reg_swap_factor(params_k)
