"""Checks that pin the reference conventions of GradSign, TE-NAS (NTK, linear regions), VKDNW and
AZ-NAS, each one failing on the version of the proxy that departed from its reference.

Synthetic images and tiny networks (NB201 cells at 8x8 where an architecture matters): the
checks are about which quantity is computed, not about ranking quality, which needs real data
(``/tmp`` fidelity runs on CIFAR-10, see the proxies' docstrings)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.estimators.proxies.context import ProxyContext
from penas.estimators.proxies.vkdnw import per_sample_jacobian
from penas.estimators.zero_cost import score_module

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_estimators_proxies import small_cnn  # noqa: E402


def _images(n: int, seed: int, shape: tuple[int, ...] = (3, 8, 8)) -> torch.Tensor:
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))


def test_gradsign_sums_over_weights_so_agreeing_samples_score_the_weight_count():
    # identical samples agree on every weight's sign: |sum_i sign g_i| = B on each weight with a
    # nonzero gradient -- the paper's sum gives B * #weights, the old mean gave B.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    x = torch.randn(1, 4).repeat(5, 1)
    y = torch.zeros(5, dtype=torch.long)
    n_weights = 4 * 6 + 6 * 3
    assert score_module(net, (x, y), ["gradsign"])["gradsign"] == 5.0 * n_weights


def test_tenas_ntk_equals_naive_per_sample_backward_through_the_batch_graph():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    x, y = _images(6, 2, (3, 5, 5)), torch.zeros(6, dtype=torch.long)
    # naive reference: one fresh train-mode batch forward per sample, .backward() of sum(logits[i])
    weights = [p for n, p in net.named_parameters() if "weight" in n]
    rows = []
    for i in range(6):
        net.zero_grad()
        net.train()(x)[i].sum().backward()
        rows.append(torch.cat([w.grad.reshape(-1) for w in weights]).double())
    g = torch.stack(rows)
    naive = (g @ g.t()).numpy()
    net.zero_grad(set_to_none=True)
    ctx = ProxyContext(net, x, y, needs=frozenset({"ntk"}))
    with ctx.session():
        ntk = ctx.shared.ntk
    np.testing.assert_allclose(ntk, naive, rtol=1e-5, atol=1e-7)
    ev = np.linalg.eigvalsh(naive)
    assert score_module(net, (x, y), ["tenas_ntk"])["tenas_ntk"] == pytest.approx(ev[-1] / ev[0], rel=1e-4)


def test_tenas_linear_regions_are_not_constant_over_nb201_archs():
    # the per-arch port counted a Gaussian batch through the full net: always the batch size
    from penas.spaces import get_space

    sp = get_space("nb201")
    x = _images(16, 3)
    archs = ["|none~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|none~2|",
             "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|",
             "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"]
    counts = []
    for a in archs:
        torch.manual_seed(0)
        counts.append(score_module(sp.build(sp.parse(a), "cifar10"), x, ["tenas_lr"], seed=0)["tenas_lr"])
    assert len(set(counts)) == 3, counts
    assert all(16 < c <= 3000 for c in counts), counts  # neither saturated at the batch size nor above the crops


class _SharedConv(nn.Module):
    """One conv applied twice: its weights' Jacobian sums over both calls."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.head = nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv(F.relu(self.bn(self.conv(x)))))
        return self.head(h.mean((2, 3)))


def test_vkdnw_jacobian_equals_per_sample_autograd_with_a_module_called_twice():
    torch.manual_seed(5)
    net = _SharedConv().eval()
    x = _images(4, 6, (3, 5, 5))
    names = [n for n, _ in net.named_parameters()]
    ctx = ProxyContext(net, x, None)
    logits, jac = per_sample_jacobian(ctx, names)
    params = list(net.parameters())
    for i in range(4):
        out = net(x[i : i + 1])[0]
        for k in range(4):
            gs = torch.autograd.grad(out[k], params, retain_graph=True)
            expected = torch.stack([g.reshape(-1)[0] for g in gs])
            torch.testing.assert_close(jac[i, k], expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logits, net(x).detach())


@pytest.mark.parametrize("proxies", [["az_expressivity", "az_progressivity", "az_trainability"], ["vkdnw_entropy"]])
def test_az_nas_and_vkdnw_read_gaussian_inputs_of_the_batch_shape(proxies):
    # the NB201 reference harnesses feed these proxies torch.randn batches, not the images
    net = small_cnn()
    y = torch.arange(8) % 5
    a = score_module(net, (_images(8, 0), y), proxies, seed=1)
    b = score_module(net, (_images(8, 1) * 3.0 + 1.0, y), proxies, seed=1)
    c = score_module(net, (_images(8, 0), y), proxies, seed=2)
    for p in proxies:
        assert a[p] == b[p], p  # the content of the batch does not matter, only its shape
    assert any(a[p] != c[p] for p in proxies)  # the seed draws the inputs
