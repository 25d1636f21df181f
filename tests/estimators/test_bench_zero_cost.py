"""``tools/bench/zero_cost.py``: the shared multi-proxy path gives the same scores as the reference
pattern (a deep copy of the net per proxy, each proxy on its own passes; GraSP as foresight writes
it), for every distinct registered proxy, and the bench writes the house-format result.

Real CIFAR-10 images through the data layer (8 of them, so that every proxy -- gradsign's
per-sample passes, the NTK -- stays quick); skipped without the shared data.
"""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def zc(bench_module):
    return bench_module("zero_cost")


def test_distinct_proxies_drop_aliases_only(zc):
    from penas.estimators.proxies import list_proxies

    got = zc.distinct_proxies()
    assert "nwot" in got and "relu_logdet" not in got  # alias of nwot
    assert "flops" in got and "az_complexity" not in got  # the same function as flops
    assert set(list_proxies()) - set(got) == {"relu_logdet", "az_complexity"}


def test_shared_call_equals_copy_per_proxy(zc, real_cifar, one_torch_thread):
    from penas.estimators.zero_cost import ZeroCostEstimator, score_module
    from penas.spaces import get_space

    space = get_space("nb201")
    est = ZeroCostEstimator(space, protocol="zero-cost-nas", batch_size=8)
    batch = est.batches()[0]
    assert not batch.synthetic
    loss_fn, output_fn = est._score_fns()
    kw = {"loss_fn": loss_fn, "output_fn": output_fn, "seed": est.seed}
    proxies = zc.distinct_proxies()
    arch = space.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    net = est.build(arch, est.seed)
    ours = score_module(net, batch, proxies, **kw)
    times: dict[str, float] = {}
    ref = zc.reference_scores(net, batch, proxies, times=times, **kw)
    assert set(times) == set(proxies)
    bad = [p for p in proxies if not zc.same(ours[p], ref[p], zc.rtol_of(p))]
    assert not bad, {p: (ours[p], ref[p]) for p in bad}
    assert np.isfinite(ours["grasp"]) and ours["grasp"] != 0.0
    # a wrong value is caught: the check is not vacuous
    assert not zc.same(ours["grasp"] * (1 + 1e-3), ref["grasp"], zc.rtol_of("grasp"))


def test_bench_writes_house_format(zc, real_cifar, tmp_path, one_torch_thread):
    out = tmp_path / "zc.json"
    summary = zc.main(["--proxies", "l2_norm,grad_norm,grasp,nwot,synflow,params", "--slow", "params", "--n", "1",
                       "--out", str(out)])
    doc = json.loads(out.read_text())
    assert set(doc) == {"command", "git", "date", "machine", "rows", "summary"}
    s = doc["summary"]
    assert s["values_equal"] is True and s == json.loads(json.dumps(summary, default=float))
    assert s["speedup_incl_grasp"] > 0 and s["archs_per_s_full_set"] > 0
    assert s["proxies_slow"] == ["params"] and "params" not in s["proxies_main"]
    rows = {r["proxy"]: r for r in doc["rows"]}
    assert rows["params"]["set"] == "slow" and rows["grasp"]["reference_ms"] > 0
    assert rows["complete set"]["ours_ms"] == pytest.approx(rows["total main set"]["ours_ms"]
                                                             + rows["total slow set"]["ours_ms"])
