"""Run an estimator over many architectures, writing scores to a :class:`ScoreStore` as they come.

:func:`penas.estimators.scoring.cached_scores` (and its wrappers
:func:`~penas.estimators.scoring.run_sweep` / :func:`~penas.estimators.scoring.run_multi_sweep`) asks the store which arch ids are missing, cuts them into shards, and
hands the shards to an executor:

* :class:`LocalExecutor` -- ``workers=1``: in this process, in order; ``workers=N``: a
  process pool (``spawn`` by default), each worker with ``torch.set_num_threads(1)``;
  ``devices=["cuda:0", "cuda:1"]``: one worker per device (see *Devices* below);
* :class:`RayExecutor` -- the same shards as Ray tasks (``pip install 'penas-estimators[ray]'``);
  ``num_gpus=N``: N Ray actors with one GPU each.

Each finished shard is stored in one transaction, so a killed sweep resumes at the first
missing arch and never recomputes a stored score. The estimator reaches the workers either
pickled or as an :class:`EstimatorSpec` (registered name + space name + config), which is
cheap to send. Scores do not depend on the executor: every arch is scored by an estimator
in the same state (zero-cost estimators seed each build).

Devices: with ``LocalExecutor(devices=[...])`` worker ``i`` is started with device
``devices[i % len(devices)]`` (one worker per device by default). At start-up it calls
``torch.cuda.set_device`` for a ``cuda:N`` device and puts the estimator there: an
:class:`EstimatorSpec` whose factory takes ``device=`` is built with it; any other estimator
that has a ``to_device(device)`` method (``ZeroCostEstimator``) is moved after it is built or
unpickled; estimators with neither run as before (on CPU). Shards are handed out dynamically: a
free worker takes the next one. ``cpu`` entries are accepted (``["cpu", "cpu"]`` is two CPU
workers, each knowing its index), which is how the logic is tested without a GPU. Rows computed
by a device worker carry ``{"worker": {"index": i, "device": d}}`` in their provenance ``extra``;
the device is not part of any config hash (it is an execution detail; GPU kernels may differ
from CPU ones in the last bits, which the provenance makes visible).
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .base import Estimator, ProvenanceRows, ScoreResult

#: ``(arch_ids, scores, provenance rows)``; the rows (:class:`~penas.estimators.base.ProvenanceRows`) are
#: built when read.
ShardResult = tuple[list[str], list[float], Sequence[dict[str, Any]]]


@dataclass(frozen=True)
class EstimatorSpec:
    """A picklable recipe: ``get_estimator(name, space, **cfg)``."""

    name: str
    space: str
    cfg: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> Estimator:
        from ._registry import get_estimator

        return get_estimator(self.name, self.space, **self.cfg)

    def takes_device(self) -> bool:
        """Whether the registered factory names a ``device`` parameter."""
        from ._registry import ESTIMATORS

        try:
            return "device" in inspect.signature(ESTIMATORS.get(self.name)).parameters
        except (TypeError, ValueError):
            return False

    def on_device(self, device: str) -> Estimator:
        """Build the estimator for ``device`` (``device=`` when the factory takes it, else
        :meth:`to_device` when the estimator has one, else as it is)."""
        if self.takes_device():
            from ._registry import get_estimator

            return get_estimator(self.name, self.space, **{**self.cfg, "device": device})
        return place_on_device(self(), device)


EstimatorSource = Estimator | Callable[[], Estimator]


def materialise(src: EstimatorSource) -> Estimator:
    """The estimator itself, or the one a recipe/factory builds."""
    return src if isinstance(src, Estimator) else src()


def place_on_device(est: Estimator, device: str) -> Estimator:
    """``est.to_device(device)`` when the estimator has that method, else ``est`` unchanged."""
    move = getattr(est, "to_device", None)
    return move(device) if callable(move) else est


def _materialise_on(src: EstimatorSource, device: str) -> Estimator:
    if isinstance(src, EstimatorSpec):
        return src.on_device(device)
    return place_on_device(materialise(src), device)


# --- devices ----------------------------------------------------------------------------------
def parse_device(d: str | int) -> str:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or an int N (= ``"cuda:N"``) -> a canonical name."""
    if isinstance(d, bool) or not isinstance(d, (str, int)):
        raise ValueError(f"devices: expected 'cpu', 'cuda:N' or an int, got {d!r}")
    if isinstance(d, int):
        if d < 0:
            raise ValueError(f"devices: expected a non-negative CUDA index, got {d}")
        return f"cuda:{d}"
    if d == "cpu":
        return d
    if d == "cuda":
        return "cuda:0"
    if d.startswith("cuda:") and d[5:].isdigit():
        return f"cuda:{int(d[5:])}"
    raise ValueError(f"devices: expected 'cpu', 'cuda:N' or an int, got {d!r}")


def cuda_device_count() -> int:
    """Visible CUDA devices (0 without CUDA). Safe before spawning: creates no CUDA context."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_devices(devices: Sequence[str | int]) -> list[str]:
    """Canonical device names; one-line ``ValueError`` when CUDA is missing or an index is out of range."""
    names = [parse_device(d) for d in devices]
    if not names:
        raise ValueError("devices: expected at least one device")
    cuda = [int(n[5:]) for n in names if n != "cpu"]
    if cuda:
        count = cuda_device_count()
        if count == 0:
            raise ValueError("CUDA is not available on this machine")
        bad = [i for i in cuda if i >= count]
        if bad:
            raise ValueError(f"CUDA device {bad[0]} is out of range: {count} visible device(s) (0..{count - 1})")
    return names


def gpu_devices(indexes: Sequence[int] | None = None) -> list[str]:
    """``cuda:N`` for every visible CUDA device (``indexes=None``) or for those ``indexes``."""
    if indexes is None:
        count = cuda_device_count()
        if count == 0:
            raise ValueError("CUDA is not available on this machine")
        indexes = range(count)
    return check_devices(list(indexes))


@dataclass(frozen=True)
class WorkerInfo:
    """What a device worker was given at start-up."""

    index: int
    device: str
    pid: int


def _shard(res: ScoreResult) -> ShardResult:
    return list(res.arch_ids), np.asarray(res.scores, dtype=np.float64).tolist(), ProvenanceRows(res.provenance)


MultiShardResult = dict[str, ShardResult]


def score_shard(est: Estimator, arch_ids: Sequence[str]) -> ShardResult | MultiShardResult:
    """One shard: a :data:`ShardResult`, or ``{column: ShardResult}`` for a multi-output estimator."""
    if getattr(est, "multi_output", False):
        return {name: _shard(r) for name, r in est.score_columns(list(arch_ids)).items()}
    return _shard(est.score_result(list(arch_ids)))


# --- local ------------------------------------------------------------------------------------
_WORKER_EST: Estimator | None = None


def _init_worker(src: EstimatorSource) -> None:
    import torch

    torch.set_num_threads(1)
    global _WORKER_EST
    _WORKER_EST = materialise(src)


def _worker_shard(arch_ids: Sequence[str]) -> Any:
    assert _WORKER_EST is not None, "worker not initialised"
    return score_shard(_WORKER_EST, arch_ids)


_WORKER_INFO: WorkerInfo | None = None


def worker_info() -> WorkerInfo | None:
    """This process's device-worker assignment (``None`` outside a device worker)."""
    return _WORKER_INFO


def _init_device_worker(slots: Any, src: EstimatorSource) -> None:
    """Take the next ``(index, device)`` slot, pin the device, build the estimator there."""
    import torch

    torch.set_num_threads(1)
    index, device = slots.get(timeout=60)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    global _WORKER_EST, _WORKER_INFO
    _WORKER_INFO = WorkerInfo(index, device, os.getpid())
    _WORKER_EST = _materialise_on(src, device)


def _tag(provs: list[dict[str, Any]], tag: dict[str, Any]) -> None:
    for p in provs:
        p["extra"] = {**p.get("extra", {}), "worker": tag}


def _device_worker_shard(arch_ids: Sequence[str]) -> Any:
    assert _WORKER_INFO is not None, "device worker not initialised"
    out = _worker_shard(arch_ids)
    tag = {"index": _WORKER_INFO.index, "device": _WORKER_INFO.device}
    for _, _, provs in out.values() if isinstance(out, dict) else [out]:
        _tag(provs, tag)
    return out


class Executor(Protocol):
    def imap(self, src: EstimatorSource, shards: Sequence[Sequence[str]]) -> Iterator[Any]: ...


class LocalExecutor:
    """``workers=1``: sequential in this process. ``workers>1``: a process pool.

    ``devices=[...]`` (``"cpu"``, ``"cuda:N"`` or ints): a pool of device-pinned workers, worker
    ``i`` on ``devices[i % len(devices)]``; ``workers`` defaults to ``len(devices)``. It always
    uses worker processes (even for one device), so this process never touches CUDA.
    """

    def __init__(
        self, workers: int | None = None, start_method: str = "spawn", devices: Sequence[str | int] | None = None
    ) -> None:
        self.devices = check_devices(devices) if devices is not None else None
        if workers is None:
            workers = len(self.devices) if self.devices else 1
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: expected a positive integer, got {workers}")
        if self.devices and any(d != "cpu" for d in self.devices) and start_method == "fork":
            raise ValueError("start_method: 'fork' is not CUDA-safe; use 'spawn' or 'forkserver' with CUDA devices")
        self.workers = workers
        self.start_method = start_method

    def slots(self) -> list[tuple[int, str]]:
        """The ``(worker index, device)`` each worker is started with."""
        assert self.devices is not None
        return [(i, self.devices[i % len(self.devices)]) for i in range(self.workers)]

    def imap(self, src: EstimatorSource, shards: Sequence[Sequence[str]]) -> Iterator[Any]:
        if not shards:
            return
        if self.devices is not None:
            yield from self._imap_devices(src, shards)
            return
        if self.workers == 1:
            est = materialise(src)
            for s in shards:
                yield score_shard(est, s)
            return
        ctx = mp.get_context(self.start_method)
        with ctx.Pool(min(self.workers, len(shards)), initializer=_init_worker, initargs=(src,)) as pool:
            yield from pool.imap_unordered(_worker_shard, list(shards))

    def _imap_devices(self, src: EstimatorSource, shards: Sequence[Sequence[str]]) -> Iterator[Any]:
        ctx = mp.get_context(self.start_method)
        slots = self.slots()[: min(self.workers, len(shards))]
        queue = ctx.Queue()
        for slot in slots:
            queue.put(slot)
        # A worker that dies breaks the pool (BrokenProcessPool) instead of hanging like mp.Pool.
        with ProcessPoolExecutor(len(slots), mp_context=ctx, initializer=_init_device_worker,
                                 initargs=(queue, src)) as pool:
            pending = {pool.submit(_device_worker_shard, s) for s in shards}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield fut.result()
            finally:
                for fut in pending:
                    fut.cancel()


class RayExecutor:
    """Shards as Ray tasks (one CPU and one torch thread each). Needs the ``ray`` extra.

    ``num_gpus=N``: N actors with ``num_gpus=1`` each (Ray sets ``CUDA_VISIBLE_DEVICES`` per
    actor, so each puts its estimator on its ``cuda:0``); a free actor takes the next shard.
    """

    def __init__(self, address: str | None = None, num_gpus: int = 0, **init_kwargs: Any) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ImportError("RayExecutor needs ray: pip install 'penas-estimators[ray]'") from None
        if isinstance(num_gpus, bool) or not isinstance(num_gpus, int) or num_gpus < 0:
            raise ValueError(f"num_gpus: expected a non-negative integer, got {num_gpus!r}")
        self.address = address
        self.num_gpus = num_gpus
        self.init_kwargs = init_kwargs
        self._started = False  # whether this executor connected Ray (and so disconnects it)

    def imap(self, src: EstimatorSource, shards: Sequence[Sequence[str]]) -> Iterator[Any]:
        import ray

        if not ray.is_initialized():
            kw = {"log_to_driver": False, **self.init_kwargs}
            # address None: $RAY_ADDRESS (a running cluster) when set, else a local one.
            ray.init(address=self.address, **kw)
            self._started = True
        if self.num_gpus:
            yield from self._imap_actors(src, shards)
            return
        src_ref = ray.put(src)

        @ray.remote(num_cpus=1)
        def run(src_obj: EstimatorSource, ids: list[str]) -> Any:
            import torch

            torch.set_num_threads(1)
            return score_shard(materialise(src_obj), ids)

        pending = [run.remote(src_ref, list(s)) for s in shards]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])

    def close(self) -> None:
        """Disconnect from Ray if this executor connected (a local cluster it started stops)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _imap_actors(self, src: EstimatorSource, shards: Sequence[Sequence[str]]) -> Iterator[Any]:
        import ray

        actor_cls = ray.remote(num_gpus=1, num_cpus=1)(_RayDeviceWorker)
        n = min(self.num_gpus, len(shards))
        actors = [actor_cls.remote(i, src) for i in range(n)]
        todo = [list(s) for s in shards][::-1]
        running = {}
        for a in actors:
            if todo:
                running[a.run.remote(todo.pop())] = a
        try:
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                actor = running.pop(done[0])
                if todo:
                    running[actor.run.remote(todo.pop())] = actor
                yield ray.get(done[0])
        finally:
            for a in actors:
                ray.kill(a)


class _RayDeviceWorker:
    """A Ray actor holding one GPU (``cuda:0`` under the ``CUDA_VISIBLE_DEVICES`` Ray sets)."""

    def __init__(self, index: int, src: EstimatorSource) -> None:
        import ray
        import torch

        torch.set_num_threads(1)
        device = "cuda:0" if torch.cuda.is_available() else "cpu"
        if device != "cpu":
            torch.cuda.set_device(0)
        gpu_ids = ray.get_gpu_ids()
        self.tag = {"index": index, "device": f"cuda:{gpu_ids[0]}" if gpu_ids else device}
        self.est = _materialise_on(src, device)

    def run(self, ids: list[str]) -> Any:
        out = score_shard(self.est, ids)
        for _, _, provs in out.values() if isinstance(out, dict) else [out]:
            _tag(provs, self.tag)
        return out


# --- shards -----------------------------------------------------------------------------------
def shards_of(ids: Sequence[str], size: int) -> list[list[str]]:
    if size < 1:
        raise ValueError(f"shard_size: expected a positive integer, got {size}")
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]
