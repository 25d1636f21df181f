"""NAS-Bench-201 raw files -> the ``nb201`` :class:`~penas.spaces.benchmarks.table.BenchmarkTable`.

Sources (under the data root's ``nb201/``): the derived table ``derived/nb201_table.csv`` (else
FreeREA's per-dataset ``accuracies.csv``/``params.csv`` in index order), HELP latencies
``help_latency/nb201_latency_help.csv`` and NASLib's NB-Suite-Zero sample
``naslib_sample/gt_nasbench201_subset491.json`` (sparse ``valid_acc``/``flops``). Units: accuracy
in %, params and flops as counts, latency in ms; the NB201 index is the dataset ``"any"``.
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._readers import PathLike, column, count_from_millions, float_cell, load_naslib, read_csv
from .table import ANY_DATASET, BenchmarkTable, Column

NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: NASLib's NB201 ``val_accuracy`` comes from these NB201 splits (NASLib maps cifar10 to
#: ``cifar10-valid``: train 25k / valid 25k). Our ``cifar10`` (train 50k / test 10k) has no valid split.
NASLIB_NB201_VALID_DATASET = {"cifar10": "cifar10-valid", "cifar100": "cifar100", "ImageNet16-120": "ImageNet16-120"}

_NASLIB_OP_ID = {"skip_connect": 0, "none": 1, "nor_conv_3x3": 2, "nor_conv_1x1": 3, "avg_pool_3x3": 4}


def nb201_arch_strings() -> list[str]:
    """The 15,625 NB201 arch strings in official index order.

    NB201's procedure: ``CellStructure.gen_all(ops, 4)`` (node-by-node product of per-node
    op combinations, ops in the order none, skip_connect, nor_conv_1x1, nor_conv_3x3,
    avg_pool_3x3), then ``random.seed(88); random.shuffle(archs)``.
    """

    def node_combos(n_in: int) -> list[list[str]]:
        combos: list[list[str]] = [[]]
        for j in range(n_in):
            combos = [c + [f"{op}~{j}"] for c in combos for op in NB201_OPS]
        return combos

    archs: list[list[list[str]]] = [[c] for c in node_combos(1)]
    for node in (2, 3):
        archs = [a + [c] for a in archs for c in node_combos(node)]
    strings = ["+".join("|" + "|".join(node) + "|" for node in a) for a in archs]
    rng = random.Random(88)
    rng.shuffle(strings)
    return strings


def nb201_naslib_op_indices(arch_str: str) -> str:
    """NB201 arch string -> NASLib 6-digit op-index string.

    NASLib's edge order is (1<-0), (2<-0), (3<-0), (2<-1), (3<-1), (3<-2); the arch string's is
    (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2).
    """
    ops = [tok.split("~")[0] for node in arch_str.split("+") for tok in node.strip("|").split("|")]
    if len(ops) != 6:
        raise ValueError(f"arch: {arch_str!r} is not an NB201 arch string (expected 6 edges)")
    return "".join(str(_NASLIB_OP_ID[ops[k]]) for k in (0, 1, 3, 2, 4, 5))


def nb201_ready(root: Path) -> bool:
    """Whether ``root/nb201`` holds enough to build the table (the derived CSV or FreeREA's files)."""
    base = root / "nb201"
    if (base / "derived" / "nb201_table.csv").is_file():
        return True
    return all((base / "freerea" / ds / f"{m}.csv").is_file() for ds in NB201_DATASETS for m in ("accuracies", "params"))


def import_nb201_table(path: PathLike) -> BenchmarkTable:
    """``nb201/derived/nb201_table.csv``: test_acc (%) and params (count) per dataset, nb201_index."""
    path = Path(path)
    header, rows = read_csv(path)
    i_idx, i_arch = column(header, "index", path), column(header, "arch_str", path)
    index = np.array([int(r[i_idx]) for r in rows], dtype=np.int64)
    order = np.argsort(index, kind="stable")
    rows = [rows[i] for i in order]
    table = BenchmarkTable("nb201", [r[i_arch] for r in rows], meta={"id_form": "nb201_arch_str"})
    table.add(ANY_DATASET, "nb201_index", index[order], description="official NB201/NATS-tss topology index")
    for ds in NB201_DATASETS:
        ia = column(header, f"test_acc_{ds}", path)
        ip = column(header, f"params_M_{ds}", path)
        table.add(ds, "test_acc", np.array([float_cell(r[ia]) for r in rows]), unit="%",
                  description="NATS-tss test accuracy, 200 epochs, mean over seeds")
        table.add(ds, "params", np.array([round(float(r[ip]) * 1e6) for r in rows], dtype=np.int64),
                  unit="count", description="trainable parameters (official)")
    return table


def import_nb201_freerea(root: PathLike) -> BenchmarkTable:
    """The NB201 table from FreeREA's ``accuracies.csv``/``params.csv`` (index order) + the index->arch list."""
    base = Path(root) / "nb201" / "freerea"
    archs = nb201_arch_strings()
    table = BenchmarkTable("nb201", archs, meta={"id_form": "nb201_arch_str"})
    table.add(ANY_DATASET, "nb201_index", np.arange(len(archs), dtype=np.int64),
              description="official NB201/NATS-tss topology index")
    for ds in NB201_DATASETS:
        acc = _index_column(base / ds / "accuracies.csv", "accuracy", len(archs))
        par = _index_column(base / ds / "params.csv", "params", len(archs))
        if ds != "ImageNet16-120":  # FreeREA stores millions for cifar, counts for ImageNet16-120
            par = par * 1e6
        table.add(ds, "test_acc", acc, unit="%", description="NATS-tss test accuracy, 200 epochs, mean over seeds")
        table.add(ds, "params", np.round(par).astype(np.int64), unit="count",
                  description="trainable parameters (official)")
    return table


def _index_column(path: Path, name: str, n: int) -> np.ndarray:
    header, rows = read_csv(path)
    ii, iv = column(header, "index", path), column(header, name, path)
    out = np.full(n, np.nan)
    for r in rows:
        out[int(r[ii])] = float_cell(r[iv]) if iv < len(r) else math.nan
    return out


def import_nb201_latency(path: PathLike, arch_ids: Sequence[str]) -> dict[tuple[str, str], Column]:
    """HELP latency CSV (``index`` + one column per device, ms) -> ``("any", "latency_<device>")`` columns."""
    path = Path(path)
    header, rows = read_csv(path)
    ii = column(header, "index", path)
    index = np.array([int(r[ii]) for r in rows], dtype=np.int64)
    if index.min() < 0 or index.max() >= len(arch_ids):
        raise ValueError(f"file: {str(path)!r}: index out of range 0..{len(arch_ids) - 1}")
    out: dict[tuple[str, str], Column] = {}
    for j, dev in enumerate(header):
        if j == ii:
            continue
        v = np.full(len(arch_ids), np.nan)
        v[index] = [float_cell(r[j]) for r in rows]
        out[(ANY_DATASET, f"latency_{dev}")] = Column(v, "ms", False, f"HELP latency on {dev} (batch in suffix)")
    return out


def _naslib_tuple_key(key: str) -> tuple[int, ...]:
    try:
        t = ast.literal_eval(key)
    except (ValueError, SyntaxError):
        raise ValueError(f"key: {key!r} is not a NASLib tuple key") from None
    return tuple(int(x) for x in t)


def import_naslib_nb201(path: PathLike, arch_ids: Sequence[str], op_indices: Sequence[str]
                        ) -> dict[tuple[str, str], Column]:
    """NASLib NB-Suite-Zero NB201 json -> sparse ``valid_acc`` (NB201 valid splits) and ``flops`` (count).

    ``op_indices[i]`` is the 6-digit NASLib op-index string of ``arch_ids[i]``.
    """
    path = Path(path)
    data = load_naslib(path, "nasbench201")
    pos = {k: i for i, k in enumerate(op_indices)}
    n = len(arch_ids)
    out: dict[tuple[str, str], Column] = {}
    for ds, recs in data.items():
        if ds not in NASLIB_NB201_VALID_DATASET:
            raise ValueError(f"file: {str(path)!r}: unknown dataset {ds!r}; expected {', '.join(NB201_DATASETS)}")
        val, flops = np.full(n, np.nan), np.full(n, np.nan)
        for key, rec in recs.items():
            i = pos.get("".join(str(x) for x in _naslib_tuple_key(key)))
            if i is None:
                raise ValueError(f"file: {str(path)!r}: NASLib key {key!r} is not an NB201 arch")
            val[i] = float(rec.get("val_accuracy", math.nan))
            flops[i] = count_from_millions(float(rec.get("flops", math.nan)))
        out[(NASLIB_NB201_VALID_DATASET[ds], "valid_acc")] = Column(
            val, "%", True, "NASLib val_accuracy (NB201 validation split, 200 epochs); sparse sample")
        out[(ds, "flops")] = Column(flops, "count", False, "NASLib flops (MFLOPs x 1e6); sparse sample")
    return out


def build_nb201(root: Path) -> BenchmarkTable:
    """The nb201 store from whatever is present under ``root/nb201``."""
    table_csv = root / "nb201" / "derived" / "nb201_table.csv"
    if table_csv.is_file():
        table = import_nb201_table(table_csv)
        header, rows = read_csv(table_csv)
        i_idx, i_op = column(header, "index", table_csv), column(header, "naslib_op_indices", table_csv)
        by_index = {int(r[i_idx]): r[i_op] for r in rows}
        op_indices = [by_index[i] for i in range(len(table.arch_ids))]
    else:
        table = import_nb201_freerea(root)
        op_indices = [nb201_naslib_op_indices(a) for a in table.arch_ids]
    lat = root / "nb201" / "help_latency" / "nb201_latency_help.csv"
    if lat.is_file():
        table.columns.update(import_nb201_latency(lat, table.arch_ids))
    nas = root / "nb201" / "naslib_sample" / "gt_nasbench201_subset491.json"
    if nas.is_file():
        table.columns.update(import_naslib_nb201(nas, table.arch_ids, op_indices))
    return BenchmarkTable(table.space, table.arch_ids, table.columns, table.meta)


def nb201_index_map(root: Path | None = None) -> dict[int, str]:
    """``{NB201 index: arch string}`` from the derived table under the data root, else the official order."""
    from .. import paths

    r = paths.data_root(root)
    table_csv = r / "nb201" / "derived" / "nb201_table.csv"
    if table_csv.is_file():
        header, rows = read_csv(table_csv)
        i_idx, i_arch = column(header, "index", table_csv), column(header, "arch_str", table_csv)
        return {int(row[i_idx]): row[i_arch] for row in rows}
    return dict(enumerate(nb201_arch_strings()))
