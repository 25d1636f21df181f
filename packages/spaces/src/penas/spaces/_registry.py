"""The registries of penas-spaces (timm's ``_registry.py`` pattern).

Space modules import :func:`register_space` from here, never from the package face, so the
package ``__init__`` can import every space module without an import circle. The lookup
functions are re-exported by :mod:`penas.spaces`.
"""

from __future__ import annotations

from .base import Space
from .registry import Registry

SPACES: Registry[Space] = Registry("space")
register_space = SPACES.register


#: ``list_spaces(pattern="*")``: sorted names matching an ``fnmatch`` pattern.
list_spaces = SPACES.names
#: ``get_space(name, **kwargs)``: a new instance (``None`` kwargs dropped).
get_space = SPACES.create
