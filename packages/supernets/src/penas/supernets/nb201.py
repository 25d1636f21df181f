"""NAS-Bench-201 supernets (``nb201``): both layouts share one cell genotype across all cells.

``layout="pe_nas"`` is PE-NAS's ``SPOS_nb201_CNN`` (C=16, N=5): stem, 3 stages of N cells
with a ResNet reduction block between stages; every cell edge holds all 5 candidate ops
(own weights per cell and edge); one 6-op choice is tiled to all 15 cells.
``layout="aw_nas"`` is aw_nas's ``nasbench-201`` weights manager (17 layers = 15 cells + 2
reduction blocks, 4 vertices, C=16, stem multiplier 1), same mixed-op-per-edge structure, plus
aw_nas's supernet dropout (rate 0.1) before the classifier (a no-op in ``eval()``). The
parameters of both are identical; see the package README for what differs and what is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn

from penas.spaces._nb201_model import EDGES, ResNetBasicBlock, make_op, run_cell
from penas.spaces.nb201 import OPS, NB201Space

from ._registry import register_supernet
from .base import Flatten1, PathModule, Supernet

LAYOUTS = ("aw_nas", "pe_nas")


class _MixedEdge(nn.ModuleList):
    """All candidate ops of one cell edge, in :data:`OPS` order."""


class _PathCell(nn.Module):
    """One NB201 cell restricted to one op per edge (shares the supernet's op modules)."""

    def __init__(self, ops: Sequence[nn.Module]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_cell(x, self.edges.__getitem__)


class _SuperCell(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(_MixedEdge(make_op(op, c) for op in OPS) for _ in EDGES)

    def path(self, arch: Sequence[str]) -> _PathCell:
        return _PathCell([self.edges[e][OPS.index(op)] for e, op in enumerate(arch)])

    def forward_path(self, x: torch.Tensor, ops: Sequence[int]) -> torch.Tensor:
        """``path(arch)(x)`` without building the path's modules (``ops``: op indices per edge)."""
        return run_cell(x, lambda e: self.edges[e][ops[e]])


@register_supernet("nb201")
class NB201Supernet(Supernet):
    """NB201 weight-sharing network; ``subnet(arch)`` has exactly ``space.build(arch)``'s parameters."""

    name = "nb201"

    def __init__(
        self,
        space: NB201Space | None = None,
        layout: str = "pe_nas",
        C: int = 16,
        N: int = 5,
        dataset: str = "cifar10",
        dropout: float | None = None,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout: expected one of {LAYOUTS}, got {layout!r}")
        if dropout is None:
            dropout = 0.1 if layout == "aw_nas" else 0.0
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a rate in [0, 1), got {dropout!r}")
        space = space if space is not None else NB201Space()
        super().__init__(space, layout=layout, C=C, N=N, dataset=dataset, dropout=dropout)
        num_classes = space.num_classes(dataset)
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        c_prev = C
        for stage, c in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResNetBasicBlock(c_prev, c))
            layers.extend(_SuperCell(c) for _ in range(N))
            c_prev = c
        self.layers = nn.ModuleList(layers)  # 3N + 2 layers (17 for N=5)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), Flatten1())
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c_prev, num_classes)

    def subnet(self, arch: Any) -> nn.Module:
        arch = self.space.parse(arch) if isinstance(arch, str) else arch
        self.space.format(arch)  # validates
        body: list[nn.Module] = [self.stem]
        body += [m.path(arch) if isinstance(m, _SuperCell) else m for m in self.layers]
        body += [self.lastact, self.pool, self.dropout, self.classifier]
        return PathModule(body)

    def forward(self, x: torch.Tensor, arch: Any) -> torch.Tensor:
        """``subnet(arch)(x)``, computed without building the subnet's modules (a training step builds
        no 15-cell module tree; the numbers are the same)."""
        arch = self.space.parse(arch) if isinstance(arch, str) else arch
        self.space.format(arch)  # validates
        ops = [OPS.index(op) for op in arch]
        x = self.stem(x)
        for m in self.layers:
            x = m.forward_path(x, ops) if isinstance(m, _SuperCell) else m(x)
        return self.classifier(self.dropout(self.pool(self.lastact(x))))

    def decisions(self) -> list[tuple[str, ...]]:
        return [OPS for _ in EDGES]

    def compose(self, values: Sequence[str]) -> tuple[str, ...]:
        return tuple(values)

    def extremes(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("nor_conv_3x3",) * len(EDGES), ("none",) * len(EDGES)
