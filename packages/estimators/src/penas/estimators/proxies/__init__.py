"""Zero-cost proxies: a registry of small scoring functions over one shared model and batch.

Every proxy is a function ``fn(ctx: ProxyContext) -> float`` registered with
:func:`register_proxy`, which also declares how the proxy behaves:

* ``higher_is_better`` -- the direction of the raw score;
* ``needs`` -- which products of the *shared pass* the proxy reads (``"grads"``, ``"fisher"``,
  ``"input_grad"``, ``"relu_codes"``, ``"relu_calls"``, ``"macs"``). All proxies of one
  :func:`~penas.estimators.zero_cost.score_module` call share one forward/backward;
* ``needs_data`` / ``needs_grad`` -- whether real images+labels / a backward pass are used;
* ``bn`` -- whether BatchNorm layers are active (``False`` only for ``synflow``);
* ``modifies_weights`` -- the proxy rewrites weights (synflow: abs + float64, zen: Gaussian
  re-init); it runs inside :meth:`ProxyContext.isolated`, which restores the model in place;
* ``tasks`` -- the output kinds the proxy is defined for (``epe_nas`` needs class logits);
* ``order_invariant`` -- the score does not change when the samples of the batch are permuted
  (``False`` for proxies that split the batch or read its first sample: zico, meco).

Proxy modules register on import of this package (one module per proxy family).
"""

from __future__ import annotations

# Proxy modules register in ._registry on import (one module per proxy family).
from . import (  # noqa: F401  (register)
    activation,
    az_nas,
    gradient,
    gradsign,
    meco,
    static,
    swap,
    synflow,
    tenas,
    vkdnw,
    zen,
    zico,
)
from ._registry import PROXIES, ProxyFn, ProxySpec, get_proxy, list_proxies, register_proxy
from .context import ProxyContext

__all__ = ["PROXIES", "ProxyContext", "ProxyFn", "ProxySpec", "get_proxy", "list_proxies", "register_proxy"]
