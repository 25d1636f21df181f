"""The importers of ``penas-app data import``: :data:`IMPORTERS` (``kind -> f(path, space) ->
BenchmarkTable``) and :func:`detect_kind`, which guesses the kind of a file.

Every importer is a pure function of its input file(s); none writes anything. Units are
normalised: accuracies in %, ``params`` and ``flops`` as counts, latency in ms.
Dataset-independent metrics (latency, the NB201 index) use the dataset ``"any"``. The
importers live in one module per format:

* :mod:`.nb201_import` -- NAS-Bench-201 (derived table, FreeREA, HELP latency, NASLib sample);
* :mod:`.macro_import` -- NAS-Bench-Macro's json;
* :mod:`.naslib_import` -- NASLib NB-Suite-Zero samples (NB301, NB101);
* :mod:`.nds_import` -- NDS json files;
* :mod:`.csv_json_import` -- penas' own CSV and JSON tables;
* :mod:`.official` -- the official NB201 / NATS-tss ``.pth``/pickle files;
* :mod:`.score_files` -- precomputed per-arch score files (not tables).
"""

from __future__ import annotations

from pathlib import Path

from ..registry import Registry
from ._readers import PathLike
from .csv_json_import import import_csv, import_json
from .macro_import import import_macro_json
from .naslib_import import import_naslib_json, space_key_converter
from .nb201_import import import_naslib_nb201, import_nb201_table, nb201_arch_strings, nb201_naslib_op_indices
from .nds_import import import_nds
from .table import BenchmarkTable

IMPORTERS: Registry[BenchmarkTable] = Registry("benchmark importer")

IMPORTERS.register("csv")(import_csv)
IMPORTERS.register("json")(import_json)
IMPORTERS.register("nds")(lambda path, space: import_nds(path, space))


@IMPORTERS.register("nb201-table")
def _imp_nb201_table(path: PathLike, space: str) -> BenchmarkTable:
    _expect_space(space, "nb201", "nb201-table")
    return import_nb201_table(path)


@IMPORTERS.register("macro")
def _imp_macro(path: PathLike, space: str) -> BenchmarkTable:
    _expect_space(space, "nasbench_macro", "macro")
    return import_macro_json(path)


@IMPORTERS.register("naslib")
def _imp_naslib(path: PathLike, space: str) -> BenchmarkTable:
    top = {"nb201": "nasbench201", "darts": "nasbench301", "nb101": "nasbench101"}.get(space)
    if top is None:
        raise ValueError(f"space: NASLib json import supports nb201, darts, nb101; got {space!r}")
    if space == "nb201":
        archs = nb201_arch_strings()
        cols = import_naslib_nb201(path, archs, [nb201_naslib_op_indices(a) for a in archs])
        return BenchmarkTable("nb201", archs, cols, {"source_format": "naslib"})
    return import_naslib_json(path, space, top, space_key_converter(space))


@IMPORTERS.register("nb201-official")
def _imp_official(path: PathLike, space: str) -> BenchmarkTable:
    from .official import import_nb201_official

    _expect_space(space, "nb201", "nb201-official")
    return import_nb201_official(path)


def _expect_space(space: str, want: str, kind: str) -> None:
    if space != want:
        raise ValueError(f"space: --kind {kind} holds {want!r} data; got space {space!r}")


def detect_kind(path: PathLike, space: str) -> str:
    """Guess the importer of ``path`` from its name and first bytes."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".pth", ".pickle", ".pkl") or p.is_dir():
        return "nb201-official"
    with open(p, "rb") as fh:
        head = fh.read(4096).decode("utf-8", errors="replace").lstrip()
    if suffix == ".csv" or (head and head[0] not in "[{"):
        if head.startswith("index,arch_str"):
            return "nb201-table"
        return "csv"
    if head.startswith("["):
        return "nds"
    if '"nasbench' in head[:64]:
        return "naslib"
    if '"arch_ids"' in head or '"columns"' in head:
        return "json"
    if '"mean_acc"' in head:
        return "macro"
    raise ValueError(f"file: cannot tell the format of {str(p)!r}; pass --kind ({', '.join(IMPORTERS.names())})")
