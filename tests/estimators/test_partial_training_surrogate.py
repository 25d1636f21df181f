"""Partial training in ``tabular`` mode on ``darts`` reads the NB301 surrogate's learning curve at
the stage's epoch (fidelity ``surrogate-curve``) and charges the surrogate's runtime."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from penas.estimators import get_estimator
from penas.spaces import get_space
from penas.spaces.benchmarks import surrogate


@pytest.fixture(scope="module")
def shared_surrogate(bench_root):
    if not (bench_root / "nb301" / "yahpo" / "nb301" / "model.onnx").is_file():
        pytest.skip("no nb301/yahpo/nb301/model.onnx under the data root")
    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime not installed (extra penas-spaces[nb301])")
    return surrogate("darts", bench_root)


@pytest.mark.data
def test_partial_training_reads_the_surrogate_curve(shared_surrogate, bench_root):
    space = get_space("darts")
    rng = np.random.default_rng(3)
    archs = [space.sample(rng) for _ in range(4)]
    est = get_estimator("partial_training", space, mode="tabular", metric="valid_acc", root=str(bench_root))
    assert est.fidelity == "surrogate-curve" and est.cfg["surrogate_sha256"] == shared_surrogate.model_sha256
    v4 = est.score_at(archs, 4)
    np.testing.assert_array_equal(v4, shared_surrogate.query_many(archs, "val_acc", epoch=4))
    v12 = est.score_at(archs, 12)
    assert np.all(v12 > v4)  # a real curve, not the final value at every epoch
    assert est.epochs_charged == 4 * 12
    rt12 = shared_surrogate.query_many(archs, "runtime", epoch=12)
    assert est.runtime_charged_s == pytest.approx(float(np.sum(np.maximum(
        rt12, shared_surrogate.query_many(archs, "runtime", epoch=4)))))
    ids = [space.format(a) for a in archs]
    assert est.runtime_cost_s({a: [4, 12] for a in ids}) == pytest.approx(est.runtime_charged_s)
    assert est.runtime_cost_s({}) == 0.0
    res = est.at_epoch(98).score_result(archs)
    assert res.provenance[0].extra["model_sha256"] == shared_surrogate.model_sha256
    table = get_estimator("partial_training", space, mode="tabular", metric="valid_acc", root=str(bench_root),
                          gt_source="table")
    assert table.fidelity == "tabular-final" and "gt_source" not in table.cfg
