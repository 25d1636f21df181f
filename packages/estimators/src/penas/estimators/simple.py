"""Space-level estimators that need no network pass: ``params``, ``flops`` and ``oracle``.

``params``/``flops`` ask the space (``space.params(arch, dataset)`` / ``space.flops``), i.e.
the exact counts the space documents. ``oracle`` returns the benchmark's ground truth from
the GT store (``penas.spaces.benchmarks``) when the space has one; NaN where an arch has no
record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._registry import register_estimator
from .base import Estimator, ScoreResult


class _SpaceCount(Estimator):
    method = ""

    def __init__(self, space: Any, dataset: str | None = None) -> None:
        ds = dataset if dataset is not None else space.datasets[0]
        space.check_dataset(ds)
        super().__init__(space, dataset=ds)

    def _score_one(self, arch: Any) -> float:
        return float(getattr(self.space, self.method)(arch, self.cfg["dataset"]))


@register_estimator("params")
class ParamsEstimator(_SpaceCount):
    """Trainable parameter count as the space reports it (higher is better)."""

    name = "params"
    method = "params"


@register_estimator("flops")
class FlopsEstimator(_SpaceCount):
    """Multiply-accumulates of one forward pass as the space reports them."""

    name = "flops"
    method = "flops"


@register_estimator("oracle")
class OracleEstimator(Estimator):
    """Ground truth ``metric`` on ``dataset`` from the benchmark store
    (``penas.spaces.benchmarks.open_benchmark``); NaN where the table has no value or no row.

    This is also the search's and the reports' view of the ground truth: :attr:`bench` is the
    table or ``None`` (then :attr:`reason` says why; a missing table is a normal situation),
    :attr:`available` whether it holds ``metric``, :meth:`values` / :meth:`column` the numbers.
    ``metric="auto"``: ``test_acc`` where the table has it, else ``valid_acc`` (e.g. the NB301
    sample); the resolved name is what :meth:`config` (the store key) holds.

    ``gt_source`` (:func:`penas.spaces.benchmarks.open_gt`): ``table`` (the measured table),
    ``surrogate`` (a learning-curve surrogate over the whole space, e.g. NB301 for ``darts``) or
    ``auto`` (the surrogate when its files are under the data root). A surrogate has no arch list:
    :attr:`is_table` is False and :meth:`column` raises; :meth:`values` is one batched query.
    """

    name = "oracle"
    cacheable = False  # a table look-up

    def __init__(
        self, space: Any, dataset: str | None = None, metric: str = "test_acc", root: str | None = None,
        gt_source: str = "table",
    ) -> None:
        from penas.spaces.benchmarks.store import GT_SOURCES

        if gt_source not in GT_SOURCES:
            raise ValueError(f"gt_source: expected one of {', '.join(GT_SOURCES)}, got {gt_source!r}")
        super().__init__(space, dataset=dataset if dataset is not None else space.datasets[0], metric=metric)
        self.dataset = self.cfg["dataset"]
        self.gt_source = gt_source
        self._metric = metric
        self._root = root
        self._bench: Any = None
        self._tried = False
        self.reason = ""

    def config(self) -> dict[str, Any]:
        cfg = {"estimator": self.name, "dataset": self.dataset, "metric": self.metric}
        if not self.is_table:  # a surrogate GT: its model file is part of the store key
            cfg.update(gt_source="surrogate", surrogate_sha256=self.benchmark().model_sha256)
        return cfg

    def benchmark(self) -> Any:
        """The ground truth (errors propagate: scoring without one is a user error)."""
        if self._bench is None:
            from penas.spaces.benchmarks import open_gt

            self._bench = open_gt(self.space.name, self.gt_source, root=self._root)
            self._tried = True
        return self._bench

    @property
    def is_table(self) -> bool:
        """Whether the ground truth is a table listing its archs (False for a surrogate)."""
        b = self.bench
        return b is None or hasattr(b, "arch_ids")

    @property
    def bench(self) -> Any:
        """The benchmark table, or ``None`` when none can be opened (:attr:`reason` says why)."""
        if not self._tried:
            self._tried = True
            try:
                self.benchmark()
            except Exception as e:  # noqa: BLE001 - no table is a normal situation
                self.reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                self._bench = None
        return self._bench

    @property
    def metric(self) -> str:
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
        """Whether the table exists and holds :attr:`metric` on :attr:`dataset`."""
        b = self.bench
        if b is None:
            return False
        try:
            return self.metric in b.metrics(self.dataset)
        except ValueError as e:
            self.reason = str(e)
            return False

    def values(self, ids: Sequence[str]) -> np.ndarray:
        """Ground truth of ``ids`` (NaN where the table has no value)."""
        out = np.full(len(ids), np.nan)
        b = self.bench
        if not self.is_table:
            return np.asarray(b.table(self.metric, self.dataset, list(ids)), dtype=np.float64) if ids else out
        for i, a in enumerate(ids):
            try:
                out[i] = float(b.query(a, self.metric, self.dataset))
            except ValueError:
                pass
        return out

    def column(self) -> tuple[list[str], np.ndarray]:
        """Every arch id of the table and its ground truth (a surrogate lists no archs)."""
        b = self.bench
        if not self.is_table:
            raise ValueError(f"ground truth: the {self.space.name} surrogate covers the whole space and lists no "
                             "archs; sample genotypes and use values()")
        return [str(x) for x in b.arch_ids], np.asarray(b.column(self.metric, self.dataset), dtype=np.float64)

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        if self.benchmark() is None or hasattr(self.benchmark(), "arch_ids"):
            return super().score_result(archs)
        ids = [self.space.format(self.space.parse(a) if isinstance(a, str) else a) for a in archs]
        return ScoreResult(ids, self.values(ids), [self.provenance(i, **self.benchmark().provenance) for i in ids])

    def _score_one(self, arch: Any) -> float:
        try:
            return float(self.benchmark().query(self.space.format(arch), self.metric, self.dataset))
        except ValueError as e:
            if str(e).startswith("arch:"):
                return float("nan")  # not in the table
            raise
