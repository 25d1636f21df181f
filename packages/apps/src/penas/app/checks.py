"""Up-front checks of the command line's inputs and output locations.

Every command calls these before it computes anything, so a bad option ends with one line
(``error: --option: what was expected, got what``, exit code 2) and leaves nothing behind:

* output directories and files: the path is not under a file, its nearest existing directory is
  writable and has room for a small probe write (a read-only or full disk is caught here);
* score stores: an existing file must be a penas score store (opened read-only to look; a
  foreign database is never modified); a new one must be creatable;
* names (proxies, estimators, data specs, ground-truth dataset and metric) and counts.

Nothing here imports torch at import time.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

PROBE_BYTES = 64 * 1024  # a write this large must succeed where outputs go


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _probe_write(directory: Path, option: str, target: Path) -> None:
    probe = directory / f".penas-write-check-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        why = "disk full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e)).lower()
        raise ValueError(f"{option}: cannot write to {target} ({why})") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def check_out_dir(path: str | os.PathLike[str], option: str) -> Path:
    """``path`` can be (or already is) a directory this process can write into; nothing is created."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{option}: {p} is a file; expected a directory")
    base = _nearest_existing(p)
    if not base.is_dir():
        raise ValueError(f"{option}: {p} is under the file {base}; expected a directory path")
    _probe_write(base, option, p)
    return p


def check_out_file(path: str | os.PathLike[str], option: str) -> Path:
    """``path`` can be written as a file (its directory is creatable and writable)."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{option}: {p} is a directory; expected a file path")
    check_out_dir(p.parent if str(p.parent) else Path("."), option)
    return p


def check_store(path: str | os.PathLike[str] | None, option: str, *, readonly: bool = False) -> None:
    """An existing file must be a penas score store (looked at read-only); a new one must be
    creatable. ``readonly``: the store must exist. Nothing is created or modified."""
    if path is None:
        return
    from penas.estimators.store import ScoreStore, StoreError

    p = Path(path)
    if readonly and not p.exists():
        raise ValueError(f"{option}: no score store at {p}")
    if p.is_dir():
        raise ValueError(f"{option}: {p} is a directory; expected a score store file")
    if p.exists() and (readonly or p.stat().st_size > 0):
        try:
            ScoreStore(p, readonly=True)
        except StoreError as e:
            raise ValueError(f"{option}: {e}") from None
    if not readonly:
        if p.exists() and not os.access(p, os.W_OK):
            raise ValueError(f"{option}: {p} is not writable")
        check_out_file(p, option)


def open_store(path: str | os.PathLike[str], option: str, *, readonly: bool = False) -> Any:
    """:class:`~penas.estimators.store.ScoreStore` at ``path``; errors name ``option``."""
    from penas.estimators.store import ScoreStore, StoreError

    check_store(path, option, readonly=readonly)
    try:
        return ScoreStore(path, readonly=readonly)
    except StoreError as e:
        raise ValueError(f"{option}: {e}") from None


def check_space(name: str, where: str = "") -> None:
    """A registered space name (one-line error listing the known ones); ``where`` prefixes the message."""
    from penas.spaces import SPACES

    if name not in SPACES:
        raise ValueError(f"{where}space: unknown space {name!r}; expected one of: {', '.join(SPACES.names())}")


def positive(value: int | float | None, option: str, *, minimum: int | float = 1) -> None:
    """``value`` is None or at least ``minimum``."""
    if value is not None and not (value >= minimum):
        raise ValueError(f"{option}: expected a number >= {minimum}, got {value}")


def check_proxies(names: Sequence[str], option: str) -> None:
    from penas.estimators.proxies import list_proxies

    if not names:
        raise ValueError(f"{option}: expected at least one zero-cost proxy name")
    known = list_proxies()
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"{option}: unknown proxy {bad[0]!r}; expected names among: {', '.join(known)}")


def check_estimators(names: Iterable[str], option: str) -> None:
    from penas.estimators import ESTIMATORS

    for n in names:
        if n not in ESTIMATORS:
            raise ValueError(f"{option}: unknown estimator {n!r}; expected one of: {', '.join(ESTIMATORS.names())}")


def check_data(spec: str, option: str, *, allow_auto: bool = True) -> None:
    """A data spec (``auto``, ``synthetic:N``, ``cifar10:DIR``, ...) parses and its directory exists."""
    from penas.spaces.datasets.spec import parse_data_spec

    if allow_auto and spec == "auto":
        return
    ds = parse_data_spec(spec, option)
    arg = getattr(ds, "arg", None)
    if arg is not None and not str(arg).isdigit() and not Path(arg).exists():
        raise ValueError(f"{option}: {arg} does not exist; expected an existing directory in {spec!r}")


def check_zero_cost(protocol: str, batch_size: int, data: str, *, prefix: str = "--zc-",
                    seed: int | None = None, n_batches: int | None = None) -> None:
    """Zero-cost protocol, batch size, data spec (and seed / batch count) before any scoring."""
    from penas.estimators.protocols import PROTOCOLS

    if protocol not in PROTOCOLS:
        raise ValueError(f"{prefix}protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    positive(batch_size, f"{prefix}batch-size")
    positive(n_batches, f"{prefix}batches")
    positive(seed, f"{prefix}seed", minimum=0)
    check_data(data, f"{prefix}data")


def check_gt(space: Any, metric: str, dataset: str | None, *, prefix: str = "--gt-", gt_source: str = "table") -> None:
    """The ground-truth dataset exists for ``space`` and, where a table (or the ``gt_source``
    surrogate) is installed, has ``metric``."""
    from penas.estimators.simple import OracleEstimator

    gt = OracleEstimator(space, dataset=dataset, metric=metric, gt_source=gt_source)
    bench = gt.bench
    have = list(space.datasets) + [d for d in (bench.datasets if bench is not None else []) if d not in space.datasets]
    if dataset is not None and dataset not in have:
        raise ValueError(f"{prefix}dataset: {space.name!r} has no dataset {dataset!r}; expected one of: "
                         f"{', '.join(have)}")
    if bench is not None and metric != "auto" and gt.dataset in bench.datasets:
        metrics = bench.metrics(gt.dataset)
        if metric not in metrics:
            raise ValueError(f"{prefix}metric: {space.name!r} {gt.dataset} has no metric {metric!r}; expected auto "
                             f"or one of: {', '.join(metrics)}")


BAD_SCORE_CELLS = ("nan", "+nan", "-nan", "inf", "+inf", "infinity", "+infinity")


def load_scores(path: str, space: str, option: str, name: str | None = None) -> dict[str, float]:
    """Precomputed scores as ``{arch_id: score}`` -- the one reader behind every ``--score-file``.

    ``path`` is a score file (FreeREA ``index,<score>``: each arch once, no ``nan`` or ``+inf``
    cell; ``-inf`` and an empty cell are its marks of an invalid arch: NaN, ranked last) or one of
    penas's own score tables, ``penas:<table>[:<column>]`` (the column defaults to ``name``, the
    ``NAME`` of ``NAME=penas:<table>``; see ``penas-app scores list-tables``).
    """
    import csv

    from penas.spaces.benchmarks import load_score_file

    if path.startswith("penas:"):
        from penas.estimators.score_tables import resolve_score_file

        ids, vals = resolve_score_file(path, space=space, column=name, option=option)
        return {a: float(v) for a, v in zip(ids, vals, strict=True)}
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{option}: no file at {path}")
    try:
        ids, vals = load_score_file(p, space=space)
        with p.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise ValueError(f"{option}: {path} is not a text CSV file (index,<score>)") from None
    head = [h.strip() for h in rows[0]] if rows else []
    cols = [j for j, h in enumerate(head) if h != "index" and not h.startswith("time")]
    cells = [r[cols[0]].strip().lower() if cols and cols[0] < len(r) else "" for r in rows[1:] if r]
    out: dict[str, float] = {}
    for k, (a, v) in enumerate(zip(ids, vals, strict=True)):
        if a in out:
            raise ValueError(f"{option}: {path} lists arch {a} twice; expected each arch once")
        if k < len(cells) and cells[k] in BAD_SCORE_CELLS:
            raise ValueError(f"{option}: {path} has a {cells[k]!r} score for arch {a}; expected numbers "
                             "(-inf or an empty cell for an invalid arch)")
        out[a] = float(v)
    if not out:
        raise ValueError(f"{option}: {path} has no rows")
    return out


def read_text_file(path: str | os.PathLike[str], option: str) -> str:
    """The UTF-8 text of ``path``; one line naming ``option`` when it is missing or binary."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{option}: no file at {p}")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{option}: {p} is not a UTF-8 text file") from None
