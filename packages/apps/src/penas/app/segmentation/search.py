"""``penas-app search segmentation``: FLOPs-constrained architecture search in the TopFormer
segmentation spaces (issue 9, part 3).

``segmentation`` is an alias of the space given by ``--seg-space`` (default ``topformer_tiny``:
the candidate set and head of the seed's 0.58 G Ours-tiny config, the one that fits the
issue's 0.6 G budget); ``penas-app search topformer|topformer_small|topformer_tiny`` reach the
same code. Strategies: :data:`~.search_strategies.SEG_STRATEGIES` (``pe-nas-a`` default,
``random``, ``rea``). Scores: :mod:`.search_scoring`.

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..runs import RunDir, RunError, StageRecord, _write_json, run_stage
from ..strategies.base import AskTellStrategy, SearchOutcome, StageOutput, Strategy
from ..strategies.baselines import RegularizedEvolution
from .search_config import (
    ALIAS,
    DEFAULT_SEG_SPACE,
    FLOPS_RESOLUTION,
    KIND,
    SegSearchConfig,
    is_segmentation_run,
    is_segmentation_space,
    parse_flops,
)
from .search_scoring import FinetuneMIoU, SegData, SupernetMIoU, ZeroCostScorer, scorer_scores
from .search_strategies import SEG_STRATEGIES, FlopsSampler, PoolVoteFitness, pool_size, zc_roles


def default_out(cfg: SegSearchConfig) -> str:
    return str(Path("runs") / f"{ALIAS}-{cfg.strategy}-s{cfg.seed}-{time.strftime('%Y%m%d-%H%M%S')}")


class SegRunDir(RunDir):
    """:class:`~penas.app.runs.RunDir` holding a :class:`SegSearchConfig`."""

    def init(self, config: SegSearchConfig) -> None:  # type: ignore[override]
        if (self.path / "config.json").exists():
            raise RunError(f"--out: {self.path} already holds a run; use --resume {self.path} or another --out")
        (self.path / "stages").mkdir(parents=True, exist_ok=True)
        _write_json(self.path / "config.json", config.to_dict())

    def load_config(self) -> SegSearchConfig:  # type: ignore[override]
        p = self.path / "config.json"
        if not p.is_file():
            raise RunError(f"--resume: {self.path} has no config.json (not a search run directory)")
        d = json.loads(p.read_text())
        if d.get("kind") != KIND:
            raise RunError(f"--resume: {self.path} is not a segmentation search run")
        return SegSearchConfig.from_dict(d)


class SegSearchContext:
    """The :class:`~penas.app.strategies.base.SearchContext` of a segmentation search: FLOPs-
    feasible candidates, scores through the score store (:func:`scorer_scores`), resumable stages."""

    def __init__(self, space: Any, cfg: SegSearchConfig, run_dir: SegRunDir, store: Any,
                 scorers: dict[str, Any], fitness: Callable[[Any, Sequence[str]], np.ndarray] | None,
                 pool: int, console: Any = None,
                 on_stage_done: Callable[[StageRecord], None] | None = None,
                 on_progress: Callable[[str, int, int], None] | None = None) -> None:
        self.space, self.cfg, self.run_dir, self.store = space, cfg, run_dir, store
        self.on_progress = on_progress
        self.computed: dict[str, int] = {}  # archs computed per scorer label
        self.used: dict[str, Any] = {}  # scorers asked for scores, by label
        self.scorers, self.fitness, self.pool = scorers, fitness, pool
        self.console, self.on_stage_done = console, on_stage_done
        self.rng = np.random.default_rng(cfg.seed)
        self.sampler = FlopsSampler(space, cfg.max_flops, FLOPS_RESOLUTION)
        self.stages: list[StageRecord] = []
        self.notes: list[str] = []
        self._candidates: list[str] | None = None

    # --- SearchContext ------------------------------------------------------------------------
    def log(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)
        if self.console is not None:
            self.console.print(f"[dim]{message}[/dim]")

    def stage_rng(self, index: int) -> np.random.Generator:
        """The RNG of stage ``index``: independent of whether earlier stages were resumed."""
        return np.random.default_rng([self.cfg.seed, 1000 + index])

    def candidates(self) -> list[str]:
        """A pool of ``pool`` distinct FLOPs-feasible random configs (random / rea)."""
        if self._candidates is None:
            rng = np.random.default_rng([self.cfg.seed, 7])
            self._candidates = self.sampler.distinct(rng, self.pool, self.sampler.random)
        return self._candidates

    def feasible(self, arch_id: str) -> bool:
        return self.sampler.feasible(arch_id)

    def has_role(self, role: str) -> bool:
        return role == "fitness" and self.fitness is not None or role.split(":")[0] in self.scorers

    def score(self, role: str, ids: Sequence[str], epoch: int | None = None) -> np.ndarray:
        if role == "fitness" and self.fitness is not None:
            return self.fitness(self, ids)
        kind, _, key = role.partition(":")
        if kind not in self.scorers:
            raise RunError(f"role: no scorer bound to {role!r}")
        sc = self.scorers[kind]
        key = key or sc.keys[0]
        return sc.oriented(key, self.scores_of(sc, ids)[key])

    def score_table(self, roles: Sequence[str], ids: Sequence[str]) -> dict[str, np.ndarray]:
        by_kind: dict[str, list[str]] = {}
        for r in roles:
            by_kind.setdefault(r.partition(":")[0], []).append(r)
        out: dict[str, np.ndarray] = {}
        for kind, rs in by_kind.items():
            sc = self.scorers[kind]
            raw = self.scores_of(sc, ids)  # all of the scorer's keys, one build per arch
            for r in rs:
                key = r.partition(":")[2] or sc.keys[0]
                out[r] = sc.oriented(key, raw[key])
        return {r: out[r] for r in roles}

    def scores_of(self, sc: Any, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Raw scores of every key of scorer ``sc``, aligned with ``ids``."""
        self.used.setdefault(sc.label, sc)
        raw, n = scorer_scores(sc, ids, self.store, self.space, self.on_progress)
        if n:
            self.computed[sc.label] = self.computed.get(sc.label, 0) + n
        return raw

    def stage(self, name: str, fn: Callable[[], StageOutput]) -> StageOutput:
        return run_stage(self.run_dir, self.stages, name, fn, console=self.console, on_done=self.on_stage_done)

    def stage_outputs(self) -> list[StageOutput]:
        return [r.output for r in self.stages]


def make_strategy(cfg: SegSearchConfig) -> Strategy:
    return SEG_STRATEGIES.create(cfg.strategy, rounds=cfg.rounds, per_round=cfg.per_round, proxies=cfg.proxies,
                                 zc_quantile=cfg.zc_quantile, min_votes=cfg.min_votes,
                                 finetune_topk=cfg.finetune_topk, budget=cfg.budget, population=cfg.population,
                                 sample_size=cfg.sample_size)


def make_scorers(space: Any, cfg: SegSearchConfig) -> dict[str, Any]:
    data = SegData(cfg.data, cfg.size, cfg.seed, cfg.eval_images, cfg.device)
    data.check()
    out: dict[str, Any] = {"zc": ZeroCostScorer(space, data, cfg.proxies, cfg.zc_resolution, cfg.zc_batch_size)}
    if cfg.checkpoint is not None:
        out["miou"] = SupernetMIoU(space, data, cfg.checkpoint, cfg.calib_batches, cfg.calib_batch_size)
        if cfg.finetune_iters:
            out["finetune"] = FinetuneMIoU(space, data, cfg.checkpoint, cfg.finetune_iters, cfg.calib_batches,
                                           cfg.calib_batch_size)
    return out


def make_fitness(cfg: SegSearchConfig, scorers: dict[str, Any], strategy: Strategy):
    """random / rea fitness: supernet mIoU, else the pool vote (random) or the first proxy (rea)."""
    if not isinstance(strategy, AskTellStrategy):
        return None, "supernet mIoU" if "miou" in scorers else "zero-cost vote"
    if "miou" in scorers:
        return (lambda ctx, ids: ctx.score("miou", ids)), "supernet mIoU"
    if isinstance(strategy, RegularizedEvolution):
        role = zc_roles(cfg.proxies)[0]
        return (lambda ctx, ids: ctx.score(role, ids)), f"zero-cost {cfg.proxies[0]}"
    votes = cfg.min_votes if cfg.min_votes is not None else len(cfg.proxies) // 2 + 1
    return PoolVoteFitness(cfg.proxies, cfg.zc_quantile, votes), "zero-cost vote (over the random pool)"


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
        rd = SegRunDir(resume)
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
    if resume is None:
        rd = SegRunDir(cfg.out or default_out(cfg))
        rd.init(cfg)
    store = ScoreStore(cfg.store or rd.path / "scores.sqlite")
    progress = _Progress(console if cfg.progress else None)
    fitness, fitness_by = make_fitness(cfg, scorers, strategy)
    ctx = SegSearchContext(space, cfg, rd, store, scorers, fitness, pool_size(strategy),
                           console=console if cfg.progress else None, on_stage_done=on_stage_done,
                           on_progress=progress)
    if resume is not None:
        ctx.log(f"resuming {rd.path}: {len(rd.stage_files())} finished stage(s) on disk")
    t0 = time.perf_counter()
    outcome = strategy.run(ctx)
    for label, sc in ctx.used.items():
        ctx.log(f"{label}: {sc.describe()}")
    rep = report(ctx, strategy, outcome, fitness_by, time.perf_counter() - t0)
    write_outputs(rd.path, space, outcome.best_id, rep)
    return rep


def seed_format(space: Any, arch_id: str) -> dict[str, Any]:
    """The config in the seed's JSON format (``SEED_CONFIGS`` keys and order)."""
    return space.to_dict(space.parse(arch_id))


def report(ctx: SegSearchContext, strategy: Strategy, outcome: SearchOutcome, fitness_by: str,
           wall_s: float) -> dict[str, Any]:
    cfg, space, best = ctx.cfg, ctx.space, outcome.best_id
    arch = space.parse(best)
    flops = int(space.flops(arch, resolution=FLOPS_RESOLUTION))
    params = int(space.params(arch))
    est = math.nan
    if "miou" in ctx.scorers:
        est = float(ctx.score("miou", [best])[0])
    true, note = math.nan, ""
    if "finetune" in ctx.scorers and outcome.info.get("finetuned"):
        true = float(ctx.score("finetune", [best])[0])
        note = f"after {cfg.finetune_iters} fine-tuning iterations + BN recalibration"
    elif "miou" in ctx.scorers:
        note = ("not measured: no fine-tuning (--finetune-iters 0, the HESS default); the only mIoU is the "
                "supernet estimate above")
    else:
        note = "not measured: no --checkpoint, so no mIoU at all (the search used zero-cost proxies only)"
    seen = {a for r in ctx.stages for m in r.output.scores.values() for a in m}
    seen |= {a for r in ctx.stages for a in r.output.kept}
    max_seen = max(ctx.sampler.flops(a) for a in seen | {best})
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
        "scores_computed": dict(ctx.computed),
        "strategy_params": strategy.params(),
        "stages": [{"name": r.name, "kept": len(r.output.kept), "wall_s": round(r.wall_s, 3), "resumed": r.resumed,
                    "n_candidates": r.output.info.get("n_candidates")} for r in ctx.stages],
        "wall_s": wall_s,
        "notes": list(ctx.notes),
        "run_dir": str(ctx.run_dir.path),
        "search_config": cfg.to_dict(),
    }


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}"


def report_rows(rep: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("space / strategy / seed", f"{rep['space']} / {rep['strategy']} / {rep['seed']}"),
        ("constraint", f"FLOPs <= {rep['max_flops'] / 1e9:g} G at {rep['flops_resolution']}x{rep['flops_resolution']}"
                       f"  (max over all candidates {rep['max_flops_of_any_candidate'] / 1e9:.3f} G)"),
        ("config", json.dumps(rep["config"], separators=(", ", ": "))),
        ("FLOPs (G)", f"{rep['gflops']:.3f}"),
        ("params (M)", f"{rep['params_m']:.3f}"),
        ("selected by", rep["selected_by"]),
        ("estimated mIoU (%)", _pct(rep["estimated_miou"]) + (f"  ({rep['estimated_miou_by']})"
                                                             if rep["estimated_miou_by"] else "  (no --checkpoint)")),
        ("true mIoU (%)", f"{_pct(rep['true_miou'])}  ({rep['true_miou_note']})"),
        ("scores computed", ", ".join(f"{k}: {v}" for k, v in rep["scores_computed"].items()) or "none (all stored)"),
        ("wall time", f"{rep['wall_s']:.1f}s"),
    ]


def summary_text(rep: dict[str, Any]) -> str:
    lines = ["segmentation search report"] + [f"  {k:<26} {v}" for k, v in report_rows(rep)]
    lines.append("  stages:")
    for s in rep["stages"]:
        lines.append(f"    {s['name']:<16} kept {s['kept']:>5}  {s['wall_s']:8.2f}s" + ("  (resumed)" if s["resumed"]
                                                                                        else ""))
    lines += [f"  note: {n}" for n in rep["notes"]]
    return "\n".join(lines)


def write_outputs(path: Path, space: Any, best: str, rep: dict[str, Any]) -> None:
    (path / "best_cfg.json").write_text(json.dumps(seed_format(space, best)) + "\n")
    _write_json(path / "report.json", rep)
    (path / "summary.txt").write_text(summary_text(rep) + "\n")


class _Progress:
    """Per-scorer progress lines on the console (every 10% of a batch of scores)."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def __call__(self, label: str, done: int, total: int) -> None:
        if self.console is None:
            return
        step = max(1, total // 10)
        if done == total or done % step == 0:
            self.console.print(f"[dim]{label}: {done}/{total}[/dim]")


__all__ = ["ALIAS", "DEFAULT_SEG_SPACE", "KIND", "SegSearchConfig", "SegSearchContext", "is_segmentation_run",
           "is_segmentation_space", "parse_flops", "run_segmentation_search", "seed_format"]
