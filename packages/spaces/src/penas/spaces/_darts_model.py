"""DARTS evaluation networks (``NetworkCIFAR``, ``NetworkImageNet``) as in DARTS/PC-DARTS ``model.py``.

Ops follow DARTS ``operations.py`` with ``affine=True``: pooling has no BatchNorm in the
evaluation network, ``skip_connect`` in a reduction cell is a ``FactorizedReduce``,
``sep_conv`` is two stacked (ReLU, depthwise, pointwise, BN) units, ``dil_conv`` one
dilated unit. Forward contract (DARTS semantics): ``model(x) -> (logits, logits_aux)``;
``logits_aux`` is ``None`` unless the model was built with ``auxiliary=True`` *and* is in
training mode. ``model.drop_path_prob`` (a float attribute) is read at every forward and is
applied only in training mode, to every non-identity op output inside the cells.

``op_affine=False`` (not used by DARTS' evaluation networks) drops the affine parameters of
the BatchNorms inside the cell ops, as NASLib's NB301 graph does; it exists to reproduce
NASLib's NB301 parameter counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn

from ._darts_genotype import Genotype


class ReLUConvBN(nn.Module):
    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int,
        padding: int,
        dilation: int,
        affine: bool = True,
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, padding=0, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True
    ) -> None:
        super().__init__()
        # flat, so that state_dict keys match DARTS (op.0 .. op.7)
        self.op = nn.Sequential(
            *DilConv(c_in, c_in, kernel, stride, padding, 1, affine).op,
            *DilConv(c_in, c_out, kernel, 1, padding, 1, affine).op,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"C: FactorizedReduce needs an even channel count, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


OPS: dict[str, Callable[[int, int, bool], nn.Module]] = {
    "none": lambda c, stride, affine: Zero(stride),
    "avg_pool_3x3": lambda c, stride, affine: nn.AvgPool2d(
        3, stride=stride, padding=1, count_include_pad=False
    ),
    "max_pool_3x3": lambda c, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    "skip_connect": lambda c, stride, affine: Identity() if stride == 1 else FactorizedReduce(c, c, affine),
    "sep_conv_3x3": lambda c, stride, affine: SepConv(c, c, 3, stride, 1, affine),
    "sep_conv_5x5": lambda c, stride, affine: SepConv(c, c, 5, stride, 2, affine),
    "dil_conv_3x3": lambda c, stride, affine: DilConv(c, c, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda c, stride, affine: DilConv(c, c, 5, stride, 4, 2, affine),
}


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob`` and rescale the rest (DARTS utils)."""
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class Cell(nn.Module):
    def __init__(
        self,
        genotype: Genotype,
        c_pp: int,
        c_p: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
        op_affine: bool = True,
    ) -> None:
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
        name = "reduce" if reduction else "normal"
        pairs = genotype.cell(name)
        self._concat = tuple(genotype.concat(name))
        self.multiplier = len(self._concat)
        self._steps = len(pairs) // 2
        self._indices = tuple(p.input for p in pairs)
        self._ops = nn.ModuleList(
            OPS[p.op](c, 2 if reduction and p.input < 2 else 1, op_affine) for p in pairs
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self._steps):
            hs = []
            for k in (2 * i, 2 * i + 1):
                op = self._ops[k]
                h = op(states[self._indices[k]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat([states[i] for i in self._concat], dim=1)


class _AuxiliaryHead(nn.Module):
    """DARTS auxiliary classifier: ReLU, 5x5 avg-pool, 1x1 conv 128, 2x2 conv 768, linear."""

    def __init__(self, c: int, num_classes: int, pool_stride: int, bn_after_768: bool) -> None:
        super().__init__()
        tail = [nn.BatchNorm2d(768)] if bn_after_768 else []
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            *tail,
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadCIFAR(_AuxiliaryHead):
    """Auxiliary classifier on the 8x8 map after the second reduction cell."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__(c, num_classes, pool_stride=3, bn_after_768=True)


class AuxiliaryHeadImageNet(_AuxiliaryHead):
    """Auxiliary classifier on the 14x14 map (no BN after the 2x2 conv, as in DARTS)."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__(c, num_classes, pool_stride=2, bn_after_768=False)


def _cells(
    genotype: Genotype, layers: int, c: int, c_pp: int, c_p: int, reduction_prev: bool, op_affine: bool
) -> tuple[nn.ModuleList, int, int]:
    """The cell stack; returns (cells, channels into the auxiliary head, last channels)."""
    cells = nn.ModuleList()
    c_aux = c_p
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c *= 2
        cell = Cell(genotype, c_pp, c_p, c, reduction, reduction_prev, op_affine)
        reduction_prev = reduction
        cells.append(cell)
        c_pp, c_p = c_p, cell.multiplier * c
        if i == 2 * layers // 3:
            c_aux = c_p
    return cells, c_aux, c_p


class _Network(nn.Module):
    auxiliary_head: nn.Module | None

    def __init__(self, layers: int, auxiliary: bool, drop_path_prob: float) -> None:
        super().__init__()
        if layers < 3:
            raise ValueError(f"layers: expected at least 3 (two reduction cells), got {layers}")
        self._layers = layers
        self._auxiliary = auxiliary
        self.drop_path_prob = float(drop_path_prob)

    def _run_cells(self, s0: torch.Tensor, s1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits_aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == 2 * self._layers // 3 and self.auxiliary_head is not None and self.training:
                logits_aux = self.auxiliary_head(s1)
        return s1, logits_aux


class NetworkCIFAR(_Network):
    """DARTS CIFAR network: stem conv3x3 (3C) + BN, ``layers`` cells with reductions at
    ``layers//3`` and ``2*layers//3``, global average pool, linear classifier."""

    def __init__(
        self,
        C: int,
        num_classes: int,
        layers: int,
        auxiliary: bool,
        genotype: Genotype,
        drop_path_prob: float = 0.0,
        op_affine: bool = True,
    ) -> None:
        super().__init__(layers, auxiliary, drop_path_prob)
        c_curr = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        self.cells, c_aux, c_prev = _cells(genotype, layers, C, c_curr, c_curr, False, op_affine)
        self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        s = self.stem(x)
        out, logits_aux = self._run_cells(s, s)
        return self.classifier(self.global_pooling(out).flatten(1)), logits_aux


class NetworkImageNet(_Network):
    """DARTS ImageNet network: stem0 (two stride-2 convs) and stem1 (one), cells as in the
    CIFAR net with the first cell seeing a reduced previous input, 7x7 average pool."""

    def __init__(
        self,
        C: int,
        num_classes: int,
        layers: int,
        auxiliary: bool,
        genotype: Genotype,
        drop_path_prob: float = 0.0,
        op_affine: bool = True,
    ) -> None:
        super().__init__(layers, auxiliary, drop_path_prob)
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, C // 2, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        self.cells, c_aux, c_prev = _cells(genotype, layers, C, C, C, True, op_affine)
        self.auxiliary_head = AuxiliaryHeadImageNet(c_aux, num_classes) if auxiliary else None
        # DARTS uses AvgPool2d(7) (224 inputs); adaptive pooling is identical there and
        # also runs at other resolutions.
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        out, logits_aux = self._run_cells(s0, s1)
        return self.classifier(self.global_pooling(out).flatten(1)), logits_aux


def count_params(model: nn.Module, exclude: Sequence[str] = ("auxiliary_head",)) -> int:
    """Trainable parameters, leaving out the named submodules (the auxiliary head)."""
    return int(
        sum(
            p.numel()
            for n, p in model.named_parameters()
            if p.requires_grad and n.split(".")[0] not in exclude
        )
    )
