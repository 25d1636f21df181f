"""THE DDP / torchrun set-up of penas (after timm's ``utils/distributed.py``).

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
:func:`setup` reads them, initialises the default process group when more than one process runs
(NCCL on CUDA, gloo on CPU) and picks this rank's device. :func:`init_from_env` is the strict form
for entry points that only make sense under torchrun. Only the main rank (``rank == 0``) writes
files; :func:`all_reduce_mean` averages a float over the ranks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist
import torch.nn as nn


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    backend: str | None = None
    device: torch.device | None = None  # set for NCCL ranks (their CUDA device)
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @staticmethod
    def from_env() -> DistContext:
        """This process's rank/world from torchrun's env, without initialising anything."""
        ws = int(os.environ.get("WORLD_SIZE", "1"))
        if ws <= 1:
            return DistContext()
        return DistContext(int(os.environ.get("RANK", "0")), ws, local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def _init(backend: str | None) -> str:
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if not tdist.is_initialized():
        tdist.init_process_group(backend=backend)
    return backend


def init_from_env(backend: str | None = None) -> DistContext:
    """Initialise the default process group from torchrun's env (RANK, WORLD_SIZE, MASTER_*).

    Raises
    ------
    ValueError
        One line naming the missing variables when not launched by torchrun.
    """
    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise ValueError(f"environment: {', '.join(missing)} not set; launch with torchrun")
    backend = _init(backend)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = None
    if backend == "nccl":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    return DistContext(tdist.get_rank(), tdist.get_world_size(), backend, device, local)


def setup(ctx: DistContext | None = None) -> tuple[DistContext, torch.device]:
    """Initialise the process group when ``WORLD_SIZE > 1``; the context and this rank's device
    (``cuda:LOCAL_RANK`` when CUDA is available, else the CPU)."""
    ctx = ctx if ctx is not None else DistContext.from_env()
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda", ctx.local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if ctx.world_size > 1:
        backend = _init(ctx.backend)
        ctx = DistContext(ctx.rank, ctx.world_size, backend, device if use_cuda else None, ctx.local_rank)
    return ctx, device


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    if tdist.is_available() and tdist.is_initialized():
        tdist.barrier()


def shutdown() -> None:
    """Destroy the default process group if one was initialised."""
    if tdist.is_available() and tdist.is_initialized():
        tdist.destroy_process_group()


def all_reduce_sum(values: list[float], device: torch.device | None = None) -> list[float]:
    """Element-wise sum of ``values`` over the ranks (identity without a process group)."""
    if not (tdist.is_available() and tdist.is_initialized()) or tdist.get_world_size() == 1:
        return [float(v) for v in values]
    t = torch.tensor(values, dtype=torch.float64, device=device)
    tdist.all_reduce(t)
    return [float(v) for v in t.tolist()]


def all_reduce_mean(value: float, device: torch.device | None = None) -> float:
    """Mean of ``value`` over the ranks (identity without a process group)."""
    ws = tdist.get_world_size() if tdist.is_available() and tdist.is_initialized() else 1
    return all_reduce_sum([value], device)[0] / ws


def wrap_ddp(module: nn.Module, ctx: DistContext | None, device: torch.device | None = None,
             find_unused_parameters: bool = False) -> nn.Module:
    """``module`` wrapped in ``DistributedDataParallel`` when ``ctx`` has several ranks."""
    if ctx is None or ctx.world_size <= 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device is not None and device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused_parameters)
