"""NAS-Bench-201 / NATS-Bench topology search space (``nb201``).

An arch is a 6-tuple of op names in **arch-string edge order**
``(1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2)``; its canonical id is the NB201 arch string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``. See ``packages/spaces/README_nb201_macro.md``.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._registry import register_space
from .base import ArchParseError, Space

if TYPE_CHECKING:
    import torch.nn as nn

NB201Arch = tuple[str, str, str, str, str, str]

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_EDGES = len(EDGES)

# NASLib (naslib/search_spaces/nasbench201/conversions.py) op ids and edge order.
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2))
# NASLIB_POS[e] = position in the NASLib tuple of arch-string edge e.
NASLIB_POS: tuple[int, ...] = tuple(NASLIB_EDGES.index(e) for e in EDGES)

_NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
_INPUT_HW = {"cifar10": 32, "cifar100": 32, "ImageNet16-120": 16}
_C, _N = 16, 5  # TinyNetwork width and cells per stage, as NB201 trained it

_NASLIB_RE = re.compile(r"[0-4]{6}")
_TUPLE_RE = re.compile(
    r"[(\[]\s*([0-9]{1,9}(?:\s*,\s*[0-9]{1,9})*)\s*,?\s*[)\]]"
)  # bounded: int() on huge strings fails
_TOKEN_RE = re.compile(r"([A-Za-z0-9_]+)~([0-9]+)")


# --- ids ---------------------------------------------------------------------------------
def format_arch(arch: Sequence[str]) -> str:
    """The NB201 arch string of a 6-tuple in arch-string edge order."""
    groups = []
    for node in (1, 2, 3):
        toks = [f"{arch[e]}~{src}" for e, (dst, src) in enumerate(EDGES) if dst == node]
        groups.append("|" + "|".join(toks) + "|")
    return "+".join(groups)


def parse_arch_string(text: str) -> NB201Arch:
    """Parse ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (strict; whitespace around it ignored)."""
    s = text.strip()
    groups = s.split("+")
    if len(groups) != 3:
        raise ArchParseError(
            f"nb201 arch string: expected 3 '+'-separated node groups, got {len(groups)} in {text!r}"
        )
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
            raise ArchParseError(
                f"nb201 arch string: node {node} group {group!r} must look like '|op~j|...|'"
            )
        toks = group[1:-1].split("|")
        if len(toks) != node:
            raise ArchParseError(
                f"nb201 arch string: node {node} needs {node} input edge(s), got {len(toks)}"
            )
        for src, tok in enumerate(toks):
            m = _TOKEN_RE.fullmatch(tok)
            if m is None:
                raise ArchParseError(
                    f"nb201 arch string: edge {node}<-{src}: expected 'op~{src}', got {tok!r}"
                )
            op, idx = m.group(1), m.group(2)
            if op not in OPS:
                raise ArchParseError(
                    f"nb201 arch string: unknown op {op!r} at edge {node}<-{src}; expected one of {', '.join(OPS)}"
                )
            if idx != str(src):
                raise ArchParseError(
                    f"nb201 arch string: wrong input index {idx} for node {node} in position {src}; expected {src}"
                )
            ops.append(op)
    return tuple(ops)  # type: ignore[return-value]


def to_naslib_indices(arch: Sequence[str]) -> tuple[int, ...]:
    """NASLib op-indices tuple (op ids 0=skip,1=none,2=conv3x3,3=conv1x1,4=avgpool; NASLib edge order)."""
    out = [0] * NUM_EDGES
    for e, op in enumerate(arch):
        out[NASLIB_POS[e]] = NASLIB_OPS.index(op)
    return tuple(out)


def from_naslib_indices(indices: Sequence[int] | str) -> NB201Arch:
    """Arch from NASLib op-indices: a 6-int sequence or a 6-digit string such as ``'433000'``."""
    if isinstance(indices, str):
        if _NASLIB_RE.fullmatch(indices) is None:
            raise ArchParseError(f"nb201 NASLib indices: expected 6 digits in 0-4, got {indices!r}")
        indices = [int(c) for c in indices]
    vals = list(indices)
    if len(vals) != NUM_EDGES:
        raise ArchParseError(f"nb201 NASLib indices: expected {NUM_EDGES} op ids, got {len(vals)}")
    for pos, v in enumerate(vals):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 0 <= v < len(NASLIB_OPS):
            raise ArchParseError(
                f"nb201 NASLib indices: op id at position {pos} must be an int in 0-4, got {v!r}"
            )
    return tuple(NASLIB_OPS[vals[NASLIB_POS[e]]] for e in range(NUM_EDGES))  # type: ignore[return-value]


# --- isomorphism ------------------------------------------------------------------------
def unique_str(arch: Sequence[str]) -> str:
    """NB201's isomorphism key: ``CellStructure.to_unique_str(consider_zero=True)``.

    Each node gets a string built from its inputs: a ``none`` edge, or an edge from a node
    whose string is exactly ``'#'``, contributes ``'#'``; ``skip_connect`` passes the source
    string through; any other op contributes ``'(src)@op'``. A node's string is its input
    strings sorted and joined with ``'+'``; the key is node 3's string. This definition
    (including its quirk that a node fed only by zeros becomes e.g. ``'#+#'``, not ``'#'``)
    yields the 6,466 classes reported by NB201 / used by aw_nas.
    """
    nodes = ["0"]
    for node in (1, 2, 3):
        parts = []
        for e, (dst, src) in enumerate(EDGES):
            if dst != node:
                continue
            op, s = arch[e], nodes[src]
            if op == "none" or s == "#":
                parts.append("#")
            elif op == "skip_connect":
                parts.append(s)
            else:
                parts.append(f"({s})@{op}")
        nodes.append("+".join(sorted(parts)))
    return nodes[3]


@functools.cache
def _representatives() -> dict[str, NB201Arch]:
    """unique_str -> first arch of its class in ``enumerate()`` order (computed once, ~50 ms)."""
    reps: dict[str, NB201Arch] = {}
    for arch in itertools.product(OPS, repeat=NUM_EDGES):
        reps.setdefault(unique_str(arch), arch)  # type: ignore[arg-type]
    return reps


# --- cost model -------------------------------------------------------------------------
def _op_params(op: str, c: int) -> int:
    k = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}.get(op)
    return 0 if k is None else c * c * k * k + 2 * c  # conv (no bias) + BN weight/bias


def _op_macs(op: str, c: int, hw: int) -> int:
    k = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}.get(op)
    return 0 if k is None else c * c * k * k * hw * hw


@functools.cache
def _cost_tables(dataset: str) -> tuple[int, dict[str, int], int, dict[str, int]]:
    """(base params, per-edge-op params summed over all cells, base MACs, per-edge-op MACs)."""
    ncls, hw, C = _NUM_CLASSES[dataset], _INPUT_HW[dataset], _C
    chans = (C, 2 * C, 4 * C)
    sizes = (hw, hw // 2, hw // 4)
    p_base = 3 * C * 9 + 2 * C  # stem conv + BN
    f_base = 3 * C * 9 * hw * hw
    for i in (1, 2):  # ResNet basic blocks C_in -> C_out, stride 2
        ci, co, s = chans[i - 1], chans[i], sizes[i]
        p_base += ci * co * 9 + 2 * co + co * co * 9 + 2 * co + ci * co
        f_base += (ci * co * 9 + co * co * 9 + ci * co) * s * s
    p_base += 2 * chans[2] + chans[2] * ncls + ncls  # lastact BN + classifier
    f_base += chans[2] * ncls + ncls  # classifier MACs + bias adds (NB201 counter)
    p_op = {op: _N * sum(_op_params(op, c) for c in chans) for op in OPS}
    f_op = {op: _N * sum(_op_macs(op, c, s) for c, s in zip(chans, sizes, strict=True)) for op in OPS}
    return p_base, p_op, f_base, f_op


@register_space("nb201")
class NB201Space(Space[NB201Arch]):
    """NAS-Bench-201 (NATS-Bench tss): 5 ops on the 6 edges of a 4-node cell, 15,625 archs.

    Accepted ``parse`` forms (surrounding whitespace ignored):

    * the NB201 arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (the canonical id);
    * NASLib op-indices as 6 digits (``'433000'``) or a tuple/list string
      (``'(4, 3, 3, 0, 0, 0)'``), op ids ``0=skip_connect, 1=none, 2=nor_conv_3x3,
      3=nor_conv_1x1, 4=avg_pool_3x3`` in NASLib edge order ``1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2``.

    ``encode`` is a 30-long one-hot (edge-major in arch-string order, ops in :data:`OPS`
    order). ``params``/``flops`` are analytic (see their docstrings).
    """

    name = "nb201"
    datasets = ("cifar10", "cifar100", "ImageNet16-120")
    ops = OPS
    edges = EDGES

    # --- identity ---------------------------------------------------------------------
    def parse(self, text: str) -> NB201Arch:
        if not isinstance(text, str):
            raise ArchParseError(f"nb201: expected an arch string, got {type(text).__name__}")
        s = text.strip()
        if "~" in s or "|" in s:
            return parse_arch_string(s)
        if _NASLIB_RE.fullmatch(s):
            return from_naslib_indices(s)
        m = _TUPLE_RE.fullmatch(s)
        if m is not None:
            return from_naslib_indices([int(v) for v in m.group(1).split(",")])
        raise ArchParseError(
            f"nb201: cannot parse {text[:80]!r}; expected '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|', "
            "6 NASLib op-index digits like '433000' or a tuple like '(4, 3, 3, 0, 0, 0)'"
        )

    def format(self, arch: NB201Arch) -> str:
        return format_arch(self._check(arch))

    def canonical(self, arch: NB201Arch) -> NB201Arch:
        """Representative of the NB201 isomorphism class (see :func:`unique_str`)."""
        return _representatives()[unique_str(self._check(arch))]

    def _check(self, arch: Sequence[str]) -> NB201Arch:
        if not isinstance(arch, tuple) or len(arch) != NUM_EDGES or any(op not in OPS for op in arch):
            raise ValueError(f"arch: expected a 6-tuple of NB201 op names, got {arch!r}")
        return arch  # type: ignore[return-value]

    # --- sampling & enumeration ------------------------------------------------------
    @property
    def size(self) -> int:
        return len(OPS) ** NUM_EDGES

    def enumerate(self) -> Iterator[NB201Arch]:
        """All 15,625 archs in ``itertools.product(OPS, repeat=6)`` order."""
        return iter(itertools.product(OPS, repeat=NUM_EDGES))  # type: ignore[arg-type]

    def sample(self, rng: np.random.Generator) -> NB201Arch:
        return tuple(OPS[i] for i in rng.integers(0, len(OPS), NUM_EDGES))  # type: ignore[return-value]

    def mutate(self, arch: NB201Arch, rng: np.random.Generator) -> NB201Arch:
        """Change the op of one uniformly chosen edge to a different op."""
        ops = list(self._check(arch))
        e = int(rng.integers(NUM_EDGES))
        others = [op for op in OPS if op != ops[e]]
        ops[e] = others[int(rng.integers(len(others)))]
        return tuple(ops)  # type: ignore[return-value]

    def encode(self, arch: NB201Arch) -> np.ndarray:
        vec = np.zeros(NUM_EDGES * len(OPS), dtype=np.float32)
        for e, op in enumerate(self._check(arch)):
            vec[e * len(OPS) + OPS.index(op)] = 1.0
        return vec

    # --- models -------------------------------------------------------------------------
    def _dataset(self, dataset: str | None) -> str:
        return self.check_dataset(self.datasets[0] if dataset is None else dataset)

    def input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        hw = _INPUT_HW[self._dataset(dataset)]
        return (3, hw, hw)

    def test_input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        """A small input for smoke tests (the network is size-agnostic above 4x4)."""
        self._dataset(dataset)
        return (3, 8, 8)

    def num_classes(self, dataset: str | None = None) -> int:
        return _NUM_CLASSES[self._dataset(dataset)]

    def build(self, arch: NB201Arch, dataset: str | None = None, **kwargs: Any) -> nn.Module:
        """NB201 ``TinyNetwork`` (C=16, N=5); ``C``/``N`` kwargs override the width/depth."""
        unknown = set(kwargs) - {"C", "N"}
        if unknown:
            raise ValueError(f"build: unknown option(s) {sorted(unknown)}; nb201 accepts C, N")
        from ._nb201_model import TinyNetwork

        return TinyNetwork(
            self._check(arch), self.num_classes(dataset), C=kwargs.get("C", _C), N=kwargs.get("N", _N)
        )

    def params(self, arch: NB201Arch, dataset: str | None = None) -> int:
        """Parameter count of ``build(arch, dataset)`` in closed form.

        Conv weights (no conv biases), BN weight+bias, classifier weight+bias. Equals NB201's
        ``params`` x 1e6 for all archs and datasets (ops on dead edges still count).
        """
        p_base, p_op, _, _ = _cost_tables(self._dataset(dataset))
        return p_base + sum(p_op[op] for op in self._check(arch))

    def flops(self, arch: NB201Arch, dataset: str | None = None) -> int:
        """NB201's FLOPs convention, as a count (NB201 reports it / 1e6 as "MFLOPs").

        Multiply-accumulates of every Conv2d and of the Linear layer, plus the classifier's
        bias additions (``num_classes``), at the dataset's input size (32x32, ImageNet16-120
        16x16), batch 1. BN, ReLU, pooling and the cell sums are not counted; every edge
        op is counted, including ops whose input or output is dead. This is AutoDL's
        ``get_model_infos`` counter that NB201 used.
        """
        _, _, f_base, f_op = _cost_tables(self._dataset(dataset))
        return f_base + sum(f_op[op] for op in self._check(arch))
