"""NAS-Bench-Macro supernet (``nasbench_macro``), PE-NAS's ``NBM``: BN ``affine=False``.

Every one of the 8 searchable layers holds its 3 candidate blocks (the space's own
``make_layer``); stem and head are shared. With ``bn_affine=False`` (PE-NAS, the default) a
subnet has ``space.build(arch)``'s parameters minus the BN weights/biases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch.nn as nn

from penas.spaces._macro_model import make_layer
from penas.spaces.nasbench_macro import CHOICES, HEAD_CHANNELS, INIT_CHANNELS, STAGES, MacroSpace

from ._registry import register_supernet
from .base import Flatten1, PathModule, Supernet, set_bn_affine


@register_supernet("nasbench_macro")
class MacroSupernet(Supernet):
    name = "nasbench_macro"

    def __init__(
        self,
        space: MacroSpace | None = None,
        bn_affine: bool = False,
        init_channels: int = INIT_CHANNELS,
        head_channels: int = HEAD_CHANNELS,
    ) -> None:
        space = space if space is not None else MacroSpace()
        super().__init__(space, bn_affine=bn_affine, init_channels=init_channels, head_channels=head_channels)
        c = init_channels
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        layers: list[nn.Module] = []
        for n in STAGES:
            for j in range(n):
                c_in, c_out, stride = (c, 2 * c, 2) if j == 0 else (c, c, 1)
                layers.append(nn.ModuleList(make_layer(k, c_in, c_out, stride) for k in range(len(CHOICES))))
                c = c_out
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(
            nn.Conv2d(c, head_channels, 1, bias=False), nn.BatchNorm2d(head_channels), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), Flatten1(),
        )
        self.classifier = nn.Linear(head_channels, space.num_classes())
        set_bn_affine(self, bn_affine)

    def subnet(self, arch: Any) -> nn.Module:
        arch = self.space.parse(arch) if isinstance(arch, str) else arch
        self.space.format(arch)  # validates
        body = [self.stem, *(layer[k] for layer, k in zip(self.layers, arch, strict=True)), self.head, self.classifier]
        return PathModule(body)

    def decisions(self) -> list[tuple[int, ...]]:
        return [tuple(range(len(CHOICES))) for _ in self.layers]

    def compose(self, values: Sequence[int]) -> tuple[int, ...]:
        return tuple(int(v) for v in values)

    def extremes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (2,) * len(self.layers), (0,) * len(self.layers)
