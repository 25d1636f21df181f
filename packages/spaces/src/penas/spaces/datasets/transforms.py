"""Normalisation constants and augmentations: the one place every loader takes them from.

Constants (per-channel RGB mean/std on the ``[0, 1]`` scale):

* :data:`NB201_CIFAR10` / :data:`NB201_CIFAR100` -- NAS-Bench-201's (and zero-cost-nas's, which
  copies NB201's loader): ``[125.3, 123.0, 113.9] / 255``, ``[63.0, 62.1, 66.7] / 255``
  (CIFAR-100 ``[129.3, 124.1, 112.4]``, ``[68.2, 65.4, 70.4]``);
* :data:`DARTS_CIFAR10` -- DARTS / PC-DARTS ``utils._data_transforms_cifar10``;
* :data:`IMAGENET` -- the torchvision ImageNet statistics.

Augmentations take float images ``[N,C,H,W]`` in ``[0, 1]`` (or normalised, for :func:`cutout`)
and draw every random number from the given ``torch.Generator``, so a seeded loader is
reproducible: :func:`random_crop_flip` (CIFAR: zero-pad = black, random crop, flip half),
:func:`cutout` (DARTS), and the ImageNet ones :func:`random_resized_crop`, :func:`color_jitter`,
:func:`resize_short`, :func:`center_crop`. torch is imported inside the functions only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Stats = tuple[tuple[float, float, float], tuple[float, float, float]]

NB201_CIFAR10: Stats = ((125.3 / 255, 123.0 / 255, 113.9 / 255), (63.0 / 255, 62.1 / 255, 66.7 / 255))
NB201_CIFAR100: Stats = ((129.3 / 255, 124.1 / 255, 112.4 / 255), (68.2 / 255, 65.4 / 255, 70.4 / 255))
DARTS_CIFAR10: Stats = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
IMAGENET: Stats = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
#: the NB201 / zero-cost-nas statistics per dataset (zero-cost batches, supernets, partial training)
NORMALISATION: dict[str, Stats] = {"cifar10": NB201_CIFAR10, "cifar100": NB201_CIFAR100, "imagenet": IMAGENET}


def to_tensor01(images_uint8: np.ndarray) -> Any:
    """``[N,H,W,3]`` uint8 (a memory map is fine) -> ``[N,3,H,W]`` float32 in ``[0, 1]``."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images_uint8)).permute(0, 3, 1, 2).float().div_(255.0)


def normalize(x: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """``(x - mean) / std`` per channel of ``[N,C,H,W]``."""
    import torch

    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def normalise_uint8(images_uint8: np.ndarray, stats: Stats = NB201_CIFAR10) -> Any:
    """``[N,H,W,3]`` uint8 -> normalised ``[N,3,H,W]`` float32 (NB201 CIFAR-10 statistics by default)."""
    return normalize(to_tensor01(images_uint8), *stats)


def random_crop_flip(x: Any, pad: int, gen: Any) -> Any:
    """CIFAR: zero-pad by ``pad``, take a random crop of the original size, flip half."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        c = xp[i, :, oy[i]:oy[i] + h, ox[i]:ox[i] + w]
        out[i] = c.flip(-1) if flip[i] else c
    return out


def cutout(x: Any, length: int, gen: Any) -> Any:
    """DARTS cutout: zero a ``length`` square per image (rows/cols ``[c - L//2, c + L//2)``, clipped)."""
    import torch

    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=gen)
    cx = torch.randint(0, w, (n,), generator=gen)
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    half = length // 2
    cy, cx = cy.view(n, 1, 1), cx.view(n, 1, 1)
    m = (ys >= cy - half) & (ys < cy + half) & (xs >= cx - half) & (xs < cx + half)
    return x * (~m).unsqueeze(1).to(x.dtype)


def resize_short(img: Any, size: int) -> Any:
    """Bilinear (antialiased) resize of ``[C,H,W]`` so that the short side is ``size``."""
    import torch.nn.functional as F

    _, h, w = img.shape
    s = size / min(h, w)
    nh, nw = max(size, round(h * s)), max(size, round(w * s))
    return F.interpolate(img[None], size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)[0]


def center_crop(img: Any, size: int) -> Any:
    _, h, w = img.shape
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[:, top:top + size, left:left + size]


def random_resized_crop(img: Any, size: int, gen: Any, scale: tuple[float, float] = (0.08, 1.0),
                        ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> Any:
    """torchvision's RandomResizedCrop (10 tries, then a center crop) followed by a random flip."""
    import torch
    import torch.nn.functional as F

    _, h, w = img.shape
    area = h * w
    log_r = (math.log(ratio[0]), math.log(ratio[1]))
    crop = None
    for _ in range(10):
        u = torch.rand(2, generator=gen)
        ta = area * (scale[0] + (scale[1] - scale[0]) * float(u[0]))
        ar = math.exp(log_r[0] + (log_r[1] - log_r[0]) * float(u[1]))
        cw, ch = round(math.sqrt(ta * ar)), round(math.sqrt(ta / ar))
        if 0 < cw <= w and 0 < ch <= h:
            top = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
            left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
            crop = img[:, top:top + ch, left:left + cw]
            break
    if crop is None:
        crop = center_crop(img, min(h, w))
    out = F.interpolate(crop[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    if float(torch.rand(1, generator=gen)) < 0.5:
        out = out.flip(-1)
    return out


def color_jitter(img: Any, strength: float, gen: Any) -> Any:
    """Brightness, contrast and saturation factors uniform in ``[1-s, 1+s]`` (fixed order)."""
    import torch

    f = 1 + strength * (2 * torch.rand(3, generator=gen) - 1)
    img = img * f[0]
    gray = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2])
    img = (img - gray.mean()) * f[1] + gray.mean()
    gray = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).unsqueeze(0)
    img = (img - gray) * f[2] + gray
    return img.clamp_(0, 1)
