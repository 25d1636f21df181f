"""NDS (facebookresearch/nds) json files -> a :class:`~penas.spaces.benchmarks.table.BenchmarkTable`
(one row per distinct ``net`` config; see :func:`penas.spaces.nds.nds_table` for the NDS spaces' ids)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._readers import PathLike
from .table import BenchmarkTable


def nds_config_id(net: Mapping[str, Any]) -> str:
    """Default NDS id: the ``net`` config as compact, key-sorted JSON (the config-space id form)."""
    return json.dumps(net, sort_keys=True, separators=(",", ":"))


def import_nds(path: PathLike, space_name: str, config_to_id: Callable[[Mapping[str, Any]], str] | None = None,
               dataset: str = "cifar10") -> BenchmarkTable:
    """An NDS json (facebookresearch/nds: a list of records with ``net``, ``min_test_top1`` (error %),
    ``test_ep_top1``, ``params``, ``flops`` ...) -> test_acc = 100 - min_test_top1, test_acc_curve,
    params, flops (as recorded). Duplicate configs (several seeds) are averaged into ``test_acc``
    and listed in ``meta["duplicates"]``. ``dataset`` is the dataset the file was trained on.
    """
    path = Path(path)
    recs = json.loads(path.read_text())
    if isinstance(recs, dict) and len(recs) == 1 and isinstance(next(iter(recs.values())), list):
        recs = next(iter(recs.values()))
    if not isinstance(recs, list) or not recs:
        raise ValueError(f"file: {str(path)!r}: expected a non-empty JSON list of NDS records")
    to_id = config_to_id or nds_config_id
    groups: dict[str, list[dict[str, Any]]] = {}
    for k, rec in enumerate(recs):
        if not isinstance(rec, dict) or "net" not in rec or "min_test_top1" not in rec:
            raise ValueError(f"file: {str(path)!r}: record {k} lacks 'net'/'min_test_top1'")
        groups.setdefault(to_id(rec["net"]), []).append(rec)
    ids = list(groups)
    table = BenchmarkTable(space_name, ids, meta={"id_form": "config_json" if config_to_id is None else "space",
                                                  "source_format": "nds"})
    acc = np.array([np.mean([100.0 - float(r["min_test_top1"]) for r in g]) for g in groups.values()])
    table.add(dataset, "test_acc", acc, unit="%", description="100 - min_test_top1 (mean over duplicate records)")
    for m in ("params", "flops"):
        if all(m in g[0] for g in groups.values()):
            table.add(dataset, m, np.array([float(g[0][m]) for g in groups.values()]), unit="count (as recorded)")
    curves = [g[0].get("test_ep_top1") for g in groups.values()]
    if all(isinstance(c, list) and c for c in curves) and len({len(c) for c in curves}) == 1:  # type: ignore[arg-type]
        table.add(dataset, "test_acc_curve", 100.0 - np.array(curves, dtype=np.float64), unit="%",
                  description="per-epoch test accuracy (100 - test_ep_top1), first record")
    dups = {i: len(g) for i, g in groups.items() if len(g) > 1}
    if dups:
        table.meta["duplicates"] = len(dups)
    return table
