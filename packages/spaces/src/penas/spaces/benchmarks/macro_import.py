"""NAS-Bench-Macro's ``nas-bench-macro_cifar10.json`` -> the ``nasbench_macro``
:class:`~penas.spaces.benchmarks.table.BenchmarkTable` (all 6,561 8-digit codes, CIFAR-10)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._readers import PathLike
from .table import BenchmarkTable


def import_macro_json(path: PathLike) -> BenchmarkTable:
    """``nas-bench-macro_cifar10.json`` -> test_acc (mean_acc), test_acc_runs (n, 3), test_acc_std, params, flops."""
    path = Path(path)
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not data:
        raise ValueError(f"file: {str(path)!r}: expected a non-empty JSON object keyed by 8-digit codes")
    keys = sorted(data)
    try:
        runs = np.array([data[k]["test_acc"] for k in keys], dtype=np.float64)
        table = BenchmarkTable("nasbench_macro", keys, meta={"id_form": "macro_code"})
        table.add("cifar10", "test_acc", [data[k]["mean_acc"] for k in keys], unit="%",
                  description="mean CIFAR-10 test accuracy over 3 runs")
        table.add("cifar10", "test_acc_std", [data[k]["std"] for k in keys], unit="%", higher_is_better=False)
        table.add("cifar10", "params", np.array([data[k]["params"] for k in keys], dtype=np.int64), unit="count")
        table.add("cifar10", "flops", np.array([data[k]["flops"] for k in keys], dtype=np.int64), unit="count")
    except (KeyError, TypeError) as e:
        raise ValueError(f"file: {str(path)!r}: record lacks field {e}; expected test_acc, mean_acc, std, params, "
                         "flops") from None
    table.add("cifar10", "test_acc_runs", runs, unit="%", description="test accuracy of each of the 3 runs")
    return table


def build_macro(root: Path) -> BenchmarkTable:
    """The nasbench_macro store from ``root/nasbench_macro/nas-bench-macro_cifar10.json``."""
    return import_macro_json(root / "nasbench_macro" / "nas-bench-macro_cifar10.json")
