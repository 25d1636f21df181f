"""Training engine: the lr schedules against hand-computed values, and the plateau rule against torch's."""

from __future__ import annotations

import math

import pytest
import torch

from penas.supernets.engine.schedules import LRSchedule, Plateau, anneal


def test_closed_forms_by_hand():
    assert anneal("cosine", 1.0, 0.5) == pytest.approx(0.5)
    assert anneal("cosine", 1.0, 0.25, min_lr=0.1) == pytest.approx(0.1 + 0.9 * (1 + math.sqrt(0.5)) / 2)
    assert anneal("linear", 2.0, 0.25) == pytest.approx(1.5)
    assert anneal("poly", 1.0, 0.5, min_lr=0.01, power=2.0) == pytest.approx(0.99 * 0.25 + 0.01)
    assert anneal("constant", 0.3, 0.9) == 0.3
    assert anneal("cosine", 1.0, 1.0) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="^schedule:"):
        LRSchedule("step", 10)


def test_per_iteration_poly_with_mmcv_warmup():
    # base 1, 10 steps, warm-up 4 from 0.1: lr_t = (1 - t/10) * (1 - (1 - t/4) * 0.9) while t < 4
    s = LRSchedule("poly", 10, warmup=4, warmup_ratio=0.1)
    expected = {0: 0.1, 1: 0.9 * 0.325, 2: 0.8 * 0.55, 3: 0.7 * 0.775, 4: 0.6, 9: 0.1, 10: 0.0}
    for t, lr in expected.items():
        assert s.lr(1.0, t) == pytest.approx(lr, abs=1e-12), t
    assert s.lrs([1.0, 10.0], 4) == pytest.approx([0.6, 6.0])  # a head group at 10x keeps its ratio


def test_per_epoch_cosine_with_ramp_warmup():
    # PC-DARTS ImageNet: 5 warm-up epochs of 10 steps ramp base*(i+1)/50, then cosine over the 5 left
    s = LRSchedule("cosine", 10, by_epoch=True, warmup=5, warmup_mode="ramp")
    assert s.lr(0.5, 0, epoch=0, pos=0, steps_per_epoch=10) == pytest.approx(0.5 / 50)
    assert s.lr(0.5, 23, epoch=2, pos=3, steps_per_epoch=10) == pytest.approx(0.5 * 24 / 50)
    assert s.lr(0.5, 50, epoch=5, pos=0, steps_per_epoch=10) == pytest.approx(0.5)
    assert s.lr(0.5, 75, epoch=7, pos=5, steps_per_epoch=10) == pytest.approx(0.25 * (1 + math.cos(math.pi * 0.4)))
    # no warm-up: torch's CosineAnnealingLR values at every epoch
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.01)
    plain = LRSchedule("cosine", 6, by_epoch=True, min_lr=0.01)
    for e in range(7):
        assert plain.lr(0.1, 0, epoch=e) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-15), e
        opt.step()
        ref.step()


def test_plateau_matches_torch_reduce_on_plateau():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
    mine = Plateau([0.05], factor=0.5, patience=1)
    for loss in [2.0, 1.9, 1.9, 1.95, 1.8, 1.8, 1.8, 1.8, 1.0, 1.2, 1.3]:
        ref.step(loss)
        assert mine.step(loss) == [opt.param_groups[0]["lr"]]
    again = Plateau([1.0], factor=0.5, patience=1)
    again.load_state_dict(ref.state_dict())  # an older checkpoint's torch state dict
    assert (again.best, again.num_bad_epochs, again.lrs) == (mine.best, mine.num_bad_epochs, mine.lrs)
