"""Search strategies, registered by name in :data:`STRATEGIES`.

=============  ==================================================================
``random``     random search without replacement (budget = evaluations)
``rea``        regularized evolution: population 20, tournament of 5, FIFO ageing
``rea-seed``   the seed's REA ([PE] ``re_spos.sh``/``re_zc.sh``): population 20,
               parent = best of the population, one mutation, FIFO ageing, 500 evals
``pe-nas``     staged PE-NAS with explicit parameters (:class:`PENASParams`)
``pe-nas-a``   Ours-A preset; ``pe-nas-b`` Ours-B; ``pe-nas-c`` Ours-C
=============  ==================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._registry import STRATEGIES
from .base import AskTellStrategy, SearchContext, SearchOutcome, StageOutput, Strategy
from .baselines import RandomSearch, RegularizedEvolution
from .pe_nas import PENAS, PRESETS, PENASParams

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


def get_strategy(name: str, **kw: Any) -> Strategy:
    """``STRATEGIES.create`` with only the keyword arguments the factory accepts."""
    import inspect

    factory = STRATEGIES.get(name)
    sig = inspect.signature(factory)
    accepted = set(sig.parameters)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        accepted |= set(PENASParams.__dataclass_fields__)
    kw = {k: v for k, v in kw.items() if k in accepted}
    return STRATEGIES.create(name, **kw)


__all__ = [
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
    "get_strategy",
]
