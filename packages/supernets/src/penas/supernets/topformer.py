"""TopFormer / HESS dynamic supernets (``topformer``, ``topformer_small``, ``topformer_tiny``).

One segmentation network at the largest setting of its space (the space's own modules, built
at max size): per MobileNetV2 stage the maximum depth, width, expand ratio and kernel; per
transformer stage the maximum depth, heads, key dim, attention ratio and MLP ratio, at the
maximum token dim (sum of the four largest token-scale widths). A config uses

* backbone: the first ``d`` blocks of a stage, the first ``w`` output channels of every
  conv/BN (input channels follow the previous layer), the expanded width
  ``make_divisible(round(c_in * t), 8)``, the centre ``k x k`` crop of the 5x5 depthwise kernel;
* transformer: the first ``transformer_depth[j]`` blocks of stage ``j``; the token dim is the
  sum of the active token widths and every dim-sized axis uses its first ``dim`` channels
  (leading slices of the concatenation, AutoFormer-style: a scale's channels move when an
  earlier scale is narrower); q/k use the first ``num_heads * key_dim`` output channels, v the
  first ``num_heads * int(key_dim * attn_ratio)``, the MLP the first
  ``make_divisible(round(dim * mlp_ratio), 8)`` hidden channels;
* injection modules: the first ``w`` input channels of their fixed-width embeddings; the
  head is static.

``forward(x, cfg)`` runs the slices (gradients reach the supernet); ``subnet(cfg)`` copies them
into ``space.build(cfg)`` (OFA ``get_active_subnet``): same parameter count, same function.
``extremes()`` gives the largest and smallest config for the sandwich sampler.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.spaces import get_space
from penas.spaces._attentivenas_model import make_divisible
from penas.spaces._topformer_model import (
    InjectionMultiSum,
    InvertedResidual,
    SimpleHead,
    TransformerBlock,
    conv_bn,
)
from penas.spaces.topformer import C2T_STRIDE, DECODE_OUT, EMBED_OUT, STRIDES, TopFormerConfig, TopFormerSpace

from . import _dynamic_ops as D
from ._dynamic_ops import extreme_configs
from ._registry import register_supernet
from .base import Supernet


def _cbn(x: torch.Tensor, m: nn.Sequential, c_out: int, offset: int = 0, **kw: Any) -> torch.Tensor:
    return D.bn(D.conv(x, m[offset], c_out, **kw), m[offset + 1])


def _inverted_residual(x: torch.Tensor, blk: InvertedResidual, c_out: int, k: int, e: int) -> torch.Tensor:
    layers = blk.conv
    c_in = x.shape[1]
    h = x
    o = 0
    if len(layers) == 8:  # the max block expands
        if e == 1:
            raise ValueError("expand_ratio: 1 in a stage whose supernet blocks expand")
        h = F.relu6(_cbn(h, layers, make_divisible(round(c_in * e), 8)))
        o = 3
    elif e != 1:
        raise ValueError(f"expand_ratio: {e} in a stage whose supernet blocks have no expansion")
    stride = layers[o].stride[0]
    h = F.relu6(_cbn(h, layers, h.shape[1], o, stride=stride, kernel=k, depthwise=True))
    h = _cbn(h, layers, c_out, o + 3)
    return x + h if c_in == c_out and stride == 1 else h


def _transformer_block(
    x: torch.Tensor, blk: TransformerBlock, nh: int, kd: int, ar: float, mr: float
) -> torch.Tensor:
    b, dim, hh, ww = x.shape
    at = blk.attn
    d = int(kd * ar)
    q = _cbn(x, at.to_q, nh * kd).reshape(b, nh, kd, hh * ww).permute(0, 1, 3, 2)
    k = _cbn(x, at.to_k, nh * kd).reshape(b, nh, kd, hh * ww)
    v = _cbn(x, at.to_v, nh * d).reshape(b, nh, d, hh * ww).permute(0, 1, 3, 2)
    out = torch.matmul(torch.matmul(q, k).softmax(dim=-1), v).permute(0, 1, 3, 2).reshape(b, d * nh, hh, ww)
    x = x + _cbn(F.relu6(out), at.proj, dim, 1)
    mlp = blk.mlp
    h = _cbn(x, mlp.fc1, make_divisible(round(dim * mr), 8))
    h = F.relu6(D.conv(h, mlp.dwconv, h.shape[1], depthwise=True))
    return x + _cbn(h, mlp.fc2, dim)


def _inject(x_l: torch.Tensor, x_g: torch.Tensor, m: InjectionMultiSum) -> torch.Tensor:
    e = m.local_embedding[0].out_channels
    size = x_l.shape[2:]
    act = F.relu6(_cbn(x_g, m.global_act, e) + 3) / 6
    sig = F.interpolate(act, size=size, mode="bilinear", align_corners=False)
    glob = F.interpolate(_cbn(x_g, m.global_embedding, e), size=size, mode="bilinear", align_corners=False)
    return _cbn(x_l, m.local_embedding, e) * sig + glob


class TopFormerSupernet(Supernet):
    """HESS-style dynamic TopFormer; see the module docstring."""

    name = "topformer"
    default_preset = "hess_topformer"

    def __init__(self, space: TopFormerSpace | None = None) -> None:
        space = space if space is not None else get_space(self.name)
        if not isinstance(space, TopFormerSpace):
            raise ValueError(f"space: expected a TopFormerSpace, got {type(space).__name__}")
        super().__init__(space, choices=space.choice_set, head=space.head)
        big, _ = extreme_configs(space)
        w, dep, ks, ex = big["width"], big["depth"], big["kernel_size"], big["expand_ratio"]
        self.stem = nn.Sequential(*conv_bn(3, w[0], 3, 2), nn.ReLU6())
        stages: list[nn.ModuleList] = []
        c = w[0]
        for s in range(len(dep)):
            stages.append(
                nn.ModuleList(
                    InvertedResidual(
                        c if i == 0 else w[s + 1], w[s + 1], ks[s], STRIDES[s] if i == 0 else 1, ex[s]
                    )
                    for i in range(dep[s])
                )
            )
            c = w[s + 1]
        self.stages = nn.ModuleList(stages)
        dim = sum(w[s + 1] for s in EMBED_OUT)
        self.transformer = nn.ModuleList(
            nn.ModuleList(
                TransformerBlock(
                    dim, big["key_dim"][j], big["num_heads"][j], big["attn_ratio"][j], big["mlp_ratio"][j]
                )
                for _ in range(big["transformer_depth"][j])
            )
            for j in range(len(big["transformer_depth"]))
        )
        self.sim = nn.ModuleDict(
            {str(i): InjectionMultiSum(w[EMBED_OUT[i] + 1], space.embed) for i in DECODE_OUT}
        )
        self.head = SimpleHead(space.embed, space.num_classes(), space.head_depthwise)

    def _check(self, arch: Any) -> TopFormerConfig:
        return self.space.parse(arch) if isinstance(arch, str) else self.space.validate(arch)

    def forward(self, x: torch.Tensor, arch: Any) -> torch.Tensor:
        a = self._check(arch)
        x = F.relu6(_cbn(x, self.stem, a.width[0], stride=2))
        tokens: list[torch.Tensor] = []
        for s, blocks in enumerate(self.stages):
            for i in range(a.depth[s]):
                x = _inverted_residual(x, blocks[i], a.width[s + 1], a.kernel_size[s], a.expand_ratio[s])
            if s in EMBED_OUT:
                tokens.append(x)
        h, w = tokens[-1].shape[2:]
        size = ((h - 1) // C2T_STRIDE + 1, (w - 1) // C2T_STRIDE + 1)
        g = torch.cat([F.adaptive_avg_pool2d(t, size) for t in tokens], dim=1)
        for j, blocks in enumerate(self.transformer):
            for i in range(a.transformer_depth[j]):
                g = _transformer_block(
                    g, blocks[i], a.num_heads[j], a.key_dim[j], a.attn_ratio[j], a.mlp_ratio[j]
                )
        parts = g.split([t.shape[1] for t in tokens], dim=1)
        return self.head([_inject(tokens[i], parts[i], self.sim[str(i)]) for i in DECODE_OUT])

    @torch.no_grad()
    def subnet(self, arch: Any) -> nn.Module:
        """``space.build(cfg)`` with this supernet's slices copied in."""
        a = self._check(arch)
        net = D.empty_build(lambda: self.space.build(a), self.head.conv_seg.weight.device)
        names = [f"transformer.{j}.{i}" for j, d in enumerate(a.transformer_depth) for i in range(d)]
        for name, dst in net.named_modules():
            if name.startswith("transformer."):
                n, _, rest = name[len("transformer.") :].partition(".")
                name = names[int(n)] + ("." + rest if rest else "")
            if any(True for _ in dst.parameters(recurse=False)):
                D.copy_like(dst, self.get_submodule(name))
        net.train(self.training)
        return net

    def extremes(self) -> tuple[TopFormerConfig, TopFormerConfig]:
        big, small = extreme_configs(self.space)
        return self.space.from_dict(big), self.space.from_dict(small)


register_supernet("topformer")(TopFormerSupernet)


@register_supernet("topformer_small")
class TopFormerSmallSupernet(TopFormerSupernet):
    name = "topformer_small"


@register_supernet("topformer_tiny")
class TopFormerTinySupernet(TopFormerSupernet):
    name = "topformer_tiny"
