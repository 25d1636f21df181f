"""NASLib NB-Suite-Zero samples (NB301 on the ``darts`` space, NB101) -> a
:class:`~penas.spaces.benchmarks.table.BenchmarkTable` keyed by the space's canonical ids.

(NASLib's NB201 sample fills sparse columns of the full NB201 table instead:
:func:`penas.spaces.benchmarks.nb201_import.import_naslib_nb201`.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._readers import PathLike, count_from_millions, load_naslib
from .table import BenchmarkTable


def space_key_converter(space: str) -> Callable[[str], str] | None:
    """``space.arch_id`` when the space is registered and implements ``parse`` (else ``None``)."""
    from .. import SPACES, get_space

    if space not in SPACES:
        return None
    try:
        sp = get_space(space)
    except Exception:  # noqa: BLE001 - a space still under construction
        return None
    return sp.arch_id


def import_naslib_json(path: PathLike, space: str, top: str,
                       key_to_id: Callable[[str], str] | None = None) -> BenchmarkTable:
    """A NASLib NB-Suite-Zero json -> ``valid_acc`` (%), ``params``/``flops`` (counts) per dataset.

    ``key_to_id`` converts NASLib's key to the space's canonical id (``meta["id_form"] =
    "canonical"``). Several NASLib keys may name one canonical arch (e.g. NB101 specs that prune
    to the same graph, each with the accuracy of a different training run): their
    ``valid_acc`` is averaged and ``valid_acc_n`` counts them; params/flops must agree. Without a
    converter, or when it fails or params/flops disagree, the NASLib keys are kept as ids
    (``meta["id_form"] = "naslib"``, the reason in ``meta["converter_failed"]``).
    """
    path = Path(path)
    data = load_naslib(path, top)
    keys = sorted({k for recs in data.values() for k in recs})
    meta: dict[str, Any] = {}
    conv = keys
    if key_to_id is not None:
        try:
            conv = [key_to_id(k) for k in keys]
        except Exception as e:  # noqa: BLE001 - the space cannot read NASLib keys: keep them
            meta["converter_failed"] = str(e).splitlines()[0] if str(e) else type(e).__name__
            conv = keys
    table = _naslib_table(data, space, keys, conv)
    if table is None:
        meta["converter_failed"] = "NASLib keys with one canonical id have different params/flops"
        table = _naslib_table(data, space, keys, keys)
        assert table is not None
    canonical = key_to_id is not None and "converter_failed" not in meta
    table.meta.update({"id_form": "canonical" if canonical else "naslib", **meta})
    if canonical and len(table.arch_ids) < len(keys):
        table.meta["merged_naslib_keys"] = len(keys) - len(table.arch_ids)
    return table


def _naslib_table(data: Mapping[str, Mapping[str, Mapping[str, Any]]], space: str, keys: list[str],
                  ids: list[str]) -> BenchmarkTable | None:
    uniq = list(dict.fromkeys(ids))
    pos = {a: i for i, a in enumerate(uniq)}
    row_of = {k: pos[a] for k, a in zip(keys, ids, strict=True)}
    table = BenchmarkTable(space, uniq)
    n = len(uniq)
    for ds, recs in data.items():
        val_sum, cnt = np.zeros(n), np.zeros(n, dtype=np.int64)
        par, fl = np.full(n, np.nan), np.full(n, np.nan)
        for k, rec in recs.items():
            i = row_of[k]
            v = float(rec.get("val_accuracy", math.nan))
            if math.isfinite(v):
                val_sum[i] += v
                cnt[i] += 1
            for arr, name in ((par, "params"), (fl, "flops")):
                x = count_from_millions(float(rec.get(name, math.nan)))
                if not math.isnan(arr[i]) and arr[i] != x:
                    return None
                arr[i] = x
        with np.errstate(invalid="ignore", divide="ignore"):
            val = np.where(cnt > 0, val_sum / np.maximum(cnt, 1), np.nan)
        table.add(ds, "valid_acc", val, unit="%", description="NASLib val_accuracy (mean over merged keys)")
        if cnt.max(initial=0) > 1:
            table.add(ds, "valid_acc_n", cnt, higher_is_better=None,
                      description="NASLib records averaged into valid_acc")
        table.add(ds, "params", par, unit="count", description="NASLib params (M x 1e6)")
        table.add(ds, "flops", fl, unit="count", description="NASLib flops (MFLOPs x 1e6)")
    return table


def build_nb301_sample(root: Path) -> BenchmarkTable:
    """The ``darts`` store from NASLib's NB301 sample (500 archs) under ``root/nb301``."""
    return import_naslib_json(root / "nb301" / "gt_nasbench301_subset500.json", "darts", "nasbench301",
                              space_key_converter("darts"))


def build_nb101_sample(root: Path) -> BenchmarkTable:
    """The ``nb101`` store from NASLib's NB101 sample (500 archs) under ``root/nb101``."""
    return import_naslib_json(root / "nb101" / "gt_nasbench101_subset500.json", "nb101", "nasbench101",
                              space_key_converter("nb101"))
