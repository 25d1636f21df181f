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
from .ground_truth import SURROGATE_REFERENCE
from .search.cell import run_search
from .search.session import Binding
from .segmentation.data import SegDataset, make_tiny_ade20k
from .segmentation.evaluate import evaluate as evaluate_subnet
from .segmentation.evaluate import load_config as load_segmentation_config
from .segmentation.evaluate import subnet_for
from .supernet.evaluate import EvalSummary, SupernetEvalConfig
from .supernet.train import SupernetTrainConfig, TrainSummary
from .training.data import Loader, TensorSet
from .training.recipes import get_recipe
from .training.run import run_retrain
from .training.targets import get_target


def search(cfg: SearchConfig, *, resume: str | None = None, store: Any = None,
           progress: Callable[[str, int, int], None] | None = None, bindings: dict[str, Binding] | None = None,
           reference_samples: int = SURROGATE_REFERENCE) -> dict[str, Any]:
    """Run (or, with ``resume=RUN_DIR``, continue) a search: ``penas-app search``.

    Returns the result dict also written to ``RUN_DIR/result.json`` (chosen arch, its ground truth
    and rank, per-stage accounting). ``progress(label, done, total)`` is called while scoring;
    ``bindings`` (``{role: Binding}``) replaces the configured estimator of the roles the strategy
    scores (e.g. a benchmark column as a proxy); ``reference_samples``: genotypes a surrogate GT's
    rank percentile is taken among.
    """
    return run_search(cfg, resume=resume, store=store, progress=progress, bindings=bindings,
                      reference_samples=reference_samples)


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
    from .search.segmentation import run_segmentation_search

    return run_segmentation_search(cfg, resume=resume)


def segmentation_eval(cfg: Any, on_progress: Callable[[str, int, int], None] | None = None) -> Any:
    """mIoU / aAcc of a TopFormer subnet on ADE20K: ``penas-app segmentation eval``."""
    from .segmentation.evaluate import run_eval

    return run_eval(cfg, on_progress)


def supernet_train(cfg: SupernetTrainConfig, *, on_progress: Callable[[int, int], None] | None = None,
                   on_event: Callable[[dict[str, Any]], None] | None = None) -> TrainSummary:
    """Train a space's supernet with a trainer preset (resumable; DDP under torchrun): ``penas-app supernet train``.

    ``on_progress(step, total)`` after every epoch, ``on_event(event)`` for the engine's step/epoch
    events (loss, lr, ``eta_s``). Writes the checkpoints, ``train_config.json`` and ``train_log.jsonl``
    to ``cfg.out``.
    """
    from .supernet.train import run_supernet_train

    return run_supernet_train(cfg, on_progress=on_progress, on_event=on_event)


def supernet_eval(cfg: SupernetEvalConfig, *, on_progress: Callable[[int, int], None] | None = None
                  ) -> tuple[list[EvalSummary], str, bool]:
    """One-shot scores of ``cfg.archs`` under every checkpoint into ``cfg.store``: ``penas-app supernet eval``.

    Returns one :class:`EvalSummary` per checkpoint, the data source and whether it was synthetic;
    ``on_progress(done, total)`` counts scored archs.
    """
    from .supernet.evaluate import run_supernet_eval

    return run_supernet_eval(cfg, on_progress=on_progress)


__all__ = ["Binding", "EvalSummary", "EvaluateConfig", "Loader", "SearchConfig", "SegDataset",
           "SupernetEvalConfig", "SupernetTrainConfig", "TensorSet", "TrainSummary", "bias", "evaluate",
           "evaluate_subnet", "get_recipe", "get_target", "load_segmentation_config", "make_tiny_ade20k",
           "run_retrain", "search", "segmentation_eval", "segmentation_search", "study", "subnet_for",
           "supernet_eval", "supernet_train"]
