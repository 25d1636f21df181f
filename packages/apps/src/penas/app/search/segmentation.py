"""The segmentation search (``penas-app search segmentation``, issue 9 part 3): a
:class:`~penas.app.segmentation.search_config.SegSearchConfig` wired into the same
:class:`~.session.SearchSession` as the cell-space search.

``segmentation`` is an alias of the space given by ``--seg-space`` (default ``topformer_tiny``:
the candidate set and head of the seed's 0.58 G Ours-tiny config, the one that fits the
issue's 0.6 G budget); ``penas-app search topformer|topformer_small|topformer_tiny`` reach the
same code. The FLOPs limit at 512x512 is the session's constraint (:class:`~.constraints.FlopsSampler`
draws feasible configs); the strategies are the registry's ``segmentation/*`` family (``pe-nas-a``
default, ``random``, ``rea``); the scorers (:mod:`penas.app.segmentation.search_scoring`) are bound
to the roles ``zc:<proxy>``, ``miou`` (with ``--checkpoint``), ``finetune`` (with
``--finetune-iters``) and ``fitness``.

Run directory (default ``runs/segmentation-<strategy>-s<seed>-<time>``)::

    RUN_DIR/config.json              {"kind": "segmentation-search", ...SegSearchConfig}
    RUN_DIR/scores.sqlite            every score (ScoreStore; --store puts it elsewhere)
    RUN_DIR/stages/<NN>-<name>.json  one file per finished stage: kept ids, scores, info, timings
    RUN_DIR/best_cfg.json            the chosen config in the seed's JSON format
    RUN_DIR/report.json              config, GFLOPs, params, estimated / true mIoU, stages
    RUN_DIR/summary.txt              the printed report

``--resume RUN_DIR`` reloads finished stages and reuses every stored score, so a killed search
loses at most the arch being scored when it died.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..segmentation.search_config import ALIAS, FLOPS_RESOLUTION, KIND, SegSearchConfig
from ..strategies import get_strategy
from ..strategies.alternating import PoolVoteFitness
from ..strategies.base import SearchOutcome, Strategy
from ..strategies.pe_nas import zc_role
from .constraints import FlopsSampler
from .run_dir import RunDir, RunError, StageRecord, write_json
from .session import Binding, SearchSession
from .summary import segmentation_text


def default_out(cfg: SegSearchConfig) -> str:
    return str(Path("runs") / f"{ALIAS}-{cfg.strategy}-s{cfg.seed}-{time.strftime('%Y%m%d-%H%M%S')}")


def run_dir(path: str | Path) -> RunDir:
    """The run directory of a segmentation search at ``path``."""
    return RunDir(path, SegSearchConfig, kind=KIND, store_file="scores.sqlite")


class SampledCandidates:
    """A pool of ``n`` distinct feasible random configs (``session.sampler``, seed
    ``[seed, 7]``): what ``random`` and ``rea`` draw from."""

    restricts = False

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = int(n), int(seed)

    def draw(self, session: SearchSession) -> list[str]:
        sampler = session.sampler
        return sampler.distinct(np.random.default_rng([self.seed, 7]), self.n, sampler.random)


def make_strategy(cfg: SegSearchConfig) -> Strategy:
    return get_strategy(cfg.strategy, family="segmentation", rounds=cfg.rounds, per_round=cfg.per_round,
                        proxies=cfg.proxies, zc_quantile=cfg.zc_quantile, min_votes=cfg.min_votes,
                        finetune_topk=cfg.finetune_topk, budget=cfg.budget, population=cfg.population,
                        sample_size=cfg.sample_size)


def make_scorers(space: Any, cfg: SegSearchConfig) -> dict[str, Any]:
    """``{"zc": ..., "miou": ... (with --checkpoint), "finetune": ... (with --finetune-iters)}``."""
    from ..segmentation.search_scoring import FinetuneMIoU, SegData, SupernetMIoU, ZeroCostScorer

    data = SegData(cfg.data, cfg.size, cfg.seed, cfg.eval_images, cfg.device)
    data.check()
    out: dict[str, Any] = {"zc": ZeroCostScorer(space, data, cfg.proxies, cfg.zc_resolution, cfg.zc_batch_size)}
    if cfg.checkpoint is not None:
        out["miou"] = SupernetMIoU(space, data, cfg.checkpoint, cfg.calib_batches, cfg.calib_batch_size)
        if cfg.finetune_iters:
            out["finetune"] = FinetuneMIoU(space, data, cfg.checkpoint, cfg.finetune_iters, cfg.calib_batches,
                                           cfg.calib_batch_size)
    return out


def bindings_for(space: Any, cfg: SegSearchConfig, strategy: Strategy,
                 scorers: dict[str, Any]) -> tuple[dict[str, Binding], str]:
    """``({role: Binding}, what the fitness is)``: every proxy's ``zc:<proxy>``, ``miou`` and
    ``finetune`` where their scorer exists, and -- for a strategy that declares it -- ``fitness``:
    the supernet mIoU, else (no checkpoint) the zero-cost vote over the pool for a strategy that
    evaluates only the pool (``random``), or the first proxy (``rea``, as the seed's ``re_zc.sh``)."""
    from ..segmentation.search_scoring import ScorerColumns

    cols = {kind: ScorerColumns(space, sc) for kind, sc in scorers.items()}

    def column(role: str, kind: str, key: str) -> Binding:
        return Binding(role, cols[kind].name, source=cols[kind], column=key)

    out = {zc_role(p): column(zc_role(p), "zc", p) for p in cfg.proxies}
    for kind in ("miou", "finetune"):
        if kind in cols:
            out[kind] = column(kind, kind, scorers[kind].key)
    roles = strategy.roles()
    if "fitness" not in roles:
        by = "supernet mIoU" if "miou" in cols else "zero-cost vote"
    elif "miou" in cols:
        out["fitness"], by = column("fitness", "miou", scorers["miou"].key), "supernet mIoU"
    elif strategy.evaluates_candidates_only:
        votes = cfg.min_votes if cfg.min_votes is not None else len(cfg.proxies) // 2 + 1
        out["fitness"] = Binding("fitness", "zero-cost vote", derive=PoolVoteFitness(cfg.proxies, cfg.zc_quantile,
                                                                                     votes))
        by = "zero-cost vote (over the random pool)"
    else:
        out["fitness"], by = column("fitness", "zc", cfg.proxies[0]), f"zero-cost {cfg.proxies[0]}"
    unbound = [r for r in roles if r not in out and r not in ("miou", "finetune")]
    if unbound:
        raise RunError(f"--strategy: {cfg.strategy!r} scores role {unbound[0]!r}, which the segmentation search "
                       "cannot bind")
    return out, by


def run_segmentation_search(
    cfg: SegSearchConfig | None = None,
    *,
    resume: str | None = None,
    console: Any = None,
    on_stage_done: Callable[[StageRecord], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a segmentation search; returns the report also written to ``report.json``."""
    from penas.estimators.store import ScoreStore
    from penas.spaces import get_space

    if resume is not None:
        rd = run_dir(resume)
        cfg = rd.load_config()
        cfg.validate()
    else:
        if cfg is None:
            raise ValueError("config: expected a SegSearchConfig or resume=RUN_DIR")
        cfg.validate()
    space = get_space(cfg.space)
    sampler = FlopsSampler(space, cfg.max_flops, FLOPS_RESOLUTION)
    sampler.check()
    strategy = make_strategy(cfg)
    scorers = make_scorers(space, cfg)
    bindings, fitness_by = bindings_for(space, cfg, strategy, scorers)
    if resume is None:
        rd = run_dir(cfg.out or default_out(cfg))
        rd.init(cfg)
    shown = console if cfg.progress else None
    session = SearchSession(space, bindings, rd, seed=cfg.seed, candidates=SampledCandidates(strategy.pool_size(),
                                                                                           cfg.seed),
                            constraints=sampler.constraints, sampler=sampler,
                            store=ScoreStore(cfg.store or rd.store_path), console=shown,
                            on_stage_done=on_stage_done, progress=_Progress(shown), shard_size=1)
    if resume is not None:
        session.log(f"resuming {rd.path}: {len(rd.stage_files())} finished stage(s) on disk")
    t0 = time.perf_counter()
    outcome = strategy.run(session)
    for label, est in session.used.items():
        session.log(f"{label}: {est.describe()}")
    rep = report(session, cfg, strategy, outcome, fitness_by, time.perf_counter() - t0)
    write_outputs(rd.path, space, outcome.best_id, rep)
    return rep


def seed_format(space: Any, arch_id: str) -> dict[str, Any]:
    """The config in the seed's JSON format (``SEED_CONFIGS`` keys and order)."""
    return space.to_dict(space.parse(arch_id))


def report(session: SearchSession, cfg: SegSearchConfig, strategy: Strategy, outcome: SearchOutcome,
           fitness_by: str, wall_s: float) -> dict[str, Any]:
    """The report of a finished segmentation search (``report.json``)."""
    space, best = session.space, outcome.best_id
    arch = space.parse(best)
    flops = int(space.flops(arch, resolution=FLOPS_RESOLUTION))
    params = int(space.params(arch))
    est = math.nan
    if session.has_role("miou"):
        est = float(session.score("miou", [best])[0])
    true, note = math.nan, ""
    if session.has_role("finetune") and outcome.info.get("finetuned"):
        true = float(session.score("finetune", [best])[0])
        note = f"after {cfg.finetune_iters} fine-tuning iterations + BN recalibration"
    elif session.has_role("miou"):
        note = ("not measured: no fine-tuning (--finetune-iters 0, the HESS default); the only mIoU is the "
                "supernet estimate above")
    else:
        note = "not measured: no --checkpoint, so no mIoU at all (the search used zero-cost proxies only)"
    seen = {a for r in session.stages for m in r.output.scores.values() for a in m}
    seen |= {a for r in session.stages for a in r.output.kept}
    max_seen = max(session.sampler.flops(a) for a in seen | {best})
    return {
        "space": space.name,
        "alias": ALIAS,
        "strategy": cfg.strategy,
        "seed": cfg.seed,
        "max_flops": cfg.max_flops,
        "flops_resolution": FLOPS_RESOLUTION,
        "chosen": best,
        "config": seed_format(space, best),
        "flops": flops,
        "gflops": flops / 1e9,
        "params": params,
        "params_m": params / 1e6,
        "estimated_miou": None if not math.isfinite(est) else est,
        "estimated_miou_by": "supernet + BN recalibration" if math.isfinite(est) else None,
        "selected_by": (f"fine-tuned mIoU of the top {len(outcome.info['finetuned'])} by supernet mIoU"
                        if outcome.info.get("finetuned") else fitness_by),
        "true_miou": None if not math.isfinite(true) else true,
        "true_miou_note": note,
        "n_configs_scored": len(seen),
        "max_flops_of_any_candidate": max_seen,
        "scores_computed": dict(session.computed),
        "strategy_params": strategy.params(),
        "stages": [{"name": r.name, "kept": len(r.output.kept), "wall_s": round(r.wall_s, 3), "resumed": r.resumed,
                    "n_candidates": r.output.info.get("n_candidates")} for r in session.stages],
        "wall_s": wall_s,
        "notes": list(session.notes),
        "run_dir": str(session.run_dir.path),
        "search_config": cfg.to_dict(),
    }


def write_outputs(path: Path, space: Any, best: str, rep: dict[str, Any]) -> None:
    """``best_cfg.json``, ``report.json`` and ``summary.txt`` of a finished search."""
    (path / "best_cfg.json").write_text(json.dumps(seed_format(space, best)) + "\n")
    write_json(path / "report.json", rep)
    (path / "summary.txt").write_text(segmentation_text(rep) + "\n")


class _Progress:
    """Per-scorer progress lines on the console (every 10% of a batch of scores)."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def __call__(self, label: str, done: int, total: int) -> None:
        if self.console is None or not done:
            return
        step = max(1, total // 10)
        if done == total or done % step == 0:
            self.console.print(f"[dim]{label}: {done}/{total}[/dim]")


__all__ = ["SampledCandidates", "bindings_for", "make_scorers", "make_strategy", "report", "run_dir",
           "run_segmentation_search", "seed_format", "write_outputs"]
