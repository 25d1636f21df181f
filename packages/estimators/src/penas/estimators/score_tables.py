"""penas's own precomputed zero-cost score tables: build, load, import into a store, resolve.

A table is two files side by side (format version :data:`FORMAT_VERSION`):

* ``<name>.csv.gz`` -- gzip'd CSV, header ``arch_id,<column>,...``, one row per arch id, every
  value written with ``repr`` (exact float round trip), ``nan`` for an invalid score. Written
  with a zero gzip mtime, so the same scores give the same bytes;
* ``<name>.json`` -- the sidecar: format and version, table name, space, protocol, seeds, the
  penas versions, the sha256 of the ``.csv.gz`` and, **per column**, its provenance: proxy,
  protocol, seed, dataset, batch size, data fingerprint and source, dtype, BN mode, the
  estimator name and config hash the column's rows have in a :class:`~penas.estimators.store.ScoreStore`,
  ``higher_is_better`` and the versions of the libraries that computed it.

A column is named after its proxy (``<proxy>@<seed>`` when the table has several seeds).
:func:`build_table` scores through :func:`~penas.estimators.scoring.cached_scores` into a score
store (default ``$PENAS_CACHE/score_tables/<name>.db``), so a killed build resumes where it
stopped; the two files are written (tmp file + rename) only when every column is complete.
:func:`import_into_store` writes a table's rows under exactly those store keys, so a later
``cached_scores`` with the same estimator finds them instead of recomputing.

Tables shipped with penas live in ``penas/estimators/tables/`` (package data); tables built into
``$PENAS_CACHE/score_tables/`` are found by name as well. :func:`resolve_score_file` turns
``penas:<table>`` or ``penas:<table>:<column>`` into ``(arch_ids, scores)``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import gzip
import hashlib
import io
import json
import math
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TABLE_FORMAT = "penas-score-table"
FORMAT_VERSION = 1
PREFIX = "penas:"
SUFFIX = ".csv.gz"
PACKAGE_TABLES = Path(__file__).resolve().parent / "tables"

TableProgress = Callable[[str, int, int], None]  # (column group label, archs done, archs to compute)


@dataclass
class ScoreTableFile:
    """One loaded table: ``columns[label]`` is aligned with ``arch_ids`` (NaN = invalid)."""

    name: str
    path: Path
    meta: dict[str, Any]
    arch_ids: list[str]
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def space(self) -> str:
        return str(self.meta["space"])

    def provenance(self, column: str) -> dict[str, Any]:
        """The sidecar's provenance of ``column``."""
        return dict(self.meta["columns"][self.column_name(column)])

    def column_name(self, column: str) -> str:
        if column not in self.columns:
            raise ValueError(f"score table {self.name!r}: no column {column!r}; columns: {', '.join(self.columns)}")
        return column

    def as_dict(self, column: str) -> dict[str, float]:
        return dict(zip(self.arch_ids, (float(v) for v in self.columns[self.column_name(column)]), strict=True))


# --- where tables live ----------------------------------------------------------------------
def cache_tables_dir() -> Path:
    """``$PENAS_CACHE/score_tables`` (where :func:`build_table` writes by default)."""
    from penas.spaces.paths import cache_root

    return cache_root() / "score_tables"


def known_tables() -> dict[str, Path]:
    """``{name: path of the .csv.gz}``: the tables shipped with penas, then those in the cache."""
    out: dict[str, Path] = {}
    for d in (PACKAGE_TABLES, cache_tables_dir()):
        if d.is_dir():
            for p in sorted(d.glob(f"*{SUFFIX}")):
                out.setdefault(p.name[: -len(SUFFIX)], p)
    return out


def _paths(name_or_path: str | os.PathLike[str]) -> tuple[str, Path, Path]:
    """``(name, csv.gz path, sidecar path)`` of a table name or a path to either file."""
    s = str(name_or_path)
    p = Path(s)
    if s.endswith(SUFFIX) or s.endswith(".json") or p.is_file():
        if s.endswith(".json"):
            base = s[: -len(".json")]
        elif s.endswith(SUFFIX):
            base = s[: -len(SUFFIX)]
        else:
            raise ValueError(f"score table: {s}: expected a {SUFFIX} file or its .json sidecar")
        gz, side = Path(base + SUFFIX), Path(base + ".json")
        if not gz.is_file():
            raise ValueError(f"score table: {gz}: no such file")
        return Path(base).name, gz, side
    known = known_tables()
    if s not in known:
        raise ValueError(f"score table: unknown table {s!r}; known tables: {', '.join(known) or 'none'} "
                         f"(or give the path of a {SUFFIX} file)")
    gz = known[s]
    return s, gz, gz.with_name(s + ".json")


# --- loading ----------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _archs_label(archs: Any, n: int) -> str:
    """The sidecar's record of the candidate spec: a spec as given; a file of ids by its name and
    content hash (not this machine's path); ``N given`` for a sequence."""
    if not isinstance(archs, str):
        return f"{n} given"
    path = Path(archs)
    if path.is_file():
        return f"file {path.name} (sha256 {_sha256(path)[:16]}, {n} ids)"
    return archs


def _read_meta(name: str, side: Path) -> dict[str, Any]:
    try:
        meta = json.loads(side.read_text())
    except FileNotFoundError:
        raise ValueError(f"score table {name!r}: its sidecar {side} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"score table {name!r}: {side} is not readable JSON ({type(e).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != TABLE_FORMAT:
        raise ValueError(f"score table {name!r}: {side} is not a {TABLE_FORMAT} sidecar")
    ver = meta.get("format_version")
    if not isinstance(ver, int) or ver > FORMAT_VERSION:
        raise ValueError(f"score table {name!r}: format version {ver!r}; this penas reads up to {FORMAT_VERSION}")
    for key in ("space", "columns", "csv_sha256"):
        if key not in meta:
            raise ValueError(f"score table {name!r}: {side} lacks {key!r}")
    return meta


def _parse_value(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}: {text[:40]!r} is not a number") from None


def load_table(name_or_path: str | os.PathLike[str]) -> ScoreTableFile:
    """A table by name (shipped or in the cache) or by the path of its ``.csv.gz`` / ``.json``.

    Parameters
    ----------
    name_or_path : str or path
        ``"nasbench_macro_zc"`` or ``".../nasbench_macro_zc.csv.gz"``.

    Returns
    -------
    ScoreTableFile
        ``columns`` (``{label: scores}``), ``arch_ids``, ``meta`` (the sidecar).

    Raises
    ------
    ValueError
        One line: unknown table (listing the known ones), missing or foreign sidecar, checksum
        mismatch, corrupt gzip, a column of the sidecar missing from the CSV (or the reverse),
        a malformed row.
    """
    name, gz, side = _paths(name_or_path)
    meta = _read_meta(name, side)
    if _sha256(gz) != meta["csv_sha256"]:
        raise ValueError(f"score table {name!r}: {gz} does not match the sha256 in {side.name} (corrupt or "
                         "edited); rebuild it with `penas-app scores build-table`")
    try:
        text = gzip.decompress(gz.read_bytes()).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:
        raise ValueError(f"score table {name!r}: {gz} is not a readable gzip'd CSV ({type(e).__name__})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0] or rows[0][0] != "arch_id":
        raise ValueError(f"score table {name!r}: {gz}: expected a header starting with 'arch_id'")
    header = rows[0][1:]
    want = list(meta["columns"])
    missing = [c for c in want if c not in header]
    if missing:
        raise ValueError(f"score table {name!r}: column {missing[0]!r} of {side.name} is missing from {gz.name}")
    extra = [c for c in header if c not in want]
    if extra:
        raise ValueError(f"score table {name!r}: column {extra[0]!r} of {gz.name} has no provenance in {side.name}")
    ids: list[str] = []
    vals = np.empty((len(rows) - 1, len(header)), dtype=np.float64)
    for i, r in enumerate(rows[1:]):
        where = f"score table {name!r}: {gz.name} line {i + 2}"
        if len(r) != len(header) + 1:
            raise ValueError(f"{where}: {len(r)} fields, expected {len(header) + 1}")
        ids.append(r[0])
        vals[i] = [_parse_value(v, where) for v in r[1:]]
    vals[~np.isfinite(vals)] = np.nan
    if "n_archs" in meta and meta["n_archs"] != len(ids):
        raise ValueError(f"score table {name!r}: {len(ids)} rows, the sidecar says {meta['n_archs']}")
    return ScoreTableFile(name, gz, meta, ids, {c: vals[:, j].copy() for j, c in enumerate(header)})


def resolve_score_file(spec: str, space: str | None = None, column: str | None = None,
                       option: str = "--score-file") -> tuple[list[str], np.ndarray]:
    """``penas:<table>`` or ``penas:<table>:<column>`` -> ``(arch_ids, scores)`` (NaN = invalid).

    Parameters
    ----------
    spec : str
        ``penas:<table>[:<column>]``; the table is a name (:func:`known_tables`) or a path.
    space : str, optional
        The space the scores are for; a table of another space is an error.
    column : str, optional
        The column when ``spec`` names none (e.g. the ``NAME`` of ``--score-file NAME=penas:<table>``).
        Without either, the table must have exactly one column.
    option : str
        The option named in errors.

    Raises
    ------
    ValueError
        One line naming ``option``: not a ``penas:`` spec, unknown table (listing the known ones),
        unknown column (listing the table's), another space, or a corrupt table.
    """
    if not isinstance(spec, str) or not spec.startswith(PREFIX) or len(spec) == len(PREFIX):
        raise ValueError(f"{option}: expected penas:<table>[:<column>], got {spec!r}")
    table, _, col = spec[len(PREFIX):].partition(":")
    try:
        tab = load_table(table)
    except ValueError as e:
        raise ValueError(f"{option}: {e}") from None
    if space is not None and tab.space != space:
        raise ValueError(f"{option}: score table {tab.name!r} holds {tab.space} archs, not {space}")
    col = col or column or ""
    if not col:
        if len(tab.columns) != 1:
            raise ValueError(f"{option}: score table {tab.name!r} has columns {', '.join(tab.columns)}; "
                             f"name one: penas:{tab.name}:<column>")
        col = next(iter(tab.columns))
    if col not in tab.columns:
        raise ValueError(f"{option}: score table {tab.name!r} has no column {col!r}; columns: {', '.join(tab.columns)}")
    return list(tab.arch_ids), tab.columns[col].copy()


# --- store import -------------------------------------------------------------------------------
def import_into_store(table: ScoreTableFile | str | os.PathLike[str], store: Any) -> int:
    """Write every column of ``table`` into ``store`` under the estimator name and config hash of
    its sidecar (the key :func:`~penas.estimators.scoring.cached_scores` looks up); stored scores
    are kept (first writer wins). Returns the number of new rows."""
    from .store import ScoreStore

    tab = table if isinstance(table, ScoreTableFile) else load_table(table)
    st = store if isinstance(store, ScoreStore) else ScoreStore(store)
    added = 0
    for label, vals in tab.columns.items():
        prov = tab.meta["columns"][label]
        template = dict(prov.get("provenance") or {})
        extra = {**template.get("extra", {}), "score_table": tab.name,
                 "score_table_format": tab.meta.get("format_version")}
        rows = {a: {**template, "arch_id": a, "extra": extra} for a in tab.arch_ids}
        added += st.put_many(tab.space, prov["estimator"], prov["config_hash"],
                             dict(zip(tab.arch_ids, (float(v) for v in vals), strict=True)), rows)
    return added


# --- building -----------------------------------------------------------------------------------
def _penas_versions() -> dict[str, str]:
    from .base import library_versions

    return library_versions()


def _resolve_archs(space: Any, archs: str | Sequence[Any], seed: int) -> list[str]:
    if isinstance(archs, str):
        from penas.spaces.candidates import select_candidates

        return select_candidates(space, archs, seed, option="archs").ids
    ids = [space.arch_id(a) if isinstance(a, str) else space.format(a) for a in archs]
    if not ids:
        raise ValueError("archs: expected at least one arch")
    return list(dict.fromkeys(ids))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def build_table(
    space: Any,
    archs: str | Sequence[Any],
    proxies: Sequence[str],
    protocol: str = "zero-cost-nas",
    seeds: Sequence[int] | None = None,
    out: str | os.PathLike[str] | None = None,
    store: Any = None,
    *,
    name: str | None = None,
    data: Any = None,
    dataset: str | None = None,
    fill_isomorphs: bool = False,
    executor: Any = None,
    progress: TableProgress | None = None,
    shard_size: int = 8,
) -> Path:
    """Score ``archs`` with ``proxies`` under ``protocol`` (one column per proxy and seed) and write
    the table ``<out>/<name>.csv.gz`` + ``.json``. Resumable: scores go through ``store``.

    Parameters
    ----------
    space : Space or str
        The search space (or its name).
    archs : str or sequence
        A candidate spec (``all``, ``deiso``, ``sample:N``, ``FILE``; see
        :mod:`penas.spaces.candidates`) or arch ids / arch objects.
    proxies : sequence of str
        Registered proxy names.
    protocol : str
        ``zero-cost-nas`` or ``aw_nas`` (:data:`~penas.estimators.protocols.PROTOCOLS`).
    seeds : sequence of int, optional
        Init (and batch) seeds; default the protocol's.
    out : path, optional
        Directory of the two files (default ``$PENAS_CACHE/score_tables``).
    store : ScoreStore or path, optional
        Where scores are cached while building (default ``<out>/<name>.db``); a rerun after a
        kill computes only what it lacks.
    name : str, optional
        The table name (default ``<space>_zc``).
    data : optional
        The data spec of the batches (default ``auto``: real CIFAR-10 under ``$PENAS_DATA``);
        synthetic batches are refused for a table.
    dataset : str, optional
        The space's dataset to build for (default its first).
    fill_isomorphs : bool
        Score one arch per isomorphism class (its canonical id) and give every arch of ``archs``
        the scores of its class. Exact only where isomorphic archs build the same network
        (``nasbench_macro``); recorded in the sidecar.
    executor, shard_size
        As :func:`~penas.estimators.scoring.cached_scores`.
    progress : callable, optional
        ``progress(label, done, total)`` per seed (label ``seed <s>``).

    Returns
    -------
    Path
        The ``.csv.gz`` written.
    """
    from penas.spaces import get_space

    from .protocols import get_protocol
    from .proxies import get_proxy
    from .scoring import cached_scores
    from .store import ScoreStore
    from .zero_cost import ZeroCostEstimator

    sp = get_space(space) if isinstance(space, str) else space
    names = list(dict.fromkeys(proxies))
    if not names:
        raise ValueError("proxies: expected at least one proxy name")
    try:
        specs = {p: get_proxy(p) for p in names}
    except (KeyError, ValueError) as e:
        raise ValueError(f"proxies: {e.args[0] if e.args else e}") from None
    proto = get_protocol(protocol)
    seed_list = [int(s) for s in (proto.seeds if seeds is None or not len(seeds) else seeds)]
    if len(set(seed_list)) != len(seed_list):
        raise ValueError(f"seeds: expected distinct seeds, got {seed_list}")
    name = name or f"{sp.name}_zc"
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum() or name.startswith("."):
        raise ValueError(f"name: expected letters, digits, '_', '-' or '.', got {name!r}")
    ids = _resolve_archs(sp, archs, seed_list[0])
    rep = {a: sp.format(sp.canonical(sp.parse(a))) for a in ids} if fill_isomorphs else {a: a for a in ids}
    todo = list(dict.fromkeys(rep.values()))
    out_dir = Path(out) if out is not None else cache_tables_dir()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"out: cannot create {out_dir} ({e.strerror or e})") from None
    st = store if isinstance(store, ScoreStore) else ScoreStore(store if store is not None else out_dir / f"{name}.db")
    ests = [ZeroCostEstimator(sp, proxy=names[0], protocol=proto.name, dataset=dataset, data=data, seed=s)
            for s in seed_list]
    for e in ests:  # the batches now: a data problem is an error before any scoring
        b = e.batches()[0]
        if b.synthetic and any(spec.needs_data for spec in specs.values()):
            raise ValueError(f"data: no real images found ({b.source}); a score table needs real data "
                             "(set PENAS_DATA or pass data='cifar10:DIR')")

    columns: dict[str, np.ndarray] = {}
    col_meta: dict[str, dict[str, Any]] = {}
    for s, est in zip(seed_list, ests, strict=True):
        multi = est.with_proxies(names)
        cb = None if progress is None else (lambda d, t, s=s: progress(f"seed {s}", d, t))
        table = cached_scores(multi, todo, st, executor, cb, shard_size=shard_size)
        for p in names:
            label = p if len(seed_list) == 1 else f"{p}@{s}"
            col = table[p]
            by_id = dict(zip(col.arch_ids, col.values, strict=True))
            columns[label] = np.array([by_id[rep[a]] for a in ids], dtype=np.float64)
            sub = multi.subs[p]
            cfg = sub.config()
            col_meta[label] = {
                "proxy": p, "protocol": proto.name, "seed": s, "dataset": sub.dataset,
                "batch_size": cfg["batch_size"], "n_batches": cfg["n_batches"],
                "batch_fingerprint": cfg["data_fingerprint"], "data_source": cfg["data_source"],
                "dtype": cfg["dtype"], "bn_mode": cfg["bn_mode"], "estimator": sub.name,
                "config_hash": sub.config_hash, "higher_is_better": bool(specs[p].higher_is_better),
                "n_valid": int(np.isfinite(columns[label]).sum()), "config": cfg,
                "provenance": sub.provenance("").to_dict(),
            }

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    labels = list(columns)
    w.writerow(["arch_id", *labels])
    for i, a in enumerate(ids):
        w.writerow([a, *(repr(float(columns[c][i])) if math.isfinite(columns[c][i]) else "nan" for c in labels)])
    gz_bytes = gzip.compress(buf.getvalue().encode("utf-8"), compresslevel=9, mtime=0)
    gz_path, side_path = out_dir / f"{name}{SUFFIX}", out_dir / f"{name}.json"
    meta = {
        "format": TABLE_FORMAT, "format_version": FORMAT_VERSION, "name": name, "space": sp.name,
        "protocol": proto.name, "seeds": seed_list, "proxies": names, "n_archs": len(ids),
        "n_scored": len(todo), "fill_isomorphs": bool(fill_isomorphs),
        "archs": _archs_label(archs, len(ids)),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017 (3.10)
        "penas_versions": _penas_versions(), "csv_sha256": hashlib.sha256(gz_bytes).hexdigest(),
        "columns": col_meta,
    }
    _write_atomic(gz_path, gz_bytes)
    _write_atomic(side_path, (json.dumps(meta, indent=1, sort_keys=False, default=str) + "\n").encode())
    return gz_path


__all__ = ["FORMAT_VERSION", "PREFIX", "ScoreTableFile", "build_table", "cache_tables_dir", "import_into_store",
           "known_tables", "load_table", "resolve_score_file"]
