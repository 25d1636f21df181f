"""Baselines: random search and regularized evolution (REA)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import AskTellStrategy, SearchContext


class RandomSearch(AskTellStrategy):
    """Uniform sampling without replacement from the (constrained) candidate set, or from
    ``space.sample`` filtered by the constraints when the space cannot be enumerated."""

    name = "random"
    evaluates_candidates_only = True

    def __init__(self, budget: int = 100, batch: int = 25, runtime_budget_s: float | None = None) -> None:
        super().__init__(budget, runtime_budget_s)
        self.batch = int(batch)
        self._order: list[str] = []
        self._pos = 0
        self._ctx: SearchContext | None = None

    def params(self) -> dict[str, Any]:
        return {"budget": self.budget, "batch": self.batch, "runtime_budget_s": self.runtime_budget_s}

    def pool_size(self) -> int:
        return self.budget

    def reset(self, ctx: SearchContext) -> None:
        self._ctx = ctx
        cands = ctx.candidates()
        self._order = [cands[i] for i in ctx.rng.permutation(len(cands))]
        self._pos = 0

    def ask(self, remaining: int) -> list[str]:
        n = min(remaining, self.batch)
        out = self._order[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def tell(self, ids: Sequence[str], scores: np.ndarray) -> None:
        pass


class RegularizedEvolution(AskTellStrategy):
    """Regularized evolution (Real et al. 2019): a FIFO-aged population; each cycle picks
    ``sample_size`` random members, mutates the best of them (one decision), adds the child
    and removes the oldest member.

    ``sample_size = population`` gives the seed's variant ([PE] ``xnas/algorithms/SPOS.py:REA``
    used by ``re_spos.sh``/``re_zc.sh``): the parent is the best of the whole population.
    Mutations that violate the run's constraints are redrawn (up to 100 times).
    """

    name = "rea"

    def __init__(self, budget: int = 500, population: int = 20, sample_size: int = 5,
                 runtime_budget_s: float | None = None) -> None:
        super().__init__(budget, runtime_budget_s)
        if population < 1:
            raise ValueError(f"population: expected a positive integer, got {population}")
        if not 1 <= sample_size <= population:
            raise ValueError(f"sample_size: expected 1..population ({population}), got {sample_size}")
        self.population = int(population)
        self.sample_size = int(sample_size)
        self._pop: deque[tuple[str, float]] = deque()
        self._init: list[str] = []
        self._ctx: SearchContext | None = None

    def params(self) -> dict[str, Any]:
        return {"budget": self.budget, "population": self.population, "sample_size": self.sample_size,
                "runtime_budget_s": self.runtime_budget_s}

    def pool_size(self) -> int:
        return self.population

    def reset(self, ctx: SearchContext) -> None:
        self._ctx = ctx
        self._pop = deque()
        cands = ctx.candidates()
        n = min(self.population, len(cands))
        self._init = [cands[i] for i in ctx.rng.choice(len(cands), size=n, replace=False)]

    def ask(self, remaining: int) -> list[str]:
        if self._init:
            out, self._init = self._init[:remaining], self._init[remaining:]
            return out
        assert self._ctx is not None
        ctx = self._ctx
        members = list(self._pop)
        idx = ctx.rng.choice(len(members), size=min(self.sample_size, len(members)), replace=False)
        # best of the sample; ties -> the older member (lower index), deterministic
        parent = members[min(idx, key=lambda i: (-_key(members[i][1]), i))][0]
        arch = ctx.space.parse(parent)
        for _ in range(100):
            child = ctx.space.format(ctx.space.mutate(arch, ctx.rng))
            if ctx.feasible(child):
                return [child]
        return [parent]

    def tell(self, ids: Sequence[str], scores: np.ndarray) -> None:
        for a, s in zip(ids, scores, strict=True):
            self._pop.append((a, float(s)))
            if len(self._pop) > self.population:
                self._pop.popleft()


def _key(s: float) -> float:
    return s if np.isfinite(s) else -np.inf
