"""Pure pruning rules used by the staged PE-NAS search (no I/O, no estimators).

Every rule works on *oriented* scores (higher is better) aligned with a list of canonical
arch ids. The reference code ([PE] ``pe_nas_*.py``) has three defects that are fixed here:

1. **Quantile pruning that empties the set.** The reference keeps archs whose score is
   strictly greater than the ``q``-quantile, so ``q = 1.0`` (and any all-tied stage) keeps
   nothing. :func:`prune_quantile` keeps ``k = max(1, n - floor(q * n))`` archs instead:
   the top ``(1 - q)`` fraction, never fewer than one.
2. **Ties.** The reference drops every arch tied at the threshold. Here archs are ordered
   by score (descending), NaN (invalid) last, and ties are broken by the canonical arch id
   in ascending lexicographic order (:func:`order`). The result therefore never depends on
   the input order.
3. **The inverted vote check in Ours-B/C** (``if not failed: mask = 0`` removes the
   RF-selected archs that *pass* the zero-cost vote). :func:`vote` returns who passes and
   the search keeps those.

The vote itself is threshold based, as in the reference: a proxy passes an arch when its
score is strictly greater than that proxy's ``q``-quantile (``numpy.quantile``, linear
interpolation) over the reference set; NaN never passes. :func:`vote_keep` applies the
at-least-one rule: when no arch reaches ``min_votes``, the single best arch by (votes,
mean per-proxy rank, arch id) is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

# The vote rule (per-proxy q-quantile thresholds, votes strictly above them) has one
# implementation, next to the other estimator combinations.
from penas.estimators.combination import thresholds, votes  # noqa: F401  (re-exported)


def _clean(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores: expected a 1-D array, got shape {s.shape}")
    return s


def order(ids: Sequence[str], scores: Sequence[float] | np.ndarray) -> list[int]:
    """Positions sorted best first: score descending, NaN last, ties by arch id ascending."""
    s = _clean(scores)
    if len(ids) != s.size:
        raise ValueError(f"ids/scores: lengths differ ({len(ids)} vs {s.size})")
    return sorted(range(s.size), key=lambda i: (not math.isfinite(s[i]), -s[i] if math.isfinite(s[i]) else 0.0, ids[i]))


def top_k(ids: Sequence[str], scores: Sequence[float] | np.ndarray, k: int) -> list[str]:
    """The ``k`` best ids (see :func:`order`); ``k`` is clipped to ``[1, n]`` when n > 0."""
    if not ids:
        return []
    k = max(1, min(int(k), len(ids)))
    return [ids[i] for i in order(ids, scores)[:k]]


def keep_count(n: int, q: float) -> int:
    """How many of ``n`` archs survive a drop ratio ``q`` in [0, 1]: ``max(1, n - floor(q*n))``."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q: expected a drop ratio in [0, 1], got {q}")
    if n <= 0:
        return 0
    return max(1, n - math.floor(q * n + 1e-9))


def prune_quantile(ids: Sequence[str], scores: Sequence[float] | np.ndarray, q: float) -> list[str]:
    """Drop the worst ``q`` fraction (``q = 0``: keep all); always keep at least one arch."""
    return top_k(ids, scores, keep_count(len(ids), q)) if ids else []


def vote(score_table: Mapping[str, Sequence[float] | np.ndarray], thr: Mapping[str, float], min_votes: int) -> np.ndarray:
    """Boolean mask: the archs that pass (>= ``min_votes`` proxies above threshold)."""
    if min_votes < 1:
        raise ValueError(f"min_votes: expected a positive integer, got {min_votes}")
    return votes(score_table, thr) >= min_votes


def mean_rank(score_table: Mapping[str, Sequence[float] | np.ndarray], ids: Sequence[str]) -> np.ndarray:
    """Mean 0-based position over proxies when each proxy orders the archs (lower = better)."""
    n = len(ids)
    acc = np.zeros(n, dtype=np.float64)
    for s in score_table.values():
        pos = np.empty(n, dtype=np.float64)
        pos[order(ids, s)] = np.arange(n)
        acc += pos
    return acc / max(1, len(score_table))


def vote_keep(
    ids: Sequence[str], score_table: Mapping[str, Sequence[float] | np.ndarray], thr: Mapping[str, float],
    min_votes: int,
) -> list[str]:
    """The ids passing the vote (input order); if none pass, the single best arch by
    (most votes, lowest mean per-proxy rank, arch id)."""
    if not ids:
        return []
    mask = vote(score_table, thr, min_votes)
    kept = [a for a, m in zip(ids, mask, strict=True) if m]
    if kept:
        return kept
    v = votes(score_table, thr)
    mr = mean_rank(score_table, ids)
    best = min(range(len(ids)), key=lambda i: (-v[i], mr[i], ids[i]))
    return [ids[best]]
