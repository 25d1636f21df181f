"""NAS-Bench-1shot1 search space 3 supernet (``nb101_1shot1_s3``) on the NB101 network.

Skeleton as ``space.build``: stem conv3x3 (128) + 3 stacks x 3 cells, max-pool and channel
doubling between stacks, one arch shared by every cell. Every cell holds, per choice block
1..5 (1shot1's ``ChoiceBlock``), a 1x1 projection from the cell input and a conv1x1-bn-relu and
a conv3x3-bn-relu at the cell's full output width (max-pool has no weights), plus the
input -> output projection.

NB101 splits the output width among the vertices feeding the output, so a vertex's width
depends on the wiring. Weights are shared ordinally: a vertex with ``c`` channels uses the
first ``c`` output channels (and the first ``c`` input channels) of its block's max-size
weights, and truncates other vertices' outputs to ``c`` exactly as NB101 does. The pruned
spec's vertex ``t`` is choice block ``kept[t-1]`` of the 1shot1 configuration that the space
records for its graph (``penas.spaces.nb101``), so a block's weights always serve the same
1shot1 node.

``forward(x, arch)`` runs the slices (gradients reach the supernet); ``subnet(arch)`` copies
them into ``space.build(arch)`` (OFA ``get_active_subnet``), so its parameter count equals
``build``'s for every arch and it computes the same function as ``forward(x, arch)``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.spaces._nb101_cost import (
    MODULES_PER_STACK,
    NUM_STACKS,
    STEM_CHANNELS,
    compute_vertex_channels,
)
from penas.spaces._nb101_model import Cell, ConvBnRelu
from penas.spaces._nb101_spec import CONV1X1, CONV3X3, MAXPOOL3X3, NB101Spec
from penas.spaces.nb101 import S3_PARENTS, NB101OneShot1S3Space, _s3_tables

from . import _dynamic_ops as D
from ._registry import register_supernet
from .base import Supernet

NUM_BLOCKS = len(S3_PARENTS) - 1  # choice blocks 1..5
_CONV_OPS = (CONV1X1, CONV3X3)


def _cbr(x: torch.Tensor, m: nn.Sequential, c_out: int) -> torch.Tensor:
    return F.relu(D.bn(D.conv(x, m[0], c_out), m[1]))


class _SuperCell(nn.Module):
    """All weights of one cell: per choice block an input projection and the two convs."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.c_in, self.c_out = c_in, c_out
        self.proj = nn.ModuleList(ConvBnRelu(c_in, c_out, 1) for _ in range(NUM_BLOCKS))
        self.ops = nn.ModuleList(
            nn.ModuleList([ConvBnRelu(c_out, c_out, 1), ConvBnRelu(c_out, c_out, 3)])
            for _ in range(NUM_BLOCKS)
        )
        self.out_proj = ConvBnRelu(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, spec: NB101Spec, blocks: tuple[int, ...]) -> torch.Tensor:
        m = spec.array()
        n = spec.num_vertices
        vc = compute_vertex_channels(self.c_in, self.c_out, m)
        tensors: list[torch.Tensor] = [x]
        final: list[torch.Tensor] = []
        for t in range(1, n - 1):
            b = blocks[t - 1]
            add = [tensors[s][:, : vc[t]] for s in range(1, t) if m[s, t]]
            if m[0, t]:
                add.append(_cbr(x, self.proj[b], vc[t]))
            h = add[0]
            for a in add[1:]:
                h = h + a
            op = spec.ops[t]
            if op == MAXPOOL3X3:
                h = F.max_pool2d(h, 3, 1, 1)
            else:
                h = _cbr(h, self.ops[b][_CONV_OPS.index(op)], vc[t])
            tensors.append(h)
            if m[t, n - 1]:
                final.append(h)
        if not final:
            return _cbr(x, self.out_proj, self.c_out)
        out = final[0] if len(final) == 1 else torch.cat(final, dim=1)
        if m[0, n - 1]:
            out = out + _cbr(x, self.out_proj, self.c_out)
        return out

    def pairs(
        self, cell: nn.Module, spec: NB101Spec, blocks: tuple[int, ...]
    ) -> list[tuple[nn.Module, nn.Module]]:
        """(stand-alone module, supernet module) pairs of a ``penas.spaces._nb101_model.Cell``."""
        out: list[tuple[nn.Module, nn.Module]] = []
        for key, dst in cell.proj.items():
            out += list(zip(dst, self.proj[blocks[int(key) - 1]], strict=True))
        for key, dst in cell.ops.items():
            op = spec.ops[int(key)]
            if op in _CONV_OPS:
                out += list(zip(dst, self.ops[blocks[int(key) - 1]][_CONV_OPS.index(op)], strict=True))
        if cell.out_proj is not None:
            out += list(zip(cell.out_proj, self.out_proj, strict=True))
        return out


@register_supernet("nb101_1shot1_s3")
class NB101OneShot1S3Supernet(Supernet):
    """1shot1 search space 3 one-shot model on NB101's network; see the module docstring."""

    name = "nb101_1shot1_s3"

    def __init__(
        self,
        space: NB101OneShot1S3Space | None = None,
        stem_channels: int = STEM_CHANNELS,
        num_stacks: int = NUM_STACKS,
        modules_per_stack: int = MODULES_PER_STACK,
    ) -> None:
        for key, v in (
            ("stem_channels", stem_channels),
            ("num_stacks", num_stacks),
            ("modules_per_stack", modules_per_stack),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{key}: expected a positive integer, got {v!r}")
        space = space if space is not None else NB101OneShot1S3Space()
        super().__init__(
            space, stem_channels=stem_channels, num_stacks=num_stacks, modules_per_stack=modules_per_stack
        )
        self.stem = ConvBnRelu(3, stem_channels, 3)
        cells: list[nn.Module] = []
        self.pool_before: list[bool] = []
        c_in = c = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                c *= 2
            for i in range(modules_per_stack):
                cells.append(_SuperCell(c_in, c))
                self.pool_before.append(stack > 0 and i == 0)
                c_in = c
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(c, space.num_classes())

    def _check(self, arch: Any) -> tuple[NB101Spec, tuple[int, ...]]:
        spec = self.space.parse(arch) if isinstance(arch, str) else arch
        self.space.format(spec)  # validates (ValueError for a spec outside the subspace)
        kept = _s3_tables()[0][spec.matrix][1]
        return spec, tuple(v - 1 for v in kept)

    def blocks(self, arch: Any) -> tuple[int, ...]:
        """The choice block (0-based) whose weights each interior vertex of ``arch`` uses."""
        return self._check(arch)[1]

    def forward(self, x: torch.Tensor, arch: Any) -> torch.Tensor:
        spec, blocks = self._check(arch)
        x = _cbr(x, self.stem, self.stem[0].out_channels)
        for cell, pool in zip(self.cells, self.pool_before, strict=True):
            if pool:
                x = F.max_pool2d(x, 2, 2)
            x = cell(x, spec, blocks)
        return self.classifier(x.mean(dim=(2, 3)))

    @torch.no_grad()
    def subnet(self, arch: Any) -> nn.Module:
        """``space.build(arch)`` (same sizes) with this supernet's slices copied in."""
        spec, blocks = self._check(arch)
        net = D.empty_build(lambda: self.space.build(spec, **self.cfg), self.classifier.weight.device)
        ref_cells = [m for m in net.features if isinstance(m, Cell)]
        pairs: list[tuple[nn.Module, nn.Module]] = list(zip(net.features[0], self.stem, strict=True))
        for cell, ref in zip(self.cells, ref_cells, strict=True):
            pairs += cell.pairs(ref, spec, blocks)
        pairs.append((net.classifier, self.classifier))
        for dst, src in pairs:
            D.copy_like(dst, src)
        copied = {id(dst) for dst, _ in pairs}
        missed = [
            n
            for n, m in net.named_modules()
            if any(True for _ in m.parameters(recurse=False)) and id(m) not in copied
        ]
        if missed:  # the uninitialised weights of empty_build must all be overwritten
            raise RuntimeError(f"subnet: no supernet weights for {missed}")
        net.train(self.training)
        return net
