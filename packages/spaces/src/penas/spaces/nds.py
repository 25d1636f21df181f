"""NDS CIFAR design spaces ``nds_resnet`` and ``nds_resnexta`` (Radosavovic et al. 2019, as used
by the aw_nas study; pycls AnyNet, see :mod:`._nds_model`).

An arch is :class:`NDSResNetConfig` (``depths``, ``widths``: 3 stages) or
:class:`NDSResNeXtConfig` (+ ``bot_muls``, ``num_groups``), the fields of the aw_nas
``germ_nds`` genotype. The canonical id is the sorted compact JSON of those fields; ``parse``
also takes the aw_nas genotype string ``OrderedDict([('depths.0', 1), ...])``.
:meth:`NDSSpace.from_nds_record` converts an NDS json record (``rec['net']['ds'|'ws'|'bot_muls'|
'num_gs']``; 4-entry lists are read from index 1 as aw_nas does, 3-entry lists as they are) and
:func:`import_nds_json` merges an NDS json file into the GT store.

``flops``/``params`` follow pycls ``complexity`` (the NDS json convention): conv
multiply-accumulates plus the classifier's bias adds; params include BN scale and shift.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._channels import bottleneck_width
from ._registry import register_space
from .base import ArchParseError
from .config_space import ConfigSpace, FieldSpec

if TYPE_CHECKING:
    from pathlib import Path

    import torch.nn as nn

    from .benchmarks.table import BenchmarkTable


@dataclass(frozen=True)
class NDSResNetConfig:
    depths: tuple[int, ...]
    widths: tuple[int, ...]


@dataclass(frozen=True)
class NDSResNeXtConfig:
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    bot_muls: tuple[float, ...]
    num_groups: tuple[int, ...]


STRIDES = (1, 2, 2)
STEM_W = 16
N_STAGES = 3
_NDS_KEYS = {"depths": "ds", "widths": "ws", "bot_muls": "bot_muls", "num_groups": "num_gs"}
_ORDERED_RE = re.compile(r"^OrderedDict\((.*)\)$", re.S)
_GENO_KEY_RE = re.compile(r"^([a-z_]+)\.(\d+)$")


class NDSSpace(ConfigSpace[Any]):
    """Shared parts of the two NDS spaces (CIFAR-10, 10 classes, 32x32 inputs)."""

    datasets = ("cifar10",)
    bottleneck: bool = False

    # --- alternative id forms -------------------------------------------------------------
    def _parse_alternative(self, text: str) -> Mapping[str, Any] | None:
        m = _ORDERED_RE.match(text)
        if m is None:
            return None
        try:
            pairs = ast.literal_eval(m.group(1))
            items = dict(pairs)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ArchParseError(f"genotype: not an OrderedDict of (key, value) pairs: {text[:80]!r}") from None
        out: dict[str, list[Any]] = {}
        for k, v in items.items():
            km = _GENO_KEY_RE.match(str(k))
            if km is None:
                raise ArchParseError(f"genotype: key {k!r} is not of the form 'field.index'")
            out.setdefault(km.group(1), []).append((int(km.group(2)), v))
        return {f: [v for _i, v in sorted(vals)] for f, vals in out.items()}

    def to_genotype(self, arch: Any) -> str:
        """The aw_nas ``germ_nds`` genotype string of ``arch``."""
        d = self.to_dict(arch)
        pairs = [(f"{f.name}.{i}", d[f.name][i]) for f in self.fields for i in range(N_STAGES)]
        return f"OrderedDict({pairs!r})"

    def from_nds_record(self, rec: Mapping[str, Any]) -> Any:
        """Arch of an NDS json record (or of its ``net`` dict)."""
        net = rec.get("net", rec) if isinstance(rec, Mapping) else rec
        if not isinstance(net, Mapping):
            raise ArchParseError(f"record: expected a dict with a 'net' dict, got {type(rec).__name__}")
        if "stem_w" in net and net["stem_w"] != STEM_W:
            raise ArchParseError(f"net.stem_w: expected {STEM_W}, got {net['stem_w']!r}")
        want = "res_bottleneck_block" if self.bottleneck else "res_basic_block"
        if "block_type" in net and net["block_type"] != want:
            raise ArchParseError(f"net.block_type: expected {want!r} for {self.name!r}, got {net['block_type']!r}")
        if "ss" in net and tuple(self._stages("ss", net["ss"])) != STRIDES:
            raise ArchParseError(f"net.ss: expected stage strides {list(STRIDES)}, got {net['ss']!r}")
        d = {f.name: self._stages(_NDS_KEYS[f.name], net.get(_NDS_KEYS[f.name])) for f in self.fields}
        return self.from_dict(d)

    @staticmethod
    def _stages(key: str, v: Any) -> list[Any]:
        if isinstance(v, str | bytes) or not isinstance(v, Sequence) or len(v) not in (N_STAGES, N_STAGES + 1):
            raise ArchParseError(f"net.{key}: expected a list of {N_STAGES} (or {N_STAGES + 1}, stem first) "
                                 f"values, got {v!r}")
        return list(v[-N_STAGES:])

    # --- models and costs -------------------------------------------------------------------
    def build(self, arch: Any, dataset: str | None = None, **kwargs: Any) -> nn.Module:
        from ._nds_model import AnyNetCifar

        self.check_dataset(dataset or self.datasets[0])
        if kwargs:
            raise TypeError(f"build: unexpected arguments {sorted(kwargs)}")
        a = self.validate(arch)
        return AnyNetCifar(a.depths, a.widths, STRIDES, getattr(a, "bot_muls", None),
                           getattr(a, "num_groups", None), STEM_W, self.num_classes(dataset))

    def _cost(self, arch: Any) -> tuple[int, int]:
        """(flops, params) per pycls ``complexity`` at 32x32."""
        hw = self.input_shape()[1]
        flops = 27 * STEM_W * hw * hw
        params = 27 * STEM_W + 2 * STEM_W
        w_in = STEM_W
        for s in range(N_STAGES):
            w = arch.widths[s]
            for i in range(arch.depths[s]):
                stride = STRIDES[s] if i == 0 else 1
                hw_in, hw = hw, (hw - 1) // stride + 1
                if w_in != w or stride != 1:
                    flops += w_in * w * hw * hw
                    params += w_in * w + 2 * w
                if self.bottleneck:
                    wb, g = bottleneck_width(w, arch.bot_muls[s]), arch.num_groups[s]
                    flops += w_in * wb * hw_in * hw_in + 9 * wb * wb // g * hw * hw + wb * w * hw * hw
                    params += w_in * wb + 9 * wb * wb // g + wb * w + 4 * wb + 2 * w
                else:
                    flops += 9 * w_in * w * hw * hw + 9 * w * w * hw * hw
                    params += 9 * w_in * w + 9 * w * w + 4 * w
                w_in = w
        nc = self.num_classes()
        return flops + w_in * nc + nc, params + w_in * nc + nc

    def flops(self, arch: Any, dataset: str | None = None) -> int:
        return self._cost(arch)[0]

    def params(self, arch: Any, dataset: str | None = None) -> int:
        return self._cost(arch)[1]

    def input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        return (3, 32, 32)

    def test_input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        return (3, 16, 16)

    def num_classes(self, dataset: str | None = None) -> int:
        return 10


class NDSResNetSpace(NDSSpace):
    name = "nds_resnet"
    arch_type = NDSResNetConfig
    fields = (
        FieldSpec("depths", ((1, 2, 3, 4, 6, 8, 12, 16, 24),) * N_STAGES),
        FieldSpec("widths", ((16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256),) * N_STAGES),
    )


class NDSResNeXtASpace(NDSSpace):
    name = "nds_resnexta"
    arch_type = NDSResNeXtConfig
    bottleneck = True
    fields = (
        FieldSpec("depths", ((1, 2, 4, 8, 16),) * N_STAGES),
        FieldSpec("widths", ((16, 32, 64, 128, 256),) * N_STAGES),
        FieldSpec("bot_muls", ((0.25, 0.5, 1.0),) * N_STAGES),
        FieldSpec("num_groups", ((1, 2, 4),) * N_STAGES),
    )


def nds_table(path: str | os.PathLike[str], space: NDSSpace, dataset: str = "cifar10") -> BenchmarkTable:
    """An NDS json file (``ResNet.json``, ``ResNeXt-A.json``, ...) as a GT table of ``space``,
    keyed by canonical ids: ``test_acc`` = 100 - ``min_test_top1`` (mean over duplicate
    records), ``params``/``flops`` as recorded, ``test_acc_curve`` when present."""
    from .benchmarks.nds_import import import_nds

    return import_nds(path, space.name, config_to_id=lambda net: space.format(space.from_nds_record(net)),
                      dataset=dataset)


def import_nds_json(path: str | os.PathLike[str], space: NDSSpace, root: str | os.PathLike[str] | None = None,
                    replace: bool = False) -> Path:
    """Merge an NDS json file into the GT store of ``space`` (under the data root ``root``)."""
    from .benchmarks.store import import_table

    return import_table(nds_table(path, space), root, replace=replace)


@register_space("nds_resnet")
def nds_resnet() -> NDSResNetSpace:
    return NDSResNetSpace()


@register_space("nds_resnexta")
def nds_resnexta() -> NDSResNeXtASpace:
    return NDSResNeXtASpace()
