"""Executors give the same scores: sequential vs process pool; Ray is optional."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from penas.estimators.executors import (
    EstimatorSpec,
    LocalExecutor,
    RayExecutor,
    shards_of,
)
from penas.estimators.scoring import run_multi_sweep, run_sweep
from penas.estimators.store import ScoreStore
from penas.estimators.zero_cost import ZeroCostEstimator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from estimators_toyspace import SlowEstimator, ToySpace  # noqa: E402

IDS = [f"a{i}" for i in range(12)]


def zc(proxy: str = "snip") -> ZeroCostEstimator:
    return ZeroCostEstimator(ToySpace(12), proxy=proxy, data="synthetic", batch_size=4)


@pytest.mark.slow
def test_sequential_and_process_pool_store_identical_scores(tmp_path, one_torch_thread):
    seq, pool = ScoreStore(tmp_path / "seq.db"), ScoreStore(tmp_path / "pool.db")
    r1 = run_sweep(zc(), IDS, seq, LocalExecutor(1), shard_size=3)
    r2 = run_sweep(zc(), IDS, pool, LocalExecutor(2), shard_size=3)
    assert r1.n_computed == r2.n_computed == 12
    est = zc()
    a = seq.get_many("toy", "snip", est.config_hash, IDS)
    b = pool.get_many("toy", "snip", est.config_hash, IDS)
    assert a == b and all(math.isfinite(v) for v in a.values())
    direct = est.score(IDS)
    np.testing.assert_array_equal(direct, [a[i] for i in IDS])
    again = run_sweep(zc(), IDS, seq, LocalExecutor(2))
    assert again.n_cached == 12 and again.n_computed == 0


def test_sweep_counts_invalid_and_records_provenance(tmp_path):
    store = ScoreStore(tmp_path / "s.db")
    rep = run_sweep(SlowEstimator(ToySpace(10)), [f"a{i}" for i in range(10)], store, shard_size=4)
    assert rep.n_invalid == 1 and rep.n_computed == 10 and "1 invalid" in str(rep)
    row = {r.arch_id: r for r in store.rows("toy", "slow", SlowEstimator(ToySpace(10)).config_hash)}["a3"]
    assert row.provenance["arch_id"] == "a3" and row.provenance["space"] == "toy"
    assert "torch" in row.provenance["versions"]


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match="workers"):
        LocalExecutor(0)
    with pytest.raises(ValueError, match="shard_size"):
        shards_of(["a"], 0)


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_ray_executor_without_ray_names_the_extra():
    with pytest.raises(ImportError, match=r"pip install 'penas-estimators\[ray\]'"):
        RayExecutor()


def test_multi_proxy_sweep_stores_each_proxy_under_its_own_key(tmp_path):
    store = ScoreStore(tmp_path / "m.db")
    reps = run_multi_sweep(zc("snip"), ["snip", "synflow"], IDS[:4], store, shard_size=2)
    assert {p: r.n_computed for p, r in reps.items()} == {"snip": 4, "synflow": 4}
    single = run_sweep(zc("synflow"), IDS[:5], store)
    assert single.n_cached == 4 and single.n_computed == 1
    got = store.get_many("toy", "synflow", zc("synflow").config_hash, IDS[:4])
    np.testing.assert_allclose([got[i] for i in IDS[:4]], zc("synflow").score(IDS[:4]), rtol=1e-12)


def test_estimator_spec_recipe_runs_a_registered_estimator(tmp_path):
    spec = EstimatorSpec("synflow", "nb201", {"data": "synthetic", "batch_size": 2, "build_kwargs": {"C": 4, "N": 1}})
    ids = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
           "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    store = ScoreStore(tmp_path / "r.db")
    rep = run_sweep(spec, ids, store)
    est = spec()
    got = store.get_many("nb201", "synflow", est.config_hash, ids)
    assert rep.n_computed == 2 and got[ids[0]] > 0
    assert got[ids[1]] == 0.0  # an all-'none' cell: no path carries signal, synflow is exactly 0
