"""penas-supernets: weight-sharing supernets and SPOS-family trainers.

The registries live in ``penas.supernets._registry``; supernet modules register there on
import of this package.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._registry import SUPERNETS, get_supernet, list_supernets, register_supernet

try:
    __version__ = version("penas-supernets")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

from . import _all  # noqa: F401  (supernet modules register themselves in ._registry)

__all__ = ["SUPERNETS", "get_supernet", "list_supernets", "register_supernet"]
