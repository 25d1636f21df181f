"""The one-shot estimator: BN modes, per-batch lists, store resume, post de-isomorphism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from penas.estimators.one_shot import BN_MODES, OneShotEstimator, holdout_split
from penas.estimators.store import ScoreStore
from penas.spaces import get_space
from penas.supernets import get_supernet

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
    "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|",
]


@pytest.fixture(scope="module")
def setup():
    space = get_space("nb201")
    torch.manual_seed(0)
    net = get_supernet("nb201", space=space, C=4, N=1, layout="aw_nas")
    g = torch.Generator().manual_seed(1)
    data = (torch.randn(40, 3, 8, 8, generator=g), torch.randint(0, 10, (40,), generator=g))
    return space, net, data


def _est(setup, **kw):
    space, net, data = setup
    return OneShotEstimator(space, supernet=net, data=data, batch_size=4, recal_batches=2, progress=False, **kw)


def test_holdout_is_the_last_fraction():
    x, y = torch.arange(10.0), torch.arange(10)
    (xt, _), (xh, yh) = holdout_split(x, y, 0.2)
    assert xt.tolist() == list(range(8)) and yh.tolist() == [8, 9]


def test_modes_scores_and_state_untouched(setup):
    space, net, _ = setup
    before = {k: v.clone() for k, v in net.state_dict().items()}
    res = {m: _est(setup, bn_mode=m).score(ARCHS) for m in BN_MODES}
    for k, v in net.state_dict().items():
        assert torch.equal(before[k], v), k
    # train-mode BN and track_running_stats=False both normalise with batch statistics
    np.testing.assert_allclose(res["train"], res["no_track"], rtol=0, atol=1e-12)
    assert all(0.0 <= s <= 1.0 for s in res["recalibrate"])
    loss = _est(setup, metric="loss").score(ARCHS)
    assert np.all(loss < 0)
    # order independence
    est = _est(setup, bn_mode="recalibrate", metric="loss")
    np.testing.assert_array_equal(est.score(ARCHS), est.score(ARCHS[::-1])[::-1])


def test_per_batch_lists_and_registry(setup):
    est = _est(setup, metric="loss", n_batches=2)
    s = est.score(ARCHS[:1])[0]
    per = est.per_batch[ARCHS[0]]
    assert len(per) == 2 and s == pytest.approx(np.mean(per))
    with pytest.raises(ValueError, match="^bn_mode:"):
        _est(setup, bn_mode="eval")


def test_store_resume_never_recomputes(setup, tmp_path, monkeypatch):
    store = ScoreStore(tmp_path / "s.sqlite")
    first = _est(setup, store=store).score(ARCHS[:2])
    est = _est(setup, store=store)

    def boom(arch):  # pragma: no cover - must not be called for stored archs
        raise AssertionError("recomputed a stored arch")

    monkeypatch.setattr(est, "evaluate", boom)
    np.testing.assert_array_equal(est.score(ARCHS[:2]), first)
    assert set(est.stored_per_batch(ARCHS[:2])) == set(ARCHS[:2])
    monkeypatch.undo()
    assert len(est.score(ARCHS)) == 3 and store.count(estimator="one_shot") == 3


def test_each_arch_is_evaluated_once_without_a_store(setup, monkeypatch):
    """Regression: without a store, scoring n archs evaluated n x n paths (found in a real search)."""
    est = _est(setup)
    calls: list[str] = []
    real = est.evaluate

    def counted(arch):
        calls.append(str(arch))
        return real(arch)

    monkeypatch.setattr(est, "evaluate", counted)
    est.score(ARCHS)
    assert len(calls) == len(ARCHS)


def test_post_deiso_averages_over_the_class(setup):
    space, _, _ = setup
    a = space.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|")
    est = _est(setup, post_deiso=True, metric="loss", n_batches=1)
    members = est.isomorphism_class(a)
    assert len(members) > 1
    s = est.score([a, members[-1]])
    assert s[0] == s[1]
    raw = _est(setup, metric="loss", n_batches=1).score(members)
    assert s[0] == pytest.approx(np.mean(raw))


def test_recalibrate_bn_uses_only_bn_train_mode_and_restores_flags():
    """penas.supernets.bn.recalibrate_bn: cumulative BN statistics over the batches; momenta and
    every module's train/eval flag come back."""
    import torch.nn as nn

    from penas.supernets.bn import recalibrate_bn

    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, momentum=0.3), nn.Dropout(0.9))
    net.eval()
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(5, 3, 4, 4, generator=g) for _ in range(3)]
    assert recalibrate_bn(net, iter(xs)) == 3
    mean = torch.stack([net[0](x).mean((0, 2, 3)) for x in xs]).mean(0)  # cumulative average of batch means
    assert torch.allclose(net[1].running_mean, mean, atol=1e-6)
    assert net[1].momentum == 0.3
    assert not any(m.training for m in net.modules())
