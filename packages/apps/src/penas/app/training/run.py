"""Stand-alone retraining as a library call: :func:`run_retrain` (what ``penas-app retrain`` runs).

Everything is validated before any data is read (one-line ``ValueError``); then the chosen recipe
trains the arch on the one training engine (``penas.supernets.engine``, task ``retrain``). Progress
comes back through ``progress(event)`` (the engine's step/epoch events) and notes through
``log(message)``; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def _one_line(e: BaseException) -> ValueError:
    msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    return ValueError((str(msg).splitlines() or [type(e).__name__])[0])


def default_data_dir(dataset: str, data: str | Path | None, log: Callable[[str], None] | None = None) -> Path:
    """``data``, else the data root's copy of a CIFAR dataset (said through ``log``); one-line error otherwise."""
    if data is not None:
        return Path(data)
    from penas.spaces.datasets import DataSpec, find_layout

    if dataset in ("cifar10", "cifar100"):
        d = DataSpec(dataset).directory()
        if find_layout(d, dataset) is not None:
            if log is not None:
                log(f"data: {dataset} from {d} (the data root's; --data DIR to use another)")
            return d
        raise ValueError(f"--data: no {dataset} under {d}; pass --data DIR or run `penas-app data download {dataset}`")
    raise ValueError(f"--data: expected the {dataset} directory (ImageFolder train/ val/)")


def run_retrain(space: str, arch_text: str, dataset: str = "cifar10", data: str | Path | None = None,
                out: str | Path = "runs/retrain", preset: str | None = None, resume: bool = False,
                stop_after: int | None = None, overrides: dict[str, Any] | None = None, *,
                progress: Callable[[dict[str, Any]], None] | None = None,
                log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Validate everything, then train ``arch_text`` of ``space``; returns the final report.

    Parameters
    ----------
    space : str
        ``darts`` or ``attentivenas``.
    arch_text : str
        The genotype text (DARTS) or the subnet config JSON (AttentiveNAS).
    dataset : str
        ``cifar10`` | ``cifar100`` | ``imagenet`` (DARTS), ``imagenet`` (AttentiveNAS).
    data : str or Path, optional
        The dataset directory (default for CIFAR: the data root's copy).
    out : str or Path
        Run directory: ``checkpoint.pt``, ``best.pt``, ``log.jsonl``, ``report.json``.
    preset, overrides
        The recipe (``pcdarts-cifar10`` ...) and field overrides (``epochs=2``, ``layers=8`` ...).
    resume, stop_after
        Continue ``out``'s checkpoint; train at most ``stop_after`` epochs in this call.
    progress, log : callable, optional
        ``progress(event)`` for every engine event; ``log(message)`` for notes.

    Returns
    -------
    dict
        The report (also ``out/report.json``): params, FLOPs, epochs done, best/last accuracy.
    """
    from penas.app.training.recipes import DEFAULT_PRESET, get_recipe, warmup_for_batch
    from penas.app.training.targets import get_target

    from .. import checks

    out = Path(out)
    datasets = ("imagenet",) if space == "attentivenas" else tuple(DEFAULT_PRESET)
    if dataset not in datasets:
        raise ValueError(f"--dataset: expected {' | '.join(datasets)} for {space}, got {dataset!r}")
    if stop_after is not None and stop_after < 1:
        raise ValueError(f"--stop-after: expected a positive number of epochs, got {stop_after}")
    checks.check_out_dir(out, "--out")
    try:
        base = get_recipe(preset or ("attentivenas-imagenet" if space == "attentivenas" else DEFAULT_PRESET[dataset]))
        recipe = warmup_for_batch(base.with_overrides(**(overrides or {})))
        target = get_target(space, arch_text, dataset, recipe)  # rejects a bad arch before any work
    except (ValueError, KeyError) as e:
        err = _one_line(e)
        if str(err).startswith(("genotype:", "config:")):  # the option that gave the arch
            raise ValueError(f"--{err}") from None
        raise err from None
    if not resume and (out / "checkpoint.pt").exists():
        raise ValueError(f"--out: {out} already holds a checkpoint; pass --resume or choose a new --out")

    import torch

    from penas.app.training.data import make_loaders
    from penas.app.training.trainer import DistInfo, Trainer, init_distributed, seed_everything

    dist = DistInfo.from_env()
    data_dir = default_data_dir(dataset, data, log if dist.is_main else None)
    try:
        train, test = make_loaders(dataset, data_dir, recipe, dist.rank, dist.world_size)
    except (ValueError, FileNotFoundError, ImportError) as e:
        raise _one_line(e) from None
    device = init_distributed(dist)
    seed_everything(recipe.seed)
    model = target.build()
    trainer = Trainer(recipe, model, train, test, out, target.meta(model), device=device, dist=dist)
    if resume:
        try:
            trainer.resume()
        except (ValueError, FileNotFoundError) as e:
            raise _one_line(e) from None
    report = trainer.fit(stop_after=stop_after, progress=progress if dist.is_main else None)
    if dist.world_size > 1:
        torch.distributed.destroy_process_group()
    return report
