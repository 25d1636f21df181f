"""The retraining loop of ``penas-app retrain``: the engine's retraining task.

The loop, its checkpoints (``checkpoint.pt`` / ``best.pt``, atomic, ``weights_only``-loadable, full
RNG state), the JSON-lines log, the report and the exact resume are
:class:`penas.supernets.engine.tasks.retrain.RetrainTask`'s (see its module for the run directory);
the DDP set-up is :mod:`penas.supernets.engine.distributed`'s. Multi-process
(``torchrun --nproc-per-node N penas-app retrain ...``): when ``WORLD_SIZE > 1`` the process group is
initialised (NCCL on GPU, gloo on CPU), the model is wrapped in DDP, each rank reads its shard of
every epoch and only rank 0 writes files. Progress comes as ``progress(event)`` callbacks; the CLI
renders them.
"""

from __future__ import annotations

import torch

from penas.supernets.engine.checkpoint import rng_state, seed_everything, set_rng_state
from penas.supernets.engine.distributed import DistContext, setup
from penas.supernets.engine.tasks.retrain import CHECKPOINT, RetrainTask

DistInfo = DistContext  # rank / world_size / local_rank from torchrun's env: ``DistInfo.from_env()``
Trainer = RetrainTask


def init_distributed(info: DistContext) -> torch.device:
    """Initialise the process group when ``WORLD_SIZE > 1``; the device of this rank."""
    return setup(info)[1]


__all__ = ["CHECKPOINT", "DistInfo", "Trainer", "init_distributed", "rng_state", "seed_everything", "set_rng_state"]
