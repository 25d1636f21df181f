"""Precomputed per-arch score files (FreeREA's ``index,<metric>,time=[s]...`` CSVs), keyed by the NB201 index."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._readers import PathLike, column, float_cell, read_csv
from .nb201_import import nb201_index_map


def load_score_file(path: PathLike, space: str = "nb201", root: PathLike | None = None
                    ) -> tuple[list[str], np.ndarray]:
    """A precomputed per-arch score file (FreeREA ``index,<metric>,time=[s]...``) -> ``(arch_ids, scores)``.

    The score column is the first column after ``index``; the NB201 index is mapped to the
    arch string through the NB201 table. ``-inf``/``inf``/empty cells are NaN (invalid).
    """
    if space != "nb201":
        raise ValueError(f"space: score files are indexed by the NB201 index; got space {space!r}")
    path = Path(path)
    header, rows = read_csv(path)
    ii = column(header, "index", path)
    names = [h for j, h in enumerate(header) if j != ii and not h.startswith("time")]
    if not names:
        raise ValueError(f"file: {str(path)!r} has no score column besides index/time")
    iv = header.index(names[0])
    mapping = nb201_index_map(Path(root) if root is not None else None)
    ids: list[str] = []
    scores = np.empty(len(rows))
    for k, r in enumerate(rows):
        idx = int(r[ii])
        if idx not in mapping:
            raise ValueError(f"file: {str(path)!r}: NB201 index {idx} out of range")
        ids.append(mapping[idx])
        scores[k] = float_cell(r[iv]) if iv < len(r) else math.nan
    return ids, scores
