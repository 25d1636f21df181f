"""The one scoring path: ``cached_scores`` looks up the store, computes what is missing, stores it.

A toy space and a counting estimator (synthetic: the behaviour under test is the caching, not a
score's meaning) make every computation visible.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from penas.estimators.base import Estimator, ScoreResult
from penas.estimators.scoring import cached_scores
from penas.estimators.store import ScoreStore
from penas.estimators.zero_cost import ZeroCostEstimator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from estimators_toyspace import SlowEstimator, ToySpace  # noqa: E402


class Counting(SlowEstimator):
    """``SlowEstimator`` (score i*i, NaN for a7) that records which archs it computed."""

    def __init__(self, space, **kw):
        super().__init__(space, **kw)
        self.seen: list[str] = []

    def _score_one(self, arch):
        self.seen.append(self.space.format(arch))
        return super()._score_one(arch)


class LowerIsBetter(Counting):
    name = "lower"
    higher_is_better = False


class TwoColumns(Estimator):
    """A multi-output estimator: columns ``sq`` (i*i) and ``neg`` (-i) from one pass per arch."""

    multi_output = True
    name = "two"

    def __init__(self, space):
        super().__init__(space)
        self.passes = 0
        self.sq, self.neg = Counting(space), LowerIsBetter(space)

    def columns(self):
        return {"sq": self.sq, "neg": self.neg}

    def score_columns(self, archs):
        ids = [self.space.arch_id(a) for a in archs]
        self.passes += len(ids)
        idx = np.array([self.space.parse(a) for a in ids], dtype=float)
        return {"sq": ScoreResult(ids, idx**2, [self.sq.provenance(i) for i in ids]),
                "neg": ScoreResult(ids, -idx, [self.neg.provenance(i) for i in ids])}

    def _score_one(self, arch):
        raise TypeError


def test_missing_archs_are_computed_once_and_stored(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    est = Counting(ToySpace(10))
    col = cached_scores(est, ["a1", "a2", "a1", "a7"], store, shard_size=2).one()
    assert est.seen == ["a1", "a2", "a7"]  # duplicates scored once
    np.testing.assert_array_equal(col.values, [1.0, 4.0, 1.0, np.nan])
    assert (col.n_cached, col.n_computed, col.n_invalid) == (0, 3, 1)
    again = Counting(ToySpace(10))
    col2 = cached_scores(again, ["a7", "a3", "a2"], store).one()
    assert again.seen == ["a3"] and (col2.n_cached, col2.n_computed) == (2, 1)
    np.testing.assert_array_equal(col2.values, [np.nan, 9.0, 4.0])
    assert store.count("toy", "slow") == 4
    assert str(col2.report()).startswith("slow on toy [") and "2 cached, 1 computed" in str(col2.report())


def test_stored_values_win_and_read_only_computes_nothing(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    est = Counting(ToySpace(10))
    store.put_many("toy", est.name, est.config_hash, {"a2": 123.0})
    assert cached_scores(est, ["a2"], store).one().values[0] == 123.0 and est.seen == []
    col = cached_scores(est, ["a2", "a5"], store, compute=False).one()
    np.testing.assert_array_equal(col.values, [123.0, np.nan])
    assert est.seen == [] and col.n_computed == 0 and store.count() == 1


def test_without_a_store_everything_is_computed():
    est = Counting(ToySpace(10))
    cached_scores(est, ["a1", "a2"])
    cached_scores(est, ["a1"])
    assert est.seen == ["a1", "a2", "a1"]


def test_direction_comes_from_the_estimator(tmp_path):
    col = cached_scores(LowerIsBetter(ToySpace(10)), ["a1", "a3"], ScoreStore(tmp_path / "s.db")).one()
    assert not col.higher_is_better
    np.testing.assert_array_equal(col.values, [1.0, 9.0])
    np.testing.assert_array_equal(col.oriented(), [-1.0, -9.0])


def test_multi_output_fills_every_column_in_one_pass(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    est = TwoColumns(ToySpace(10))
    store.put_many("toy", est.neg.name, est.neg.config_hash, {"a1": -1.0})  # one column has a1 already
    table = cached_scores(est, ["a1", "a2", "a3"], store, shard_size=2)
    assert set(table) == {"sq", "neg"} and est.passes == 3
    assert (table["sq"].n_computed, table["neg"].n_computed, table["neg"].n_cached) == (3, 2, 1)
    np.testing.assert_array_equal(table["neg"].oriented(), [1.0, 2.0, 3.0])
    again = TwoColumns(ToySpace(10))
    cached_scores(again, ["a1", "a2", "a3"], store)
    assert again.passes == 0
    with pytest.raises(ValueError, match="expected one score column"):
        table.one()


def test_progress_reports_done_and_total():
    calls = []
    cached_scores(Counting(ToySpace(10)), [f"a{i}" for i in range(5)], progress=lambda d, t: calls.append((d, t)),
                  shard_size=2)
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_zero_cost_with_proxies_equals_single_proxy_estimators(tmp_path):
    space = ToySpace(6)
    base = ZeroCostEstimator(space, proxy="snip", data="synthetic", batch_size=4)
    table = cached_scores(base.with_proxies(["snip", "synflow"]), ["a0", "a1", "a2"], ScoreStore(tmp_path / "z.db"))
    for p in ("snip", "synflow"):
        single = ZeroCostEstimator(space, proxy=p, data="synthetic", batch_size=4)
        assert (table[p].estimator, table[p].config_hash) == (single.name, single.config_hash)
        np.testing.assert_allclose(table[p].values, single.score(["a0", "a1", "a2"]), rtol=1e-12)
