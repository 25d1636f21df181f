"""The cell-space search (``penas-app search SPACE``): a :class:`~penas.app.configs.SearchConfig`
wired to a strategy, estimator bindings for the roles it declares, the benchmark's candidates and
constraints, and one :class:`~.session.SearchSession`; the result is stored and summarised.

Run directory layout::

    RUN_DIR/config.json              the full SearchConfig (``--resume`` reads it back)
    RUN_DIR/scores.db                every score computed (where no ``--store`` is given)
    RUN_DIR/stages/<NN>-<name>.json  one file per finished stage: kept ids, scores, timings
    RUN_DIR/result.json              chosen arch, estimate, ground truth, accounting
    RUN_DIR/summary.txt              the printed summary

A killed search is continued with ``--resume RUN_DIR``: finished stages are loaded, not
recomputed, and scores already in the store are reused inside an unfinished stage. The charged
cost is :func:`~.accounting.accounting`.

Ground truth (``gt_source``, :mod:`penas.app.ground_truth`): a table lists its archs, so the chosen
arch's rank is among all of them; a surrogate covers the whole space, so the rank percentile is among
uniformly sampled genotypes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from penas.spaces.candidates import select_candidates

from ..configs import SearchConfig, parse_pairs, takes_zero_cost_options, zc_cfg
from ..ground_truth import SURROGATE_CANDIDATES, SURROGATE_REFERENCE, gt_summary, resolve_gt_source
from ..partial_options import partial_protocol
from ..strategies import family_names, get_strategy, registry_name, strategy_options
from ..strategies.base import SearchOutcome, Strategy
from .accounting import accounting
from .constraints import Constraint, Constraints
from .run_dir import RunDir, RunError, StageRecord, write_json
from .session import Binding, SearchSession
from .summary import summary_text

PARTIAL_MODES = ("tabular", "train", "none")
# The stand-alone network the zero-cost proxies score, where it is not the space's default build
# ([PE] NB301: ``NetworkCIFAR`` C=32, 8 layers, no auxiliary head).
ZC_BUILD_KWARGS: dict[str, dict[str, Any]] = {"darts": {"C": 32, "layers": 8}}


def default_out(cfg: SearchConfig) -> str:
    import time

    return str(Path("runs") / f"{cfg.space}-{cfg.strategy}-s{cfg.seed}-{time.strftime('%Y%m%d-%H%M%S')}")


def validate(cfg: SearchConfig) -> None:
    """Check names and values before anything is computed (one-line errors)."""
    from .. import checks

    checks.check_space(cfg.space)
    if cfg.strategy not in family_names():
        raise ValueError(f"--strategy: unknown strategy {cfg.strategy!r}; expected one of: {', '.join(family_names())}")
    if cfg.budget is not None and cfg.budget < 1:
        raise ValueError(f"--budget: expected a positive integer, got {cfg.budget}")
    if cfg.partial not in PARTIAL_MODES:
        raise ValueError(f"--partial: expected one of {', '.join(PARTIAL_MODES)}, got {cfg.partial!r}")
    files = parse_pairs(cfg.score_file, "--score-file")
    for t in cfg.max_latency:
        Constraint.parse_latency(t)
    if cfg.chunk < 1:
        raise ValueError(f"--chunk: expected a positive integer, got {cfg.chunk}")
    resolve_gt_source(cfg.space, cfg.gt_source)
    if cfg.runtime_budget is not None:
        if "runtime_budget_s" not in strategy_options(registry_name(cfg.strategy)):
            takers = [n for n in family_names() if "runtime_budget_s" in strategy_options(n)]
            raise ValueError(f"--runtime-budget: only for {' / '.join(takers)} (PE-NAS's cost is its stages)")
        if not cfg.runtime_budget > 0:
            raise ValueError(f"--runtime-budget: expected a positive number of seconds, got {cfg.runtime_budget:g}")
    if cfg.supernet is not None and not Path(cfg.supernet).is_file():
        raise ValueError(f"--supernet: no checkpoint file at {cfg.supernet}")
    validate_values(cfg, files)


def validate_values(cfg: SearchConfig, files: dict[str, str]) -> None:
    """Every option's value (names, counts, files, data, stores, output) before a run starts; the
    estimator options are checked for the roles the strategy declares."""
    from penas.spaces import get_space

    from .. import checks

    checks.positive(cfg.population, "--population")
    if not 1 <= cfg.sample_size <= cfg.population:
        raise ValueError(f"--sample-size: expected 1..--population ({cfg.population}), got {cfg.sample_size}")
    checks.positive(cfg.seed, "--seed", minimum=0)
    for opt, v in (("--max-params", cfg.max_params), ("--max-flops", cfg.max_flops)):
        if v is not None and not v > 0:
            raise ValueError(f"{opt}: expected a positive limit, got {v:g}")
    kinds = {r.partition(":")[0] for r in make_strategy(cfg).roles()}
    if "zc" in kinds:
        if not cfg.proxies:
            raise ValueError("--proxies: expected at least one zero-cost proxy name")
        # the vote takes any registered estimator (a zero-cost proxy, or e.g. oracle in tests)
        checks.check_estimators([p for p in cfg.proxies if p not in files], "--proxies")
    if "one_shot" in kinds and cfg.one_shot != "none" and cfg.one_shot not in files and "one_shot" not in files:
        checks.check_estimators([cfg.one_shot], "--one-shot")
        # one_shot without --supernet CKPT (or --score-file one_shot=FILE): the stage is skipped with a note
        if cfg.supernet is not None and Path(cfg.supernet).is_file():  # readable before the zero-cost stage runs
            from penas.supernets.engine.checkpoint import CheckpointError, load_checkpoint

            try:
                load_checkpoint(cfg.supernet, map_location="cpu")
            except CheckpointError as e:
                raise ValueError(f"--supernet: {str(e).removeprefix('checkpoint: ')}") from None
    if "partial" in kinds and cfg.partial == "train":
        checks.check_data(cfg.partial_data, "--partial-data")
        checks.positive(cfg.partial_images, "--partial-images")
        checks.positive(cfg.partial_width, "--partial-width")
        checks.positive(cfg.partial_eval_images, "--partial-eval-images")
        partial_protocol(cfg.space, cfg.partial_data, cfg.partial_images, cfg.partial_width,
                         cfg.partial_eval_images)  # its one-line errors
        from penas.estimators.partial_training import check_device

        try:
            check_device(cfg.partial_device)
        except ValueError as e:
            raise ValueError(f"--partial-device: {str(e).removeprefix('device: ')}") from None
    if "fitness" in kinds and cfg.fitness not in files and "fitness" not in files:
        checks.check_estimators([cfg.fitness], "--fitness")
    checks.check_zero_cost(cfg.zc_protocol, cfg.zc_batch_size, cfg.zc_data)
    checks.check_gt(get_space(cfg.space), cfg.gt_metric, cfg.gt_dataset,
                    gt_source=resolve_gt_source(cfg.space, cfg.gt_source))
    for name, path in files.items():
        checks.load_scores(path, cfg.space, "--score-file", name=name)
    checks.check_store(cfg.store, "--store")


def bindings_for(cfg: SearchConfig, strategy: Strategy, run_dir: RunDir, space: Any) -> dict[str, Binding]:
    """The roles the strategy declares -> estimators (or score files) as configured; an optional
    stage the configuration turns off (``--one-shot none``, ``--partial none``) stays unbound."""
    from penas.estimators import ESTIMATORS
    from penas.estimators.simple import OracleEstimator

    files = parse_pairs(cfg.score_file, "--score-file")
    zc = zc_cfg(cfg.zc_protocol, cfg.zc_batch_size, cfg.zc_data)

    def bind(role: str, name: str, extra: dict[str, Any] | None = None) -> Binding:
        key = role.split(":", 1)[1] if role.startswith("zc:") else role
        if key in files or name in files:
            named = key if key in files else name
            path = files[named]
            if path.startswith("penas:") and path.count(":") == 1:
                path = f"{path}:{named}"  # NAME=penas:<table>: the table's column NAME
            return Binding(role, name, {}, path)
        if name not in ESTIMATORS:
            hint = "; use --one-shot none to skip the stage" if role == "one_shot" else ""
            raise ValueError(f"estimator: {role} needs estimator {name!r}, which is not registered{hint}; "
                             f"registered: {', '.join(ESTIMATORS.names())}")
        opts = dict(zc) if takes_zero_cost_options(name) else {}
        if opts and space.name in ZC_BUILD_KWARGS:
            opts["build_kwargs"] = dict(ZC_BUILD_KWARGS[space.name])
        opts.update(extra or {})
        return Binding(role, name, opts)

    gt_dataset = cfg.gt_dataset or space.datasets[0]
    gt_source = resolve_gt_source(space.name, cfg.gt_source)
    gt_metric = OracleEstimator(space, dataset=gt_dataset, metric=cfg.gt_metric, gt_source=gt_source).metric
    out: dict[str, Binding] = {}
    for role in strategy.roles():
        kind, _, proxy = role.partition(":")
        if kind == "fitness":
            extra = {"metric": gt_metric, "dataset": gt_dataset, "gt_source": gt_source} if cfg.fitness == "oracle" \
                else {}
            out[role] = bind(role, cfg.fitness, extra)
        elif kind == "zc":
            out[role] = bind(role, proxy)
        elif kind == "one_shot":
            if cfg.one_shot == "none" or (cfg.one_shot == "one_shot" and "one_shot" not in files
                                          and cfg.supernet is None):
                continue  # no trained supernet: the strategy notes the skipped stage (never a late failure)
            # the data the supernet was trained on, when recorded
            from ..study.supernet_data import trained_on

            extra = {} if cfg.supernet is None else {
                "checkpoint": cfg.supernet, "data": trained_on(cfg.supernet) or cfg.partial_data, "bn_mode": "no_track"}
            out[role] = bind(role, cfg.one_shot, extra)
        elif kind == "partial":
            if cfg.partial == "tabular":
                out[role] = Binding(role, "partial_training", {"mode": "tabular", "metric": gt_metric,
                                                               "gt_dataset": gt_dataset, "gt_source": gt_source})
            elif cfg.partial == "train":
                out[role] = Binding(role, "partial_training",
                                    {"mode": "train", "data": cfg.partial_data, "dataset": cfg.gt_dataset,
                                     "checkpoint_dir": str(run_dir.path / "checkpoints"), "device": cfg.partial_device,
                                     **partial_protocol(space.name, cfg.partial_data, cfg.partial_images,
                                                        cfg.partial_width, cfg.partial_eval_images)})
        else:
            raise RunError(f"--strategy: {cfg.strategy!r} scores role {role!r}, which a {space.name} search "
                           "cannot bind")
    for b in out.values():
        b.cfg = {k: v for k, v in b.cfg.items() if v is not None}
    return out


def make_strategy(cfg: SearchConfig) -> Strategy:
    return get_strategy(cfg.strategy, budget=cfg.budget, proxies=cfg.proxies, population=cfg.population,
                        sample_size=cfg.sample_size, runtime_budget_s=cfg.runtime_budget)


class TableCandidates:
    """The cell search's candidate set: ``--candidates`` (auto | all | benchmark | sample:N |
    FILE) through :func:`penas.spaces.candidates.select_candidates`, then the constraints. Under a
    surrogate ground truth (the whole space) ``auto`` samples genotypes; a benchmark's archs keep
    the search inside the table (:attr:`restricts`)."""

    def __init__(self, spec: str, seed: int) -> None:
        self.spec, self.seed, self.restricts = spec, int(seed), False

    def draw(self, session: SearchSession) -> list[str]:
        spec, gt = self.spec, session.gt
        bench = gt.bench
        if not gt.is_table:  # a surrogate over the whole space: sample genotypes
            bench = None
            if spec == "auto":
                spec = f"sample:{SURROGATE_CANDIDATES}"
            if spec.startswith("sample:"):
                session.log(f"candidates: {spec[len('sample:'):]} genotypes sampled uniformly from the "
                            f"{session.space.name} space (seed [{self.seed}, 7]); GT = surrogate")
        try:
            sel = select_candidates(session.space, spec, [self.seed, 7], bench, option="--candidates",
                                    bench_reason=gt.reason, allow_auto=True, sort_samples=True)
        except ValueError as e:
            raise RunError(str(e)) from None
        ids = sel.ids
        self.restricts = sel.spec == "benchmark"
        cons = session.constraints
        if cons:
            mask = cons.mask(ids)
            session.log(f"constraints {', '.join(cons.describe())}: {int(mask.sum())} of {len(ids)} "
                        "candidates feasible")
            ids = [a for a, m in zip(ids, mask, strict=True) if m]
        return ids


def constraints_of(cfg: SearchConfig) -> list[Constraint]:
    """``--max-latency`` / ``--max-flops`` / ``--max-params`` as constraints."""
    items = [Constraint.parse_latency(t) for t in cfg.max_latency]
    if cfg.max_flops is not None:
        items.append(Constraint("flops", float(cfg.max_flops)))
    if cfg.max_params is not None:
        items.append(Constraint("params", float(cfg.max_params)))
    return items


def run_search(
    cfg: SearchConfig | None = None,
    *,
    resume: str | None = None,
    console: Any = None,
    store: Any = None,
    on_stage_done: Callable[[StageRecord], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    bindings: dict[str, Binding] | None = None,
    reference_samples: int = SURROGATE_REFERENCE,
) -> dict[str, Any]:
    """Run (or resume) a search; returns the result dict also written to ``result.json``.

    ``progress(label, done, total)`` is called while scores are computed (``cfg.progress``);
    ``bindings`` replaces the configured estimator of the roles it names (those the strategy
    scores); ``reference_samples``: genotypes the rank percentile of a surrogate GT is taken among.
    """
    from penas.estimators.simple import OracleEstimator
    from penas.spaces import get_space

    if resume is not None:
        rd = RunDir(resume)
        cfg = rd.load_config()
        validate(cfg)
    else:
        if cfg is None:
            raise ValueError("config: expected a SearchConfig or resume=RUN_DIR")
        validate(cfg)
        rd = RunDir(cfg.out or default_out(cfg))
        from ..checks import check_out_dir

        check_out_dir(rd.path, "--out")
    space = get_space(cfg.space)
    strategy = make_strategy(cfg)
    bound = bindings_for(cfg, strategy, rd, space)
    bound.update({r: b for r, b in (bindings or {}).items() if r in bound})
    if resume is None:
        rd.init(cfg)  # after every check: a rejected config leaves no run directory behind
    if store is None and cfg.store:
        from ..checks import open_store

        store = open_store(cfg.store, "--store")
    gt = OracleEstimator(space, dataset=cfg.gt_dataset, metric=cfg.gt_metric,
                         gt_source=resolve_gt_source(space.name, cfg.gt_source))
    session = SearchSession(space, bound, rd, seed=cfg.seed, candidates=TableCandidates(cfg.candidates, cfg.seed),
                            constraints=Constraints(space, constraints_of(cfg), gt), gt=gt, store=store,
                            console=console if cfg.progress else None, on_stage_done=on_stage_done,
                            progress=progress if cfg.progress else None, shard_size=cfg.chunk)
    if resume is not None:
        session.log(f"resuming {rd.path}: {len(rd.stage_files())} finished stage(s) on disk")
    outcome = strategy.run(session)
    res = result(session, cfg, outcome, reference_samples)
    res["config"] = cfg.to_dict()
    res["strategy_params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in strategy.params().items()}
    res["bindings"] = {r: {"estimator": b.estimator, "cfg": b.cfg, "score_file": b.score_file}
                       for r, b in bound.items()}
    res["run_dir"] = str(rd.path)
    write_json(rd.path / "result.json", res)
    (rd.path / "summary.txt").write_text(summary_text(res) + "\n")
    return res


def result(session: SearchSession, cfg: SearchConfig, outcome: SearchOutcome,
           reference_samples: int = SURROGATE_REFERENCE) -> dict[str, Any]:
    """The result of a finished cell search: the chosen arch, its ground truth and the accounting."""
    gt = session.gt
    res: dict[str, Any] = {
        "space": session.space.name,
        "strategy": cfg.strategy,
        "seed": cfg.seed,
        "chosen": outcome.best_id,
        "estimated_score": outcome.estimated_score,
        "estimated_by": outcome.estimated_by,
        "n_candidates": len(session.candidates()),
        "constraints": session.constraints.describe(),
        "accounting": accounting(session),
        "strategy_info": outcome.info,
        "notes": list(session.notes),
    }
    acc = res["accounting"]
    tab = []
    for r, st in zip(session.stages, acc["stages"], strict=True):
        fids = sorted({fid for fid in r.fidelity.values() if fid.startswith(("tabular", "surrogate"))})
        if fids:
            rt = st["charged_runtime_s"]
            tab.append(f"{r.name}: {', '.join(fids)}, charged {st['epochs']} epochs"
                       + (f" / {rt:.0f} s" if rt is not None else ""))
    res["tabular_stages"] = tab
    if gt.available:
        res["gt"] = gt_summary(gt, session.space, outcome.best_id, session.candidates(), int(reference_samples))
    else:
        res["gt"] = None
        res["gt_unavailable"] = gt.reason or f"no {gt.metric!r} on {gt.dataset!r}"
    return res


def load_result(run_dir: str) -> dict[str, Any]:
    """The ``result.json`` of a finished search run directory."""
    return json.loads((Path(run_dir) / "result.json").read_text())


__all__ = ["PARTIAL_MODES", "ZC_BUILD_KWARGS", "TableCandidates", "bindings_for", "constraints_of", "default_out",
           "load_result", "make_strategy", "result", "run_search", "validate"]
