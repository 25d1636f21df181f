"""Put CIFAR-10/100 into the data root and say what is there: import, info, download.

* :func:`import_dataset` reads any layout of :mod:`penas.spaces.datasets.cifar` and writes the
  ``npy`` layout to ``<data root>/<name>/`` with ``manifest.json`` (sha256 per file, counts, where
  it came from). The files are written into a staging directory beside the target and moved into
  place at the end, so an interrupted import leaves no half-written dataset.
* :func:`download_dataset` fetches the official python tarball (:data:`OFFICIAL`), checks its
  published md5, reads the batches out of the tarball through the restricted unpickler (nothing
  is extracted to disk, no member path is trusted) and writes the ``npy`` layout the same way.
  The tarball is kept in the cache (``<cache>/downloads``), never in the data root.
* :func:`dataset_info` -- where the dataset lives, its layout, counts per split, checksums.

The data root is only written by these two commands, and only when it is writable.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic_io import atomic_dir
from ..paths import file_sha256
from .cifar import MANIFEST, open_dataset, read_python_batches
from .layouts import NPY_FILES, PICKLE_LAYOUT, find_layout
from .spec import DataSpec

DATASETS = ("cifar10", "cifar100")


@dataclass(frozen=True)
class Tarball:
    """An official dataset archive and its published checksum."""

    url: str
    md5: str
    filename: str


#: The archives of https://www.cs.toronto.edu/~kriz/cifar.html with the md5 sums published there.
OFFICIAL: dict[str, Tarball] = {
    "cifar10": Tarball("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                       "cifar-10-python.tar.gz"),
    "cifar100": Tarball("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                        "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python.tar.gz"),
}


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"dataset: expected one of {', '.join(DATASETS)}, got {name!r}")


def target_dir(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``<data root>/<name>``."""
    from ..paths import data_root

    _check_name(name)
    return data_root(root) / name


def _check_writable(d: Path) -> None:
    p = d
    while not p.exists():
        p = p.parent
    if not (os.access(p, os.W_OK) and p.stat().st_mode & 0o222):
        raise PermissionError(f"--root: {p} is read-only (a data directory penas only reads); pass --root DIR "
                              "or set PENAS_DATA to a writable directory")


def write_npy_layout(name: str, arrays: dict[str, tuple[np.ndarray, np.ndarray]], out: Path, source: str,
                     replace: bool = False) -> dict[str, Any]:
    """Write ``arrays`` (``{"train"|"test": (uint8 [N,H,W,3], labels)}``) as the npy layout in ``out``
    with ``manifest.json``; returns the manifest. ``out`` holding a dataset needs ``replace``."""
    if find_layout(out, name) is not None and not replace:
        raise FileExistsError(f"--root: {out} already holds {name}; pass --replace to overwrite it")
    _check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(out) as stage:
        for base, (x, y) in arrays.items():
            np.save(stage / f"{base}_images.npy", np.ascontiguousarray(x, dtype=np.uint8), allow_pickle=False)
            np.save(stage / f"{base}_labels.npy", np.asarray(y, dtype=np.uint8),
                    allow_pickle=False)
        manifest = {"dataset": name, "layout": "npy", "source": source,
                    "counts": {b: int(len(arrays[b][1])) for b in ("train", "test")},
                    "sha256": {f: file_sha256(stage / f) for f in NPY_FILES}}
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def import_dataset(name: str, source: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
                   replace: bool = False) -> tuple[Path, dict[str, Any]]:
    """Read ``source`` (npy, python batches or ImageFolder) and write it as ``<data root>/<name>``;
    returns ``(directory, manifest)``."""
    out = target_dir(name, root)
    ds = open_dataset(DataSpec(name, str(source)), option="PATH")
    if ds.root.resolve() == out.resolve():
        raise ValueError(f"PATH: {source} is already the {name} of the data root")
    arrays = {b: ds.arrays(b) for b in ("train", "test")}
    return out, write_npy_layout(name, arrays, out, f"{ds.layout}:{ds.root}", replace=replace)


def dataset_info(name: str, root: str | os.PathLike[str] | None = None, checksums: bool = True) -> dict[str, Any]:
    """Provenance of ``<data root>/<name>`` (``FileNotFoundError`` naming the import/download commands)."""
    d = target_dir(name, root)
    if find_layout(d, name) is None:
        raise FileNotFoundError(f"dataset: no {name} under {d}; run `penas-app data download {name}` or "
                                f"`penas-app data import {name} PATH`")
    return open_dataset(DataSpec(name, str(d))).provenance(checksums=checksums)


def download_dataset(name: str, root: str | os.PathLike[str] | None = None, *, url: str | None = None,
                     timeout: float = 20.0, force: bool = False,
                     progress: Callable[[int, int | None], None] | None = None) -> tuple[Path, dict[str, Any], bool]:
    """Fetch and convert the official archive of ``name``; returns ``(directory, info, downloaded)``.
    ``downloaded`` is False when the dataset was already present (nothing fetched)."""
    from ..benchmarks.download import download
    from ..paths import cache_root

    out = target_dir(name, root)
    if find_layout(out, name) is not None and not force:
        return out, dataset_info(name, root, checksums=False), False
    _check_writable(out)
    tb = OFFICIAL[name]
    tar = download(url or tb.url, cache_root() / "downloads" / tb.filename, None, progress=progress,
                   timeout=timeout, force=force)
    md5 = hashlib.md5(tar.read_bytes(), usedforsecurity=False).hexdigest()
    if md5 != tb.md5:
        tar.unlink(missing_ok=True)
        raise ValueError(f"md5 of {url or tb.url} is {md5}, expected the published {tb.md5}; the file was removed")
    arrays = read_tarball(name, tar)
    write_npy_layout(name, arrays, out, f"{url or tb.url} (md5 {md5})", replace=True)
    return out, dataset_info(name, root, checksums=False), True


def read_tarball(name: str, tar: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The train/test arrays of an official CIFAR python tarball, read member by member (regular
    files with the expected names only) through the restricted unpickler."""
    sub, train, test, _ = PICKLE_LAYOUT[name]
    want = {f"{sub}/{f}" for f in train + test}
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(tar, "r:*") as tf:
            for m in tf.getmembers():
                if m.name in want and m.isfile():
                    fh = tf.extractfile(m)
                    if fh is not None:
                        blobs[f"{tar}:{m.name}"] = fh.read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ValueError(f"{tar}: not a readable tar.gz archive ({type(e).__name__})") from None
    missing = sorted(w for w in want if f"{tar}:{w}" not in blobs)
    if missing:
        raise ValueError(f"{tar}: the archive lacks {', '.join(missing)}")
    return {base: read_python_batches(name, [Path(f"{tar}:{sub}/{f}") for f in files],
                                      {str(Path(f"{tar}:{sub}/{f}")): blobs[f"{tar}:{sub}/{f}"] for f in files})
            for base, files in (("train", train), ("test", test))}
