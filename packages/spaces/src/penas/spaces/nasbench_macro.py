"""NAS-Bench-Macro search space (``nasbench_macro``, xiusu/NAS-Bench-Macro, CIFAR-10).

An arch is an 8-tuple of ints in {0, 1, 2}, one per searchable layer (stages [2, 3, 3]);
its canonical id is the 8-character digit string used as key in
``nas-bench-macro_cifar10.json``. See ``packages/spaces/README_nb201_macro.md``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._registry import register_space
from .base import ArchParseError, Space

if TYPE_CHECKING:
    import torch.nn as nn

MacroArch = tuple[int, ...]

CHOICES: tuple[str, ...] = ("id", "ir_3x3_t3", "ir_5x5_t6")  # index = the digit in the id
STAGES: tuple[int, ...] = (2, 3, 3)
NUM_LAYERS = sum(STAGES)
INIT_CHANNELS = 32
HEAD_CHANNELS = 1280
_INPUT_HW = 32
_NUM_CLASSES = 10
# (expansion t, kernel k) of the inverted-residual choices.
_IR: dict[int, tuple[int, int]] = {1: (3, 3), 2: (6, 5)}

_DIGITS_RE = re.compile(r"[0-2]{8}")
_PLAIN_INT = frozenset({int})  # element types of the fast path of MacroSpace._check (not bool, not numpy)
_TUPLE_RE = re.compile(
    r"[(\[]\s*([0-9]{1,9}(?:\s*,\s*[0-9]{1,9})*)\s*,?\s*[)\]]"
)  # bounded: int() on huge strings fails


def _layers() -> list[tuple[int, int, int, int]]:
    """(c_in, c_out, stride, input size) of each searchable layer at 32x32 input."""
    out = []
    c, hw = INIT_CHANNELS, _INPUT_HW
    for n in STAGES:
        for j in range(n):
            if j == 0:
                out.append((c, 2 * c, 2, hw))
                c, hw = 2 * c, hw // 2
            else:
                out.append((c, c, 1, hw))
    return out


_LAYERS = _layers()


def _conv_out(hw: int, k: int, stride: int) -> int:
    return (hw + 2 * (k // 2) - k) // stride + 1


def _layer_cost(choice: int, c_in: int, c_out: int, stride: int, hw: int) -> tuple[int, int]:
    """(params, conv MACs) of one searchable layer."""
    if choice == 0:
        if stride == 1 and c_in == c_out:
            return 0, 0
        ho = _conv_out(hw, 1, stride)
        return c_in * c_out + 2 * c_out, c_in * c_out * ho * ho
    t, k = _IR[choice]
    h = c_in * t
    ho = _conv_out(hw, k, stride)
    params = c_in * h + 2 * h + h * k * k + 2 * h + h * c_out + 2 * c_out
    macs = c_in * h * hw * hw + h * k * k * ho * ho + h * c_out * ho * ho
    return params, macs


# Per-layer cost tables [layer][choice] and the fixed part (stem, head, classifier).
_COST = [[_layer_cost(ch, *layer) for ch in range(len(CHOICES))] for layer in _LAYERS]
_C_LAST, _HW_LAST = 2 ** len(STAGES) * INIT_CHANNELS, _INPUT_HW // 2 ** len(STAGES)
_BASE_PARAMS = (
    3 * INIT_CHANNELS * 9
    + 2 * INIT_CHANNELS  # stem conv + BN
    + _C_LAST * HEAD_CHANNELS
    + 2 * HEAD_CHANNELS  # head conv + BN
    + HEAD_CHANNELS * _NUM_CLASSES
    + _NUM_CLASSES  # classifier
)
_BASE_MACS = (
    3 * INIT_CHANNELS * 9 * _INPUT_HW**2
    + _C_LAST * HEAD_CHANNELS * _HW_LAST**2
    + HEAD_CHANNELS * _NUM_CLASSES
)


def real_arch(arch: Sequence[int]) -> MacroArch:
    """NAS-Bench-Macro's ``get_real_arch``: within each stage, move non-first identity layers to the end."""
    out: list[int] = []
    i = 0
    for n in STAGES:
        stage = list(arch[i : i + n])
        rest = [c for c in stage[1:] if c != 0]
        out += [stage[0], *rest] + [0] * (n - 1 - len(rest))
        i += n
    return tuple(out)


@register_space("nasbench_macro")
class MacroSpace(Space[MacroArch]):
    """NAS-Bench-Macro: 8 layers x {0 identity, 1 MBv2 k3 e3, 2 MBv2 k5 e6}, 6,561 archs.

    ``parse`` accepts the 8-digit id (``'02012100'``) and a tuple/list string of 8 ints
    (``'(0, 2, 0, 1, 2, 1, 0, 0)'``); surrounding whitespace is ignored. ``encode`` is a
    24-long one-hot (layer-major, choices in :data:`CHOICES` order).
    """

    name = "nasbench_macro"
    datasets = ("cifar10",)
    choices = CHOICES
    stages = STAGES

    # --- identity ---------------------------------------------------------------------
    def parse(self, text: str) -> MacroArch:
        if not isinstance(text, str):
            raise ArchParseError(f"nasbench_macro: expected an arch string, got {type(text).__name__}")
        s = text.strip()
        if _DIGITS_RE.fullmatch(s):
            return tuple(map(int, s))
        m = _TUPLE_RE.fullmatch(s)
        if m is not None:
            vals = [int(v) for v in m.group(1).split(",")]
            if len(vals) != NUM_LAYERS:
                raise ArchParseError(f"nasbench_macro: expected {NUM_LAYERS} layer choices, got {len(vals)}")
            for i, v in enumerate(vals):
                if v > 2:
                    raise ArchParseError(f"nasbench_macro: layer {i} choice must be 0, 1 or 2, got {v}")
            return tuple(vals)
        if s.isascii() and s.isdigit():
            if len(s) != NUM_LAYERS:
                raise ArchParseError(f"nasbench_macro: expected {NUM_LAYERS} digits, got {len(s)} in {s!r}")
            bad = next(i for i, c in enumerate(s) if c not in "012")
            raise ArchParseError(f"nasbench_macro: layer {bad} choice must be 0, 1 or 2, got {s[bad]!r}")
        raise ArchParseError(
            f"nasbench_macro: cannot parse {text[:80]!r}; expected 8 digits in 0-2 like '02012100' "
            "or a tuple like '(0, 2, 0, 1, 2, 1, 0, 0)'"
        )

    def format(self, arch: MacroArch) -> str:
        return "".join(map(str, self._check(arch)))

    def canonical(self, arch: MacroArch) -> MacroArch:
        """Within a stage, non-first identity layers moved to the end (3,969 distinct nets)."""
        return real_arch(self._check(arch))

    def _check(self, arch: Sequence[int]) -> MacroArch:
        if (  # the common case, checked in C: a tuple of 8 plain ints in 0-2
            type(arch) is tuple and len(arch) == NUM_LAYERS and _PLAIN_INT.issuperset(map(type, arch))
            and min(arch) >= 0 and max(arch) <= 2
        ):
            return arch
        if (
            not isinstance(arch, tuple)
            or len(arch) != NUM_LAYERS
            or any(
                isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c <= 2 for c in arch
            )
        ):
            raise ValueError(f"arch: expected an 8-tuple of ints in 0-2, got {arch!r}")
        return arch

    # --- sampling & enumeration ------------------------------------------------------
    @property
    def size(self) -> int:
        return len(CHOICES) ** NUM_LAYERS

    def enumerate(self) -> Iterator[MacroArch]:
        """All 6,561 archs in ``itertools.product(range(3), repeat=8)`` order (the json's key order)."""
        return iter(itertools.product(range(len(CHOICES)), repeat=NUM_LAYERS))

    def sample(self, rng: np.random.Generator) -> MacroArch:
        return tuple(int(c) for c in rng.integers(0, len(CHOICES), NUM_LAYERS))

    def mutate(self, arch: MacroArch, rng: np.random.Generator) -> MacroArch:
        """Change one uniformly chosen layer to a different choice."""
        out = list(self._check(arch))
        i = int(rng.integers(NUM_LAYERS))
        out[i] = (out[i] + 1 + int(rng.integers(len(CHOICES) - 1))) % len(CHOICES)
        return tuple(out)

    def encode(self, arch: MacroArch) -> np.ndarray:
        vec = np.zeros(NUM_LAYERS * len(CHOICES), dtype=np.float32)
        for i, c in enumerate(self._check(arch)):
            vec[i * len(CHOICES) + int(c)] = 1.0
        return vec

    # --- models -------------------------------------------------------------------------
    def input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        self.check_dataset(dataset or self.datasets[0])
        return (3, _INPUT_HW, _INPUT_HW)

    def test_input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        """A small input for smoke tests (three stride-2 stages need at least 8x8)."""
        self.check_dataset(dataset or self.datasets[0])
        return (3, 16, 16)

    def num_classes(self, dataset: str | None = None) -> int:
        self.check_dataset(dataset or self.datasets[0])
        return _NUM_CLASSES

    def build(self, arch: MacroArch, dataset: str | None = None, **kwargs: Any) -> nn.Module:
        """The NAS-Bench-Macro ``Network`` (no options)."""
        if kwargs:
            raise ValueError(f"build: unknown option(s) {sorted(kwargs)}; nasbench_macro takes none")
        from ._macro_model import MacroNetwork

        return MacroNetwork(
            self._check(arch), self.num_classes(dataset), STAGES, INIT_CHANNELS, HEAD_CHANNELS
        )

    def params(self, arch: MacroArch, dataset: str | None = None) -> int:
        """All parameters of ``build(arch)`` (convs without bias, BN weight+bias, Linear) in closed form.

        Equals the benchmark json's ``params`` for all 6,561 keys.
        """
        self.num_classes(dataset)
        return _BASE_PARAMS + sum(_COST[i][c][0] for i, c in enumerate(self._check(arch)))

    def flops(self, arch: MacroArch, dataset: str | None = None) -> int:
        """NAS-Bench-Macro's ``count_FLOPs`` convention at 32x32, batch 1.

        Multiply-accumulates of every Conv2d (``c_in * c_out * k * k / groups`` per output
        pixel) plus ``in * out`` for the Linear layer (no bias). BN, ReLU, pooling and
        residual additions are not counted. Equals the json's ``flops`` for all 6,561 keys.
        """
        self.num_classes(dataset)
        return _BASE_MACS + sum(_COST[i][c][1] for i, c in enumerate(self._check(arch)))
