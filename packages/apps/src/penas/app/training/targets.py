"""What is retrained: one :class:`RetrainTarget` per search space (registered by space name),
so the command and the trainer never branch on the space."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch.nn as nn

from .._registry import RETRAIN_TARGETS
from .recipes import Recipe

TARGETS = RETRAIN_TARGETS  # space name -> RetrainTarget class


def register_target(cls: type[RetrainTarget]) -> type[RetrainTarget]:
    return RETRAIN_TARGETS.register(cls.space_name)(cls)


def get_target(space: str, arch_text: str, dataset: str, recipe: Recipe) -> RetrainTarget:
    if space not in TARGETS:
        raise ValueError(f"space: expected one of {sorted(TARGETS)}, got {space!r}")
    return TARGETS[space](arch_text, dataset, recipe)


def count_params(model: nn.Module, exclude_prefix: str = "auxiliary_head") -> int:
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith(exclude_prefix))


@dataclass
class RetrainTarget:
    """A parsed (validated) arch of one space, and how to build / size it for a dataset."""

    space_name: ClassVar[str] = ""
    datasets: ClassVar[tuple[str, ...]] = ()

    arch_text: str
    dataset: str
    recipe: Recipe

    def __post_init__(self) -> None:
        if self.dataset not in self.datasets:
            raise ValueError(f"--dataset: expected one of {list(self.datasets)} for {self.space_name}, "
                             f"got {self.dataset!r}")
        from penas.spaces import get_space

        self.space = get_space(self.space_name, **self._space_kwargs())
        self.arch = self.space.parse(self.arch_text)  # ArchParseError (a ValueError): one line
        self.arch_id = self.space.format(self.arch)

    def _space_kwargs(self) -> dict[str, Any]:
        return {}

    def build(self) -> nn.Module:
        raise NotImplementedError

    def params(self, model: nn.Module) -> int:
        return count_params(model)

    def flops(self) -> int:
        return int(self.space.flops(self.arch, self.dataset))

    def meta(self, model: nn.Module) -> dict[str, Any]:
        return {"space": self.space_name, "arch": self.arch_id, "dataset": self.dataset,
                "params": self.params(model), "flops": self.flops()}


@register_target
@dataclass
class DartsTarget(RetrainTarget):
    """DARTS ``NetworkCIFAR`` / ``NetworkImageNet`` with the recipe's C, layers, auxiliary head."""

    space_name: ClassVar[str] = "darts"
    datasets: ClassVar[tuple[str, ...]] = ("cifar10", "cifar100", "imagenet")

    def _space_kwargs(self) -> dict[str, Any]:
        return {"C": self.recipe.init_channels, "layers": self.recipe.layers}

    def build(self) -> nn.Module:
        r = self.recipe
        return self.space.build(self.arch, self.dataset, C=r.init_channels, layers=r.layers,
                                auxiliary=r.auxiliary_weight > 0, drop_path_prob=0.0)


@register_target
@dataclass
class AttentiveNASTarget(RetrainTarget):
    """A stand-alone AttentiveNAS subnet (ImageNet); FLOPs at the config's resolution."""

    space_name: ClassVar[str] = "attentivenas"
    datasets: ClassVar[tuple[str, ...]] = ("imagenet",)

    def build(self) -> nn.Module:
        return self.space.build(self.arch, self.dataset)


def arch_from_run(run_dir: str | Path) -> tuple[str | None, str]:
    """``(space, arch text)`` chosen by a search run directory.

    Accepted, in order: ``result.json`` written by ``penas-app search`` (keys ``space``, ``chosen``);
    ``chosen.json`` / ``summary.json`` with ``arch`` (or ``chosen``) and optionally ``space``;
    ``chosen_arch.txt`` holding the arch text.
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"--from-run: {d} is not a directory")
    for name in ("result.json", "chosen.json", "summary.json"):
        f = d / name
        if f.is_file():
            try:
                obj = json.loads(f.read_text())
            except json.JSONDecodeError as e:
                raise ValueError(f"--from-run: {f} is not valid JSON ({e.msg})") from None
            arch = obj.get("chosen", obj.get("arch")) if isinstance(obj, dict) else None
            if arch is not None:
                text = arch if isinstance(arch, str) else json.dumps(arch)
                return obj.get("space"), text
    f = d / "chosen_arch.txt"
    if f.is_file():
        return None, f.read_text().strip()
    raise FileNotFoundError(f"--from-run: {d} has no result.json/chosen.json/summary.json with key "
                            "'chosen' or 'arch', and no chosen_arch.txt")
