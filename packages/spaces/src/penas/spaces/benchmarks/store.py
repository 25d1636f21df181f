"""Opening benchmarks: lazy conversion of raw files into the store, then memory maps.

The store of space ``S`` is the directory ``<cache>/store/<root hash>/S-<source hash>.gt`` (see
:func:`penas.spaces.paths.store_dir`): it lives in the cache (``$PENAS_CACHE``), never under the
data root, and its name carries the sha256 of the raw files it was converted from, so an edited
source is converted again. The first :func:`open_benchmark` converts the raw files found under the
data root; conversion runs under an exclusive file lock (``S-<hash>.gt.lock``, POSIX ``flock``) and
writes a temp directory that is renamed into place, so concurrent processes never see a partial
store and convert only once.

A broken store (a deleted or truncated ``.npy``, a bad or empty ``manifest.json``, object-dtype
ids) is rebuilt from the raw files, atomically, when they are present; otherwise opening it is a
one-line ``ValueError`` that says the store is corrupt and how to rebuild it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import paths
from .integrity import StoreCorruptError, verify_store
from .sources import get_source
from .table import Benchmark, BenchmarkTable, merge_tables, write_table

_cache: dict[tuple[str, str], Benchmark] = {}
_log = logging.getLogger(__name__)
#: Key of a store made by imports alone (no raw source files under the data root).
IMPORTS_ONLY = "imports"


def store_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Directory of the stores of data root ``root``: :func:`penas.spaces.paths.store_dir`."""
    return paths.store_dir(root)


def source_key(space: str, root: str | os.PathLike[str] | None = None) -> str:
    """Checksum key of the raw files of ``space`` present under the data root (``"imports"`` if none)."""
    r = paths.data_root(root)
    try:
        src = get_source(space)
    except (KeyError, ValueError):
        return IMPORTS_ONLY
    present = [(f.relpath, f.path(r)) for f in src.present(r)]
    return paths.sources_key(present) if present else IMPORTS_ONLY


def store_path(space: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Where the converted table of ``space`` lives (it may not exist yet)."""
    return store_root(root) / f"{space}-{source_key(space, root)}.gt"


def store_exists(space: str, root: str | os.PathLike[str] | None = None) -> bool:
    return (store_path(space, root) / "manifest.json").is_file()


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.parent / f"{target.name}.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: rely on the atomic rename alone
        yield
        return
    with open(lock, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _check_buildable(space: str, root: str | os.PathLike[str] | None) -> None:
    src = get_source(space)
    r = paths.data_root(root)
    if not src.buildable(r):
        missing = [f.relpath for f in src.missing_required(r)] or [f.relpath for f in src.files[:1]]
        raise FileNotFoundError(
            f"space {space!r}: no benchmark data under {str(r)!r} (missing {', '.join(missing)}); "
            f"run `penas-app data download {space}` or `penas-app data import {space} FILE`, or set PENAS_DATA"
        )


def build_table(space: str, root: str | os.PathLike[str] | None = None) -> BenchmarkTable:
    """Convert the raw files of ``space`` found under the data root (no writing)."""
    _check_buildable(space, root)
    src = get_source(space)
    r = paths.data_root(root)
    table = src.build(r)
    table.meta.setdefault("sources", [f.relpath for f in src.present(r)])
    table.meta.setdefault("data_root", str(r))
    return table


def convert(space: str, root: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """Build the store of ``space`` from the raw files (once; ``force`` rebuilds). Returns its path."""
    target = store_path(space, root)
    if not force and _healthy(target):
        return target
    _check_buildable(space, root)  # before creating any directory or lock file
    with _locked(target):
        if not force and _healthy(target):  # another process finished first
            return target
        write_table(target, build_table(space, root))
    _cache.pop((space, str(target)), None)
    return target


def import_table(table: BenchmarkTable, root: str | os.PathLike[str] | None = None, replace: bool = False) -> Path:
    """Merge ``table`` into the store of its space (new columns win); ``replace`` overwrites the store.

    When no store exists yet and raw files are present, they are converted first so an import adds to them.
    """
    target = store_path(table.space, root)
    with _locked(target):
        base: BenchmarkTable | None = None
        if not replace:
            healthy = _healthy(target)
            if not healthy and (target / "manifest.json").exists() and not get_source_buildable(table.space, root):
                try:
                    verify_store(target)
                except StoreCorruptError as e:  # no raw files to rebuild the rest of it from
                    raise ValueError(_corrupt_message(table.space, e)) from None
            if healthy:
                base = read_table(Benchmark(target))
            else:  # no store yet, or a corrupt one: start again from the raw files when present
                try:
                    base = build_table(table.space, root)
                except (FileNotFoundError, KeyError):
                    base = None
        out = table if base is None else merge_tables(base, table)
        imported = list(out.meta.get("imported", [])) + [table.meta.get("source", "?")]
        out.meta["imported"] = imported
        write_table(target, out)
    _cache.pop((table.space, str(target)), None)
    return target


def read_table(bench: Benchmark) -> BenchmarkTable:
    """An in-memory copy of an opened store (for merging)."""
    import numpy as np

    from .table import Column

    cols = {
        (c.dataset, c.metric): Column(np.array(bench.column(c.metric, c.dataset)), c.unit, c.higher_is_better,
                                      c.description)
        for c in bench.columns
    }
    return BenchmarkTable(bench.space, bench.arch_ids.tolist(), cols, dict(bench.meta))


def open_benchmark(space: str, root: str | os.PathLike[str] | None = None, rebuild: bool = False) -> Benchmark:
    """The ground-truth table of ``space``, converting raw files into the store on first use.

    ``root`` overrides the data root (default ``$PENAS_DATA`` or the user cache). Opened
    benchmarks are cached per process (they are read-only memory maps). A corrupt store is
    rebuilt from the raw files when they are present, else a one-line ``ValueError``.
    """
    target = store_path(space, root)
    key = (space, str(target))
    if not rebuild and key in _cache and (target / "manifest.json").is_file():
        return _cache[key]
    if not rebuild and (target / "manifest.json").exists():
        try:
            verify_store(target)
        except StoreCorruptError as e:
            if not get_source_buildable(space, root):
                raise ValueError(_corrupt_message(space, e)) from None
            _log.warning("%s; rebuilding it from the raw files", e)
            rebuild = True
    if rebuild or not (target / "manifest.json").is_file():
        if not rebuild and space not in _known_sources():
            raise ValueError(
                f"space: no benchmark store for {space!r} at {str(target)!r} and no known raw source; "
                f"known: {', '.join(_known_sources())}; use `penas-app data import {space} FILE`"
            )
        convert(space, root, force=rebuild)
    try:
        bench = Benchmark(target)
    except FileNotFoundError:  # replaced between the check and the open: retry once under the lock
        with _locked(target):
            bench = Benchmark(target)
    if not rebuild and _ids_outdated(bench):
        return open_benchmark(space, root, rebuild=True)
    _cache[key] = bench
    return bench


def _healthy(target: Path) -> bool:
    """A complete, readable store at ``target`` (a corrupt one counts as absent, to be rebuilt)."""
    if not (target / "manifest.json").is_file():
        return False
    try:
        verify_store(target)
    except StoreCorruptError:
        return False
    return True


def get_source_buildable(space: str, root: str | os.PathLike[str] | None = None) -> bool:
    """Whether the raw files of ``space`` under the data root can (re)build its store."""
    try:
        return get_source(space).buildable(paths.data_root(root))
    except (KeyError, ValueError):
        return False


def _corrupt_message(space: str, e: Exception) -> str:
    return (f"{e}; its raw files are not under the data root, so it cannot be rebuilt here: delete it and "
            f"run `penas-app data download {space}` (or set PENAS_DATA), or re-import it with "
            f"`penas-app data import {space} FILE --replace`")


def _ids_outdated(bench: Benchmark) -> bool:
    """A store keyed by foreign (NASLib) ids, built before the space could convert them."""
    if bench.meta.get("id_form") != "naslib" or "converter_failed" in bench.meta:
        return False
    if "imported" in bench.meta:  # never drop a user's imports silently
        return False
    from .naslib_import import space_key_converter

    return space_key_converter(bench.space) is not None


def _known_sources() -> list[str]:
    from .sources import list_sources

    return list_sources()


#: The ground truths :func:`open_gt` can open.
GT_SOURCES = ("auto", "table", "surrogate")


def open_gt(space: str, source: str = "table", root: str | os.PathLike[str] | None = None) -> Any:
    """A ground truth of ``space``: the measured ``table`` (:func:`open_benchmark`), the ``surrogate``
    (:func:`penas.spaces.benchmarks.surrogates.surrogate`, e.g. NB301 for ``darts``), or ``auto`` (the
    surrogate when the space has one and its files are under the data root, else the table).

    Both answer ``datasets``, ``metrics(dataset)``, ``query(arch, metric, dataset)``,
    ``table(metric, dataset, archs)`` and ``meta``; only a table can list all its archs.
    """
    from .surrogates import surrogate, surrogate_available

    if source not in GT_SOURCES:
        raise ValueError(f"source: expected one of {', '.join(GT_SOURCES)}, got {source!r}")
    if source == "surrogate" or (source == "auto" and surrogate_available(space, root)):
        return surrogate(space, root)
    return open_benchmark(space, root)
