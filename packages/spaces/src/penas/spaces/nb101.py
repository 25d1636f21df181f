"""NAS-Bench-101 (``nb101``) and NAS-Bench-1shot1 search space 3 (``nb101_1shot1_s3``).

Arch: :class:`NB101Spec` (frozen), always pruned as nasbench's ``ModelSpec`` prunes it. The
id is ``adj=<rows>|ops=<codes>`` of the pruned spec in its own vertex order (see
:func:`~penas.spaces._nb101_spec.format_id`); isomorphic specs keep distinct ids because NB101's
channel split depends on vertex order (so their params can differ). ``canonical()`` gives the
isomorphism representative and :func:`graph_hash` the NB101 dataset's module hash. See
``README_darts_nb101.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ._nb101_cost import network_cost
from ._nb101_spec import (
    INPUT,
    MAX_VERTICES,
    NASLIB_OPS,
    OPS,
    OUTPUT,
    NB101Spec,
    canonical_spec,
    format_id,
    graph_hash,
    make_spec,
    parse_spec,
    to_naslib_tuple,
)
from ._registry import register_space
from .base import ArchParseError, Space

if TYPE_CHECKING:
    import torch.nn as nn

__all__ = [
    "NB101Space",
    "NB101Spec",
    "NB101OneShot1S3Space",
    "graph_hash",
    "make_spec",
    "to_naslib_tuple",
]

_BUILD_OPTIONS = {"stem_channels", "num_stacks", "modules_per_stack"}
_N_TRI = MAX_VERTICES * (MAX_VERTICES - 1) // 2


def _pad7(spec: NB101Spec) -> tuple[np.ndarray, list[str | None]]:
    """7x7 matrix with the output at index 6; padded vertices are isolated (op ``None``)."""
    n = spec.num_vertices
    m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    idx = list(range(n - 1)) + [MAX_VERTICES - 1]
    m[np.ix_(idx, idx)] = spec.array()
    ops: list[str | None] = list(spec.ops[:-1]) + [None] * (MAX_VERTICES - n) + [OUTPUT]
    return m, ops


@lru_cache(maxsize=1 << 16)
def _problem(spec: NB101Spec) -> str:
    """Why ``spec`` is not a valid pruned spec ('' when it is); cached, specs are hashable."""
    try:
        pruned = make_spec(spec.matrix, spec.ops)
    except (ArchParseError, TypeError) as e:
        return str(e)
    return "" if pruned == spec else "spec is not pruned; build it with make_spec()"


@lru_cache(maxsize=1 << 16)
def _canonical(spec: NB101Spec) -> NB101Spec:
    return canonical_spec(spec)


class _NB101Base(Space[NB101Spec]):
    datasets = ("cifar10",)

    # --- identity ---------------------------------------------------------------------
    def parse(self, text: str) -> NB101Spec:
        return self._member(parse_spec(text))

    def format(self, arch: NB101Spec) -> str:
        return format_id(self._check(arch))

    def canonical(self, arch: NB101Spec) -> NB101Spec:
        """Isomorphism representative: the relabelling of interior vertices with the smallest id."""
        return _canonical(self._check(arch))

    def graph_hash(self, arch: NB101Spec) -> str:
        """NB101's module hash (the key of the official dataset)."""
        return graph_hash(self._check(arch))

    def _member(self, spec: NB101Spec) -> NB101Spec:
        return spec

    def _check(self, arch: NB101Spec) -> NB101Spec:
        if not isinstance(arch, NB101Spec):
            raise ValueError(f"arch: expected an NB101Spec, got {type(arch).__name__}")
        problem = _problem(arch)
        if problem:
            raise ValueError(f"arch: {problem}")
        return arch

    # --- features -----------------------------------------------------------------------
    def encode(self, arch: NB101Spec) -> np.ndarray:
        """56 floats of the isomorphism representative padded to 7 vertices (output last):
        the 21 upper-triangle bits row-major, then per vertex a one-hot over
        ``input, output, maxpool3x3, conv1x1, conv3x3`` (zeros for padding)."""
        m, ops = _pad7(self.canonical(arch))
        iu = np.triu_indices(MAX_VERTICES, k=1)
        vec = np.zeros(_N_TRI + MAX_VERTICES * len(NASLIB_OPS), dtype=np.float32)
        vec[:_N_TRI] = m[iu]
        for v, op in enumerate(ops):
            if op is not None:
                vec[_N_TRI + v * len(NASLIB_OPS) + NASLIB_OPS.index(op)] = 1.0
        return vec

    # --- models -------------------------------------------------------------------------
    def input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        self.check_dataset(dataset or "cifar10")
        return (3, 32, 32)

    def test_input_shape(self, dataset: str | None = None) -> tuple[int, int, int]:
        self.check_dataset(dataset or "cifar10")
        return (3, 8, 8)

    def test_build_kwargs(self) -> dict[str, Any]:
        """A cheap network for smoke tests."""
        return {"stem_channels": 16, "num_stacks": 2, "modules_per_stack": 1}

    def num_classes(self, dataset: str | None = None) -> int:
        self.check_dataset(dataset or "cifar10")
        return 10

    def build(self, arch: NB101Spec, dataset: str | None = None, **kwargs: Any) -> nn.Module:
        """The NB101 network (stem 128, 3 stacks x 3 cells); ``model(x) -> logits``.
        ``stem_channels``, ``num_stacks``, ``modules_per_stack`` override the sizes."""
        unknown = set(kwargs) - _BUILD_OPTIONS
        if unknown:
            raise ValueError(
                f"build: unknown option(s) {sorted(unknown)}; nb101 accepts {sorted(_BUILD_OPTIONS)}"
            )
        self.check_dataset(dataset or "cifar10")
        from ._nb101_model import NB101Network

        return NB101Network(self._check(arch), self.num_classes(dataset), **kwargs)

    def params(self, arch: NB101Spec, dataset: str | None = None) -> int:
        """Trainable parameters in closed form: conv weights (no biases), BN weight+bias,
        dense weight+bias (TF's trainable variables). Equals NASLib's NB101 ``params`` x 1e6."""
        self.check_dataset(dataset or "cifar10")
        return network_cost(self._check(arch)).params

    def flops(self, arch: NB101Spec, dataset: str | None = None) -> int:
        """NAS-Bench-Suite-Zero's (NASLib's) FLOPs at 32x32: conv MACs + 3 per conv output
        element (BN, ReLU) + k*k per max-pool output element + dense MACs. Equals NASLib's
        NB101 ``flops`` x 1e6. Plain conv+dense MACs: :meth:`macs`."""
        self.check_dataset(dataset or "cifar10")
        return network_cost(self._check(arch)).flops

    def macs(self, arch: NB101Spec, dataset: str | None = None) -> int:
        """Multiply-accumulates of the convs and the dense layer only, at 32x32."""
        self.check_dataset(dataset or "cifar10")
        return network_cost(self._check(arch)).macs


@register_space("nb101")
class NB101Space(_NB101Base):
    """NAS-Bench-101: up to 7 vertices and 9 edges, interior ops conv1x1/conv3x3/maxpool3x3.

    ``parse`` accepts the id ``adj=<rows>|ops=<codes>`` and NASLib's 56-int tuple key (7x7
    matrix row-major + op ids ``0=input, 1=output, 2=maxpool3x3, 3=conv1x1, 4=conv3x3``).
    ``size`` is ``None``: ids are labelled pruned specs; NB101 has 423,624 isomorphism classes.
    """

    name = "nb101"

    def sample(self, rng: np.random.Generator) -> NB101Spec:
        """nasbench's ``random_spec``: each upper-triangle bit of a 7x7 matrix is 1 with
        probability 1/2, interior ops uniform; invalid specs are redrawn. Returns it pruned."""
        while True:
            m = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), k=1)
            ops = [INPUT] + [OPS[int(i)] for i in rng.integers(0, len(OPS), MAX_VERTICES - 2)] + [OUTPUT]
            try:
                return make_spec(m, ops)
            except ArchParseError:
                continue

    def mutate(self, arch: NB101Spec, rng: np.random.Generator) -> NB101Spec:
        """One edge flip (on the spec padded to 7 vertices) or one interior op change, chosen
        uniformly among the moves that give a valid spec with a different id. A spec with no
        such single move (only ``input -> output``) gets a new vertex on a path instead."""
        spec = self._check(arch)
        m, ops = _pad7(spec)
        fill = [op if op is not None else OPS[int(rng.integers(len(OPS)))] for op in ops]
        moves: list[tuple[str, int, int | str]] = [
            ("edge", i, j) for i, j in zip(*np.triu_indices(MAX_VERTICES, k=1), strict=True)
        ]
        moves += [
            ("op", v, op)
            for v in range(1, MAX_VERTICES - 1)
            if ops[v] is not None
            for op in OPS
            if op != ops[v]
        ]
        key = format_id(spec)
        for k in rng.permutation(len(moves)):
            kind, a, b = moves[int(k)]
            mm, oo = m.copy(), list(fill)
            if kind == "edge":
                mm[a, b] ^= 1
            else:
                oo[a] = str(b)
            try:
                new = make_spec(mm, oo)
            except ArchParseError:
                continue
            if format_id(new) != key:
                return new
        v = spec.num_vertices - 1  # first padded vertex: input -> v -> output
        mm = m.copy()
        mm[0, v] = mm[v, MAX_VERTICES - 1] = 1
        return make_spec(mm, fill)


# ----------------------------------------------------------------------------- 1shot1 s3
# NAS-Bench-1shot1 search space 3 (nasbench_analysis/search_spaces/search_space_3.py):
# choice blocks 1..5, output 6; number of parents per node.
S3_PARENTS: dict[int, int] = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}
_S3_CHOICES = [list(itertools.combinations(range(node), k)) for node, k in S3_PARENTS.items()]
S3_CONFIGS_WITH_LOOSE_ENDS = int(np.prod([len(c) for c in _S3_CHOICES])) * len(OPS) ** 5  # 1,312,200


Wiring = tuple[tuple[int, ...], ...]  # parents of nodes 1..6


def _s3_matrix(wiring: Wiring) -> np.ndarray:
    m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    for node, parents in zip(S3_PARENTS, wiring, strict=True):
        for p in parents:
            m[p, node] = 1
    return m


@lru_cache(maxsize=1)
def _s3_tables() -> tuple[dict[tuple[tuple[int, ...], ...], tuple[Wiring, tuple[int, ...]]], int]:
    """{pruned matrix: (one wiring producing it, its kept choice blocks)} and the number of
    configurations without loose ends (distinct backward closures from the output x ops).

    Every vertex of a wiring has a parent and vertex 1's is the input, so the vertices that
    reach the output (the backward closure) all come from the input: the closure *is* the
    pruned graph.
    """
    table: dict[tuple[tuple[int, ...], ...], tuple[Wiring, tuple[int, ...]]] = {}
    closures: set[frozenset[tuple[int, int]]] = set()
    out = MAX_VERTICES - 1
    for wiring in itertools.product(*_S3_CHOICES):
        parents = dict(zip(S3_PARENTS, wiring, strict=True))
        edges: set[tuple[int, int]] = set()
        stack, seen = [out], {out}
        while stack:
            v = stack.pop()
            for u in parents.get(v, ()):
                edges.add((u, v))
                if u not in seen:
                    seen.add(u)
                    stack.append(u)
        key = frozenset(edges)
        if key in closures:
            continue
        closures.add(key)
        kept = sorted(seen | {0})
        pos = {v: i for i, v in enumerate(kept)}
        rows = [[0] * len(kept) for _ in kept]
        for u, v in edges:
            rows[pos[u]][pos[v]] = 1
        matrix = tuple(tuple(r) for r in rows)
        table.setdefault(matrix, (wiring, tuple(kept[1:-1])))
    no_loose = sum(len(OPS) ** (len({v for e in c for v in e}) - 2) for c in closures)
    return table, no_loose


@register_space("nb101_1shot1_s3")
class NB101OneShot1S3Space(_NB101Base):
    """NAS-Bench-1shot1 search space 3 as a subspace of ``nb101`` (same arch type and ids, so
    archs are looked up in NB101 tables directly).

    Choice blocks 1..5 and the output take [1, 1, 1, 2, 2, 2] parents among earlier vertices
    (node 1's parent is the input), 9 edges; ops conv1x1/conv3x3/maxpool3x3 per block. A
    configuration is pruned to its NB101 spec. ``size`` counts the distinct NB101 specs
    (118,524); :meth:`num_configurations` gives the configuration counts.
    """

    name = "nb101_1shot1_s3"

    def _member(self, spec: NB101Spec) -> NB101Spec:
        if spec.matrix not in _s3_tables()[0]:
            raise ArchParseError(
                "nb101_1shot1_s3: the cell graph is not reachable in NAS-Bench-1shot1 search space 3"
            )
        return spec

    def _check(self, arch: NB101Spec) -> NB101Spec:
        spec = super()._check(arch)
        if spec.matrix not in _s3_tables()[0]:
            raise ValueError("arch: the cell graph is not in NAS-Bench-1shot1 search space 3")
        return spec

    @staticmethod
    def num_configurations(loose_ends: bool = False) -> int:
        """Configurations of 1shot1's ConfigSpace (``loose_ends=True``: 1,312,200) or the
        distinct graphs without loose ends times ops of their used blocks (135,900)."""
        return S3_CONFIGS_WITH_LOOSE_ENDS if loose_ends else _s3_tables()[1]

    @staticmethod
    def from_config(wiring: tuple[tuple[int, ...], ...], ops: tuple[str, ...]) -> NB101Spec:
        """The NB101 spec of a configuration: parents of nodes 1..6 and ops of blocks 1..5."""
        if len(wiring) != len(S3_PARENTS):
            raise ValueError(f"wiring: expected parents for nodes 1..6, got {len(wiring)} entries")
        for (node, k), parents in zip(S3_PARENTS.items(), wiring, strict=True):
            ps = tuple(sorted(parents))
            if len(ps) != k or len(set(ps)) != k or not all(0 <= p < node for p in ps):
                raise ValueError(
                    f"wiring: node {node} needs {k} distinct parent(s) in 0..{node - 1}, got {list(parents)}"
                )
        if len(ops) != 5 or any(op not in OPS for op in ops):
            raise ValueError(f"ops: expected 5 ops from {', '.join(OPS)}, got {list(ops)}")
        return make_spec(_s3_matrix(tuple(tuple(sorted(p)) for p in wiring)), [INPUT, *ops, OUTPUT])

    @property
    def size(self) -> int:
        return sum(len(OPS) ** (len(m) - 2) for m in _s3_tables()[0])

    def enumerate(self) -> Iterator[NB101Spec]:
        """Every distinct NB101 spec of the subspace (graphs in a fixed order, ops in
        ``itertools.product`` order)."""
        for matrix in sorted(_s3_tables()[0]):
            n = len(matrix)
            for ops in itertools.product(OPS, repeat=n - 2):
                yield NB101Spec(matrix, (INPUT, *ops, OUTPUT))

    def sample(self, rng: np.random.Generator) -> NB101Spec:
        """Uniform over the distinct NB101 specs of the subspace (not over configurations)."""
        mats = _s3_sorted()
        weights = _s3_weights()
        matrix = mats[int(rng.choice(len(mats), p=weights))]
        ops = tuple(OPS[int(i)] for i in rng.integers(0, len(OPS), len(matrix) - 2))
        return NB101Spec(matrix, (INPUT, *ops, OUTPUT))

    def mutate(self, arch: NB101Spec, rng: np.random.Generator) -> NB101Spec:
        """One configuration decision changed (a block's op or a node's parent set) on a
        configuration that produces ``arch``; retried until the NB101 id changes."""
        spec = self._check(arch)
        wiring, kept = _s3_tables()[0][spec.matrix]
        block_ops = [OPS[int(rng.integers(len(OPS)))] for _ in range(5)]
        for v, op in zip(kept, spec.ops[1:-1], strict=True):
            block_ops[v - 1] = op
        key = format_id(spec)
        for _ in range(1000):
            w, o = list(wiring), list(block_ops)
            if rng.random() < 0.5:
                node = int(rng.integers(len(_S3_CHOICES)))
                w[node] = _S3_CHOICES[node][int(rng.integers(len(_S3_CHOICES[node])))]
            else:
                v = int(rng.integers(5))
                o[v] = OPS[int(rng.integers(len(OPS)))]
            new = make_spec(_s3_matrix(tuple(w)), [INPUT, *o, OUTPUT])
            if format_id(new) != key:
                return new
        # unreachable in practice: an op change of a kept block always changes the id
        raise RuntimeError("mutate: no neighbour found")


@lru_cache(maxsize=1)
def _s3_sorted() -> list[tuple[tuple[int, ...], ...]]:
    return sorted(_s3_tables()[0])


@lru_cache(maxsize=1)
def _s3_weights() -> np.ndarray:
    w = np.array([len(OPS) ** (len(m) - 2) for m in _s3_sorted()], dtype=np.float64)
    return w / w.sum()
