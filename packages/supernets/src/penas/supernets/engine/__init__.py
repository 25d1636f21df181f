"""The one training engine of penas (after timm's ``utils/checkpoint_saver.py``,
``utils/distributed.py`` and ``task/``).

How the parts fit::

    data (iterable of batches, optional set_epoch)      task (engine.tasks.*)
            \\                                          /  loss_fn(batch, state), epoch_hook
             -> loop.TrainLoop ------------------------
                  | lr from schedules.LRSchedule / Plateau (per step or per epoch, per group)
                  | grad clipping, ema.ModelEma, AMP on CUDA
                  | state_dict(): model, optimizer, schedule, EMA, scaler, checkpoint.rng_state()
                  | JSON-lines log (io.append_jsonl), progress(event) with ETA
                  v
            checkpoint.CheckpointSaver / save_checkpoint -> io.atomic_write (tmp + fsync + replace)
            distributed: torchrun env -> process group, rank/world, barrier, shutdown

* :mod:`.io` -- THE atomic writer (bytes, text, JSON, torch) and the JSON-lines appender;
* :mod:`.checkpoint` -- full RNG state as tensors, ``weights_only`` loading, keep-last/best saver;
* :mod:`.distributed` -- DDP / torchrun set-up (:class:`DistContext`, ``setup``, ``init_from_env``);
* :mod:`.schedules` -- cosine, poly, linear, constant with warm-up; plateau;
* :mod:`.ema` -- EMA of the weights;
* :mod:`.loop` -- :class:`TrainLoop`, the one loop;
* :mod:`.tasks` -- supernet training, stand-alone retraining, partial training, fine-tuning.

Importing this package imports only the torch-free :mod:`.io`; import the other modules directly.
"""

from __future__ import annotations

from .io import (
           append_jsonl,
           atomic_torch_save,
           atomic_write,
           atomic_write_bytes,
           atomic_write_json,
           atomic_write_text,
)

__all__ = ["append_jsonl", "atomic_torch_save", "atomic_write", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text"]
