"""Provenances of a shard are built when read (``Provenances``, ``ProvenanceRows``): what is read
is what ``Estimator.provenance`` / ``Provenance.to_dict`` give per arch, changes to the rows stay,
and they survive pickling (process and Ray workers send them back). Synthetic toy space (no data)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from penas.estimators.base import ProvenanceRows, Provenances
from penas.estimators.executors import score_shard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from estimators_toyspace import SlowEstimator, ToySpace  # noqa: E402


def test_lazy_provenances_equal_eager_ones():
    est = SlowEstimator(ToySpace(), delay=0.0)
    ids = ["a1", "a5", "a3"]
    provs = est.provenances(ids, fidelity="x")
    assert isinstance(provs, Provenances) and len(provs) == 3
    assert list(provs) == [est.provenance(a, fidelity="x") for a in ids]
    assert list(provs[1:]) == [est.provenance(a, fidelity="x") for a in ids[1:]]
    assert provs.to_dicts() == [est.provenance(a, fidelity="x").to_dict() for a in ids]
    rows = provs.to_dicts()
    rows[0]["extra"]["worker"] = 1  # each row has its own mutable fields
    assert "worker" not in rows[1]["extra"] and "worker" not in provs.template.extra


def test_shard_rows_built_once_and_picklable():
    est = SlowEstimator(ToySpace(), delay=0.0)
    ids, vals, rows = score_shard(est, ["a2", "a4"])
    assert isinstance(rows, ProvenanceRows) and len(rows) == 2 and ids == ["a2", "a4"]
    back = pickle.loads(pickle.dumps(rows))  # not yet built: travels as template + ids
    assert list(back) == [est.provenance(a).to_dict() for a in ids]
    for r in rows:
        r["extra"] = {**r["extra"], "worker": {"index": 0}}  # what the device workers do
    assert [r["extra"]["worker"] for r in rows] == [{"index": 0}] * 2
    assert [r["extra"]["worker"] for r in pickle.loads(pickle.dumps(rows))] == [{"index": 0}] * 2
