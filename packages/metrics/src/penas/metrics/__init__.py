"""penas-metrics: ranking criteria for performance estimation (numpy + scipy only, no torch).

Every function takes ``(pred, gt)``, two equal-length 1-D arrays where higher is better for both.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .criteria import (
    RankAtK,
    best_rank_at,
    kendall_tau,
    kendall_tau_at_bottom,
    kendall_tau_at_top,
    mae,
    mkr,
    mkr_topk,
    one_shot_average,
    pearson,
    precision_at_bottom,
    precision_at_top,
    rmse,
    spearman,
    weighted_tau,
    worst_rank_at,
)
from .ndcg import ndcg
from .report import DEFAULT_RATIOS, AtK, CriteriaReport, criteria_report
from .segmentation import (
    SegmentationMeter,
    SegmentationScores,
    intersect_and_union,
    reduce_zero_label,
)

try:
    __version__ = version("penas-metrics")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_RATIOS",
    "AtK",
    "CriteriaReport",
    "RankAtK",
    "best_rank_at",
    "criteria_report",
    "kendall_tau",
    "kendall_tau_at_bottom",
    "kendall_tau_at_top",
    "mae",
    "mkr",
    "mkr_topk",
    "ndcg",
    "one_shot_average",
    "pearson",
    "precision_at_bottom",
    "precision_at_top",
    "rmse",
    "spearman",
    "weighted_tau",
    "worst_rank_at",
    "SegmentationMeter",
    "SegmentationScores",
    "intersect_and_union",
    "reduce_zero_label",
]
