"""Training engine tasks: bit-exact resume of the supernet and retraining tasks (weights and
optimizer state), partial training resumed per arch, fine-tuning in an RNG fork.

Synthetic tensors stand in for images: these tests check the training mechanics, not accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from penas.supernets import get_supernet
from penas.supernets.engine.tasks.finetune import finetune
from penas.supernets.engine.tasks.partial import PartialRecipe, accuracy, train_partial
from penas.supernets.engine.tasks.retrain import RetrainTask
from penas.supernets.trainer import SupernetTrainer, preset


def _same_optimizer_state(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["param_groups"] == sb["param_groups"] and sa["state"].keys() == sb["state"].keys()
    for k, st in sa["state"].items():
        for name, v in st.items():
            assert torch.equal(v, sb["state"][k][name]) if isinstance(v, torch.Tensor) else v == sb["state"][k][name]


def _supernet_data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(48, 3, 8, 8, generator=g), torch.randint(0, 10, (48,), generator=g)


@pytest.mark.parametrize("sampler, paths", [("uniform", 2), ("fairnas", 1), ("sandwich", 3)])
def test_supernet_task_resume_is_bit_exact(tmp_path, sampler, paths):
    cfg = preset("aw_nas_nb201", epochs=3, batch_size=16, sampler=sampler, scheduler="cosine", paths_per_step=paths)

    def net():
        torch.manual_seed(0)
        return get_supernet("nb201", C=4, N=1, layout="aw_nas")  # aw_nas: dropout before the classifier

    ref = SupernetTrainer(net(), _supernet_data(), cfg)
    ref.run(6)
    first = SupernetTrainer(net(), _supernet_data(), cfg, ckpt_dir=tmp_path)
    first.run(4)  # "killed" mid-epoch 2 (3 steps per epoch)
    ck = torch.load(tmp_path / "last.pt", weights_only=True)
    assert {"python", "numpy", "torch"} <= set(ck["rng"]) and ck["pos"] == 1
    del first
    torch.manual_seed(7)
    resumed = SupernetTrainer(net(), _supernet_data(), cfg, ckpt_dir=tmp_path, resume=True)
    resumed.run(2)
    for a, b in zip(ref.supernet.state_dict().values(), resumed.supernet.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    _same_optimizer_state(ref.optimizer, resumed.optimizer)
    assert resumed.state.last_loss == ref.state.last_loss


def test_supernet_task_log_and_progress(tmp_path):
    events: list[dict] = []
    torch.manual_seed(0)
    tr = SupernetTrainer(get_supernet("nb201", C=4, N=1, layout="pe_nas"), _supernet_data(),
                         preset("pe_nas", epochs=2, batch_size=16), log_path=tmp_path / "log.jsonl",
                         progress=events.append)
    tr.run()
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and all(np.isfinite(r["train_loss"]) for r in log)
    assert sum(e["event"] == "step" for e in events) == 6 and events[-1]["eta_s"] == 0.0


class TinyAux(nn.Module):
    """A net with an auxiliary head and drop-path-like dropout (``drop_path_prob``), like DARTS."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.head, self.aux = nn.Linear(12, 16), nn.Linear(16, 4), nn.Linear(16, 4)
        self.drop_path_prob = 0.0

    def forward(self, x):
        h = F.dropout(torch.relu(self.body(x.flatten(1))), p=self.drop_path_prob, training=self.training)
        return (self.head(h), self.aux(h)) if self.training else (self.head(h), None)


class EpochLoader:
    """``epoch(e)`` batches in a seeded order (the retrain Loader's interface)."""

    def __init__(self, n: int, seed: int, train: bool) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x, self.y, self.train = torch.randn(n, 3, 2, 2, generator=g), torch.randint(0, 4, (n,), generator=g), train

    def __len__(self) -> int:
        return len(self.y) // 4

    def epoch(self, e: int):
        order = torch.randperm(len(self.y), generator=torch.Generator().manual_seed(e)) if self.train \
            else torch.arange(len(self.y))
        return ((self.x[order[i:i + 4]], self.y[order[i:i + 4]]) for i in range(0, len(self.y), 4))


class Recipe:
    name, epochs, lr, momentum, nesterov, weight_decay = "tiny", 3, 0.1, 0.9, True, 1e-4
    schedule, warmup_epochs, label_smoothing, auxiliary_weight, grad_clip, ema_decay = "cosine", 1, 0.1, 0.4, 5.0, 0.9

    def drop_path_at(self, epoch: int) -> float:
        return 0.3 * epoch / self.epochs

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "epochs", "lr", "schedule", "ema_decay")}


def _retrain(out):
    torch.manual_seed(0)
    return RetrainTask(Recipe(), TinyAux(), EpochLoader(16, 0, True), EpochLoader(8, 1, False), out, {"arch": "x"})


def test_retrain_task_resume_is_bit_exact(tmp_path):
    ref = _retrain(tmp_path / "a")
    rep = ref.fit()
    first = _retrain(tmp_path / "b")
    assert first.fit(stop_after=2)["epochs_done"] == 2  # "killed" after epoch 2; epoch 3 draws dropout masks
    torch.manual_seed(5)
    resumed = _retrain(tmp_path / "b")
    resumed.resume()
    assert resumed.start_epoch == 2
    rep2 = resumed.fit()
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]) and torch.equal(a["ema"][k], b["ema"][k])
    _same_optimizer_state(ref.optimizer, resumed.optimizer)
    assert rep["best_acc"] == rep2["best_acc"] and rep["last_acc"] == rep2["last_acc"] and rep2["finished"]
    log = [json.loads(x) for x in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3] and log[-1]["drop_path"] == pytest.approx(0.2)
    assert set(torch.load(tmp_path / "a" / "best.pt", weights_only=True)) == set(a["model"])


def _partial(tmp, epochs):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Dropout(0.3), nn.Linear(8, 4))
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(4, 3, 2, 2, generator=g), torch.randint(0, 4, (4,), generator=g)) for _ in range(3)]
    trained = [train_partial(model, batches, e, PartialRecipe(t_max=4, seed=3), tmp / "arch.pt") for e in epochs]
    return model, trained, batches


def test_partial_training_resumes_per_arch(tmp_path):
    random_before = (np.random.get_state()[1][:3].tolist(), torch.get_rng_state().clone())
    straight, t1, batches = _partial(tmp_path / "s", [3])
    torch.manual_seed(0)
    split, t2, _ = _partial(tmp_path / "r", [1, 3, 3])  # 1 epoch, then 2 more, then nothing to do
    assert t1 == [3] and t2 == [1, 2, 0]
    for a, b in zip(straight.state_dict().values(), split.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert torch.load(tmp_path / "r" / "arch.pt", weights_only=True)["epoch"] == 3
    assert 0.0 <= accuracy(split, batches) <= 100.0
    assert np.random.get_state()[1][:3].tolist() == random_before[0]  # the caller's numpy RNG is untouched


def test_finetune_is_seeded_and_leaves_the_callers_rng_alone():
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(3, 4, 4, generator=g), torch.randint(0, 5, (4, 4), generator=g)) for _ in range(5)]

    def run():
        torch.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Dropout(0.2), nn.Conv2d(8, 5, 1))
        before = torch.get_rng_state()
        finetune(m, data, 4, lambda out, y: F.cross_entropy(out, y), batch_size=2, lr=1e-2, weight_decay=0.01,
                 head_lr_mult=10.0, head_prefixes=("2.",), seed=3)
        assert torch.equal(before, torch.get_rng_state())
        return m

    a, b = run(), run()
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="^iters:"):
        finetune(a, data, 0, F.cross_entropy, batch_size=2, lr=1e-2, weight_decay=0.0)


def test_supernet_epoch_log_has_training_accuracy(tmp_path):
    """The per-epoch JSON-lines log carries the first path's top-1 training accuracy (synthetic
    tensors: only the bookkeeping is under test)."""
    import json

    torch.manual_seed(0)
    cfg = preset("aw_nas_nb201", epochs=2, batch_size=16)
    log = tmp_path / "log.jsonl"
    SupernetTrainer(get_supernet("nb201", C=4, N=1, layout="aw_nas"), _supernet_data(), cfg, log_path=log).run()
    recs = [json.loads(line) for line in log.read_text().splitlines() if "train_loss" in line]
    assert [r["epoch"] for r in recs] == [1, 2]
    for r in recs:
        assert r["seen"] == 48 and 0 <= r["correct"] <= 48
        assert r["train_acc"] == pytest.approx(100.0 * r["correct"] / 48)
