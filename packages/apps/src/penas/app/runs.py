"""Execution and storage of a search: :class:`SearchRun` implements the strategies'
:class:`~penas.app.strategies.base.SearchContext` on top of estimators, score caches and a
resumable run directory.

Run directory layout::

    RUN_DIR/config.json              the full SearchConfig (``--resume`` reads it back)
    RUN_DIR/cache/<role>.jsonl       every score computed, appended chunk by chunk
    RUN_DIR/stages/<NN>-<name>.json  one file per finished stage: kept ids, scores, timings
    RUN_DIR/result.json              chosen arch, estimate, ground truth, accounting
    RUN_DIR/summary.txt              the printed summary

A killed search is continued with ``--resume RUN_DIR``: finished stages are loaded, not
recomputed, and scores already in ``cache/`` are reused inside an unfinished stage.

Cost accounting (recomputed from the stage files, so it survives a resume):

* ``archs_fully_evaluated``: distinct archs scored by a ground-truth lookup (``oracle``; one
  full training each) or by partial training (at least one epoch);
* ``epochs``: training epochs those evaluations stand for (partial training: the highest
  epoch an arch reached; a GT lookup: the space's full schedule);
* CPU (``time.process_time``) and wall seconds per stage.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from penas.spaces import Space

from .configs import SearchConfig
from .strategies.base import SearchOutcome, StageOutput

# Full training schedule (epochs) behind one ground-truth number, per benchmark space.
FULL_EPOCHS: dict[str, int] = {"nb201": 200, "nasbench_macro": 50, "darts": 100, "nb101": 108}
# How a role's estimator is charged: "gt" = one full training per arch, "epochs" = per epoch.
COST_KIND: dict[str, str] = {"oracle": "gt", "partial_training": "epochs"}


class RunError(ValueError):
    """A problem with the run directory or the search setup (one-line message)."""


# --- constraints ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Constraint:
    """``metric <= limit``; ``metric`` is ``latency_<device>``, ``flops`` or ``params``."""

    metric: str
    limit: float

    @classmethod
    def parse_latency(cls, text: str) -> Constraint:
        dev, sep, ms = text.partition("=")
        try:
            limit = float(ms)
        except ValueError:
            limit = math.nan
        if not sep or not dev.strip() or not math.isfinite(limit) or limit <= 0:
            raise ValueError(f"--max-latency: expected DEVICE=MS with a positive number of ms, got {text!r}")
        return cls(f"latency_{dev.strip()}", limit)


class Constraints:
    """Vectorised feasibility of candidate ids, from GT-store columns or the space's counts."""

    def __init__(self, space: Space, items: Sequence[Constraint], gt: GroundTruth) -> None:
        self.space, self.items, self.gt = space, list(items), gt
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.items)

    def describe(self) -> list[str]:
        return [f"{c.metric} <= {c.limit:g}" for c in self.items]

    def _values(self, c: Constraint, ids: Sequence[str]) -> np.ndarray:
        if c.metric.startswith("latency_"):
            bench = self.gt.bench
            if bench is None:
                raise ValueError(f"--max-latency: space {self.space.name!r} has no benchmark table with latencies")
            try:
                return np.asarray(bench.table(c.metric, "any", ids), dtype=np.float64)
            except ValueError:
                devices = [m[len("latency_"):] for m in bench.metrics("any") if m.startswith("latency_")] \
                    if "any" in bench.datasets else []
                raise ValueError(
                    f"--max-latency: unknown device {c.metric[len('latency_'):]!r} for {self.space.name!r}; "
                    f"expected one of: {', '.join(devices) or '(none)'}"
                ) from None
        bench = self.gt.bench
        if bench is not None and c.metric in bench.metrics(self.gt.dataset):
            return np.asarray(bench.table(c.metric, self.gt.dataset, ids), dtype=np.float64)
        fn = getattr(self.space, c.metric)
        return np.array([float(fn(self.space.parse(a))) for a in ids])

    def mask(self, ids: Sequence[str]) -> np.ndarray:
        ok = np.ones(len(ids), dtype=bool)
        for c in self.items:
            with np.errstate(invalid="ignore"):
                ok &= self._values(c, ids) <= c.limit
        for a, m in zip(ids, ok, strict=True):
            self._cache[a] = bool(m)
        return ok

    def feasible(self, arch_id: str) -> bool:
        if not self.items:
            return True
        if arch_id not in self._cache:
            self.mask([arch_id])
        return self._cache[arch_id]


# --- ground truth ---------------------------------------------------------------------------
class GroundTruth:
    """The GT table of a space when one can be opened (``None`` otherwise, with the reason)."""

    def __init__(self, space: Space, metric: str, dataset: str | None) -> None:
        self.space = space
        self._metric = metric
        self.dataset = dataset or space.datasets[0]
        self.reason = ""
        self._bench: Any = None
        self._tried = False

    @property
    def bench(self) -> Any:
        if not self._tried:
            self._tried = True
            try:
                from penas.spaces.benchmarks import open_benchmark

                self._bench = open_benchmark(self.space.name)
            except Exception as e:  # noqa: BLE001 - no table is a normal situation
                self.reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                self._bench = None
        return self._bench

    @property
    def metric(self) -> str:
        """``auto``: ``test_acc`` where the table has it, else ``valid_acc`` (e.g. the NB301 sample)."""
        if self._metric != "auto":
            return self._metric
        b = self.bench
        if b is not None and self.dataset in b.datasets:
            have = b.metrics(self.dataset)
            for m in ("test_acc", "valid_acc"):
                if m in have:
                    return m
        return "test_acc"

    @property
    def available(self) -> bool:
        b = self.bench
        if b is None:
            return False
        try:
            return self.metric in b.metrics(self.dataset)
        except ValueError as e:
            self.reason = str(e)
            return False

    def values(self, ids: Sequence[str]) -> np.ndarray:
        out = np.full(len(ids), np.nan)
        b = self.bench
        for i, a in enumerate(ids):
            try:
                out[i] = float(b.query(a, self.metric, self.dataset))
            except ValueError:
                pass
        return out

    def column(self) -> tuple[list[str], np.ndarray]:
        b = self.bench
        return [str(x) for x in b.arch_ids], np.asarray(b.column(self.metric, self.dataset), dtype=np.float64)


# --- run directory --------------------------------------------------------------------------
class RunDir:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def init(self, config: SearchConfig) -> None:
        if (self.path / "config.json").exists():
            raise RunError(f"--out: {self.path} already holds a run; use --resume {self.path} or another --out")
        (self.path / "stages").mkdir(parents=True, exist_ok=True)
        (self.path / "cache").mkdir(exist_ok=True)
        _write_json(self.path / "config.json", config.to_dict())

    def load_config(self) -> SearchConfig:
        p = self.path / "config.json"
        if not p.is_file():
            raise RunError(f"--resume: {self.path} has no config.json (not a search run directory)")
        return SearchConfig.from_dict(json.loads(p.read_text()))

    def stage_path(self, index: int, name: str) -> Path:
        safe = name.replace("@", "-e").replace("/", "_").replace(":", "_")
        return self.path / "stages" / f"{index:02d}-{safe}.json"

    def cache_path(self, key: str) -> Path:
        return self.path / "cache" / (key.replace("@", "-e").replace(":", "_").replace("/", "_") + ".jsonl")

    def stage_files(self) -> list[Path]:
        return sorted((self.path / "stages").glob("*.json"))


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=_json_default, allow_nan=True))
    tmp.replace(path)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# --- role bindings ----------------------------------------------------------------------------
@dataclass
class Binding:
    """The estimator behind one role: a registered estimator, or a precomputed score file."""

    role: str
    estimator: str
    cfg: dict[str, Any] = field(default_factory=dict)
    score_file: str | None = None
    cost: str | None = None  # override: "gt" | "epochs" | "cheap" (e.g. an oracle used as a proxy)

    @property
    def cost_kind(self) -> str:
        if self.cost is not None:
            return self.cost
        return "precomputed" if self.score_file else COST_KIND.get(self.estimator, "cheap")


@dataclass
class StageRecord:
    index: int
    name: str
    output: StageOutput
    cpu_s: float
    wall_s: float
    resumed: bool
    fidelity: dict[str, str]


def run_stage(
    run_dir: RunDir,
    stages: list[StageRecord],
    name: str,
    fn: Callable[[], StageOutput],
    *,
    console: Any = None,
    on_done: Callable[[StageRecord], None] | None = None,
    fidelity: Callable[[], dict[str, str]] | None = None,
    log: Callable[[str], None] | None = None,
) -> StageOutput:
    """One resumable stage: the stage file of a finished stage is loaded (nothing recomputed),
    else ``fn`` runs and its output is written atomically. Appends the record to ``stages``."""
    index = len(stages)
    path = run_dir.stage_path(index, name)
    if path.is_file():
        d = json.loads(path.read_text())
        rec = StageRecord(index, name, StageOutput.from_dict(d["output"]), d["cpu_s"], d["wall_s"], True,
                          d.get("fidelity", {}))
        stages.append(rec)
        if log is not None:
            log(f"stage {name}: loaded from {path.name} (resumed)")
        return rec.output
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    rec = StageRecord(index, name, out, time.process_time() - c0, time.perf_counter() - w0, False,
                      fidelity() if fidelity is not None else {})
    _write_json(path, {"name": name, "output": out.to_dict(), "cpu_s": rec.cpu_s, "wall_s": rec.wall_s,
                       "fidelity": rec.fidelity})
    stages.append(rec)
    if console is not None:
        console.print(f"stage [bold]{name}[/bold]: kept {len(out.kept)}  ({rec.wall_s:.1f}s)")
    if on_done is not None:
        on_done(rec)
    return out


class SearchRun:
    """A :class:`SearchContext` backed by estimators, caches and a run directory."""

    def __init__(
        self,
        space: Space,
        config: SearchConfig,
        bindings: dict[str, Binding],
        run_dir: RunDir,
        *,
        store: Any = None,
        console: Any = None,
        on_stage_done: Callable[[StageRecord], None] | None = None,
    ) -> None:
        self.space = space
        self.config = config
        self.bindings = bindings
        self.run_dir = run_dir
        self.rng = np.random.default_rng(config.seed)
        self.store = store
        self.console = console
        self.on_stage_done = on_stage_done
        self.gt = GroundTruth(space, config.gt_metric, config.gt_dataset)
        items = [Constraint.parse_latency(t) for t in config.max_latency]
        if config.max_flops is not None:
            items.append(Constraint("flops", float(config.max_flops)))
        if config.max_params is not None:
            items.append(Constraint("params", float(config.max_params)))
        self.constraints = Constraints(space, items, self.gt)
        self.stages: list[StageRecord] = []
        self.notes: list[str] = []
        self._estimators: dict[str, Any] = {}
        self._cache: dict[str, dict[str, float]] = {}
        self._files: dict[str, dict[str, float]] = {}
        self._candidates: list[str] | None = None
        self._fidelity: dict[str, str] = {}
        self._restrict: set[str] | None = None  # candidates from a benchmark sample: stay inside it

    # --- SearchContext ------------------------------------------------------------------------
    def log(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)
        if self.console is not None:
            self.console.print(f"[dim]{message}[/dim]")

    def has_role(self, role: str) -> bool:
        return role in self.bindings

    def feasible(self, arch_id: str) -> bool:
        if self._restrict is not None:
            self.candidates()
            if arch_id not in self._restrict:
                return False
        return self.constraints.feasible(arch_id)

    def candidates(self) -> list[str]:
        if self._candidates is None:
            ids = self._all_candidates()
            if self.constraints:
                mask = self.constraints.mask(ids)
                self.log(f"constraints {', '.join(self.constraints.describe())}: {int(mask.sum())} of {len(ids)} "
                         "candidates feasible")
                ids = [a for a, m in zip(ids, mask, strict=True) if m]
            if not ids:
                raise RunError("constraints: no candidate satisfies " + ", ".join(self.constraints.describe()))
            self._candidates = ids
        return self._candidates

    def _all_candidates(self) -> list[str]:
        from penas.spaces import SpaceNotFiniteError

        spec = self.config.candidates
        if spec == "auto":
            bench = self.gt.bench
            size = self.space.size
            if bench is not None and (size is None or len(bench) < size):
                spec = "benchmark"  # a sampled benchmark (e.g. the NB301 table): search inside it
            else:
                spec = "all" if size is not None and size <= 10**6 else "sample:1000"
            if spec == "all":
                try:
                    return [self.space.format(a) for a in self.space.enumerate()]
                except SpaceNotFiniteError:
                    spec = "sample:1000"
        if spec == "all":
            try:
                return [self.space.format(a) for a in self.space.enumerate()]
            except SpaceNotFiniteError:
                raise RunError(f"--candidates: space {self.space.name!r} cannot be enumerated; use benchmark "
                               "or sample:N") from None
        if spec == "benchmark":
            if self.gt.bench is None:
                raise RunError(f"--candidates: benchmark: no table for {self.space.name!r} ({self.gt.reason})")
            ids = sorted(str(a) for a in self.gt.bench.arch_ids)
            self._restrict = set(ids)
            return ids
        if spec.startswith("sample:"):
            try:
                n = int(spec.split(":", 1)[1])
            except ValueError:
                n = -1
            if n < 1:
                raise RunError(f"--candidates: expected all, benchmark, auto or sample:N with N >= 1, got {spec!r}")
            crng = np.random.default_rng([self.config.seed, 7])
            n = min(n, self.space.size) if self.space.size is not None else n
            return sorted(self.space.format(a) for a in self.space.sample_many(n, crng))
        raise RunError(f"--candidates: expected all, benchmark, auto or sample:N, got {spec!r}")

    def score_table(self, roles: Sequence[str], ids: Sequence[str]) -> dict[str, np.ndarray]:
        self._prefetch_zero_cost(list(roles), list(ids))
        return {r: self.score(r, ids) for r in roles}

    def score(self, role: str, ids: Sequence[str], epoch: int | None = None) -> np.ndarray:
        if role not in self.bindings:
            raise RunError(f"role: no estimator bound to {role!r}")
        key = role if epoch is None else f"{role}@{epoch}"
        cache = self._load_cache(key)
        todo = [a for a in dict.fromkeys(ids) if a not in cache]
        if todo:
            self._compute(role, key, todo, epoch, cache)
        return np.array([cache.get(a, math.nan) for a in ids], dtype=np.float64)

    def stage(self, name: str, fn: Callable[[], StageOutput]) -> StageOutput:
        self._fidelity = {}
        return run_stage(self.run_dir, self.stages, name, fn, console=self.console, on_done=self.on_stage_done,
                         fidelity=lambda: dict(self._fidelity), log=self.log)

    # --- scoring internals ----------------------------------------------------------------------
    def _load_cache(self, key: str) -> dict[str, float]:
        if key not in self._cache:
            d: dict[str, float] = {}
            p = self.run_dir.cache_path(key)
            if p.is_file():
                for line in p.read_text().splitlines():
                    try:
                        a, v = json.loads(line)
                    except ValueError:  # a torn last line from a kill: ignore it
                        continue
                    d[a] = math.nan if v is None else float(v)
            self._cache[key] = d
        return self._cache[key]

    def _append_cache(self, key: str, values: dict[str, float]) -> None:
        self._cache[key].update(values)
        with self.run_dir.cache_path(key).open("a") as f:
            for a, v in values.items():
                f.write(json.dumps([a, v if math.isfinite(v) else None]) + "\n")

    def estimator(self, role: str) -> Any:
        if role not in self._estimators:
            from penas.estimators import get_estimator

            b = self.bindings[role]
            self._estimators[role] = get_estimator(b.estimator, self.space, **b.cfg)
        return self._estimators[role]

    def _file_scores(self, b: Binding) -> dict[str, float]:
        if b.role not in self._files:
            from penas.spaces.benchmarks import load_score_file

            ids, vals = load_score_file(b.score_file, space=self.space.name)
            self._files[b.role] = {self.space.arch_id(a): float(v) for a, v in zip(ids, vals, strict=True)}
        return self._files[b.role]

    def _fidelity_of(self, b: Binding, est: Any | None) -> str:
        if b.score_file:
            return f"precomputed ({b.score_file})"
        fid = getattr(est, "fidelity", None)
        if fid:
            return str(fid)
        return "ground truth (table lookup)" if b.cost_kind == "gt" else "computed"

    def _compute(self, role: str, key: str, todo: list[str], epoch: int | None, cache: dict[str, float]) -> None:
        b = self.bindings[role]
        if b.score_file:
            table = self._file_scores(b)
            self._append_cache(key, {a: table.get(a, math.nan) for a in todo})
            self._fidelity[role] = self._fidelity_of(b, None)
            return
        est = self.estimator(role)
        self._fidelity[role] = self._fidelity_of(b, est)
        zc_source = getattr(est, "batches", None)
        if zc_source is not None and hasattr(est, "spec"):
            src = est.batches()[0].source
            what = "real CIFAR-10 images (shared PNGs)" if src.startswith("png") else (
                "SYNTHETIC Gaussian images (no real images found)" if src.startswith("synthetic") else src)
            self.log(f"zero-cost input batch: {src} -> {what}")
        stored: dict[str, float] = {}
        if self.store is not None and epoch is None:
            stored = self.store.get_many(self.space.name, est.name, est.config_hash, todo)
            if stored:
                self._append_cache(key, {a: float(est.oriented(np.array([v]))[0]) for a, v in stored.items()})
        rest = [a for a in todo if a not in stored]
        chunk = max(1, self.config.chunk)
        with self._progress(f"{key} ({len(rest)} archs)", len(rest)) as advance:
            for i in range(0, len(rest), chunk):
                part = rest[i : i + chunk]
                raw = est.score_at(part, epoch) if hasattr(est, "score_at") else est.score(part)
                raw = np.asarray(raw, dtype=np.float64)
                if self.store is not None and epoch is None:
                    self.store.put_many(self.space.name, est.name, est.config_hash,
                                        dict(zip(part, (float(x) for x in raw), strict=True)))
                self._append_cache(key, dict(zip(part, (float(x) for x in est.oriented(raw)), strict=True)))
                advance(len(part))

    def _prefetch_zero_cost(self, roles: list[str], ids: list[str]) -> None:
        """Compute missing zero-cost roles together (one build per arch for all proxies)."""
        group = [r for r in roles if r in self.bindings and not self.bindings[r].score_file]
        ests = {r: self.estimator(r) for r in group}
        zc = [r for r in group if hasattr(ests[r], "score_all") and hasattr(ests[r], "for_proxy")]
        if len(zc) < 2 or self.store is not None:
            return
        base = ests[zc[0]]
        same = [r for r in zc if {k: v for k, v in ests[r].config().items() if k != "estimator"}
                == {k: v for k, v in base.config().items() if k != "estimator"}]
        if len(same) < 2:
            return
        for r in same:
            self._load_cache(r)
        todo = [a for a in dict.fromkeys(ids) if any(a not in self._cache[r] for r in same)]
        if not todo:
            return
        for r in same:
            self._fidelity[r] = "computed"
        src = base.batches()[0].source
        self.log(f"zero-cost input batch: {src} -> " + (
            "real CIFAR-10 images (shared PNGs)" if src.startswith("png") else
            "SYNTHETIC Gaussian images (no real images found)" if src.startswith("synthetic") else src))
        proxies = [ests[r].name for r in same]
        chunk = max(1, self.config.chunk)
        with self._progress(f"zero-cost {'+'.join(proxies)} ({len(todo)} archs)", len(todo)) as advance:
            for i in range(0, len(todo), chunk):
                part = todo[i : i + chunk]
                table = base.score_all(part, proxies)
                for r in same:
                    e = ests[r]
                    self._append_cache(r, dict(zip(part, (float(x) for x in e.oriented(table[e.name])), strict=True)))
                advance(len(part))

    def _progress(self, label: str, total: int) -> Any:
        return _Progress(self.console if self.config.progress else None, label, total)

    # --- accounting & summary ---------------------------------------------------------------------
    def accounting(self) -> dict[str, Any]:
        full = FULL_EPOCHS.get(self.space.name)
        epochs_by_arch: dict[str, int] = {}
        gt_archs: set[str] = set()
        for rec in self.stages:
            for key, m in rec.output.scores.items():
                role, _, ep = key.partition("@")
                b = self.bindings.get(role)
                if b is None:
                    continue
                if b.cost_kind == "epochs" and ep:
                    for a in m:
                        epochs_by_arch[a] = max(epochs_by_arch.get(a, 0), int(ep))
                elif b.cost_kind == "gt":
                    gt_archs.update(m)
        evaluated = set(epochs_by_arch) | gt_archs
        epochs = sum(epochs_by_arch.values()) + (len(gt_archs) * full if full else 0)
        return {
            "archs_fully_evaluated": len(evaluated),
            "archs_trained_partially": len(epochs_by_arch),
            "gt_lookups": len(gt_archs),
            "epochs": epochs,
            "full_training_epochs": full,
            "full_training_equivalents": (epochs / full) if full else None,
            "cpu_s": sum(r.cpu_s for r in self.stages),
            "wall_s": sum(r.wall_s for r in self.stages),
            "stages": [
                {"name": r.name, "kept": len(r.output.kept), "cpu_s": round(r.cpu_s, 3), "wall_s": round(r.wall_s, 3),
                 "resumed": r.resumed, "fidelity": r.fidelity}
                for r in self.stages
            ],
        }

    def result(self, outcome: SearchOutcome) -> dict[str, Any]:
        res: dict[str, Any] = {
            "space": self.space.name,
            "strategy": self.config.strategy,
            "seed": self.config.seed,
            "chosen": outcome.best_id,
            "estimated_score": outcome.estimated_score,
            "estimated_by": outcome.estimated_by,
            "n_candidates": len(self.candidates()),
            "constraints": self.constraints.describe(),
            "accounting": self.accounting(),
            "strategy_info": outcome.info,
            "notes": list(self.notes),
        }
        tab = sorted({f"{r.name}: {fid}" for r in self.stages for role, fid in r.fidelity.items()
                      if fid.startswith("tabular")})
        res["tabular_stages"] = tab
        if self.gt.available:
            ids, col = self.gt.column()
            cand = set(self.candidates())
            mask = np.array([a in cand for a in ids]) & np.isfinite(col)
            v = float(self.gt.values([outcome.best_id])[0])
            best_all = float(np.nanmax(col))
            best_feas = float(np.max(col[mask])) if mask.any() else math.nan
            res["gt"] = {
                "metric": self.gt.metric, "dataset": self.gt.dataset, "value": v,
                "rank": int(np.sum(col > v)) + 1 if math.isfinite(v) else None, "n": int(np.isfinite(col).sum()),
                "best": best_all, "regret": best_all - v if math.isfinite(v) else None,
                "best_among_candidates": best_feas,
                "regret_among_candidates": best_feas - v if math.isfinite(v) else None,
                "reached_optimum": bool(math.isfinite(v) and v >= best_all - 1e-9),
            }
        else:
            res["gt"] = None
            res["gt_unavailable"] = self.gt.reason or f"no {self.gt.metric!r} on {self.gt.dataset!r}"
        return res


class _Progress:
    """A rich progress bar (or nothing when ``console`` is None)."""

    def __init__(self, console: Any, label: str, total: int) -> None:
        self.console, self.label, self.total = console, label, total
        self._p: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if self.console is None or self.total <= 0:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           console=self.console, transient=False)
        self._p.start()
        task = self._p.add_task(self.label, total=self.total)
        return lambda n: self._p.advance(task, n)

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.stop()
