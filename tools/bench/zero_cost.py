"""Speed of the multi-proxy path against the deep-copy-per-proxy reference pattern.

For N architectures of a space (default NB201, CIFAR-10 build) on CPU, one real batch of the
``zero-cost-nas`` protocol (64 random CIFAR-10 training images with crop+flip, drawn through
the library's data layer, :meth:`ZeroCostEstimator.batches`), every *distinct* registered proxy:

(a) ours: one seeded build (:meth:`ZeroCostEstimator.build`) and ``score_module(net, batch,
    proxies)`` -- the path of :meth:`ZeroCostEstimator.score_arch` / ``with_proxies``: one shared
    forward/backward, passes shared between proxies that can share them, in-place state restore;
(b) reference pattern (zero-cost-nas ``find_measures``): the same build, then for every proxy
    ``copy.deepcopy(net)`` and that proxy alone on its own forward/backward
    (``score_module(copy, batch, [p])``; grasp as foresight writes it: a gradient pass, then a
    second forward with ``create_graph`` and ``z.backward()``).

The build is timed once and counted on both sides. Aliases (two names, one function:
``relu_logdet`` = ``nwot``, ``az_complexity`` = ``flops``) are scored once, so they do not pad
the reference. The very slow proxies (``--slow``, default tenas_ntk, vkdnw, vkdnw_entropy) are
scored in a second ``score_module`` call on the same build and reported as their own rows (on
the first ``--slow-n`` archs); the summary has the speed-up of the set without them (grasp
included) and of the complete set (main set + slow set per arch), and the complete set's
throughput in archs/s. Every score of (a) is checked against (b): to relative 1e-6 for proxies
computed by the same code (bit for bit in practice), 1e-4 for grasp (a different, equivalent
computation of H g); the run fails when one differs. Floor: one plain training step (forward, CE loss, backward, SGD step).

    OMP_NUM_THREADS=1 PENAS_DATA=../shared/benchmarks python tools/bench/zero_cost.py --n 3 --slow-n 1
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from penas.estimators.proxies import PROXIES, get_proxy, list_proxies
from penas.estimators.proxies.context import layer_sum
from penas.estimators.zero_cost import ZeroCostEstimator, score_module
from penas.spaces import get_space

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import REPO, write_result  # noqa: E402  (the house-format helpers of tools/bench)

SLOW = ("tenas_ntk", "vkdnw", "vkdnw_entropy")
GRASP_RTOL = 1e-4  # grasp: H g from one graph (ours) vs a second forward (foresight)
SAME_RTOL = 1e-6  # the other proxies (the same code; equal bit for bit in practice)


def distinct_proxies() -> list[str]:
    """Every registered proxy name, one per function (the name that is the function's own)."""
    by_fn: dict[object, list[str]] = {}
    for name in list_proxies():
        by_fn.setdefault(PROXIES.create(name).fn, []).append(name)
    return sorted(next((n for n in names if n == fn.__name__), names[0]) for fn, names in by_fn.items())


def reference_grasp(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn, output_fn) -> float:
    """foresight's GraSP as written: pass 1 for g, pass 2 (new forward) with create_graph, z.backward()."""
    net.train()
    ws = [m.weight for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    g1 = torch.autograd.grad(loss_fn(output_fn(net(x)), y), ws, allow_unused=True)
    g2 = torch.autograd.grad(loss_fn(output_fn(net(x)), y), ws, create_graph=True, allow_unused=True)
    z = sum((a.detach() * b).sum() for a, b in zip(g1, g2, strict=True) if a is not None and b is not None)
    z.backward()
    return layer_sum([-w.detach() * w.grad for w in ws if w.grad is not None])


def reference_scores(net: torch.nn.Module, batch, proxies: list[str], times: dict[str, float] | None = None,
                     **kw) -> dict[str, float]:
    """The reference pattern: per proxy a ``copy.deepcopy(net)`` and that proxy alone on it (grasp:
    :func:`reference_grasp`); ``times`` gets the seconds per proxy, the copy included."""
    out: dict[str, float] = {}
    for p in proxies:
        t0 = time.perf_counter()
        c = copy.deepcopy(net)
        if p == "grasp":
            v = reference_grasp(c, batch.inputs, batch.targets, kw["loss_fn"], kw["output_fn"])
            out[p] = v if math.isfinite(v) else float("nan")  # as score_module reports an invalid score
        else:
            out[p] = score_module(c, batch, [p], **kw)[p]
        if times is not None:
            times[p] = times.get(p, 0.0) + time.perf_counter() - t0
    return out


def rtol_of(proxy: str) -> float:
    """How close (a) and (b) must be: grasp's H g is computed differently (one graph vs a second
    forward); the other proxies run the same code, up to the summation order of a backward that
    builds a graph (create_graph, when grasp shares the pass)."""
    return GRASP_RTOL if proxy == "grasp" else SAME_RTOL


def train_step(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, output_fn) -> float:
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    t0 = time.perf_counter()
    opt.zero_grad()
    F.cross_entropy(output_fn(net(x)), y).backward()
    opt.step()
    return time.perf_counter() - t0


def same(a: float, b: float, rtol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b if rtol == 0 else abs(a - b) <= rtol * max(abs(b), 1e-30)


def rel_diff(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b) or a == b:
        return 0.0
    return abs(a - b) / max(abs(b), 1e-30)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="nb201")
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--n", type=int, default=3, help="number of archs for the main set")
    ap.add_argument("--slow-n", type=int, default=1, help="of them, how many also score the slow set (>= 1)")
    ap.add_argument("--seed", type=int, default=0, help="arch sample seed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="cifar10", help="data spec of the batch (default: real CIFAR-10)")
    ap.add_argument("--proxies", default="all", help="comma list, or 'all' (every distinct registered proxy)")
    ap.add_argument("--slow", default=",".join(SLOW), help="comma list scored as separate rows ('' for none)")
    ap.add_argument("--out", default=str(REPO / "tools" / "bench" / "results" / "zero_cost.json"))
    a = ap.parse_args(argv)
    if a.n < 1 or not 1 <= a.slow_n <= a.n:
        ap.error("--n/--slow-n: expected 1 <= slow-n <= n")
    return a


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    wanted = distinct_proxies() if args.proxies == "all" else args.proxies.split(",")
    for p in wanted:
        get_proxy(p)
    slow = [p for p in (args.slow.split(",") if args.slow else []) if p in wanted]
    main_set = [p for p in wanted if p not in slow]
    space = get_space(args.space)
    est = ZeroCostEstimator(space, protocol="zero-cost-nas", dataset=args.dataset, data=args.data)
    batch = est.batches()[0]
    loss_fn, output_fn = est._score_fns()
    archs = space.sample_many(args.n, np.random.default_rng(args.seed))
    print(f"space={space.name} dataset={est.dataset} archs={args.n} (slow set on {args.slow_n}) batch={batch.size} "
          f"({batch.source}) threads={args.threads} torch={torch.__version__}")
    print(f"main set ({len(main_set)}): {','.join(main_set)}\nslow set ({len(slow)}): {','.join(slow)}")

    ta: dict[str, float] = {}  # ours, per proxy (and the shared passes)
    ta_slow: dict[str, float] = {}
    tb: dict[str, float] = {}  # reference, per proxy (deepcopy included)
    build = ours_main = ours_slow = ref_main = ref_slow = floor = 0.0
    diffs: dict[str, float] = {}
    bad: list[str] = []
    for i, arch in enumerate(archs):
        with_slow = i < args.slow_n
        t0 = time.perf_counter()
        net = est.build(arch, est.seed)
        dt_build = time.perf_counter() - t0
        build += dt_build
        floor += train_step(copy.deepcopy(net), batch.inputs, batch.targets, output_fn)
        kw = {"loss_fn": loss_fn, "seed": est.seed, "output_fn": output_fn}
        before = dict(tb)
        t0 = time.perf_counter()
        ra = score_module(net, batch, main_set, timings=ta, **kw)
        ours_main += time.perf_counter() - t0
        if with_slow and slow:
            t0 = time.perf_counter()
            ra.update(score_module(net, batch, slow, timings=ta_slow, **kw))
            ours_slow += time.perf_counter() - t0
        todo = main_set + (slow if with_slow else [])
        t0 = time.perf_counter()
        rb = reference_scores(net, batch, todo, times=tb, **kw)
        dt = time.perf_counter() - t0
        dt_slow = sum(tb[p] for p in slow if with_slow) - sum(before.get(p, 0.0) for p in slow if with_slow)
        ref_slow += dt_slow
        ref_main += dt - dt_slow
        for p in todo:
            diffs[p] = max(diffs.get(p, 0.0), rel_diff(ra[p], rb[p]))
            if not same(ra[p], rb[p], rtol_of(p)):
                bad.append(f"{p} on {space.format(arch)}: ours {ra[p]!r} vs reference {rb[p]!r}")
        print(f"arch {i + 1}/{args.n}: build {dt_build * 1e3:.0f} ms, ours main {ours_main / (i + 1):.2f} s/arch, "
              f"reference main {ref_main / (i + 1):.2f} s/arch", flush=True)

    n, ns = args.n, args.slow_n
    ms, mss = 1000.0 / n, 1000.0 / ns
    rows: list[dict] = []
    print(f"\n{'proxy':<18}{'(a) ours ms/arch':>18}{'(b) copy/proxy ms/arch':>24}{'max rel diff':>14}")
    for label, t, scale in (("shared pass (main)", ta, ms), ("shared pass (slow)", ta_slow, mss)):
        if "shared_pass" in t:
            rows.append({"proxy": label, "set": "main" if t is ta else "slow", "ours_ms": t["shared_pass"] * scale,
                         "reference_ms": None})
            print(f"{label:<18}{t['shared_pass'] * scale:>18.1f}{'-':>24}")
    for p in main_set + slow:
        t, scale = (ta_slow, mss) if p in slow else (ta, ms)
        rows.append({"proxy": p, "set": "slow" if p in slow else "main", "ours_ms": t.get(p, 0.0) * scale,
                     "reference_ms": tb[p] * scale, "max_rel_diff": diffs[p]})
        print(f"{p:<18}{t.get(p, 0.0) * scale:>18.1f}{tb[p] * scale:>24.1f}{diffs[p]:>14.1e}")
    b_ms = build * ms
    main_a, main_b = ours_main * ms + b_ms, ref_main * ms + b_ms
    slow_a, slow_b = ours_slow * mss, ref_slow * mss
    full_a, full_b = main_a + slow_a, main_b + slow_b
    for label, a, b in (("build (both)", b_ms, b_ms), ("total main set", main_a, main_b),
                        ("total slow set", slow_a, slow_b), ("complete set", full_a, full_b)):
        rows.append({"proxy": label, "set": "total", "ours_ms": a, "reference_ms": b})
        print(f"{label:<18}{a:>18.1f}{b:>24.1f}")
    summary = {
        "speedup_incl_grasp": main_b / main_a,
        "speedup_full_set": full_b / full_a,
        "archs_per_s_full_set": 1000.0 / full_a,
        "archs_per_s_full_set_reference": 1000.0 / full_b,
        "archs_per_s_main_set": 1000.0 / main_a,
        "floor_train_step_ms": floor * ms,
        "main_set_in_train_steps": main_a / (floor * ms),
        "max_rel_diff": max(diffs.values()),
        "values_equal": not bad,
        "n_archs": n, "n_archs_slow_set": ns, "batch": batch.source, "batch_size": batch.size,
        "proxies_main": main_set, "proxies_slow": slow,
    }
    print(f"\nspeed-up (b)/(a), main set incl. grasp = {summary['speedup_incl_grasp']:.2f} (target >= 3); "
          f"complete set = {summary['speedup_full_set']:.2f}")
    print(f"complete set: {summary['archs_per_s_full_set']:.4f} archs/s (reference "
          f"{summary['archs_per_s_full_set_reference']:.4f}); main set {summary['archs_per_s_main_set']:.4f} archs/s")
    print(f"floor: one training step = {floor * ms:.1f} ms/arch; main set = {summary['main_set_in_train_steps']:.1f} steps")
    print(f"max relative difference between (a) and (b) scores: {summary['max_rel_diff']:.2e}")
    if args.out:
        print(f"wrote {write_result(args.out, rows, summary, threads=args.threads, torch=torch.__version__)}")
    if bad:
        raise SystemExit("scores differ between (a) and (b):\n" + "\n".join(bad))
    return summary


if __name__ == "__main__":
    main()
