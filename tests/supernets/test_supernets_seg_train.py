"""Segmentation supernet training: poly + warmup lr, AdamW head group, seg loss, exact resume."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from penas.supernets import get_supernet
from penas.supernets.samplers import make_sampler
from penas.supernets.trainer import (
    LOSSES,
    PRESETS,
    MultiPathLoss,
    PolyWarmupLR,
    SupernetTrainer,
    TrainConfig,
    pixelwise_kd_loss,
    preset,
    segmentation_loss,
)


def _nb201():
    torch.manual_seed(0)
    return get_supernet("nb201", C=4, N=1, layout="pe_nas")


def _cls_data(n: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


def _tiny_topformer():
    torch.manual_seed(0)
    return get_supernet("topformer_tiny")


def test_hess_preset_is_the_spec_recipe():
    h = PRESETS["hess_topformer"]
    assert (h.optimizer, h.lr, h.betas, h.weight_decay, h.head_lr_mult, h.head_prefixes) == (
        "adamw", 1.2e-4, (0.9, 0.999), 0.01, 10.0, ("head.",))
    assert (h.scheduler, h.poly_power, h.min_lr, h.warmup_iters, h.warmup_ratio) == ("poly", 1.0, 0.0, 1500, 1e-6)
    assert (h.iterations, h.batch_size, h.sampler, h.paths_per_step, h.task, h.grad_clip, h.distill) == (
        160_000, 16, "sandwich", 4, "segmentation", None, "kd")
    # the older presets keep their behaviour: SGD, one group, per-epoch schedule, classification
    for name in ("aw_nas_nb201", "pe_nas", "pe_nas_macro"):
        p = PRESETS[name]
        assert (p.optimizer, p.head_lr_mult, p.iterations, p.warmup_iters, p.task, p.distill) == (
            "sgd", 1.0, None, 0, "classification", None)


@pytest.mark.parametrize(
    "kwargs, field",
    [({"optimizer": "adam"}, "optimizer"), ({"task": "detection"}, "task"), ({"iterations": 0}, "iterations"),
     ({"warmup_iters": 5}, "warmup_iters"),  # warmup needs the poly scheduler
     ({"scheduler": "poly", "warmup_ratio": 0.0}, "warmup_ratio"), ({"head_lr_mult": 10.0}, "head_lr_mult"),
     ({"betas": (0.9, 1.5)}, "betas"), ({"poly_power": -1.0}, "poly_power"), ({"distill": "cwd"}, "distill"),
     ({"distill": "kd"}, "distill")],  # kd is pixel-wise: segmentation only
)
def test_new_fields_reject_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        TrainConfig(**kwargs)


def test_poly_warmup_lr_values():
    # base 1.0, total 10, warmup 4 from ratio 0.1: lr_t = poly_t * (1 - (1 - t/4) * 0.9) while t < 4
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    s = PolyWarmupLR(opt, total=10, power=1.0, min_lr=0.0, warmup_iters=4, warmup_ratio=0.1)
    expected = {0: 0.1, 2: 0.8 * 0.55, 3: 0.7 * 0.775, 4: 0.6, 9: 0.1, 10: 0.0}
    for t, lr in expected.items():
        assert s.lr_at(t) == pytest.approx([lr], abs=1e-12), t
    # power 2 and a floor: (1 - 0.01) * 0.5 ** 2 + 0.01
    s2 = PolyWarmupLR(opt, total=10, power=2.0, min_lr=0.01)
    assert s2.lr_at(5) == pytest.approx([0.2575]) and s2.lr_at(0) == pytest.approx([1.0])


def test_trainer_steps_the_poly_lr_per_iteration():
    cfg = preset("pe_nas", batch_size=8, lr=1.0, scheduler="poly", iterations=10, warmup_iters=4,
                 warmup_ratio=0.1, grad_clip=None)
    tr = SupernetTrainer(_nb201(), _cls_data(), cfg)  # 4 steps per epoch: the schedule runs across epochs
    assert tr.total_steps == 10
    used: list[float] = []
    tr.optimizer.register_step_pre_hook(lambda opt, a, k: used.append(opt.param_groups[0]["lr"]))
    tr.run()
    assert tr.state.step == 10 and tr.state.epoch == 2
    assert used == pytest.approx([0.1, 0.9 * 0.325, 0.8 * 0.55, 0.7 * 0.775, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])


def test_adamw_head_group_gets_ten_times_the_lr():
    net = _tiny_topformer()
    cfg = preset("hess_topformer", batch_size=1, iterations=100, warmup_iters=10)
    tr = SupernetTrainer(net, _cls_data(2), cfg)  # data is not touched before a step
    opt = tr.optimizer
    assert isinstance(opt, torch.optim.AdamW) and len(opt.param_groups) == 2
    body, head = opt.param_groups
    assert {id(p) for p in head["params"]} == {id(p) for p in net.head.parameters()}
    assert len(body["params"]) + len(head["params"]) == len(list(net.parameters()))
    assert head["betas"] == (0.9, 0.999) and head["weight_decay"] == body["weight_decay"] == 0.01
    for t in (0, 5, 10, 57):
        lrs = tr.scheduler.lr_at(t)
        assert lrs[1] == pytest.approx(10 * lrs[0])
    assert tr.lr == pytest.approx(1.2e-4 * 1e-6)  # step 0 of the warmup
    with pytest.raises(ValueError, match="^head_prefixes:"):
        SupernetTrainer(_nb201(), _cls_data(), dataclasses.replace(cfg, head_prefixes=("decode_head.",)))


def test_segmentation_loss_resizes_and_ignores_255():
    k = 5
    assert LOSSES["segmentation"] is segmentation_loss
    # uniform logits: CE = log(K) on every labelled pixel, averaged over ALL pixels (mmseg avg_non_ignore=False)
    target = torch.zeros(2, 8, 8, dtype=torch.long)
    target[:, :4] = 255
    loss = segmentation_loss(torch.zeros(2, k, 2, 2), target)
    assert float(loss) == pytest.approx(math.log(k) / 2)
    assert float(segmentation_loss(torch.zeros(1, k, 2, 2), torch.full((1, 8, 8), 255))) == 0.0
    # logits at 1/4 resolution are bilinearly upsampled (align_corners=False) before the CE
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, k, 4, 4, generator=g, requires_grad=True)
    target = torch.randint(0, k, (2, 16, 16), generator=g)
    target[0, 3:9, 2:12] = 255
    up = F.interpolate(logits, size=(16, 16), mode="bilinear", align_corners=False)
    logp = up.log_softmax(1)
    keep = target != 255
    manual = -logp.permute(0, 2, 3, 1)[keep].gather(1, target[keep][:, None]).sum() / target.numel()
    loss = segmentation_loss(logits, target)
    torch.testing.assert_close(loss, manual)
    # ignored pixels get no gradient (same-size logits)
    full = torch.randn(1, k, 6, 6, generator=g, requires_grad=True)
    lab = torch.randint(0, k, (1, 6, 6), generator=g)
    lab[0, :2] = 255
    segmentation_loss(full, lab).backward()
    assert full.grad[0, :, :2].abs().sum() == 0 and full.grad[0, :, 2:].abs().sum() > 0


def test_sandwich_preset_draws_largest_smallest_and_two_random():
    net = _tiny_topformer()
    h = PRESETS["hess_topformer"]
    archs = make_sampler(h.sampler, net, h.paths_per_step).draw(np.random.default_rng([0, 7]))
    assert len(archs) == 4 and archs[:2] == list(net.extremes())


def test_pixelwise_kd_and_the_distilled_sandwich_loss():
    k = 7
    # equal uniform logits: -sum_c (1/K) log(1/K) = log K per pixel, summed over B, averaged over h*w
    assert float(pixelwise_kd_loss(torch.zeros(2, k, 3, 3), torch.zeros(2, k, 3, 3))) == pytest.approx(2 * math.log(k))
    with pytest.raises(ValueError, match="^distill:"):
        pixelwise_kd_loss(torch.zeros(2, k), torch.zeros(2, k))

    class Scaled(torch.nn.Module):  # path "a" computes a * w * x
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x, a):
            return a * self.w * x

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, k, 4, 4, generator=g)
    y = torch.randint(0, k, (2, 8, 8), generator=g)
    net = Scaled()
    loss = MultiPathLoss(net, segmentation_loss, pixelwise_kd_loss)(x, y, [1.0, 0.5, 2.0])
    expected = segmentation_loss(x, y) + pixelwise_kd_loss(0.5 * x, x) + pixelwise_kd_loss(2.0 * x, x)
    torch.testing.assert_close(loss, expected)
    # without distillation: the mean task loss over the paths (the older behaviour)
    plain = MultiPathLoss(net, segmentation_loss)(x, y, [1.0, 0.5])
    torch.testing.assert_close(plain, (segmentation_loss(x, y) + segmentation_loss(0.5 * x, y)) / 2)
    # the teacher's logits are detached: the KD terms' gradient flows only through the students
    net.zero_grad()
    pixelwise_kd_loss(0.5 * net.w * x, net.w * x).backward()
    only_student = net.w.grad.clone()
    net.zero_grad()
    pixelwise_kd_loss(0.5 * net.w * x, (net.w * x).detach()).backward()
    torch.testing.assert_close(only_student, net.w.grad)
