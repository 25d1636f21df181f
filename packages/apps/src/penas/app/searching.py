"""Wire a :class:`SearchConfig` to a strategy, estimator bindings and a run directory, run
it, and print / store the summary. Used by ``penas-app search`` and ``tools/bench/search.py``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .configs import SearchConfig, parse_pairs, takes_zero_cost_options, zc_cfg
from .ground_truth import resolve_gt_source
from .partial_options import partial_protocol
from .runs import Binding, RunDir, RunError, SearchRun, StageRecord, _write_json
from .strategies import PENAS, STRATEGIES, AskTellStrategy, Strategy, get_strategy
from .strategies.pe_nas import zc_role

PARTIAL_MODES = ("tabular", "train", "none")
# The stand-alone network the zero-cost proxies score, where it is not the space's default build
# ([PE] NB301: ``NetworkCIFAR`` C=32, 8 layers, no auxiliary head).
ZC_BUILD_KWARGS: dict[str, dict[str, Any]] = {"darts": {"C": 32, "layers": 8}}


def default_out(cfg: SearchConfig) -> str:
    import time

    return str(Path("runs") / f"{cfg.space}-{cfg.strategy}-s{cfg.seed}-{time.strftime('%Y%m%d-%H%M%S')}")


def validate(cfg: SearchConfig) -> None:
    """Check names and values before anything is computed (one-line errors)."""
    from penas.spaces import SPACES

    if cfg.space not in SPACES:
        raise ValueError(f"space: unknown space {cfg.space!r}; expected one of: {', '.join(SPACES.names())}")
    if cfg.strategy not in STRATEGIES:
        raise ValueError(f"--strategy: unknown strategy {cfg.strategy!r}; expected one of: {', '.join(STRATEGIES.names())}")
    if cfg.budget is not None and cfg.budget < 1:
        raise ValueError(f"--budget: expected a positive integer, got {cfg.budget}")
    if cfg.partial not in PARTIAL_MODES:
        raise ValueError(f"--partial: expected one of {', '.join(PARTIAL_MODES)}, got {cfg.partial!r}")
    files = parse_pairs(cfg.score_file, "--score-file")
    from .runs import Constraint

    for t in cfg.max_latency:
        Constraint.parse_latency(t)
    if cfg.chunk < 1:
        raise ValueError(f"--chunk: expected a positive integer, got {cfg.chunk}")
    resolve_gt_source(cfg.space, cfg.gt_source)
    if cfg.runtime_budget is not None:
        if not cfg.strategy.startswith(("random", "rea")):
            raise ValueError("--runtime-budget: only for random / rea / rea-seed (PE-NAS's cost is its stages)")
        if not cfg.runtime_budget > 0:
            raise ValueError(f"--runtime-budget: expected a positive number of seconds, got {cfg.runtime_budget:g}")
    if cfg.supernet is not None and not Path(cfg.supernet).is_file():
        raise ValueError(f"--supernet: no checkpoint file at {cfg.supernet}")
    validate_values(cfg, files)


def validate_values(cfg: SearchConfig, files: dict[str, str]) -> None:
    """Every option's value (names, counts, files, data, stores, output) before a run starts."""
    from penas.spaces import get_space

    from . import checks

    checks.positive(cfg.population, "--population")
    if not 1 <= cfg.sample_size <= cfg.population:
        raise ValueError(f"--sample-size: expected 1..--population ({cfg.population}), got {cfg.sample_size}")
    checks.positive(cfg.seed, "--seed", minimum=0)
    for opt, v in (("--max-params", cfg.max_params), ("--max-flops", cfg.max_flops)):
        if v is not None and not v > 0:
            raise ValueError(f"{opt}: expected a positive limit, got {v:g}")
    if cfg.strategy.startswith("pe-nas"):
        if not cfg.proxies:
            raise ValueError("--proxies: expected at least one zero-cost proxy name")
        # the vote takes any registered estimator (a zero-cost proxy, or e.g. oracle in tests)
        checks.check_estimators([p for p in cfg.proxies if p not in files], "--proxies")
        if cfg.one_shot != "none" and cfg.one_shot not in files and "one_shot" not in files:
            checks.check_estimators([cfg.one_shot], "--one-shot")
            # one_shot without --supernet CKPT (or --score-file one_shot=FILE): the stage is skipped with a note
            ckpt = getattr(cfg, "supernet", None)
            if ckpt is not None and Path(ckpt).is_file():  # readable before the zero-cost stage runs
                from penas.supernets.engine.checkpoint import CheckpointError, load_checkpoint

                try:
                    load_checkpoint(ckpt, map_location="cpu")
                except CheckpointError as e:
                    raise ValueError(f"--supernet: {str(e).removeprefix('checkpoint: ')}") from None
        if cfg.partial == "train":
            checks.check_data(cfg.partial_data, "--partial-data")
            checks.positive(getattr(cfg, "partial_images", None), "--partial-images")
            checks.positive(getattr(cfg, "partial_width", None), "--partial-width")
            partial_protocol(cfg.space, cfg.partial_data, getattr(cfg, "partial_images", None),
                             getattr(cfg, "partial_width", None))  # its one-line errors before any work
    elif cfg.fitness not in files and "fitness" not in files:
        checks.check_estimators([cfg.fitness], "--fitness")
    checks.check_zero_cost(cfg.zc_protocol, cfg.zc_batch_size, cfg.zc_data)
    checks.check_gt(get_space(cfg.space), cfg.gt_metric, cfg.gt_dataset,
                    gt_source=resolve_gt_source(cfg.space, cfg.gt_source))
    for path in files.values():
        checks.load_scores(path, cfg.space, "--score-file")
    checks.check_store(cfg.store, "--store")


def bindings_for(cfg: SearchConfig, strategy: Strategy, run_dir: RunDir, space: Any) -> dict[str, Binding]:
    """Roles the strategy needs -> estimators (or score files) as configured."""
    from penas.estimators import ESTIMATORS

    files = parse_pairs(cfg.score_file, "--score-file")
    zc = zc_cfg(cfg.zc_protocol, cfg.zc_batch_size, cfg.zc_data)

    def bind(role: str, name: str, extra: dict[str, Any] | None = None) -> Binding:
        key = role.split(":", 1)[1] if role.startswith("zc:") else role
        if key in files or name in files:
            return Binding(role, name, {}, files.get(key) or files[name])
        if name not in ESTIMATORS:
            hint = "; use --one-shot none to skip the stage" if role == "one_shot" else ""
            raise ValueError(f"estimator: {role} needs estimator {name!r}, which is not registered{hint}; "
                             f"registered: {', '.join(ESTIMATORS.names())}")
        opts = dict(zc) if takes_zero_cost_options(name) else {}
        if opts and space.name in ZC_BUILD_KWARGS:
            opts["build_kwargs"] = dict(ZC_BUILD_KWARGS[space.name])
        opts.update(extra or {})
        return Binding(role, name, opts)

    from penas.estimators.simple import OracleEstimator

    gt_dataset = cfg.gt_dataset or space.datasets[0]
    gt_source = resolve_gt_source(space.name, cfg.gt_source)
    gt_metric = OracleEstimator(space, dataset=gt_dataset, metric=cfg.gt_metric, gt_source=gt_source).metric
    out: dict[str, Binding] = {}
    if isinstance(strategy, AskTellStrategy):
        extra = {"metric": gt_metric, "dataset": gt_dataset, "gt_source": gt_source} if cfg.fitness == "oracle" else {}
        out["fitness"] = bind("fitness", cfg.fitness, extra)
        return out
    assert isinstance(strategy, PENAS)
    for p in strategy.p.proxies:
        out[zc_role(p)] = bind(zc_role(p), p)
    if cfg.one_shot != "none":
        if cfg.one_shot == "one_shot" and "one_shot" not in files and cfg.supernet is None:
            pass  # no trained supernet: SearchRun notes the skipped stage (never a late failure)
        else:
            from .study.supernet_data import trained_on  # the data the supernet was trained on, when recorded

            extra = {} if cfg.supernet is None else {
                "checkpoint": cfg.supernet, "data": trained_on(cfg.supernet) or cfg.partial_data, "bn_mode": "no_track"}
            out["one_shot"] = bind("one_shot", cfg.one_shot, extra)
    if cfg.partial == "tabular":
        out["partial"] = Binding("partial", "partial_training",
                                 {"mode": "tabular", "metric": gt_metric, "gt_dataset": gt_dataset,
                                  "gt_source": gt_source})
    elif cfg.partial == "train":
        out["partial"] = Binding("partial", "partial_training",
                                 {"mode": "train", "data": cfg.partial_data, "dataset": cfg.gt_dataset,
                                  "checkpoint_dir": str(run_dir.path / "checkpoints"),
                                  **partial_protocol(space.name, cfg.partial_data, getattr(cfg, "partial_images", None),
                                                     getattr(cfg, "partial_width", None))})
    for b in out.values():
        b.cfg = {k: v for k, v in b.cfg.items() if v is not None}
    return out


def make_strategy(cfg: SearchConfig) -> Strategy:
    return get_strategy(cfg.strategy, budget=cfg.budget, proxies=cfg.proxies, population=cfg.population,
                        sample_size=cfg.sample_size, runtime_budget_s=cfg.runtime_budget)


def run_search(
    cfg: SearchConfig | None = None,
    *,
    resume: str | None = None,
    console: Any = None,
    store: Any = None,
    on_stage_done: Callable[[StageRecord], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a search; returns the result dict also written to ``result.json``.
    ``progress(label, done, total)`` is called while scores are computed (``cfg.progress``)."""
    from penas.spaces import get_space

    if resume is not None:
        rd = RunDir(resume)
        cfg = rd.load_config()
    else:
        if cfg is None:
            raise ValueError("config: expected a SearchConfig or resume=RUN_DIR")
        validate(cfg)
        rd = RunDir(cfg.out or default_out(cfg))
        from .checks import check_out_dir

        check_out_dir(rd.path, "--out")
    validate(cfg)
    space = get_space(cfg.space)
    strategy = make_strategy(cfg)
    bindings = bindings_for(cfg, strategy, rd, space)
    if resume is None:
        rd.init(cfg)  # after every check: a rejected config leaves no run directory behind
    if store is None and cfg.store:
        from .checks import open_store

        store = open_store(cfg.store, "--store")
    run = SearchRun(space, cfg, bindings, rd, store=store, console=console if cfg.progress else None,
                    on_stage_done=on_stage_done, progress=progress)
    if resume is not None:
        run.log(f"resuming {rd.path}: {len(rd.stage_files())} finished stage(s) on disk")
    outcome = strategy.run(run)
    res = run.result(outcome)
    res["config"] = cfg.to_dict()
    res["strategy_params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in strategy.params().items()}
    res["bindings"] = {r: {"estimator": b.estimator, "cfg": b.cfg, "score_file": b.score_file}
                       for r, b in bindings.items()}
    res["run_dir"] = str(rd.path)
    _write_json(rd.path / "result.json", res)
    (rd.path / "summary.txt").write_text(summary_text(res) + "\n")
    return res


def _f(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


TABULAR_LABEL = "oracle (final accuracy from the table)"


def _is_tabular(stage: dict[str, Any]) -> bool:
    fid = stage.get("fidelity") or {}
    return bool(fid) and all("tabular" in str(v) for v in fid.values())


def _stage_groups(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The stages as shown: consecutive tabular stages collapse into one entry (they look the
    final accuracy up in the benchmark table: no training happens, none is charged). In a resumed
    run the first stage computed after the loaded ones is marked ``resumed``."""
    stages = res["accounting"]["stages"]
    resumed_run = any(st["resumed"] for st in stages)
    out: list[dict[str, Any]] = []
    first_new = True
    for st in stages:
        tab = _is_tabular(st)
        if tab and out and out[-1]["tabular"]:
            g = out[-1]
            g["names"].append(st["name"])
            g["kept"] = st["kept"]
            g["cpu_s"] += st["cpu_s"]
            g["wall_s"] += st["wall_s"]
            continue
        resumed = resumed_run and not st["resumed"] and first_new
        if not st["resumed"]:
            first_new = False
        out.append({"names": [st["name"]], "tabular": tab, "kept": st["kept"], "cpu_s": st["cpu_s"],
                    "wall_s": st["wall_s"], "loaded": st["resumed"], "resumed": resumed,
                    "epochs": 0 if tab else st.get("epochs", 0), "charged_runtime_s": st.get("charged_runtime_s"),
                    "fidelity": st.get("fidelity") or {}})
    return out


def _group_name(g: dict[str, Any]) -> str:
    n = g["names"]
    name = n[0] if len(n) == 1 else f"{n[0]} .. {n[-1]} ({len(n)} stages)"
    return name + (f": {TABULAR_LABEL}" if g["tabular"] else "")


def summary_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    acc = res["accounting"]
    groups = _stage_groups(res)
    tab_epochs = sum(st.get("epochs", 0) for st in acc["stages"] if _is_tabular(st))
    only_tabular_partial = acc["archs_trained_partially"] and all(
        _is_tabular(st) for st in acc["stages"] if st["name"].startswith("partial"))
    trained = 0 if only_tabular_partial else acc["archs_trained_partially"]
    epochs = acc["epochs"] - tab_epochs
    full = acc.get("full_training_epochs")
    rows = [
        ("space / strategy / seed", f"{res['space']} / {res['strategy']} / {res['seed']}"),
        ("candidates", str(res["n_candidates"]) + (f"  ({'; '.join(res['constraints'])})" if res["constraints"] else "")),
        ("chosen arch", res["chosen"]),
        ("estimated score", f"{_f(res['estimated_score'], 4)}  (by {res['estimated_by']})"),
    ]
    gt = res.get("gt")
    if gt:
        rows += [
            (f"ground truth ({gt['metric']}, {gt['dataset']})", _f(gt["value"], 3)),
            ("GT rank", f"{gt['rank']} of {gt['n']}" + (
                f"  (percentile {_f(gt['rank_percentile'], 2)} among {gt['reference']})"
                if gt.get("rank_percentile") is not None and gt.get("source") == "surrogate" else "")),
            ("regret (best - chosen)", f"{_f(gt['regret'], 3)}  (best {_f(gt['best'], 3)})"
             + ("" if gt["best_among_candidates"] == gt["best"] else
                f"; among candidates {_f(gt['regret_among_candidates'], 3)}")),
        ]
    else:
        rows.append(("ground truth", f"not available ({res.get('gt_unavailable', '')})"))
    rows += [
        ("archs fully evaluated", f"{acc['gt_lookups'] + trained}  (GT lookups {acc['gt_lookups']}, "
                                  f"partially trained {trained})"),
        ("training epochs charged", f"{epochs}" + (
            f"  (= {epochs / full:.1f} full trainings of {full} epochs)" if full else "")),
    ]
    for g in groups:
        if g["tabular"]:
            rows.append((_group_name(g).split(": ")[0], f"{TABULAR_LABEL}; kept {g['kept']}; no training charged"))
    if acc.get("charged_runtime_s") is not None:
        rows.append(("training runtime charged", f"{acc['charged_runtime_s']:.0f} s  "
                                                 "(GT-predicted training time of the evaluations)"))
    resumed = any(g["loaded"] for g in groups)
    rows.append(("CPU / wall time" + (" (whole run)" if resumed else ""),
                 f"{acc['cpu_s']:.1f}s / {acc['wall_s']:.1f}s"
                 + ("  (loaded stages: their first session's time)" if resumed else "")))
    if resumed:
        rows.append(("resumed", "true  (" + ", ".join(_group_name(g) for g in groups if g["resumed"]) + ")"
                     if any(g["resumed"] for g in groups) else "true  (every stage loaded)"))
    return rows


def _stage_line(g: dict[str, Any]) -> list[str]:
    rt = g.get("charged_runtime_s")
    charged = (f"{g['epochs']} ep" if g["epochs"] else "") + (f" / {rt:.0f} s" if rt is not None else "")
    state = "loaded" if g["loaded"] else ("resumed: true" if g["resumed"] else "")
    fid = "" if g["tabular"] else "; ".join(f"{k}: {v}" for k, v in g["fidelity"].items())
    return [_group_name(g), str(g["kept"]), f"{g['cpu_s']:.2f}", f"{g['wall_s']:.2f}", charged, state, fid]


def summary_text(res: dict[str, Any]) -> str:
    import textwrap

    lines = ["search summary"]
    for k, v in summary_rows(res):  # long values (arch ids) wrap, never cut
        parts = textwrap.wrap(v, 78, break_long_words=True, break_on_hyphens=False) or [""]
        lines.append(f"  {k:<32} {parts[0]}")
        lines += [f"  {'':<32} {p}" for p in parts[1:]]
    lines.append("  stages:")
    for g in _stage_groups(res):
        name, kept, cpu, wall, charged, state, fid = _stage_line(g)
        lines.append(f"    {name:<14} kept {kept:>6}  cpu {float(cpu):8.2f}s  wall {float(wall):8.2f}s"
                     + (f"  charged {charged}" if charged else "") + (f"  ({state})" if state else "")
                     + (f"  [{fid}]" if fid else ""))
    for n in res.get("notes", []):
        lines.append(f"  note: {n}")
    return "\n".join(lines)


def load_result(run_dir: str) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "result.json").read_text())


__all__ = ["RunError", "bindings_for", "load_result", "make_strategy", "run_search", "summary_text"]
