"""The on-disk ground-truth table format and its memory-mapped reader.

A table is a directory::

    <name>.gt/
        manifest.json     format, version, space, n_rows, columns, meta (small JSON)
        ids.npy           arch ids, numpy unicode array (n_rows,), row order of the table
        c000.npy ...      one uncompressed .npy per column, shape (n_rows,) or (n_rows, k)

Every column is keyed by ``(dataset, metric)``. Metrics that do not depend on a dataset
(latency on a device, the NB201 index) live under the dataset :data:`ANY_DATASET`
(``"any"``). Missing values are NaN (float columns). Columns are opened with
``np.load(mmap_mode="r")``, so opening costs a JSON read and one ``open`` per column
touched, and memory is only paged in for what is read.
"""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic_io import atomic_dir
from .integrity import FORMAT, MANIFEST, VERSION, read_manifest

ANY_DATASET = "any"

#: Direction of "better" for metric names (prefix match on the part before ``_``-suffixes).
_HIGHER_IS_BETTER_PREFIXES = ("test_acc", "valid_acc", "train_acc", "acc", "top1", "top5", "miou")
_LOWER_IS_BETTER_PREFIXES = ("params", "flops", "latency", "train_time", "error", "loss", "energy")


def higher_is_better(metric: str) -> bool | None:
    """``True``/``False`` for the known metric families, ``None`` when unknown."""
    if metric.startswith(_HIGHER_IS_BETTER_PREFIXES):
        return True
    if metric.startswith(_LOWER_IS_BETTER_PREFIXES):
        return False
    return None


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a table: ``(dataset, metric)``, its file, unit and direction."""

    dataset: str
    metric: str
    file: str
    dtype: str
    shape: tuple[int, ...]
    unit: str = ""
    higher_is_better: bool | None = None
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "metric": self.metric,
            "file": self.file,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "description": self.description,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ColumnInfo:
        return cls(
            dataset=d["dataset"],
            metric=d["metric"],
            file=d["file"],
            dtype=d["dtype"],
            shape=tuple(d["shape"]),
            unit=d.get("unit", ""),
            higher_is_better=d.get("higher_is_better"),
            description=d.get("description", ""),
        )


@dataclass
class Column:
    """An in-memory column to be written: values aligned to the table's arch ids."""

    values: np.ndarray
    unit: str = ""
    higher_is_better: bool | None = None
    description: str = ""


@dataclass
class BenchmarkTable:
    """An in-memory table (what importers produce and :func:`write_table` writes).

    ``columns`` maps ``(dataset, metric)`` to a :class:`Column` (or a bare array) whose
    first axis is aligned with ``arch_ids``.
    """

    space: str
    arch_ids: list[str]
    columns: dict[tuple[str, str], Column] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.arch_ids = [str(a) for a in self.arch_ids]
        bad = next((a for a in self.arch_ids if not a or "\x00" in a), None)
        if bad is not None:
            raise ValueError(f"arch_ids: ids must be non-empty strings without NUL characters, got {bad!r}")
        if len(set(self.arch_ids)) != len(self.arch_ids):
            seen: set[str] = set()
            dup = next(a for a in self.arch_ids if a in seen or seen.add(a))  # type: ignore[func-returns-value]
            raise ValueError(f"arch_ids: duplicate id {dup!r} in table for space {self.space!r}")
        self.columns = {k: _as_column(k, v, len(self.arch_ids)) for k, v in self.columns.items()}

    def add(self, dataset: str, metric: str, values: np.ndarray | Sequence[float], **info: Any) -> None:
        self.columns[(dataset, metric)] = _as_column((dataset, metric), Column(np.asarray(values), **info),
                                                    len(self.arch_ids))

    @property
    def n_rows(self) -> int:
        return len(self.arch_ids)


def _as_column(key: tuple[str, str], col: Column | np.ndarray | Sequence[float], n: int) -> Column:
    if not isinstance(key, tuple) or len(key) != 2 or not all(isinstance(k, str) and k for k in key):
        raise ValueError(f"columns: keys must be (dataset, metric) string pairs, got {key!r}")
    if not isinstance(col, Column):
        col = Column(np.asarray(col))
    v = np.asarray(col.values)
    if v.ndim not in (1, 2) or v.shape[0] != n:
        raise ValueError(f"columns[{key!r}]: expected shape ({n},) or ({n}, k), got {v.shape}")
    if v.dtype.kind not in "fiub":
        raise ValueError(f"columns[{key!r}]: expected a numeric array, got dtype {v.dtype}")
    if col.higher_is_better is None:
        col.higher_is_better = higher_is_better(key[1])
    col.values = v
    return col


def merge_tables(base: BenchmarkTable, new: BenchmarkTable) -> BenchmarkTable:
    """Union of rows (``base`` order, then new ids) and columns (``new`` wins on clashes).

    Cells a table does not cover are NaN (integer columns are promoted to float64).
    """
    if base.space != new.space:
        raise ValueError(f"merge_tables: spaces differ ({base.space!r} vs {new.space!r})")
    pos = {a: i for i, a in enumerate(base.arch_ids)}
    ids = list(base.arch_ids) + [a for a in new.arch_ids if a not in pos]
    index = {a: i for i, a in enumerate(ids)}
    n = len(ids)
    cols: dict[tuple[str, str], Column] = {}
    for tab in (base, new):
        rows = np.fromiter((index[a] for a in tab.arch_ids), dtype=np.int64, count=tab.n_rows)
        for key, col in tab.columns.items():
            v = col.values
            if rows.size == n and np.array_equal(rows, np.arange(n)):
                out = v
            else:
                dtype = np.result_type(v.dtype, np.float64) if v.dtype.kind != "f" else v.dtype
                out = np.full((n,) + v.shape[1:], np.nan, dtype=dtype)
                out[rows] = v
            cols[key] = Column(out, col.unit, col.higher_is_better, col.description)
    meta = {**base.meta, **new.meta}
    return BenchmarkTable(base.space, ids, cols, meta)


def write_table(
    path: str | os.PathLike[str],
    space: str | BenchmarkTable,
    arch_ids: Sequence[str] | None = None,
    columns: Mapping[tuple[str, str], Column | np.ndarray] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """Write a table directory at ``path`` atomically (temp dir + rename).

    Either pass a :class:`BenchmarkTable` as ``space`` or the parts. If ``path`` already
    exists it is replaced (the old directory is moved aside first; readers holding memory
    maps of the old files keep working on POSIX).
    """
    table = space if isinstance(space, BenchmarkTable) else BenchmarkTable(
        space, list(arch_ids or []), dict(columns or {}), dict(meta or {})
    )
    path = Path(path)
    with atomic_dir(path) as tmp:
        ids = np.asarray(table.arch_ids, dtype=np.str_)
        if ids.size == 0:
            ids = np.zeros(0, dtype="<U1")
        np.save(tmp / "ids.npy", ids)
        infos: list[ColumnInfo] = []
        for i, ((dataset, metric), col) in enumerate(sorted(table.columns.items())):
            fname = f"c{i:03d}.npy"
            np.save(tmp / fname, np.ascontiguousarray(col.values))
            infos.append(ColumnInfo(dataset, metric, fname, str(col.values.dtype), tuple(col.values.shape),
                                    col.unit, col.higher_is_better, col.description))
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "space": table.space,
            "n_rows": table.n_rows,
            "columns": [c.to_json() for c in infos],
            "meta": _jsonable(table.meta),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


class Benchmark:
    """A memory-mapped ground-truth table of one space.

    ``metric`` and ``dataset`` are always required; an unknown one raises a one-line
    ``ValueError`` listing what exists. Dataset-independent metrics are under
    ``dataset="any"``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        manifest = read_manifest(self.path)
        self.space: str = manifest["space"]
        self.n_rows: int = int(manifest["n_rows"])
        self.meta: dict[str, Any] = manifest.get("meta", {})
        self._columns: dict[tuple[str, str], ColumnInfo] = {}
        for d in manifest["columns"]:
            info = ColumnInfo.from_json(d)
            self._columns[(info.dataset, info.metric)] = info
        self._arrays: dict[tuple[str, str], np.ndarray] = {}
        self._ids: np.ndarray | None = None
        self._index: dict[str, int] | None = None
        self._space_obj: Any = None

    # --- structure ------------------------------------------------------------------
    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        return f"<Benchmark {self.space!r}: {self.n_rows} rows, {len(self._columns)} columns at {str(self.path)!r}>"

    @property
    def arch_ids(self) -> np.ndarray:
        """The arch ids in row order (read-only numpy unicode array)."""
        if self._ids is None:
            self._ids = np.load(self.path / "ids.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
        return self._ids

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(sorted({d for d, _ in self._columns}))

    def metrics(self, dataset: str) -> tuple[str, ...]:
        self._check_dataset(dataset)
        return tuple(sorted(m for d, m in self._columns if d == dataset))

    @property
    def columns(self) -> tuple[ColumnInfo, ...]:
        return tuple(self._columns[k] for k in sorted(self._columns))

    def column_info(self, metric: str, dataset: str) -> ColumnInfo:
        return self._columns[self._key(metric, dataset)]

    def __contains__(self, arch: object) -> bool:
        try:
            self.row(arch)
        except ValueError:
            return False
        return True

    # --- queries --------------------------------------------------------------------
    def column(self, metric: str, dataset: str) -> np.ndarray:
        """The whole column (read-only memory map) in row order."""
        key = self._key(metric, dataset)
        arr = self._arrays.get(key)
        if arr is None:
            # a plain ndarray view of the read-only map (np.memmap's Python __getitem__ is slow)
            arr = np.load(self.path / self._columns[key].file, mmap_mode="r", allow_pickle=False).view(np.ndarray)
            self._arrays[key] = arr
        return arr

    def row(self, arch: Any) -> int:
        """Row index of ``arch`` (an id string or an arch object of the space)."""
        key = self._arch_key(arch)
        idx = self._get_index().get(key)
        if idx is None:
            idx = self._get_index().get(self._canonical_id(key))
        if idx is None:
            raise ValueError(f"arch: {key!r} is not in the {self.space!r} benchmark ({self.n_rows} rows)")
        return idx

    def rows(self, archs: Iterable[Any]) -> np.ndarray:
        """Row indices of ``archs`` (ids or arch objects), in order."""
        index = self._get_index()
        archs = list(archs)
        try:  # fast path: canonical id strings
            if len(archs) > 1:
                return np.array(operator.itemgetter(*archs)(index), dtype=np.int64)
            return np.array([index[a] for a in archs], dtype=np.int64)
        except (KeyError, TypeError):
            pass
        out = []
        for a in archs:
            key = self._arch_key(a)
            i = index.get(key)
            out.append(i if i is not None else self.row(key))
        return np.asarray(out, dtype=np.int64)

    def query(self, arch: Any, metric: str, dataset: str) -> Any:
        """Value of ``metric`` on ``dataset`` for one arch (float/int, or an array for 2-D columns).

        NaN means the table has no value for this arch (a sparse column).
        """
        col = self._arrays.get((dataset, metric))
        if col is None:
            col = self.column(metric, dataset)
        i = self._index.get(arch) if self._index is not None and isinstance(arch, str) else None
        if i is None:
            i = self.row(arch)
        return col.item(i) if col.ndim == 1 else np.array(col[i])

    def table(self, metric: str, dataset: str, archs: Iterable[Any] | None = None) -> np.ndarray:
        """``metric`` on ``dataset`` for ``archs`` (default: all rows), aligned to ``archs``."""
        col = self.column(metric, dataset)
        if archs is None:
            return np.array(col)
        return np.asarray(col[self.rows(archs)])

    def best(self, metric: str, dataset: str, mode: str | None = None) -> tuple[str, float]:
        """``(arch_id, value)`` of the best row; ``mode`` is "max"/"min" (default: the metric's direction)."""
        info = self.column_info(metric, dataset)
        if mode is None:
            if info.higher_is_better is None:
                raise ValueError(f"mode: metric {metric!r} has no known direction; pass mode='max' or 'min'")
            mode = "max" if info.higher_is_better else "min"
        if mode not in ("max", "min"):
            raise ValueError(f"mode: expected 'max' or 'min', got {mode!r}")
        col = np.asarray(self.column(metric, dataset), dtype=np.float64)
        if col.ndim != 1:
            raise ValueError(f"metric: {metric!r} on {dataset!r} is a 2-D column; best() needs a scalar metric")
        if col.size == 0 or np.all(np.isnan(col)):
            raise ValueError(f"metric: {metric!r} on {dataset!r} has no values")
        i = int(np.nanargmax(col) if mode == "max" else np.nanargmin(col))
        return str(self.arch_ids[i]), float(col[i])

    # --- helpers --------------------------------------------------------------------
    def _check_dataset(self, dataset: str) -> None:
        if dataset not in {d for d, _ in self._columns}:
            raise ValueError(
                f"dataset: {self.space!r} benchmark has no dataset {dataset!r}; expected one of: "
                f"{', '.join(self.datasets)}"
            )

    def _key(self, metric: str, dataset: str) -> tuple[str, str]:
        if not isinstance(metric, str) or not isinstance(dataset, str):
            raise ValueError(f"metric/dataset: expected strings, got {metric!r}, {dataset!r}")
        key = (dataset, metric)
        if key in self._columns:
            return key
        self._check_dataset(dataset)
        elsewhere = sorted(d for d, m in self._columns if m == metric)
        hint = f" ({metric!r} exists for dataset {', '.join(repr(d) for d in elsewhere)})" if elsewhere else ""
        raise ValueError(
            f"metric: {self.space!r} benchmark has no metric {metric!r} for dataset {dataset!r}{hint}; "
            f"expected one of: {', '.join(self.metrics(dataset))}"
        )

    def _get_index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {a: i for i, a in enumerate(self.arch_ids.tolist())}
        return self._index

    def _space(self) -> Any:
        if self._space_obj is None:
            from .. import get_space

            self._space_obj = get_space(self.space)
        return self._space_obj

    def _arch_key(self, arch: Any) -> str:
        if isinstance(arch, str):
            return arch
        if isinstance(arch, np.str_):
            return str(arch)
        try:
            return self._space().format(arch)
        except Exception as e:  # noqa: BLE001 - re-raised as a one-line user error
            raise ValueError(f"arch: cannot format {arch!r} as a {self.space!r} arch id: {e}") from None

    def _canonical_id(self, key: str) -> str:
        """Normalise an accepted alternative string form through the space (if registered)."""
        from .. import SPACES

        if self.space not in SPACES:
            return key
        try:
            return self._space().arch_id(key)
        except Exception:  # noqa: BLE001 - not parseable: report as "not in benchmark"
            return key


