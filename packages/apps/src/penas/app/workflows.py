"""The workflows of penas as a typed Python API: what every ``penas-app`` command runs, callable
from a notebook or a script. Nothing here imports Typer or rich; progress comes back through
callbacks, and every function returns the result dict the command also writes to its ``--out``.

Each config dataclass maps 1:1 to its command's options (``penas-app config dump`` prints every
default). For example, PE-NAS-A on NAS-Bench-201 with an estimator of your own in the zero-cost
vote (``tests/app/test_app_workflows.py`` runs this)::

    from penas.estimators import Estimator, register_estimator
    from penas.app.workflows import SearchConfig, search

    @register_estimator("convs")
    class Convs(Estimator):                      # higher is better by default
        def _score_one(self, arch): return sum("conv" in op for op in self.space.format(arch).split("|"))

    res = search(SearchConfig(space="nb201", strategy="pe-nas-a", proxies=["convs", "params", "flops"],
                              one_shot="none", progress=False))
    res["chosen"], res["gt"]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .configs import EvaluateConfig, SearchConfig
from .evaluating import run_evaluate
from .searching import run_search
from .training.run import run_retrain


def search(cfg: SearchConfig, *, resume: str | None = None, store: Any = None,
           progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run (or, with ``resume=RUN_DIR``, continue) a search: ``penas-app search``.

    Returns the result dict also written to ``RUN_DIR/result.json`` (chosen arch, its ground truth
    and rank, per-stage accounting). ``progress(label, done, total)`` is called while scoring.
    """
    return run_search(cfg, resume=resume, store=store, progress=progress)


def evaluate(cfg: EvaluateConfig) -> dict[str, Any]:
    """Rank estimators against ground truth (KT, Spearman, P@K, BR/WR@K, MKR): ``penas-app evaluate``."""
    return run_evaluate(cfg)


def study(cfg: Any, on_log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The aw_nas-style estimator study from a :class:`~penas.app.study.config.StudyConfig`: ``penas-app study``."""
    from .study.grid import run_study

    return run_study(cfg, on_log=on_log)


def bias(cfg: Any) -> dict[str, Any]:
    """Complexity bias of stored scores (:class:`~penas.app.study.config.BiasConfig`): ``penas-app analyze bias``."""
    from .study.bias import run_bias

    return run_bias(cfg)


def segmentation_search(cfg: Any, *, resume: str | None = None) -> dict[str, Any]:
    """Search a TopFormer segmentation space (:class:`~penas.app.segmentation.search_config.SegSearchConfig`):
    ``penas-app search topformer``."""
    from .segmentation.search import run_segmentation_search

    return run_segmentation_search(cfg, resume=resume)


def segmentation_eval(cfg: Any, on_progress: Callable[[str, int, int], None] | None = None) -> Any:
    """mIoU / aAcc of a TopFormer subnet on ADE20K: ``penas-app segmentation eval``."""
    from .segmentation.evaluate import run_eval

    return run_eval(cfg, on_progress)


__all__ = ["EvaluateConfig", "SearchConfig", "bias", "evaluate", "run_retrain", "search", "segmentation_eval",
           "segmentation_search", "study"]
