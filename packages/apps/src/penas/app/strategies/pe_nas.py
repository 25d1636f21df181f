"""PE-NAS staged search (Ours-A / B / C of [PE] ``scripts/PE-NAS/PE_NAS_{A,B,C}``).

Staged pruning of the candidate set with cheap-to-expensive performance estimators:

* **A**: zero-cost vote over *all* candidates (keep archs above the ``zc_quantile`` of at
  least ``min_votes`` proxies) -> one-shot stage (drop ``one_shot_drop``) -> partial training.
* **B / C**: zero-cost scores of ``rf_samples`` random candidates give per-proxy thresholds
  and pass/fail labels; a ``RandomForestClassifier(n_estimators=30, random_state=0)`` on the
  space encodings predicts P(pass) for the other candidates and keeps the top
  ``int(rf_keep_factor * (1 - zc_quantile) * N)``; those are scored and voted against the
  sample's thresholds -> one-shot stage -> partial training.
* Partial training: stage ``e`` (1-based) trains every survivor to ``e`` epochs in total
  (resuming from epoch ``e-1``) and drops the worst ``drops[e-1]`` fraction; the search
  stops when one arch is left. If several are left after the list, the best by the last
  stage's score is chosen.

Fixes relative to the reference (see :mod:`.pruning`): the B/C vote keeps the RF-selected
archs that *pass* (the reference removed them); no stage can empty the set (at least one is
kept); ties are broken by arch id, so results do not depend on enumeration order. When the
RF sample holds a single class (possible for C, where the per-proxy threshold is the 99th
percentile of 200 samples), the reference crashes (``predict_proba[:, 1]``); here a
``RandomForestRegressor`` (same trees/seed) on the sample's negated mean per-proxy rank ranks
the candidates instead, and the stage output says so.

Budget: ``max_trained`` caps the number of archs entering partial training (the best by the
previous stage are kept). Every stage's ``kept`` list is ordered best first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import pruning
from .base import SearchContext, SearchOutcome, StageOutput, Strategy

PT_DROPS_A: tuple[float, ...] = (
    0.75, 0.41, 0.46, 0.13, 0.26, 0.23, 0.05, 0.34, 0.07, 0.36, 0, 0.62, 0, 0, 0, 0, 0, 0, 0.2, 0.5, 0.33,
    0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1.0, 1.0,
)
PT_DROPS_B: tuple[float, ...] = (
    0.63, 0.24, 0.11, 0.43, 0.17, 0.34, 0.43, 0.13, 0, 0.07, 0.3, 0, 0.16, 0, 0, 0, 0, 0, 0, 0.5, 0.25, 0.5,
    0.5, 1.0, 1.0,
)
PT_DROPS_C: tuple[float, ...] = (0.41, 0.14, 0.27, 0.37, 0, 0.5, 0, 0, 0.66, 0, 0.5, 1.0, 1.0)


@dataclass(frozen=True)
class PENASParams:
    """Settings of one PE-NAS variant (the presets are :data:`PRESETS`)."""

    variant: str = "A"  # "A": vote over all candidates; "B": RF-accelerated vote (B and C)
    proxies: tuple[str, ...] = ("l2_norm", "nwot", "zen")
    zc_quantile: float = 0.8
    min_votes: int = 2
    rf_samples: int = 200
    rf_trees: int = 30
    rf_keep_factor: float = 2.0
    one_shot_drop: float = 0.8
    pt_drops: tuple[float, ...] = field(default=PT_DROPS_A)
    max_trained: int | None = None

    def __post_init__(self) -> None:
        if self.variant not in ("A", "B"):
            raise ValueError(f"variant: expected 'A' (vote all) or 'B' (RF-accelerated), got {self.variant!r}")
        if not self.proxies:
            raise ValueError("proxies: expected at least one zero-cost proxy")
        if not 1 <= self.min_votes <= len(self.proxies):
            raise ValueError(f"min_votes: expected 1..{len(self.proxies)}, got {self.min_votes}")
        for name, q in (("zc_quantile", self.zc_quantile), ("one_shot_drop", self.one_shot_drop)):
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"{name}: expected a value in [0, 1], got {q}")
        for i, q in enumerate(self.pt_drops):
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"pt_drops[{i}]: expected a drop ratio in [0, 1], got {q}")
        if self.rf_samples < 2:
            raise ValueError(f"rf_samples: expected at least 2, got {self.rf_samples}")
        if self.max_trained is not None and self.max_trained < 1:
            raise ValueError(f"max_trained: expected a positive integer, got {self.max_trained}")


PRESETS: dict[str, PENASParams] = {
    "pe-nas-a": PENASParams("A", zc_quantile=0.8, one_shot_drop=0.8, pt_drops=PT_DROPS_A),
    "pe-nas-b": PENASParams("B", zc_quantile=0.9, one_shot_drop=0.8, pt_drops=PT_DROPS_B),
    "pe-nas-c": PENASParams("B", zc_quantile=0.99, one_shot_drop=0.9, pt_drops=PT_DROPS_C),
}


def zc_role(proxy: str) -> str:
    return f"zc:{proxy}"


class PENAS(Strategy):
    """The staged PE-NAS search; see the module docs."""

    name = "pe-nas"

    def __init__(self, params: PENASParams | None = None, **overrides: Any) -> None:
        base = params or PENASParams()
        self.p = PENASParams(**{**asdict(base), **{k: v for k, v in overrides.items() if v is not None}})

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def roles(self) -> tuple[str, ...]:
        """The zero-cost vote's proxies, then the optional one-shot and partial-training stages."""
        return (*self._roles(), "one_shot", "partial")

    # --- stages -------------------------------------------------------------------------
    def _roles(self) -> list[str]:
        return [zc_role(p) for p in self.p.proxies]

    def _vote_stage(self, ctx: SearchContext, cands: list[str]) -> StageOutput:
        roles = self._roles()
        table = ctx.score_table(roles, cands)
        thr = pruning.thresholds(table, self.p.zc_quantile)
        kept = pruning.vote_keep(cands, table, thr, self.p.min_votes)
        kept = _rank_by_votes(kept, cands, table, thr)
        return StageOutput(kept, _as_maps(cands, table), {"thresholds": thr, "n_in": len(cands)})

    def _rf_stages(self, ctx: SearchContext, cands: list[str]) -> StageOutput:
        from penas.estimators.predictor import RandomForestPredictor

        roles = self._roles()
        n = len(cands)
        if n <= self.p.rf_samples:
            ctx.log(f"warning: RF-accelerated PE-NAS (B/C) on {n} candidates, not more than its RF sample of "
                    f"{self.p.rf_samples}: the whole set is sampled and the random forest predicts nothing "
                    "(the run degenerates to variant A's vote); use more candidates or a smaller rf_samples")

        def sample_stage() -> StageOutput:
            m = min(self.p.rf_samples, n)
            sample = [cands[i] for i in sorted(ctx.rng.choice(n, size=m, replace=False))]
            table = ctx.score_table(roles, sample)
            thr = pruning.thresholds(table, self.p.zc_quantile)
            passed = pruning.vote(table, thr, self.p.min_votes)
            kept = [a for a, ok in zip(sample, passed, strict=True) if ok]
            return StageOutput(kept, _as_maps(sample, table), {
                "thresholds": thr, "sample": sample, "labels": [int(x) for x in passed],
                "mean_rank": pruning.mean_rank(table, sample).tolist(),
            })

        s1 = ctx.stage("zc-sample", sample_stage)
        sample, labels = s1.info["sample"], np.asarray(s1.info["labels"], dtype=np.int64)

        def rf_stage() -> StageOutput:
            in_sample = set(sample)
            others = [a for a in cands if a not in in_sample]
            k = int(self.p.rf_keep_factor * (1.0 - self.p.zc_quantile) * n)
            if not others or k < 1:
                return StageOutput([], {}, {"k": k, "model": "none"})
            if labels.min() != labels.max():
                model = RandomForestPredictor(ctx.space, task="classifier", n_estimators=self.p.rf_trees,
                                              random_state=0).fit(sample, labels)
                kind = "classifier: P(pass)"
            else:
                target = -np.asarray(s1.info["mean_rank"], dtype=np.float64)
                model = RandomForestPredictor(ctx.space, task="regressor", n_estimators=self.p.rf_trees,
                                              random_state=0).fit(sample, target)
                kind = f"regressor on -mean proxy rank (sample labels all {int(labels[0])})"
            pred = model.predict(others)
            kept = pruning.top_k(others, pred, k)
            return StageOutput(kept, {"rf": dict(zip(others, (float(x) for x in pred), strict=True))},
                               {"k": k, "model": kind, "n_positive": int(labels.sum())})

        s2 = ctx.stage("rf-predict", rf_stage)

        def check_stage() -> StageOutput:
            thr = {k: float(v) for k, v in s1.info["thresholds"].items()}
            selected = s2.kept
            table = ctx.score_table(roles, selected) if selected else {r: np.zeros(0) for r in roles}
            passed = pruning.vote(table, thr, self.p.min_votes) if selected else np.zeros(0, dtype=bool)
            rf_pass = [a for a, ok in zip(selected, passed, strict=True) if ok]  # fixed: keep the passers
            union = list(dict.fromkeys(s1.kept + rf_pass))
            if not union:  # at-least-one over everything scored so far
                pool = sample + selected
                full = {r: np.concatenate([np.asarray([s1.scores[r][a] for a in sample]), table[r]]) for r in roles}
                union = pruning.vote_keep(pool, full, thr, self.p.min_votes)
                scores = full
                ids = pool
            else:
                ids = sample + selected
                scores = {r: np.concatenate([np.asarray([s1.scores[r][a] for a in sample]), table[r]]) for r in roles}
            kept = _rank_by_votes(union, ids, scores, thr)
            return StageOutput(kept, _as_maps(selected, table), {
                "rf_selected": len(selected), "rf_passed": len(rf_pass), "sample_passed": len(s1.kept),
            })

        return ctx.stage("zc-check", check_stage)

    def run(self, ctx: SearchContext) -> SearchOutcome:
        cands = ctx.candidates()
        if not cands:
            raise ValueError("candidates: the candidate set is empty (constraints too tight?)")
        if self.p.variant == "A":
            out = ctx.stage("zc-vote", lambda: self._vote_stage(ctx, cands))
        else:
            out = self._rf_stages(ctx, cands)
        kept, last_role, last_scores = out.kept, "zc-vote", {}

        if ctx.has_role("one_shot"):
            prev = kept

            def os_stage() -> StageOutput:
                s = ctx.score("one_shot", prev)
                k = pruning.prune_quantile(prev, s, self.p.one_shot_drop)
                return StageOutput(k, {"one_shot": dict(zip(prev, map(float, s), strict=True))})

            out = ctx.stage("one-shot", os_stage)
            kept, last_role, last_scores = out.kept, "one_shot", out.scores["one_shot"]
        else:
            ctx.log("one-shot stage skipped: no one-shot estimator bound (no --supernet checkpoint given, "
                    "or --one-shot none)")

        if self.p.max_trained is not None and len(kept) > self.p.max_trained:
            ctx.log(f"budget: {len(kept)} survivors, training the best {self.p.max_trained}")
            kept = kept[: self.p.max_trained]

        n_trained = len(kept)
        for e, q in enumerate(self.p.pt_drops, start=1):
            if len(kept) <= 1 or not ctx.has_role("partial"):
                break
            prev = kept

            def pt_stage(prev: list[str] = prev, e: int = e, q: float = q) -> StageOutput:
                s = ctx.score("partial", prev, epoch=e)
                k = pruning.prune_quantile(prev, s, q)
                return StageOutput(k, {f"partial@{e}": dict(zip(prev, map(float, s), strict=True))},
                                   {"epoch": e, "drop": q})

            out = ctx.stage(f"partial@{e}", pt_stage)
            kept, last_role, last_scores = out.kept, f"partial@{e}", out.scores[f"partial@{e}"]

        best = kept[0]
        return SearchOutcome(best, float(last_scores.get(best, float("nan"))), last_role, n_trained,
                             {"archs_entering_partial_training": n_trained, "survivors": len(kept)})


def _as_maps(ids: list[str], table: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    return {r: dict(zip(ids, (float(x) for x in v), strict=True)) for r, v in table.items()}


def _rank_by_votes(kept: list[str], ids: list[str], table: dict[str, np.ndarray], thr: dict[str, float]) -> list[str]:
    """``kept`` ordered best first by (votes desc, mean proxy rank asc, id)."""
    pos = {a: i for i, a in enumerate(ids)}
    v = pruning.votes(table, thr)
    mr = pruning.mean_rank(table, ids)
    return sorted(kept, key=lambda a: (-v[pos[a]], mr[pos[a]], a))
