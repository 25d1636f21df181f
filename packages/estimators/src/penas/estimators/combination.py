"""Training-free combinations of estimators: log-rank sum (AZ-NAS), mean rank (TE-NAS), the
PE-NAS vote -- over any list of estimators, and itself an :class:`~penas.estimators.base.Estimator`.

Every rule works on a *table* ``{member: oriented scores}`` (higher is better, NaN = invalid)
and on ranks taken **against a reference set** of archs:

* ``reference=None`` -- the reference is the scored set itself: exactly the published
  aggregations, where each arch is ranked among the archs being compared;
* ``reference=<archs>`` or ``reference=<int n>`` (a seeded sample of n archs of the space) --
  each arch is ranked as if inserted into the fixed reference, so its score does not depend on
  which other archs are scored with it (shards of a sweep, one REA child at a time, the store).

Ranks are average ranks (ties share the mean position, ``scipy.stats.rankdata``); an invalid
(NaN) score ranks below every finite one, the place the references' ``-inf`` takes.

Rules (:data:`METHODS`):

* ``log_rank`` -- ``sum_m log(rank_m / N)`` (AZ-NAS, ``tss_utils.get_scores`` of the
  reference; VKDNW_agg uses the same rule);
* ``mean_rank`` -- ``mean_m rank_m / N`` (TE-NAS sums the two ranks: the same order);
* ``vote`` -- the PE-NAS vote: the number of members whose score is strictly above their
  ``q``-quantile over the reference (:func:`thresholds`, :func:`votes`: the rule the staged
  PE-NAS search prunes with), ties broken by the mean rank: ``votes + mean_rank - 1`` (votes
  differ by at least 1, the mean rank lies in (0, 1]).

Presets registered as estimators (:data:`PRESETS`): ``az_nas``, ``te_nas``, ``vkdnw_agg``,
``pe_nas_vote``; ``combination`` takes any ``members=[...]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._registry import get_estimator, register_estimator
from .base import Estimator, ScoreResult

METHODS = ("log_rank", "mean_rank", "vote")

#: name -> (members, method); members are registered estimator names.
PRESETS: dict[str, tuple[tuple[str, ...], str]] = {
    "az_nas": (("az_expressivity", "az_progressivity", "az_trainability", "az_complexity"), "log_rank"),
    "te_nas": (("tenas_ntk", "tenas_lr"), "mean_rank"),
    "vkdnw_agg": (("vkdnw", "jacob_cov", "az_expressivity", "az_trainability", "az_complexity"), "log_rank"),
    "pe_nas_vote": (("l2_norm", "nwot", "zen"), "vote"),
}


# --- rules on score tables -------------------------------------------------------------------
def _column(scores: Sequence[float] | np.ndarray, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {s.shape}")
    return s


def relative_ranks(scores: Sequence[float] | np.ndarray, reference: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Average ranks in (0, 1] (1 = best) of ``scores`` (higher is better; NaN lowest).

    Without ``reference`` each score is ranked among ``scores`` (``rankdata / N``); with it,
    each is ranked as if inserted alone into ``reference`` (``rank / (len(reference) + 1)``).
    """
    s = _column(scores)
    s = np.where(np.isfinite(s), s, -np.inf)
    inside = reference is None
    ref = s if inside else _column(reference, "reference")
    ref = np.sort(np.where(np.isfinite(ref), ref, -np.inf))
    lo = np.searchsorted(ref, s, side="left")
    eq = np.searchsorted(ref, s, side="right") - lo
    if inside:  # each score is inside its own tie group
        return (lo + (eq + 1) / 2.0) / max(ref.size, 1)
    return (lo + eq / 2.0 + 1.0) / (ref.size + 1)


def _check_table(table: Mapping[str, Sequence[float] | np.ndarray]) -> dict[str, np.ndarray]:
    if not table:
        raise ValueError("members: expected at least one estimator")
    cols = {k: _column(v, k) for k, v in table.items()}
    n = {c.size for c in cols.values()}
    if len(n) != 1:
        raise ValueError(f"members: every column needs one score per arch, got lengths {sorted(n)}")
    return cols


def _ranks(table: Mapping[str, Any], reference: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    cols = _check_table(table)
    if reference is not None:
        missing = [k for k in cols if k not in reference]
        if missing:
            raise ValueError(f"reference: no scores for members {missing}")
    return {k: relative_ranks(v, None if reference is None else reference[k]) for k, v in cols.items()}


def log_rank_sum(table: Mapping[str, Any], reference: Mapping[str, Any] | None = None) -> np.ndarray:
    """AZ-NAS's aggregation: ``sum over members of log(relative rank)`` (higher is better)."""
    return np.sum([np.log(r) for r in _ranks(table, reference).values()], axis=0)


def mean_rank(table: Mapping[str, Any], reference: Mapping[str, Any] | None = None) -> np.ndarray:
    """Mean relative rank over members, in (0, 1] (higher is better)."""
    return np.mean(list(_ranks(table, reference).values()), axis=0)


def thresholds(score_table: Mapping[str, Sequence[float] | np.ndarray], q: float) -> dict[str, float]:
    """Per-proxy ``q``-quantile over the finite scores (NaN when a proxy has none)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q: expected a quantile in [0, 1], got {q}")
    out = {}
    for name, s in score_table.items():
        a = _column(s)
        a = a[np.isfinite(a)]
        out[name] = float(np.quantile(a, q)) if a.size else float("nan")
    return out


def votes(score_table: Mapping[str, Sequence[float] | np.ndarray], thr: Mapping[str, float]) -> np.ndarray:
    """Number of proxies on which each arch is strictly above the proxy's threshold (NaN never passes)."""
    names = list(score_table)
    if not names:
        raise ValueError("score_table: expected at least one proxy")
    missing = [n for n in names if n not in thr]
    if missing:
        raise ValueError(f"thresholds: missing proxies {missing}")
    cols = [_column(score_table[n]) for n in names]
    n = cols[0].size
    if any(c.size != n for c in cols):
        raise ValueError("score_table: every proxy needs one score per arch")
    v = np.zeros(n, dtype=np.int64)
    for name, c in zip(names, cols, strict=True):
        with np.errstate(invalid="ignore"):
            v += (np.isfinite(c) & (c > thr[name])).astype(np.int64)
    return v


def vote_score(table: Mapping[str, Any], reference: Mapping[str, Any] | None = None, q: float = 0.5) -> np.ndarray:
    """The PE-NAS vote as a score: votes (thresholds = ``q``-quantiles of the reference) + mean rank - 1."""
    cols = _check_table(table)
    thr = thresholds(cols if reference is None else {k: reference[k] for k in cols}, q)
    return votes(cols, thr) + mean_rank(cols, reference) - 1.0


def combine(table: Mapping[str, Any], method: str, reference: Mapping[str, Any] | None = None, q: float = 0.5) -> np.ndarray:
    """Apply the rule ``method`` (one of :data:`METHODS`) to an oriented score table."""
    if method == "log_rank":
        return log_rank_sum(table, reference)
    if method == "mean_rank":
        return mean_rank(table, reference)
    if method == "vote":
        return vote_score(table, reference, q)
    raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")


# --- the estimator ---------------------------------------------------------------------------
class CombinedEstimator(Estimator):
    """A training-free combination of ``members`` (estimator names or instances) by ``method``.

    Parameters
    ----------
    space : Space
        The space the members score.
    members : sequence of str or Estimator
        Names are built with ``get_estimator(name, space, **member_cfg)``.
    method : str
        ``log_rank``, ``mean_rank`` or ``vote`` (see the module docs).
    reference : None, int or sequence of archs
        What ranks are taken against: the scored set (``None``), ``n`` seeded archs of the
        space, or the given archs.
    q : float
        The vote's quantile (PE-NAS drops the worst ``q``).
    member_cfg : dict, optional
        Settings for members given by name (e.g. ``protocol``, ``data``, ``batch_size``).
    store, executor : optional
        Member scores go through :func:`~penas.estimators.scoring.cached_scores` with them
        (zero-cost members sharing a configuration are scored on one build per arch).
    seed : int
        Seed of the reference sample when ``reference`` is an int.
    name : str, optional
        The estimator's name (default ``combination``; the presets pass theirs).
    """

    name = "combination"

    def __init__(
        self,
        space: Any,
        members: Sequence[str | Estimator],
        method: str = "log_rank",
        reference: None | int | Sequence[Any] = None,
        q: float = 0.5,
        member_cfg: dict[str, Any] | None = None,
        store: Any = None,
        executor: Any = None,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
        if not members:
            raise ValueError("members: expected at least one estimator")
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q: expected a quantile in [0, 1], got {q}")
        cfg = dict(member_cfg or {})
        self.members = [get_estimator(m, space, **cfg) if isinstance(m, str) else m for m in members]
        labels = [m.name for m in self.members]
        if len(set(labels)) != len(labels):
            raise ValueError(f"members: names must be distinct, got {labels}")
        if isinstance(reference, bool) or (isinstance(reference, int) and reference < 2):
            raise ValueError(f"reference: expected None, an int >= 2 or a list of archs, got {reference!r}")
        self.method, self.q, self.store, self.executor = method, float(q), store, executor
        self._reference_spec = reference
        self._ref_ids: list[str] | None = None
        self._ref_table: dict[str, np.ndarray] | None = None
        super().__init__(space, method=method, q=float(q), seed=int(seed))
        if name is not None:
            self.name = name

    # --- configuration ----------------------------------------------------------------------
    def reference_ids(self) -> list[str] | None:
        """The reference archs (canonical ids), or ``None`` for the scored set."""
        spec = self._reference_spec
        if spec is None:
            return None
        if self._ref_ids is None:
            if isinstance(spec, int):
                rng = np.random.default_rng(self.cfg["seed"])
                archs = [self.space.sample(rng) for _ in range(spec)]
            else:
                archs = [self.space.parse(a) if isinstance(a, str) else a for a in spec]
            self._ref_ids = list(dict.fromkeys(self.space.format(a) for a in archs))
        return self._ref_ids

    def config(self) -> dict[str, Any]:
        ref = self.reference_ids()
        from .base import config_hash

        return {
            "estimator": self.name,
            "method": self.method,
            "q": self.q if self.method == "vote" else None,
            "members": {m.name: m.config_hash for m in self.members},
            "reference": "scored-set" if ref is None else config_hash({"ids": ref}),
        }

    # --- scoring ----------------------------------------------------------------------------
    def member_table(self, archs: Sequence[Any]) -> dict[str, np.ndarray]:
        """``{member: oriented scores of archs}`` (zero-cost members share one build per arch)."""
        from .scoring import cached_scores
        from .zero_cost import ZeroCostEstimator

        out: dict[str, np.ndarray] = {}
        groups: dict[str, list[ZeroCostEstimator]] = {}
        for m in self.members:
            if isinstance(m, ZeroCostEstimator):
                key = repr({k: v for k, v in m.config().items() if k not in ("estimator", "dtype", "bn_mode")})
                groups.setdefault(key, []).append(m)
        for group in groups.values():
            multi = group[0].with_proxies([g.spec.name for g in group])
            table = cached_scores(multi, archs, self.store, self.executor)
            for g in group:
                out[g.name] = table[g.spec.name].oriented()
        for m in self.members:
            if m.name not in out:
                out[m.name] = cached_scores(m, archs, self.store, self.executor).one().oriented()
        return {m.name: out[m.name] for m in self.members}

    def reference_table(self) -> dict[str, np.ndarray] | None:
        ids = self.reference_ids()
        if ids is None:
            return None
        if self._ref_table is None:
            self._ref_table = self.member_table(ids)
        return self._ref_table

    def combine(self, table: Mapping[str, Any]) -> np.ndarray:
        """This estimator's rule on an oriented member table (against its reference)."""
        return combine(table, self.method, self.reference_table(), self.q)

    def score_result(self, archs: Sequence[Any]) -> ScoreResult:
        parsed = [self.space.parse(a) if isinstance(a, str) else a for a in archs]
        ids = [self.space.format(a) for a in parsed]
        if not ids:
            return ScoreResult([], np.zeros(0), [])
        vals = self.combine(self.member_table(ids)).astype(np.float64)
        return ScoreResult(ids, vals, [self.provenance(i) for i in ids])

    def _score_one(self, arch: Any) -> float:
        if self._reference_spec is None:
            raise ValueError(
                f"{self.name}: with reference=None scores are relative to the scored set; "
                "score a list of archs, or pass reference=<n or archs> to score one at a time"
            )
        return float(self.score_result([arch]).scores[0])


register_estimator("combination")(CombinedEstimator)


def _preset_factory(preset: str):
    members, method = PRESETS[preset]

    def factory(space: Any, **cfg: Any) -> CombinedEstimator:
        cfg.setdefault("members", members)
        cfg.setdefault("method", method)
        return CombinedEstimator(space, name=preset, **cfg)

    factory.__name__ = f"combination_{preset}"
    return factory


for _name in PRESETS:
    register_estimator(_name)(_preset_factory(_name))

__all__ = [
    "METHODS",
    "PRESETS",
    "CombinedEstimator",
    "combine",
    "log_rank_sum",
    "mean_rank",
    "relative_ranks",
    "thresholds",
    "vote_score",
    "votes",
]
