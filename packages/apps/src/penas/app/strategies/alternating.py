"""PE-NAS-A as an alternating search in a TopFormer config space (the segmentation search's
``pe-nas-a``, registered as ``segmentation/pe-nas-a`` in :data:`~penas.app.strategies.STRATEGIES`).

HESS' alternating search (``search_alternately.py``) with PE-NAS-A's cheap-to-expensive
estimation: a feasible random start, then ``rounds`` x (fix the backbone, sample ``per_round``
transformer configs; fix the transformer, sample ``per_round`` backbone configs). In every
half-round the zero-cost proxies vote (``zc_quantile``, ``min_votes``); the survivors and the
incumbent get the supernet mIoU (role ``miou``, BN recalibrated) when the search binds one, and the
best becomes the incumbent that seeds the next half-round (without ``miou``: the best by the vote).
Optionally (role ``finetune``), the top-k by supernet mIoU are fine-tuned and re-evaluated.

The context must offer ``sampler`` (:class:`penas.app.search.constraints.FlopsSampler`: every
config it draws satisfies the search's FLOPs constraint), ``stage_rng(index)`` and
``stage_outputs()``. :class:`PoolVoteFitness` is the zero-cost vote as the fitness of a random
search over a fixed pool (the segmentation search without a supernet checkpoint).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import pruning
from .base import SearchOutcome, StageOutput, Strategy
from .pe_nas import zc_role

BACKBONE = ("width", "depth", "kernel_size", "expand_ratio")
TRANSFORMER = ("num_heads", "key_dim", "attn_ratio", "mlp_ratio", "transformer_depth")
#: Which fields each half-round resamples, in the reference's order (backbone fixed first).
HALF_ROUNDS: tuple[tuple[str, tuple[str, ...]], ...] = (("transformer", TRANSFORMER), ("backbone", BACKBONE))


@dataclass(frozen=True)
class AlternationParams:
    """Settings of :class:`AlternatingPENAS` (fields = the segmentation search's options)."""

    rounds: int = 5
    per_round: int = 500
    proxies: tuple[str, ...] = ("nwot", "synflow", "zen", "l2_norm")
    zc_quantile: float = 0.8  # PE-NAS-A: keep archs above the 80th percentile ...
    min_votes: int | None = None  # ... on a majority of the proxies (None: len // 2 + 1)
    finetune_topk: int = 3

    def __post_init__(self) -> None:
        for name in ("rounds", "per_round", "finetune_topk"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"--{name.replace('_', '-')}: expected a positive integer, got {v!r}")
        if not self.proxies:
            raise ValueError("--proxies: expected at least one zero-cost proxy")
        if not 0.0 <= self.zc_quantile <= 1.0:
            raise ValueError(f"--zc-quantile: expected a value in [0, 1], got {self.zc_quantile}")
        if self.min_votes is not None and not 1 <= self.min_votes <= len(self.proxies):
            raise ValueError(f"--min-votes: expected 1..{len(self.proxies)}, got {self.min_votes}")

    @property
    def votes_needed(self) -> int:
        return self.min_votes if self.min_votes is not None else len(self.proxies) // 2 + 1


def zc_roles(proxies: Sequence[str]) -> list[str]:
    """The roles of the zero-cost proxies ``proxies`` (``zc:<proxy>``)."""
    return [zc_role(p) for p in proxies]


def rank_by_vote(ids: list[str], table: dict[str, np.ndarray], q: float, min_votes: int) -> tuple[list[str], list[str]]:
    """(survivors of the vote, every id) both ordered best first by (votes, mean proxy rank, id)."""
    thr = pruning.thresholds(table, q)
    kept = set(pruning.vote_keep(ids, table, thr, min_votes))
    v = pruning.votes(table, thr)
    mr = pruning.mean_rank(table, ids)
    order = sorted(range(len(ids)), key=lambda i: (-v[i], mr[i], ids[i]))
    ranked = [ids[i] for i in order]
    return [a for a in ranked if a in kept], ranked


class AlternatingPENAS(Strategy):
    """``pe-nas-a`` on a TopFormer space; see the module docs."""

    name = "pe-nas-a"

    def __init__(self, params: AlternationParams | None = None) -> None:
        self.p = params or AlternationParams()

    def params(self) -> dict[str, Any]:
        return {"rounds": self.p.rounds, "per_round": self.p.per_round, "proxies": list(self.p.proxies),
                "zc_quantile": self.p.zc_quantile, "min_votes": self.p.votes_needed,
                "finetune_topk": self.p.finetune_topk}

    def roles(self) -> tuple[str, ...]:
        """The vote's proxies, then the optional supernet mIoU and fine-tuned mIoU."""
        return (*zc_roles(self.p.proxies), "miou", "finetune")

    def _judge(self, ctx: Any, cands: list[str], incumbent: str | None) -> StageOutput:
        roles = zc_roles(self.p.proxies)
        table = ctx.score_table(roles, cands)
        survivors, ranked = rank_by_vote(cands, table, self.p.zc_quantile, self.p.votes_needed)
        scores = {r: dict(zip(cands, (float(x) for x in table[r]), strict=True)) for r in roles}
        info: dict[str, Any] = {"n_candidates": len(cands), "n_vote_survivors": len(survivors),
                                "max_flops_seen": max(ctx.sampler.flops(a) for a in cands)}
        if not ctx.has_role("miou"):
            return StageOutput(ranked[:1] + [a for a in survivors if a != ranked[0]], scores,
                               {**info, "incumbent_by": "zero-cost vote"})
        judged = list(dict.fromkeys(survivors + ([incumbent] if incumbent else [])))
        m = ctx.score("miou", judged)
        scores["miou"] = dict(zip(judged, (float(x) for x in m), strict=True))
        best_first = [judged[i] for i in pruning.order(judged, m)]
        return StageOutput(best_first, scores, {**info, "incumbent_by": "supernet mIoU"})

    def run(self, ctx: Any) -> SearchOutcome:
        sampler = ctx.sampler

        def start() -> StageOutput:
            rng = ctx.stage_rng(0)
            a = sampler.random(rng)
            return StageOutput([a], {}, {"flops": sampler.flops(a), "n_candidates": 1, "max_flops_seen":
                                         sampler.flops(a)})

        incumbent = ctx.stage("start", start).kept[0]
        index = 1
        for r in range(1, self.p.rounds + 1):
            for part, fields in HALF_ROUNDS:
                def half(inc: str = incumbent, fields: tuple[str, ...] = fields, index: int = index) -> StageOutput:
                    rng = ctx.stage_rng(index)
                    new = sampler.distinct(rng, self.p.per_round, lambda g: sampler.resample(g, inc, fields),
                                           exclude=[inc])
                    out = self._judge(ctx, [inc, *new], inc)
                    out.info.update({"incumbent_in": inc, "resampled": list(fields)})
                    return out

                incumbent = ctx.stage(f"r{r}-{part}", half).kept[0]
                index += 1
        estimated_by = "supernet mIoU" if ctx.has_role("miou") else "zero-cost vote"
        est = float(ctx.score("miou", [incumbent])[0]) if ctx.has_role("miou") else math.nan
        best, info = incumbent, {}
        if ctx.has_role("finetune"):
            def finetune() -> StageOutput:
                pool: dict[str, float] = {}
                for rec in ctx.stage_outputs():
                    pool.update(rec.scores.get("miou", {}))
                ids = list(pool)
                top = pruning.top_k(ids, np.array([pool[a] for a in ids]), self.p.finetune_topk)
                s = ctx.score("finetune", top)
                ranked = [top[i] for i in pruning.order(top, s)]
                return StageOutput(ranked, {"finetune": dict(zip(top, (float(x) for x in s), strict=True))},
                                   {"topk": len(top)})

            out = ctx.stage("finetune", finetune)
            best = out.kept[0]
            est = float(ctx.score("miou", [best])[0])
            info["finetuned"] = out.kept
        return SearchOutcome(best, est, estimated_by, 0, info)


class PoolVoteFitness:
    """The zero-cost vote as the fitness of a search over a fixed pool (``ctx.candidates()``):
    fitness = votes - mean proxy rank / n (orders exactly like :func:`rank_by_vote`)."""

    def __init__(self, proxies: Sequence[str], q: float, min_votes: int) -> None:
        self.roles, self.q, self.min_votes = zc_roles(proxies), q, min_votes

    def __call__(self, ctx: Any, ids: Sequence[str]) -> np.ndarray:
        pool = ctx.candidates()
        table = ctx.score_table(self.roles, pool)
        thr = pruning.thresholds(table, self.q)
        v = pruning.votes(table, thr)
        mr = pruning.mean_rank(table, pool)
        fit = {a: float(v[i] - mr[i] / (len(pool) + 1)) for i, a in enumerate(pool)}
        return np.array([fit[a] for a in ids], dtype=np.float64)


__all__ = ["BACKBONE", "HALF_ROUNDS", "TRANSFORMER", "AlternatingPENAS", "AlternationParams", "PoolVoteFitness",
           "rank_by_vote", "zc_roles"]
