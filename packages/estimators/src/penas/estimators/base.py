"""The estimator interface shared by every performance estimator in penas.

An estimator maps architectures (of one space) to scores. ``higher_is_better`` declares the
direction; :meth:`Estimator.oriented` returns scores where higher is always better, which is
what the metrics layer consumes. Invalid scores (NaN/inf) are kept as NaN and reported, never
replaced by a sentinel like -1e8.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from penas.spaces import Space


def library_versions() -> dict[str, str]:
    """Versions of python, torch, numpy and the penas packages (recorded in every provenance)."""
    return dict(_library_versions())


@functools.cache
def _library_versions() -> dict[str, str]:  # metadata lookups are slow; versions do not change in a run
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("torch", "numpy", "penas-spaces", "penas-estimators", "penas-supernets"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def config_hash(config: dict[str, Any]) -> str:
    """Stable short hash of a JSON-serialisable config (the score-store key)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    """Everything needed to reproduce one score."""

    space: str
    arch_id: str
    estimator: str
    seed: int | None = None
    batch_size: int | None = None
    data_fingerprint: str | None = None
    dtype: str | None = None
    bn_mode: str | None = None
    config_hash: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # dataclasses.asdict deep-copies every value; this runs once per stored score, so copy
        # only the two mutable fields (their values are plain JSON data).
        out = {f: getattr(self, f) for f in _PROVENANCE_FIELDS}
        out["versions"], out["extra"] = dict(self.versions), dict(self.extra)
        return out


_PROVENANCE_FIELDS = tuple(f.name for f in fields(Provenance))


class Provenances(Sequence[Provenance]):
    """The provenances of many archs that differ only in ``arch_id`` (:meth:`Estimator.provenances`),
    each built when it is read: a search scores ~10^4 archs per stage and keeps few provenances."""

    def __init__(self, template: Provenance, arch_ids: Sequence[str]) -> None:
        self.template = template
        self.arch_ids = list(arch_ids)

    def __len__(self) -> int:
        return len(self.arch_ids)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return Provenances(self.template, self.arch_ids[i])
        return replace(self.template, arch_id=self.arch_ids[i])

    def to_dicts(self) -> list[dict[str, Any]]:
        """``[p.to_dict() for p in self]``, from one ``to_dict`` of the template."""
        base = self.template.to_dict()
        return [{**base, "arch_id": a, "versions": dict(base["versions"]), "extra": dict(base["extra"])}
                for a in self.arch_ids]


class ProvenanceRows(Sequence[dict[str, Any]]):
    """The stored form (``to_dict()``) of a :class:`ScoreResult`'s provenances, built on first read
    (a shard scored without a score store never reads them). Rows are built once, so changes to
    them (the executors' worker tag) stay."""

    def __init__(self, provenance: Sequence[Any]) -> None:
        self._source: Sequence[Any] | None = provenance
        self._rows: list[dict[str, Any]] | None = None

    @property
    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            src = self._source
            assert src is not None
            self._rows = src.to_dicts() if isinstance(src, Provenances) else [p.to_dict() for p in src]
            self._source = None
        return self._rows

    def __len__(self) -> int:
        return len(self._rows if self._rows is not None else self._source)  # type: ignore[arg-type]

    def __getitem__(self, i: Any) -> Any:
        return self.rows[i]

    def __iter__(self) -> Any:
        return iter(self.rows)


class StoredProvenance:
    """A provenance row kept exactly as given (for estimators whose stored rows have their own
    compact form, e.g. the one-shot per-batch scores); ``to_dict`` like :class:`Provenance`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = dict(values)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass
class ScoreResult:
    """Scores of a list of archs, aligned with ``arch_ids``; NaN marks an invalid score."""

    arch_ids: list[str]
    scores: np.ndarray
    provenance: Sequence[Provenance | StoredProvenance]

    @property
    def n_invalid(self) -> int:
        return int(np.count_nonzero(~np.isfinite(self.scores)))


class Estimator(ABC):
    """Scores architectures of one space.

    Subclasses set ``name`` and ``higher_is_better`` and implement :meth:`_score_one` (or
    override :meth:`score_result` for batched work). ``config()`` must return every setting
    that changes the score; its hash keys the score store.

    A *multi-output* estimator (``multi_output = True``) scores several named columns in one
    pass: :meth:`columns` maps each column label to the estimator whose store key it fills and
    :meth:`score_columns` returns one :class:`ScoreResult` per label.
    """

    name: str = ""
    higher_is_better: bool = True
    multi_output: bool = False
    #: ``False`` for look-ups (benchmark tables, surrogates) that cost less to recompute than to
    #: store: :func:`~penas.estimators.scoring.cached_scores` then bypasses the score store.
    cacheable: bool = True

    def __init__(self, space: Space, **cfg: Any) -> None:
        self.space = space
        self.cfg = dict(cfg)

    def config(self) -> dict[str, Any]:
        return {"estimator": self.name, **self.cfg}

    @property
    def config_hash(self) -> str:
        return config_hash(self.config())

    def provenance(self, arch_id: str, **extra: Any) -> Provenance:
        c = self.config()
        return Provenance(
            space=self.space.name,
            arch_id=arch_id,
            estimator=self.name,
            seed=c.get("seed"),
            batch_size=c.get("batch_size"),
            data_fingerprint=c.get("data_fingerprint"),
            dtype=c.get("dtype"),
            bn_mode=c.get("bn_mode"),
            config_hash=self.config_hash,
            versions=library_versions(),
            extra=extra,
        )

    def provenances(self, arch_ids: Sequence[str], **extra: Any) -> Sequence[Provenance]:
        """:meth:`provenance` of many archs (the config and its hash computed once, each
        provenance built when it is read: :class:`Provenances`)."""
        if not arch_ids:
            return []
        return Provenances(self.provenance(arch_ids[0], **extra), arch_ids)

    @abstractmethod
    def _score_one(self, arch: Any) -> float:
        """Raw score of one arch (NaN when the estimator cannot score it)."""

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.arch_id(a) for a in archs]  # strings: remembered by the space
        vals = np.array([_as_float(self._score_one(a)) for a in parsed], dtype=np.float64)
        return ScoreResult(ids, vals, self.provenances(ids))

    def columns(self) -> dict[str, Estimator]:
        """``{column label: estimator}`` of the scores this one produces (``{name: self}`` unless
        multi-output); each column is stored under its estimator's name and config hash."""
        return {self.name: self}

    def score_columns(self, archs: Sequence[Any]) -> dict[str, ScoreResult]:
        """``{column label: ScoreResult}`` for ``archs`` (one column unless multi-output)."""
        return {self.name: self.score_result(archs)}

    def score(self, archs: Sequence[Any]) -> np.ndarray:
        """Raw scores (the estimator's own direction), NaN for invalid ones."""
        return self.score_result(archs).scores

    def oriented(self, scores: np.ndarray) -> np.ndarray:
        """Scores turned so that higher is better."""
        s = np.asarray(scores, dtype=np.float64)
        return s if self.higher_is_better else -s


def _as_float(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v if np.isfinite(v) else float("nan")
