"""The estimator registry of penas-estimators (timm's ``_registry.py`` pattern).

Estimator modules import :func:`register_estimator` from here, never from the package face, so
:mod:`penas.estimators` can import every estimator module without an import circle. The proxy
registry lives next to the proxies (``penas.estimators.proxies._registry``).
"""

from __future__ import annotations

from typing import Any

from penas.spaces.registry import Registry

from .base import Estimator

ESTIMATORS: Registry[Estimator] = Registry("estimator")
register_estimator = ESTIMATORS.register


#: ``list_estimators(pattern="*")``: sorted names matching an ``fnmatch`` pattern.
list_estimators = ESTIMATORS.names


def get_estimator(name: str, space: Any, **cfg: Any) -> Estimator:
    """Instantiate the estimator ``name`` for ``space``.

    Parameters
    ----------
    name : str
        A registered estimator name (see :func:`list_estimators`).
    space : Space or str
        The space, or a registered space name.
    **cfg
        The estimator's settings.

    Returns
    -------
    Estimator
        The new estimator.
    """
    if isinstance(space, str):
        from penas.spaces import get_space

        space = get_space(space)
    return ESTIMATORS.get(name)(space=space, **cfg)


def higher_is_better(name: str) -> bool:
    """The score direction the estimator registered as ``name`` declares.

    Parameters
    ----------
    name : str
        A registered estimator name; an unknown name (e.g. a score file's label) counts as
        higher-is-better.

    Returns
    -------
    bool
        The registered class's (or factory's) ``higher_is_better``.
    """
    if name not in ESTIMATORS:
        return True
    return bool(getattr(ESTIMATORS.get(name), "higher_is_better", True))
