"""The search's view of the ground truth: which GT a ``gt_source`` setting means, and the chosen
arch's value, rank and regret against it.

A table lists its archs, so the rank is among all of them. A surrogate (the NB301 model for ``darts``)
covers the whole space, so the rank percentile is among :data:`SURROGATE_REFERENCE` genotypes sampled
uniformly with :data:`REFERENCE_SEED` (:func:`reference_sample`, cached per process with their values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from penas.estimators.simple import OracleEstimator
from penas.spaces import Space

# Candidates of ``--candidates auto`` over a surrogate GT (the reference's NB301 set holds ~5k archs).
SURROGATE_CANDIDATES = 5_000
# Genotypes the rank percentile of a surrogate GT is taken among, and their fixed sampling seed.
SURROGATE_REFERENCE = 10_000
REFERENCE_SEED = 20_301
_reference: dict[tuple[str, int, int], list[str]] = {}
_reference_values: dict[tuple[str, int, int, str], np.ndarray] = {}  # + the GT's config hash


def resolve_gt_source(space: str, source: str, option: str = "--gt-source") -> str:
    """``table`` or ``surrogate`` for a ``gt_source`` setting: ``auto`` is the surrogate when the space has
    one, its files are under the data root and onnxruntime is installed. An explicit ``surrogate`` that
    cannot work is a one-line ``ValueError`` naming ``option``."""
    import importlib.util

    from penas.spaces.benchmarks import surrogate_available
    from penas.spaces.benchmarks.store import GT_SOURCES
    from penas.spaces.benchmarks.surrogates import SURROGATES

    if source not in GT_SOURCES:
        raise ValueError(f"{option}: expected one of {', '.join(GT_SOURCES)}, got {source!r}")
    has_ort = importlib.util.find_spec("onnxruntime") is not None
    if source == "auto":
        return "surrogate" if surrogate_available(space) and has_ort else "table"
    if source == "surrogate":
        if space not in SURROGATES:
            raise ValueError(f"{option}: space {space!r} has no surrogate; surrogates exist for "
                             f"{', '.join(SURROGATES.names())}")
        if not surrogate_available(space):
            raise ValueError(f"{option}: no {space} surrogate under the data root; see "
                             "`penas-app data import nb301-yahpo DIR`")
        if not has_ort:
            raise ValueError(f"{option}: the surrogate needs onnxruntime; pip install 'penas-spaces[nb301]'")
    return source


def reference_sample(space: Space, n: int, seed: int = REFERENCE_SEED) -> list[str]:
    """``n`` genotypes drawn uniformly from ``space`` with ``seed`` (cached per process)."""
    key = (space.name, int(n), int(seed))
    if key not in _reference:
        _reference[key] = [space.format(a) for a in space.sample_many(int(n), np.random.default_rng(seed))]
    return _reference[key]


def gt_summary(gt: OracleEstimator, space: Space, chosen: str, cand: Sequence[str],
               n: int = SURROGATE_REFERENCE) -> dict[str, Any]:
    """Ground truth of ``chosen``, its rank among the table's archs (a surrogate: among
    :data:`SURROGATE_REFERENCE` sampled genotypes) and the regrets."""
    v = float(gt.values([chosen])[0])
    if gt.is_table:
        ids, col = gt.column()
        in_cand = set(cand)
        mask = np.array([a in in_cand for a in ids]) & np.isfinite(col)
        best_feas = float(np.max(col[mask])) if mask.any() else math.nan
        reference = f"all {int(np.isfinite(col).sum())} archs of the table"
    else:
        key = (space.name, n, REFERENCE_SEED, gt.config_hash)
        if key not in _reference_values:
            _reference_values[key] = gt.values(reference_sample(space, n))
        col = _reference_values[key]
        cv = gt.values(cand)
        best_feas = float(np.nanmax(cv)) if np.isfinite(cv).any() else math.nan
        reference = (f"{n} genotypes sampled uniformly (seed {REFERENCE_SEED}); GT = surrogate "
                     f"{gt.benchmark().model_sha256[:12]}")
    fin = col[np.isfinite(col)]
    best_all = float(np.max(fin)) if fin.size else math.nan
    ok = math.isfinite(v)
    return {
        "metric": gt.metric, "dataset": gt.dataset, "value": v,
        "source": "table" if gt.is_table else "surrogate", "reference": reference,
        "rank": int(np.sum(fin > v)) + 1 if ok else None, "n": int(fin.size),
        "rank_percentile": float(100.0 * np.mean(fin < v)) if ok and fin.size else None,
        "best": best_all, "regret": best_all - v if ok else None,
        "best_among_candidates": best_feas,
        "regret_among_candidates": best_feas - v if ok else None,
        "reached_optimum": bool(ok and v >= best_all - 1e-9),
    }
