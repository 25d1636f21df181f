"""Training recipes: one typed dataclass, named presets, field-by-field overrides.

The presets follow the published scripts (see ``/work/shared/spec/pe_nas.md`` §6):

* ``pcdarts-cifar10``  PC-DARTS ``train.py`` (600 epochs, batch 96, SGD 0.025, cosine, cutout 16,
  auxiliary 0.4, drop-path 0.3 ramped ``p*epoch/epochs``, clip 5);
* ``pcdarts-imagenet`` PC-DARTS ``train_imagenet.py`` (250 epochs, batch 1024, SGD 0.5, linear decay
  with a 5-epoch warm-up when batch > 256, label smoothing 0.1, C=48/14 layers);
* ``attentivenas-imagenet`` AttentiveNAS subnet retraining (SGD nesterov, cosine with warm-up,
  label smoothing 0.1, optional EMA). Auto-augment is not available: it needs torchvision, which has no
  build matching the project's CPU torch, so that preset trains with RandomResizedCrop + flip + ColorJitter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields, replace
from typing import Any

SCHEDULES = ("cosine", "linear", "constant")


@dataclass(frozen=True)
class Recipe:
    """Every knob of a retraining run; each field has a 1:1 CLI option (``--batch-size`` etc.)."""

    name: str = "custom"
    epochs: int = 600
    batch_size: int = 96
    lr: float = 0.025
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 3e-4
    schedule: str = "cosine"  # cosine | linear | constant (decay to 0 over the epochs)
    warmup_epochs: int = 0  # linear warm-up from lr/warmup_epochs
    label_smoothing: float = 0.0
    init_channels: int = 36  # DARTS C
    layers: int = 20  # DARTS cells
    auxiliary_weight: float = 0.4  # 0 disables the auxiliary head
    drop_path: float = 0.3  # maximum; ramped linearly p*epoch/epochs
    grad_clip: float = 5.0  # 0 disables clipping
    cutout: int = 16  # 0 disables cutout
    crop: int = 32  # training crop (CIFAR: pad-4 random crop; ImageNet: RandomResizedCrop)
    eval_resize: int = 0  # ImageNet eval: resize short side, then center-crop ``crop`` (0: none)
    color_jitter: float = 0.0  # brightness/contrast/saturation strength (ImageNet)
    ema_decay: float = 0.0  # 0 disables the EMA of weights
    seed: int = 0

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("epochs", self.epochs >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 1, "an integer >= 1"),
            ("lr", self.lr > 0, "a positive float"),
            ("momentum", 0 <= self.momentum < 1, "a float in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, "a float >= 0"),
            ("schedule", self.schedule in SCHEDULES, f"one of {list(SCHEDULES)}"),
            ("warmup_epochs", self.warmup_epochs >= 0, "an integer >= 0"),
            ("label_smoothing", 0 <= self.label_smoothing < 1, "a float in [0, 1)"),
            ("init_channels", self.init_channels >= 1, "an integer >= 1"),
            ("layers", self.layers >= 3, "an integer >= 3"),
            ("auxiliary_weight", self.auxiliary_weight >= 0, "a float >= 0"),
            ("drop_path", 0 <= self.drop_path < 1, "a float in [0, 1)"),
            ("grad_clip", self.grad_clip >= 0, "a float >= 0 (0: off)"),
            ("cutout", self.cutout >= 0, "an integer >= 0 (0: off)"),
            ("crop", self.crop >= 1, "an integer >= 1"),
            ("eval_resize", self.eval_resize >= 0, "an integer >= 0"),
            ("color_jitter", 0 <= self.color_jitter < 1, "a float in [0, 1)"),
            ("ema_decay", 0 <= self.ema_decay < 1, "a float in [0, 1) (0: off)"),
            ("seed", self.seed >= 0, "an integer >= 0"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"{name}: expected {expected}, got {getattr(self, name)!r}")

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A copy with the non-``None`` overrides applied (unknown names are an error)."""
        known = {f.name for f in fields(self)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise ValueError(f"recipe: unknown field(s) {bad}; expected some of {sorted(known)}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def lr_at(self, epoch: int, step: int = 0, steps_per_epoch: int = 1) -> float:
        """Learning rate for ``step`` of ``epoch`` (0-based): warm-up per step, then the schedule per epoch
        (the engine's :func:`penas.supernets.engine.tasks.retrain.recipe_schedule`)."""
        from penas.supernets.engine.tasks.retrain import recipe_schedule

        return recipe_schedule(self).lr(self.lr, epoch * steps_per_epoch + step, epoch, step, steps_per_epoch)

    def drop_path_at(self, epoch: int) -> float:
        """PC-DARTS ramp: ``drop_path * epoch / epochs``."""
        return self.drop_path * epoch / self.epochs


PRESETS: dict[str, Recipe] = {
    "pcdarts-cifar10": Recipe(name="pcdarts-cifar10"),
    "pcdarts-imagenet": Recipe(
        name="pcdarts-imagenet", epochs=250, batch_size=1024, lr=0.5, weight_decay=3e-5, schedule="linear",
        warmup_epochs=5, label_smoothing=0.1, init_channels=48, layers=14, auxiliary_weight=0.4, drop_path=0.0,
        grad_clip=5.0, cutout=0, crop=224, eval_resize=256, color_jitter=0.4,
    ),
    "attentivenas-imagenet": Recipe(
        name="attentivenas-imagenet", epochs=360, batch_size=1024, lr=0.8, nesterov=True, weight_decay=1e-5,
        schedule="cosine", warmup_epochs=5, label_smoothing=0.1, auxiliary_weight=0.0, drop_path=0.0,
        grad_clip=0.0, cutout=0, crop=224, eval_resize=256, color_jitter=0.4, ema_decay=0.0,
    ),
}

DEFAULT_PRESET = {"cifar10": "pcdarts-cifar10", "cifar100": "pcdarts-cifar10", "imagenet": "pcdarts-imagenet"}


def get_recipe(name: str) -> Recipe:
    if name not in PRESETS:
        raise ValueError(f"--preset: expected one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]


def warmup_for_batch(recipe: Recipe) -> Recipe:
    """PC-DARTS ImageNet warms up 5 epochs only when batch > 256."""
    if recipe.name == "pcdarts-imagenet" and recipe.batch_size <= 256 and recipe.warmup_epochs:
        return replace(recipe, warmup_epochs=0)
    return recipe
