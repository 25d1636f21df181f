"""Checkpoints of the training engine: full RNG state, atomic files that load with ``weights_only=True``.

A checkpoint is a dict of tensors and plain Python values only (no pickled objects), so
:func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``: an untrusted file can never
run code. :func:`rng_state` captures every RNG a training step may draw from -- python's ``random``,
numpy's global generator, torch's CPU generator and every CUDA device's -- in that form, and
:func:`set_rng_state` restores it, which is what makes a resumed run bit-exact.

:class:`CheckpointSaver` (after timm's ``CheckpointSaver``) writes ``last.pt`` atomically, optionally
keeps the ``keep_last`` most recent numbered checkpoints and a ``best.pt`` of the best metric so far.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .io import atomic_torch_save


class CheckpointError(ValueError):
    """A checkpoint is unreadable or belongs to another model/training setup (one line)."""


# --- RNG state ----------------------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """Every global RNG state as tensors and plain values (``weights_only``-loadable).

    Returns
    -------
    dict
        ``python`` [version, int64 tensor, gauss_next], ``numpy`` [name, int64 tensor, pos,
        has_gauss, cached_gaussian], ``torch`` (ByteTensor) and, when CUDA is available, ``cuda``
        (one ByteTensor per device).
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    out: dict[str, Any] = {
        "python": [int(version), torch.tensor(internal, dtype=torch.int64), gauss],
        "numpy": [str(name), torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured (CUDA only where both sides have it)."""
    torch.set_rng_state(state["torch"])
    if "numpy" in state:
        n = state["numpy"]
        keys = n[1].numpy() if isinstance(n[1], torch.Tensor) else np.asarray(n[1])
        np.random.set_state((n[0], keys.astype(np.uint32), int(n[2]), int(n[3]), float(n[4])))
    if "python" in state:
        version, internal, gauss = state["python"]
        internal = internal.tolist() if isinstance(internal, torch.Tensor) else internal
        random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --- files --------------------------------------------------------------------------------------
def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Atomically write ``state`` (tensors and plain values) to ``path``."""
    return atomic_torch_save(state, path)


def load_checkpoint(path: str | os.PathLike[str], *, fmt: str | None = None, required: tuple[str, ...] = (),
                    map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    fmt : str, optional
        The expected value of its ``format`` key.
    required : tuple of str
        Keys it must hold.
    map_location : optional
        Passed to ``torch.load``.

    Returns
    -------
    dict
        The checkpoint.

    Raises
    ------
    CheckpointError
        One line, when the file is missing, corrupted, or not of the expected format.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint: no file at {p}")
    try:
        ck = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling/zip failure means a corrupt file
        msg = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint: {p} is corrupted or not a penas checkpoint ({msg})") from None
    if not isinstance(ck, dict) or (fmt is not None and ck.get("format") != fmt) or any(k not in ck for k in required):
        raise CheckpointError(f"checkpoint: {p} is not a {fmt or 'penas checkpoint'} file")
    return ck


class CheckpointSaver:
    """``last.pt`` (atomic), the ``keep_last`` most recent ``ckpt-<tag>.pt`` and ``best.pt``.

    Parameters
    ----------
    directory : str or os.PathLike
        Where the files go.
    keep_last : int
        Numbered checkpoints kept besides ``last.pt`` (0: none are written).
    higher_is_better : bool
        Direction of the metric that selects ``best.pt``.
    is_main : bool
        Only the main process writes (the others' calls do nothing).
    """

    def __init__(self, directory: str | os.PathLike[str], *, last: str = "last.pt", best: str = "best.pt",
                 keep_last: int = 0, higher_is_better: bool = True, is_main: bool = True) -> None:
        if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 0:
            raise ValueError(f"keep_last: expected a non-negative integer, got {keep_last!r}")
        self.directory = Path(directory)
        self.last_name, self.best_name = last, best
        self.keep_last, self.higher_is_better, self.is_main = keep_last, higher_is_better, is_main
        self.best_metric: float | None = None

    @property
    def last_path(self) -> Path:
        return self.directory / self.last_name

    @property
    def best_path(self) -> Path:
        return self.directory / self.best_name

    def is_better(self, metric: float) -> bool:
        if self.best_metric is None:
            return True
        return metric > self.best_metric if self.higher_is_better else metric < self.best_metric

    def save(self, state: dict[str, Any] | Callable[[], dict[str, Any]], *, tag: int | None = None,
             metric: float | None = None,
             best_state: dict[str, Any] | Callable[[], dict[str, Any]] | None = None) -> bool:
        """Write ``state`` as ``last.pt`` (and ``ckpt-<tag>.pt`` when keeping history); when
        ``metric`` improves on the best so far, first write ``best_state`` (default ``state``) as
        ``best.pt``. ``state`` / ``best_state`` may be callables, called after :attr:`best_metric`
        was updated (so a state can record the new best). Returns whether ``metric`` was a new best;
        on other ranks than the main one only :attr:`best_metric` is updated."""
        improved = metric is not None and self.is_better(metric)
        if improved:
            self.best_metric = float(metric)  # type: ignore[arg-type]
        if not self.is_main:
            return improved
        state = state() if callable(state) else state
        if improved:
            best = best_state() if callable(best_state) else best_state
            save_checkpoint(best if best is not None else state, self.best_path)
        save_checkpoint(state, self.last_path)
        if self.keep_last and tag is not None:
            save_checkpoint(state, self.directory / f"ckpt-{int(tag)}.pt")
            self._prune()
        return improved

    def history(self) -> list[Path]:
        """The numbered checkpoints, oldest first."""
        found = []
        for p in self.directory.glob("ckpt-*.pt"):
            m = re.fullmatch(r"ckpt-(\d+)\.pt", p.name)
            if m:
                found.append((int(m.group(1)), p))
        return [p for _, p in sorted(found)]

    def _prune(self) -> None:
        for p in self.history()[: -self.keep_last]:
            p.unlink(missing_ok=True)
