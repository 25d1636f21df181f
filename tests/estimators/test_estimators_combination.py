"""Estimator combinations (log-rank sum, mean rank, PE-NAS vote) and the zero-cost ensemble
predictor. Score tables are synthetic where the rule's arithmetic is checked; the estimator
paths use nasbench_macro's exact params/flops counts (cheap, no network pass) and tiny
synthetic batches for the zero-cost members."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import rankdata

from penas.estimators import get_estimator, list_estimators
from penas.estimators.combination import (
    PRESETS,
    CombinedEstimator,
    combine,
    log_rank_sum,
    mean_rank,
    relative_ranks,
    thresholds,
    vote_score,
    votes,
)
from penas.estimators.predictor import ZeroCostEnsemble, make_regressor, suite_zero_protocol
from penas.spaces import get_space

MACRO = ["00000000", "12121212", "22212220", "11111111", "01201201", "22222222", "10101010"]


def test_relative_ranks_are_average_ranks_with_nan_last():
    x = np.array([3.0, 1.0, 1.0, np.nan, 5.0])
    np.testing.assert_allclose(relative_ranks(x) * 5, rankdata(np.where(np.isnan(x), -np.inf, x)))
    # against a reference: the rank the score would take if inserted alone
    np.testing.assert_allclose(relative_ranks([1.0, 2.0, 9.0], [1.0, 2.0, 3.0]), [1.5 / 4, 2.5 / 4, 4 / 4])


def test_log_rank_sum_is_az_nas_aggregation():
    rng = np.random.default_rng(0)
    table = {k: rng.normal(size=50) for k in "abcd"}
    table["b"][[3, 7]] = table["b"][5]  # ties
    expected = sum(np.log(rankdata(v) / 50) for v in table.values())
    np.testing.assert_allclose(log_rank_sum(table), expected)
    np.testing.assert_allclose(mean_rank(table), np.mean([rankdata(v) / 50 for v in table.values()], 0))


def test_reference_makes_scores_independent_of_the_scored_set():
    rng = np.random.default_rng(1)
    ref = {k: rng.normal(size=30) for k in "ab"}
    table = {k: rng.normal(size=10) for k in "ab"}
    whole = log_rank_sum(table, ref)
    parts = np.concatenate([log_rank_sum({k: v[:4] for k, v in table.items()}, ref),
                            log_rank_sum({k: v[4:] for k, v in table.items()}, ref)])
    np.testing.assert_allclose(whole, parts)


def test_vote_score_orders_by_votes_then_mean_rank():
    table = {"p": np.array([1.0, 2.0, 3.0, 4.0]), "q": np.array([4.0, 3.0, 1.0, 2.0])}
    thr = thresholds(table, 0.5)
    v = votes(table, thr)
    assert v.tolist() == [1, 1, 1, 1]
    s = vote_score(table, q=0.5)
    assert np.all(np.ceil(s - 1e-12) == v)  # votes - 1 < score <= votes
    table2 = {"p": np.array([1.0, 2.0, 3.0, 4.0]), "q": np.array([1.0, 2.0, 4.0, 3.0])}
    s2 = vote_score(table2, q=0.5)
    assert np.argmax(s2) in (2, 3) and s2[0] == s2.min()
    with pytest.raises(ValueError, match="method"):
        combine(table, "median")


def test_presets_are_registered_estimators():
    names = set(list_estimators())
    assert {"combination", *PRESETS} <= names
    assert PRESETS["az_nas"][1] == "log_rank" and PRESETS["pe_nas_vote"][0] == ("l2_norm", "nwot", "zen")


def test_combined_estimator_over_space_level_members():
    sp = get_space("nasbench_macro")
    est = CombinedEstimator(sp, ["params", "flops"], method="log_rank")
    got = est.score(MACRO)
    table = {"params": get_estimator("params", sp).score(MACRO), "flops": get_estimator("flops", sp).score(MACRO)}
    np.testing.assert_allclose(got, log_rank_sum(table))
    with pytest.raises(ValueError, match="reference"):
        est._score_one(sp.parse(MACRO[0]))
    ref = CombinedEstimator(sp, ["params", "flops"], method="mean_rank", reference=MACRO)
    one = [ref._score_one(sp.parse(a)) for a in MACRO[:3]]
    np.testing.assert_allclose(one, ref.score(MACRO[:3]))
    assert ref.config()["reference"] != est.config()["reference"]
    with pytest.raises(ValueError, match="method"):
        CombinedEstimator(sp, ["params"], method="sum")


def test_zero_cost_members_share_one_build_and_match_their_estimators():
    sp = get_space("nasbench_macro")
    cfg = {"data": "synthetic", "batch_size": 4}
    est = get_estimator("pe_nas_vote", sp, member_cfg=cfg)
    archs = MACRO[:4]
    table = est.member_table(archs)
    for p in ("l2_norm", "nwot", "zen"):
        np.testing.assert_allclose(table[p], get_estimator(p, sp, **cfg).score(archs), rtol=1e-6)
    s = est.score(archs)
    assert s.shape == (4,) and np.all(np.isfinite(s))


def test_regressor_errors_name_the_extra():
    with pytest.raises(ValueError, match=r"penas-estimators\[boost\]"):
        try:
            import xgboost  # noqa: F401
        except ImportError:
            make_regressor("xgb")
        else:
            raise ValueError("xgboost installed: penas-estimators[boost]")
    with pytest.raises(ValueError, match="model"):
        make_regressor("svm")


@pytest.mark.parametrize("model", ["hgb", "gp", "mlp"])
def test_suite_zero_protocol_learns_a_synthetic_signal(model):
    # synthetic: y depends on the first feature; the learned rank correlation must be clearly positive
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = x[:, 0] + 0.2 * rng.normal(size=200)
    r = suite_zero_protocol(x, y, 80, seeds=[0, 1], model=model)
    assert r["kt"].shape == (2,) and np.all(r["kt"] > 0.5)
    assert r["test"].size == 120
    with pytest.raises(ValueError, match="n_train"):
        suite_zero_protocol(x, y, 199)


def test_ensemble_rank_target_is_the_normalised_rank_and_outliers_do_not_dominate():
    from penas.estimators.predictor import fit_target

    y = np.array([10.0, 93.0, 91.0, 92.5])
    assert np.allclose(fit_target(y, "rank"), [0.25, 1.0, 0.5, 0.75])
    assert np.array_equal(fit_target(y, "value"), y)
    with pytest.raises(ValueError, match="^target: expected one of rank, value"):
        fit_target(y, "log")
    # synthetic: a monotone signal plus a few collapsed archs far below (NB201's 10 % nets);
    # fitting ranks keeps the ranking of the rest at least as good as fitting the values
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = 90 + x[:, 0] + 0.3 * rng.normal(size=300)
    y[rng.choice(300, 15, replace=False)] = 10.0
    kt_rank = suite_zero_protocol(x, y, 100, seeds=[0, 1], model="hgb", target="rank")["kt"].mean()
    kt_value = suite_zero_protocol(x, y, 100, seeds=[0, 1], model="hgb", target="value")["kt"].mean()
    assert kt_rank > 0.4 and kt_rank >= kt_value - 0.02
    with pytest.raises(ValueError, match="^target"):
        suite_zero_protocol(x, y, 100, target="bogus")


def test_zero_cost_ensemble_fits_and_scores():
    sp = get_space("nasbench_macro")
    est = ZeroCostEnsemble(sp, proxies=["l2_norm", "params"], model="hgb",
                           zc={"data": "synthetic", "batch_size": 4})
    archs = MACRO
    x = est.features(archs)
    assert x.shape == (len(archs), 2 + len(sp.encode(sp.parse(archs[0]))))
    y = np.array([get_estimator("params", sp).score([a])[0] for a in archs])
    with pytest.raises(ValueError, match="fit"):
        est.score(archs)
    est.fit(archs, y)
    pred = est.score(archs)
    assert pred.shape == (len(archs),) and np.all(np.isfinite(pred))
    assert est.config()["fit"] and not math.isnan(float(pred[0]))
    assert "zc_ensemble" in list_estimators()
