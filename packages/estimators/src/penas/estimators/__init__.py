"""penas-estimators: zero-cost, one-shot, partial-training, predictor and oracle estimators.

The registry lives in ``penas.estimators._registry``; estimator modules register there on
import of this package. :func:`~penas.estimators.scoring.cached_scores` is the one way to
score archs through a :class:`~penas.estimators.store.ScoreStore`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._registry import ESTIMATORS, get_estimator, higher_is_better, list_estimators, register_estimator
from .base import Estimator, Provenance, ScoreResult, config_hash

try:
    __version__ = version("penas-estimators")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

from . import _all  # noqa: F401  (estimator modules register themselves in ._registry)

__all__ = [
    "ESTIMATORS",
    "Estimator",
    "Provenance",
    "ScoreResult",
    "config_hash",
    "get_estimator",
    "higher_is_better",
    "list_estimators",
    "register_estimator",
]
