"""Scorers of the segmentation search (``penas-app search segmentation``). Each is bound to the
search session's roles as a multi-output estimator (:class:`ScorerColumns`), so every score goes
through :func:`~penas.estimators.scoring.cached_scores` into a
:class:`~penas.estimators.store.ScoreStore` (:class:`penas.app.search.session.SearchSession`).

Scorers map canonical TopFormer config ids to raw scores (higher is better for all of them):

* :class:`ZeroCostScorer`: several zero-cost proxies on one build of each config (a fresh
  ``space.build`` after ``torch.manual_seed(seed)``), fed one batch of real images + masks from
  the training split (train pipeline at ``--zc-resolution``); the proxies' loss is
  :func:`~penas.estimators.proxies.context.task_loss` (dense logits, masks, ignore 255);
* :class:`SupernetMIoU`: the supernet's subnet (weights of ``--checkpoint``), BN recalibration on
  ``--calib-batches`` training batches, then single-scale mIoU on the validation split (HESS);
* :class:`FinetuneMIoU`: the same subnet fine-tuned ``--finetune-iters`` iterations (AdamW, the
  ``hess_topformer`` recipe's lr / weight decay / head x10, constant lr), BN recalibration, mIoU.

The store key is ``(space, arch_id, scorer name, config_hash)``: the hash covers every
setting that changes a score (data fingerprint, checkpoint sha256, resolutions, seeds, image
counts), so a resumed run and a re-run with the same settings reuse the stored scores, and
each score is written as soon as it is computed (a kill loses at most the arch in flight).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from penas.estimators.base import Estimator, ScoreResult, StoredProvenance, config_hash

from .search_config import SEG_PROXIES

if TYPE_CHECKING:
    from penas.spaces.topformer import TopFormerSpace

#: Zero-cost proxies that give finite scores on TopFormer's dense [B,150,h,w] logits with
#: [B,H,W] masks (``epe_nas`` and ``synflow_bn`` are NaN there; checked in the tests).


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _StoreKey(Estimator):
    """One key of a scorer: the store name, config hash and direction of its scores."""

    def __init__(self, space: Any, name: str, chash: str, higher_is_better: bool = True) -> None:
        self.name, self._hash, self.higher_is_better = name, chash, bool(higher_is_better)
        super().__init__(space)

    @property
    def config_hash(self) -> str:
        return self._hash

    def _score_one(self, arch: Any) -> float:  # pragma: no cover - scored through ScorerColumns
        raise TypeError(f"{self.name}: a column of a segmentation scorer")


class ScorerColumns(Estimator):
    """A scorer (``label``, ``keys``, ``config_hash(key)``, ``higher_is_better(key)``,
    ``score_one(arch_id)``, ``describe()``) as a multi-output estimator named ``label``, so its
    scores go through :func:`~penas.estimators.scoring.cached_scores` (one call of ``score_one``
    per arch fills every key)."""

    multi_output = True

    def __init__(self, space: Any, scorer: Any) -> None:
        self.scorer = scorer
        self.name = str(scorer.label)
        super().__init__(space)

    def columns(self) -> dict[str, Estimator]:
        return {k: _StoreKey(self.space, k, self.scorer.config_hash(k), self.scorer.higher_is_better(k))
                for k in self.scorer.keys}

    def describe(self) -> str:
        return str(self.scorer.describe())

    def score_columns(self, archs: Sequence[Any]) -> dict[str, ScoreResult]:
        ids = [self.space.arch_id(a) if isinstance(a, str) else self.space.format(a) for a in archs]
        rows = [self.scorer.score_one(a) for a in ids]
        return {k: ScoreResult(ids, np.array([float(r[k]) for r in rows], dtype=np.float64),
                               [StoredProvenance({}) for _ in ids]) for k in self.scorer.keys}

    def _score_one(self, arch: Any) -> float:  # pragma: no cover - multi-output
        raise TypeError(f"{self.name}: a multi-output estimator; use score_columns")


@dataclass
class SegData:
    """The ADE20K-format directory and the pipelines the scorers use."""

    root: str
    size: int = 512  # test scale (4*size, size); calibration / fine-tuning crops size x size
    seed: int = 0
    eval_images: int | None = None
    device: str = "cpu"  # where the networks run (scores do not depend on it, so it is not hashed)

    def train(self, size: int | None = None) -> Any:
        from .data import SegDataset

        s = size or self.size
        return SegDataset(self.root, "training", "train", size=s, crop=s, seed=self.seed)

    def val(self) -> Any:
        from .data import SegDataset

        return SegDataset(self.root, "validation", "test", size=self.size, limit=self.eval_images)

    def check(self) -> None:
        from .data import check_layout

        check_layout(self.root, "training")
        check_layout(self.root, "validation")


class ZeroCostScorer:
    """All ``proxies`` on one build per config, on one batch of training images + masks."""

    label = "zero-cost"

    def __init__(self, space: TopFormerSpace, data: SegData, proxies: Sequence[str], resolution: int,
                 batch_size: int, seed: int = 42) -> None:
        from penas.estimators.proxies import get_proxy

        for p in proxies:
            get_proxy(p)
        self.space, self.data, self.proxies = space, data, tuple(proxies)
        self.resolution, self.batch_size, self.seed = resolution, batch_size, seed
        self._est: Any = None
        self._hashes: dict[str, str] = {}

    @property
    def keys(self) -> tuple[str, ...]:
        return self.proxies

    def batch(self) -> Any:
        import torch

        from penas.estimators.data import Batch

        ds = self.data.train(self.resolution)
        gen = torch.Generator().manual_seed(self.data.seed)
        order: list[int] = []
        while len(order) < self.batch_size:
            order += torch.randperm(len(ds), generator=gen).tolist()
        items = [ds[i] for i in order[: self.batch_size]]
        x = torch.stack([a for a, _ in items])
        y = torch.stack([b.long() for _, b in items])
        return Batch(x, y, f"ade20k-train:{Path(self.data.root).name}|train-pipeline {self.resolution}px")

    def estimator(self) -> Any:
        if self._est is None:
            from penas.estimators.zero_cost import ZeroCostEstimator

            self._est = ZeroCostEstimator(self.space, proxy=self.proxies[0], data=self.batch(), seed=self.seed,
                                          batch_size=self.batch_size, n_batches=1)
        return self._est

    def config_hash(self, key: str) -> str:
        if key not in self._hashes:  # covers the batch's fingerprint: hash it once per proxy
            self._hashes[key] = self.estimator().for_proxy(key).config_hash
        return self._hashes[key]

    def higher_is_better(self, key: str) -> bool:
        return bool(self.estimator().for_proxy(key).higher_is_better)

    def score_one(self, arch_id: str) -> dict[str, float]:
        """``ZeroCostEstimator.score_arch`` on ``data.device``: a fresh build after
        ``torch.manual_seed(seed)``, all proxies on one batch (``task_loss``: masks, ignore 255)."""
        from penas.estimators.data import Batch
        from penas.estimators.zero_cost import score_module

        est = self.estimator()
        dev = self.data.device
        model = est.build(self.space.parse(arch_id), self.seed).to(dev)
        b = est.batches()[0]
        batch = Batch(b.inputs.to(dev), b.targets.to(dev), b.source) if dev != "cpu" else b
        r = score_module(model, batch, list(self.proxies), seed=self.seed)
        return {p: float(r[p]) for p in self.proxies}

    def describe(self) -> str:
        return (f"zero-cost {'+'.join(self.proxies)} on {self.batch_size} training images + masks at "
                f"{self.resolution}px (fresh init, seed {self.seed})")


class SupernetMIoU:
    """mIoU (fraction) of the checkpoint's subnet after BN recalibration (HESS' estimate)."""

    label = "supernet mIoU"
    key = "seg_supernet_miou"

    def __init__(self, space: TopFormerSpace, data: SegData, checkpoint: str, calib_batches: int = 64,
                 calib_batch_size: int = 4) -> None:
        if not Path(checkpoint).is_file():
            raise ValueError(f"--checkpoint: no file at {checkpoint}")
        self.space, self.data, self.checkpoint = space, data, str(checkpoint)
        self.calib_batches, self.calib_batch_size = calib_batches, calib_batch_size
        self._sha = file_sha256(checkpoint)
        self._supernet: Any = None
        self._train: Any = None
        self._val: Any = None

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key,)

    def config(self) -> dict[str, Any]:
        return {"estimator": self.key, "checkpoint_sha256": self._sha, "data": str(Path(self.data.root).resolve()),
                "size": self.data.size, "seed": self.data.seed, "eval_images": self.data.eval_images,
                "calib_batches": self.calib_batches, "calib_batch_size": self.calib_batch_size}

    def config_hash(self, key: str) -> str:
        return config_hash(self.config())

    def higher_is_better(self, key: str) -> bool:
        return True

    def describe(self) -> str:
        n = "all" if self.data.eval_images is None else str(self.data.eval_images)
        return (f"supernet subnet ({Path(self.checkpoint).name}) + BN recalibration ({self.calib_batches} batches "
                f"of {self.calib_batch_size}), mIoU on {n} validation images at scale {self.data.size}")

    def supernet(self) -> Any:
        if self._supernet is None:
            from penas.supernets import get_supernet
            from penas.supernets.trainer import load_supernet_weights

            sn = get_supernet(self.space.name)
            load_supernet_weights(sn, self.checkpoint)
            self._supernet = sn.to(self.data.device).eval()
        return self._supernet

    def datasets(self) -> tuple[Any, Any]:
        if self._train is None:
            self._train, self._val = self.data.train(), self.data.val()
        return self._train, self._val

    def subnet(self, arch_id: str) -> Any:
        return self.supernet().subnet(self.space.parse(arch_id))

    def measure(self, model: Any) -> float:
        from .evaluate import evaluate, recalibrate_bn

        train, val = self.datasets()
        recalibrate_bn(model, train, self.calib_batches, self.calib_batch_size, self.data.seed, self.data.device)
        return float(evaluate(model, val, self.data.device).miou)

    def score_one(self, arch_id: str) -> dict[str, float]:
        return {self.key: self.measure(self.subnet(arch_id))}


class FinetuneMIoU(SupernetMIoU):
    """mIoU after ``iters`` fine-tuning iterations of the subnet (then BN recalibration)."""

    label = "fine-tuned mIoU"
    key = "seg_finetune_miou"

    def __init__(self, space: TopFormerSpace, data: SegData, checkpoint: str, iters: int, calib_batches: int = 64,
                 calib_batch_size: int = 4, lr: float = 1.2e-4, weight_decay: float = 0.01,
                 head_lr_mult: float = 10.0) -> None:
        super().__init__(space, data, checkpoint, calib_batches, calib_batch_size)
        if iters < 1:
            raise ValueError(f"--finetune-iters: expected a positive integer, got {iters}")
        self.iters, self.lr, self.weight_decay, self.head_lr_mult = iters, lr, weight_decay, head_lr_mult

    def config(self) -> dict[str, Any]:
        return {**super().config(), "estimator": self.key, "iters": self.iters, "lr": self.lr,
                "weight_decay": self.weight_decay, "head_lr_mult": self.head_lr_mult}

    def score_one(self, arch_id: str) -> dict[str, float]:
        from penas.supernets.engine.tasks.finetune import finetune
        from penas.supernets.losses import segmentation_loss

        model = self.subnet(arch_id)
        train, _ = self.datasets()
        finetune(model, train, self.iters, segmentation_loss, batch_size=self.calib_batch_size, lr=self.lr,
                 weight_decay=self.weight_decay, head_lr_mult=self.head_lr_mult, head_prefixes=("head.",),
                 seed=self.data.seed, device=self.data.device)
        model.eval()
        return {self.key: self.measure(model)}

    def describe(self) -> str:
        return f"{self.iters} fine-tuning iterations (AdamW lr {self.lr:g}, head x{self.head_lr_mult:g}), then " + \
            super().describe()


__all__ = ["SEG_PROXIES", "FinetuneMIoU", "ScorerColumns", "SegData", "SupernetMIoU", "ZeroCostScorer", "file_sha256"]
