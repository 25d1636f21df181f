"""DARTS genotype <-> NAS-Bench-301 configuration (the ConfigSpace form of NB301 and YAHPO Gym).

NB301 describes a cell by 14 edge hyperparameters and 3 input-pair hyperparameters per cell
type (the mapping of automl/nasbench301 ``representations.py``):

* intermediate node ``n`` (2..5) may take input from nodes ``0..n-1``; its candidate edges are
  numbered consecutively, node 2 owning edges 0-1, node 3 edges 2-4, node 4 edges 5-8 and node 5
  edges 9-13, so the edge from input ``j`` into node ``n`` is ``edge_<cell>_<start(n) + j>``
  with ``start(n) = sum(2..n-1)``. Its value is the op on that edge.
* ``inputs_node_<cell>_<n>`` (``n`` = 3, 4, 5) is the sorted input pair ``"j_k"``; node 2 always
  reads ``0_1`` and has no such hyperparameter.

Only the edges a genotype uses are active (a configuration has 2 x (8 + 3) = 22 values).
Names are ``NetworkSelectorDatasetInfo:darts:...``; YAHPO Gym writes ``:`` as ``_COLON_``
(:func:`yahpo_name`), and :func:`config_to_genotype` reads both.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._darts_genotype import CELLS, DEFAULT_CONCAT, SEARCH_OPS, STEPS, Genotype, Pair, canonicalize, validate
from .base import ArchParseError

PREFIX = "NetworkSelectorDatasetInfo:darts:"
N_EDGES = 14


def edge_start(node: int) -> int:
    """Number of the first candidate edge into intermediate node ``node`` (2..5)."""
    return sum(range(2, node))


def edge_name(cell: str, edge: int) -> str:
    return f"{PREFIX}edge_{cell}_{edge}"


def inputs_name(cell: str, node: int) -> str:
    return f"{PREFIX}inputs_node_{cell}_{node}"


def yahpo_name(name: str) -> str:
    """The YAHPO Gym spelling of an NB301 hyperparameter name (``:`` -> ``_COLON_``)."""
    return name.replace(":", "_COLON_")


def all_names() -> list[str]:
    """Every NB301 cell hyperparameter name (28 edges, then 6 input pairs)."""
    edges = [edge_name(c, e) for c in CELLS for e in range(N_EDGES)]
    inputs = [inputs_name(c, n) for c in CELLS for n in range(3, STEPS + 2)]
    return edges + inputs


def genotype_to_config(g: Genotype) -> dict[str, str]:
    """The NB301 configuration of genotype ``g`` (the active hyperparameters only).

    Raises ``ValueError`` for a genotype outside the NB301 space (``none``, other concats, or a node
    whose two edges share an input).
    """
    try:
        validate(g)
    except ArchParseError as e:
        raise ValueError(f"arch: {e}") from None
    cfg: dict[str, str] = {}
    for cell in CELLS:
        pairs = g.cell(cell)
        for i in range(STEPS):
            node = i + 2
            two = pairs[2 * i : 2 * i + 2]
            for op, inp in two:
                cfg[edge_name(cell, edge_start(node) + inp)] = op
            if node > 2:
                a, b = sorted(p.input for p in two)
                cfg[inputs_name(cell, node)] = f"{a}_{b}"
    return cfg


def config_to_genotype(config: Mapping[str, str]) -> Genotype:
    """The canonical genotype of an NB301 configuration (NB301 or YAHPO names).

    Inactive hyperparameters may be absent or ``"#na#"``; an active one that is missing, an op
    outside the DARTS set or a malformed input pair is a one-line ``ValueError``.
    """
    cfg = {str(k).replace("_COLON_", ":"): v for k, v in config.items()}
    cells: list[tuple[Pair, ...]] = []
    for cell in CELLS:
        pairs: list[Pair] = []
        for i in range(STEPS):
            node = i + 2
            if node == 2:
                inputs = (0, 1)
            else:
                key = inputs_name(cell, node)
                raw = cfg.get(key)
                try:
                    a, b = (int(x) for x in str(raw).split("_"))
                except ValueError:
                    raise ValueError(f"config: {key} must be 'j_k' with 0 <= j < k < {node}, got {raw!r}") from None
                if not 0 <= a < b < node:
                    raise ValueError(f"config: {key} must be 'j_k' with 0 <= j < k < {node}, got {raw!r}")
                inputs = (a, b)
            for inp in inputs:
                key = edge_name(cell, edge_start(node) + inp)
                op = cfg.get(key)
                if op not in SEARCH_OPS:
                    raise ValueError(f"config: {key} must be one of {', '.join(SEARCH_OPS)}, got {op!r}")
                pairs.append(Pair(str(op), inp))
        cells.append(tuple(pairs))
        used = {edge_name(cell, edge_start(i // 2 + 2) + p.input) for i, p in enumerate(pairs)}
        stray = sorted(k for e in range(N_EDGES) if (k := edge_name(cell, e)) not in used
                       and cfg.get(k) not in (None, "#na#"))
        if stray:
            raise ValueError(f"config: {stray[0]} is set but inactive for the input pairs given")
    return canonicalize(Genotype(cells[0], DEFAULT_CONCAT, cells[1], DEFAULT_CONCAT))
