"""The DARTS / NAS-Bench-301 cell search space (``darts``).

Arch: :class:`Genotype` (frozen) with ``normal``, ``normal_concat``, ``reduce``,
``reduce_concat``. The canonical id is the DARTS text form with one fixed formatting and the
two ``(op, input)`` pairs of every node sorted by ``(input, op index)``; see the package
README (``README_darts_nb101.md``) for the rules, the forward contract and the counting
conventions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._darts_genotype import (
    CELLS,
    DEFAULT_CONCAT,
    NASLIB_OPS,
    PAIRS,
    PRIMITIVES,
    SEARCH_OPS,
    STEPS,
    Genotype,
    Pair,
    canonicalize,
    format_genotype,
    format_naslib_compact,
    parse_genotype,
    to_naslib_compact,
    validate,
)
from ._darts_nb301 import config_to_genotype as nb301_config_to_genotype
from ._darts_nb301 import genotype_to_config as genotype_to_nb301_config
from ._registry import register_space
from .base import ArchParseError, Space

if TYPE_CHECKING:
    import torch.nn as nn

__all__ = [
    "DARTS_V1",
    "DARTS_V2",
    "PC_DARTS_CIFAR",
    "PC_DARTS_IMAGENET",
    "PE_NAS_SEED",
    "DartsSpace",
    "Genotype",
    "NASLIB_OPS",
    "PRIMITIVES",
    "SEARCH_OPS",
    "format_genotype",
    "format_naslib_compact",
    "genotype_to_nb301_config",
    "nb301_config_to_genotype",
    "load_nb301_naslib_keys",
    "naslib_key_to_id",
    "parse_genotype",
    "to_naslib_compact",
]

# Published genotypes, verbatim from quark0/darts cnn/genotypes.py and yuhuixu1993/PC-DARTS
# genotypes.py; the PE-NAS seed from its README (retrain commands).
DARTS_V1 = (
    "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), "
    "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])"
)
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
PC_DARTS_CIFAR = (
    "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), "
    "('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), "
    "reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))"
)
PC_DARTS_IMAGENET = (
    "Genotype(normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 1), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), "
    "reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 2), "
    "('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)], reduce_concat=range(2, 6))"
)
PE_NAS_SEED = (
    "Genotype(normal=[('skip_connect', 0), ('sep_conv_3x3', 1), ('dil_conv_3x3', 1), ('sep_conv_5x5', 2), "
    "('sep_conv_3x3', 2), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 1), ('dil_conv_3x3', 2), ('avg_pool_3x3', 0), "
    "('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)

# dataset -> (num_classes, input HxW, default C, default layers)
_DATASETS: dict[str, tuple[int, int, int, int]] = {
    "cifar10": (10, 32, 36, 20),
    "cifar100": (100, 32, 36, 20),
    "imagenet": (1000, 224, 48, 14),
}
_BUILD_OPTIONS = {"C", "layers", "auxiliary", "drop_path_prob"}
_ENC_OP = len(SEARCH_OPS)  # 7
_ENC_IN = STEPS + 1  # inputs 0..4 (node 5 is never an input)


def _cell_size() -> int:
    return math.prod(math.comb(i + 2, 2) * _ENC_OP**2 for i in range(STEPS))


@register_space("darts")
class DartsSpace(Space[Genotype]):
    """DARTS cell space (NAS-Bench-301): 2 cells x 4 nodes x 2 of (7 ops, earlier input).

    ``parse`` accepts the DARTS ``Genotype(...)`` text (also with ``range(2, 6)`` concats and
    either quote style) and NASLib's compact form; ``none`` is rejected and both concats
    must be ``[2, 3, 4, 5]``. The id sorts each node's two pairs (see
    :func:`~penas.spaces._darts_genotype.canonicalize`), so both orders of a node share one
    id. ``C``/``layers`` given to the constructor replace the per-dataset defaults
    (CIFAR C=36, 20 layers; ImageNet C=48, 14 layers) for ``build``/``params``/``flops``.
    """

    name = "darts"
    datasets = tuple(_DATASETS)

    def __init__(self, C: int | None = None, layers: int | None = None) -> None:
        if C is not None and (not isinstance(C, int) or C < 2 or C % 2):
            raise ValueError(f"C: expected an even integer >= 2, got {C!r}")
        if layers is not None and (not isinstance(layers, int) or layers < 3):
            raise ValueError(f"layers: expected an integer >= 3, got {layers!r}")
        self.C = C
        self.layers = layers

    # --- identity ---------------------------------------------------------------------
    def parse(self, text: str) -> Genotype:
        return parse_genotype(text)

    def format(self, arch: Genotype) -> str:
        return format_genotype(self._check(arch))

    def canonical(self, arch: Genotype) -> Genotype:
        return canonicalize(self._check(arch))

    def _check(self, arch: Genotype) -> Genotype:
        if not isinstance(arch, Genotype):
            raise ValueError(f"arch: expected a darts Genotype, got {type(arch).__name__}")
        try:
            validate(arch)
        except ArchParseError as e:
            raise ValueError(f"arch: {e}") from None
        return canonicalize(arch)

    # --- sampling -----------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Distinct canonical genotypes: per cell prod_i C(i+2, 2) * 7^2, squared (~1.08e18)."""
        return _cell_size() ** 2

    def sample(self, rng: np.random.Generator) -> Genotype:
        """Uniform over the space: per node two distinct inputs and an op for each (NB301-style)."""
        cells = []
        for _ in CELLS:
            pairs: list[Pair] = []
            for i in range(STEPS):
                a, b = rng.choice(i + 2, size=2, replace=False)
                for inp in (int(a), int(b)):
                    pairs.append(Pair(SEARCH_OPS[int(rng.integers(_ENC_OP))], inp))
            cells.append(tuple(pairs))
        return canonicalize(Genotype(cells[0], DEFAULT_CONCAT, cells[1], DEFAULT_CONCAT))

    def mutate(self, arch: Genotype, rng: np.random.Generator) -> Genotype:
        """Change one op (to another op) or one input (to another allowed, distinct input)."""
        g = self._check(arch)
        cell_name = CELLS[int(rng.integers(2))]
        pairs = list(g.cell(cell_name))
        k = int(rng.integers(PAIRS))
        node = k // 2 + 2
        other = pairs[k ^ 1].input
        free_inputs = [j for j in range(node) if j not in (pairs[k].input, other)]
        if free_inputs and rng.random() < 0.5:
            pairs[k] = Pair(pairs[k].op, free_inputs[int(rng.integers(len(free_inputs)))])
        else:
            ops = [op for op in SEARCH_OPS if op != pairs[k].op]
            pairs[k] = Pair(ops[int(rng.integers(len(ops)))], pairs[k].input)
        new = tuple(pairs)
        out = (
            Genotype(new, g.normal_concat, g.reduce, g.reduce_concat)
            if cell_name == "normal"
            else Genotype(g.normal, g.normal_concat, new, g.reduce_concat)
        )
        return canonicalize(out)

    def encode(self, arch: Genotype) -> np.ndarray:
        """192 floats: per cell (normal, reduce), per canonical pair, one-hot op (7, NASLib
        order) then one-hot input (0..4)."""
        g = self._check(arch)
        width = _ENC_OP + _ENC_IN
        vec = np.zeros(2 * PAIRS * width, dtype=np.float32)
        for c, name in enumerate(CELLS):
            for k, (op, inp) in enumerate(g.cell(name)):
                base = (c * PAIRS + k) * width
                vec[base + SEARCH_OPS.index(op)] = 1.0
                vec[base + _ENC_OP + inp] = 1.0
        return vec

    # --- models -------------------------------------------------------------------------
    def _dataset(self, dataset: str | None) -> str:
        return self.check_dataset(self.datasets[0] if dataset is None else dataset)

    def input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        hw = _DATASETS[self._dataset(dataset)][1]
        return (3, hw, hw)

    def test_input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        """A small input for smoke tests (CIFAR net: 16x16; ImageNet net needs 64x64)."""
        return (3, 64, 64) if self._dataset(dataset) == "imagenet" else (3, 16, 16)

    def test_build_kwargs(self) -> dict[str, Any]:
        """A cheap network for smoke tests."""
        return {"C": 8, "layers": 5}

    def num_classes(self, dataset: str | None = None) -> int:
        return _DATASETS[self._dataset(dataset)][0]

    @staticmethod
    def output_fn(out: Any) -> Any:
        """The logits of ``model(x) -> (logits, logits_aux)``."""
        return out[0] if isinstance(out, tuple) else out

    def build(self, arch: Genotype, dataset: str | None = None, **kwargs: Any) -> nn.Module:
        """``NetworkCIFAR`` (cifar10/100) or ``NetworkImageNet`` exactly as DARTS/PC-DARTS.

        Options: ``C``, ``layers`` (defaults per dataset / constructor), ``auxiliary``
        (False), ``drop_path_prob`` (0.0). The genotype is built in its own pair order, so a
        non-canonical :class:`Genotype` from ``parse_genotype(text, canonical=False)`` gives
        DARTS' module order. Returns ``model(x) -> (logits, logits_aux)``.
        """
        unknown = set(kwargs) - _BUILD_OPTIONS
        if unknown:
            raise ValueError(
                f"build: unknown option(s) {sorted(unknown)}; darts accepts {sorted(_BUILD_OPTIONS)}"
            )
        ds, n_cls, C, layers = self._net_config(arch, dataset, kwargs.get("C"), kwargs.get("layers"))
        from ._darts_model import NetworkCIFAR, NetworkImageNet

        cls = NetworkImageNet if ds == "imagenet" else NetworkCIFAR
        return cls(
            C,
            n_cls,
            layers,
            bool(kwargs.get("auxiliary", False)),
            arch,
            float(kwargs.get("drop_path_prob", 0.0)),
        )

    def _net_config(
        self, arch: Genotype, dataset: str | None, C: int | None, layers: int | None
    ) -> tuple[str, int, int, int]:
        """(dataset, classes, C, layers) after checking ``arch`` (any valid DARTS genotype,
        ``none`` and other concats included) and the sizes."""
        if not isinstance(arch, Genotype):
            raise ValueError(f"arch: expected a darts Genotype, got {type(arch).__name__}")
        try:
            validate(arch, allow_none=True, strict_concat=False)
        except ArchParseError as e:
            raise ValueError(f"arch: {e}") from None
        ds = self._dataset(dataset)
        n_cls, _, c_def, l_def = _DATASETS[ds]
        C = C if C is not None else (self.C or c_def)
        layers = layers if layers is not None else (self.layers or l_def)
        if not isinstance(C, int) or C < 2 or C % 2:
            raise ValueError(f"C: expected an even integer >= 2, got {C!r}")
        if not isinstance(layers, int) or layers < 3:
            raise ValueError(f"layers: expected an integer >= 3, got {layers!r}")
        return ds, n_cls, C, layers

    def params(self, arch: Genotype, dataset: str | None = None) -> int:
        """Trainable parameters of ``build(arch, dataset)`` without the auxiliary head, in
        closed form (conv weights, BN weight+bias, classifier weight+bias; checked against
        built networks in the tests)."""
        from ._darts_cost import network_params

        ds, n_cls, C, layers = self._net_config(arch, dataset, None, None)
        return network_params(arch, C, layers, n_cls, ds == "imagenet")

    def flops(self, arch: Genotype, dataset: str | None = None) -> int:
        """Multiply-accumulates of every Conv2d and Linear (no biases), batch 1, eval mode, at
        32x32 (CIFAR) or 224x224 (ImageNet); no auxiliary head; BN/ReLU/pooling/sums not
        counted (the ``macs`` convention of :mod:`penas.spaces.flops`, on a built network)."""
        from .flops import count_flops

        model = self.build(arch, dataset, auxiliary=False).eval()
        return count_flops(model, self.input_shape(dataset), "macs")


# ----------------------------------------------------------------------------- NB301 import
def naslib_key_to_id(key: str) -> str:
    """Canonical id of a NASLib compact key (e.g. a key of ``gt_nasbench301_subset500.json``)."""
    return format_genotype(parse_genotype(key))


def load_nb301_naslib_keys(path: str | Path, dataset: str = "cifar10") -> dict[str, dict[str, Any]]:
    """``{canonical id: record}`` from a NASLib ``zc_nasbench301.json``-style file.

    Raises ``ValueError`` if two keys map to the same id with different records.
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    try:
        table = data["nasbench301"][dataset]
    except (KeyError, TypeError):
        raise ValueError(f"{path}: expected {{'nasbench301': {{{dataset!r}: {{...}}}}}}") from None
    out: dict[str, dict[str, Any]] = {}
    for key, rec in table.items():
        arch_id = naslib_key_to_id(key)
        if arch_id in out and out[arch_id] != rec:
            raise ValueError(
                f"{path}: keys {key!r} and another map to the same genotype with different records"
            )
        out[arch_id] = rec
    return out
