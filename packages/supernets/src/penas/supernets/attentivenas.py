"""AttentiveNAS dynamic supernet (``attentivenas``): OFA/AttentiveNAS weight sharing.

One MobileNet-like network at the largest setting of every stage (``AttentiveNasDynamicModel``):
per stage the maximum depth of MBConv blocks, each with the maximum width, expand ratio and
kernel. A config uses

* depth: the first ``d`` blocks of each stage;
* width: the first ``w`` output channels of every conv/BN (input channels follow the previous
  layer), the expanded width ``make_divisible(round(c_in * e), 8)`` of the active input
  width and expand ratio, the SE reduction ``make_divisible(mid // 4, 8)`` of that;
* kernel: the centre ``k x k`` crop of the largest depthwise kernel (AttentiveNAS has no
  kernel transform matrices);
* resolution: the input is resized to ``cfg.resolution`` (bicubic) unless the supernet was
  made with ``resize_input=False``, exactly as ``space.build``.

Swish everywhere, SE (ReLU, hard sigmoid) in the stages that have it, the shortcut of the
stand-alone model (identity, or ``avg_pool(stride)`` then a 1x1 conv when the width changes;
the 1x1 conv exists in the first block of every stage). ``forward(x, cfg)`` runs the slices
(gradients reach the supernet); ``subnet(cfg)`` copies them into ``space.build(cfg)`` (OFA
``get_active_subnet``): same parameter count, same function. ``extremes()`` gives the largest
and smallest config for the sandwich sampler.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.spaces._attentivenas_model import make_divisible
from penas.spaces.attentivenas import HEAD_EXPAND, SE, STRIDES, AttentiveNASConfig, AttentiveNASSpace

from . import _dynamic_ops as D
from ._dynamic_ops import extreme_configs
from ._registry import register_supernet
from .base import Supernet


def _conv_bn(
    c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, bn: bool = True
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*layers)


class _SE(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        mid = make_divisible(channels // 4, 8)
        self.reduce = nn.Conv2d(channels, mid, 1, bias=True)
        self.expand = nn.Conv2d(mid, channels, 1, bias=True)

    def run(self, x: torch.Tensor) -> torch.Tensor:
        mid = x.shape[1]
        y = x.mean(3, keepdim=True).mean(2, keepdim=True)
        y = F.relu(D.conv(y, self.reduce, make_divisible(mid // 4, 8)))
        return x * (F.relu6(D.conv(y, self.expand, mid) + 3.0) / 6.0)


class _DynamicMBBlock(nn.Module):
    """Max-size MBConv with the stand-alone ``MBBlock``'s attribute names (for the slice copy)."""

    def __init__(
        self, c_in: int, c_out: int, k: int, stride: int, expand: int, se: bool, shortcut: bool
    ) -> None:
        super().__init__()
        mid = make_divisible(round(c_in * expand), 8)
        self.expand = _conv_bn(c_in, mid, 1) if expand != 1 else None
        dw: list[nn.Module] = [*_conv_bn(mid, mid, k, stride, groups=mid)]
        if se:
            dw += [nn.SiLU(), _SE(mid)]  # index 3 as in the stand-alone depthwise Sequential
        self.depthwise = nn.Sequential(*dw)
        self.project = _conv_bn(mid, c_out, 1)
        self.stride = stride
        self.shortcut_conv = nn.Conv2d(c_in, c_out, 1, bias=False) if shortcut else None

    def run(self, x: torch.Tensor, c_out: int, k: int, e: int) -> torch.Tensor:
        c_in = x.shape[1]
        res = x
        if not (c_in == c_out and self.stride == 1):
            if self.stride > 1:
                res = F.avg_pool2d(res, self.stride, padding=0 if res.size(-1) % 2 == 0 else 1)
            if c_in != c_out:
                if self.shortcut_conv is None:
                    raise ValueError(
                        f"width: block needs a {c_in}->{c_out} shortcut the supernet does not have"
                    )
                res = D.conv(res, self.shortcut_conv, c_out)
        if e != 1:
            if self.expand is None:
                raise ValueError(f"expand_ratio: {e} in a stage whose supernet blocks have no expansion")
            x = F.silu(D.bn(D.conv(x, self.expand[0], make_divisible(round(c_in * e), 8)), self.expand[1]))
        dw = self.depthwise
        x = F.silu(D.bn(D.conv(x, dw[0], x.shape[1], self.stride, kernel=k, depthwise=True), dw[1]))
        if len(dw) > 3:
            x = dw[3].run(x)
        return D.bn(D.conv(x, self.project[0], c_out), self.project[1]) + res


@register_supernet("attentivenas")
class AttentiveNASSupernet(Supernet):
    """AttentiveNAS dynamic supernet; see the module docstring."""

    name = "attentivenas"

    def __init__(
        self, space: AttentiveNASSpace | None = None, dataset: str | None = None, resize_input: bool = True
    ) -> None:
        if not isinstance(resize_input, bool):
            raise ValueError(f"resize_input: expected a bool, got {resize_input!r}")
        space = space if space is not None else AttentiveNASSpace()
        dataset = dataset or space.datasets[0]
        space.check_dataset(dataset)
        super().__init__(space, dataset=dataset, resize_input=resize_input)
        big, _ = extreme_configs(space)
        w, d, k, e = big["width"], big["depth"], big["kernel_size"], big["expand_ratio"]
        self.first_conv = _conv_bn(3, w[0], 3, 2)
        stages: list[nn.ModuleList] = []
        c = w[0]
        for s in range(len(d)):
            stages.append(
                nn.ModuleList(
                    _DynamicMBBlock(
                        c if i == 0 else w[s + 1],
                        w[s + 1],
                        k[s],
                        STRIDES[s] if i == 0 else 1,
                        e[s],
                        SE[s],
                        shortcut=i == 0,
                    )
                    for i in range(d[s])
                )
            )
            c = w[s + 1]
        self.stages = nn.ModuleList(stages)
        self.final_expand = _conv_bn(c, c * HEAD_EXPAND, 1)
        self.feature_mix = _conv_bn(c * HEAD_EXPAND, w[-1], 1, bn=False)
        self.classifier = nn.Linear(w[-1], space.num_classes(dataset))

    def _check(self, arch: Any) -> AttentiveNASConfig:
        return self.space.parse(arch) if isinstance(arch, str) else self.space.validate(arch)

    def forward(self, x: torch.Tensor, arch: Any) -> torch.Tensor:
        a = self._check(arch)
        if self.cfg["resize_input"] and x.size(-1) != a.resolution:
            x = F.interpolate(x, size=a.resolution, mode="bicubic")
        x = F.silu(D.bn(D.conv(x, self.first_conv[0], a.width[0], 2), self.first_conv[1]))
        for s, blocks in enumerate(self.stages):
            for i in range(a.depth[s]):
                x = blocks[i].run(x, a.width[s + 1], a.kernel_size[s], a.expand_ratio[s])
        c = x.shape[1]
        x = F.silu(D.bn(D.conv(x, self.final_expand[0], c * HEAD_EXPAND), self.final_expand[1]))
        x = F.adaptive_avg_pool2d(x, 1)
        x = F.silu(D.conv(x, self.feature_mix[0], a.width[-1]))
        return D.linear(torch.flatten(x, 1), self.classifier)

    @torch.no_grad()
    def subnet(self, arch: Any) -> nn.Module:
        """``space.build(cfg)`` with this supernet's slices copied in."""
        a = self._check(arch)
        net = D.empty_build(
            lambda: self.space.build(a, self.cfg["dataset"], resize_input=self.cfg["resize_input"]),
            self.classifier.weight.device,
        )
        names = [f"stages.{s}.{i}" for s in range(len(a.depth)) for i in range(a.depth[s])]
        for name, dst in net.named_modules():
            if name.startswith("blocks."):
                j, _, rest = name[len("blocks.") :].partition(".")
                name = names[int(j)] + ("." + rest if rest else "")
            if any(True for _ in dst.parameters(recurse=False)):
                D.copy_like(dst, self.get_submodule(name))
            elif isinstance(dst, nn.BatchNorm2d):
                D.copy_bn(dst, self.get_submodule(name))
        net.train(self.training)
        return net

    def extremes(self) -> tuple[AttentiveNASConfig, AttentiveNASConfig]:
        big, small = extreme_configs(self.space)
        return self.space.from_dict(big), self.space.from_dict(small)
