"""DARTS / NB301 supernet (``darts``): the 8-layer C=16 search network (stem multiplier 3).

Each cell has its two preprocessing ops and, for every intermediate node ``i`` (2..5) and
every earlier state ``j`` (0..i-1), one module per searchable op (the space's own DARTS ops,
``affine=True``). A sample is a :class:`Genotype`; its path uses, per cell, the ops of its
8 ``(op, input)`` pairs, in the genotype's pair order, so a subnet has exactly the
parameters of ``DartsSpace.build(genotype, C=16, layers=8)`` (same order, same function;
no auxiliary head). aw_nas/PE-NAS train this network with ``none`` on unused edges, which is
the same as not running them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn

from penas.spaces._darts_genotype import DEFAULT_CONCAT, SEARCH_OPS, STEPS, Genotype, Pair, validate
from penas.spaces._darts_model import OPS, FactorizedReduce, ReLUConvBN
from penas.spaces.darts import DartsSpace

from ._registry import register_supernet
from .base import Supernet


class _PathCell(nn.Module):
    def __init__(self, pre0: nn.Module, pre1: nn.Module, ops: Sequence[nn.Module], inputs: Sequence[int],
                 concat: Sequence[int]) -> None:
        super().__init__()
        self.preprocess0, self.preprocess1 = pre0, pre1
        self.ops = nn.ModuleList(ops)
        self.inputs, self.concat = tuple(inputs), tuple(concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(len(self.inputs) // 2):
            states.append(sum(self.ops[k](states[self.inputs[k]]) for k in (2 * i, 2 * i + 1)))
        return torch.cat([states[i] for i in self.concat], dim=1)


class _SuperCell(nn.Module):
    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self.edges = nn.ModuleDict()
        for node in range(2, STEPS + 2):
            for j in range(node):
                stride = 2 if reduction and j < 2 else 1
                self.edges[f"{node}_{j}"] = nn.ModuleList(OPS[op](c, stride, True) for op in SEARCH_OPS)

    def path(self, pairs: Sequence[Pair], concat: Sequence[int]) -> _PathCell:
        ops = [self.edges[f"{k // 2 + 2}_{p.input}"][SEARCH_OPS.index(p.op)] for k, p in enumerate(pairs)]
        return _PathCell(self.preprocess0, self.preprocess1, ops, [p.input for p in pairs], concat)


class _DartsPath(nn.Module):
    def __init__(self, stem: nn.Module, cells: Sequence[nn.Module], pool: nn.Module, classifier: nn.Module) -> None:
        super().__init__()
        self.stem, self.cells, self.global_pooling, self.classifier = stem, nn.ModuleList(cells), pool, classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))


@register_supernet("darts")
class DartsSupernet(Supernet):
    """``forward(x, genotype)`` returns the logits (no auxiliary head)."""

    name = "darts"

    def __init__(self, space: DartsSpace | None = None, C: int = 16, layers: int = 8, stem_multiplier: int = 3,
                 dataset: str = "cifar10") -> None:
        space = space if space is not None else DartsSpace()
        if not isinstance(C, int) or C < 2 or C % 2:
            raise ValueError(f"C: expected an even integer >= 2, got {C!r}")
        if not isinstance(layers, int) or layers < 3:
            raise ValueError(f"layers: expected an integer >= 3, got {layers!r}")
        super().__init__(space, C=C, layers=layers, stem_multiplier=stem_multiplier, dataset=dataset)
        c_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_pp, c_p, c, reduction_prev = c_curr, c_curr, C, False
        cells = []
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            cells.append(_SuperCell(c_pp, c_p, c, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(DEFAULT_CONCAT) * c
        self.cells = nn.ModuleList(cells)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, space.num_classes(dataset))

    def subnet(self, arch: Any) -> nn.Module:
        g = self.space.parse(arch) if isinstance(arch, str) else arch
        if not isinstance(g, Genotype):
            raise ValueError(f"arch: expected a darts Genotype, got {type(g).__name__}")
        validate(g)
        cells = [cell.path(g.cell("reduce" if cell.reduction else "normal"),
                           g.concat("reduce" if cell.reduction else "normal")) for cell in self.cells]
        return _DartsPath(self.stem, cells, self.global_pooling, self.classifier)
