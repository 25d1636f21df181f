"""``penas-app supernet eval`` as a library call: one-shot scores of archs under every supernet
checkpoint into a score store (:class:`penas.estimators.one_shot.OneShotEstimator`).

Without ``--data`` the archs are scored on the data the checkpoint was trained on
(:func:`penas.app.study.supernet_data.trained_on`): a supernet trained on NB201's ``nb201-train``
is scored on ``nb201-valid`` (BN recalibration batches from ``nb201-train``); any other training
set keeps the held-out tail, the last ``holdout`` fraction (aw_nas: the last 20% of CIFAR-10
train). Nothing here imports torch at import time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import checks
from .train import ProgressFn, load_data


@dataclass
class SupernetEvalConfig:
    """``penas-app supernet eval``."""

    space: str = "nb201"
    checkpoints: list[str] = field(default_factory=list)
    archs: str = "sample:100"  # all | deiso | sample:N | FILE
    sample_seed: int = 0
    bn_mode: str = "recalibrate"  # train | recalibrate | no_track
    per_batch: bool = False  # also write per-batch scores (CSV per checkpoint)
    metric: str = "acc"  # acc | loss
    store: str = ""
    data: str | None = None  # the data layer spec; None: what the checkpoint was trained on (else auto)
    batch_size: int = 128
    n_batches: int | None = None
    recal_batches: int = 8  # BN recalibration batches (training data)
    holdout: float = 0.2
    out: str | None = None  # where per-batch CSVs go (default: next to the store)
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalSummary:
    """One checkpoint's scoring by :func:`run_supernet_eval`: its store key, archs scored and computed,
    mean score, the per-batch CSV when written."""

    checkpoint: str
    epoch: int
    step: int
    estimator: str
    config_hash: str
    n_archs: int
    n_computed: int
    mean_score: float
    per_batch_csv: str | None


def _eval_data(spec: str, space: Any, dataset: str, cfg: SupernetEvalConfig) -> tuple[dict[str, Any], str]:
    """``(OneShotEstimator data keywords, source)``: NB201's ``nb201-valid`` for a supernet trained on
    ``nb201-train`` (:func:`~penas.app.study.supernet_data.eval_batches`), else the held-out tail."""
    from ..study.supernet_data import eval_batches

    split = eval_batches(spec, space, dataset, cfg.batch_size, cfg.n_batches, cfg.recal_batches)
    if split is not None:
        return {"eval_batches": split[0], "recal_data": split[1]}, split[2]
    x, y, source = load_data(spec, space, dataset)
    return {"data": (x, y)}, source


def run_supernet_eval(cfg: SupernetEvalConfig, on_progress: ProgressFn | None = None
                      ) -> tuple[list[EvalSummary], str, bool]:
    """One-shot scores of every checkpoint into ``cfg.store``; returns summaries, data source, synthetic."""
    import csv

    from penas.estimators.one_shot import BN_MODES, OneShotEstimator
    from penas.estimators.store import ScoreStore
    from penas.spaces import get_space
    from penas.supernets.trainer import read_checkpoint

    checks.check_space(cfg.space)
    if not cfg.checkpoints:
        raise ValueError("--checkpoints: expected at least one checkpoint file")
    if not cfg.store:
        raise ValueError("--store: expected a path to a SQLite score store")
    if cfg.bn_mode not in BN_MODES:
        raise ValueError(f"--bn-mode: expected one of {', '.join(BN_MODES)}, got {cfg.bn_mode!r}")
    space = get_space(cfg.space)
    from ..study.supernet_data import expand_checkpoints, trained_on

    cks = []
    for p in expand_checkpoints(list(cfg.checkpoints)):
        ck = read_checkpoint(p)
        sn = json.loads(ck["supernet"])
        if sn.get("space") != space.name:
            raise ValueError(f"--checkpoints: {p} is a {sn.get('space')!r} supernet, not {space.name!r}")
        cks.append((p, ck, sn))
    from ..evaluating import select_archs

    ids = select_archs(space, cfg.archs, cfg.sample_seed)
    store = ScoreStore(cfg.store)
    out_dir = Path(cfg.out) if cfg.out else Path(cfg.store).parent
    summaries: list[EvalSummary] = []
    source = ""
    data_cache: dict[str, Any] = {}
    done = 0
    total = len(ids) * len(cks)
    for path, ck, sn in cks:
        kwargs = {k: v for k, v in sn.items() if k not in ("supernet", "space")}
        dataset = kwargs.get("dataset", space.datasets[0])
        spec = cfg.data or trained_on(path) or "auto"
        if (dataset, spec) not in data_cache:
            data_cache[dataset, spec] = _eval_data(spec, space, dataset, cfg)
        data_kw, source = data_cache[dataset, spec]
        est = OneShotEstimator(space, supernet=sn["supernet"], supernet_kwargs=kwargs, checkpoint=path, **data_kw,
                               metric=cfg.metric, bn_mode=cfg.bn_mode, batch_size=cfg.batch_size,
                               n_batches=cfg.n_batches, recal_batches=cfg.recal_batches, holdout=cfg.holdout,
                               store=store, progress=False)
        before = store.count(space.name, est.name, est.config_hash)
        res = est.score_result(ids)
        n_new = store.count(space.name, est.name, est.config_hash) - before
        csv_path = None
        if cfg.per_batch:
            per = est.stored_per_batch(ids)
            out_dir.mkdir(parents=True, exist_ok=True)
            csv_path = str(out_dir / f"per_batch_{Path(path).stem}_{est.config_hash[:8]}.csv")
            width = max((len(v) for v in per.values()), default=0)
            with open(csv_path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["arch_id", *(f"batch{i}" for i in range(width))])
                for a in ids:
                    w.writerow([a, *per.get(a, [])])
        done += len(ids)
        if on_progress is not None:
            on_progress(done, total)
        vals = np.asarray(res.scores, dtype=float)
        summaries.append(EvalSummary(str(path), int(ck["epoch"]), int(ck["step"]), est.name, est.config_hash,
                                     len(ids), n_new, float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan"),
                                     csv_path))
    return summaries, source, source.startswith("synthetic")
