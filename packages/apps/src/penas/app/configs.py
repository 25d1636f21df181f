"""Typed configs of the ``penas-app`` commands. Each field maps 1:1 to a CLI option of the
same name (underscores become dashes); ``penas-app config dump [COMMAND]`` prints the
defaults as YAML. Nothing here touches the disk or imports torch.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any

# Named presets: field overrides applied before explicit CLI options.
SEARCH_PRESETS: dict[str, dict[str, Any]] = {
    # `make search`: a complete PE-NAS-A search that needs no download and runs in minutes on
    # 2 CPU cores: zero-cost vote on a 64-arch sample (batch of 16: real CIFAR-10 under PENAS_DATA
    # when present, else the 20 shared PNGs, else synthetic), no one-shot supernet, tabular partial training.
    "demo": {
        "strategy": "pe-nas-a",
        "candidates": "sample:64",
        "zc_batch_size": 16,
        "one_shot": "none",
        "partial": "tabular",
    },
}


@dataclass
class SearchConfig:
    """``penas-app search``."""

    space: str = "nb201"
    strategy: str = "pe-nas-a"  # random | rea | rea-seed | pe-nas | pe-nas-a | pe-nas-b | pe-nas-c
    budget: int | None = None  # random/REA: fitness evaluations (default 100/500); PE-NAS: max archs trained
    seed: int = 0
    out: str | None = None  # run directory (default runs/<space>-<strategy>-s<seed>)
    preset: str | None = None  # demo
    candidates: str = "auto"  # auto | all | benchmark | sample:N
    proxies: list[str] = field(default_factory=lambda: ["l2_norm", "nwot", "zen"])
    zc_protocol: str = "zero-cost-nas"
    zc_batch_size: int = 64
    zc_data: str = "auto"  # data-layer spec: auto (real CIFAR-10 when present, else PNGs, else synthetic) | cifar10[:DIR] | png | synthetic
    one_shot: str = "one_shot"  # estimator of the one-shot stage, or none
    partial: str = "tabular"  # partial-training stages: tabular | train | none
    partial_data: str = "auto"  # train mode, data-layer spec: auto (real CIFAR-10 when present) | synthetic | png | cifar10[:DIR]
    partial_images: int | None = None  # train mode, NB201 LESS protocol: training images per epoch (None: all 25,000)
    partial_width: int | None = None  # train mode: stand-alone width C (None: the space's; NB201 C=16)
    partial_eval_images: int | None = None  # train mode, NB201 LESS protocol: validation images (None: all 25,000)
    partial_device: str = "cpu"  # train mode: where each arch trains: cpu | cuda | cuda:N
    fitness: str = "oracle"  # random/REA fitness estimator (oracle = GT lookup, or any registered one)
    population: int = 20
    sample_size: int = 5
    gt_metric: str = "auto"  # auto = test_acc, else valid_acc (NB301 sample table)
    gt_dataset: str | None = None
    gt_source: str = "auto"  # table | surrogate | auto (the space's surrogate when its files are present, e.g. NB301)
    supernet: str | None = None  # one-shot stage: trained supernet checkpoint (none given: the stage is skipped)
    runtime_budget: float | None = None  # random/REA: stop when the charged training runtime (s) reaches this
    max_latency: list[str] = field(default_factory=list)  # DEVICE=MS, repeatable
    max_flops: float | None = None
    max_params: float | None = None
    store: str | None = None  # SQLite score store shared across runs
    score_file: list[str] = field(default_factory=list)  # NAME=PATH (CSV or penas:<table>[:<column>]; NAME: proxy or role)
    chunk: int = 25
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SearchConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"config: unknown search fields {unknown}")
        return cls(**d)

    def with_preset(self) -> SearchConfig:
        """The preset's fields applied over this config (the CLI lets explicit options win)."""
        if self.preset is None:
            return self
        if self.preset not in SEARCH_PRESETS:
            raise ValueError(f"--preset: expected one of {', '.join(SEARCH_PRESETS)}, got {self.preset!r}")
        return replace(self, **SEARCH_PRESETS[self.preset])


@dataclass
class EvaluateConfig:
    """``penas-app evaluate``."""

    space: str = "nb201"
    estimators: list[str] = field(default_factory=lambda: ["synflow"])
    archs: str = "sample:100"  # all | sample:N | FILE (one arch id per line)
    seed: int = 0
    out: str | None = None
    from_store: str | None = None  # read scores from this store only (no recomputation)
    store: str | None = None  # write computed scores here (and reuse them)
    score_file: list[str] = field(default_factory=list)  # NAME=PATH
    gt_metric: str = "auto"
    gt_dataset: str | None = None
    zc_protocol: str = "zero-cost-nas"
    zc_batch_size: int = 64
    zc_data: str = "auto"
    zc_seed: int | None = None  # zero-cost init seed (default: the protocol's); selects stored zero-shot rows
    zc_batches: int | None = None  # zero-cost batches averaged (default: the protocol's)
    executor: str = "local"  # local | process:N | ray | gpus | gpus:I,J (computed scores only)
    plots: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PlotConfig:
    """``penas-app plot kdt-vs-mkr``."""

    results_dir: str = ""
    out: str | None = None  # PNG path (default RESULTS_DIR/kdt_vs_mkr.png)
    search_budget: int = 1000  # REA steps of the per-estimator search
    search_runs: int = 5
    seed: int = 0


def defaults(cls: type) -> dict[str, Any]:
    """Every field's default; nested config sections (dataclasses) become plain dicts."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:  # type: ignore[misc]
            out[f.name] = f.default_factory()  # type: ignore[misc]
        if is_dataclass(out.get(f.name)) and not isinstance(out[f.name], type):
            out[f.name] = asdict(out[f.name])
    return out


def parse_pairs(items: list[str], option: str) -> dict[str, str]:
    """``["a=x", "b=y"]`` -> ``{"a": "x", "b": "y"}``; one-line error naming ``option``."""
    out: dict[str, str] = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep or not k.strip() or not v.strip():
            raise ValueError(f"{option}: expected NAME=VALUE, got {it!r}")
        out[k.strip()] = v.strip()
    return out


def zc_cfg(protocol: str, batch_size: int, data: str) -> dict[str, Any]:
    return {"protocol": protocol, "batch_size": batch_size, "data": None if data == "auto" else data}


def takes_zero_cost_options(name: str) -> bool:
    """Whether the registered estimator ``name`` is a zero-cost proxy taking protocol/batch/data
    options (``params``/``flops`` are space-level counts and take none)."""
    import inspect

    from penas.estimators import ESTIMATORS
    from penas.estimators.proxies import list_proxies

    if name not in ESTIMATORS or name not in list_proxies():
        return False
    params = inspect.signature(ESTIMATORS.get(name)).parameters
    return "protocol" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
