"""The registries of penas-app (timm's ``_registry.py`` pattern).

Plug-in modules import their registry from here, never from a package face, so no module
imports back into the package that imports it:

* :data:`STRATEGIES` -- search strategies of both searches (``penas.app.strategies``; the
  segmentation search's as ``segmentation/<name>``);
* :data:`METRIC_BACKENDS` -- mIoU meters of the segmentation evaluation
  (``penas.app.segmentation.backends``);
* :data:`RETRAIN_TARGETS` -- stand-alone retraining targets by space (``penas.app.training.targets``);
* :data:`RETRAIN_LOADERS` -- retraining data loaders by dataset (``penas.app.training.data``);
* :data:`TRAIN_DATA` -- the data kinds of ``supernet train --data`` (``penas.app.supernet.train``).
"""

from __future__ import annotations

from typing import Any

from penas.spaces.registry import Registry

STRATEGIES: Registry[Any] = Registry("strategy")
METRIC_BACKENDS: Registry[Any] = Registry("metric backend")
RETRAIN_TARGETS: Registry[Any] = Registry("retrain target")
RETRAIN_LOADERS: Registry[Any] = Registry("retrain data loader")
TRAIN_DATA: Registry[Any] = Registry("supernet training data kind")

ALL: dict[str, Registry[Any]] = {r.kind: r for r in (STRATEGIES, METRIC_BACKENDS, RETRAIN_TARGETS, RETRAIN_LOADERS,
                                                     TRAIN_DATA)}
