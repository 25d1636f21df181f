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
* ``charged_runtime_s``: training seconds those evaluations stand for, per stage and in total, where
  the ground truth predicts a runtime (the NB301 surrogate for ``darts``): a partial-training stage
  is charged the surrogate's runtime to its epoch (``runtime_cost_s`` of the partial-training
  estimator), a GT lookup the full training's runtime; ``None`` where no runtime is known;
* CPU (``time.process_time``) and wall seconds per stage.

Ground truth (``gt_source``, :mod:`penas.app.ground_truth`): a table lists its archs, so the chosen
arch's rank is among all of them; a surrogate covers the whole space, so the rank percentile is among
uniformly sampled genotypes.
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

from penas.estimators.scoring import cached_scores
from penas.estimators.simple import OracleEstimator
from penas.spaces import Space
from penas.spaces.candidates import select_candidates

from .configs import SearchConfig
from .ground_truth import SURROGATE_CANDIDATES, SURROGATE_REFERENCE, gt_summary, resolve_gt_source
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

    def __init__(self, space: Space, items: Sequence[Constraint], gt: OracleEstimator) -> None:
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


# --- run directory --------------------------------------------------------------------------
class RunDir:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def init(self, config: SearchConfig) -> None:
        if (self.path / "config.json").exists() and self.stage_files():
            raise RunError(f"--out: {self.path} already holds a run; use --resume {self.path} or another --out")
        # A run that failed before its first stage finished holds nothing worth keeping: reuse it.
        (self.path / "stages").mkdir(parents=True, exist_ok=True)
        _write_json(self.path / "config.json", config.to_dict())

    def load_config(self) -> SearchConfig:
        p = self.path / "config.json"
        if not p.is_file():
            raise RunError(f"--resume: {self.path} has no config.json (not a search run directory)")
        return SearchConfig.from_dict(json.loads(p.read_text()))

    def stage_path(self, index: int, name: str) -> Path:
        safe = name.replace("@", "-e").replace("/", "_").replace(":", "_")
        return self.path / "stages" / f"{index:02d}-{safe}.json"

    @property
    def store_path(self) -> Path:
        """The run's own score store (used when no ``--store`` is given)."""
        return self.path / "scores.db"

    def stage_files(self) -> list[Path]:
        return sorted((self.path / "stages").glob("*.json"))


def _write_json(path: Path, obj: Any) -> None:
    from penas.spaces.atomic_io import atomic_write_json  # the one atomic writer

    atomic_write_json(path, obj, indent=1, default=_json_default, allow_nan=True)


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


ProgressFn = Callable[[str, int, int], None]  # (label, archs done, archs to compute)


class SearchRun:
    """A :class:`SearchContext` backed by estimators, the score store and a run directory.

    ``store``: the :class:`~penas.estimators.store.ScoreStore` every score goes through
    (default: ``RUN_DIR/scores.db``). ``progress(label, done, total)`` is called while scores are
    computed (when ``config.progress``); ``console`` (anything with ``print``) gets the notes.
    ``reference_samples``: genotypes the rank percentile of a surrogate GT is taken among.
    """

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
        progress: ProgressFn | None = None,
        reference_samples: int = SURROGATE_REFERENCE,
    ) -> None:
        self.space = space
        self.reference_samples = int(reference_samples)
        self.config = config
        self.bindings = bindings
        self.run_dir = run_dir
        self.rng = np.random.default_rng(config.seed)
        if store is None:
            from penas.estimators.store import ScoreStore

            store = ScoreStore(run_dir.store_path)
        self.store = store
        if hasattr(store, "hold_open"):
            store.hold_open()  # many small score calls: no WAL checkpoint on every close
        self.console = console
        self.on_stage_done = on_stage_done
        self.progress = progress if config.progress else None
        self.gt = OracleEstimator(space, dataset=config.gt_dataset, metric=config.gt_metric,
                                  gt_source=resolve_gt_source(space.name, config.gt_source))
        items = [Constraint.parse_latency(t) for t in config.max_latency]
        if config.max_flops is not None:
            items.append(Constraint("flops", float(config.max_flops)))
        if config.max_params is not None:
            items.append(Constraint("params", float(config.max_params)))
        self.constraints = Constraints(space, items, self.gt)
        self.stages: list[StageRecord] = []
        self.notes: list[str] = []
        self._estimators: dict[str, Any] = {}
        self._scores: dict[str, dict[str, float]] = {}  # oriented scores already read, per role[@epoch]
        self._files: dict[str, dict[str, float]] = {}
        self._candidates: list[str] | None = None
        self._fidelity: dict[str, str] = {}
        self._restrict: set[str] | None = None  # candidates from a benchmark table: stay inside it

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
            spec, bench = self.config.candidates, self.gt.bench
            if not self.gt.is_table:  # a surrogate over the whole space: sample genotypes
                bench = None
                if spec == "auto":
                    spec = f"sample:{SURROGATE_CANDIDATES}"
                if spec.startswith("sample:"):
                    self.log(f"candidates: {spec[len('sample:'):]} genotypes sampled uniformly from the {self.space.name} "
                             f"space (seed [{self.config.seed}, 7]); GT = surrogate")
            try:
                sel = select_candidates(self.space, spec, [self.config.seed, 7], bench,
                                        option="--candidates", bench_reason=self.gt.reason, allow_auto=True,
                                        sort_samples=True)
            except ValueError as e:
                raise RunError(str(e)) from None
            ids = sel.ids
            if sel.spec == "benchmark":
                self._restrict = set(ids)
            if self.constraints:
                mask = self.constraints.mask(ids)
                self.log(f"constraints {', '.join(self.constraints.describe())}: {int(mask.sum())} of {len(ids)} "
                         "candidates feasible")
                ids = [a for a, m in zip(ids, mask, strict=True) if m]
            if not ids:
                raise RunError("constraints: no candidate satisfies " + ", ".join(self.constraints.describe()))
            self._candidates = ids
        return self._candidates

    def score_table(self, roles: Sequence[str], ids: Sequence[str]) -> dict[str, np.ndarray]:
        self._prefetch_zero_cost(list(roles), list(ids))
        return {r: self.score(r, ids) for r in roles}

    def score(self, role: str, ids: Sequence[str], epoch: int | None = None) -> np.ndarray:
        if role not in self.bindings:
            raise RunError(f"role: no estimator bound to {role!r}")
        key = role if epoch is None else f"{role}@{epoch}"
        seen = self._scores.setdefault(key, {})
        todo = [a for a in dict.fromkeys(ids) if a not in seen]
        if todo:
            self._compute(role, key, todo, epoch)
        return np.array([seen.get(a, math.nan) for a in ids], dtype=np.float64)

    def cost_s(self, role: str, ids: Sequence[str], epoch: int | None = None) -> np.ndarray | None:
        b = self.bindings.get(role)
        if b is None:
            raise RunError(f"role: no estimator bound to {role!r}")
        if b.cost_kind == "gt":
            return self._gt_runtime(list(ids))
        if b.cost_kind == "epochs" and epoch is not None and self._surrogate_runtime(role):
            return np.asarray(self.estimator(role).runtime_s(list(ids), epoch), dtype=np.float64)
        return None if b.cost_kind == "epochs" else np.zeros(len(ids))

    def _gt_runtime(self, ids: list[str]) -> np.ndarray | None:
        """Full-training runtime (s) of ``ids`` from the ground truth, or None when it has none."""
        b = self.gt.bench
        try:
            if b is None or "runtime" not in b.metrics(self.gt.dataset):
                return None
        except ValueError:
            return None
        if not ids:
            return np.zeros(0)
        if not self.gt.is_table:
            return np.asarray(b.table("runtime", self.gt.dataset, ids), dtype=np.float64)
        out = np.full(len(ids), np.nan)
        for i, a in enumerate(ids):
            try:
                out[i] = float(b.query(a, "runtime", self.gt.dataset))
            except ValueError:
                pass
        return out

    def _surrogate_runtime(self, role: str) -> bool:
        b = self.bindings[role]
        return not b.score_file and hasattr(self.estimator(role), "runtime_cost_s") \
            and self.estimator(role).cfg.get("gt_source") == "surrogate"

    def stage(self, name: str, fn: Callable[[], StageOutput]) -> StageOutput:
        self._fidelity = {}
        return run_stage(self.run_dir, self.stages, name, fn, console=self.console, on_done=self.on_stage_done,
                         fidelity=lambda: dict(self._fidelity), log=self.log)

    # --- scoring internals ----------------------------------------------------------------------
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
        if b.cost_kind == "gt":
            return "ground truth (table lookup)" if getattr(est, "is_table", True) else "ground truth (surrogate)"
        return "computed"

    def _log_batch_source(self, est: Any) -> None:
        if hasattr(est, "batches") and hasattr(est, "spec"):  # a zero-cost estimator
            src = est.batches()[0].source
            what = "real CIFAR-10 images (shared PNGs)" if src.startswith("png") else (
                "SYNTHETIC Gaussian images (no real images found)" if src.startswith("synthetic") else (
                    "real CIFAR-10 training images" if src.startswith("cifar10") else src))
            self.log(f"zero-cost input batch: {src} -> {what}")

    def _cached(self, est: Any, label: str, todo: list[str]) -> Any:
        cb = self.progress
        progress = (lambda done, total: cb(label, done, total)) if cb is not None else None
        return cached_scores(est, todo, self.store, progress=progress, shard_size=max(1, self.config.chunk))

    def _compute(self, role: str, key: str, todo: list[str], epoch: int | None) -> None:
        b = self.bindings[role]
        if b.score_file:
            table = self._file_scores(b)
            self._scores[key].update({a: table.get(a, math.nan) for a in todo})
            self._fidelity[role] = self._fidelity_of(b, None)
            return
        est = self.estimator(role)
        self._fidelity[role] = self._fidelity_of(b, est)
        self._log_batch_source(est)
        if epoch is not None and hasattr(est, "at_epoch"):
            est = est.at_epoch(epoch)  # its own config hash: one store key per epoch
        col = self._cached(est, f"{key} ({len(todo)} archs)", todo).one()
        self._scores[key].update(zip(todo, (float(x) for x in col.oriented()), strict=True))

    def _prefetch_zero_cost(self, roles: list[str], ids: list[str]) -> None:
        """Compute missing zero-cost roles together (one build per arch for all proxies)."""
        group = [r for r in roles if r in self.bindings and not self.bindings[r].score_file]
        ests = {r: self.estimator(r) for r in group}
        zc = [r for r in group if hasattr(ests[r], "with_proxies")]
        if len(zc) < 2:
            return
        base = ests[zc[0]]
        same = [r for r in zc if {k: v for k, v in ests[r].config().items() if k != "estimator"}
                == {k: v for k, v in base.config().items() if k != "estimator"}]
        if len(same) < 2:
            return
        todo = [a for a in dict.fromkeys(ids) if any(a not in self._scores.get(r, {}) for r in same)]
        if not todo:
            return
        for r in same:
            self._fidelity[r] = "computed"
        self._log_batch_source(base)
        proxies = [ests[r].name for r in same]
        table = self._cached(base.with_proxies(proxies), f"zero-cost {'+'.join(proxies)} ({len(todo)} archs)", todo)
        for r in same:
            col = table[ests[r].name]
            self._scores.setdefault(r, {}).update(zip(todo, (float(x) for x in col.oriented()), strict=True))

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
        runtime = self._runtime_by_stage()
        known = [r for r in runtime if r is not None]
        return {
            "archs_fully_evaluated": len(evaluated),
            "archs_trained_partially": len(epochs_by_arch),
            "gt_lookups": len(gt_archs),
            "epochs": epochs,
            "full_training_epochs": full,
            "full_training_equivalents": (epochs / full) if full else None,
            "charged_runtime_s": float(sum(known)) if known else None,
            "cpu_s": sum(r.cpu_s for r in self.stages),
            "wall_s": sum(r.wall_s for r in self.stages),
            "stages": [
                {"name": r.name, "kept": len(r.output.kept), "cpu_s": round(r.cpu_s, 3), "wall_s": round(r.wall_s, 3),
                 "resumed": r.resumed, "fidelity": r.fidelity, "epochs": ep, "charged_runtime_s": rt}
                for r, ep, rt in zip(self.stages, self._epochs_by_stage(), runtime, strict=True)
            ],
        }

    def _charged_roles(self, rec: StageRecord) -> list[tuple[Binding, str, str, dict[str, float]]]:
        """(binding, role, epoch text, scores) of the charged roles a stage scored."""
        out = []
        for key, m in rec.output.scores.items():
            role, _, ep = key.partition("@")
            b = self.bindings.get(role)
            if b is not None and (b.cost_kind == "gt" or (b.cost_kind == "epochs" and ep)):
                out.append((b, role, ep, m))
        return out

    def _epochs_by_stage(self) -> list[int]:
        """Training epochs each stage added (partial training: beyond an arch's earlier epochs)."""
        full = FULL_EPOCHS.get(self.space.name) or 0
        reached: dict[str, int] = {}
        gt: set[str] = set()
        out = []
        for rec in self.stages:
            n = 0
            for b, _, ep, m in self._charged_roles(rec):
                if b.cost_kind == "gt":
                    n += full * len(set(m) - gt)
                    gt.update(m)
                    continue
                for a in m:
                    n += max(0, int(ep) - reached.get(a, 0))
                    reached[a] = max(reached.get(a, 0), int(ep))
            out.append(n)
        return out

    def _runtime_by_stage(self) -> list[float | None]:
        """Training runtime (s) each stage charged: a partial-training stage on a surrogate GT the
        estimator's ``runtime_cost_s`` growth over the archs it scored, a GT lookup the full training's
        runtime of each new arch; ``None`` where no runtime is known (recomputed from the stage files)."""
        epochs: dict[str, list[int]] = {}
        gt: set[str] = set()
        out: list[float | None] = []
        for rec in self.stages:
            charged: float | None = None
            for b, role, ep, m in self._charged_roles(rec):
                if b.cost_kind == "gt":
                    new = sorted(set(m) - gt)
                    rt = self._gt_runtime(new)
                    if rt is not None:
                        gt.update(new)
                        charged = (charged or 0.0) + float(np.nansum(rt))
                elif self._surrogate_runtime(role):
                    est = self.estimator(role)
                    before = est.runtime_cost_s({a: epochs[a] for a in m if a in epochs})
                    for a in m:
                        epochs.setdefault(a, []).append(int(ep))
                    charged = (charged or 0.0) + est.runtime_cost_s({a: epochs[a] for a in m}) - before
            out.append(charged)
        return out

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
        acc = res["accounting"]
        tab = []
        for r, st in zip(self.stages, acc["stages"], strict=True):
            fids = sorted({fid for fid in r.fidelity.values() if fid.startswith(("tabular", "surrogate"))})
            if fids:
                rt = st["charged_runtime_s"]
                tab.append(f"{r.name}: {', '.join(fids)}, charged {st['epochs']} epochs"
                           + (f" / {rt:.0f} s" if rt is not None else ""))
        res["tabular_stages"] = tab
        if self.gt.available:
            res["gt"] = gt_summary(self.gt, self.space, outcome.best_id, self.candidates(), self.reference_samples)
        else:
            res["gt"] = None
            res["gt_unavailable"] = self.gt.reason or f"no {self.gt.metric!r} on {self.gt.dataset!r}"
        return res
