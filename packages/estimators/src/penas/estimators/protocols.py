"""Zero-cost scoring protocols: which images, how many batches, which seeds.

* ``zero-cost-nas`` -- Abdelfattah et al. (ICLR 2021, the zero-cost-nas code) and
  NAS-Bench-Suite-Zero: one batch of 64 random *training* images with labels per seed (drawn with
  that seed, random crop + flip as the reference train loader), the network built after
  ``torch.manual_seed(seed)`` and scored in train mode with the proxy's declared BN setting.
* ``aw_nas`` -- Ning et al.: init seeds 20/2020/202020, batches of 128 from the held-out last 20%
  of the training set in order (images 40,000.. of CIFAR-10's 50,000), the per-batch scores
  averaged over the first 1, 3 or 5 batches.

:func:`resolve_batches` turns a ``data`` argument (a :class:`~penas.estimators.data.Batch`, a list
of them, or a data spec of :mod:`penas.spaces.datasets.spec`) into the batches of a protocol.
A training set too small for a protocol is a one-line ``ValueError``, never a wrap-around or a
division by zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .data import Batch, augment_tile, png_batch, synthetic_batch, tile


@dataclass(frozen=True)
class ZeroCostProtocol:
    """How a space's architectures are built and fed to the proxies (``Protocol`` is the old name).

    ``selection`` says which real training images the batches hold: ``random`` -- consecutive
    batches of one seeded permutation of the training set (``numpy.random.default_rng(seed)``; the
    seed is the estimator's), ``holdout`` -- the last ``holdout`` fraction of the training set in
    stored order (aw_nas: images 40000.. of the 50000). ``augment``: the CIFAR train-time crop +
    flip of the reference loader. Synthetic and PNG batches do not depend on these.
    """

    name: str
    seeds: tuple[int, ...]
    batch_size: int
    n_batches: tuple[int, ...]
    data_split: str  # where real CIFAR batches come from (text for people)
    doc: str
    selection: str = "random"  # random | holdout
    augment: bool = False
    holdout: float = 0.0


PROTOCOLS: dict[str, ZeroCostProtocol] = {
    "zero-cost-nas": ZeroCostProtocol(
        "zero-cost-nas", (42,), 64, (1,), "train: random 64 per seed, crop+flip",
        "Abdelfattah et al. (zero-cost-nas) and NAS-Bench-Suite-Zero: stand-alone build after "
        "torch.manual_seed(seed); one batch of 64 random training images with labels per seed, drawn with "
        "that seed and augmented as the reference train loader (random crop 32 pad 4 + flip); train mode",
        selection="random", augment=True,
    ),
    "aw_nas": ZeroCostProtocol(
        "aw_nas", (20, 2020, 202020), 128, (1, 3, 5), "train: the last 20% in order (40000: of 50000)",
        "init seeds 20/2020/202020; batches of 128 from the held-out last 20% of the training set in order; "
        "mean of the first 1/3/5 per-batch scores",
        selection="holdout", holdout=0.2,
    ),
}


def get_protocol(name: str) -> ZeroCostProtocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"protocol: expected one of {', '.join(PROTOCOLS)}; got {name!r}") from None


def resolve_batches(
    data: Any, protocol: ZeroCostProtocol, n: int, batch_size: int, shape: tuple[int, int, int], num_classes: int,
    seed: int | None = None,
) -> list[Batch]:
    """``n`` batches for ``data``: a Batch / list of Batch, or a data spec of
    :mod:`penas.spaces.datasets.spec` -- ``None``/``"auto"`` (real CIFAR-10 under ``$PENAS_DATA``
    when present, else ``png-aug``, else synthetic), ``"png[:DIR]"`` (the 20 shared PNGs
    repeated), ``"png-aug"`` (the 20 PNGs + seeded crop/flip copies: distinct images),
    ``"synthetic"``, ``"cifar10[:DIR]"``, ``"cifar100[:DIR]"``, ``"imagefolder:DIR"``.
    Real datasets follow ``protocol`` (:class:`ZeroCostProtocol`; ``seed`` defaults to its first seed);
    a training set too small for it is a one-line ``ValueError``, never a wrap-around."""
    if isinstance(data, Batch):
        bs = [data]
    elif isinstance(data, (list, tuple)) and data and all(isinstance(b, Batch) for b in data):
        bs = list(data)
    else:
        from penas.spaces.datasets import parse_data_spec, resolve_auto

        spec = resolve_auto(parse_data_spec("auto" if data is None else data, "data"))
        if spec.kind == "png":
            bs = [tile(png_batch(spec.directory()), batch_size).resized(shape[1:]).classes_mod(num_classes)]
        elif spec.kind == "png-aug":
            bs = [augment_tile(png_batch(), batch_size, seed=i).resized(shape[1:]).classes_mod(num_classes)
                  for i in range(n)]
        elif spec.kind == "synthetic":
            bs = [synthetic_batch(shape, batch_size, num_classes, seed=i) for i in range(n)]
        elif spec.is_classification_dataset:
            bs = [b.resized(shape[1:]).classes_mod(num_classes)
                  for b in protocol_batches(spec, protocol, n, batch_size, seed)]
        else:
            raise ValueError(f"data: {spec.kind!r} is not image-classification data for zero-cost scoring")
    return [bs[i % len(bs)] for i in range(n)]


def protocol_batches(spec: Any, protocol: ZeroCostProtocol, n: int, batch_size: int, seed: int | None = None) -> list[Batch]:
    """``n`` batches of ``batch_size`` real images of the dataset ``spec`` under ``protocol``."""
    from .data import dataset_batches, open_images

    ds = open_images(spec)
    split = str(spec.split) if spec.split is not None else "train"
    n_img = len(ds.select(split)[1])
    need = n * batch_size
    if protocol.selection == "holdout":
        start = n_img - int(round(protocol.holdout * n_img))
        if n_img - start < need:
            raise ValueError(
                f"data: the {protocol.name} protocol takes {n} batch(es) of {batch_size} from the held-out last "
                f"{protocol.holdout:.0%} of the training set, but {ds.describe(split)} has {n_img - start} held-out "
                f"images of {n_img}; use fewer or smaller batches or more data")
        it = dataset_batches(ds, batch_size, split=split, start=start)
    else:
        if n_img < need:
            raise ValueError(f"data: the {protocol.name} protocol takes {n} batch(es) of {batch_size} training "
                             f"images, but {ds.describe(split)} has {n_img}")
        s = protocol.seeds[0] if seed is None else int(seed)
        it = dataset_batches(ds, batch_size, split=split, seed=s, augment=protocol.augment)
    return [b for _, b in zip(range(n), it, strict=False)]


Protocol = ZeroCostProtocol  # the old name (not typing.Protocol)
