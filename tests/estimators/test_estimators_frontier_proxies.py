"""The frontier proxies (AZ-NAS, MeCo, SWAP, TE-NAS, GradSign, VKDNW): values by hand on tiny
networks, and registry-wide checks over every proxy (direction declared, finite, seeded
determinism, batch-order invariance where declared). Networks and batches are synthetic:
the checks are about the arithmetic, not about ranking quality."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.estimators.proxies import get_proxy, list_proxies
from penas.estimators.proxies.az_nas import feature_taps
from penas.estimators.proxies.context import ProxyContext
from penas.estimators.proxies.vkdnw import _fisher, multinomial_cholesky
from penas.estimators.zero_cost import score_module

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_estimators_proxies import small_batch, small_cnn  # noqa: E402

NEW = ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "meco", "meco_opt", "swap",
       "reg_swap", "tenas_ntk", "tenas_lr", "gradsign", "vkdnw", "vkdnw_entropy", "vkdnw_dim"]
ALL = list_proxies()


def test_new_proxies_are_registered_with_a_direction():
    assert set(NEW) <= set(ALL)
    for name in NEW:
        assert isinstance(get_proxy(name).higher_is_better, bool)
    assert get_proxy("tenas_ntk").higher_is_better is False
    assert not get_proxy("meco").order_invariant and not get_proxy("zico").order_invariant
    assert not get_proxy("az_trainability").order_invariant and get_proxy("az_expressivity").order_invariant
    assert get_proxy("az_complexity").fn is get_proxy("flops").fn


def test_every_proxy_is_finite_and_deterministic_under_a_seed():
    net, batch = small_cnn(), small_batch(16)
    a = score_module(net, batch, ALL, seed=3)
    b = score_module(net, batch, ALL, seed=3)
    for name in ALL:
        assert math.isfinite(a[name]), name
    assert dict(a) == dict(b)


def test_order_invariant_proxies_do_not_depend_on_the_sample_order():
    net, (x, y) = small_cnn(), small_batch(16)
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(1))
    names = [n for n in ALL if get_proxy(n).order_invariant]
    a = score_module(net, (x, y), names, seed=0)
    b = score_module(net, (x[perm], y[perm]), names, seed=0)
    for n in names:
        np.testing.assert_allclose(b[n], a[n], rtol=1e-4, atol=1e-6, err_msg=n)


def _unit_conv() -> nn.Module:
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten())


def test_swap_and_linear_regions_by_hand():
    net = _unit_conv()
    # 4 samples, 2 units (channels at 1x1): unit 0 signs across samples 1,1,0,0; unit 1: 1,0,1,0
    x = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-2.0, -1.0]]).view(4, 2, 1, 1)
    r = score_module(net, (x, torch.zeros(4, dtype=torch.long)), ["swap", "reg_swap"])
    assert r["swap"] == 2.0  # two distinct unit patterns
    x2 = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [2.0, 3.0]]).view(4, 2, 1, 1)
    assert score_module(net, x2, ["swap"])["swap"] == 1.0  # both units always on: one pattern
    from penas.estimators.proxies.swap import reg_swap_factor

    assert r["reg_swap"] == pytest.approx(2.0 * reg_swap_factor(4 / 1e3))


def test_linear_regions_of_the_thin_network_count_identical_patterns_once():
    # TE-NAS counts patterns of a one-channel copy of the net: channel 0 of the conv only. Two
    # images, x and 2x, one channel, 3x3 (one crop position): 3000 crops draw both (p = 1 - 2^-2999).
    conv = nn.Conv2d(1, 2, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(0)))
        conv.bias.copy_(torch.tensor([0.0, -1.0]))
    net = nn.Sequential(conv, nn.ReLU(), nn.Flatten())
    img = torch.tensor([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6], [-0.3, 0.2, 0.25]]).view(1, 1, 3, 3)
    x = torch.cat([img, 2 * img])
    # the full net tells x from 2x (channel 1 has a bias), its channel-0 copy does not (no bias)
    full = [tuple((net(v) > 0).reshape(-1).tolist()) for v in (img, 2 * img)]
    assert full[0] != full[1]
    assert score_module(net, x, ["tenas_lr"], seed=0)["tenas_lr"] == 1.0
    # x and -x: the channel-0 patterns differ -> two regions
    assert score_module(net, torch.cat([img, -img]), ["tenas_lr"], seed=0)["tenas_lr"] == 2.0


def test_ntk_condition_number_of_a_linear_net_by_hand():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 2, bias=False))
    x = torch.randn(3, 3)
    # d sum(out_i) / dW = 1 x_i^T: NTK = 2 X X^T
    ev = np.linalg.eigvalsh(2 * (x.double() @ x.double().t()).numpy())
    r = score_module(net, (x, torch.zeros(3, dtype=torch.long)), ["tenas_ntk"])
    assert r["tenas_ntk"] == pytest.approx(ev[-1] / ev[0], rel=1e-4)


def test_gradsign_of_a_linear_classifier_by_hand():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 3, bias=False))
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    w = net[0].weight.detach()
    signs = torch.zeros_like(w)
    for i in range(5):
        p = torch.softmax(x[i] @ w.t(), 0)
        g = (p - F.one_hot(y[i], 3).float())[:, None] * x[i][None, :]
        signs += torch.sign(g)
    # the paper's sum over weights (Algorithm 1, the reference's ``grad_conflict``), not the mean
    assert score_module(net, (x, y), ["gradsign"])["gradsign"] == pytest.approx(float(signs.abs().sum()), rel=1e-6)


def test_meco_of_a_single_conv_by_hand():
    torch.manual_seed(2)
    net = nn.Conv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 5, 5)
    fea = net(x[:1]).detach()[0].reshape(4, -1).double().numpy()
    expected = float(np.linalg.eigvalsh(np.corrcoef(fea))[0])
    r = score_module(net, x, ["meco", "meco_opt"])
    assert r["meco"] == pytest.approx(expected, rel=1e-9)
    assert r["meco_opt"] == pytest.approx(expected, rel=1e-9)  # 4 <= 8 channels: all are used


def test_az_nas_taps_and_expressivity_by_hand():
    from penas.spaces import get_space

    sp = get_space("nb201")
    arch = sp.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|")
    model = sp.build(arch, "cifar10")
    taps = feature_taps(model)
    assert len(taps) == 18 and taps[0] is model.stem and taps[1] is model.cells[0]
    # a plain stack: its Conv2d/Linear layers; a skip-only block passes gradients unchanged
    net = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)),
                        nn.Sequential(nn.Identity()), nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)))
    x = torch.randn(4, 3, 6, 6)
    r = score_module(net, (x, torch.zeros(4, dtype=torch.long)), ["az_expressivity", "az_progressivity", "az_trainability"])
    assert math.isnan(r["az_trainability"])  # the identity block scores -inf in the reference
    assert math.isfinite(r["az_expressivity"]) and math.isfinite(r["az_progressivity"])


def test_az_expressivity_is_the_eigen_entropy_of_the_feature_covariance():
    from penas.estimators.proxies.az_nas import _entropy_of_covariance

    f = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    x = f.permute(0, 2, 3, 1).reshape(-1, 3).numpy()
    s = np.linalg.eigvalsh(np.cov(x, rowvar=False, bias=True))
    p = s / s.sum()
    assert _entropy_of_covariance(f) == pytest.approx(float(-(p * np.log(p + 1e-8)).sum()), rel=1e-9)


def test_vkdnw_fisher_matches_explicit_per_sample_jacobians():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(4, 3))
    net.eval()
    x = torch.randn(5, 3, 6, 6)
    ctx = ProxyContext(net, x, None)
    fisher = _fisher(ctx).numpy()
    params = list(net.parameters())
    rows = []
    for i in range(5):
        out = net(x[i : i + 1])[0]
        jac = []
        for k in range(3):
            gs = torch.autograd.grad(out[k], params, retain_graph=True)
            jac.append([float(g.reshape(-1)[0]) for g in gs])
        j = torch.tensor(jac, dtype=torch.float64)
        p = torch.softmax(out.detach().double(), 0) * 0.95 + 0.05 / 3
        lower = multinomial_cholesky(p[None])[0]
        np.testing.assert_allclose((lower @ lower.t()).numpy(), (torch.diag(p) - torch.outer(p, p)).numpy(), atol=1e-12)
        assert torch.equal(lower, torch.tril(lower))
        lj = lower @ j  # the reference's (L J)^T (L J), with L L^T the multinomial covariance
        rows.append((lj.t() @ lj).numpy())
    np.testing.assert_allclose(fisher, np.mean(rows, 0), rtol=1e-5, atol=1e-9)
    r = score_module(small_cnn(), small_batch(), ["vkdnw", "vkdnw_entropy", "vkdnw_dim"])
    assert r["vkdnw_dim"] == len(list(small_cnn().parameters()))
    assert r["vkdnw"] == pytest.approx(r["vkdnw_dim"] + r["vkdnw_entropy"] / (math.log(9) + 1e-6))
    assert 0.0 <= r["vkdnw_entropy"] <= math.log(9)
