"""Zero-cost estimators: score any ``nn.Module`` with many proxies at once, and score the
architectures of a space under a named protocol.

* :func:`score_module` -- the proxy API for any user network: all requested proxies share one
  model, one batch and one forward/backward (see :mod:`penas.estimators.proxies.context`);
  the model is restored in place after every proxy, so scores do not depend on the order.
* :class:`ZeroCostEstimator` -- registered as ``zero_cost`` (``proxy=...``) and once per
  proxy name (``get_estimator("synflow", space)``). ``score_all(archs, proxies)`` builds
  each architecture once for all proxies.
* Protocols (:data:`PROTOCOLS`, :mod:`penas.estimators.protocols`): ``zero-cost-nas`` (Abdelfattah et al. and NAS-Bench-Suite-Zero:
  stand-alone model, ``torch.manual_seed(seed)`` before the build, one batch of 64 random
  *training* images with labels per seed, crop+flip as the reference loader) and ``aw_nas``
  (Ning et al.: init seeds 20/2020/202020, batches of 128 from the held-out last 20% of the
  training set in order, the per-batch scores averaged over the first 1, 3 or 5 batches;
  :meth:`ZeroCostEstimator.aw_nas_grid` gives every seed x batch count). Without ``data`` the
  batches are real CIFAR-10 from ``$PENAS_DATA/cifar10`` when it exists (see :func:`resolve_batches`).

Invalid values (NaN/inf) are returned as NaN and counted (``ProxyScores.n_invalid``);
they never become a sentinel like -1e8.

``ZeroCostEstimator(device=...)`` (default ``"cpu"``) scores with the model and the batches on
that device. The model is still built (and seeded) on CPU, then moved, so every device starts
from the same weights. Like ``OneShotEstimator``'s ``device``, it is an execution detail and not
part of :meth:`ZeroCostEstimator.config` (the store key): CPU scores are exactly those of an
estimator without the option, and a GPU score is the same quantity up to floating-point
rounding; rows scored off the CPU record their device in the provenance ``extra``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ._registry import register_estimator
from .base import Estimator, Provenance, ScoreResult
from .data import Batch
from .protocols import PROTOCOLS, Protocol, ZeroCostProtocol, get_protocol, resolve_batches
from .proxies import PROXIES, get_proxy, list_proxies
from .proxies.context import LossFn, OutputFn, ProxyContext, ProxyUndefined, default_output, task_loss


class ProxyScores(dict):
    """``{proxy: score}`` (NaN = invalid) with ``n_invalid`` and ``invalid`` names."""

    @property
    def invalid(self) -> list[str]:
        return [k for k, v in self.items() if not math.isfinite(v)]

    @property
    def n_invalid(self) -> int:
        return len(self.invalid)


def _finite(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")


def score_module(
    model: nn.Module,
    batch: Batch | tuple[torch.Tensor, torch.Tensor | None] | torch.Tensor,
    proxies: Sequence[str] = ("synflow",),
    loss_fn: LossFn = task_loss,
    seed: int | None = None,
    output_fn: OutputFn = default_output,
    timings: dict[str, float] | None = None,
) -> ProxyScores:
    """Scores of ``model`` under each proxy in ``proxies`` (one model, one batch).

    ``batch`` is a :class:`~penas.estimators.data.Batch`, an ``(inputs, targets)`` pair, or an
    input tensor alone (enough for data-free proxies). ``seed`` fixes every pass's RNG (and
    zen's Gaussian draws). The model's parameters, buffers, dtype, train/eval flags and
    ``requires_grad`` flags are exactly restored on return. ``timings``, when given, is
    filled with seconds per proxy (and ``shared_pass`` for the shared forward/backward).
    """
    if isinstance(batch, Batch):
        inputs, targets = batch.inputs, batch.targets
    elif isinstance(batch, torch.Tensor):
        inputs, targets = batch, None
    else:
        inputs, targets = batch
    if not proxies:
        raise ValueError("proxies: expected at least one proxy name")
    specs = [get_proxy(p) for p in proxies]
    needs = frozenset().union(*(s.needs for s in specs))
    ctx = ProxyContext(model, inputs, targets, loss_fn=loss_fn, output_fn=output_fn, seed=seed, needs=needs)
    out = ProxyScores()
    with ctx.session():
        if timings is not None and needs:
            t0 = time.perf_counter()
            ctx.shared  # noqa: B018  (run the shared pass now to time it on its own)
            timings["shared_pass"] = timings.get("shared_pass", 0.0) + time.perf_counter() - t0
        for spec in specs:
            t0 = time.perf_counter()
            try:
                out[spec.name] = _finite(spec(ctx))
            except (ProxyUndefined, FloatingPointError, np.linalg.LinAlgError, ZeroDivisionError):
                out[spec.name] = float("nan")
            if timings is not None:
                timings[spec.name] = timings.get(spec.name, 0.0) + time.perf_counter() - t0
    return out


# --- estimators ---------------------------------------------------------------------------
class ZeroCostEstimator(Estimator):
    """A zero-cost proxy (or several, via :meth:`score_all`) over a space's architectures.

    ``proxy``: a registered proxy name. ``protocol``: ``zero-cost-nas`` or ``aw_nas``.
    ``seed``/``batch_size``/``n_batches`` default to the protocol's (aw_nas: first seed, one
    batch). ``data``: see :func:`resolve_batches`. ``build_kwargs`` go to ``space.build``.
    ``device``: where the model and batches live while scoring (not in :meth:`config`).
    """

    name = "zero_cost"

    def __init__(
        self,
        space: Any,
        proxy: str = "synflow",
        protocol: str = "zero-cost-nas",
        dataset: str | None = None,
        data: Any = None,
        seed: int | None = None,
        batch_size: int | None = None,
        n_batches: int | None = None,
        build_kwargs: dict[str, Any] | None = None,
        device: str = "cpu",
    ) -> None:
        self.device = _as_device(device)
        self.spec = get_proxy(proxy)
        self.protocol = get_protocol(protocol)
        self.dataset = dataset if dataset is not None else space.datasets[0]
        space.check_dataset(self.dataset)
        self.seed = self.protocol.seeds[0] if seed is None else int(seed)
        self.batch_size = self.protocol.batch_size if batch_size is None else int(batch_size)
        self.n_batches = self.protocol.n_batches[0] if n_batches is None else int(n_batches)
        if self.batch_size < 1 or self.n_batches < 1:
            raise ValueError("batch_size/n_batches: expected positive integers")
        self.build_kwargs = dict(build_kwargs or {})
        self._data = data
        self._batches: list[Batch] | None = None
        self._on_device: list[Batch] | None = None  # self._batches on self.device
        self.name = self.spec.name
        self.higher_is_better = self.spec.higher_is_better
        super().__init__(space)

    # --- configuration / provenance ---------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.space.input_shape(self.dataset))  # type: ignore[return-value]

    def batches(self) -> list[Batch]:
        if self._batches is None:
            self._batches = resolve_batches(
                self._data, self.protocol, self.n_batches, self.batch_size, self.input_shape,
                self.space.num_classes(self.dataset), seed=self.seed,
            )
        return self._batches

    def data_fingerprint(self) -> str:
        from .data import fingerprint

        fps = [b.fingerprint for b in self.batches()]
        return fps[0] if len(set(fps)) == 1 else fingerprint(torch.tensor([int(f[:15], 16) for f in fps]))

    def config(self) -> dict[str, Any]:
        return {
            "estimator": self.spec.name,
            "protocol": self.protocol.name,
            "dataset": self.dataset,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "n_batches": self.n_batches,
            "data_fingerprint": self.data_fingerprint(),
            "data_source": self.batches()[0].source,
            "dtype": "float64" if self.spec.name in ("synflow", "synflow_bn", "log_synflow") else "float32",
            "bn_mode": "train" if self.spec.bn else "off",
            "build_kwargs": self.build_kwargs,
            # only from version 2 on, so the keys of proxies never changed stay what they were
            **({"proxy_version": self.spec.version} if self.spec.version > 1 else {}),
        }

    def provenance(self, arch_id: str, **extra: Any) -> Provenance:
        if self.device.type != "cpu":
            extra.setdefault("device", str(self.device))
        return super().provenance(arch_id, protocol=self.protocol.name, **extra)

    # --- device ------------------------------------------------------------------------------
    def to_device(self, device: str | torch.device) -> ZeroCostEstimator:
        """Score on ``device`` from now on (in place, like ``nn.Module.to``); returns ``self``."""
        dev = _as_device(device)
        if dev != self.device:
            self.device, self._on_device = dev, None
        return self

    def device_batches(self) -> list[Batch]:
        """:meth:`batches` on :attr:`device` (the CPU batches themselves on CPU)."""
        if self.device.type == "cpu":
            return self.batches()
        if self._on_device is None:
            self._on_device = _batches_to(self.batches(), self.device)
        return self._on_device

    # --- scoring -----------------------------------------------------------------------------
    def build(self, arch: Any, seed: int) -> nn.Module:
        """The seeded CPU build, moved to :attr:`device`."""
        torch.manual_seed(seed)
        model = self.space.build(arch, self.dataset, **self.build_kwargs)
        return model if self.device.type == "cpu" else model.to(self.device)

    def _score_fns(self) -> tuple[LossFn, OutputFn]:
        return getattr(self.space, "loss_fn", task_loss), getattr(self.space, "output_fn", default_output)

    def score_arch(self, arch: Any, proxies: Sequence[str], seed: int | None = None) -> dict[str, float]:
        """All ``proxies`` on one build of ``arch``, averaged over ``n_batches`` batches."""
        s = self.seed if seed is None else seed
        loss_fn, output_fn = self._score_fns()
        model = self.build(arch, s)
        per_batch = [
            score_module(model, b, proxies, loss_fn=loss_fn, seed=s, output_fn=output_fn) for b in self.device_batches()
        ]
        return {p: float(np.mean([r[p] for r in per_batch])) for p in proxies}

    def _score_one(self, arch: Any) -> float:
        return self.score_arch(arch, [self.spec.name])[self.spec.name]

    def score_all(self, archs: Sequence[Any], proxies: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """``{proxy: scores aligned with archs}``; each arch is built once for all proxies."""
        names = list(proxies) if proxies is not None else [self.spec.name]
        for p in names:
            get_proxy(p)
        rows = [self.score_arch(self.space.parse(a) if isinstance(a, str) else a, names) for a in archs]
        return {p: np.array([r[p] for r in rows], dtype=np.float64) for p in names}

    def for_proxy(self, proxy: str) -> ZeroCostEstimator:
        """The same estimator (space, protocol, batches) for another proxy."""
        other = ZeroCostEstimator(
            self.space, proxy=proxy, protocol=self.protocol.name, dataset=self.dataset, data=self._data,
            seed=self.seed, batch_size=self.batch_size, n_batches=self.n_batches, build_kwargs=self.build_kwargs,
            device=str(self.device),
        )
        other._batches, other._on_device = self._batches, self._on_device
        return other

    def with_proxies(self, proxies: Sequence[str]) -> ZeroCostColumns:
        """A multi-output estimator scoring every proxy in ``proxies`` on one build per arch."""
        return ZeroCostColumns(self, proxies)

    def aw_nas_grid(self, arch: Any, proxies: Sequence[str]) -> dict[tuple[int, int], dict[str, float]]:
        """The aw_nas protocol table for one arch: ``{(seed, n_batches): {proxy: mean score}}``."""
        proto = PROTOCOLS["aw_nas"]
        batches = resolve_batches(
            self._data, proto, max(proto.n_batches), self.batch_size, self.input_shape,
            self.space.num_classes(self.dataset),
        )
        if self.device.type != "cpu":
            batches = _batches_to(batches, self.device)
        loss_fn, output_fn = self._score_fns()
        out: dict[tuple[int, int], dict[str, float]] = {}
        for s in proto.seeds:
            model = self.build(arch, s)
            per = [score_module(model, b, proxies, loss_fn=loss_fn, seed=s, output_fn=output_fn) for b in batches]
            for nb in proto.n_batches:
                out[(s, nb)] = {p: float(np.mean([r[p] for r in per[:nb]])) for p in proxies}
        return out

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        vals = self.score_all(parsed)[self.spec.name]
        return ScoreResult(ids, vals, self.provenances(ids))


class ZeroCostColumns(Estimator):
    """Several proxies of one :class:`ZeroCostEstimator` as one multi-output estimator.

    Each arch is built once and scored by every proxy (:meth:`ZeroCostEstimator.score_all`);
    column ``p`` is stored under ``base.for_proxy(p)``'s name and config hash, so its rows are
    those a single-proxy estimator would write.
    """

    multi_output = True

    def __init__(self, base: ZeroCostEstimator, proxies: Sequence[str]) -> None:
        names = list(dict.fromkeys(proxies))
        if not names:
            raise ValueError("proxies: expected at least one proxy name")
        for p in names:
            get_proxy(p)
        self.base = base
        self.subs = {p: base.for_proxy(p) for p in names}
        self.name = "zero_cost[" + "+".join(names) + "]"
        super().__init__(base.space)

    def config(self) -> dict[str, Any]:
        return {"estimator": self.name, "columns": {p: e.config_hash for p, e in self.subs.items()}}

    def to_device(self, device: str | torch.device) -> ZeroCostColumns:
        for e in (self.base, *self.subs.values()):
            e.to_device(device)
        return self

    def columns(self) -> dict[str, Estimator]:
        return dict(self.subs)

    def score_columns(self, archs: Sequence[Any]) -> dict[str, ScoreResult]:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        table = self.base.score_all(parsed, list(self.subs))
        return {p: ScoreResult(ids, table[p], e.provenances(ids)) for p, e in self.subs.items()}

    def _score_one(self, arch: Any) -> float:
        raise TypeError(f"{self.name}: a multi-output estimator; use score_columns")


class ZeroCostGrid(Estimator):
    """Proxies x batch counts of one init seed as one multi-output estimator (the aw_nas grid).

    Each arch is built once (``base.build(arch, seed)``) and every proxy scores each of the
    base's batches; column ``(proxy, n)`` -- labelled ``"proxy@n"`` -- is the mean of the first
    ``n`` per-batch scores, exactly what ``columns[(proxy, n)]`` (a :class:`ZeroCostEstimator`
    with that seed, proxy and ``n_batches=n`` on the first ``n`` of the base's batches)
    computes, and is stored under that estimator's name and config hash.
    """

    multi_output = True

    def __init__(self, base: ZeroCostEstimator, seed: int, columns: dict[tuple[str, int], ZeroCostEstimator]) -> None:
        if not columns:
            raise ValueError("columns: expected at least one (proxy, n_batches)")
        self.base, self.seed, self.cols = base, int(seed), dict(columns)
        self.proxies = list(dict.fromkeys(p for p, _ in self.cols))
        self.name = f"zero_cost_grid[seed {self.seed}]"
        super().__init__(base.space)

    def config(self) -> dict[str, Any]:
        return {"estimator": self.name, "columns": {k: e.config_hash for k, e in self.columns().items()}}

    def columns(self) -> dict[str, Estimator]:
        return {f"{p}@{n}": e for (p, n), e in self.cols.items()}

    def scores_of(self, arch: Any) -> dict[tuple[str, int], float]:
        """``{(proxy, n): mean of the first n per-batch scores}`` for one build of ``arch``."""
        loss_fn, output_fn = self.base._score_fns()
        model = self.base.build(self.space.parse(arch) if isinstance(arch, str) else arch, self.seed)
        per = [score_module(model, b, self.proxies, loss_fn=loss_fn, seed=self.seed, output_fn=output_fn)
               for b in self.base.device_batches()]
        return {(p, n): float(np.mean([r[p] for r in per[:n]])) for p, n in self.cols}

    def score_columns(self, archs: Sequence[Any]) -> dict[str, ScoreResult]:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        rows = [self.scores_of(a) for a in parsed]
        out = {}
        for (p, n), e in self.cols.items():
            prov = e.provenance("")
            out[f"{p}@{n}"] = ScoreResult(ids, np.array([r[(p, n)] for r in rows], dtype=np.float64),
                                          [replace(prov, arch_id=a) for a in ids])
        return out

    def to_device(self, device: str | torch.device) -> ZeroCostGrid:
        for e in (self.base, *self.cols.values()):
            e.to_device(device)
        return self

    def _score_one(self, arch: Any) -> float:
        raise TypeError(f"{self.name}: a multi-output estimator; use score_columns")


def _as_device(device: str | torch.device) -> torch.device:
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None


def _batches_to(batches: Sequence[Batch], device: torch.device) -> list[Batch]:
    return [Batch(b.inputs.to(device), b.targets.to(device), b.source) for b in batches]


# One registration for the generic estimator and one per proxy name. ``params`` and
# ``flops`` are registered by :mod:`penas.estimators.simple` (exact space counts); their
# proxy versions stay reachable as ``get_estimator("zero_cost", space, proxy="params")``.
register_estimator("zero_cost")(ZeroCostEstimator)

_SPACE_LEVEL = {"params", "flops"}


def _proxy_factory(proxy: str):
    def factory(space: Any, **cfg: Any) -> ZeroCostEstimator:
        return ZeroCostEstimator(space, proxy=proxy, **cfg)

    factory.__name__ = f"zero_cost_{proxy}"
    factory.higher_is_better = get_proxy(proxy).higher_is_better  # type: ignore[attr-defined]
    return factory


for _p in list_proxies():
    if _p not in _SPACE_LEVEL:
        register_estimator(_p)(_proxy_factory(_p))

__all__ = [
    "PROTOCOLS",
    "PROXIES",
    "Protocol",
    "ProxyScores",
    "ZeroCostColumns",
    "ZeroCostEstimator",
    "ZeroCostGrid",
    "ZeroCostProtocol",
    "get_protocol",
    "resolve_batches",
    "score_module",
]
