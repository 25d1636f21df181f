"""Hardware constraints of a search, one kind for both searches: ``metric <= limit`` where the
metric is ``params``, ``flops`` (optionally at an input ``resolution``, the TopFormer search's
analytic FLOPs at 512x512) or ``latency_<device>`` (from the ground truth's latency tables).

:class:`Constraints` answers feasibility, vectorised over candidate ids, from the GT store's
columns where the benchmark has them, else from the space's own counts; every value is computed
once per arch. :class:`FlopsSampler` draws configs of a config space (TopFormer) that satisfy a
FLOPs constraint (the alternating search's candidates, the segmentation search's pool).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from penas.spaces import Space


@dataclass(frozen=True)
class Constraint:
    """``metric <= limit``; ``metric`` is ``latency_<device>``, ``flops`` or ``params``;
    ``resolution`` (FLOPs only): count at ``resolution`` x ``resolution`` instead of the space's
    default input."""

    metric: str
    limit: float
    resolution: int | None = None

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

    def describe(self) -> str:
        at = "" if self.resolution is None else f"@{self.resolution}"
        return f"{self.metric}{at} <= {self.limit:g}"


class Constraints:
    """Feasibility of candidate ids under ``items``; ``gt`` (an
    :class:`~penas.estimators.simple.OracleEstimator`, optional) supplies benchmark columns."""

    def __init__(self, space: Space, items: Sequence[Constraint], gt: Any = None) -> None:
        self.space, self.items, self.gt = space, list(items), gt
        self._values: dict[Constraint, dict[str, float]] = {}
        self._ok: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.items)

    def describe(self) -> list[str]:
        return [c.describe() for c in self.items]

    def values(self, c: Constraint, ids: Sequence[str]) -> np.ndarray:
        """``c.metric`` of ``ids`` (computed once per arch)."""
        seen = self._values.setdefault(c, {})
        todo = [a for a in dict.fromkeys(ids) if a not in seen]
        if todo:
            seen.update(zip(todo, (float(v) for v in self._measure(c, todo)), strict=True))
        return np.array([seen[a] for a in ids], dtype=np.float64)

    def _measure(self, c: Constraint, ids: Sequence[str]) -> np.ndarray:
        bench = None if self.gt is None else self.gt.bench
        if c.metric.startswith("latency_"):
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
        if c.resolution is None and bench is not None and c.metric in bench.metrics(self.gt.dataset):
            return np.asarray(bench.table(c.metric, self.gt.dataset, ids), dtype=np.float64)
        fn = getattr(self.space, c.metric)
        kw = {} if c.resolution is None else {"resolution": c.resolution}
        return np.array([float(fn(self.space.parse(a), **kw)) for a in ids])

    def mask(self, ids: Sequence[str]) -> np.ndarray:
        ok = np.ones(len(ids), dtype=bool)
        for c in self.items:
            with np.errstate(invalid="ignore"):
                ok &= self.values(c, ids) <= c.limit
        for a, m in zip(ids, ok, strict=True):
            self._ok[a] = bool(m)
        return ok

    def feasible(self, arch_id: str) -> bool:
        if not self.items:
            return True
        if arch_id not in self._ok:
            self.mask([arch_id])
        return self._ok[arch_id]


class FlopsSampler:
    """FLOPs-feasible sampling in a config space (TopFormer: analytic FLOPs at ``resolution``);
    feasibility is its :attr:`constraints` (``flops@resolution <= max_flops``)."""

    def __init__(self, space: Any, max_flops: float, resolution: int = 512, tries: int = 50) -> None:
        self.space, self.max_flops, self.resolution, self.tries = space, float(max_flops), resolution, tries
        self.constraint = Constraint("flops", self.max_flops, resolution)
        self.constraints = Constraints(space, [self.constraint])

    def flops(self, arch_id: str) -> int:
        return int(self.constraints.values(self.constraint, [arch_id])[0])

    def feasible(self, arch_id: str) -> bool:
        return self.constraints.feasible(arch_id)

    def check(self) -> None:
        """One-line error when not even the space's smallest config meets the constraint."""
        lo = self.space.min_config()
        f = self.space.flops(lo, resolution=self.resolution)
        if f > self.max_flops:
            raise ValueError(f"--max-flops: {self.max_flops / 1e9:g}G is below the minimum {f / 1e9:.3f}G "
                             f"({self.resolution}x{self.resolution}) of space {self.space.name!r} "
                             f"(its smallest config {self.space.format(lo)}); raise --max-flops or pick another "
                             "--seg-space")

    def random(self, rng: np.random.Generator) -> str:
        """HESS' start: uniform draws until one fits (then ``space.sample``'s greedy shrink)."""
        return self.space.format(self.space.sample(rng, max_flops=self.max_flops))

    def resample(self, rng: np.random.Generator, base_id: str, fields: Sequence[str]) -> str:
        """``base`` with ``fields`` drawn uniformly (the other fields fixed), redrawn up to
        ``tries`` times until feasible, else shrunk entry by entry inside ``fields`` (always
        possible: the cost is monotone and ``base`` itself is feasible)."""
        sp = self.space
        base = sp.to_dict(sp.parse(base_id))
        specs = [f for f in sp.fields if f.name in fields]
        d: dict[str, Any] = {}
        for _ in range(self.tries):
            d = dict(base)
            for f in specs:
                d[f.name] = [c[int(rng.integers(len(c)))] for c in f.choices]
            a = sp.format(sp.from_dict(d))
            if self.feasible(a):
                return a
        idx = {(f.name, i): f.choices[i].index(d[f.name][i]) for f in specs for i in range(f.length)}
        choices = {f.name: f.choices for f in specs}
        while True:
            a = sp.format(sp.from_dict(d))
            if self.feasible(a):
                return a
            movable = sorted(k for k, v in idx.items() if v > 0)
            if not movable:
                return base_id
            k = movable[int(rng.integers(len(movable)))]
            idx[k] -= 1
            d[k[0]] = list(d[k[0]])
            d[k[0]][k[1]] = choices[k[0]][k[1]][idx[k]]

    def distinct(self, rng: np.random.Generator, n: int, draw: Any, exclude: Sequence[str] = ()) -> list[str]:
        """Up to ``n`` distinct ids from ``draw(rng)`` not in ``exclude`` (gives up after 20n draws)."""
        seen, out = set(exclude), []
        for _ in range(20 * n):
            if len(out) >= n:
                break
            a = draw(rng)
            if a not in seen:
                seen.add(a)
                out.append(a)
        return out


__all__ = ["Constraint", "Constraints", "FlopsSampler"]
