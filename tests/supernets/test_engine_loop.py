"""Training engine: the one loop (EMA, grad clipping, bit-exact mid-epoch resume, log, progress/ETA).

The data here are small synthetic tensors: the loop's arithmetic, not a model's accuracy, is tested."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.supernets.engine.checkpoint import load_checkpoint, save_checkpoint
from penas.supernets.engine.loop import TrainLoop, head_param_groups
from penas.supernets.engine.schedules import LRSchedule


class Scalar(nn.Module):
    def __init__(self, w: float = 1.0) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))


def _scalar_loop(model: Scalar, scale: float, **kw) -> TrainLoop:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return TrainLoop(model, opt, lambda batch, s: (scale * model.w, {}), steps_per_epoch=2, total_steps=4, **kw)


def test_ema_by_hand():
    # loss = w, so SGD(lr 0.1) gives w_t = 1 - 0.1 t; EMA(0.5): e_t = 0.5 e_{t-1} + 0.5 w_t, e_0 = 1
    m = Scalar()
    loop = _scalar_loop(m, 1.0, ema_decay=0.5)
    loop.run([None, None])
    e = 1.0
    for t in range(1, 5):
        e = 0.5 * e + 0.5 * (1 - 0.1 * t)
    assert float(m.w) == pytest.approx(0.6) and float(loop.ema.state["w"]) == pytest.approx(e)
    with loop.ema.swapped_into(m):
        assert float(m.w) == pytest.approx(e)
    assert float(m.w) == pytest.approx(0.6)


@pytest.mark.parametrize("clip, expected", [(None, 1.0 - 4 * 0.1 * 10), (1.0, 1.0 - 4 * 0.1)])
def test_grad_clipping(clip, expected):
    m = Scalar()
    _scalar_loop(m, 10.0, grad_clip=clip).run([None, None])  # |grad| = 10, clipped to 1
    assert float(m.w) == pytest.approx(expected)


def test_amp_is_off_on_the_cpu():
    loop = _scalar_loop(Scalar(), 1.0, amp=True, device=torch.device("cpu"))
    assert not loop.amp and loop.scaler is None


class Shuffled:
    """Synthetic (x, y) batches in an order seeded by the epoch (set_epoch), as the real loaders do."""

    def __init__(self, n_batches: int = 3) -> None:
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(n_batches * 4, 6, generator=g), torch.randint(0, 3, (n_batches * 4,), generator=g)
        self.n, self.epoch = n_batches, 0

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        order = torch.randperm(self.n * 4, generator=torch.Generator().manual_seed(self.epoch))
        return ((self.x[order[i * 4:(i + 1) * 4]], self.y[order[i * 4:(i + 1) * 4]]) for i in range(self.n))


def _net_loop(tmp_path=None, **kw) -> TrainLoop:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 3))
    opt = torch.optim.SGD(head_param_groups(net, 0.1, ("3.",), 2.0), lr=0.1, momentum=0.9)

    def loss(batch, s):
        x, y = batch
        out = net(x)
        return F.cross_entropy(out, y), {"n": len(y), "correct": int((out.argmax(1) == y).sum())}

    return TrainLoop(net, opt, loss, steps_per_epoch=3, total_steps=9, grad_clip=1.0, ema_decay=0.9,
                     schedule=LRSchedule("cosine", 9, warmup=2, warmup_ratio=0.5),
                     log_path=tmp_path / "log.jsonl" if tmp_path is not None else None, **kw)


def test_mid_epoch_resume_is_bit_exact(tmp_path):
    ref = _net_loop()
    ref.run(Shuffled())
    first = _net_loop()
    first.run(Shuffled(), steps=4)  # "killed" in the middle of epoch 2 (dropout draws from torch's RNG)
    save_checkpoint(first.state_dict(), tmp_path / "ck.pt")
    torch.manual_seed(123)  # the new process starts from another RNG state
    resumed = _net_loop()
    resumed.load_state_dict(load_checkpoint(tmp_path / "ck.pt"))
    assert (resumed.state.step, resumed.state.epoch, resumed.state.pos) == (4, 1, 1)
    resumed.run(Shuffled())
    for a, b in zip(ref.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    oa, ob = ref.optimizer.state_dict(), resumed.optimizer.state_dict()
    assert oa["param_groups"] == ob["param_groups"]
    for k in oa["state"]:
        assert torch.equal(oa["state"][k]["momentum_buffer"], ob["state"][k]["momentum_buffer"])
    for k in ref.ema.state:
        assert torch.equal(ref.ema.state[k], resumed.ema.state[k])
    assert [g["lr"] for g in ref.optimizer.param_groups] == pytest.approx([0.0, 0.0], abs=1e-12)


def test_log_and_progress_events(tmp_path):
    events: list[dict] = []
    loop = _net_loop(tmp_path, progress=events.append, log_every=2)
    loop.run(Shuffled())
    steps = [e for e in events if e["event"] == "step"]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["step"] for e in steps] == list(range(1, 10)) and len(epochs) == 3
    assert all(e["eta_s"] >= 0 for e in steps) and steps[-1]["eta_s"] == 0.0
    assert epochs[0]["n"] == 12 and 0 <= epochs[0]["correct"] <= 12 and epochs[0]["total_steps"] == 9
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "train_loss" not in r] == [2, 4, 6, 8]  # every log_every steps
    per_epoch = [r for r in lines if "train_loss" in r]
    assert [r["epoch"] for r in per_epoch] == [1, 2, 3]
    assert per_epoch[0]["train_loss"] == pytest.approx(epochs[0]["train_loss"])


def test_head_groups_and_bad_settings():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    groups = head_param_groups(net, 0.1, ("1.",), 10.0)
    assert len(groups) == 2 and groups[1]["lr"] == pytest.approx(1.0) and len(groups[1]["params"]) == 2
    assert len(head_param_groups(net, 0.1, ("nothing.",), 10.0)) == 1
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="^schedule:"):
        from penas.supernets.engine.schedules import Plateau

        TrainLoop(net, opt, lambda b, s: None, steps_per_epoch=1, total_steps=1, schedule=LRSchedule(),
                  plateau=Plateau([0.1]))
    with pytest.raises(ValueError, match="^data:"):
        TrainLoop(net, opt, lambda b, s: None, steps_per_epoch=1, total_steps=1).run([])


class _KeepsBnFrozen(nn.Module):
    """Overrides ``train`` (as mmcv's norm_eval backbones do): its BN stays in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(2)
        self.conv = nn.Conv2d(2, 2, 1)

    def train(self, mode: bool = True) -> _KeepsBnFrozen:
        super().train(mode)
        self.bn.eval()
        return self


def test_train_mode_sets_the_same_flags_as_module_train():
    from penas.supernets.engine.loop import train_mode

    def make() -> nn.Module:
        return nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2)), _KeepsBnFrozen())

    a, b = make(), make()
    for m in (a, b):
        m.eval()
        m[1].train()  # mixed flags before the call
    a.train()
    train_mode(b)
    assert [m.training for m in a.modules()] == [m.training for m in b.modules()]
    assert not b[2].bn.training and b[1][0].training
