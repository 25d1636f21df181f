"""NDS ResNet / ResNeXt-A supernets (``nds_resnet``, ``nds_resnexta``): ordinal slicing.

As aw_nas ``germ_nds`` ordinal search: one pycls AnyNet at the largest depth and width of
every stage, BN ``affine=False``. An arch with depth ``d`` and width ``w`` in a stage uses the
first ``d`` blocks and the first ``w`` output channels of every conv (input channels follow
the previous layer; the bottleneck uses the first ``round(w * bot_mul)`` channels; a grouped
3x3 conv with ``g`` groups takes the ``g`` diagonal blocks of the dense max-size kernel).
Projection shortcuts exist in the first block of every stage and are used when the subnet's
shape changes, as in the stand-alone net.

``forward(x, arch)`` runs the sliced weights (gradients reach the supernet).
``subnet(arch)`` materialises the slices into ``space.build(arch)`` with BN ``affine=False``
(a copy, like OFA's ``get_active_subnet``): sliced tensors are not Parameters, so a module
that shares them cannot report the subnet's parameter count.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.spaces._nds_model import bottleneck_width
from penas.spaces.nds import STEM_W, STRIDES, NDSResNetSpace, NDSResNeXtASpace, NDSSpace

from ._registry import register_supernet
from .base import Supernet, set_bn_affine


def _conv(x: torch.Tensor, conv: nn.Conv2d, c_out: int, stride: int = 1, groups: int = 1) -> torch.Tensor:
    return F.conv2d(x, _conv_weight(conv, x.shape[1], c_out, groups), None, stride, conv.kernel_size[0] // 2,
                    groups=groups)


def _conv_weight(conv: nn.Conv2d, c_in: int, c_out: int, groups: int) -> torch.Tensor:
    w = conv.weight
    if groups == 1:
        return w[:c_out, :c_in]
    if c_in != c_out or c_out % groups:
        raise ValueError(f"groups: {groups} groups need equal in/out channels divisible by it, got {c_in}->{c_out}")
    g = c_out // groups
    return torch.cat([w[j * g : (j + 1) * g, j * g : (j + 1) * g] for j in range(groups)])


def _bn(x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    c = x.shape[1]
    return F.batch_norm(x, bn.running_mean[:c], bn.running_var[:c], None, None,
                        bn.training or not bn.track_running_stats, bn.momentum or 0.0, bn.eps)


def _cbn(c_in: int, c_out: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out, affine=False)]


class _MaxBlock(nn.Module):
    def __init__(self, w_in: int, w_out: int, w_b: int | None, with_proj: bool) -> None:
        super().__init__()
        self.proj = nn.Sequential(*_cbn(w_in, w_out, 1)) if with_proj else None
        if w_b is None:
            self.f = nn.Sequential(*_cbn(w_in, w_out, 3), nn.ReLU(), *_cbn(w_out, w_out, 3))
        else:
            self.f = nn.Sequential(*_cbn(w_in, w_b, 1), nn.ReLU(), *_cbn(w_b, w_b, 3), nn.ReLU(), *_cbn(w_b, w_out, 1))


class _NDSSupernet(Supernet):
    space_cls: type[NDSSpace] = NDSSpace

    def __init__(self, space: NDSSpace | None = None) -> None:
        space = space if space is not None else self.space_cls()
        super().__init__(space)
        fields = {f.name: f for f in space.fields}
        self.max_d = [max(c) for c in fields["depths"].choices]
        self.max_w = [max(c) for c in fields["widths"].choices]
        bot = [max(c) for c in fields["bot_muls"].choices] if "bot_muls" in fields else None
        self.stem = nn.Sequential(*_cbn(3, STEM_W, 3), nn.ReLU())
        stages, w_in = [], STEM_W
        for s in range(len(self.max_d)):
            w_b = bottleneck_width(self.max_w[s], bot[s]) if bot else None
            stages.append(nn.ModuleList(
                _MaxBlock(w_in if i == 0 else self.max_w[s], self.max_w[s], w_b, i == 0) for i in range(self.max_d[s])
            ))
            w_in = self.max_w[s]
        self.stages = nn.ModuleList(stages)
        self.fc = nn.Linear(w_in, space.num_classes())

    def _stage_args(self, a: Any, s: int) -> tuple[int, int, float | None, int]:
        bm = getattr(a, "bot_muls", None)
        ng = getattr(a, "num_groups", None)
        return a.depths[s], a.widths[s], (bm[s] if bm is not None else None), (ng[s] if ng is not None else 1)

    def _check(self, arch: Any) -> Any:
        a = self.space.parse(arch) if isinstance(arch, str) else arch
        self.space.format(a)  # validates
        return a

    def forward(self, x: torch.Tensor, arch: Any) -> torch.Tensor:
        a = self._check(arch)
        x = F.relu(_bn(_conv(x, self.stem[0], STEM_W), self.stem[1]))
        for s, blocks in enumerate(self.stages):
            d, w, bm, g = self._stage_args(a, s)
            for i in range(d):
                blk, stride = blocks[i], STRIDES[s] if i == 0 else 1
                res = x
                if x.shape[1] != w or stride != 1:
                    res = _bn(_conv(x, blk.proj[0], w, stride), blk.proj[1])
                f = blk.f
                if bm is None:
                    h = F.relu(_bn(_conv(x, f[0], w, stride), f[1]))
                    h = _bn(_conv(h, f[3], w), f[4])
                else:
                    wb = bottleneck_width(w, bm)
                    h = F.relu(_bn(_conv(x, f[0], wb), f[1]))
                    h = F.relu(_bn(_conv(h, f[3], wb, stride, g), f[4]))
                    h = _bn(_conv(h, f[6], w), f[7])
                x = F.relu(res + h)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return F.linear(x, self.fc.weight[:, : x.shape[1]], self.fc.bias)

    @torch.no_grad()
    def subnet(self, arch: Any) -> nn.Module:
        a = self._check(arch)
        net = set_bn_affine(self.space.build(a), False).to(self.fc.weight.device)
        pairs: list[tuple[nn.Module, nn.Module]] = list(zip(self.stem, net.stem, strict=True))
        for s, blocks in enumerate(self.stages):
            for blk, ref in zip(blocks, net.stages[s], strict=False):
                if ref.proj is not None:
                    pairs += list(zip(blk.proj, ref.proj, strict=True))
                pairs += list(zip(blk.f, ref.f, strict=True))
        for src, dst in pairs:
            if isinstance(dst, nn.Conv2d):
                dst.weight.copy_(_conv_weight(src, dst.in_channels, dst.out_channels, dst.groups))
            elif isinstance(dst, nn.BatchNorm2d):
                c = dst.num_features
                dst.running_mean.copy_(src.running_mean[:c])
                dst.running_var.copy_(src.running_var[:c])
                dst.num_batches_tracked.copy_(src.num_batches_tracked)
        net.fc.weight.copy_(self.fc.weight[:, : net.fc.in_features])
        net.fc.bias.copy_(self.fc.bias)
        net.train(self.training)
        return net

    def extremes(self) -> tuple[Any, Any]:
        big = {f.name: [max(c) for c in f.choices] for f in self.space.fields}
        small = {f.name: [min(c) for c in f.choices] for f in self.space.fields}
        return self.space.from_dict(big), self.space.from_dict(small)


@register_supernet("nds_resnet")
class NDSResNetSupernet(_NDSSupernet):
    name = "nds_resnet"
    space_cls = NDSResNetSpace


@register_supernet("nds_resnexta")
class NDSResNeXtASupernet(_NDSSupernet):
    name = "nds_resnexta"
    space_cls = NDSResNeXtASpace
