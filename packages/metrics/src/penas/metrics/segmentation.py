"""Semantic-segmentation metrics with mmsegmentation 1.x ``IoUMetric`` semantics (numpy only).

For every image, pixels whose label is ``ignore_index`` are dropped; over the rest, per class
``c`` the areas ``I_c`` (pred == label == c), ``P_c`` (pred == c), ``L_c`` (label == c) and
``U_c = P_c + L_c - I_c`` are counted (mmseg's ``intersect_and_union``). Areas are summed over
the dataset, then (mmseg's ``total_area_to_metrics``)::

    IoU_c = I_c / U_c        Acc_c = I_c / L_c
    mIoU  = nanmean_c IoU_c  mAcc  = nanmean_c Acc_c    aAcc = sum_c I_c / sum_c L_c

A class with ``U_c == 0`` (resp. ``L_c == 0``) has IoU (resp. Acc) NaN and is left out of the
mean. Scores are fractions in [0, 1]; mmseg prints them as percentages rounded to 2 decimals.
One deviation: mmseg's ``torch.histc`` silently drops label or prediction values outside
``[0, num_classes)``; here they raise ``ValueError`` (except ``ignore_index`` labels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def reduce_zero_label(label: Any, ignore_index: int = 255) -> np.ndarray:
    """mmseg's ``reduce_zero_label``: label 0 ("other") -> ``ignore_index``, every other label
    ``l`` -> ``l - 1``; ``ignore_index`` stays. Returns an int64 array."""
    lab = np.asarray(label)
    out = lab.astype(np.int64) - 1
    out[(lab == 0) | (lab == ignore_index)] = ignore_index
    return out


def _as_int_array(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "iub":
        raise ValueError(f"{name}: expected an integer array of class indices, got dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def confusion_matrix(pred: Any, label: Any, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """``[num_classes, num_classes]`` int64 counts, rows = label, columns = prediction, over the
    pixels whose label is not ``ignore_index``."""
    if num_classes < 1:
        raise ValueError(f"num_classes: expected a positive number, got {num_classes}")
    p, lab = _as_int_array(pred, "pred"), _as_int_array(label, "label")
    if p.shape != lab.shape:
        raise ValueError(f"pred: expected the label's shape {lab.shape}, got {p.shape}")
    keep = lab != ignore_index
    p, lab = p[keep], lab[keep]
    if lab.size:
        if lab.min() < 0 or lab.max() >= num_classes:
            bad = lab[(lab < 0) | (lab >= num_classes)][0]
            raise ValueError(f"label: values must be in [0, {num_classes}) or {ignore_index} (ignore), got {bad}")
        if p.min() < 0 or p.max() >= num_classes:
            bad = p[(p < 0) | (p >= num_classes)][0]
            raise ValueError(f"pred: values must be in [0, {num_classes}), got {bad}")
    counts = np.bincount(lab * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def intersect_and_union(pred: Any, label: Any, num_classes: int,
                        ignore_index: int = 255) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """mmseg's ``intersect_and_union``: per-class int64 ``(area_intersect, area_union,
    area_pred, area_label)`` of one prediction/label pair (any equal shapes)."""
    cm = confusion_matrix(pred, label, num_classes, ignore_index)
    area_i = np.diag(cm).copy()
    area_pred, area_label = cm.sum(axis=0), cm.sum(axis=1)
    return area_i, area_pred + area_label - area_i, area_pred, area_label


def _nan_to_none(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


@dataclass(frozen=True)
class SegmentationScores:
    """Dataset-level scores (fractions in [0, 1]; per-class NaN = class absent from pred and label)."""

    miou: float
    pixel_acc: float
    mean_acc: float
    per_class_iou: list[float]
    per_class_acc: list[float]
    n_images: int
    area_intersect: list[int] = field(default_factory=list)
    area_union: list[int] = field(default_factory=list)
    area_label: list[int] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.per_class_iou)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (NaN -> None)."""
        return {
            "miou": _nan_to_none(self.miou), "pixel_acc": _nan_to_none(self.pixel_acc),
            "mean_acc": _nan_to_none(self.mean_acc), "n_images": self.n_images,
            "per_class_iou": [_nan_to_none(v) for v in self.per_class_iou],
            "per_class_acc": [_nan_to_none(v) for v in self.per_class_acc],
            "area_intersect": list(self.area_intersect), "area_union": list(self.area_union),
            "area_label": list(self.area_label),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegmentationScores:
        def f(v: Any) -> float:
            return math.nan if v is None else float(v)

        return cls(f(d["miou"]), f(d["pixel_acc"]), f(d["mean_acc"]), [f(v) for v in d["per_class_iou"]],
                   [f(v) for v in d["per_class_acc"]], int(d["n_images"]), list(d.get("area_intersect", [])),
                   list(d.get("area_union", [])), list(d.get("area_label", [])))

    def rows(self, class_names: Sequence[str] | None = None) -> list[tuple[int, str, float, float]]:
        """``(index, name, IoU, Acc)`` per class."""
        if class_names is not None and len(class_names) != self.num_classes:
            raise ValueError(f"class_names: expected {self.num_classes} names, got {len(class_names)}")
        names = list(class_names) if class_names is not None else [str(c) for c in range(self.num_classes)]
        return [(c, names[c], self.per_class_iou[c], self.per_class_acc[c]) for c in range(self.num_classes)]

    def to_table(self, class_names: Sequence[str] | None = None) -> str:
        """mmseg-style plain-text per-class table (percent, 2 decimals, NaN shown as ``nan``)
        followed by the summary line."""
        rows = self.rows(class_names)
        width = max([len("Class")] + [len(r[1]) for r in rows])
        lines = [f"{'Class':<{width}}  {'IoU':>6}  {'Acc':>6}"]
        lines += [f"{name:<{width}}  {iou * 100:6.2f}  {acc * 100:6.2f}" for _, name, iou, acc in rows]
        lines.append(f"aAcc {self.pixel_acc * 100:.2f}  mIoU {self.miou * 100:.2f}  mAcc {self.mean_acc * 100:.2f}"
                     f"  ({self.n_images} images)")
        return "\n".join(lines)


def scores_from_areas(area_intersect: np.ndarray, area_union: np.ndarray, area_label: np.ndarray,
                      n_images: int) -> SegmentationScores:
    """mmseg's ``total_area_to_metrics`` on dataset-summed areas."""
    ai, au, al = (np.asarray(a, dtype=np.int64) for a in (area_intersect, area_union, area_label))
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(au > 0, ai / np.maximum(au, 1), np.nan)
        acc = np.where(al > 0, ai / np.maximum(al, 1), np.nan)
    total = al.sum()
    pixel_acc = float(ai.sum() / total) if total > 0 else math.nan
    miou = float(np.nanmean(iou)) if np.any(au > 0) else math.nan
    mean_acc = float(np.nanmean(acc)) if np.any(al > 0) else math.nan
    return SegmentationScores(miou, pixel_acc, mean_acc, [float(v) for v in iou], [float(v) for v in acc],
                              int(n_images), ai.tolist(), au.tolist(), al.tolist())


class SegmentationMeter:
    """Accumulates per-image areas; ``result()`` gives the dataset scores.

    ``update(pred, label)`` takes one image ``[H, W]`` or a batch ``[B, H, W]`` of class indices
    (numpy arrays, or anything ``np.asarray`` accepts, e.g. CPU tensors)."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes: expected a positive number, got {num_classes}")
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.reset()

    def reset(self) -> None:
        self.confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        self.n_images = 0

    def update(self, pred: Any, label: Any) -> None:
        p = np.asarray(pred)
        if p.ndim not in (2, 3):
            raise ValueError(f"pred: expected [H, W] or [B, H, W], got shape {p.shape}")
        self.confusion += confusion_matrix(p, label, self.num_classes, self.ignore_index)
        self.n_images += 1 if p.ndim == 2 else p.shape[0]

    def merge(self, other: SegmentationMeter) -> None:
        """Add another meter's counts (e.g. from another process)."""
        if other.num_classes != self.num_classes:
            raise ValueError(f"other: expected {self.num_classes} classes, got {other.num_classes}")
        self.confusion += other.confusion
        self.n_images += other.n_images

    def areas(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        ai = np.diag(self.confusion).copy()
        ap, al = self.confusion.sum(axis=0), self.confusion.sum(axis=1)
        return ai, ap + al - ai, ap, al

    def result(self) -> SegmentationScores:
        if self.n_images == 0:
            raise ValueError("SegmentationMeter: no images were added")
        ai, au, _, al = self.areas()
        return scores_from_areas(ai, au, al, self.n_images)
