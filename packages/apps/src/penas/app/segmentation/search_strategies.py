"""Strategies of the segmentation search, registered in :data:`SEG_STRATEGIES`.

==============  ===========================================================================
``pe-nas-a``    HESS' alternating search (``search_alternately.py``) with PE-NAS-A's
                cheap-to-expensive estimation: a FLOPs-feasible random start, then ``rounds``
                x (fix the backbone, sample ``per_round`` transformer configs; fix the
                transformer, sample ``per_round`` backbone configs). In every half-round the
                zero-cost proxies vote (``zc_quantile``, ``min_votes``); the survivors and the
                incumbent get the supernet mIoU (BN recalibrated) when a checkpoint is given, and
                the best becomes the incumbent that seeds the next half-round (without a
                checkpoint: the best by the vote). Optionally, the top-k by supernet mIoU are
                fine-tuned and re-evaluated (``finetune`` stage).
``random``      :class:`~penas.app.strategies.RandomSearch` over a pool of ``budget`` distinct
                FLOPs-feasible random configs; fitness = supernet mIoU, or without a checkpoint
                the zero-cost vote over the pool.
``rea``         :class:`~penas.app.strategies.RegularizedEvolution` (population 20, tournament
                5) with FLOPs-feasible mutations; fitness = supernet mIoU, or without a checkpoint
                the first proxy of ``proxies`` (as the seed's ``re_zc.sh``).
==============  ===========================================================================

Every candidate of every strategy satisfies ``space.flops(cfg, resolution=512) <= max_flops``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._registry import SEG_STRATEGIES
from ..strategies import pruning
from ..strategies.base import SearchContext, SearchOutcome, StageOutput, Strategy
from ..strategies.baselines import RandomSearch, RegularizedEvolution

BACKBONE = ("width", "depth", "kernel_size", "expand_ratio")
TRANSFORMER = ("num_heads", "key_dim", "attn_ratio", "mlp_ratio", "transformer_depth")
#: Which fields each half-round resamples, in the reference's order (backbone fixed first).
HALF_ROUNDS: tuple[tuple[str, tuple[str, ...]], ...] = (("transformer", TRANSFORMER), ("backbone", BACKBONE))



class FlopsSampler:
    """FLOPs-feasible sampling in a TopFormer config space (analytic FLOPs at 512x512)."""

    def __init__(self, space: Any, max_flops: float, resolution: int = 512, tries: int = 50) -> None:
        self.space, self.max_flops, self.resolution, self.tries = space, float(max_flops), resolution, tries
        self._flops: dict[str, int] = {}

    def flops(self, arch_id: str) -> int:
        if arch_id not in self._flops:
            self._flops[arch_id] = int(self.space.flops(self.space.parse(arch_id), resolution=self.resolution))
        return self._flops[arch_id]

    def feasible(self, arch_id: str) -> bool:
        return self.flops(arch_id) <= self.max_flops

    def check(self) -> None:
        """One-line error when not even the space's smallest config meets the constraint."""
        lo = self.space.min_config()
        f = self.space.flops(lo, resolution=self.resolution)
        if f > self.max_flops:
            raise ValueError(f"--max-flops: {self.max_flops / 1e9:g}G is below the minimum {f / 1e9:.3f}G "
                             f"({self.resolution}x{self.resolution}) of space {self.space.name!r} "
                             f"(its smallest config {self.space.format(lo)}); raise --max-flops or pick another "
                             "--seg-space")

    def random(self, rng: np.random.Generator) -> str:
        """HESS' start: uniform draws until one fits (then ``space.sample``'s greedy shrink)."""
        return self.space.format(self.space.sample(rng, max_flops=self.max_flops))

    def resample(self, rng: np.random.Generator, base_id: str, fields: Sequence[str]) -> str:
        """``base`` with ``fields`` drawn uniformly (the other fields fixed), redrawn up to
        ``tries`` times until feasible, else shrunk entry by entry inside ``fields`` (always
        possible: the cost is monotone and ``base`` itself is feasible)."""
        sp = self.space
        base = sp.to_dict(sp.parse(base_id))
        specs = [f for f in sp.fields if f.name in fields]
        d: dict[str, Any] = {}
        for _ in range(self.tries):
            d = dict(base)
            for f in specs:
                d[f.name] = [c[int(rng.integers(len(c)))] for c in f.choices]
            a = sp.format(sp.from_dict(d))
            if self.feasible(a):
                return a
        idx = {(f.name, i): f.choices[i].index(d[f.name][i]) for f in specs for i in range(f.length)}
        choices = {f.name: f.choices for f in specs}
        while True:
            a = sp.format(sp.from_dict(d))
            if self.feasible(a):
                return a
            movable = sorted(k for k, v in idx.items() if v > 0)
            if not movable:
                return base_id
            k = movable[int(rng.integers(len(movable)))]
            idx[k] -= 1
            d[k[0]] = list(d[k[0]])
            d[k[0]][k[1]] = choices[k[0]][k[1]][idx[k]]

    def distinct(self, rng: np.random.Generator, n: int, draw: Any, exclude: Sequence[str] = ()) -> list[str]:
        """Up to ``n`` distinct ids from ``draw(rng)`` not in ``exclude`` (gives up after 20n draws)."""
        seen, out = set(exclude), []
        for _ in range(20 * n):
            if len(out) >= n:
                break
            a = draw(rng)
            if a not in seen:
                seen.add(a)
                out.append(a)
        return out


@dataclass(frozen=True)
class AlternationParams:
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
    return [f"zc:{p}" for p in proxies]


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
    """``pe-nas-a`` on the TopFormer space; see the module docs. The context must also offer
    ``sampler`` (:class:`FlopsSampler`) and ``stage_rng(index)``."""

    name = "pe-nas-a"

    def __init__(self, params: AlternationParams | None = None) -> None:
        self.p = params or AlternationParams()

    def params(self) -> dict[str, Any]:
        return {"rounds": self.p.rounds, "per_round": self.p.per_round, "proxies": list(self.p.proxies),
                "zc_quantile": self.p.zc_quantile, "min_votes": self.p.votes_needed,
                "finetune_topk": self.p.finetune_topk}

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
    """Without a checkpoint, ``random`` ranks its fixed pool by the zero-cost vote: fitness =
    votes - mean proxy rank / n (orders exactly like :func:`rank_by_vote`)."""

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


@SEG_STRATEGIES.register("pe-nas-a")
def _pe_nas_a(rounds: int = 5, per_round: int = 500, proxies: Sequence[str] = AlternationParams.proxies,
              zc_quantile: float = 0.8, min_votes: int | None = None, finetune_topk: int = 3, **_: Any) -> Strategy:
    return AlternatingPENAS(AlternationParams(rounds, per_round, tuple(proxies), zc_quantile, min_votes,
                                              finetune_topk))


@SEG_STRATEGIES.register("random")
def _random(budget: int | None = None, **_: Any) -> Strategy:
    return RandomSearch(budget=100 if budget is None else budget)


@SEG_STRATEGIES.register("rea")
def _rea(budget: int | None = None, population: int = 20, sample_size: int = 5, **_: Any) -> Strategy:
    return RegularizedEvolution(budget=500 if budget is None else budget, population=population,
                                sample_size=sample_size)


def pool_size(strategy: Strategy) -> int:
    """Size of the random candidate pool an ask/tell strategy draws from (``ctx.candidates()``)."""
    if isinstance(strategy, RegularizedEvolution):
        return strategy.population
    return getattr(strategy, "budget", 1)


__all__ = ["BACKBONE", "HALF_ROUNDS", "SEG_STRATEGIES", "TRANSFORMER", "AlternatingPENAS", "AlternationParams",
           "FlopsSampler", "PoolVoteFitness", "SearchContext", "pool_size", "rank_by_vote"]
