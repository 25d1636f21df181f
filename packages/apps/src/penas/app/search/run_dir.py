"""The resumable run directory of a search (both searches) and its stages.

::

    RUN_DIR/config.json              the search's config (``--resume`` reads it back)
    RUN_DIR/stages/<NN>-<name>.json  one file per finished stage: kept ids, scores, timings, fidelity
    RUN_DIR/<store file>             the run's own score store (where no ``--store`` is given)

A finished stage is loaded from its file, never recomputed (:func:`run_stage`); what else a
search writes there (``result.json``, ``report.json``, ``summary.txt``, ...) is its own.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..strategies.base import StageOutput


class RunError(ValueError):
    """A problem with the run directory or the search setup (one-line message)."""


class RunDir:
    """A run directory holding a config of type ``config_cls``.

    Parameters
    ----------
    path : path-like
        The directory.
    config_cls : type, optional
        The config dataclass (``to_dict`` / ``from_dict``); default
        :class:`~penas.app.configs.SearchConfig`.
    kind : str, optional
        The ``"kind"`` the stored config must carry to be resumed here (``None``: any).
    store_file : str
        File name of the run's own score store.
    """

    def __init__(self, path: str | os.PathLike[str], config_cls: type | None = None, *, kind: str | None = None,
                 store_file: str = "scores.db") -> None:
        if config_cls is None:
            from ..configs import SearchConfig

            config_cls = SearchConfig
        self.path = Path(path)
        self.config_cls, self.kind, self.store_file = config_cls, kind, store_file

    def init(self, config: Any) -> None:
        """Write ``config.json``; a directory that already holds a finished stage is refused."""
        if (self.path / "config.json").exists() and self.stage_files():
            raise RunError(f"--out: {self.path} already holds a run; use --resume {self.path} or another --out")
        # A run that failed before its first stage finished holds nothing worth keeping: reuse it.
        (self.path / "stages").mkdir(parents=True, exist_ok=True)
        write_json(self.path / "config.json", config.to_dict())

    def load_config(self) -> Any:
        """The stored config (``--resume``); one-line :class:`RunError` for a foreign directory."""
        p = self.path / "config.json"
        if not p.is_file():
            raise RunError(f"--resume: {self.path} has no config.json (not a search run directory)")
        d = json.loads(p.read_text())
        if self.kind is not None and d.get("kind") != self.kind:
            raise RunError(f"--resume: {self.path} is not a {self.kind.replace('-', ' ')} run")
        return self.config_cls.from_dict(d)

    def stage_path(self, index: int, name: str) -> Path:
        safe = name.replace("@", "-e").replace("/", "_").replace(":", "_")
        return self.path / "stages" / f"{index:02d}-{safe}.json"

    @property
    def store_path(self) -> Path:
        """The run's own score store (used when no ``--store`` is given)."""
        return self.path / self.store_file

    def stage_files(self) -> list[Path]:
        return sorted((self.path / "stages").glob("*.json"))


def write_json(path: Path, obj: Any) -> None:
    """``obj`` as JSON at ``path``, atomically (numpy scalars and arrays as numbers and lists)."""
    from penas.spaces.atomic_io import atomic_write_json  # the one atomic writer

    atomic_write_json(path, obj, indent=1, default=_json_default, allow_nan=True)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


@dataclass
class StageRecord:
    """One finished stage: its output, CPU / wall seconds, whether it was loaded, and the fidelity
    of the estimators it read (``{role: fidelity}``)."""

    index: int
    name: str
    output: StageOutput
    cpu_s: float
    wall_s: float
    resumed: bool
    fidelity: dict[str, str]


def run_stage(
    run_dir: RunDir,
    stages: list[StageRecord],
    name: str,
    fn: Callable[[], StageOutput],
    *,
    console: Any = None,
    on_done: Callable[[StageRecord], None] | None = None,
    fidelity: Callable[[], dict[str, str]] | None = None,
    log: Callable[[str], None] | None = None,
) -> StageOutput:
    """One resumable stage: the stage file of a finished stage is loaded (nothing recomputed),
    else ``fn`` runs and its output is written atomically. Appends the record to ``stages``."""
    index = len(stages)
    path = run_dir.stage_path(index, name)
    if path.is_file():
        d = json.loads(path.read_text())
        rec = StageRecord(index, name, StageOutput.from_dict(d["output"]), d["cpu_s"], d["wall_s"], True,
                          d.get("fidelity", {}))
        stages.append(rec)
        if log is not None:
            log(f"stage {name}: loaded from {path.name} (resumed)")
        return rec.output
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    rec = StageRecord(index, name, out, time.process_time() - c0, time.perf_counter() - w0, False,
                      fidelity() if fidelity is not None else {})
    write_json(path, {"name": name, "output": out.to_dict(), "cpu_s": rec.cpu_s, "wall_s": rec.wall_s,
                      "fidelity": rec.fidelity})
    stages.append(rec)
    if console is not None:
        console.print(f"stage [bold]{name}[/bold]: kept {len(out.kept)}  ({rec.wall_s:.1f}s)")
    if on_done is not None:
        on_done(rec)
    return out


__all__ = ["RunDir", "RunError", "StageRecord", "run_stage", "write_json"]
