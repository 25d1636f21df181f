"""Checking a ground-truth store directory before it is memory-mapped.

:func:`verify_store` reads ``manifest.json`` and the header of every ``.npy`` it lists (never the
data, never with pickle) and raises :class:`StoreCorruptError` naming the first problem: a bad or
empty manifest, a missing or truncated file, an object dtype, or a shape that is not the
manifest's. It costs one small read per file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"
FORMAT = "penas-gt"
VERSION = 1


class StoreCorruptError(ValueError):
    """A store directory that cannot be read as written (one-line message naming the store)."""


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed manifest of the store at ``path`` (``FileNotFoundError`` when there is none)."""
    path = Path(path)
    try:
        text = (path / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"benchmark store {str(path)!r} has no {MANIFEST}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise StoreCorruptError(f"benchmark store {str(path)!r} is corrupt: {MANIFEST} is unreadable ({e})") from None
    try:
        manifest = json.loads(text)
    except ValueError:
        what = "empty" if not text.strip() else "not valid JSON"
        raise StoreCorruptError(f"benchmark store {str(path)!r} is corrupt: {MANIFEST} is {what}") from None
    if not isinstance(manifest, dict):
        raise StoreCorruptError(f"benchmark store {str(path)!r} is corrupt: {MANIFEST} is not a JSON object")
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise StoreCorruptError(
            f"benchmark store {str(path)!r}: expected format {FORMAT} v{VERSION}, "
            f"got {manifest.get('format')} v{manifest.get('version')}"
        )
    cols = manifest.get("columns")
    if not isinstance(manifest.get("space"), str) or not isinstance(manifest.get("n_rows"), int) or \
            not isinstance(cols, list) or not all(isinstance(c, dict) and {"dataset", "metric", "file", "dtype",
                                                                             "shape"} <= set(c) for c in cols):
        raise StoreCorruptError(f"benchmark store {str(path)!r} is corrupt: {MANIFEST} lacks space/n_rows/columns")
    return manifest


def _npy_header(file: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """``(dtype, shape, bytes expected)`` from a ``.npy`` header (no data read)."""
    with open(file, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        offset = fh.tell()
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    return dtype, tuple(shape), offset + n * dtype.itemsize


def _check_npy(store: Path, name: str, shape: tuple[int, ...] | None, kind: str) -> None:
    file = store / name
    where = f"benchmark store {str(store)!r} is corrupt: {name}"
    if not file.is_file():
        raise StoreCorruptError(f"{where} is missing")
    try:
        dtype, got, need = _npy_header(file)
    except (OSError, ValueError, SyntaxError) as e:
        raise StoreCorruptError(f"{where} has no valid .npy header ({str(e).splitlines()[0] if str(e) else e})"
                                ) from None
    if dtype.hasobject:
        raise StoreCorruptError(f"{where} has dtype {dtype} (object arrays are never loaded)")
    if dtype.kind not in kind:
        raise StoreCorruptError(f"{where} has dtype {dtype}, expected kind {kind!r}")
    if shape is not None and got != shape:
        raise StoreCorruptError(f"{where} has shape {got}, the manifest says {shape}")
    size = file.stat().st_size
    if size < need:
        raise StoreCorruptError(f"{where} is truncated ({size} of {need} bytes)")


def verify_store(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check the store at ``path``; returns its manifest or raises :class:`StoreCorruptError`."""
    path = Path(path)
    manifest = read_manifest(path)
    n = manifest["n_rows"]
    _check_npy(path, "ids.npy", (n,), "U")
    for c in manifest["columns"]:
        if not isinstance(c["file"], str) or "/" in c["file"] or c["file"].startswith("."):
            raise StoreCorruptError(f"benchmark store {str(path)!r} is corrupt: bad column file {c['file']!r}")
        _check_npy(path, c["file"], tuple(c["shape"]), "fiub")
    return manifest
