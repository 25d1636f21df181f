"""penas' own simple table formats -> a :class:`~penas.spaces.benchmarks.table.BenchmarkTable`:
a CSV (wide ``arch_id,<dataset>:<metric>...`` or long ``arch_id,dataset,metric,value``) and a JSON
object (``{"arch_ids": [...], "columns": {"<dataset>:<metric>": [...]}, "meta": {...}}``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ._readers import PathLike, column, float_cell, read_csv
from .table import BenchmarkTable


def import_csv(path: PathLike, space: str) -> BenchmarkTable:
    """A CSV with an ``arch_id`` column and value columns named ``<dataset>:<metric>``
    (wide form), or the long form ``arch_id,dataset,metric,value``."""
    path = Path(path)
    header, rows = read_csv(path)
    ia = column(header, "arch_id", path)
    if {"dataset", "metric", "value"} <= set(header):
        idd, im, iv = header.index("dataset"), header.index("metric"), header.index("value")
        ids = list(dict.fromkeys(r[ia] for r in rows))
        pos = {a: i for i, a in enumerate(ids)}
        cols: dict[tuple[str, str], np.ndarray] = {}
        for r in rows:
            col = cols.setdefault((r[idd], r[im]), np.full(len(ids), np.nan))
            col[pos[r[ia]]] = float_cell(r[iv])
        return BenchmarkTable(space, ids, dict(cols), {"source_format": "csv-long"})
    table = BenchmarkTable(space, [r[ia] for r in rows], meta={"source_format": "csv-wide"})
    for j, h in enumerate(header):
        if j == ia:
            continue
        ds, sep, metric = h.partition(":")
        if not sep or not ds or not metric:
            raise ValueError(f"file: {str(path)!r}: column {h!r} must be named '<dataset>:<metric>'")
        table.add(ds, metric, np.array([float_cell(r[j]) for r in rows]))
    return table


def import_json(path: PathLike, space: str) -> BenchmarkTable:
    """``{"arch_ids": [...], "columns": {"<dataset>:<metric>": [...]}, "meta": {...}}``."""
    path = Path(path)
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or "arch_ids" not in data or "columns" not in data:
        raise ValueError(f"file: {str(path)!r}: expected a JSON object with 'arch_ids' and 'columns'")
    table = BenchmarkTable(space, data["arch_ids"], meta=dict(data.get("meta", {})))
    for h, values in data["columns"].items():
        ds, sep, metric = h.partition(":")
        if not sep:
            raise ValueError(f"file: {str(path)!r}: column {h!r} must be named '<dataset>:<metric>'")
        table.add(ds, metric, np.array([math.nan if v is None else v for v in values], dtype=np.float64))
    return table
