"""Zero-cost estimators over a space: registry, protocols, multi-proxy path, provenance."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from penas.estimators import ESTIMATORS, get_estimator, list_estimators
from penas.estimators.data import synthetic_batch
from penas.estimators.proxies import get_proxy, list_proxies
from penas.estimators.zero_cost import PROTOCOLS, ZeroCostEstimator, score_module

sys.path.insert(0, str(Path(__file__).resolve().parent))
from estimators_toyspace import ToySpace  # noqa: E402

SPACE = ToySpace(8)
ARCHS = ["a0", "a1", "a2", "a5"]


@pytest.mark.parametrize("proxy", [p for p in list_proxies() if p not in ("params", "flops")])
def test_one_registration_per_proxy_with_its_direction(proxy):
    est = get_estimator(proxy, SPACE, data="synthetic", batch_size=4)
    assert est.name == proxy and est.higher_is_better == get_proxy(proxy).higher_is_better
    same = get_estimator("zero_cost", SPACE, proxy=proxy, data="synthetic", batch_size=4)
    assert same.config_hash == est.config_hash


def test_generic_and_space_level_estimators_are_registered():
    assert {"zero_cost", "params", "flops", "oracle"} <= set(list_estimators())
    assert "zero_cost" in ESTIMATORS


def test_score_all_builds_once_and_matches_single_proxy_estimators():
    names = ["snip", "synflow", "nwot", "zen"]
    est = ZeroCostEstimator(SPACE, proxy="snip", data="synthetic", batch_size=4)
    calls = {"n": 0}
    build = SPACE.build

    def counting_build(*a, **k):
        calls["n"] += 1
        return build(*a, **k)

    est.space = type("Counting", (), {})()  # a thin proxy object around SPACE that counts builds
    for attr in ("parse", "format", "name", "num_classes", "input_shape", "datasets", "check_dataset"):
        setattr(est.space, attr, getattr(SPACE, attr))
    est.space.build = counting_build
    table = est.score_all(ARCHS, names)
    assert calls["n"] == len(ARCHS)
    for p in names:
        single = get_estimator(p, SPACE, data="synthetic", batch_size=4).score(ARCHS)
        np.testing.assert_allclose(table[p], single, rtol=1e-6, err_msg=p)
        assert np.all(np.isfinite(single))


def test_zero_cost_nas_protocol_seeds_the_build():
    assert PROTOCOLS["zero-cost-nas"].seeds == (42,) and PROTOCOLS["zero-cost-nas"].batch_size == 64
    est = get_estimator("l2_norm", SPACE, data="synthetic")
    assert est.seed == 42 and est.batch_size == 64
    torch.manual_seed(42)
    by_hand = score_module(SPACE.build(3), synthetic_batch((3, 8, 8), 64), ["l2_norm"])["l2_norm"]
    assert est.score(["a3"])[0] == pytest.approx(by_hand)


def test_aw_nas_protocol_grid_and_defaults():
    est = get_estimator("grad_norm", SPACE, protocol="aw_nas", data="synthetic", batch_size=4)
    assert est.seed == 20 and est.n_batches == 1
    grid = est.aw_nas_grid(1, ["grad_norm", "synflow"])
    assert set(grid) == {(s, n) for s in (20, 2020, 202020) for n in (1, 3, 5)}
    assert grid[(20, 1)]["grad_norm"] == pytest.approx(est.score(["a1"])[0])
    three = get_estimator("grad_norm", SPACE, protocol="aw_nas", data="synthetic", batch_size=4, n_batches=3)
    assert grid[(20, 3)]["grad_norm"] == pytest.approx(three.score(["a1"])[0])
    assert grid[(20, 1)]["grad_norm"] != grid[(20, 3)]["grad_norm"]  # synthetic batches differ
    assert grid[(20, 1)]["synflow"] == grid[(20, 5)]["synflow"]  # data-free
    assert grid[(20, 1)]["synflow"] != grid[(2020, 1)]["synflow"]  # init seed matters


def test_provenance_and_config_hash():
    est = get_estimator("synflow", SPACE, data="synthetic", batch_size=4)
    res = est.score_result(["a1"])
    p = res.provenance[0]
    assert (p.space, p.arch_id, p.estimator, p.seed, p.batch_size) == ("toy", "a1", "synflow", 42, 4)
    assert p.dtype == "float64" and p.bn_mode == "off" and len(p.data_fingerprint) == 64
    assert p.config_hash == est.config_hash and "torch" in p.versions and p.extra["protocol"] == "zero-cost-nas"
    other = get_estimator("synflow", SPACE, data="synthetic", batch_size=8)
    assert other.config_hash != est.config_hash


def test_proxy_version_keys_the_store_only_from_version_2():
    """A fix that changes a proxy's values bumps its version, so stale stored scores never match."""
    import dataclasses

    fixed = get_estimator("gradsign", SPACE, data="synthetic", batch_size=4)
    assert fixed.spec.version == 2 and fixed.config()["proxy_version"] == 2
    unchanged = get_estimator("synflow", SPACE, data="synthetic", batch_size=4)
    assert unchanged.spec.version == 1 and "proxy_version" not in unchanged.config()
    before = fixed.config_hash
    fixed.spec = dataclasses.replace(fixed.spec, version=3)
    assert fixed.config_hash != before


def test_bad_configuration_is_a_one_line_error():
    with pytest.raises(ValueError, match="protocol"):
        get_estimator("snip", SPACE, protocol="nope")
    with pytest.raises(ValueError, match="data"):
        get_estimator("snip", SPACE, data="mnist").score(["a0"])
    with pytest.raises(ValueError, match="dataset"):
        get_estimator("snip", SPACE, dataset="imagenet")
