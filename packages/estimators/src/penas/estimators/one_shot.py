"""One-shot estimator (``one_shot``): score an arch by its path in a trained supernet.

Score = top-1 accuracy (``metric="acc"``, a fraction) or the negated cross-entropy
(``metric="loss"``, so higher is better either way) of ``supernet.subnet(arch)`` on held-out
batches. With ``data=(x, y)`` (the training set) the held-out batches are its last
``holdout`` fraction (aw_nas: the last 20% of the CIFAR-10 train split), in order, so every
arch sees identical batches; ``eval_batches=[(x, y), ...]`` gives them explicitly.

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
``store=ScoreStore(...)`` stored scores are reused and only missing archs are computed.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.supernets.bn import bn_layers, recalibrate_bn

from . import register_estimator
from .base import Estimator, ScoreResult, config_hash
from .store import ScoreStore

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
        data: Pair | None = None,
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
        progress: bool = True,
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

    def _raw_scores(self, arch_ids: Sequence[str]) -> dict[str, float]:
        """Raw (not de-isomorphised) scores, from the store where present."""
        h = self._raw_hash()
        have = self.store.get_many(self.space.name, self.name, h, arch_ids) if self.store is not None else {}
        todo = [a for a in dict.fromkeys(arch_ids) if a not in have]
        if todo:
            have.update(self._compute(todo, h))
        return have

    def _compute(self, arch_ids: list[str], h: str) -> dict[str, float]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        out: dict[str, float] = {}
        prov: dict[str, dict[str, Any]] = {}
        chunk = 64
        cols = (TextColumn("one_shot[{task.fields[mode]}]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*cols, disable=not self.progress, transient=True) as bar:
            task = bar.add_task("score", total=len(arch_ids), mode=self.cfg["bn_mode"])
            for i, aid in enumerate(arch_ids):
                per = self.evaluate(self.space.parse(aid))
                self.per_batch[aid] = per
                out[aid] = float(np.mean(per)) if np.all(np.isfinite(per)) else float("nan")
                prov[aid] = {"per_batch": per, "config_hash": h, "bn_mode": self.cfg["bn_mode"]}
                bar.advance(task)
                if self.store is not None and ((i + 1) % chunk == 0 or i + 1 == len(arch_ids)):
                    done = [a for a in prov]
                    self.store.put_many(self.space.name, self.name, h, {a: out[a] for a in done}, prov)
                    prov = {}
        return out

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
            raw = self._raw_scores(ids)
            vals = np.array([raw[i] for i in ids], dtype=np.float64)
        else:
            h = self.config_hash
            have = self.store.get_many(self.space.name, self.name, h, ids) if self.store is not None else {}
            todo = [i for i in dict.fromkeys(ids) if i not in have]
            members = {i: [self.space.format(m) for m in self.isomorphism_class(self.space.parse(i))] for i in todo}
            raw = self._raw_scores([m for ms in members.values() for m in ms])
            new = {i: float(np.mean([raw[m] for m in ms])) for i, ms in members.items()}
            if self.store is not None and new:
                self.store.put_many(self.space.name, self.name, h, new,
                                    {i: {"class_members": members[i]} for i in new})
            have.update(new)
            vals = np.array([have[i] for i in ids], dtype=np.float64)
        vals[~np.isfinite(vals)] = np.nan
        return ScoreResult(ids, vals, [self.provenance(i, per_batch=self.per_batch.get(i)) for i in ids])

    def stored_per_batch(self, arch_ids: Sequence[str]) -> dict[str, list[float]]:
        """Per-batch scores of stored archs (from the store's provenance)."""
        if self.store is None:
            return {a: self.per_batch[a] for a in arch_ids if a in self.per_batch}
        rows = self.store.rows(self.space.name, self.name, self._raw_hash(), arch_ids)
        return {r.arch_id: list(r.provenance.get("per_batch", [])) for r in rows}
