"""Which images of a dataset a split selects: ``train``, ``test``, NB201's official split, ``sample:N``.

NB201's ``cifar10-valid`` split (``nb201/official/cifar-split.txt`` under the data root, from
D-X-Y/AutoDL-Projects ``configs/nas-benchmark/``) is a JSON object
``{"train": ["int", ["0", "5", ...]], "valid": ["int", [...]]}``: two disjoint lists of 25,000
indices into the official CIFAR-10 training order, together all 50,000. ``nb201-train`` trains
and ``nb201-valid`` validates on them (the ``valid_acc`` of NB201's ``cifar10-valid``).

``sample:N[:SEED]`` takes N training images without replacement, drawn by
``numpy.random.default_rng(SEED).permutation(n_train)[:N]`` and returned in ascending order
(so memory-mapped reads stay sequential).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .spec import Split, parse_split

NB201_SPLIT = Path("nb201") / "official" / "cifar-split.txt"
NB201_TRAIN_SIZE = 50_000


def nb201_split_file(root: str | Path | None = None) -> Path:
    """``<data root>/nb201/official/cifar-split.txt``."""
    from ..paths import data_root

    return data_root(root) / NB201_SPLIT


def read_nb201_split(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """``{"train": int64[25000], "valid": int64[25000]}`` from NB201's split file (validated:
    integers in ``[0, 50000)``, no repeats, the two lists disjoint)."""
    p = Path(path) if path is not None else nb201_split_file()
    if not p.is_file():
        raise FileNotFoundError(f"{p}: NB201's split file is missing (nb201/official/cifar-split.txt under the "
                                "data root, from D-X-Y/AutoDL-Projects configs/nas-benchmark/)")
    try:
        raw = json.loads(p.read_text())
        out = {k: np.asarray([int(v) for v in raw[k][1]], dtype=np.int64) for k in ("train", "valid")}
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise ValueError(f"{p}: not NB201's split file (expected {{\"train\": [\"int\", [...]], \"valid\": "
                         f"[\"int\", [...]]}}): {type(e).__name__}") from None
    for k, v in out.items():
        if v.size == 0 or v.min() < 0 or v.max() >= NB201_TRAIN_SIZE or np.unique(v).size != v.size:
            raise ValueError(f"{p}: {k!r} must hold distinct indices in [0, {NB201_TRAIN_SIZE})")
    if np.intersect1d(out["train"], out["valid"]).size:
        raise ValueError(f"{p}: the 'train' and 'valid' indices overlap")
    return out


def select_indices(split: Split | str, n_train: int, n_test: int, split_file: str | Path | None = None,
                   what: str = "the dataset") -> tuple[str, np.ndarray | None]:
    """``(base, indices)``: the stored split (``train``/``test``) and the indices into it
    (``None`` = all of it). One-line ``ValueError`` when the split does not fit ``what``."""
    s = parse_split(split) if isinstance(split, str) else split
    if s.name == "train":
        return "train", None
    if s.name == "test":
        if n_test == 0:
            raise ValueError(f"--data: {what} has no test images")
        return "test", None
    if s.name == "sample":
        assert s.n is not None
        if s.n > n_train:
            raise ValueError(f"--data: @{s} asks for {s.n} images but {what} has {n_train} training images")
        return "train", np.sort(np.random.default_rng(s.seed).permutation(n_train)[: s.n])
    if n_train != NB201_TRAIN_SIZE:
        raise ValueError(f"--data: @{s} indexes NB201's {NB201_TRAIN_SIZE} CIFAR-10 training images, but {what} "
                         f"has {n_train}")
    return "train", read_nb201_split(split_file)["train" if s.name == "nb201-train" else "valid"]
