"""``penas-app zero-shot``: zero-cost scores of many archs under the aw_nas protocol grid
(init seeds x number of averaged batches), written to a :class:`~penas.estimators.store.ScoreStore`.

Each arch is built once per seed and scored by every proxy on each of ``max(batches)``
batches; the score for ``n`` batches is the mean of the first ``n`` per-batch scores, which
is exactly what ``ZeroCostEstimator(protocol="aw_nas", seed=s, n_batches=n)`` computes. Every
(proxy, seed, n) is stored under that estimator's name and config hash, so the rows are
shared with ``penas-app evaluate --from-store`` and a re-run computes only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

ProgressFn = Callable[[int, int], None]


@dataclass
class ZeroShotConfig:
    """``penas-app zero-shot``."""

    space: str = "nb201"
    proxies: list[str] = field(default_factory=lambda: ["synflow", "nwot"])
    seeds: list[int] = field(default_factory=lambda: [20, 2020, 202020])
    batches: list[int] = field(default_factory=lambda: [1, 3, 5])
    archs: str = "all"  # all | sample:N | FILE (one arch id per line)
    sample_seed: int = 0
    store: str = ""  # SQLite score store (required)
    data: str = "auto"  # a data-layer spec: auto (real CIFAR-10 when present, else png-aug, else synthetic) | cifar10[:DIR] | ...
    batch_size: int = 128
    dataset: str | None = None
    chunk: int = 8  # archs per store transaction
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_int_list(text: str, option: str) -> list[int]:
    """``"1,3,5"`` -> ``[1, 3, 5]`` (positive, deduplicated, in order); one-line error naming ``option``."""
    out: list[int] = []
    for tok in (t.strip() for t in text.split(",")):
        if not tok:
            continue
        try:
            v = int(tok)
        except ValueError:
            raise ValueError(f"{option}: expected comma-separated integers, got {text!r}") from None
        if v < 0 or (option == "--batches" and v < 1):
            raise ValueError(f"{option}: expected {'positive' if option == '--batches' else 'non-negative'} integers, got {v}")
        if v not in out:
            out.append(v)
    if not out:
        raise ValueError(f"{option}: expected at least one integer")
    return out


def parse_names(text: str, option: str) -> list[str]:
    out = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not out:
        raise ValueError(f"{option}: expected at least one name")
    return out


@dataclass
class ZeroShotResult:
    space: str
    n_archs: int
    data_source: str
    synthetic: bool
    keys: list[dict[str, Any]]  # one per (proxy, seed, n_batches): estimator, config_hash, computed, cached,
    # invalid, higher_is_better
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_data(data: str) -> str:
    """``auto`` -> ``cifar10`` (real, under ``$PENAS_DATA``) | ``png-aug`` | ``synthetic``
    (:func:`penas.spaces.datasets.resolve_auto`); other specs are checked and returned as written."""
    from penas.spaces.datasets import parse_data_spec, resolve_auto

    spec = parse_data_spec(data, "--data")
    return str(resolve_auto(spec)) if spec.kind == "auto" else data


class ZeroShotGrid:
    """The (proxy, seed, n_batches) estimators of one space and their store keys."""

    def __init__(self, space: Any, cfg: ZeroShotConfig) -> None:
        from penas.estimators.proxies import list_proxies
        from penas.estimators.zero_cost import ZeroCostEstimator

        known = set(list_proxies())
        for p in cfg.proxies:
            if p not in known:
                raise ValueError(f"--proxies: unknown proxy {p!r}; expected some of: {', '.join(sorted(known))}")
        if cfg.batch_size < 1:
            raise ValueError(f"--batch-size: expected a positive integer, got {cfg.batch_size}")
        self.space = space
        self.cfg = cfg
        data = resolve_data(cfg.data)
        nmax = max(cfg.batches)
        base = ZeroCostEstimator(space, proxy=cfg.proxies[0], protocol="aw_nas", dataset=cfg.dataset, data=data,
                                 seed=cfg.seeds[0], batch_size=cfg.batch_size, n_batches=nmax)
        self.batches = base.batches()  # resolved once; the first n are the n-batch estimator's batches
        self.base = base
        self.est: dict[tuple[str, int, int], Any] = {}
        for s in cfg.seeds:
            for n in cfg.batches:
                e = ZeroCostEstimator(space, proxy=cfg.proxies[0], protocol="aw_nas", dataset=cfg.dataset, data=data,
                                      seed=s, batch_size=cfg.batch_size, n_batches=n)
                e._batches = self.batches[:n]
                for p in cfg.proxies:
                    self.est[(p, s, n)] = e.for_proxy(p)

    @property
    def data_source(self) -> str:
        return self.batches[0].source

    def key(self, p: str, s: int, n: int) -> tuple[str, str]:
        e = self.est[(p, s, n)]
        return e.name, e.config_hash

    def seed_columns(self, seed: int) -> Any:
        """Every (proxy, n_batches) of one init seed as one multi-output estimator (one build per
        arch; column ``"proxy@n"`` is stored under ``self.est[(proxy, seed, n)]``'s key)."""
        from penas.estimators.zero_cost import ZeroCostGrid

        return ZeroCostGrid(self.base, seed, {(p, n): self.est[(p, seed, n)] for p in self.cfg.proxies
                                              for n in self.cfg.batches})


def run_zero_shot(cfg: ZeroShotConfig, ids: Sequence[str] | None = None,
                  on_progress: ProgressFn | None = None, executor: Any = None) -> ZeroShotResult:
    """Score the selected archs on the whole grid, skipping what ``cfg.store`` holds.

    One :func:`~penas.estimators.scoring.cached_scores` call per init seed (one build per arch
    for every proxy and batch count); ``executor`` runs its shards (default: this process).
    ``on_progress(done, total)`` counts (seed, arch) pairs, cached ones included.
    """
    import time

    from penas.estimators.scoring import cached_scores
    from penas.estimators.simple import OracleEstimator
    from penas.estimators.store import ScoreStore
    from penas.spaces import get_space

    from .. import checks
    from ..evaluating import select_archs

    t0 = time.perf_counter()
    checks.check_space(cfg.space)
    if not cfg.store:
        raise ValueError("--store: expected a path to a SQLite score store")
    if cfg.chunk < 1:
        raise ValueError(f"--chunk: expected a positive integer, got {cfg.chunk}")
    space = get_space(cfg.space)
    grid = ZeroShotGrid(space, cfg)
    if ids is None:
        ids = select_archs(space, cfg.archs, cfg.sample_seed, OracleEstimator(space, dataset=cfg.dataset, metric="auto"))
    ids = list(dict.fromkeys(ids))
    store = ScoreStore(cfg.store)
    total = len(ids) * len(cfg.seeds)
    if on_progress is not None:
        on_progress(0, total)
    keys = []
    for i, s in enumerate(cfg.seeds):
        offset = i * len(ids)

        def progress(done: int, todo: int, offset: int = offset) -> None:
            if on_progress is not None:
                on_progress(offset + len(ids) - todo + done, total)

        table = cached_scores(grid.seed_columns(s), ids, store, executor, progress, shard_size=cfg.chunk)
        if on_progress is not None:
            on_progress(offset + len(ids), total)
        for p in cfg.proxies:
            for n in cfg.batches:
                col = table[f"{p}@{n}"]
                keys.append({"proxy": p, "seed": s, "n_batches": n, "estimator": col.estimator,
                             "config_hash": col.config_hash, "computed": col.n_computed,
                             "cached": len(ids) - col.n_computed, "invalid": col.n_invalid,
                             "higher_is_better": col.higher_is_better})
    src = grid.data_source
    return ZeroShotResult(space.name, len(ids), src, src.startswith("synthetic"), keys, time.perf_counter() - t0)
