"""Which typed config each ``penas-app`` command takes: ``penas-app config dump [COMMAND]``
prints the defaults of these dataclasses. Importing it imports no torch (every config module
keeps torch out of its import time).
"""

from __future__ import annotations

from .configs import EvaluateConfig, PlotConfig, SearchConfig
from .segmentation.evaluate import SegEvalConfig
from .segmentation.search_config import SegSearchConfig
from .segmentation.show import SegShowConfig
from .study.bias import BiasConfig
from .study.config import StudyConfig
from .study.zeroshot import ZeroShotConfig
from .supernet.evaluate import SupernetEvalConfig
from .supernet.train import SupernetTrainConfig

# ``penas-app config dump NAME``: NAME is the command (sub-commands joined by "-").
COMMAND_CONFIGS: dict[str, type] = {
    "search": SearchConfig,
    "evaluate": EvaluateConfig,
    "plot": PlotConfig,
    "zero-shot": ZeroShotConfig,
    "supernet-train": SupernetTrainConfig,
    "supernet-eval": SupernetEvalConfig,
    "analyze-bias": BiasConfig,
    "study": StudyConfig,
    "search-segmentation": SegSearchConfig,
    "segmentation-eval": SegEvalConfig,
    "segmentation-show": SegShowConfig,
}
