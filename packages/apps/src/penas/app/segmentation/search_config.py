"""The segmentation search's typed config (``penas-app search segmentation``; fields = CLI
options) and the small helpers the CLI needs before any network is built. Imports no torch
(``penas-app config dump search-segmentation`` and the CLI's defaults read it)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

#: Zero-cost proxies of the segmentation vote (they give finite scores on dense outputs).
SEG_PROXIES = ("nwot", "synflow", "zen", "l2_norm")

KIND = "segmentation-search"
ALIAS = "segmentation"
DEFAULT_SEG_SPACE = "topformer_tiny"
FLOPS_RESOLUTION = 512
_UNITS = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_FLOPS_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]?)(?:flops|f)?\s*$", re.IGNORECASE)


def parse_flops(text: str | float | int) -> float:
    """``"0.6G"``, ``"600M"``, ``"6e8"`` (or a number) -> FLOPs; one-line ``ValueError`` otherwise."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        v = float(text)
    else:
        m = _FLOPS_RE.match(str(text))
        if not m:
            raise ValueError(f"--max-flops: expected a positive FLOPs count such as 0.6G, 600M or 6e8, got {text!r}")
        v = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"--max-flops: expected a positive FLOPs count such as 0.6G, 600M or 6e8, got {text!r}")
    return v


@dataclass
class SegSearchConfig:
    """``penas-app search segmentation`` (fields = CLI options)."""

    space: str = DEFAULT_SEG_SPACE  # topformer | topformer_small | topformer_tiny
    strategy: str = "pe-nas-a"  # pe-nas-a | random | rea
    data: str = ""  # ADE20K directory (training: zero-cost batch, BN recalibration; validation: mIoU)
    max_flops: float = 6e8  # analytic FLOPs at 512x512
    checkpoint: str | None = None  # supernet trainer checkpoint (mIoU after BN recalibration)
    seed: int = 0
    out: str | None = None
    rounds: int = 5  # pe-nas-a: alternation rounds
    per_round: int = 500  # pe-nas-a: configs sampled per half-round
    budget: int | None = None  # random / rea: fitness evaluations (100 / 500)
    population: int = 20
    sample_size: int = 5
    proxies: list[str] = field(default_factory=lambda: list(SEG_PROXIES))
    zc_quantile: float = 0.8
    min_votes: int | None = None  # None: majority (len // 2 + 1)
    zc_resolution: int = 256
    zc_batch_size: int = 16
    size: int = 512  # test scale (4*size, size); BN-calibration / fine-tuning crops
    calib_batches: int = 64
    calib_batch_size: int = 4
    eval_images: int | None = None  # mIoU on the first N validation images (None: all)
    finetune_iters: int = 0  # 0 = off (HESS default); else fine-tune the top-k, then mIoU
    finetune_topk: int = 3
    store: str | None = None  # ScoreStore path (default RUN_DIR/scores.sqlite)
    device: str = "cpu"  # cpu | cuda | cuda:N (where networks are scored)
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"kind": KIND, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegSearchConfig:
        d = {k: v for k, v in d.items() if k != "kind"}
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            from ..search.run_dir import RunError  # (run_dir imports configs, which imports this module)

            raise RunError(f"config: unknown segmentation search fields {unknown}")
        return cls(**d)

    def validate(self) -> None:
        """Names and values checked before anything is computed (one-line errors)."""
        from penas.spaces import SPACES

        if self.space not in SPACES or not is_segmentation_space(self.space):
            segs = [n for n in SPACES.names() if is_segmentation_space(n)]
            raise ValueError(f"--seg-space: expected one of {', '.join(segs)}, got {self.space!r}")
        from ..strategies import family_names

        if self.strategy not in family_names("segmentation"):
            raise ValueError(f"--strategy: segmentation search supports {', '.join(family_names('segmentation'))}, "
                             f"got {self.strategy!r}")
        parse_flops(self.max_flops)
        if not self.data:
            raise ValueError("--data: expected an ADE20K directory (images/ and annotations/ with training and "
                             "validation splits)")
        for name in ("rounds", "per_round", "population", "sample_size", "zc_resolution", "zc_batch_size", "size",
                     "calib_batches", "calib_batch_size", "finetune_topk"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"--{name.replace('_', '-')}: expected a positive integer, got {v!r}")
        for name in ("budget", "eval_images"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"--{name.replace('_', '-')}: expected a positive integer, got {v}")
        if self.finetune_iters < 0:
            raise ValueError(f"--finetune-iters: expected 0 (off) or a positive integer, got {self.finetune_iters}")
        if self.finetune_iters and self.checkpoint is None:
            raise ValueError("--finetune-iters: fine-tuning starts from supernet weights; it needs --checkpoint")
        if self.checkpoint is not None and not Path(self.checkpoint).is_file():
            raise ValueError(f"--checkpoint: no file at {self.checkpoint}")
        import torch

        try:
            kind = torch.device(self.device).type
        except (RuntimeError, ValueError):
            kind = ""
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"--device: expected cpu, cuda or cuda:N, got {self.device!r}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"--device: {self.device!r} requested but CUDA is not available")
        from penas.estimators.proxies import list_proxies

        bad = [p for p in self.proxies if p not in list_proxies() or p in ("params", "flops")]
        if bad or not self.proxies:
            raise ValueError(f"--proxies: unknown or space-level proxies {bad}; expected zero-cost proxies such as "
                             f"{','.join(SEG_PROXIES)}")
        if self.min_votes is not None and not 1 <= self.min_votes <= len(self.proxies):
            raise ValueError(f"--min-votes: expected 1..{len(self.proxies)} (the number of --proxies), got "
                             f"{self.min_votes}")
        if not 0.0 <= self.zc_quantile <= 1.0:
            raise ValueError(f"zc_quantile: expected a value in [0, 1], got {self.zc_quantile}")


def is_segmentation_space(name: str) -> bool:
    """Whether ``penas-app search NAME`` is a segmentation search: the alias, or a registered
    space whose space object is a TopFormer (segmentation) space."""
    if name == ALIAS:
        return True
    from penas.spaces import SPACES, get_space
    from penas.spaces.topformer import TopFormerSpace

    return name in SPACES and isinstance(get_space(name), TopFormerSpace)


def is_segmentation_run(run_dir: str | Path) -> bool:
    p = Path(run_dir) / "config.json"
    if not p.is_file():
        return False
    try:
        return json.loads(p.read_text()).get("kind") == KIND
    except ValueError:
        return False
