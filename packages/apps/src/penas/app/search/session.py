"""The one search session of both searches: :class:`SearchSession` implements the strategies'
:class:`~penas.app.strategies.base.SearchContext` on top of role bindings, the score store, the
constraints and a resumable run directory.

* **Roles.** A strategy declares the roles it scores (:meth:`Strategy.roles`); the search binds
  an estimator to each (:class:`Binding`): a registered estimator, a precomputed score file, one
  column of a ready multi-output estimator (the segmentation scorers), or a score derived from
  other roles. Every computed score goes through
  :func:`~penas.estimators.scoring.cached_scores` into the session's
  :class:`~penas.estimators.store.ScoreStore`, so a resumed run reuses what a killed one stored.
* **Candidates.** A :class:`CandidateSource` draws the candidate set once (a benchmark's archs or
  a sample, :class:`penas.app.search.cell.TableCandidates`; FLOPs-feasible random configs,
  :class:`penas.app.search.segmentation.SampledCandidates`).
* **Constraints.** FLOPs / params / latency are :class:`~.constraints.Constraints` like any other;
  :meth:`SearchSession.feasible` answers them (and keeps a benchmark-table search inside its table).
* **Stages.** :meth:`SearchSession.stage` runs or reloads one stage (:func:`~.run_dir.run_stage`),
  recording the fidelity of every estimator the stage read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from penas.estimators.scoring import cached_scores
from penas.spaces import Space

from ..strategies.base import StageOutput
from .constraints import Constraints
from .run_dir import RunDir, RunError, StageRecord, run_stage

# How a role's estimator is charged: "gt" = one full training per arch, "epochs" = per epoch.
COST_KIND: dict[str, str] = {"oracle": "gt", "partial_training": "epochs"}

ProgressFn = Callable[[str, int, int], None]  # (label, archs done, archs to compute)


@dataclass
class Binding:
    """The estimator behind one role.

    ``estimator`` + ``cfg``: a registered estimator; ``score_file``: precomputed scores;
    ``source`` + ``column``: column ``column`` of a ready (multi-output) estimator, whose one pass
    fills every role bound to it; ``derive(session, ids)``: oriented scores computed from other
    roles. ``cost`` overrides how the role is charged (``"gt"`` | ``"epochs"`` | ``"cheap"``).
    """

    role: str
    estimator: str
    cfg: dict[str, Any] = field(default_factory=dict)
    score_file: str | None = None
    cost: str | None = None  # override: "gt" | "epochs" | "cheap" (e.g. an oracle used as a proxy)
    source: Any = None
    column: str | None = None
    derive: Callable[[Any, Sequence[str]], np.ndarray] | None = None

    @property
    def cost_kind(self) -> str:
        if self.cost is not None:
            return self.cost
        return "precomputed" if self.score_file else COST_KIND.get(self.estimator, "cheap")


class CandidateSource(Protocol):
    """Draws the candidate set of a session once. ``restricts``: after :meth:`draw`, whether an
    arch outside the drawn set is infeasible (a benchmark table's archs)."""

    restricts: bool

    def draw(self, session: SearchSession) -> list[str]: ...


class SearchSession:
    """A :class:`~penas.app.strategies.base.SearchContext` backed by role bindings, the score
    store, constraints and a run directory (both searches).

    Parameters
    ----------
    space : Space
        The searched space.
    bindings : dict
        ``{role: Binding}``.
    run_dir : RunDir
        Where stages are stored (and the default store lives).
    seed : int
        Seeds :attr:`rng` and :meth:`stage_rng`.
    candidates : CandidateSource
        Draws :meth:`candidates`.
    constraints : Constraints, optional
        The run's hardware constraints (none by default).
    gt : OracleEstimator, optional
        The ground truth: full-training runtimes for the cost of GT lookups.
    sampler : FlopsSampler, optional
        Feasible sampling in a config space (offered to strategies that draw their own configs).
    store : ScoreStore, optional
        Every score goes through it (default: ``run_dir.store_path``).
    console : optional
        Anything with ``print``: stage lines and notes.
    on_stage_done : callable, optional
        Called with each computed :class:`StageRecord`.
    progress : callable, optional
        ``progress(label, done, total)`` while scores are computed.
    shard_size : int
        Archs per store transaction.
    """

    def __init__(self, space: Space, bindings: dict[str, Binding], run_dir: RunDir, *, seed: int,
                 candidates: CandidateSource, constraints: Constraints | None = None, gt: Any = None,
                 sampler: Any = None, store: Any = None, console: Any = None,
                 on_stage_done: Callable[[StageRecord], None] | None = None, progress: ProgressFn | None = None,
                 shard_size: int = 25) -> None:
        self.space, self.bindings, self.run_dir, self.seed = space, bindings, run_dir, int(seed)
        self.rng = np.random.default_rng(seed)
        if store is None:
            from penas.estimators.store import ScoreStore

            store = ScoreStore(run_dir.store_path)
        self.store = store
        if hasattr(store, "hold_open"):
            store.hold_open()  # many small score calls: no WAL checkpoint on every close
        self.gt, self.sampler = gt, sampler
        self.constraints = constraints if constraints is not None else Constraints(space, [], gt)
        self.console, self.on_stage_done, self.progress = console, on_stage_done, progress
        self.shard_size = max(1, int(shard_size))
        self.stages: list[StageRecord] = []
        self.notes: list[str] = []
        self.computed: dict[str, int] = {}  # archs computed, per estimator name
        self.used: dict[str, Any] = {}  # estimators asked for scores, by name
        self._source = candidates
        self._estimators: dict[str, Any] = {}
        self._scores: dict[str, dict[str, float]] = {}  # oriented scores already read, per role[@epoch]
        self._files: dict[str, dict[str, float]] = {}
        self._candidates: list[str] | None = None
        self._pool: set[str] | None = None  # candidates from a benchmark table: stay inside it
        self._fidelity: dict[str, str] = {}

    # --- SearchContext ------------------------------------------------------------------------
    def log(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)
        if self.console is not None:
            self.console.print(f"[dim]{message}[/dim]")

    def has_role(self, role: str) -> bool:
        return role in self.bindings

    def feasible(self, arch_id: str) -> bool:
        if self._pool is not None and arch_id not in self._pool:
            return False
        return self.constraints.feasible(arch_id)

    def candidates(self) -> list[str]:
        if self._candidates is None:
            ids = self._source.draw(self)
            if not ids:
                raise RunError("constraints: no candidate satisfies " + ", ".join(self.constraints.describe()))
            self._candidates = ids
            if self._source.restricts:
                self._pool = set(ids)
        return self._candidates

    def score_table(self, roles: Sequence[str], ids: Sequence[str]) -> dict[str, np.ndarray]:
        self._prefetch_zero_cost(list(roles), list(ids))
        return {r: self.score(r, ids) for r in roles}

    def score(self, role: str, ids: Sequence[str], epoch: int | None = None) -> np.ndarray:
        b = self._binding(role)
        if b.derive is not None:
            return np.asarray(b.derive(self, ids), dtype=np.float64)
        key = role if epoch is None else f"{role}@{epoch}"
        seen = self._scores.setdefault(key, {})
        todo = [a for a in dict.fromkeys(ids) if a not in seen]
        if todo:
            self._compute(role, key, todo, epoch)
        return np.array([seen.get(a, math.nan) for a in ids], dtype=np.float64)

    def cost_s(self, role: str, ids: Sequence[str], epoch: int | None = None) -> np.ndarray | None:
        b = self._binding(role)
        if b.cost_kind == "gt":
            return self.gt_runtime(list(ids))
        if b.cost_kind == "epochs" and epoch is not None and self.surrogate_runtime(role):
            return np.asarray(self.estimator(role).runtime_s(list(ids), epoch), dtype=np.float64)
        return None if b.cost_kind == "epochs" else np.zeros(len(ids))

    def stage(self, name: str, fn: Callable[[], StageOutput]) -> StageOutput:
        self._fidelity = {}
        return run_stage(self.run_dir, self.stages, name, fn, console=self.console, on_done=self.on_stage_done,
                         fidelity=lambda: dict(self._fidelity), log=self.log)

    def stage_rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 1000 + index])

    def stage_outputs(self) -> list[StageOutput]:
        return [r.output for r in self.stages]

    # --- costs --------------------------------------------------------------------------------
    def gt_runtime(self, ids: list[str]) -> np.ndarray | None:
        """Full-training runtime (s) of ``ids`` from the ground truth, or None when it has none."""
        b = None if self.gt is None else self.gt.bench
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

    def surrogate_runtime(self, role: str) -> bool:
        """Whether ``role``'s estimator charges a surrogate's predicted training runtime."""
        b = self.bindings[role]
        if b.score_file or b.derive is not None:
            return False
        est = self.estimator(role)
        return hasattr(est, "runtime_cost_s") and est.cfg.get("gt_source") == "surrogate"

    # --- scoring internals ----------------------------------------------------------------------
    def _binding(self, role: str) -> Binding:
        if role not in self.bindings:
            raise RunError(f"role: no estimator bound to {role!r}")
        return self.bindings[role]

    def estimator(self, role: str) -> Any:
        """The estimator object behind ``role`` (built once)."""
        if role not in self._estimators:
            b = self.bindings[role]
            if b.source is not None:
                self._estimators[role] = b.source
            else:
                from penas.estimators import get_estimator

                self._estimators[role] = get_estimator(b.estimator, self.space, **b.cfg)
        return self._estimators[role]

    def _file_scores(self, b: Binding) -> dict[str, float]:
        if b.role not in self._files:
            from .. import checks

            have = checks.load_scores(b.score_file, self.space.name, "--score-file")
            self._files[b.role] = {self.space.arch_id(a): v for a, v in have.items()}
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
        """``cached_scores`` of ``todo``; counts the archs computed under the estimator's name."""
        total = [0]

        def progress(done: int, n: int) -> None:
            total[0] = n
            if self.progress is not None:
                self.progress(label, done, n)

        table = cached_scores(est, todo, self.store, progress=progress, shard_size=self.shard_size)
        name = str(getattr(est, "name", label))
        self.used.setdefault(name, est)
        if total[0]:
            self.computed[name] = self.computed.get(name, 0) + total[0]
        return table

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
        if b.source is not None:  # one pass fills every role bound to this source
            table = self._cached(est, str(est.name), todo)
            for r, other in self.bindings.items():
                if other.source is est:
                    col = table[other.column or next(iter(table))]
                    self._scores.setdefault(r, {}).update(zip(todo, (float(x) for x in col.oriented()), strict=True))
            return
        if epoch is not None and hasattr(est, "at_epoch"):
            est = est.at_epoch(epoch)  # its own config hash: one store key per epoch
        col = self._cached(est, f"{key} ({len(todo)} archs)", todo).one()
        self._scores[key].update(zip(todo, (float(x) for x in col.oriented()), strict=True))

    def _prefetch_zero_cost(self, roles: list[str], ids: list[str]) -> None:
        """Compute missing zero-cost roles together (one build per arch for all proxies)."""
        group = [r for r in roles if r in self.bindings and not self.bindings[r].score_file
                 and self.bindings[r].source is None and self.bindings[r].derive is None]
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


__all__ = ["COST_KIND", "Binding", "CandidateSource", "ProgressFn", "SearchSession"]
