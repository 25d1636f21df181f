"""Path samplers of the SPOS family (registry ``SAMPLERS``).

A sampler draws the archs of one training step from a numpy Generator. The trainer derives
that Generator from ``(seed, step)``, so sampling is stateless: a resumed run, or every DDP
rank, draws exactly the same paths at the same step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ._registry import SAMPLERS, register_sampler
from .base import Supernet


class PathSampler(ABC):
    name: str = ""

    def __init__(self, supernet: Supernet, paths_per_step: int = 1) -> None:
        if isinstance(paths_per_step, bool) or not isinstance(paths_per_step, int) or paths_per_step < 1:
            raise ValueError(f"paths_per_step: expected a positive integer, got {paths_per_step!r}")
        self.supernet = supernet
        self.paths_per_step = paths_per_step

    @abstractmethod
    def draw(self, rng: np.random.Generator) -> list[Any]:
        """The archs trained on in one step."""


class FixedSampler(PathSampler):
    """Always the same arch (not registered: it needs the arch). For single-path baselines,
    e.g. timing the supernet's slicing overhead on one config."""

    def __init__(self, supernet: Supernet, arch: Any) -> None:
        super().__init__(supernet, 1)
        self.arch = arch

    def draw(self, rng: np.random.Generator) -> list[Any]:
        return [self.arch]


@register_sampler("uniform")
class UniformSampler(PathSampler):
    """Independent uniform draws from the space (SPOS / PE-NAS ``RAND``)."""

    def draw(self, rng: np.random.Generator) -> list[Any]:
        return [self.supernet.sample(rng) for _ in range(self.paths_per_step)]


@register_sampler("deiso")
class DeisoSampler(PathSampler):
    """Uniform over isomorphism classes (aw_nas ``deiso: true``): draws among the class
    representatives of a finite space (``space.canonical`` over ``space.enumerate()``)."""

    def __init__(self, supernet: Supernet, paths_per_step: int = 1) -> None:
        super().__init__(supernet, paths_per_step)
        space = supernet.space
        if space.size is None:
            raise ValueError(f"sampler: 'deiso' needs a finite space; {space.name!r} cannot be enumerated")
        reps: dict[str, Any] = {}
        for a in space.enumerate():
            c = space.canonical(a)
            reps.setdefault(space.format(c), c)
        self.representatives = list(reps.values())

    def draw(self, rng: np.random.Generator) -> list[Any]:
        idx = rng.integers(0, len(self.representatives), self.paths_per_step)
        return [self.representatives[int(i)] for i in idx]


@register_sampler("fairnas")
class FairSampler(PathSampler):
    """FairNAS strict fairness: k = #candidates paths per step; at every decision each
    candidate appears exactly once (independent random permutation per decision)."""

    def __init__(self, supernet: Supernet, paths_per_step: int = 1) -> None:
        super().__init__(supernet, paths_per_step)
        self.options = [tuple(o) for o in supernet.decisions()]
        sizes = {len(o) for o in self.options}
        if len(sizes) != 1:
            raise ValueError(f"sampler: 'fairnas' needs the same number of candidates per decision, got {sorted(sizes)}")
        self.paths_per_step = sizes.pop()

    def draw(self, rng: np.random.Generator) -> list[Any]:
        perms = [rng.permutation(len(o)) for o in self.options]
        return [
            self.supernet.compose([o[int(p[k])] for o, p in zip(self.options, perms, strict=True)])
            for k in range(self.paths_per_step)
        ]


@register_sampler("sandwich")
class SandwichSampler(PathSampler):
    """Sandwich rule (BigNAS/AttentiveNAS): largest + smallest + (paths_per_step - 2) random."""

    def __init__(self, supernet: Supernet, paths_per_step: int = 4) -> None:
        super().__init__(supernet, paths_per_step)
        if paths_per_step < 2:
            raise ValueError(f"paths_per_step: the sandwich rule needs at least 2, got {paths_per_step}")
        self.largest, self.smallest = supernet.extremes()

    def draw(self, rng: np.random.Generator) -> list[Any]:
        return [self.largest, self.smallest, *(self.supernet.sample(rng) for _ in range(self.paths_per_step - 2))]


def make_sampler(name: str, supernet: Supernet, paths_per_step: int = 1) -> PathSampler:
    return SAMPLERS.get(name)(supernet, paths_per_step=paths_per_step)
