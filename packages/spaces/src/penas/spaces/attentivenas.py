"""AttentiveNAS / AlphaNet MobileNet-like space (``attentivenas``, ImageNet, 1000 classes).

An arch is :class:`AttentiveNASConfig` (``subnet_cfg`` of facebookresearch/AttentiveNAS and
XNAS/PE-NAS): ``resolution`` and per-stage ``width`` (9: first_conv, mb1..mb7, last_conv),
``depth``, ``kernel_size``, ``expand_ratio`` (7 each), with the supernet choices of
``configs/train_attentive_nas_models.yml``. ``flops`` is AttentiveNAS'
``compute_active_subnet_flops`` (conv + linear multiply-accumulates at the arch's resolution,
no bias, SE included); the PE-NAS found config gives 979.515488 M, AttentiveNAS-A0 203.39 M.
See ``packages/spaces/README_config_spaces.md``.
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
class AttentiveNASConfig:
    resolution: int
    width: tuple[int, ...]
    depth: tuple[int, ...]
    kernel_size: tuple[int, ...]
    expand_ratio: tuple[int, ...]


RESOLUTIONS = (192, 224, 256, 288)
#: (c, d, k, t, stride, se) per stage of the supernet (first_conv, mb1..mb7, last_conv).
WIDTHS = ((16, 24), (16, 24), (24, 32), (32, 40), (64, 72), (112, 120, 128), (192, 200, 208, 216),
          (216, 224), (1792, 1984))
DEPTHS = ((1, 2), (3, 4, 5), (3, 4, 5, 6), (3, 4, 5, 6), (3, 4, 5, 6, 7, 8), (3, 4, 5, 6, 7, 8), (1, 2))
KERNELS = ((3, 5),) * 7
EXPANDS = ((1,), (4, 5, 6), (4, 5, 6), (4, 5, 6), (4, 5, 6), (6,), (6,))
STRIDES = (1, 2, 2, 2, 1, 2, 1)
SE = (False, False, True, False, True, True, True)
FIRST_STRIDE = 2
HEAD_EXPAND = 6

#: Published configs (AttentiveNAS ``configs/eval_attentive_nas_models.yml``; PE-NAS README).
KNOWN: dict[str, dict[str, Any]] = {
    "pe_nas": {"resolution": 288, "width": [16, 16, 24, 32, 72, 120, 200, 216, 1792],
               "depth": [2, 3, 3, 5, 6, 8, 2], "kernel_size": [5, 5, 5, 5, 5, 3, 5],
               "expand_ratio": [1, 4, 5, 5, 4, 6, 6]},
    "a0": {"resolution": 192, "width": [16, 16, 24, 32, 64, 112, 192, 216, 1792],
           "depth": [1, 3, 3, 3, 3, 3, 1], "kernel_size": [3, 3, 3, 3, 3, 3, 3],
           "expand_ratio": [1, 4, 4, 4, 4, 6, 6]},
    "a6": {"resolution": 288, "width": [16, 16, 24, 32, 64, 112, 216, 224, 1984],
           "depth": [1, 3, 3, 4, 4, 6, 1], "kernel_size": [3, 3, 3, 3, 3, 5, 3],
           "expand_ratio": [1, 4, 6, 5, 4, 6, 6]},
}


class AttentiveNASSpace(ConfigSpace[AttentiveNASConfig]):
    name = "attentivenas"
    datasets = ("imagenet",)
    arch_type = AttentiveNASConfig
    fields = (
        FieldSpec("resolution", (RESOLUTIONS,), scalar=True),
        FieldSpec("width", WIDTHS),
        FieldSpec("depth", DEPTHS),
        FieldSpec("kernel_size", KERNELS),
        FieldSpec("expand_ratio", EXPANDS),
    )

    def known(self, name: str) -> AttentiveNASConfig:
        """A published config by name (``pe_nas``, ``a0``, ``a6``)."""
        if name not in KNOWN:
            raise ValueError(f"name: expected one of {sorted(KNOWN)}, got {name!r}")
        return self.from_dict(KNOWN[name])

    def build(self, arch: AttentiveNASConfig, dataset: str | None = None, resize_input: bool = True,
              **kwargs: Any) -> nn.Module:
        """The stand-alone subnet; it resizes its input to ``arch.resolution`` (bicubic) as
        AttentiveNAS does unless ``resize_input=False``."""
        from ._attentivenas_model import AttentiveNASNet

        self.check_dataset(dataset or self.datasets[0])
        if kwargs:
            raise TypeError(f"build: unexpected arguments {sorted(kwargs)}")
        a = self.validate(arch)
        return AttentiveNASNet(a.resolution, a.width, a.depth, a.kernel_size, a.expand_ratio, STRIDES, SE,
                               self.num_classes(dataset), resize_input=resize_input)

    def flops(self, arch: AttentiveNASConfig, dataset: str | None = None, resolution: int | None = None) -> int:
        """AttentiveNAS ``compute_active_subnet_flops`` x 1e6 (an exact integer), at
        ``arch.resolution`` unless ``resolution`` overrides it (e.g. for a small test input)."""
        a = arch
        size = (resolution or a.resolution) // FIRST_STRIDE
        total = 3 * a.width[0] * 9 * size * size
        c_in = a.width[0]
        for s in range(len(a.depth)):
            c_out = a.width[s + 1]
            for i in range(a.depth[s]):
                mid = make_divisible(round(c_in * a.expand_ratio[s]), 8)
                if a.expand_ratio[s] != 1:
                    total += c_in * mid * size * size
                if i == 0 and STRIDES[s] > 1:
                    size = (size + 1) // 2
                total += mid * a.kernel_size[s] ** 2 * size * size
                total += mid * c_out * size * size
                if SE[s]:
                    total += 2 * mid * make_divisible(mid // 4, 8)
                if c_in != c_out:
                    total += c_in * c_out * size * size
                c_in = c_out
        total += c_in * c_in * HEAD_EXPAND * size * size
        total += c_in * HEAD_EXPAND * a.width[-1]
        total += a.width[-1] * self.num_classes(dataset)
        return total

    def input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        return (3, 224, 224)

    def test_input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        """A small input for quick forward/backward tests (build with ``test_build_kwargs``)."""
        return (3, 32, 32)

    def test_build_kwargs(self) -> dict[str, Any]:
        return {"resize_input": False}

    def num_classes(self, dataset: str | None = None) -> int:
        return 1000


@register_space("attentivenas")
def attentivenas() -> AttentiveNASSpace:
    return AttentiveNASSpace()
