"""Which images ``supernet train`` trains on and ``supernet eval`` scores on.

* Training: NB201 supernets on CIFAR-10 train on NB201's official ``nb201-train`` half of the
  CIFAR-10 training set unless ``--data`` names a split (``cifar10`` and ``auto`` resolving to real
  CIFAR-10 both become ``cifar10@nb201-train``); other spaces keep the data layer's default split.
* The resolved training spec is recorded in ``train_config.json`` next to the checkpoints
  (:func:`trained_on`), so ``supernet eval`` without ``--data`` scores on the data the
  checkpoint was trained on.
* Scoring: a supernet trained on ``cifar10@nb201-train`` is scored on ``cifar10@nb201-valid`` in
  stored order (the ``valid_acc`` images of NB201's ``cifar10-valid``), with BN recalibration
  batches from ``nb201-train`` (:func:`eval_batches`); any other training set keeps the
  last-``holdout``-fraction scheme of :class:`penas.estimators.one_shot.OneShotEstimator`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRAIN_CONFIG = "train_config.json"
TRAIN_LOG = "train_log.jsonl"
#: Spaces whose supernet trains on NB201's official split of CIFAR-10 by default.
NB201_SPLIT_SPACES = ("nb201",)


def train_spec(spec: str, space_name: str) -> str:
    """The training data spec for ``--data spec``: ``auto``/``cifar10`` without ``@SPLIT`` on an NB201
    supernet become ``cifar10[...]@nb201-train``; every other spec is returned as given."""
    from penas.spaces.datasets import parse_data_spec
    from penas.spaces.datasets.spec import resolve_auto

    if space_name not in NB201_SPLIT_SPACES:
        return spec
    parsed = parse_data_spec(spec, "--data")
    if parsed.kind not in ("auto", "cifar10"):
        return spec
    real = resolve_auto(parsed)
    if real.kind != "cifar10" or real.split is not None:
        return spec
    return str(real.with_split("nb201-train"))


def trained_on(checkpoint: str | Path) -> str | None:
    """The training data spec recorded next to ``checkpoint`` (``train_config.json``), or None."""
    meta = Path(checkpoint).parent / TRAIN_CONFIG
    if not meta.is_file():
        return None
    try:
        d = json.loads(meta.read_text())
    except (OSError, ValueError):
        raise ValueError(f"--checkpoints: {meta} is not valid JSON") from None
    spec = d.get("data") or (d.get("command") or {}).get("data")
    return str(spec) if spec else None


def expand_checkpoints(paths: list[str]) -> list[str]:
    """Files as given; a directory becomes its saved checkpoints (``epochNNNN.pt`` in order, then
    ``last.pt``). One-line error for a missing path or an empty directory."""
    out: list[str] = []
    for p in paths:
        d = Path(p)
        if d.is_dir():
            found = sorted(d.glob("epoch*.pt")) + ([d / "last.pt"] if (d / "last.pt").is_file() else [])
            if not found:
                raise ValueError(f"--checkpoints: {p} holds no epochNNNN.pt or last.pt")
            out.extend(str(f) for f in found)
        elif d.is_file():
            out.append(p)
        else:
            raise ValueError(f"--checkpoints: {p} does not exist")
    return out


def eval_batches(spec: str, space: Any, dataset: str, batch_size: int, n_batches: int | None,
                 recal_batches: int) -> tuple[list[Any], list[Any], str] | None:
    """``(eval batches, recalibration batches, source)`` for a supernet trained on
    ``cifar10...@nb201-train`` (:func:`penas.estimators.one_shot.nb201_valid_batches`); None for any
    other training spec (the caller keeps the hold-out scheme)."""
    from penas.estimators.one_shot import nb201_valid_batches

    return nb201_valid_batches(space, spec, batch_size, n_batches, recal_batches, dataset)
