"""The supernet interface: one weight-sharing network per space.

A :class:`Supernet` owns every candidate op of its space. ``forward(x, arch)`` runs exactly
the path of ``arch``; ``subnet(arch)`` returns a module that shares the supernet's weights and
whose ``parameters()`` are exactly the ones that path uses. Decision-structured spaces also
expose :meth:`Supernet.decisions` / :meth:`Supernet.compose`, which the FairNAS sampler needs,
and dynamic spaces :meth:`Supernet.extremes` (largest, smallest) for the sandwich rule.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from penas.spaces import Space


class Supernet(nn.Module, ABC):
    """Weight-sharing network of one space; subclasses set ``name`` and implement ``subnet``."""

    name: str = ""
    #: The trainer preset (``penas.supernets.trainer.PRESETS``) used when none is named.
    default_preset: str = "pe_nas"

    def __init__(self, space: Space, **cfg: Any) -> None:
        super().__init__()
        self.space = space
        self.cfg = dict(cfg)

    # --- identity ---------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Everything that changes the parameter layout (checked when loading a checkpoint)."""
        return {"supernet": self.name, "space": self.space.name, **self.cfg}

    def config_id(self) -> str:
        return json.dumps(self.config(), sort_keys=True, separators=(",", ":"), default=str)

    # --- paths ------------------------------------------------------------------------
    @abstractmethod
    def subnet(self, arch: Any) -> nn.Module:
        """A module sharing this supernet's weights that computes exactly ``arch``'s path."""

    def forward(self, x: torch.Tensor, arch: Any) -> torch.Tensor:  # noqa: D401
        return self.subnet(arch)(x)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.space.sample(rng)

    def decisions(self) -> Sequence[Sequence[Any]]:
        """Per decision (edge / layer), the candidate values; used by the FairNAS sampler."""
        raise NotImplementedError(f"supernet {self.name!r} has no per-decision structure")

    def compose(self, values: Sequence[Any]) -> Any:
        """The arch that takes ``values[i]`` at decision ``i`` (inverse of :meth:`decisions`)."""
        raise NotImplementedError(f"supernet {self.name!r} has no per-decision structure")

    def extremes(self) -> tuple[Any, Any]:
        """(largest, smallest) arch, for the sandwich rule."""
        raise NotImplementedError(f"supernet {self.name!r} defines no largest/smallest arch")


class PathModule(nn.Module):
    """A subnet: an ordered list of shared modules applied in sequence, then ``head``."""

    def __init__(self, body: Sequence[nn.Module]) -> None:
        super().__init__()
        self.body = nn.ModuleList(body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for m in self.body:
            x = m(x)
        return x


class Flatten1(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(x, 1)


def count_params(module: nn.Module) -> int:
    """Trainable parameters, each shared tensor counted once."""
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


def set_bn_affine(module: nn.Module, affine: bool) -> nn.Module:
    """Replace every BatchNorm2d in ``module`` by one with the given ``affine`` (in place)."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.BatchNorm2d) and child.affine != affine:
            setattr(module, name, nn.BatchNorm2d(child.num_features, affine=affine))
        else:
            set_bn_affine(child, affine)
    return module
