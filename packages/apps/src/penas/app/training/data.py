"""Datasets for retraining, in plain torch + numpy (no torchvision: it has no build for the
project's CPU torch).

* CIFAR-10 / CIFAR-100 through the data layer :mod:`penas.spaces.datasets`: the npy layout
  (``$PENAS_DATA/cifar10``), the standard *python* batches (``DIR/cifar-10-batches-py`` or
  ``DIR/cifar-100-python``, read by a restricted unpickler that refuses anything but arrays and
  containers) or an ImageFolder tree ``DIR/{train,test}/<class>/*``;
* ImageNet from an ImageFolder tree ``DIR/train/<class>/*.JPEG`` and ``DIR/val/<class>/*.JPEG``
  (decoded with Pillow on demand).

Normalisation constants and augmentations live in :mod:`penas.spaces.datasets.transforms`
(re-exported here). :class:`Loader` yields augmented ``(x, y)`` batches; each epoch's order and
augmentation come from a generator seeded by ``(seed, epoch)``, so a resumed run sees exactly the
same batches. With ``world_size > 1`` each rank takes every ``world_size``-th sample of the
shuffled order (DistributedSampler-style, padded to equal length).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from penas.spaces.datasets.cifar import IMG_EXT
from penas.spaces.datasets.transforms import (  # noqa: F401  (the augmentations' one home)
    DARTS_CIFAR10,
    IMAGENET,
    center_crop,
    color_jitter,
    cutout,
    normalize,
    random_crop_flip,
    random_resized_crop,
    resize_short,
)

from .._registry import RETRAIN_LOADERS

CIFAR_MEAN, CIFAR_STD = DARTS_CIFAR10  # the PC-DARTS recipes' statistics
IMAGENET_MEAN, IMAGENET_STD = IMAGENET


@dataclass
class TensorSet:
    """Images (uint8 NCHW) and labels held in memory."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def get(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[idx].float().div_(255.0), self.y[idx]


@dataclass
class FolderSet:
    """Image paths and labels; decoded with Pillow on demand to ``size`` (short side) for the batch."""

    paths: list[Path]
    y: torch.Tensor
    decode: Callable[[Path, torch.Generator | None], torch.Tensor]

    def __len__(self) -> int:
        return len(self.y)

    def get_with(self, idx: torch.Tensor, gen: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.stack([self.decode(self.paths[int(i)], gen) for i in idx]), self.y[idx]


def load_cifar(root: str | Path, dataset: str) -> tuple[TensorSet, TensorSet]:
    """Train and test sets of ``dataset`` (cifar10 | cifar100) under ``root``, in any layout of the data layer."""
    from penas.spaces.datasets import DataSpec, open_dataset

    if dataset not in ("cifar10", "cifar100"):
        raise ValueError(f"--dataset: expected one of ['cifar10', 'cifar100'], got {dataset!r}")
    ds = open_dataset(DataSpec(dataset, str(root)))
    out = []
    for base in ("train", "test"):
        x, y = ds.arrays(base)
        out.append(TensorSet(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), torch.from_numpy(y)))
    return out[0], out[1]


def scan_image_folder(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """ImageFolder layout: one subdirectory per class holding image files."""
    expected = "DIR/{train,val}/<class>/<image>.{jpg,jpeg,png} (ImageFolder layout)"
    if not root.is_dir():
        raise FileNotFoundError(f"--data: {root} does not exist; expected {expected}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    paths: list[Path] = []
    labels: list[int] = []
    for ci, c in enumerate(classes):
        for f in sorted((root / c).iterdir()):
            if f.suffix.lower() in IMG_EXT:
                paths.append(f)
                labels.append(ci)
    if not classes or not paths:
        raise ValueError(f"--data: {root} has no class folders with images; expected {expected}")
    return paths, labels, classes


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in the dev environment
        raise ImportError("ImageNet loading needs Pillow: pip install pillow") from None
    return Image


def _decode_train(crop: int, jitter: float) -> Callable[[Path, torch.Generator | None], torch.Tensor]:
    def dec(path: Path, gen: torch.Generator | None) -> torch.Tensor:
        img = _to_tensor(_pil().open(path).convert("RGB"))
        img = random_resized_crop(img, crop, gen)
        if jitter:
            img = color_jitter(img, jitter, gen)
        return img

    return dec


def _decode_eval(resize: int, crop: int) -> Callable[[Path, torch.Generator | None], torch.Tensor]:
    def dec(path: Path, gen: torch.Generator | None) -> torch.Tensor:
        img = _to_tensor(_pil().open(path).convert("RGB"))
        return center_crop(resize_short(img, resize or crop), crop)

    return dec


def _to_tensor(img) -> torch.Tensor:
    a = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy(a.copy()).permute(2, 0, 1).float().div_(255.0)


def load_image_folder(root: str | Path, crop: int, eval_resize: int, jitter: float) -> tuple[FolderSet, FolderSet]:
    r = Path(root)
    _pil()
    tr_paths, tr_y, classes = scan_image_folder(r / "train")
    va_paths, va_y, va_classes = scan_image_folder(r / "val")
    if va_classes != classes:
        raise ValueError(f"--data: {r}/val has classes that differ from {r}/train ({len(va_classes)} vs {len(classes)})")
    return (FolderSet(tr_paths, torch.tensor(tr_y), _decode_train(crop, jitter)),
            FolderSet(va_paths, torch.tensor(va_y), _decode_eval(eval_resize, crop)))


# --- loader ------------------------------------------------------------------------------
@dataclass
class Loader:
    """Batches of one split: shuffled + augmented when ``train``, sharded over ``world_size`` ranks."""

    data: TensorSet | FolderSet
    batch_size: int
    train: bool
    mean: tuple[float, ...]
    std: tuple[float, ...]
    seed: int = 0
    pad: int = 4  # CIFAR random crop padding (TensorSet only)
    cutout: int = 0
    rank: int = 0
    world_size: int = 1

    def _indices(self, epoch: int, gen: torch.Generator) -> torch.Tensor:
        n = len(self.data)
        idx = torch.randperm(n, generator=gen) if self.train else torch.arange(n)
        if self.world_size > 1:
            per = math.ceil(n / self.world_size)
            idx = torch.cat([idx, idx[: per * self.world_size - n]]) if self.train else idx
            idx = idx[self.rank::self.world_size]
        return idx

    def __len__(self) -> int:
        n = len(self.data)
        if self.world_size > 1:
            n = math.ceil(n / self.world_size) if self.train else len(range(self.rank, n, self.world_size))
        return math.ceil(n / self.batch_size)

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        idx = self._indices(epoch, gen)
        aug_gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch + 7919 * (self.rank + 1))
        for b in range(0, len(idx), self.batch_size):
            bi = idx[b:b + self.batch_size]
            if isinstance(self.data, TensorSet):
                x, y = self.data.get(bi)
                if self.train:
                    x = random_crop_flip(x, self.pad, aug_gen)
            else:
                x, y = self.data.get_with(bi, aug_gen if self.train else None)
            x = normalize(x, self.mean, self.std)
            if self.train and self.cutout:
                x = cutout(x, self.cutout, aug_gen)
            yield x, y


def _cifar_loaders(dataset: str, root: Path, recipe, rank: int, world: int) -> tuple[Loader, Loader]:
    tr, te = load_cifar(root, dataset)
    common = {"mean": CIFAR_MEAN, "std": CIFAR_STD, "seed": recipe.seed, "rank": rank, "world_size": world}
    return (Loader(tr, recipe.batch_size, True, cutout=recipe.cutout, **common),
            Loader(te, recipe.batch_size, False, **common))


def _imagenet_loaders(dataset: str, root: Path, recipe, rank: int, world: int) -> tuple[Loader, Loader]:
    tr, te = load_image_folder(root, recipe.crop, recipe.eval_resize, recipe.color_jitter)
    common = {"mean": IMAGENET_MEAN, "std": IMAGENET_STD, "seed": recipe.seed, "rank": rank, "world_size": world}
    return (Loader(tr, recipe.batch_size, True, cutout=recipe.cutout, **common),
            Loader(te, recipe.batch_size, False, **common))


LOADERS = RETRAIN_LOADERS  # dataset -> (dataset, root, recipe, rank, world) -> (train, test) loaders
LOADERS.register("cifar10")(_cifar_loaders)
LOADERS.register("cifar100")(_cifar_loaders)
LOADERS.register("imagenet")(_imagenet_loaders)


def make_loaders(dataset: str, root: str | Path, recipe, rank: int = 0, world_size: int = 1) -> tuple[Loader, Loader]:
    """Train/test loaders of ``dataset`` under ``root`` with the recipe's batch size and augmentation
    (the per-rank batch is ``batch_size // world_size``, as the global batch stays the recipe's)."""
    if dataset not in LOADERS:
        raise ValueError(f"--dataset: expected one of {sorted(LOADERS)}, got {dataset!r}")
    tr, te = LOADERS[dataset](dataset, Path(root), recipe, rank, world_size)
    per = max(1, recipe.batch_size // world_size)
    tr.batch_size = te.batch_size = per
    return tr, te
