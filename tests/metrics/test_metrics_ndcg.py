"""nDCG: a hand-worked case, sklearn's ndcg_score (ties included), and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from penas.metrics import ndcg


def test_hand_worked_case():
    # pred order: idx0 (gain 1), idx1 (gain 0), idx2 (gain 2): DCG = 1/log2(2) + 0 + 2/log2(4) = 2
    # ideal: 2, 1, 0: IDCG = 2 + 1/log2(3)
    assert ndcg([3, 2, 1], [1.0, 0.0, 2.0]) == pytest.approx(2.0 / (2.0 + 1.0 / math.log2(3.0)), rel=1e-12)
    # at K=1 only the first arch counts: 1 / 2
    assert ndcg([3, 2, 1], [1.0, 0.0, 2.0], k=1) == pytest.approx(0.5)
    # a tie between the two first archs shares their mean gain (0.5) over positions 1 and 2
    tied = (0.5 * (1 + 1 / math.log2(3)) + 2 / math.log2(4)) / (2.0 + 1.0 / math.log2(3.0))
    assert ndcg([3, 3, 1], [1.0, 0.0, 2.0]) == pytest.approx(tied, rel=1e-12)


def test_exp2_gain_by_hand_and_finite_for_accuracies():
    # gains 2**g - 1: [1, 0, 3]; DCG = 1 + 3/2; IDCG = 3 + 1/log2(3)
    assert ndcg([3, 2, 1], [1.0, 0.0, 2.0], gain="exp2") == pytest.approx(2.5 / (3 + 1 / math.log2(3)), rel=1e-12)
    rng = np.random.default_rng(0)
    acc = rng.uniform(10, 94.37, 1000)
    v = ndcg(acc + rng.normal(0, 1, 1000), acc, k=0.01, gain="exp2")
    assert 0.0 < v <= 1.0 and math.isfinite(v)


@pytest.mark.parametrize("seed", range(20))
def test_matches_sklearn_ndcg_score_with_ties(seed):
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    pred = rng.integers(0, 6, n).astype(float)  # many ties
    gt = rng.random(n) * 100
    for k in (1, max(1, n // 3), n):
        assert ndcg(pred, gt, k=k) == pytest.approx(sk.ndcg_score([gt], [pred], k=k), rel=1e-10, abs=1e-12)


def test_ratio_k_and_errors():
    gt = np.arange(100, dtype=float)
    assert ndcg(gt, gt, k=0.01) == 1.0
    with pytest.raises(ValueError, match="gain"):
        ndcg(gt, gt, gain="log")
    with pytest.raises(ValueError, match="non-negative"):
        ndcg(gt, gt - 50)
    assert math.isnan(ndcg([1.0, 2.0], [0.0, 0.0]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 100, allow_nan=False)), min_size=2, max_size=40),
       st.randoms(use_true_random=False))
def test_properties_bounds_perfect_order_and_permutation(pairs, rnd):
    pred = np.array([p for p, _ in pairs], dtype=float)
    gt = np.array([g for _, g in pairs], dtype=float)
    if gt.sum() <= 0:
        return
    v = ndcg(pred, gt)
    assert -1e-12 <= v <= 1 + 1e-12
    assert ndcg(gt, gt) == pytest.approx(1.0)
    perm = list(range(len(pairs)))
    rnd.shuffle(perm)
    assert ndcg(pred[perm], gt[perm]) == pytest.approx(v, rel=1e-12, abs=1e-12)
