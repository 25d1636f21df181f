"""``tools/bench/partial.py``: a report written from the store keeps the CPU cost that the runs
which trained the scores measured (accounting only, no training)."""

from __future__ import annotations

import json


def test_keep_costs_fills_only_epochs_read_from_the_store(bench_module, tmp_path):
    bench = bench_module("partial")
    older = tmp_path / "older.json"
    older.write_text(json.dumps({"summary": {"cpu_s_per_arch_epoch": {
        "nb201": {"1": 70.0, "2": 71.0, "9": 1.0}, "nasbench_macro": {"1": 110.0}}}}))
    rho = {"nb201": {"1": 0.1, "2": 0.2}, "nasbench_macro": {"1": -0.3, "2": 0.4}}
    cost = {"nb201": {"2": 60.0}, "nasbench_macro": {"2": 120.0}}  # trained by this run: kept as measured
    kept = bench.keep_costs([tmp_path / "missing.json", older], rho, cost)
    assert cost == {"nb201": {"2": 60.0, "1": 70.0}, "nasbench_macro": {"2": 120.0, "1": 110.0}}
    assert kept == ["nb201 e=1", "nasbench_macro e=1"]  # e=9 is not in this report
