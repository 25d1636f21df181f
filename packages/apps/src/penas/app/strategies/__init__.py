"""Search strategies of both searches, registered by name in the one :data:`STRATEGIES`.

The cell-space search (``penas-app search SPACE``) takes the plain names; the segmentation
search (``penas-app search segmentation``) takes the names of its family, registered as
``segmentation/<name>`` (its ``--strategy pe-nas-a`` is ``segmentation/pe-nas-a`` here;
:func:`registry_name`, :func:`family_names`).

=========================  ======================================================
``random``                 random search without replacement (budget = evaluations)
``rea``                    regularized evolution: population 20, tournament of 5, FIFO ageing
``rea-seed``               the seed's REA ([PE] ``re_spos.sh``/``re_zc.sh``): population 20,
                           parent = best of the population, one mutation, FIFO ageing, 500 evals
``pe-nas``                 staged PE-NAS with explicit parameters (:class:`PENASParams`)
``pe-nas-a``               Ours-A preset; ``pe-nas-b`` Ours-B; ``pe-nas-c`` Ours-C
``segmentation/pe-nas-a``  the alternating PE-NAS-A of the TopFormer search (:mod:`.alternating`)
``segmentation/random``    ``random`` over a pool of ``budget`` feasible random configs
``segmentation/rea``       ``rea`` with feasible mutations
=========================  ======================================================

Each strategy declares the estimator roles it scores (:meth:`Strategy.roles`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._registry import STRATEGIES
from .alternating import AlternatingPENAS, AlternationParams
from .base import AskTellStrategy, SearchContext, SearchOutcome, StageOutput, Strategy
from .baselines import RandomSearch, RegularizedEvolution
from .pe_nas import PENAS, PRESETS, PENASParams

#: The search families; a family's strategies are registered as ``<family>/<name>`` (the cell
#: search's under their plain names).
FAMILIES = ("cell", "segmentation")

# With a runtime budget (``runtime_budget_s``: charged training seconds) and no evaluation budget,
# the evaluation count is only a safety cap.
_UNCAPPED = 1_000_000


def _evals(budget: int | None, default: int, runtime_budget_s: float | None) -> int:
    return budget if budget is not None else (_UNCAPPED if runtime_budget_s is not None else default)


@STRATEGIES.register("random")
def _random(budget: int | None = None, runtime_budget_s: float | None = None) -> Strategy:
    return RandomSearch(budget=_evals(budget, 100, runtime_budget_s), runtime_budget_s=runtime_budget_s)


@STRATEGIES.register("rea")
def _rea(budget: int | None = None, population: int = 20, sample_size: int = 5,
         runtime_budget_s: float | None = None) -> Strategy:
    return RegularizedEvolution(budget=_evals(budget, 500, runtime_budget_s), population=population,
                                sample_size=sample_size, runtime_budget_s=runtime_budget_s)


@STRATEGIES.register("rea-seed")
def _rea_seed(budget: int | None = None, population: int = 20, runtime_budget_s: float | None = None) -> Strategy:
    return RegularizedEvolution(budget=_evals(budget, 500, runtime_budget_s), population=population,
                                sample_size=population, runtime_budget_s=runtime_budget_s)


@STRATEGIES.register("pe-nas")
def _pe_nas(budget: int | None = None, proxies: Sequence[str] | None = None, **params: Any) -> Strategy:
    """``budget`` caps the archs entering partial training; ``params`` are PENASParams fields."""
    return PENAS(PENASParams(), max_trained=budget, proxies=tuple(proxies) if proxies else None, **params)


def _preset_factory(name: str):
    def factory(budget: int | None = None, proxies: Sequence[str] | None = None) -> Strategy:
        s = PENAS(PRESETS[name], max_trained=budget, proxies=tuple(proxies) if proxies else None)
        s.name = name
        return s

    factory.__name__ = name.replace("-", "_")
    return factory


for _name in PRESETS:
    STRATEGIES.register(_name)(_preset_factory(_name))


@STRATEGIES.register("segmentation/pe-nas-a")
def _alternating_pe_nas_a(rounds: int = 5, per_round: int = 500, proxies: Sequence[str] = AlternationParams.proxies,
                          zc_quantile: float = 0.8, min_votes: int | None = None, finetune_topk: int = 3) -> Strategy:
    return AlternatingPENAS(AlternationParams(rounds, per_round, tuple(proxies), zc_quantile, min_votes,
                                              finetune_topk))


# random search and REA serve the segmentation search as they are (its candidates and mutations
# stay inside the FLOPs limit through the session's constraints)
STRATEGIES.register("segmentation/random")(_random)
STRATEGIES.register("segmentation/rea")(_rea)


def registry_name(name: str, family: str = "cell") -> str:
    """The registry name of ``--strategy name`` in search ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"family: expected one of {', '.join(FAMILIES)}, got {family!r}")
    return name if family == "cell" else f"{family}/{name}"


def family_names(family: str = "cell") -> list[str]:
    """The ``--strategy`` names of search ``family``, sorted."""
    prefix = registry_name("", family)
    if not prefix:
        return [n for n in STRATEGIES.names() if "/" not in n]
    return [n[len(prefix):] for n in STRATEGIES.names(prefix + "*")]


def strategy_options(name: str) -> set[str]:
    """The keyword options the factory of registry entry ``name`` takes."""
    import inspect

    sig = inspect.signature(STRATEGIES.get(name))
    accepted = set(sig.parameters)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        accepted |= set(PENASParams.__dataclass_fields__)
    return accepted


def get_strategy(name: str, /, family: str = "cell", **kw: Any) -> Strategy:
    """``STRATEGIES.create`` of ``--strategy name`` in search ``family``, with only the keyword
    arguments its factory accepts."""
    key = registry_name(name, family)
    accepted = strategy_options(key)
    return STRATEGIES.create(key, **{k: v for k, v in kw.items() if k in accepted})


__all__ = [
    "FAMILIES",
    "AlternatingPENAS",
    "AlternationParams",
    "AskTellStrategy",
    "PENAS",
    "PENASParams",
    "PRESETS",
    "RandomSearch",
    "RegularizedEvolution",
    "STRATEGIES",
    "SearchContext",
    "SearchOutcome",
    "StageOutput",
    "Strategy",
    "family_names",
    "get_strategy",
    "registry_name",
    "strategy_options",
]
