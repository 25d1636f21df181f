"""One-shot estimator (``one_shot``): score an arch by its path in a trained supernet.

Score = top-1 accuracy (``metric="acc"``, a fraction) or the negated cross-entropy
(``metric="loss"``, so higher is better either way) of ``supernet.subnet(arch)`` on held-out
batches. With ``data=(x, y)`` (the training set) the held-out batches are its last
``holdout`` fraction (aw_nas: the last 20% of the CIFAR-10 train split), in order, so every
arch sees identical batches; ``eval_batches=[(x, y), ...]`` gives them explicitly. ``data`` may also be a data spec
(``auto``, ``cifar10[:DIR]``, ``synthetic``; :func:`penas.estimators.data.train_holdout_batches`): the
last 10% of one seeded shuffle of its training split is held out, as in [PE].

BN modes (``bn_mode``):

* ``train`` -- train-mode BN (batch statistics), dropout in eval (aw_nas derive/eval-arch);
* ``recalibrate`` -- reset the path's BN statistics, re-estimate them (cumulative average)
  on ``recal_batches`` batches of the training part with only the BN layers in train mode
  (:func:`penas.supernets.bn.recalibrate_bn`), then eval-mode BN (PE-NAS/AttentiveNAS);
* ``no_track`` -- BN with ``track_running_stats=False`` (PE-NAS ``ALL_NOT_BN``): eval mode,
  batch statistics, nothing written to the running buffers.

Every BN buffer of the path is restored after scoring each arch, so scores do not depend on the
order in which archs are scored. Per-batch scores are kept (``per_batch[arch_id]`` and the
provenance ``extra["per_batch"]``). ``post_deiso=True`` averages the raw score over the arch's
isomorphism class (aw_nas "iso2deiso"); the members' raw scores are cached too. With
``store=ScoreStore(...)`` stored scores are reused and only missing archs are computed
(:func:`penas.estimators.scoring.cached_scores`). ``progress``: ``True`` logs progress
(``logging``), a callable is called as ``progress(done, total)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.supernets.bn import bn_layers, recalibrate_bn

from ._registry import register_estimator
from .base import Estimator, ScoreResult, StoredProvenance, config_hash
from .scoring import ProgressFn, cached_scores
from .store import ScoreStore

log = logging.getLogger(__name__)

BN_MODES = ("train", "recalibrate", "no_track")
METRICS = ("acc", "loss")

Pair = tuple[torch.Tensor, torch.Tensor]


def holdout_split(x: torch.Tensor, y: torch.Tensor, frac: float = 0.2) -> tuple[Pair, Pair]:
    """(first 1-frac, last frac) of a training set, in order (aw_nas ``data_portion [0,0.8,0.2]``)."""
    if not 0.0 < frac < 1.0:
        raise ValueError(f"holdout: expected a fraction in (0, 1), got {frac!r}")
    n_hold = max(1, int(round(len(y) * frac)))
    cut = len(y) - n_hold
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def _batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, limit: int | None) -> list[Pair]:
    out = [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(y), batch_size)]
    return out if limit is None else out[:limit]


def _weights_fingerprint(module: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _data_fingerprint(batches: Sequence[Pair]) -> str:
    h = hashlib.sha256()
    for x, y in batches:
        h.update(x.detach().cpu().contiguous().numpy().tobytes())
        h.update(y.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def preserved_bn(module: nn.Module) -> Iterator[None]:
    """Restore every BN buffer and momentum of ``module`` on exit."""
    bns = bn_layers(module)
    saved = [(m, {k: b.clone() for k, b in m.named_buffers(recurse=False)}, m.momentum, m.track_running_stats)
             for m in bns]
    try:
        yield
    finally:
        for m, bufs, mom, track in saved:
            for k, b in bufs.items():
                setattr(m, k, b)
            m.momentum, m.track_running_stats = mom, track


def nb201_valid_batches(space: Any, spec: str, batch_size: int, n_batches: int | None, recal_batches: int,
                        dataset: str | None = None) -> tuple[list[Pair], list[Pair], str] | None:
    """For a supernet trained on ``cifar10[:DIR]@nb201-train``: ``(held-out, recalibration, source)``
    = NB201's ``nb201-valid`` in stored order (the first ``n_batches``; all 25,000 images by default)
    and ``recal_batches`` seeded batches of ``nb201-train``. None for any other spec."""
    from penas.spaces.datasets import parse_data_spec

    from .data import dataset_batches, open_images

    s = parse_data_spec(spec, "data")
    if s.kind != "cifar10" or s.split is None or s.split.name != "nb201-train":
        return None
    ds = open_images(s)
    dataset = dataset or space.datasets[0]
    shape, ncls = tuple(space.input_shape(dataset)), space.num_classes(dataset)

    def fit(b: Any) -> Pair:
        b = b.resized(shape[1:]).classes_mod(ncls)
        return b.inputs, b.targets

    held: list[Pair] = []
    for b in dataset_batches(ds, batch_size, split="nb201-valid"):
        held.append(fit(b))
        if n_batches is not None and len(held) >= n_batches:
            break
    recal = [fit(b) for _, b in zip(range(recal_batches), dataset_batches(ds, batch_size, split="nb201-train",
                                                                              seed=0), strict=False)]
    return held, recal, (f"{ds.describe('nb201-valid')} ({len(held)} batches of {batch_size}; "
                         "BN recalibration on nb201-train)")


def _spec_batches(space: Any, spec: str, batch_size: int, n_batches: int | None, recal_batches: int,
                  ) -> tuple[list[Pair], list[Pair]]:
    """(held-out, recalibration) batches of a data spec (``auto``, ``cifar10[:DIR]``, ``synthetic``...):
    ``cifar10@nb201-train`` is scored on ``nb201-valid`` (:func:`nb201_valid_batches`); otherwise
    the last 10% of one seeded shuffle of its training split is held out, as in [PE] (5,000 CIFAR-10
    images: all of them unless ``n_batches`` caps the count)."""
    from .data import train_holdout_batches

    n_eval = n_batches if n_batches is not None else max(1, 5000 // batch_size)
    nb201 = nb201_valid_batches(space, spec, batch_size, n_eval, recal_batches)
    if nb201 is not None:
        return nb201[0], nb201[1]
    ds = space.datasets[0]
    train, held = train_holdout_batches(spec, tuple(space.input_shape(ds)), space.num_classes(ds), recal_batches,
                                        n_eval, batch_size, holdout=0.1, option="data")
    return [(b.inputs, b.targets) for b in held], [(b.inputs, b.targets) for b in train]


@register_estimator("one_shot")
class OneShotEstimator(Estimator):
    """Scores archs of ``space`` with a (trained) supernet; see the module docs."""

    name = "one_shot"
    higher_is_better = True

    def __init__(
        self,
        space: Any,
        supernet: Any = None,
        supernet_kwargs: dict[str, Any] | None = None,
        checkpoint: str | None = None,
        data: Pair | str | None = None,
        eval_batches: Sequence[Pair] | None = None,
        recal_data: Sequence[Pair] | None = None,
        metric: str = "acc",
        bn_mode: str = "train",
        batch_size: int = 128,
        n_batches: int | None = None,
        recal_batches: int = 8,
        holdout: float = 0.2,
        post_deiso: bool = False,
        store: ScoreStore | str | None = None,
        progress: bool | ProgressFn = True,
        device: str = "cpu",
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric: expected one of {METRICS}, got {metric!r}")
        if bn_mode not in BN_MODES:
            raise ValueError(f"bn_mode: expected one of {BN_MODES}, got {bn_mode!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
        if n_batches is not None and (not isinstance(n_batches, int) or n_batches < 1):
            raise ValueError(f"n_batches: expected a positive integer or None, got {n_batches!r}")
        if not isinstance(recal_batches, int) or recal_batches < 1:
            raise ValueError(f"recal_batches: expected a positive integer, got {recal_batches!r}")
        self.supernet = self._make_supernet(space, supernet, supernet_kwargs or {}, checkpoint).to(device)
        self.device = torch.device(device)
        if isinstance(data, str) and eval_batches is None:  # a data spec: [PE]'s last 10% as held-out split
            eval_batches, recal_data = _spec_batches(space, data, batch_size, n_batches, recal_batches)
        if eval_batches is None:
            if data is None:
                raise ValueError("data: give the training set (x, y) or eval_batches=[(x, y), ...]")
            train, held = holdout_split(data[0], data[1], holdout)
            eval_batches = _batches(*held, batch_size, n_batches)
            if recal_data is None:
                recal_data = _batches(*train, batch_size, recal_batches)
        else:
            eval_batches = list(eval_batches)[: n_batches or None]
        if not eval_batches:
            raise ValueError("eval_batches: no held-out batches to score on")
        self.eval_batches = list(eval_batches)
        self.recal_data = list(recal_data or [])[:recal_batches]
        if bn_mode == "recalibrate" and not self.recal_data:
            raise ValueError("recal_data: bn_mode='recalibrate' needs training batches (data= or recal_data=)")
        self.store = ScoreStore(store) if isinstance(store, str) else store
        self.progress = progress
        self.per_batch: dict[str, list[float]] = {}
        self._classes: dict[str, list[Any]] | None = None
        super().__init__(
            space, metric=metric, bn_mode=bn_mode, batch_size=batch_size, n_batches=len(self.eval_batches),
            recal_batches=len(self.recal_data) if bn_mode == "recalibrate" else 0, post_deiso=post_deiso,
            supernet=self.supernet.config_id(), weights=_weights_fingerprint(self.supernet),
            data_fingerprint=_data_fingerprint(self.eval_batches + self.recal_data), dtype="float32",
        )

    @staticmethod
    def _make_supernet(space: Any, supernet: Any, kwargs: dict[str, Any], checkpoint: str | None) -> nn.Module:
        from penas.supernets import get_supernet
        from penas.supernets.trainer import load_supernet_weights

        if supernet is None and checkpoint is not None and not kwargs:  # the config the checkpoint was trained with
            import json

            from penas.supernets.trainer import read_checkpoint

            sn = json.loads(read_checkpoint(checkpoint)["supernet"])
            supernet = sn.get("supernet", space.name)
            kwargs = {k: v for k, v in sn.items() if k not in ("supernet", "space")}
        if supernet is None:
            supernet = space.name
        net = get_supernet(supernet, space=space, **kwargs) if isinstance(supernet, str) else supernet
        if net.space.name != space.name:
            raise ValueError(f"supernet: built for space {net.space.name!r}, not {space.name!r}")
        if checkpoint is not None:
            load_supernet_weights(net, checkpoint)
        return net

    # --- one arch ---------------------------------------------------------------------------
    @torch.no_grad()
    def to_device(self, device: str | torch.device) -> OneShotEstimator:
        """Score on ``device`` from now on (in place, like ``nn.Module.to``); returns ``self``.
        The device is an execution detail: it is not part of the cache key."""
        self.device = torch.device(device)
        self.supernet.to(self.device)
        return self

    def evaluate(self, arch: Any) -> list[float]:
        """Per-batch scores of one arch (accuracy or negated loss)."""
        sub = self.supernet.subnet(arch)
        with preserved_bn(sub):
            return self._evaluate(sub)

    @torch.no_grad()
    def _evaluate(self, sub: nn.Module) -> list[float]:
        mode = self.cfg["bn_mode"]
        bns = bn_layers(sub)
        if mode == "recalibrate":
            recalibrate_bn(sub, (x for x, _ in self.recal_data), self.device)
            sub.eval()
        elif mode == "no_track":
            sub.eval()
            for m in bns:
                m.track_running_stats = False
                m.running_mean = m.running_var = None
        else:  # train-mode BN, dropout in eval
            sub.train()
            for m in sub.modules():
                if isinstance(m, nn.Dropout):
                    m.eval()
        out = []
        for x, y in self.eval_batches:
            logits = sub(x.to(self.device))
            y = y.to(self.device)
            if self.cfg["metric"] == "acc":
                out.append(float((logits.argmax(1) == y).float().mean()))
            else:
                out.append(-float(F.cross_entropy(logits, y)))
        return out

    def _score_one(self, arch: Any) -> float:
        per = self.evaluate(arch)
        self.per_batch[self.space.format(arch)] = per
        return float(np.mean(per))

    # --- many archs -------------------------------------------------------------------------
    def _raw_hash(self) -> str:
        return config_hash({**self.config(), "post_deiso": False})

    def _progress_fn(self) -> ProgressFn | None:
        if callable(self.progress):
            return self.progress
        if not self.progress:
            return None
        mode = self.cfg["bn_mode"]
        return lambda done, total: log.info("one_shot[%s]: %d/%d archs", mode, done, total)

    def _raw_scores(self, arch_ids: Sequence[str]) -> dict[str, float]:
        """Raw (not de-isomorphised) scores, from the store where present."""
        col = cached_scores(_PathScores(self), arch_ids, self.store, progress=self._progress_fn(), shard_size=64)
        return col.one().as_dict()

    def isomorphism_class(self, arch: Any) -> list[Any]:
        """All archs of the finite space sharing ``arch``'s canonical form."""
        if self._classes is None:
            if self.space.size is None:
                raise ValueError(f"post_deiso: space {self.space.name!r} is not finite")
            classes: dict[str, list[Any]] = {}
            for a in self.space.enumerate():
                classes.setdefault(self.space.format(self.space.canonical(a)), []).append(a)
            self._classes = classes
        return self._classes[self.space.format(self.space.canonical(arch))]

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        if not self.cfg["post_deiso"]:
            raw = self._raw_scores(ids)  # once: without a store every call would score all of ids again
            vals = np.array([raw[i] for i in ids], dtype=np.float64)
        else:
            vals = cached_scores(_ClassMeans(self), ids, self.store, shard_size=64).one().values
        vals[~np.isfinite(vals)] = np.nan
        return ScoreResult(ids, vals, [self.provenance(i, per_batch=self.per_batch.get(i)) for i in ids])

    def stored_per_batch(self, arch_ids: Sequence[str]) -> dict[str, list[float]]:
        """Per-batch scores of stored archs (from the store's provenance)."""
        if self.store is None:
            return {a: self.per_batch[a] for a in arch_ids if a in self.per_batch}
        rows = self.store.rows(self.space.name, self.name, self._raw_hash(), arch_ids)
        return {r.arch_id: list(r.provenance.get("per_batch", [])) for r in rows}


class _PathScores(Estimator):
    """The raw per-path scores of a :class:`OneShotEstimator` (its store key with ``post_deiso=False``);
    a row's provenance holds the per-batch scores."""

    name = "one_shot"

    def __init__(self, owner: OneShotEstimator) -> None:
        self.owner = owner
        super().__init__(owner.space)

    def config(self) -> dict[str, Any]:
        return {**self.owner.config(), "post_deiso": False}

    def _score_one(self, arch: Any) -> float:
        per = self.owner.evaluate(arch)
        self.owner.per_batch[self.space.format(arch)] = per
        return float(np.mean(per)) if np.all(np.isfinite(per)) else float("nan")

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        vals = np.array([self._score_one(a) for a in parsed], dtype=np.float64)
        h, mode = self.config_hash, self.owner.cfg["bn_mode"]
        return ScoreResult(ids, vals, [StoredProvenance({"per_batch": self.owner.per_batch.get(i), "config_hash": h,
                                                       "bn_mode": mode}) for i in ids])


class _ClassMeans(Estimator):
    """``post_deiso``: the mean raw score over an arch's isomorphism class (members' raw scores
    come from the store too)."""

    name = "one_shot"

    def __init__(self, owner: OneShotEstimator) -> None:
        self.owner = owner
        super().__init__(owner.space)

    def config(self) -> dict[str, Any]:
        return self.owner.config()

    def _score_one(self, arch: Any) -> float:  # pragma: no cover - score_result is batched
        return float(self.score_result([arch]).scores[0])

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        members = {i: [self.space.format(m) for m in self.owner.isomorphism_class(a)] for i, a in zip(ids, parsed,
                                                                                                      strict=True)}
        raw = self.owner._raw_scores([m for ms in members.values() for m in ms])
        vals = np.array([np.mean([raw[m] for m in members[i]]) for i in ids], dtype=np.float64)
        return ScoreResult(ids, vals, [StoredProvenance({"class_members": members[i]}) for i in ids])
