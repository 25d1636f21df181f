"""penas-spaces: search spaces, model builders and ground-truth benchmark tables.

Spaces register themselves in :data:`SPACES` (held by ``penas.spaces._registry``) when this
package is imported; no data is loaded at import time.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._registry import SPACES, get_space, list_spaces, register_space
from .base import ArchParseError, Space, SpaceNotFiniteError, UnsatisfiableConstraintError
from .registry import Registry, RegistryError

try:
    __version__ = version("penas-spaces")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

# Space modules register on import (order is irrelevant); they import the registry from
# ``_registry``, not from this face. Keep these imports cheap: torch is imported inside
# builders, data only when a benchmark is opened.
from . import _all  # noqa: F401

__all__ = [
    "ArchParseError",
    "Registry",
    "RegistryError",
    "SPACES",
    "Space",
    "SpaceNotFiniteError",
    "UnsatisfiableConstraintError",
    "get_space",
    "list_spaces",
    "register_space",
]
