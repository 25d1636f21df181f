"""TopFormer-based segmentation space of PE-NAS / HESS (``topformer``, ADE20K, 150 classes).

An arch is :class:`TopFormerConfig`: ``width`` (6: stem, mb1..mb5), ``depth``, ``kernel_size``,
``expand_ratio`` (5 MobileNetV2 stages) and ``num_heads``, ``key_dim``, ``attn_ratio``,
``mlp_ratio``, ``transformer_depth`` (4 transformer stages). Two candidate sets:

* ``choices="base"``: wmkai/NAS ``configs/hess_dynamic_supernet/base/hess_supernet.py``
  (contains the seed's Ours-base config);
* ``choices="small"``: a smaller set of our own (HESS did not publish one) that contains the
  seed's Ours-small and Ours-tiny configs (see ``README_config_spaces.md``).

The head (``embed`` channels of the semantic injection and SimpleHead, depthwise fuse conv or
not) follows TopFormer's presets: ``base`` 256, ``small`` 192, ``tiny`` 128 + depthwise.
Registered: ``topformer`` (base set, base head), ``topformer_small`` (small set, small head),
``topformer_tiny`` (small set, tiny head). ``flops`` is the analytic count under the
``mmcv_syncbn`` convention of :mod:`penas.spaces.flops` at 512x512 (what HESS'
``compute_flops`` measures); the seed configs give 1.790 / 1.179 / 0.581 GFLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._channels import make_divisible
from ._registry import register_space
from .config_space import ConfigSpace, FieldSpec

if TYPE_CHECKING:
    import torch.nn as nn


@dataclass(frozen=True)
class TopFormerConfig:
    width: tuple[int, ...]
    depth: tuple[int, ...]
    kernel_size: tuple[int, ...]
    expand_ratio: tuple[int, ...]
    num_heads: tuple[int, ...]
    key_dim: tuple[int, ...]
    attn_ratio: tuple[float, ...]
    mlp_ratio: tuple[float, ...]
    transformer_depth: tuple[int, ...]


STRIDES = (1, 2, 2, 2, 2)
EMBED_OUT = (1, 2, 3, 4)
DECODE_OUT = (1, 2, 3)
C2T_STRIDE = 2
_TRANS = {
    "num_heads": ((4, 6, 8, 10, 12),) * 4,
    "key_dim": ((12, 14, 16, 18, 20),) * 4,
    "attn_ratio": ((1.6, 1.8, 2.0, 2.2, 2.4),) * 4,
    "mlp_ratio": ((1.6, 1.8, 2.0, 2.2, 2.4),) * 4,
    "transformer_depth": ((1, 2),) * 4,
}
#: Candidate sets: per field, the allowed values of each entry.
CHOICES: dict[str, dict[str, tuple[tuple[Any, ...], ...]]] = {
    "base": {
        "width": ((16, 24), (16, 24), (24, 32, 40), (56, 64, 72), (112, 120, 128, 136), (152, 160, 168, 176)),
        "depth": ((1, 2), (1, 2, 3), (1, 2, 3), (1, 2, 3), (2, 3, 4)),
        "kernel_size": ((3, 5),) * 5,
        "expand_ratio": ((1,), (3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5), (4, 5, 6, 7)),
        **_TRANS,
    },
    "small": {
        "width": ((16, 24), (16, 24), (16, 24, 32), (32, 40, 48, 56), (56, 64, 72, 80, 88, 96),
                  (104, 112, 120, 128, 136)),
        "depth": ((1, 2), (1, 2, 3), (1, 2, 3), (1, 2, 3), (2, 3, 4)),
        "kernel_size": ((3, 5),) * 5,
        "expand_ratio": ((1,), (3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5), (4, 5, 6, 7)),
        **_TRANS,
    },
}
#: Head presets (TopFormer base/small/tiny): (embed channels, depthwise fuse conv).
HEADS: dict[str, tuple[int, bool]] = {"base": (256, False), "small": (192, False), "tiny": (128, True)}
_FIELD_ORDER = ("width", "depth", "kernel_size", "expand_ratio", "num_heads", "key_dim", "attn_ratio",
                "mlp_ratio", "transformer_depth")

#: The PE-NAS README configs, with the head they were measured with and their published GFLOPs.
SEED_CONFIGS: dict[str, tuple[dict[str, list[Any]], str, float]] = {
    "base": ({"width": [16, 16, 24, 72, 128, 176], "depth": [1, 1, 2, 2, 4], "kernel_size": [5, 3, 3, 3, 3],
              "expand_ratio": [1, 4, 2, 2, 5], "num_heads": [10, 8, 12, 4], "key_dim": [18, 16, 16, 16],
              "attn_ratio": [1.6, 2.2, 1.8, 2.0], "mlp_ratio": [2.2, 2.2, 1.6, 2.0],
              "transformer_depth": [2, 1, 2, 2]}, "topformer", 1.79),
    "small": ({"width": [16, 16, 16, 48, 96, 136], "depth": [2, 2, 1, 3, 4], "kernel_size": [5, 3, 5, 3, 3],
               "expand_ratio": [1, 3, 3, 2, 6], "num_heads": [6, 4, 4, 8], "key_dim": [16, 14, 16, 14],
               "attn_ratio": [1.6, 1.8, 1.8, 1.8], "mlp_ratio": [2.2, 1.8, 2.0, 1.8],
               "transformer_depth": [2, 1, 2, 2]}, "topformer_small", 1.18),
    "tiny": ({"width": [16, 16, 24, 32, 56, 104], "depth": [1, 1, 1, 3, 3], "kernel_size": [3, 3, 5, 3, 5],
              "expand_ratio": [1, 3, 2, 2, 6], "num_heads": [6, 10, 4, 10], "key_dim": [18, 16, 18, 14],
              "attn_ratio": [1.8, 2.0, 1.6, 1.8], "mlp_ratio": [2.4, 2.0, 2.2, 1.8],
              "transformer_depth": [1, 2, 2, 2]}, "topformer_tiny", 0.58),
}


class TopFormerSpace(ConfigSpace[TopFormerConfig]):
    datasets = ("ade20k",)
    arch_type = TopFormerConfig

    def __init__(self, choices: str = "base", head: str = "base", name: str = "topformer") -> None:
        if choices not in CHOICES:
            raise ValueError(f"choices: expected one of {sorted(CHOICES)}, got {choices!r}")
        if head not in HEADS:
            raise ValueError(f"head: expected one of {sorted(HEADS)}, got {head!r}")
        self.name = name
        self.choice_set, self.head = choices, head
        self.embed, self.head_depthwise = HEADS[head]
        self.fields = tuple(FieldSpec(f, CHOICES[choices][f]) for f in _FIELD_ORDER)

    def build(self, arch: TopFormerConfig, dataset: str | None = None, **kwargs: Any) -> nn.Module:
        from ._topformer_model import TopFormerSegNet

        self.check_dataset(dataset or self.datasets[0])
        if kwargs:
            raise TypeError(f"build: unexpected arguments {sorted(kwargs)}")
        a = self.validate(arch)
        return TopFormerSegNet(a.width, a.depth, a.kernel_size, a.expand_ratio, a.num_heads, a.key_dim,
                               a.attn_ratio, a.mlp_ratio, a.transformer_depth, STRIDES, self.embed,
                               self.head_depthwise, self.num_classes(dataset), C2T_STRIDE, EMBED_OUT, DECODE_OUT)

    def flops(self, arch: TopFormerConfig, dataset: str | None = None, resolution: int = 512) -> int:
        """Analytic FLOPs under the ``mmcv_syncbn`` convention at ``resolution`` x ``resolution``:
        conv MACs + conv bias, ReLU/ReLU6 outputs; BN, attention matmuls, softmax, pooling and
        interpolation (all functional or SyncBN in HESS) cost nothing."""
        a = arch
        tot = 0
        hw = (resolution - 1) // 2 + 1
        tot += 27 * a.width[0] * hw * hw + a.width[0] * hw * hw  # stem conv + ReLU6
        c_in = a.width[0]
        scales: list[tuple[int, int]] = []
        for s in range(len(a.depth)):
            c_out = a.width[s + 1]
            for i in range(a.depth[s]):
                mid = make_divisible(round(c_in * a.expand_ratio[s]), 8)
                if a.expand_ratio[s] != 1:
                    tot += (c_in + 1) * mid * hw * hw  # 1x1 conv + ReLU6
                if i == 0 and STRIDES[s] > 1:
                    hw = (hw - 1) // STRIDES[s] + 1
                k2 = a.kernel_size[s] ** 2
                tot += (k2 + 1) * mid * hw * hw + mid * c_out * hw * hw  # dw conv + ReLU6, project
                c_in = c_out
            if s in EMBED_OUT:
                scales.append((c_out, hw))
        t2 = ((scales[-1][1] - 1) // C2T_STRIDE + 1) ** 2
        dim = sum(c for c, _ in scales)
        for j in range(len(a.transformer_depth)):
            nh, kd = a.num_heads[j], a.key_dim[j]
            dv = int(kd * a.attn_ratio[j]) * nh
            hidden = make_divisible(round(dim * a.mlp_ratio[j]), 8)
            per_block = (2 * dim * kd * nh + dim * dv + dv + dv * dim  # q, k, v, ReLU6, proj
                         + dim * hidden + hidden * 9 + hidden + hidden + hidden * dim)  # fc1, dw + bias, ReLU6, fc2
            tot += a.transformer_depth[j] * per_block * t2
        e = self.embed
        for i in DECODE_OUT:
            c, h = scales[i]
            tot += c * e * h * h + 2 * c * e * t2 + e * t2  # local, global act/embedding, h_sigmoid ReLU6
        h = scales[DECODE_OUT[0]][1]
        fuse = e if self.head_depthwise else e * e
        tot += (fuse + e) * h * h + (e * self.num_classes(dataset) + self.num_classes(dataset)) * h * h
        return tot

    def input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        return (3, 512, 512)

    def test_input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        """A small input for quick forward/backward tests (stride 32: 1x1 tokens, 4x4 logits)."""
        return (3, 32, 32)

    def num_classes(self, dataset: str | None = None) -> int:
        return 150


@register_space("topformer")
def topformer(choices: str = "base", head: str = "base") -> TopFormerSpace:
    return TopFormerSpace(choices, head, name="topformer")


@register_space("topformer_small")
def topformer_small() -> TopFormerSpace:
    return TopFormerSpace("small", "small", name="topformer_small")


@register_space("topformer_tiny")
def topformer_tiny() -> TopFormerSpace:
    return TopFormerSpace("small", "tiny", name="topformer_tiny")
