"""CIFAR-10 and CIFAR-100 (and CIFAR-shaped ImageFolder trees) from three layouts, one code path.

Layouts of a directory ``DIR`` (:func:`penas.spaces.datasets.layouts.find_layout` detects which):

* ``npy`` -- ``DIR/{train,test}_{images,labels}.npy``: uint8 ``[N,H,W,3]`` RGB images and integer
  labels, read with ``np.load(mmap_mode="r", allow_pickle=False)`` (memory-mapped, never unpickled).
  This is the layout of ``$PENAS_DATA/cifar10/`` and the one ``penas-app data import`` writes
  (with ``manifest.json``: sha256 per file, counts, source).
* ``pickle`` -- the official python batches: ``DIR[/cifar-10-batches-py]/{data_batch_1..5,test_batch}``
  or ``DIR[/cifar-100-python]/{train,test}``, read through the restricted unpickler of
  :mod:`penas.spaces.datasets.safe_pickle` (a file that names any other global is refused).
* ``imagefolder`` -- ``DIR/train/<class>/*`` and ``DIR/test/<class>/*`` (``val`` is accepted for
  ``test``), decoded with Pillow; classes are the sorted folder names (for CIFAR-10 and
  CIFAR-100 that is the official label order). When every file name in a split is a distinct
  integer (``00042.png``) the images are in that global order, else class by class in sorted order.

:func:`open_dataset` returns an :class:`ImageDataset` that tells its source (path, layout,
checksums), its counts per split, and serves a split's uint8 HWC images and int64 labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import file_sha256 as sha256_file
from .layouts import NPY_FILES, PICKLE_LAYOUT, expected_layouts, find_layout
from .safe_pickle import UnsafePickleError, safe_load
from .spec import DataSpec, Split, parse_data_spec, parse_split
from .splits import select_indices

NUM_CLASSES = {"cifar10": 10, "cifar100": 100}
IMG_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
MANIFEST = "manifest.json"


@dataclass
class ImageDataset:
    """One image-classification dataset on disk (see the module docstring)."""

    name: str
    root: Path
    layout: str
    num_classes: int
    classes: tuple[str, ...] = ()
    _cache: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    synthetic = False

    # --- arrays ---------------------------------------------------------------------------------
    def arrays(self, base: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """``(images uint8 [N,H,W,3], labels int64 [N])`` of the stored split ``train`` or ``test``
        (memory-mapped images for the ``npy`` layout)."""
        if base not in ("train", "test"):
            raise ValueError(f"split: expected 'train' or 'test', got {base!r}")
        if base not in self._cache:
            x, y = {"npy": self._read_npy, "pickle": self._read_pickle, "imagefolder": self._read_folder}[
                self.layout](base)
            self._cache[base] = self._checked(x, y, base)
        return self._cache[base]

    def counts(self) -> dict[str, int]:
        """Images per stored split."""
        if self.layout == "npy":  # from the headers: nothing is read
            return {b: int(np.load(self.root / f"{b}_labels.npy", mmap_mode="r", allow_pickle=False).shape[0])
                    for b in ("train", "test")}
        return {b: int(self.arrays(b)[1].shape[0]) for b in ("train", "test")}

    def select(self, split: Split | str = "train") -> tuple[np.ndarray, np.ndarray, str]:
        """``(images, labels, description)`` of ``split`` (see :mod:`penas.spaces.datasets.splits`)."""
        s = split if isinstance(split, Split) else parse_split(split)
        n = self.counts()
        base, idx = select_indices(s, n["train"], n["test"], what=f"{self.name} ({self.root})")
        x, y = self.arrays(base)
        if idx is not None:
            x, y = x[idx], y[idx]
        return x, y, f"{self.name}@{s} ({len(y)} images, {self.layout}:{self.root})"

    def describe(self, split: Split | str = "train") -> str:
        return f"{self.name}@{split} [{self.layout}:{self.root}]"

    # --- provenance ---------------------------------------------------------------------------
    def checksums(self) -> dict[str, str]:
        """sha256 per file: from ``manifest.json`` when it covers the files, else computed (npy and
        pickle layouts); an ImageFolder tree gets none (too many files to hash on the fly)."""
        stored = self.manifest().get("sha256", {})
        files = self.files()
        if files and all(f.name in stored for f in files):
            return {f.name: stored[f.name] for f in files}
        return {f.name: sha256_file(f) for f in files} if self.layout != "imagefolder" else {}

    def files(self) -> list[Path]:
        if self.layout == "npy":
            return [self.root / f for f in NPY_FILES]
        if self.layout == "pickle":
            _, train, test, _ = PICKLE_LAYOUT[self.name]
            return [self.root / f for f in train + test]
        return []

    def manifest(self) -> dict[str, Any]:
        p = self.root / MANIFEST
        try:
            return json.loads(p.read_text()) if p.is_file() else {}
        except ValueError:
            return {}

    def provenance(self, checksums: bool = False) -> dict[str, Any]:
        """Where the data comes from: name, path, layout, counts (and sha256 per file when asked)."""
        out: dict[str, Any] = {"dataset": self.name, "path": str(self.root), "layout": self.layout,
                               "counts": self.counts(), "synthetic": False}
        src = self.manifest().get("source")
        if src:
            out["imported_from"] = src
        if checksums:
            out["sha256"] = self.checksums()
        return out

    # --- readers ------------------------------------------------------------------------------
    def _read_npy(self, base: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            x = np.load(self.root / f"{base}_images.npy", mmap_mode="r", allow_pickle=False)
            y = np.load(self.root / f"{base}_labels.npy", allow_pickle=False)
        except ValueError as e:  # object arrays need pickle: refused
            raise ValueError(f"--data: {self.root}/{base}_*.npy: not a plain numpy array ({e})") from None
        return x, y

    def _read_pickle(self, base: str) -> tuple[np.ndarray, np.ndarray]:
        _, train, test, _ = PICKLE_LAYOUT[self.name]
        return read_python_batches(self.name, [self.root / n for n in (train if base == "train" else test)])

    def _read_folder(self, base: str) -> tuple[np.ndarray, np.ndarray]:
        d = self.root / base if base == "train" or (self.root / "test").is_dir() else self.root / "val"
        paths, labels = scan_folder(d, self.classes)
        Image = _pil()
        imgs = []
        for p in paths:
            with Image.open(p) as im:
                imgs.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
        shapes = {a.shape for a in imgs}
        if len(shapes) != 1:
            raise ValueError(f"--data: {d} holds images of different sizes {sorted(shapes)[:3]}; expected one size")
        return np.stack(imgs), np.asarray(labels, dtype=np.int64)

    def _checked(self, x: np.ndarray, y: np.ndarray, base: str) -> tuple[np.ndarray, np.ndarray]:
        where = f"--data: {self.root} ({self.layout}, {base})"
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"{where}: expected uint8 images [N,H,W,3], got {x.dtype} {tuple(x.shape)}")
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{where}: expected {x.shape[0]} integer labels, got {y.dtype} {tuple(y.shape)}")
        if y.size and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ValueError(f"{where}: labels must lie in [0, {self.num_classes}), got {int(y.min())}..{int(y.max())}")
        return x, y.astype(np.int64, copy=False)


def read_python_batches(name: str, files: list[Path], blobs: dict[str, bytes] | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8 HWC) and int64 labels of CIFAR python batches, each read through the
    restricted unpickler: from ``files``, or from ``blobs[str(file)]`` (e.g. tarball members)."""
    key = PICKLE_LAYOUT[name][3]
    xs, ys = [], []
    for f in files:
        try:
            d = safe_load(f, data=None if blobs is None else blobs[str(f)], name=str(f))
        except UnsafePickleError as e:
            raise UnsafePickleError(f"--data: {e}") from None
        except ValueError as e:
            raise ValueError(f"--data: {e}") from None
        try:
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            y = np.asarray(d[key], dtype=np.int64)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"--data: {f} is not a {name} python batch (a dict with b'data' Nx3072 "
                             f"uint8 and {key!r}): {type(e).__name__}") from None
        if len(x) != len(y):
            raise ValueError(f"--data: {f}: {len(x)} images but {len(y)} labels")
        xs.append(x)
        ys.append(y)
    return np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys)


def scan_folder(d: Path, classes: tuple[str, ...]) -> tuple[list[Path], list[int]]:
    """Image files and labels of one ImageFolder split (order: see the module docstring)."""
    found = sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []
    if list(classes) != found:
        raise ValueError(f"--data: {d} has class folders {found[:5]}...; expected the {len(classes)} of train/")
    items = [(f, ci) for ci, c in enumerate(classes) for f in sorted((d / c).iterdir())
             if f.suffix.lower() in IMG_EXT]
    if not items:
        raise ValueError(f"--data: {d} has no images in its class folders")
    stems = [f.stem for f, _ in items]
    if all(s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(stems):
        items.sort(key=lambda t: int(t[0].stem))
    return [f for f, _ in items], [c for _, c in items]


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency of penas-spaces
        raise ImportError("decoding images needs Pillow: pip install pillow") from None
    return Image


def open_dataset(spec: DataSpec | str, root: str | Path | None = None, option: str = "--data") -> ImageDataset:
    """The :class:`ImageDataset` of a ``cifar10[:DIR]``, ``cifar100[:DIR]`` or ``imagefolder:DIR`` spec
    (``root``: the data root for the default directories). One-line error naming ``option``."""
    s = parse_data_spec(spec, option) if isinstance(spec, str) else spec
    if not s.is_classification_dataset:
        raise ValueError(f"{option}: {s.kind!r} is not an image-classification dataset")
    d = s.directory(root)
    name = s.kind if s.kind in NUM_CLASSES else "imagefolder"
    found = find_layout(d, name)
    if found is None:
        what = "does not exist" if not d.exists() else "holds no known layout"
        raise FileNotFoundError(f"{option}: {d} {what}; expected {expected_layouts(name)}")
    layout, where = found
    if name == "imagefolder" and layout != "imagefolder":
        raise ValueError(f"--data: {d} is a {layout} CIFAR directory; use cifar10:{d} or cifar100:{d}")
    classes: tuple[str, ...] = ()
    if layout == "imagefolder":
        classes = tuple(sorted(p.name for p in (where / "train").iterdir() if p.is_dir()))
        if not classes:
            raise ValueError(f"--data: {where}/train has no class folders")
        if name in NUM_CLASSES and len(classes) != NUM_CLASSES[name]:
            raise ValueError(f"--data: {where}/train has {len(classes)} class folders; {name} has {NUM_CLASSES[name]}")
    n_cls = NUM_CLASSES.get(name, len(classes))
    return ImageDataset(name, where, layout, n_cls, classes)
