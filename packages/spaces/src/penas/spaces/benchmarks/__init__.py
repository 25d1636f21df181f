"""Ground-truth benchmark tables: one compact columnar store for every space.

Format
------
A table is a directory ``<space>.gt`` holding ``manifest.json``, ``ids.npy`` (the
canonical arch ids, row order) and one uncompressed ``.npy`` per column, memory-mapped on
open (``np.load(mmap_mode="r")``). Columns are keyed by ``(dataset, metric)`` with explicit
metric names:

* ``test_acc``, ``valid_acc`` (%), ``test_acc_std``, ``test_acc_runs`` (2-D: one column per run),
  ``*_curve`` (2-D: per epoch), ``params`` and ``flops`` (counts), ``train_time`` (s);
* dataset-independent metrics live under the dataset ``"any"`` (:data:`ANY_DATASET`):
  ``latency_<device>`` (ms), ``nb201_index``.

Dataset names are the benchmark's own splits and never aliased: NB201's ``cifar10`` is
train 50k / test 10k; NASLib's NB201 ``val_accuracy`` for cifar10 is stored as
``valid_acc`` on ``cifar10-valid`` (the NB201 train 25k / valid 25k split). Missing values
(sparse samples) are NaN.

API
---
::

    bench = open_benchmark("nb201")                  # converts raw files on first use
    bench.query(arch, "test_acc", "cifar10")         # arch: id string or arch object
    bench.table("test_acc", "cifar100", archs)       # np.ndarray aligned to archs
    bench.best("test_acc", "cifar10")                # (arch_id, value)
    rows = bench.rows(archs)                         # reuse for many columns:
    lat = {m: bench.column(m, "any")[rows] for m in bench.metrics("any")}

``metric`` and ``dataset`` are always required; unknown ones raise a one-line
``ValueError`` listing what exists. ``arch`` is a canonical id string or an arch object of
the space (converted with ``get_space(space).format``).

Surrogates
----------
``surrogate("darts")`` is the NAS-Bench-301 surrogate (YAHPO Gym's ONNX model, extra
``penas-spaces[nb301]``): ``query(arch, metric="val_acc", epoch=E)`` for any DARTS genotype and
epoch 1..98, ``query_many`` batched, ``metric="runtime"`` the cumulative training seconds.
``open_gt(space, source="table"|"surrogate"|"auto")`` opens either ground truth.

Data location
-------------
Raw files are looked up under :func:`penas.spaces.paths.data_root` (``$PENAS_DATA`` or the
user cache) in the layout of :data:`BENCHMARK_SOURCES` (e.g. ``nb201/derived/nb201_table.csv``)
and only read; the stores are written to the cache, :func:`penas.spaces.paths.store_dir`
(``$PENAS_CACHE``), keyed by the sha256 of those files. Conversion is atomic (temp dir +
rename) under a file lock, so concurrent processes are safe; a corrupt store is rebuilt.
Nothing is read at import time.
"""

from __future__ import annotations

from .csv_json_import import import_csv, import_json
from .importers import IMPORTERS, detect_kind
from .integrity import StoreCorruptError, verify_store
from .macro_import import import_macro_json
from .naslib_import import import_naslib_json
from .nb201_import import NASLIB_NB201_VALID_DATASET, import_nb201_table, nb201_arch_strings
from .nds_import import import_nds
from .score_files import load_score_file
from .sources import BENCHMARK_SOURCES, BenchmarkSource, RawFile, get_source, list_sources
from .store import (
    GT_SOURCES,
    build_table,
    convert,
    import_table,
    open_benchmark,
    open_gt,
    store_exists,
    store_path,
)
from .surrogates import NB301Surrogate, surrogate, surrogate_available
from .table import (
    ANY_DATASET,
    Benchmark,
    BenchmarkTable,
    Column,
    ColumnInfo,
    merge_tables,
    write_table,
)

__all__ = [
    "ANY_DATASET",
    "GT_SOURCES",
    "NB301Surrogate",
    "StoreCorruptError",
    "BENCHMARK_SOURCES",
    "Benchmark",
    "BenchmarkSource",
    "BenchmarkTable",
    "Column",
    "ColumnInfo",
    "IMPORTERS",
    "NASLIB_NB201_VALID_DATASET",
    "RawFile",
    "build_table",
    "convert",
    "detect_kind",
    "get_source",
    "import_csv",
    "import_json",
    "import_macro_json",
    "import_naslib_json",
    "import_nb201_table",
    "import_nds",
    "import_table",
    "list_sources",
    "load_score_file",
    "merge_tables",
    "nb201_arch_strings",
    "open_benchmark",
    "open_gt",
    "store_exists",
    "store_path",
    "surrogate",
    "surrogate_available",
    "verify_store",
    "write_table",
]
