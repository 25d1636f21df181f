"""The strategy layer: what to evaluate next, separated from how scores are computed
(estimators) and where they are kept (the run directory).

A strategy only talks to a :class:`SearchContext`. The context (the one search session of both
searches, :class:`penas.app.search.session.SearchSession`) owns the estimators, the score caches,
the constraints and the resumable stage outputs; a test can give a strategy any small context (see
``tests/app/test_strategies_*.py``). A strategy declares the estimator roles it scores
(:meth:`Strategy.roles`); the search binds an estimator to each of them, so nothing dispatches on
the strategy's type.

Two shapes of strategy exist:

* :class:`AskTellStrategy` -- ``ask() -> ids`` / ``tell(ids, scores)`` (random search, REA),
  driven by :meth:`AskTellStrategy.run` until the evaluation budget is spent;
* staged strategies (PE-NAS) that override :meth:`Strategy.run` and call
  :meth:`SearchContext.stage` once per pruning stage.

Scores handed to strategies are always *oriented* (higher is better), NaN for invalid.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from penas.spaces import Space


@dataclass
class StageOutput:
    """What one stage decided: the ids it kept and the (oriented) scores it looked at.

    ``scores`` maps a role (e.g. ``"zc:nwot"``, ``"partial@3"``) to ``{arch_id: score}``.
    """

    kept: list[str]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kept": list(self.kept), "scores": self.scores, "info": self.info}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageOutput:
        return cls(list(d["kept"]), {k: dict(v) for k, v in d.get("scores", {}).items()}, dict(d.get("info", {})))


@dataclass
class SearchOutcome:
    """The strategy's answer: the chosen arch and the score the strategy believes it has."""

    best_id: str
    estimated_score: float
    estimated_by: str
    n_evaluations: int = 0
    info: dict[str, Any] = field(default_factory=dict)


class SearchContext(Protocol):
    """Everything a strategy may use (implemented by :class:`penas.app.search.session.SearchSession`).

    A session over a space with a sampler of feasible configs (the FLOPs-constrained TopFormer
    search) also offers ``sampler`` (:class:`penas.app.search.constraints.FlopsSampler`); the
    alternating search uses it.
    """

    space: Space
    rng: np.random.Generator

    def candidates(self) -> list[str]:
        """The candidate set (canonical ids) after hardware constraints, in a fixed order."""
        ...

    def feasible(self, arch_id: str) -> bool:
        """Whether ``arch_id`` satisfies the run's hardware constraints."""
        ...

    def score(self, role: str, ids: Sequence[str], epoch: int | None = None) -> np.ndarray:
        """Oriented scores of ``ids`` under the estimator bound to ``role``."""
        ...

    def score_table(self, roles: Sequence[str], ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Several roles at once (zero-cost proxies share one build per arch)."""
        ...

    def has_role(self, role: str) -> bool:
        """Whether an estimator is bound to ``role`` (a skipped stage has none)."""
        ...

    def cost_s(self, role: str, ids: Sequence[str], epoch: int | None = None) -> np.ndarray | None:
        """Training runtime (s) charged for scoring ``ids`` under ``role`` (a GT lookup: one full
        training each), or ``None`` when the ground truth predicts no runtime."""
        ...

    def stage(self, name: str, fn: Callable[[], StageOutput]) -> StageOutput:
        """Run ``fn`` as a named stage, or load its stored output when resuming."""
        ...

    def stage_rng(self, index: int) -> np.random.Generator:
        """The RNG of stage ``index``: the same whether or not earlier stages were resumed."""
        ...

    def stage_outputs(self) -> list[StageOutput]:
        """The outputs of the stages run (or loaded) so far, in order."""
        ...

    def log(self, message: str) -> None: ...


class Strategy(ABC):
    """A search strategy. ``name`` is its registry name; ``params()`` its settings.

    ``roles()`` names the estimator roles it scores (``"fitness"``, ``"zc:<proxy>"``,
    ``"one_shot"``, ``"partial"``, ``"miou"``, ``"finetune"``): the search binds those its
    configuration provides, and the strategy checks the optional ones with
    :meth:`SearchContext.has_role`.
    """

    name: str = ""
    #: Whether every arch it evaluates is one of ``ctx.candidates()`` (random search): a fitness
    #: ranked within that pool is then meaningful. Mutation-based strategies leave the pool.
    evaluates_candidates_only: bool = False

    def params(self) -> dict[str, Any]:
        return {}

    def roles(self) -> tuple[str, ...]:
        """The estimator roles this strategy may score."""
        return ()

    def pool_size(self) -> int:
        """How many candidates it takes from ``ctx.candidates()`` where the session samples the
        candidate set itself (1: the strategy draws its own archs)."""
        return 1

    @abstractmethod
    def run(self, ctx: SearchContext) -> SearchOutcome: ...


class AskTellStrategy(Strategy):
    """Propose / observe loop. ``budget`` counts fitness evaluations (cache hits included).

    ``runtime_budget_s``: also stop once the training runtime charged for the distinct archs
    evaluated (:meth:`SearchContext.cost_s`) reaches this many seconds -- the way a baseline gets
    the same charged runtime as a PE-NAS run. The arch that crosses the budget is still counted.
    """

    fitness_role = "fitness"

    def roles(self) -> tuple[str, ...]:
        return (self.fitness_role,)

    def __init__(self, budget: int, runtime_budget_s: float | None = None) -> None:
        if budget < 1:
            raise ValueError(f"budget: expected a positive number of evaluations, got {budget}")
        if runtime_budget_s is not None and not runtime_budget_s > 0:
            raise ValueError(f"runtime_budget: expected a positive number of seconds, got {runtime_budget_s}")
        self.budget = int(budget)
        self.runtime_budget_s = None if runtime_budget_s is None else float(runtime_budget_s)
        self.history: list[tuple[str, float]] = []

    @abstractmethod
    def reset(self, ctx: SearchContext) -> None:
        """Start a fresh search (called by :meth:`run`)."""

    @abstractmethod
    def ask(self, remaining: int) -> list[str]:
        """Up to ``remaining`` ids to evaluate next (empty: nothing left to propose)."""

    @abstractmethod
    def tell(self, ids: Sequence[str], scores: np.ndarray) -> None: ...

    def best(self) -> tuple[str, float]:
        """Best evaluated (id, score); ties -> the earliest evaluated."""
        if not self.history:
            raise ValueError("search: no architecture was evaluated")
        finite = [(i, h) for i, h in enumerate(self.history) if np.isfinite(h[1])]
        if not finite:
            return self.history[0]
        i, (aid, s) = max(finite, key=lambda t: (t[1][1], -t[0]))
        return aid, s

    def run(self, ctx: SearchContext) -> SearchOutcome:
        def search() -> StageOutput:
            self.reset(ctx)
            self.history = []
            spent, paid = 0.0, set[str]()
            while len(self.history) < self.budget:
                if self.runtime_budget_s is not None and spent >= self.runtime_budget_s:
                    break
                ids = self.ask(self.budget - len(self.history))
                if not ids:
                    break
                if self.runtime_budget_s is not None:
                    new = [a for a in dict.fromkeys(ids) if a not in paid]
                    cost = ctx.cost_s(self.fitness_role, new) if new else np.zeros(0)
                    if cost is None:
                        raise ValueError("runtime_budget: the ground truth predicts no training runtime for "
                                         f"{ctx.space.name!r}; use an evaluation budget")
                    price = dict(zip(new, (float(c) for c in cost), strict=True))
                    for j, a in enumerate(ids):  # stop at the arch that reaches the budget
                        if a in price and a not in paid:
                            spent += price[a]
                            paid.add(a)
                            if spent >= self.runtime_budget_s:
                                ids = ids[: j + 1]
                                break
                s = ctx.score(self.fitness_role, ids)
                self.history.extend(zip(ids, (float(x) for x in s), strict=True))
                self.tell(ids, s)
            best_id, best_s = self.best()
            info: dict[str, Any] = {"trace": [[a, s] for a, s in self.history], "best_score": best_s}
            if self.runtime_budget_s is not None:
                info.update(runtime_budget_s=self.runtime_budget_s, runtime_spent_s=spent)
            return StageOutput([best_id], {self.fitness_role: {a: s for a, s in self.history}}, info)

        out = ctx.stage("search", search)
        trace = out.info.get("trace", [])
        return SearchOutcome(out.kept[0], float(out.info.get("best_score", float("nan"))), self.fitness_role,
                             len(trace), {"distinct_evaluated": len({a for a, _ in trace})})
