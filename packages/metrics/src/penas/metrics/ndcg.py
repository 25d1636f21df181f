"""Normalised discounted cumulative gain (numpy only).

``DCG@K = sum_{r=1..K} gain(gt of the r-th arch by pred) / log2(r + 1)`` and
``nDCG@K = DCG@K / IDCG@K`` with IDCG the DCG of the ideal order (gt descending). Ties in
``pred`` are handled like ``sklearn.metrics.ndcg_score(ignore_ties=False)``: the archs of one
tie group share the group's mean gain at each of the positions the group covers, so the value
does not depend on the input order.

``gain="linear"`` uses gt itself (sklearn's convention; gt must be >= 0); ``gain="exp2"`` uses
``2**gt - 1`` (the VKDNW paper's nDCG on accuracies in %: a top-heavy gain that rewards finding
the very best archs). The gains are shifted by ``2**max(gt)`` before the subtraction-free ratio
is formed, so ``exp2`` stays finite for any accuracy in [0, 100].
"""

from __future__ import annotations

import numpy as np

from ._validate import check_pair, resolve_k

__all__ = ["GAINS", "ndcg"]

GAINS = ("linear", "exp2")


def _gains(gt: np.ndarray, gain: str) -> np.ndarray:
    if gain == "linear":
        if np.any(gt < 0):
            raise ValueError("gt: gain='linear' needs non-negative values (use gain='exp2' or shift gt)")
        return gt.astype(np.float64)
    if gain == "exp2":
        top = float(np.max(gt))
        # 2**g - 1 scaled by 2**-top (the ratio DCG/IDCG is scale-free): 2**(g-top) - 2**-top
        return np.exp2(gt.astype(np.float64) - top) - np.exp2(-top)
    raise ValueError(f"gain: expected one of {GAINS}, got {gain!r}")


def _dcg(group_gains: np.ndarray, group_sizes: np.ndarray, k: int) -> float:
    """DCG@k of tie groups in rank order, each with its mean gain and its size."""
    n = int(group_sizes.sum())
    disc = np.zeros(n, dtype=np.float64)
    disc[:k] = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    cum = np.concatenate(([0.0], np.cumsum(disc)))
    ends = np.cumsum(group_sizes)
    return float(np.sum(group_gains * (cum[ends] - cum[ends - group_sizes])))


def ndcg(pred: object, gt: object, k: object | None = None, gain: str = "linear") -> float:
    """nDCG@K of the order given by ``pred`` against the relevance ``gt`` (higher is better for both).

    Parameters
    ----------
    pred, gt : array-like
        Equal-length 1-D numeric arrays (finite, length >= 2).
    k : int or float, optional
        A count K or a ratio of N in (0, 1] (K = floor(ratio * N)); ``None`` means all N.
    gain : {"linear", "exp2"}
        ``gt`` itself (sklearn's ``ndcg_score``) or ``2**gt - 1`` (VKDNW's nDCG).

    Returns
    -------
    float
        In [0, 1]; NaN when every gain is zero (IDCG = 0).

    Examples
    --------
    >>> from penas.metrics import ndcg
    >>> round(ndcg([3, 2, 1], [1.0, 0.0, 2.0]), 4)
    0.7602
    >>> ndcg([0.1, 0.9, 0.5], [0.1, 0.9, 0.5], k=2)
    1.0
    """
    p, g = check_pair(pred, gt)
    kk = p.size if k is None else resolve_k(k, p.size)
    gains = _gains(g, gain)
    order = np.argsort(-p, kind="stable")
    ps = p[order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    sizes = np.diff(np.r_[starts, ps.size])
    mean_gain = np.add.reduceat(gains[order], starts) / sizes
    ideal = np.sort(gains)[::-1]
    idcg = _dcg(ideal, np.ones(ideal.size, dtype=np.int64), kk)
    if idcg <= 0.0:
        return float("nan")
    return float(_dcg(mean_gain, sizes, kk) / idcg)
