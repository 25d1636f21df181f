"""Input batches for zero-cost scoring and small training sets, each with a content fingerprint.

Every source goes through the data layer :mod:`penas.spaces.datasets` (one ``--data`` parser,
one CIFAR reader for the npy / python-pickle / ImageFolder layouts, a restricted unpickler, the
NB201 normalisation). Sources, all returning a :class:`Batch` (normalised float32 images
``[N,C,H,W]`` and int64 labels ``[N]``):

* :func:`dataset_batches` / :func:`cifar10_batches` -- CIFAR-10/100 (any layout): consecutive
  batches in stored order from ``start`` or of one seeded permutation, optionally with the
  CIFAR train-time augmentation (random crop + flip);
* :func:`png_batch` -- the 20 real CIFAR-10 test images shipped with the shared benchmark data
  (``images/foolbox_cifar10/cifar10_<NN>_<label>.png``, decoded with Pillow); :func:`augment_tile`
  extends them to a larger batch of distinct images (seeded crop + flip), :func:`tile` repeats them;
* :func:`synthetic_batch` -- seeded Gaussian images and uniform labels (``source`` starts with
  ``synthetic``: every output that uses it says SYNTHETIC).

:func:`default_batch` and the ``auto`` spec use real CIFAR-10 under ``$PENAS_DATA/cifar10`` when
it exists, then the 20 PNGs, and synthetic data only when no real images exist.
``Batch.fingerprint`` is the sha256 of the image and label tensor bytes, recorded in every
score's provenance. Nothing is read at import time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from penas.spaces.datasets import DataSpec, ImageDataset, open_dataset, parse_data_spec, resolve_auto
from penas.spaces.datasets.transforms import (
    NB201_CIFAR10,
    NORMALISATION,
    normalize,
    random_crop_flip,
    to_tensor01,
)

# NB201 / zero-cost-nas CIFAR-10 normalisation (kept as names for callers).
CIFAR10_MEAN, CIFAR10_STD = NB201_CIFAR10


def fingerprint(*tensors: torch.Tensor) -> str:
    """sha256 (hex) of the raw bytes of ``tensors`` (contiguous CPU copies)."""
    h = hashlib.sha256()
    for t in tensors:
        a = t.detach().cpu().contiguous().numpy()
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Batch:
    """One batch of inputs and labels plus where it came from."""

    inputs: torch.Tensor
    targets: torch.Tensor
    source: str

    @property
    def size(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.inputs, self.targets)

    @property
    def synthetic(self) -> bool:
        return self.source.startswith("synthetic")

    def resized(self, hw: tuple[int, int]) -> Batch:
        """Bilinear resize to ``hw`` (for spaces whose input is not 32x32)."""
        if tuple(self.inputs.shape[-2:]) == tuple(hw):
            return self
        x = F.interpolate(self.inputs, size=hw, mode="bilinear", align_corners=False)
        return Batch(x, self.targets, f"{self.source}|resize{hw[0]}x{hw[1]}")

    def classes_mod(self, num_classes: int) -> Batch:
        """Labels folded into ``num_classes`` (for toy spaces with fewer classes than the data)."""
        if self.size == 0 or int(self.targets.max()) < num_classes:
            return self
        return Batch(self.inputs, self.targets % num_classes, f"{self.source}|mod{num_classes}")


def normalise(images_uint8: np.ndarray, dataset: str = "cifar10") -> torch.Tensor:
    """``[N,H,W,3]`` uint8 -> ``[N,3,H,W]`` float32 with the NB201 mean/std of ``dataset``."""
    return normalize(to_tensor01(images_uint8), *NORMALISATION.get(dataset, NB201_CIFAR10))


# --- PNG (Pillow) -------------------------------------------------------------------------------
def decode_png(path: str | Path) -> np.ndarray:
    """Decode a PNG into ``[H,W,C]`` uint8 with Pillow: C = 1 (grey), 3 (RGB) or 4 (with alpha)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                raise ValueError(f"path: {path} is not a PNG file")
            alpha = "A" in im.mode or (im.mode == "P" and "transparency" in im.info)
            mode = "RGBA" if alpha else ("L" if im.mode in ("1", "L", "I", "I;16") else "RGB")
            a = np.asarray(im.convert(mode), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"path: {path} is not a PNG file") from None
    return a[..., None] if a.ndim == 2 else a


def _rgb(a: np.ndarray) -> np.ndarray:
    return np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a[..., :3]


_PNG_NAME = re.compile(r"cifar10_(\d+)_(\d+)\.png$")


def png_dir(bench_root: str | Path | None = None) -> Path:
    """``<data root>/images/foolbox_cifar10`` (data root from ``penas.spaces.paths``)."""
    return DataSpec("png").directory(bench_root)


def png_batch(directory: str | Path | None = None) -> Batch:
    """The 20 real CIFAR-10 test images (labels from the file names), normalised."""
    d = Path(directory) if directory is not None else png_dir()
    files = sorted(p for p in d.glob("cifar10_*.png") if _PNG_NAME.search(p.name)) if d.is_dir() else []
    if not files:
        raise FileNotFoundError(f"directory: no cifar10_<NN>_<label>.png images in {d}")
    imgs = np.stack([_rgb(decode_png(p)) for p in files])
    labels = torch.tensor([int(_PNG_NAME.search(p.name).group(2)) for p in files], dtype=torch.int64)
    return Batch(normalise(imgs), labels, f"png:{d.name}:{len(files)}")


def tile(batch: Batch, n: int) -> Batch:
    """The first ``n`` samples of ``batch`` repeated cyclically (e.g. 20 images -> 64).

    Repeated samples make sample-kernel proxies degenerate (nwot's K is singular); use
    :func:`augment_tile` for a batch of distinct images.
    """
    if n < 1:
        raise ValueError(f"n: expected a positive batch size, got {n}")
    idx = torch.arange(n) % batch.size
    return Batch(batch.inputs[idx], batch.targets[idx], f"{batch.source}|tile{n}")


def augment_tile(batch: Batch, n: int, seed: int = 0, pad: int = 4) -> Batch:
    """``n`` samples: the originals once, then seeded CIFAR train-time augmentations of them
    (random crop with ``pad`` black-pixel padding + random horizontal flip), so that all
    samples differ. This is how a training loader would present the images."""
    if n < 1:
        raise ValueError(f"n: expected a positive batch size, got {n}")
    g = torch.Generator().manual_seed(seed)
    x, y = batch.inputs, batch.targets
    c, h, w = x.shape[1:]
    black = (-torch.tensor(CIFAR10_MEAN) / torch.tensor(CIFAR10_STD)).view(1, 3, 1, 1) if c == 3 else 0.0
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad)) * 0 + black
    padded[:, :, pad : pad + h, pad : pad + w] = x
    out, labels = [], []
    used = {(j, pad, pad, False) for j in range(batch.size)}  # the originals
    for i in range(n):
        j = i % batch.size
        if i < batch.size:
            out.append(x[j])
        else:
            key = (j, pad, pad, False)
            while key in used:  # every (image, crop, flip) at most once: no repeated samples
                dy, dx = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=g))
                key = (j, dy, dx, bool(torch.randint(0, 2, (1,), generator=g)))
            used.add(key)
            img = padded[j, :, key[1] : key[1] + h, key[2] : key[2] + w]
            out.append(img.flip(-1) if key[3] else img)
        labels.append(y[j])
    return Batch(torch.stack(out), torch.stack(labels), f"{batch.source}|augtile{n}:{seed}")


# --- CIFAR-10 / CIFAR-100 through the data layer ---------------------------------------------------
def open_images(data: str | DataSpec | ImageDataset, root: str | Path | None = None,
                option: str = "--data") -> ImageDataset:
    """An :class:`~penas.spaces.datasets.ImageDataset` for ``cifar10[:DIR]``, ``cifar100[:DIR]``,
    ``imagefolder:DIR`` (or a dataset already opened)."""
    return data if isinstance(data, ImageDataset) else open_dataset(data, root, option)


def dataset_batches(
    ds: ImageDataset, batch_size: int, *, split: str = "train", seed: int | None = None, start: int = 0,
    augment: bool = False,
) -> Iterator[Batch]:
    """Batches of ``batch_size`` of ``split``: in stored order from ``start`` (``seed=None``) or of one
    seeded permutation (``numpy.random.default_rng(seed).permutation``); with ``augment`` each batch
    gets the CIFAR train-time crop + flip (a ``torch.Generator`` seeded by ``seed`` and the batch start)."""
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size}")
    x, y, _ = ds.select(split)
    order = np.arange(len(y)) if seed is None else np.random.default_rng(seed).permutation(len(y))
    order = order[start:]
    stats = NORMALISATION.get(ds.name, NB201_CIFAR10)
    tag = "|aug" if augment else ""
    for i in range(0, len(order) - batch_size + 1, batch_size):
        idx = order[i : i + batch_size]
        rows = np.sort(idx) if seed is None else idx
        imgs = to_tensor01(x[rows])
        if augment:
            g = torch.Generator().manual_seed((0 if seed is None else seed) * 1_000_003 + start + i)
            imgs = random_crop_flip(imgs, 4, g)
        yield Batch(normalize(imgs, *stats), torch.from_numpy(np.asarray(y[rows], dtype=np.int64)),
                    f"{ds.name}-{split}:{seed}:{start + i}{tag}")  # no path: store keys stay machine-independent


def cifar10_arrays(root: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """All images (uint8 HWC) and int64 labels of ``split`` of the CIFAR-10 under ``root`` (any layout)."""
    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    x, y, _ = open_images(DataSpec("cifar10", str(root)), option="root").select(split)
    return x, y


def cifar10_batches(
    root: str | Path, batch_size: int, *, split: str = "train", seed: int | None = None, start: int = 0,
    augment: bool = False,
) -> Iterator[Batch]:
    """:func:`dataset_batches` of the CIFAR-10 under ``root`` (zero-cost-nas draws one random train minibatch)."""
    ds = open_images(DataSpec("cifar10", str(root)), option="root")
    yield from dataset_batches(ds, batch_size, split=split, seed=seed, start=start, augment=augment)


def synthetic_batch(
    shape: tuple[int, int, int], n: int, num_classes: int = 10, seed: int = 0
) -> Batch:
    """Seeded N(0,1) images ``[n, *shape]`` and uniform labels (no data needed)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *shape), generator=g)
    y = torch.randint(0, num_classes, (n,), generator=g)
    return Batch(x, y, f"synthetic:{seed}:{n}x{'x'.join(map(str, shape))}")


def default_batch(n: int, shape: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10, seed: int = 0) -> Batch:
    """The default batch (the ``auto`` spec): ``n`` seeded random real CIFAR-10 training images when
    ``$PENAS_DATA/cifar10`` exists, else the shared PNGs augmented to ``n`` distinct ones, else a
    synthetic batch; resized to ``shape``. ``Batch.source`` says which one was used."""
    spec = resolve_auto("auto")
    if spec.kind == "cifar10":
        ds = open_images(spec)
        if ds.counts()["train"] >= n:
            return next(dataset_batches(ds, n, seed=seed)).resized(shape[1:]).classes_mod(num_classes)
    if spec.kind in ("cifar10", "png-aug"):
        try:
            return augment_tile(png_batch(), n).resized(shape[1:]).classes_mod(num_classes)
        except FileNotFoundError:
            pass
    return synthetic_batch(shape, n, num_classes, seed)


def image_set(data: str | DataSpec, shape: tuple[int, int, int], num_classes: int, *, default_n: int = 512,
              split: str = "train", option: str = "--data") -> tuple[torch.Tensor, torch.Tensor, str, bool]:
    """A whole labelled set for training: ``(x, y, source, synthetic)`` from a ``--data`` spec
    (``auto``, ``synthetic[:N]``, ``png-aug[:N]``, ``cifar10[:DIR]``, ``cifar100[:DIR]``,
    ``imagefolder:DIR``; ``@SPLIT`` selects the images, default ``split``). One-line errors name ``option``."""
    spec = resolve_auto(parse_data_spec(data, option) if isinstance(data, str) else data)
    if spec.kind in ("synthetic", "png-aug"):
        n = spec.n or default_n
        if n < 2:
            raise ValueError(f"{option}: expected {spec.kind}[:N] with N >= 2, got {str(spec)!r}")
        b = synthetic_batch(shape, n, num_classes, seed=0) if spec.synthetic else \
            augment_tile(png_batch(), n, seed=0).resized(shape[1:])
        return b.inputs, b.targets % num_classes, b.source.split("|")[0] + f" ({n} images)", spec.synthetic
    if spec.is_classification_dataset:
        spec = spec.with_split(split)
        ds = open_images(spec)
        x, y, desc = ds.select(spec.split)  # type: ignore[arg-type]
        b = Batch(normalise(x, ds.name), torch.from_numpy(np.asarray(y, dtype=np.int64)), desc)
        b = b.resized(shape[1:]).classes_mod(num_classes)
        return b.inputs, b.targets, b.source, False
    raise ValueError(f"{option}: expected auto, synthetic[:N], png-aug[:N], cifar10[:DIR], cifar100[:DIR] or "
                     f"imagefolder:DIR, got {str(spec)!r}")


def train_holdout_batches(
    data: str | DataSpec, shape: tuple[int, int, int], num_classes: int, n_train: int, n_eval: int,
    batch_size: int, seed: int = 0, holdout: float = 0.1, option: str = "data",
) -> tuple[list[Batch], list[Batch]]:
    """``(train batches, held-out batches)`` for a short training run on a ``--data`` spec.

    ``synthetic`` -- seeded Gaussian batches (seeds 1000+i / 2000+i); ``png[:DIR]`` -- the 20 shared
    PNGs tiled, train = eval (a smoke test, not a measurement); a dataset (``cifar10[:DIR]``, ...,
    ``auto`` when real CIFAR-10 exists) -- one seeded permutation of its split (``@SPLIT``, default
    train): batches from its first ``1 - holdout`` for training and from its last ``holdout`` for
    scoring (disjoint). A split too small for the batches asked for is a one-line ``ValueError``.
    """
    spec = resolve_auto(parse_data_spec(data, option) if isinstance(data, str) else data)
    if spec.kind == "synthetic":
        return ([synthetic_batch(shape, batch_size, num_classes, seed=1000 + i) for i in range(n_train)],
                [synthetic_batch(shape, batch_size, num_classes, seed=2000 + i) for i in range(n_eval)])
    if spec.kind in ("png", "png-aug"):
        d = spec.directory() if spec.kind == "png" else None
        b = tile(png_batch(d), batch_size).resized(shape[1:]).classes_mod(num_classes)
        return [b] * n_train, [b]
    if not spec.is_classification_dataset:
        raise ValueError(f"{option}: expected synthetic, png[:DIR], auto or an image dataset, got {str(spec)!r}")
    ds = open_images(spec)
    split = str(spec.split) if spec.split is not None else "train"
    n = len(ds.select(split)[1])
    start = n - int(round(holdout * n))
    if n_train * batch_size > start or n_eval * batch_size > n - start:
        raise ValueError(f"{option}: {n_train} training and {n_eval} held-out batches of {batch_size} need "
                         f"{n_train * batch_size} + {n_eval * batch_size} images, but {ds.describe(split)} has "
                         f"{start} + {n - start} ({1 - holdout:.0%} / {holdout:.0%} of {n})")

    def fit(b: Batch) -> Batch:
        return b.resized(shape[1:]).classes_mod(num_classes)

    tr = dataset_batches(ds, batch_size, split=split, seed=seed)
    ev = dataset_batches(ds, batch_size, split=split, seed=seed, start=start)
    return ([fit(b) for _, b in zip(range(n_train), tr, strict=False)],
            [fit(b) for _, b in zip(range(n_eval), ev, strict=False)])
