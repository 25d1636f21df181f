"""The registries of penas-supernets (timm's ``_registry.py`` pattern).

Supernet, sampler and loss modules import their registry from here, never from the package
face, so :mod:`penas.supernets` can import every plug-in module without an import circle.

* :data:`SUPERNETS` -- weight-sharing supernets, one per space family;
* :data:`SAMPLERS` -- SPOS-family path samplers (``penas.supernets.samplers``);
* :data:`LOSSES` -- training losses ``(logits, targets) -> loss`` by task;
* :data:`DISTILL` -- in-place distillation losses ``(student, teacher) -> loss``.
"""

from __future__ import annotations

from typing import Any

from penas.spaces.registry import Registry

SUPERNETS: Registry[Any] = Registry("supernet")
register_supernet = SUPERNETS.register

SAMPLERS: Registry[Any] = Registry("sampler")
register_sampler = SAMPLERS.register

LOSSES: Registry[Any] = Registry("loss")
DISTILL: Registry[Any] = Registry("distillation loss")


#: ``list_supernets(pattern="*")``: sorted names matching an ``fnmatch`` pattern.
list_supernets = SUPERNETS.names
#: ``get_supernet(name, **kwargs)``: a new instance (``None`` kwargs dropped).
get_supernet = SUPERNETS.create
