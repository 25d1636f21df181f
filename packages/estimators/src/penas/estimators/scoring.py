"""The one scoring path: look up the store, compute what is missing, store it.

:func:`cached_scores` is how every caller in penas turns an estimator and a list of archs into
scores: a :class:`~penas.estimators.store.ScoreStore` is asked which of them it already holds
(under the estimator's name and config hash), the missing ones are scored (in this process
or by an executor, shard by shard) and each finished shard is stored in one transaction, so
a killed run resumes at the first missing arch and never recomputes a stored score. A stored
value always wins over a recomputed one (first writer wins), so every caller sees the same
number for the same store key.

A *multi-output* estimator (``multi_output = True``, e.g. the zero-cost estimator scoring
several proxies on one build per arch, :meth:`ZeroCostEstimator.with_proxies`) produces several
named score columns in one pass; each column is stored under its own estimator's key, and an
arch is computed when any column lacks it.

Scores are *raw* (the estimator's own direction); :meth:`ColumnScores.oriented` turns them so
that higher is better using ``Estimator.higher_is_better``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Estimator
from .executors import EstimatorSource, EstimatorSpec, Executor, LocalExecutor, materialise, shards_of
from .store import ScoreStore

ProgressFn = Callable[[int, int], None]  # (archs done, archs to compute)


@dataclass
class SweepReport:
    """What one :func:`cached_scores` column did (printable one-liner)."""

    space: str
    estimator: str
    config_hash: str
    n_requested: int
    n_cached: int
    n_computed: int
    n_invalid: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.estimator} on {self.space} [{self.config_hash}]: {self.n_requested} archs, "
            f"{self.n_cached} cached, {self.n_computed} computed, {self.n_invalid} invalid, {self.seconds:.1f}s"
        )


@dataclass
class ColumnScores:
    """Raw scores of one store key, aligned with the requested archs (NaN: invalid or absent).

    ``n_cached`` counts distinct archs found in the store, ``n_computed`` those scored by this
    call, ``n_invalid`` the computed ones that came out NaN.
    """

    space: str
    estimator: str
    config_hash: str
    higher_is_better: bool
    arch_ids: list[str]
    values: np.ndarray
    n_cached: int
    n_computed: int
    n_invalid: int
    seconds: float

    def oriented(self) -> np.ndarray:
        """:attr:`values` turned so that higher is better."""
        return self.values if self.higher_is_better else -self.values

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.arch_ids, (float(v) for v in self.values), strict=True))

    def report(self) -> SweepReport:
        n = len(dict.fromkeys(self.arch_ids))
        return SweepReport(self.space, self.estimator, self.config_hash, n, self.n_cached, self.n_computed,
                           self.n_invalid, self.seconds)


class ScoreTable(dict[str, ColumnScores]):
    """``{column label: ColumnScores}`` returned by :func:`cached_scores` (the label of a
    single-output estimator's only column is its name)."""

    def one(self) -> ColumnScores:
        """The only column (single-output estimators)."""
        if len(self) != 1:
            raise ValueError(f"expected one score column, got {', '.join(self)}")
        return next(iter(self.values()))


def columns_of(est: Estimator) -> dict[str, Estimator]:
    """``{label: estimator}`` whose store keys ``est`` fills: its ``columns()`` when multi-output,
    else ``{est.name: est}``."""
    return dict(est.columns()) if getattr(est, "multi_output", False) else {est.name: est}


def cached_scores(
    estimator: Any,
    archs: Sequence[Any],
    store: ScoreStore | None = None,
    executor: Any = None,
    progress: ProgressFn | None = None,
    *,
    shard_size: int = 8,
    compute: bool = True,
) -> ScoreTable:
    """Scores of ``archs`` under ``estimator``: stored ones from ``store``, the rest computed and stored.

    Parameters
    ----------
    estimator : Estimator, EstimatorSpec or callable
        The estimator, or a cheap picklable recipe (:class:`~penas.estimators.executors.EstimatorSpec`)
        that workers build it from.
    archs : sequence
        Arch ids or arch objects of the estimator's space (duplicates allowed; the result is
        aligned with them).
    store : ScoreStore, optional
        Where scores are looked up and written (``None``: compute everything, store nothing).
    executor : LocalExecutor or RayExecutor, optional
        Runs the shards (default: in this process, in order).
    progress : callable, optional
        ``progress(done, total)`` after every shard (``total``: archs to compute).
    shard_size : int
        Archs per shard (= per store transaction).
    compute : bool
        ``False``: read the store only; archs it lacks come back NaN.

    Returns
    -------
    ScoreTable
        One :class:`ColumnScores` per output column (``.one()`` for a single-output estimator).

    Examples
    --------
    >>> from penas.estimators import get_estimator
    >>> from penas.estimators.scoring import cached_scores
    >>> est = get_estimator("params", "nasbench_macro")
    >>> col = cached_scores(est, ["00000000", "12121212"]).one()
    >>> col.n_computed, bool(col.values[1] > col.values[0])
    (2, True)
    """
    t0 = time.perf_counter()
    est = materialise(estimator)
    cols = columns_of(est)
    multi = getattr(est, "multi_output", False)
    if not all(getattr(c, "cacheable", True) for c in cols.values()):
        store = None  # a table look-up: recomputing is cheaper than a store round trip
    space = est.space
    canon = {a: space.arch_id(a) for a in dict.fromkeys(a for a in archs if isinstance(a, str))}
    ids = [canon[a] if isinstance(a, str) else space.format(a) for a in archs]
    uniq = list(dict.fromkeys(ids))
    keys = {label: (c.name, c.config_hash, c) for label, c in cols.items()}
    have: dict[str, dict[str, float]] = {
        label: (store.get_many(space.name, name, h, uniq) if store is not None else {})
        for label, (name, h, _) in keys.items()
    }
    cached = {name: len(v) for name, v in have.items()}
    todo = [a for a in uniq if any(a not in have[n] for n in keys)] if compute else []
    computed = dict.fromkeys(keys, 0)
    invalid = dict.fromkeys(keys, 0)
    if todo:
        # Workers get the cheap recipe when one was given, else the (pickled) estimator itself.
        src = estimator if isinstance(estimator, EstimatorSpec) else est
        done = 0
        if progress is not None:
            progress(0, len(todo))
        for res in (executor or LocalExecutor()).imap(src, shards_of(todo, shard_size)):
            per = res if multi else {next(iter(keys)): res}
            n_shard = 0
            for label, (name, h, _) in keys.items():
                got_ids, vals, provs = per[label]
                n_shard = len(got_ids)
                new = {a: float(v) for a, v in zip(got_ids, vals, strict=True) if a not in have[label]}
                if store is not None and new:
                    store.put_many(space.name, name, h, new,
                                   {a: p for a, p in zip(got_ids, provs, strict=True) if a in new})
                have[label].update(new)
                computed[label] += len(new)
                invalid[label] += sum(1 for v in new.values() if not math.isfinite(v))
            done += n_shard
            if progress is not None:
                progress(done, len(todo))
    dt = time.perf_counter() - t0
    out = ScoreTable()
    for label, (name, h, c) in keys.items():
        vals = np.array([have[label].get(a, np.nan) for a in ids], dtype=np.float64)
        vals[~np.isfinite(vals)] = np.nan
        out[label] = ColumnScores(space.name, name, h, bool(c.higher_is_better), ids, vals, cached[label],
                                  computed[label], invalid[label], dt)
    return out


__all__ = ["ColumnScores", "ProgressFn", "ScoreTable", "SweepReport", "cached_scores", "columns_of"]


def run_sweep(
    estimator_or_factory: EstimatorSource,
    arch_ids: Sequence[str],
    store: ScoreStore,
    executor: Executor | None = None,
    shard_size: int = 8,
) -> SweepReport:
    """Score every arch in ``arch_ids`` that ``store`` lacks; store results shard by shard
    (:func:`cached_scores` of a single-output estimator)."""
    return cached_scores(estimator_or_factory, arch_ids, store, executor, shard_size=shard_size).one().report()


def run_multi_sweep(
    estimator: Any,
    proxies: Sequence[str],
    arch_ids: Sequence[str],
    store: ScoreStore,
    executor: Executor | None = None,
    shard_size: int = 8,
) -> dict[str, SweepReport]:
    """Like :func:`run_sweep` for several proxies of one :class:`ZeroCostEstimator`: each arch
    lacking any of them is built once and scored by all ``proxies``
    (:meth:`ZeroCostEstimator.with_proxies`); each proxy's scores are stored under its own
    estimator name and config hash."""
    table = cached_scores(estimator.with_proxies(proxies), arch_ids, store, executor, shard_size=shard_size)
    return {p: table[p].report() for p in proxies}
