"""Segmentation supernet training on the app's ADE20K dataset (``penas.app.segmentation.data``):
map-style masks, bit-exact resume, worker processes. Moved from ``tests/supernets`` (a library
package's tests do not import ``penas.app``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from penas.supernets import get_supernet
from penas.supernets.trainer import CheckpointError, SupernetTrainer, preset


def _tiny_topformer():
    torch.manual_seed(0)
    return get_supernet("topformer_tiny")


@pytest.fixture(scope="module")
def tiny_ade(tmp_path_factory):
    from penas.app.segmentation.data import make_tiny_ade20k

    return make_tiny_ade20k(tmp_path_factory.mktemp("ade"), n_train=6, n_val=1, size=(64, 48))


def test_map_style_masks_are_stacked(tiny_ade):
    from penas.app.segmentation.data import SegDataset

    ds = SegDataset(tiny_ade, "training", mode="train", size=32, crop=32, seed=0)
    tr = SupernetTrainer(_tiny_topformer(), ds, preset("hess_topformer", batch_size=2, iterations=4))
    x, y = tr._batch()
    assert x.shape == (2, 3, 32, 32) and y.shape == (2, 32, 32) and y.dtype == torch.long
    assert ((y == 255) | ((y >= 0) & (y < 150))).all()


def test_segmentation_resume_is_bit_exact(tiny_ade, tmp_path):
    from penas.app.segmentation.data import SegDataset

    def data():
        return SegDataset(tiny_ade, "training", mode="train", size=32, crop=32, seed=0)

    # 3 steps per epoch, 4 iterations: the resume point (2) is mid-epoch and inside the warmup, the
    # resumed run crosses an epoch boundary (new augmentation draw via set_epoch)
    cfg = preset("hess_topformer", batch_size=2, iterations=4, warmup_iters=3, lr=1e-3, paths_per_step=2)
    k = 2
    ref = SupernetTrainer(_tiny_topformer(), data(), cfg)
    ref.run(2 * k)
    first = SupernetTrainer(_tiny_topformer(), data(), cfg, ckpt_dir=tmp_path)
    first.run(k)
    del first
    resumed = SupernetTrainer(_tiny_topformer(), data(), cfg, ckpt_dir=tmp_path, resume=True)
    assert resumed.state.step == k and resumed.lr == pytest.approx(resumed.scheduler.lr_at(k)[0])
    resumed.run()
    assert resumed.state.step == ref.state.step == 2 * k
    assert [g["lr"] for g in resumed.optimizer.param_groups] == [g["lr"] for g in ref.optimizer.param_groups]
    assert resumed.state.last_loss == ref.state.last_loss and np.isfinite(ref.state.last_loss)
    for (n, a), (_, b) in zip(ref.supernet.state_dict().items(), resumed.supernet.state_dict().items(), strict=True):
        assert torch.equal(a, b), n
    # a different schedule length is another training setup
    with pytest.raises(CheckpointError, match="another training config"):
        SupernetTrainer(_tiny_topformer(), data(), dataclasses.replace(cfg, iterations=7), ckpt_dir=tmp_path,
                        resume=True)


def test_worker_processes_load_the_same_batches(tiny_ade):
    from penas.app.segmentation.data import SegDataset

    cfg = preset("hess_topformer", batch_size=2, iterations=8)
    trainers = [SupernetTrainer(_tiny_topformer(), SegDataset(tiny_ade, "training", mode="train", size=32, crop=32),
                                cfg, num_workers=w) for w in (0, 2)]
    for _ in range(4):  # 3 steps per epoch: crosses into epoch 1 (a new loader and augmentation draw)
        (x0, y0), (x1, y1) = (t._batch() for t in trainers)
        assert torch.equal(x0, x1) and torch.equal(y0, y1)
        for t in trainers:
            t.state.pos += 1
            if t.state.pos == t.steps_per_epoch:
                t.state.epoch, t.state.pos = t.state.epoch + 1, 0
    with pytest.raises(ValueError, match="^num_workers:"):
        SupernetTrainer(_tiny_topformer(), (torch.zeros(4, 3, 8, 8), torch.zeros(4, dtype=torch.long)), cfg,
                        num_workers=-1)
