"""``study.yaml``: the typed config of ``penas-app study SPACE --config study.yaml``.

Every section is a dataclass; :func:`load_study_config` checks the YAML against the field types
and rejects unknown keys and bad values with one line naming the key path, e.g.
``study.yaml: zero_shot.seeds: expected a list of ints, got 'x'``. Nothing here imports torch.

Sections (``penas-app config dump study`` prints every default)::

    space: nb201
    archs: sample:300          # all | deiso | sample:N | FILE (one arch id per line)
    archs_seed: 0              # seed of sample:N
    store: study/scores.db     # SQLite score store (everything in it is reused)
    out: study/report          # report directory
    gt: {metric: auto, dataset: null}
    supernet:                  # train (resumable, skipped when its checkpoints exist) ...
      preset: pe_nas
      out: study/supernet
      save_every: 1            # epochs between kept checkpoints (the checkpoint axis)
      overrides: {epochs: 2}   # TrainConfig fields of the preset
      ...                      # ... or give existing checkpoints: [a.pt, b.pt] (no training)
    one_shot: {enabled: true, bn_mode: train, metric: acc, batch_size: 64, n_batches: 4, per_batch: true}
    zero_shot: {proxies: [nwot, synflow], seeds: [20, 2020, 202020], batches: [1], batch_size: 16, data: auto}
    executor: local            # local | process:N | ray | gpus | gpus:0,2
    criteria: {ratios: [0.01, 0.05, 0.1, 0.5, 1.0], ks: [5, 10]}
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Union

TRAIN_OVERRIDES = ("epochs", "batch_size", "lr", "sampler", "seed")


@dataclass
class GTSection:
    metric: str = "auto"  # auto = test_acc where the table has it, else valid_acc
    dataset: str | None = None  # default: the space's first dataset


@dataclass
class SupernetSection:
    enabled: bool = True  # false: no supernet, no one-shot estimator
    checkpoints: list[str] = field(default_factory=list)  # existing checkpoints: no training
    preset: str = "pe_nas"  # penas.supernets.trainer preset
    out: str = ""  # checkpoint directory (default: <out>/supernet)
    overrides: dict[str, Any] = field(default_factory=dict)  # epochs | batch_size | lr | sampler | seed
    save_every: int = 1  # keep epochNNNN.pt every E epochs (the checkpoint axis of the report)
    max_steps: int | None = None
    data: str = "auto"  # data-layer spec: auto (real CIFAR-10 when present) | synthetic[:N] | png-aug[:N] | cifar10[:DIR]
    channels: int | None = None
    cells: int | None = None
    device: str = "cpu"  # cpu | cuda | cuda:K (single-process training; torchrun: see the study's command)


@dataclass
class OneShotSection:
    enabled: bool = True
    bn_mode: str = "train"  # train | recalibrate | no_track
    metric: str = "acc"  # acc | loss
    batch_size: int = 64
    n_batches: int | None = None  # held-out batches per arch (None: all)
    holdout: float = 0.2
    per_batch: bool = True  # per-batch variance section + per_batch_*.csv
    data: str | None = None  # default: supernet.data (the held-out tail of the training data)


@dataclass
class ZeroShotSection:
    enabled: bool = True
    proxies: list[str] = field(default_factory=lambda: ["nwot", "synflow"])
    seeds: list[int] = field(default_factory=lambda: [20, 2020, 202020])
    batches: list[int] = field(default_factory=lambda: [1])
    batch_size: int = 16
    data: str = "auto"  # auto (real CIFAR-10 when present, else png-aug, else synthetic) | png | synthetic | cifar10[:DIR]
    chunk: int = 16


@dataclass
class CriteriaSection:
    ratios: list[float] = field(default_factory=lambda: [0.01, 0.05, 0.1, 0.2, 0.5, 1.0])
    ks: list[int] = field(default_factory=lambda: [5, 10])


EXECUTORS = "local | process:N (N >= 1) | ray | gpus | gpus:I,J,.. (CUDA indexes)"


def parse_executor(spec: str, where: str = "study.yaml") -> tuple[str, list[int] | None]:
    """``executor:`` -> ``(kind, arg)``: ``("local", None)``, ``("process", [N])``, ``("ray", None)``,
    ``("gpus", None)`` (every visible CUDA device) or ``("gpus", [i, j])``. Syntax only; whether
    the GPUs exist is checked when the executor is made."""
    err = ValueError(f"{where}: executor: expected {EXECUTORS}, got {spec!r}")
    if not isinstance(spec, str):
        raise err
    kind, sep, arg = spec.partition(":")
    if kind in ("local", "ray", "gpus") and not sep:
        return kind, None
    parts = arg.split(",")
    if not sep or not all(p.isdigit() for p in parts):
        raise err
    nums = [int(p) for p in parts]
    if kind == "process" and len(nums) == 1 and nums[0] >= 1:
        return kind, nums
    if kind == "gpus":
        if len(set(nums)) != len(nums):
            raise ValueError(f"{where}: executor: {spec}: a CUDA index is listed twice")
        return kind, nums
    raise err


def make_executor(spec: str, where: str = "study.yaml") -> Any:
    """``local`` -> None (in-process stages); ``process:N`` / ``ray`` -> a penas executor;
    ``gpus`` / ``gpus:0,2`` -> one spawned worker per CUDA device (all visible ones / those)."""
    from penas.estimators.executors import LocalExecutor, RayExecutor, gpu_devices

    kind, arg = parse_executor(spec, where)
    if kind == "local":
        return None
    if kind == "process":
        return LocalExecutor(workers=arg[0])
    if kind == "gpus":
        try:
            return LocalExecutor(devices=gpu_devices(arg))
        except ValueError as e:
            raise ValueError(f"{where}: executor: {spec}: {e}; use local or process:N") from None
    try:
        return RayExecutor()
    except ImportError:
        raise ValueError(f"{where}: executor: ray needs ray: pip install 'penas-estimators[ray]'") from None


@dataclass
class StudyConfig:
    """``penas-app study``."""

    space: str = "nb201"
    archs: str = "sample:300"
    archs_seed: int = 0
    store: str = ""  # default: <out>/scores.db
    out: str = "study"
    gt: GTSection = field(default_factory=GTSection)
    supernet: SupernetSection = field(default_factory=SupernetSection)
    one_shot: OneShotSection = field(default_factory=OneShotSection)
    zero_shot: ZeroShotSection = field(default_factory=ZeroShotSection)
    executor: str = "local"  # local | process:N | ray | gpus | gpus:0,2
    criteria: CriteriaSection = field(default_factory=CriteriaSection)
    bias: bool = False  # also run `analyze bias` on the store into <out>/bias
    plots: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def store_path(self) -> str:
        return self.store or str(Path(self.out) / "scores.db")

    @property
    def supernet_dir(self) -> str:
        return self.supernet.out or str(Path(self.out) / "supernet")

    def validate(self, where: str = "study.yaml") -> StudyConfig:
        """Value checks beyond the types; one-line errors naming the key path."""

        def bad(path: str, expected: str, got: Any) -> ValueError:
            return ValueError(f"{where}: {path}: expected {expected}, got {got!r}")

        if not self.out:
            raise bad("out", "an output directory", self.out)
        a = self.archs
        if not (a in ("all", "deiso") or a.startswith("sample:") or a):
            raise bad("archs", "all | deiso | sample:N | FILE", a)
        if a.startswith("sample:"):
            n = a.split(":", 1)[1]
            if not n.isdigit() or int(n) < 1:
                raise bad("archs", "sample:N with N >= 1", a)
        parse_executor(self.executor, where)
        sn, os_, zs, cr = self.supernet, self.one_shot, self.zero_shot, self.criteria
        unknown = sorted(set(sn.overrides) - set(TRAIN_OVERRIDES))
        if unknown:
            raise bad("supernet.overrides", f"keys among {', '.join(TRAIN_OVERRIDES)}", unknown)
        if sn.save_every < 0:
            raise bad("supernet.save_every", "a non-negative int", sn.save_every)
        if os_.bn_mode not in ("train", "recalibrate", "no_track"):
            raise bad("one_shot.bn_mode", "train | recalibrate | no_track", os_.bn_mode)
        if os_.metric not in ("acc", "loss"):
            raise bad("one_shot.metric", "acc | loss", os_.metric)
        for path, v in (("one_shot.batch_size", os_.batch_size), ("zero_shot.batch_size", zs.batch_size),
                        ("zero_shot.chunk", zs.chunk), ("one_shot.n_batches", os_.n_batches or 1)):
            if v < 1:
                raise bad(path, "a positive int", v)
        if not 0.0 < os_.holdout < 1.0:
            raise bad("one_shot.holdout", "a float in (0, 1)", os_.holdout)
        if zs.enabled and not zs.proxies:
            raise bad("zero_shot.proxies", "a non-empty list of proxy names", zs.proxies)
        if zs.enabled and not zs.seeds:
            raise bad("zero_shot.seeds", "a non-empty list of ints", zs.seeds)
        if zs.enabled and (not zs.batches or min(zs.batches) < 1):
            raise bad("zero_shot.batches", "a non-empty list of positive ints", zs.batches)
        for i, r in enumerate(cr.ratios):
            if not 0.0 < r <= 1.0:
                raise bad(f"criteria.ratios[{i}]", "a float in (0, 1]", r)
        for i, k in enumerate(cr.ks):
            if k < 1:
                raise bad(f"criteria.ks[{i}]", "a positive int", k)
        if not (zs.enabled or (sn.enabled and os_.enabled)):
            raise bad("zero_shot.enabled", "at least one of zero_shot / one_shot enabled", False)
        return self


_TYPE_WORDS = {str: "a string", int: "an int", float: "a float", bool: "a bool"}


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(_describe(a) for a in args) + " or null"
    if origin is list:
        (inner,) = typing.get_args(tp)
        return f"a list of {inner.__name__}s"
    if origin is dict:
        return "a mapping"
    if is_dataclass(tp):
        return "a mapping"
    return _TYPE_WORDS.get(tp, str(tp))


def _coerce(value: Any, tp: Any, path: str, where: str) -> Any:
    """``value`` checked against the annotation ``tp`` (ints are accepted as floats)."""

    def fail() -> ValueError:
        return ValueError(f"{where}: {path}: expected {_describe(tp)}, got {value!r}")

    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        for a in typing.get_args(tp):
            if a is type(None):
                continue
            try:
                return _coerce(value, a, path, where)
            except ValueError:
                pass
        raise fail()
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise fail()
        try:
            return [_coerce(v, inner, f"{path}[{i}]", where) for i, v in enumerate(value)]
        except ValueError:
            raise fail() from None
    if origin is dict:
        if not isinstance(value, dict):
            raise fail()
        return dict(value)
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise fail()
        return _from_dict(tp, value, path + ".", where)
    if tp is bool:
        if not isinstance(value, bool):
            raise fail()
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail()
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail()
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise fail()
        return value
    raise fail()  # pragma: no cover - an annotation this loader does not know


def _from_dict(cls: type, data: dict[str, Any], prefix: str, where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    for k in data:
        if k not in names:
            raise ValueError(f"{where}: {prefix}{k}: unknown key; expected one of: {', '.join(names)}")
    kw = {}
    for f in fields(cls):
        if f.name in data:
            kw[f.name] = _coerce(data[f.name], hints[f.name], prefix + f.name, where)
        elif f.default is MISSING and f.default_factory is MISSING:  # pragma: no cover - all have defaults
            raise ValueError(f"{where}: {prefix}{f.name}: required key missing")
    return cls(**kw)


def study_config_from_dict(data: dict[str, Any], where: str = "study.yaml") -> StudyConfig:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    return _from_dict(StudyConfig, data, "", where).validate(where)


def load_study_config(path: str | Path, overrides: dict[str, Any] | None = None,
                      space: str | None = None) -> StudyConfig:
    """Read ``path`` (YAML), apply dotted ``overrides`` (``{"zero_shot.seeds": [1]}``), check it.
    ``space`` (the command's SPACE argument) must agree with the file's ``space:`` when it has one."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--config: no file at {str(p)!r}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"--config: {p.name} is not a UTF-8 text (YAML) file") from None
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{p.name}: not valid YAML ({first})") from None
    if data is None:  # an empty file is a mistake, never "the default study"
        raise ValueError(f"--config: {p.name} is empty; expected a study mapping (penas-app config dump study)")
    if not isinstance(data, dict):
        raise ValueError(f"{p.name}: expected a mapping at the top level, got {type(data).__name__}")
    if space is not None:
        if "space" in data and data["space"] != space:
            raise ValueError(f"{p.name}: space: {data['space']!r} differs from the SPACE argument {space!r}")
        data["space"] = space
    for key, value in (overrides or {}).items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set: {key}: {part} is not a section")
        node[parts[-1]] = value
    return study_config_from_dict(data, p.name)


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["zero_shot.seeds=[1,2]", "archs=sample:50"]`` -> dotted overrides (values parsed as YAML)."""
    import yaml

    out: dict[str, Any] = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep or not k.strip():
            raise ValueError(f"--set: expected KEY.PATH=VALUE, got {it!r}")
        try:
            out[k.strip()] = yaml.safe_load(v)
        except yaml.YAMLError:
            raise ValueError(f"--set: {k.strip()}: value {v!r} is not valid YAML") from None
    return out
