"""``penas-app segmentation show``: FLOPs and parameters of a TopFormer config.

FLOPs are the analytic ``mmcv_syncbn`` count of :meth:`TopFormerSpace.flops` (what HESS'
``get_model_complexity_info`` measures) at ``size`` x ``size`` (default 512); the PE-NAS seed
configs give 1.79 / 1.18 / 0.58 G in their spaces (``SEED_CONFIGS``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .evaluate import load_config, resolve_space


@dataclass
class SegShowConfig:
    """``penas-app segmentation show``."""

    config: str = ""  # JSON file (or inline JSON) of the TopFormer config
    space: str = "topformer"  # topformer | topformer_small | topformer_tiny
    size: int = 512  # input resolution of the FLOPs count

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SegShowResult:
    space: str
    config_id: str
    size: int
    flops: int
    params: int
    seed_name: str | None  # the seed config this is, if any
    published_gflops: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_show(cfg: SegShowConfig) -> SegShowResult:
    from penas.spaces.topformer import SEED_CONFIGS

    if cfg.size < 32:
        raise ValueError(f"--size: expected a resolution of at least 32, got {cfg.size}")
    space = resolve_space(cfg.space)
    arch = load_config(cfg.config, space)
    seed_name, published = None, None
    for name, (d, sp_name, gflops) in SEED_CONFIGS.items():
        if sp_name == space.name and space.from_dict(d) == arch:
            seed_name, published = name, gflops
    return SegShowResult(space.name, space.format(arch), cfg.size, space.flops(arch, resolution=cfg.size),
                         space.params(arch), seed_name, published)
