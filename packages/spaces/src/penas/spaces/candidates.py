"""The one candidate selector: which archs a command scores or searches.

Spec (``--archs`` / ``--candidates`` / ``archs:`` in a study)::

    all        every arch of the space (a space that cannot be enumerated: the benchmark's archs)
    benchmark  the archs of the space's benchmark table (a search stays inside them)
    sample:N   N distinct archs drawn with the seed (from the benchmark's archs when the space
               cannot be enumerated but has a table), N >= 1
    deiso      one arch per isomorphism class (the canonical one); enumerable spaces only
    auto       benchmark for a sampled benchmark (fewer rows than the space), else all, or
               sample:1000 for a space too large to enumerate (only where ``allow_auto``)
    FILE       a text file with one arch id per line (``#`` comments and blank lines skipped)

Every bad spec is a one-line ``ValueError`` naming the option.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import SpaceNotFiniteError

#: Enumerating more archs than this for ``auto`` is not worth it; ``auto`` samples instead.
AUTO_ENUMERATE_MAX = 10**6
AUTO_SAMPLE = 1000


@dataclass(frozen=True)
class Candidates:
    """The selected arch ids, the spec they came from, and whether they are a benchmark's rows."""

    ids: list[str]
    spec: str
    from_benchmark: bool = False


def _expected(allow_auto: bool) -> str:
    return "all, benchmark, " + ("auto, " if allow_auto else "") + "deiso, sample:N (N >= 1) or a file of arch ids"


def _enumerate(space: Any) -> list[str]:
    return [space.format(a) for a in space.enumerate()]


def _sample_n(spec: str, option: str, allow_auto: bool) -> int:
    try:
        n = int(spec.split(":", 1)[1])
    except ValueError:
        n = -1
    if n < 1:
        raise ValueError(f"{option}: expected {_expected(allow_auto)}, got {spec!r}")
    return n


def _read_file(space: Any, path: Path, option: str) -> list[str]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{option}: cannot read {path}: {e.__class__.__name__}") from None
    ids: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            ids.append(space.arch_id(line))
        except Exception as e:  # noqa: BLE001 - any parse failure is the file's fault
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ValueError(f"{option}: {path}:{lineno}: not a {space.name} arch id ({msg})") from None
    if not ids:
        raise ValueError(f"{option}: {path} holds no arch ids")
    return ids


def select_candidates(
    space: Any,
    spec: str,
    seed: int | Sequence[int],
    bench: Any = None,
    *,
    option: str = "--archs",
    bench_reason: str = "",
    allow_auto: bool = False,
    sort_samples: bool = False,
) -> Candidates:
    """The arch ids ``spec`` selects in ``space`` (see the module docs).

    Parameters
    ----------
    space : Space
        The search space.
    spec : str
        ``all | benchmark | sample:N | deiso | auto | FILE``.
    seed : int or sequence of int
        Seed of the ``sample:N`` draw (``numpy.random.default_rng(seed)``).
    bench : BenchmarkTable, optional
        The space's benchmark table (``None``: none could be opened; ``bench_reason`` says why).
    option : str
        The option named in errors.
    allow_auto : bool
        Whether ``auto`` is accepted.
    sort_samples : bool
        Sort the ids a ``sample:N`` of the space draws (the search does; ``evaluate`` keeps
        the draw order).

    Returns
    -------
    Candidates
        ``ids`` in a deterministic order, ``from_benchmark`` when they are table rows.

    Examples
    --------
    >>> from penas.spaces import get_space
    >>> from penas.spaces.candidates import select_candidates
    >>> sel = select_candidates(get_space("nasbench_macro"), "sample:3", seed=0)
    >>> len(sel.ids), sel.from_benchmark
    (3, False)
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"{option}: expected {_expected(allow_auto)}, got {spec!r}")
    size = space.size
    if spec == "auto":
        if not allow_auto:
            raise ValueError(f"{option}: expected {_expected(False)}, got 'auto'")
        if bench is not None and (size is None or len(bench) < size):
            spec = "benchmark"  # a sampled benchmark (e.g. the NB301 table): search inside it
        elif size is not None and size <= AUTO_ENUMERATE_MAX:
            try:
                return Candidates(_enumerate(space), "all")
            except SpaceNotFiniteError:
                spec = f"sample:{AUTO_SAMPLE}"
        else:
            spec = f"sample:{AUTO_SAMPLE}"
    if spec == "all":
        if size is not None:
            try:
                return Candidates(_enumerate(space), "all")
            except SpaceNotFiniteError:
                pass
        if bench is not None:
            return Candidates(sorted(str(a) for a in bench.arch_ids), "all", True)
        raise ValueError(f"{option}: space {space.name!r} cannot be enumerated and has no benchmark table; "
                         "use sample:N or a file")
    if spec == "benchmark":
        if bench is None:
            raise ValueError(f"{option}: benchmark: no table for {space.name!r} ({bench_reason or 'none found'})")
        return Candidates(sorted(str(a) for a in bench.arch_ids), "benchmark", True)
    if spec == "deiso":
        try:
            if size is None:
                raise SpaceNotFiniteError(space.name)
            return Candidates(list(dict.fromkeys(space.format(space.canonical(a)) for a in space.enumerate())),
                              "deiso")
        except SpaceNotFiniteError:
            raise ValueError(f"{option}: deiso needs an enumerable space; {space.name!r} is not") from None
    if spec.startswith("sample:"):
        n = _sample_n(spec, option, allow_auto)
        rng = np.random.default_rng(seed)
        if bench is not None and size is None:
            rows = sorted(str(a) for a in bench.arch_ids)
            pick = sorted(rng.choice(len(rows), size=min(n, len(rows)), replace=False))
            return Candidates([rows[i] for i in pick], spec, True)
        drawn = [space.format(a) for a in space.sample_many(min(n, size) if size is not None else n, rng)]
        return Candidates(sorted(drawn) if sort_samples else drawn, spec)
    path = Path(spec)
    if path.is_file():
        return Candidates(_read_file(space, path, option), spec)
    raise ValueError(f"{option}: expected {_expected(allow_auto)}, got {spec!r}")


__all__ = ["Candidates", "select_candidates"]
