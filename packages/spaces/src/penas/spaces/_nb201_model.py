"""NAS-Bench-201 ``TinyNetwork`` (torch), as NB201 trained it.

Imported lazily by :meth:`penas.spaces.nb201.NB201Space.build` so that importing
``penas.spaces`` stays torch-free. Layout follows AutoDL-Projects' ``TinyNetwork``,
``InferCell``, ``ResNetBasicblock`` and ``ReLUConvBN`` (written here from the description,
not copied): stem conv3x3+BN, three stages of ``N`` cells with a ResNet basic block
(stride 2, channels doubled) between stages, BN+ReLU, global average pooling, Linear.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn

# Edges in arch-string order: (target node, source node).
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv (no bias) -> BN(affine, running stats)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
        )


class Zero(nn.Module):
    """The ``none`` op: multiplies by zero (keeps shape and NaN semantics of NB201)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, c: int) -> nn.Module:
    """One cell op at ``c`` channels, stride 1."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"op: unknown NB201 op {name!r}")


def run_cell(x: torch.Tensor, op_at: Callable[[int], nn.Module]) -> torch.Tensor:
    """One NB201 cell: node i = sum over j < i of ``op_at(edge)(node j)``; the output is node 3.
    The stand-alone cell and the supernet's path cells (``penas.supernets.nb201``) both run this."""
    nodes = [x]
    for target in (1, 2, 3):
        nodes.append(sum(op_at(e)(nodes[src]) for e, (dst, src) in enumerate(EDGES) if dst == target))
    return nodes[3]


class InferCell(nn.Module):
    """A 4-node NB201 cell; node i = sum over j<i of op_{i<-j}(node j); output is node 3."""

    def __init__(self, ops: Sequence[str], c: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, c) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_cell(x, self.edges.__getitem__)


class ResNetBasicBlock(nn.Module):
    """The stride-2 reduction block between stages (NB201 ``ResNetBasicblock``).

    ``conv_a`` = ReLU-Conv3x3(stride 2)-BN, ``conv_b`` = ReLU-Conv3x3-BN; shortcut =
    AvgPool2d(2, 2) followed by a 1x1 conv without bias and without BN.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    """NB201's stand-alone network. ``forward`` returns the logits only."""

    def __init__(self, ops: Sequence[str], num_classes: int, C: int = 16, N: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells: list[nn.Module] = []
        c_prev = C
        for stage, c in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                cells.append(ResNetBasicBlock(c_prev, c))
            cells.extend(InferCell(ops, c) for _ in range(N))
            c_prev = c
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(x), 1))
