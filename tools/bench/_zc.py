"""What the zero-cost benches share, so that their scores are the same store rows: the seeded NB201
arch sample, the estimator recipe (published protocol on real CIFAR-10 training batches) and the store.

``zc_reproduce.py``'s 1,000-arch test sample is a prefix of ``zc_frontier.py``'s 3,000-arch sample, and
both score through :func:`estimator` into :func:`default_store`, so either script reuses the other's rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from penas.estimators.zero_cost import ZeroCostEstimator
from penas.spaces.paths import cache_root

SEEDS = (42, 43, 44)


def sample_indices(n_total: int, n: int, seed: int = 0) -> np.ndarray:
    """Rows of the seeded arch sample, ``default_rng(seed).permutation(n_total)[:n]``: a smaller ``n``
    is a prefix of a larger one."""
    return np.random.default_rng(seed).permutation(n_total)[:n]


def default_store() -> Path:
    """The score store both benches use (in the penas cache, so a later session can continue)."""
    return cache_root() / "bench" / "zc_reproduce.db"


def estimator(space, seed: int, data: str, proxy: str, device: str = "cpu") -> ZeroCostEstimator:
    """The zero-cost-nas protocol: one seeded batch of 64 random training images per seed."""
    return ZeroCostEstimator(space, proxy=proxy, protocol="zero-cost-nas", data=data, seed=seed, device=device)
