"""Metric backends of ``penas-app segmentation eval --metric-backend``.

All three count the same per-class areas (intersection, union, label) over the dataset with
pixels labelled 255 ignored, and turn them into scores with the one definition of
:func:`penas.metrics.segmentation.scores_from_areas` (mmseg 1.x ``IoUMetric``), so the choice
changes who counts the pixels, never what the numbers mean:

* ``penas`` (default, core): :class:`penas.metrics.segmentation.SegmentationMeter` (numpy);
* ``torchmetrics``: ``MulticlassConfusionMatrix(ignore_index=255)`` (the dev requirements
  install it; ``pip install torchmetrics``);
* ``mmseg``: ``mmseg.evaluation.metrics.IoUMetric.intersect_and_union`` (extra ``penas-app[seg]``;
  mmcv 2.1.0 must be built from source on torch 2.13, see the README's recipe).

Each backend module is imported only when chosen; a missing one is a one-line error naming
what to install.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from penas.metrics.segmentation import SegmentationMeter, SegmentationScores, scores_from_areas

from .._registry import METRIC_BACKENDS


class Meter(Protocol):
    def update(self, pred: Any, label: Any) -> None: ...

    def result(self) -> SegmentationScores: ...




def _missing(backend: str, install: str) -> ValueError:
    # a ValueError, as for the app's other extras: the CLI prints it as one line
    return ValueError(f"--metric-backend: {backend!r} needs {install}")


@METRIC_BACKENDS.register("penas")
def penas_meter(num_classes: int, ignore_index: int = 255) -> Meter:
    return SegmentationMeter(num_classes, ignore_index)


class TorchmetricsMeter:
    """Areas from torchmetrics' confusion matrix (rows: label, columns: prediction)."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        try:
            from torchmetrics.classification import MulticlassConfusionMatrix
        except ImportError:
            raise _missing("torchmetrics", "torchmetrics: pip install torchmetrics") from None
        self.cm = MulticlassConfusionMatrix(num_classes, ignore_index=ignore_index, validate_args=True)
        self.n_images = 0

    def update(self, pred: Any, label: Any) -> None:
        import torch

        p, t = torch.as_tensor(np.asarray(pred)).long(), torch.as_tensor(np.asarray(label)).long()
        self.cm.update(p.reshape(-1), t.reshape(-1))
        self.n_images += 1 if p.dim() == 2 else p.shape[0]

    def result(self) -> SegmentationScores:
        conf = self.cm.compute().numpy().astype(np.int64)
        ai = np.diag(conf).copy()
        al, ap = conf.sum(axis=1), conf.sum(axis=0)
        return scores_from_areas(ai, ap + al - ai, al, self.n_images)


class MMSegMeter:
    """Areas from mmseg 1.x ``IoUMetric.intersect_and_union`` (per image, summed)."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        try:
            from mmseg.evaluation.metrics import IoUMetric
        except ImportError:
            raise _missing("mmseg", "the seg extra: pip install 'penas-app[seg]' (mmcv 2.1.0 built from source; "
                           "see the README)") from None
        self.fn = IoUMetric.intersect_and_union
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.areas = [np.zeros(num_classes, dtype=np.int64) for _ in range(4)]
        self.n_images = 0

    def update(self, pred: Any, label: Any) -> None:
        import torch

        p, t = torch.as_tensor(np.asarray(pred)).long(), torch.as_tensor(np.asarray(label)).long()
        for pi, ti in zip(p.reshape(-1, *p.shape[-2:]), t.reshape(-1, *t.shape[-2:]), strict=True):
            for acc, a in zip(self.areas, self.fn(pi, ti, self.num_classes, self.ignore_index), strict=True):
                acc += a.numpy().astype(np.int64)
            self.n_images += 1

    def result(self) -> SegmentationScores:
        ai, au, _, al = self.areas
        return scores_from_areas(ai, au, al, self.n_images)


METRIC_BACKENDS.register("torchmetrics")(TorchmetricsMeter)
METRIC_BACKENDS.register("mmseg")(MMSegMeter)


def make_meter(backend: str, num_classes: int, ignore_index: int = 255) -> Meter:
    """The backend's meter; one-line ``ValueError`` for an unknown name or a missing package."""
    if backend not in METRIC_BACKENDS:
        raise ValueError(f"--metric-backend: expected one of {', '.join(METRIC_BACKENDS.names())}, got {backend!r}")
    return METRIC_BACKENDS.get(backend)(num_classes, ignore_index)
