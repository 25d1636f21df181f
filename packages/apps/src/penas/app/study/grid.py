"""``penas-app study SPACE --config study.yaml``: the aw_nas estimator grid, then one report.

The grid (every stage reads the score store first and computes only what is missing, so a
second run computes nothing and a killed run resumes):

1. **supernet** -- ``penas-app supernet train`` with the preset + overrides, a checkpoint every
   ``save_every`` epochs (the checkpoint axis). Skipped when every expected ``epochNNNN.pt`` is
   there; resumed from ``last.pt`` otherwise. ``supernet.checkpoints: [...]`` uses existing
   checkpoints and trains nothing. Multi-GPU training is a separate ``torchrun`` launch of the same
   command (:func:`torchrun_command`, printed by the study and stored in ``report.json``).
2. **one-shot** -- every checkpoint scores every arch (``penas-app supernet eval``; one config
   hash per checkpoint, per-batch scores kept in the row provenance).
3. **zero-shot** -- every (proxy, init seed, number of averaged batches) (``penas-app zero-shot``).

Executors (``executor:``): ``local`` runs the stages in this process, in order (zero-shot
builds each arch once per seed for every proxy and batch count). ``gpus`` (every visible CUDA
device) and ``gpus:0,2`` (those) start one spawned worker per device with
``LocalExecutor(devices=[...])``; estimators with a ``to_device`` method are moved to the
worker's GPU. ``process:N`` and ``ray`` hand
shards of archs to :mod:`penas.estimators.executors` (``LocalExecutor(workers=N)`` with spawned
workers of one torch thread each, or ``RayExecutor``): zero-shot per seed with every proxy and
batch count on one build, one-shot per checkpoint, both through
:func:`penas.estimators.scoring.cached_scores`. The rows go to the same SQLite store (WAL; a
stored row is never overwritten), so the scores do not depend on the executor.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .config import TRAIN_OVERRIDES, StudyConfig, make_executor
from .result import StoreKey, StudyResult

LogFn = Callable[[str], None]


def _log(on_log: LogFn | None, msg: str) -> None:
    if on_log is not None:
        on_log(msg)


# --- supernet ---------------------------------------------------------------------------------
def _train_config(cfg: StudyConfig) -> Any:
    from ..supernet.train import SupernetTrainConfig

    sn = cfg.supernet
    kw = {k: sn.overrides.get(k) for k in TRAIN_OVERRIDES}
    return SupernetTrainConfig(space=cfg.space, preset=sn.preset, out=cfg.supernet_dir, save_every=sn.save_every,
                               max_steps=sn.max_steps, resume=True, data=sn.data, channels=sn.channels,
                               cells=sn.cells, device=sn.device, progress=False, **kw)


def expected_checkpoints(cfg: StudyConfig) -> list[Path]:
    """The ``epochNNNN.pt`` files a complete training run leaves (``last.pt`` without save_every)."""
    from penas.supernets.trainer import preset

    sn = cfg.supernet
    try:
        tcfg = preset(sn.preset, **{k: v for k, v in sn.overrides.items() if v is not None})
    except ValueError as e:
        raise ValueError(f"study.yaml: supernet.{e}") from None
    d = Path(cfg.supernet_dir)
    if not sn.save_every:
        return [d / "last.pt"]
    if tcfg.iterations is not None:
        raise ValueError(f"study.yaml: supernet.save_every: preset {sn.preset!r} is iteration-based "
                         f"({tcfg.iterations} iterations), so it has no epoch checkpoints; use save_every: 0")
    return [d / f"epoch{e:04d}.pt" for e in range(sn.save_every, tcfg.epochs + 1, sn.save_every)]


def torchrun_command(cfg: StudyConfig, gpus: str = "$NGPUS") -> str:
    """The multi-GPU launch of the supernet stage (DDP through ``torchrun``); run it, then the study."""
    t = _train_config(cfg)
    argv = ["torchrun", f"--nproc_per_node={gpus}", "-m", "penas.app", "supernet", "train", cfg.space,
            "--preset", t.preset, "--out", t.out, "--save-every", str(t.save_every), "--data", t.data, "--resume",
            "--no-progress"]
    for k in ("epochs", "iterations", "batch_size", "lr", "sampler", "seed", "max_steps", "channels", "cells"):
        v = getattr(t, k)
        if v is not None:
            argv += [f"--{k.replace('_', '-')}", str(v)]
    from ..configs import defaults

    base = defaults(type(t))
    for k in ("crop_size", "workers"):  # per-rank settings; the device is each rank's GPU under torchrun
        if getattr(t, k) != base[k]:
            argv += [f"--{k.replace('_', '-')}", str(getattr(t, k))]
    return " ".join(a if "$" in a else shlex.quote(a) for a in argv)


def train_supernet(cfg: StudyConfig, on_log: LogFn | None = None) -> tuple[list[str], int, str]:
    """``(checkpoints, steps trained by this call, data source)``; trains only what is missing."""
    from ..supernet.train import run_supernet_train

    sn = cfg.supernet
    if sn.checkpoints:
        missing = [p for p in sn.checkpoints if not Path(p).is_file()]
        if missing:
            raise ValueError(f"study.yaml: supernet.checkpoints: no file at {missing[0]!r}")
        return list(sn.checkpoints), 0, "given checkpoints"
    want = expected_checkpoints(cfg)
    if all(p.is_file() for p in want) and sn.max_steps is None:
        _log(on_log, f"supernet: {len(want)} checkpoints already in {cfg.supernet_dir}; not training")
        return [str(p) for p in want], 0, "existing checkpoints"
    _log(on_log, f"supernet: training {cfg.space} ({sn.preset}) into {cfg.supernet_dir}")
    res = run_supernet_train(_train_config(cfg))
    steps = res.steps - res.resumed_from_step
    have = [p for p in want if p.is_file()]
    if not have:  # cut short by max_steps: whatever epoch checkpoints exist, else last.pt
        have = sorted(Path(cfg.supernet_dir).glob("epoch*.pt")) or [Path(cfg.supernet_dir) / "last.pt"]
    return [str(p) for p in have], steps, res.data_source


# --- one-shot ---------------------------------------------------------------------------------
def _one_shot_parallel(cfg: StudyConfig, space: Any, ids: list[str], checkpoints: list[str], executor: Any
                       ) -> tuple[list[StoreKey], int, str]:
    import json

    from penas.estimators.one_shot import OneShotEstimator
    from penas.estimators.scoring import cached_scores
    from penas.estimators.store import ScoreStore
    from penas.supernets.trainer import read_checkpoint

    from ..supernet.train import load_data

    os_ = cfg.one_shot
    store = ScoreStore(cfg.store_path)
    keys, computed, source = [], 0, ""
    for path in checkpoints:
        ck = read_checkpoint(path)
        sn = json.loads(ck["supernet"])
        kwargs = {k: v for k, v in sn.items() if k not in ("supernet", "space")}
        x, y, source = load_data(os_.data or cfg.supernet.data, space, kwargs.get("dataset", space.datasets[0]))
        est = OneShotEstimator(space, supernet=sn["supernet"], supernet_kwargs=kwargs, checkpoint=path, data=(x, y),
                               metric=os_.metric, bn_mode=os_.bn_mode, batch_size=os_.batch_size,
                               n_batches=os_.n_batches, holdout=os_.holdout, store=store, progress=False)
        computed += cached_scores(est, ids, store, executor, shard_size=max(1, len(ids) // 16)).one().n_computed
        keys.append(StoreKey("one_shot", f"one_shot[{os_.metric}]", est.name, est.config_hash, checkpoint=str(path),
                             epoch=int(ck["epoch"]), step=int(ck["step"]), higher_is_better=est.higher_is_better))
    return keys, computed, source


def run_one_shot(cfg: StudyConfig, space: Any, ids: list[str], checkpoints: list[str], executor: Any
                 ) -> tuple[list[StoreKey], int, str]:
    if executor is not None:
        return _one_shot_parallel(cfg, space, ids, checkpoints, executor)
    from ..supernet.evaluate import SupernetEvalConfig, run_supernet_eval

    os_ = cfg.one_shot
    ecfg = SupernetEvalConfig(space=cfg.space, checkpoints=list(checkpoints), archs=cfg.archs,
                              sample_seed=cfg.archs_seed, bn_mode=os_.bn_mode, per_batch=False, metric=os_.metric,
                              store=cfg.store_path, data=os_.data or cfg.supernet.data, batch_size=os_.batch_size,
                              n_batches=os_.n_batches, holdout=os_.holdout, progress=False)
    from penas.estimators import higher_is_better

    rows, source, _ = run_supernet_eval(ecfg)
    keys = [StoreKey("one_shot", f"one_shot[{os_.metric}]", r.estimator, r.config_hash, checkpoint=r.checkpoint,
                     epoch=r.epoch, step=r.step, higher_is_better=higher_is_better(r.estimator)) for r in rows]
    return keys, sum(r.n_computed for r in rows), source


# --- zero-shot --------------------------------------------------------------------------------
def _zs_label(proxy: str, n: int, batches: Sequence[int]) -> str:
    return proxy if len(batches) == 1 else f"{proxy}@{n}b"


def run_zero_shot_stage(cfg: StudyConfig, space: Any, ids: list[str], executor: Any
                        ) -> tuple[list[StoreKey], int, str]:
    from .zeroshot import ZeroShotConfig, run_zero_shot

    zs = cfg.zero_shot
    zcfg = ZeroShotConfig(space=cfg.space, proxies=list(zs.proxies), seeds=list(zs.seeds), batches=list(zs.batches),
                          archs=cfg.archs, sample_seed=cfg.archs_seed, store=cfg.store_path, data=zs.data,
                          batch_size=zs.batch_size, dataset=cfg.gt.dataset, chunk=zs.chunk, progress=False)
    res = run_zero_shot(zcfg, ids=ids, executor=executor)
    keys = [StoreKey("zero_shot", _zs_label(k["proxy"], k["n_batches"], zs.batches), k["estimator"],
                     k["config_hash"], seed=k["seed"], n_batches=k["n_batches"],
                     higher_is_better=k["higher_is_better"]) for k in res.keys]
    return keys, sum(k["computed"] for k in res.keys), res.data_source


# --- the whole study --------------------------------------------------------------------------
def select_ids(cfg: StudyConfig, space: Any) -> list[str]:
    """``archs:`` through the one candidate selector (``all | benchmark | sample:N | deiso | FILE``)."""
    from ..evaluating import select_archs

    return list(dict.fromkeys(select_archs(space, cfg.archs, cfg.archs_seed)))


def run_grid(cfg: StudyConfig, on_log: LogFn | None = None) -> StudyResult:
    """Train/evaluate/score everything the config asks for that the store lacks."""
    from penas.estimators.simple import OracleEstimator
    from penas.spaces import SPACES, get_space

    if cfg.space not in SPACES:
        raise ValueError(f"study.yaml: space: unknown space {cfg.space!r}; expected one of: "
                         f"{', '.join(SPACES.names())}")
    space = get_space(cfg.space)
    executor = make_executor(cfg.executor)
    gt = OracleEstimator(space, dataset=cfg.gt.dataset, metric=cfg.gt.metric)
    if not gt.available:  # before any work: the report needs it
        raise ValueError(f"study.yaml: gt: no ground truth for {space.name!r} ({gt.reason or 'no table'})")
    ids = select_ids(cfg, space)
    computed = {"supernet_steps": 0, "one_shot": 0, "zero_shot": 0}
    sources: dict[str, str] = {}
    seconds: dict[str, float] = {}
    keys: list[StoreKey] = []
    checkpoints: list[str] = []
    torchrun = None
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    if cfg.supernet.enabled and cfg.one_shot.enabled:
        t0 = time.perf_counter()
        if not cfg.supernet.checkpoints:
            torchrun = torchrun_command(cfg)
        checkpoints, computed["supernet_steps"], sources["supernet"] = train_supernet(cfg, on_log)
        seconds["supernet"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        _log(on_log, f"one-shot: {len(ids)} archs x {len(checkpoints)} checkpoints")
        ks, computed["one_shot"], sources["one_shot"] = run_one_shot(cfg, space, ids, checkpoints, executor)
        keys += ks
        seconds["one_shot"] = time.perf_counter() - t0
    if cfg.zero_shot.enabled:
        t0 = time.perf_counter()
        zs = cfg.zero_shot
        _log(on_log, f"zero-shot: {len(ids)} archs x {len(zs.proxies)} proxies x {len(zs.seeds)} seeds x "
                     f"{len(zs.batches)} batch counts")
        ks, computed["zero_shot"], sources["zero_shot"] = run_zero_shot_stage(cfg, space, ids, executor)
        keys += ks
        seconds["zero_shot"] = time.perf_counter() - t0
    return StudyResult(space.name, ids, keys, computed, sources, checkpoints, torchrun, seconds)


def run_study(cfg: StudyConfig, on_log: LogFn | None = None) -> dict[str, Any]:
    """The grid, then the report (``report.json`` etc. in ``cfg.out``); returns the report dict."""
    from .report import build_report, write_report

    t0 = time.perf_counter()
    res = run_grid(cfg, on_log)
    t1 = time.perf_counter()
    report = build_report(cfg, res)
    report["grid"]["seconds"]["grid_total"] = t1 - t0
    if cfg.bias:
        from .bias import BiasConfig, run_bias

        names = sorted({k.estimator for k in res.keys})
        run_bias(BiasConfig(space=cfg.space, store=cfg.store_path, estimators=names, out=str(Path(cfg.out) / "bias"),
                            gt_metric=cfg.gt.metric, gt_dataset=cfg.gt.dataset, plots=cfg.plots))
        report["files"]["bias"] = str(Path(cfg.out) / "bias")
    report["grid"]["seconds"]["total"] = time.perf_counter() - t0
    write_report(report, Path(cfg.out), cfg.plots)
    return report
