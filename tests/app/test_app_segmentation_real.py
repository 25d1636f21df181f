"""``penas-app segmentation eval`` on the three real ADE20K validation images of the shared data.

A pipeline check on real files (labels as stored, reduce-zero-label, ignore 255), not an mIoU
claim: three images say nothing about a model's quality. Skipped when the data is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from penas.app.cli import main
from penas.app.segmentation.data import ADE20K_NUM_CLASSES, SegDataset, check_layout
from penas.app.segmentation.evaluate import evaluate
from penas.spaces.topformer import SEED_CONFIGS

SIZES = {1: (683, 512), 2: (500, 364), 3: (400, 300)}  # (width, height), PROVENANCE.md


@pytest.fixture(scope="module")
def ade_real(bench_root: Path) -> Path:
    d = bench_root / "ade20k" / "ADEChallengeData2016"
    if not (d / "annotations" / "validation").is_dir():
        pytest.skip("real ADE20K images not found: set PENAS_DATA to the shared benchmarks (ade20k/)")
    return d


def raw_label(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == "L"
        return np.asarray(im)


def test_real_labels_read_with_reduce_zero_label(ade_real):
    pairs = check_layout(ade_real, "validation")
    assert [i.name for i, _ in pairs] == [f"ADE_val_{k:08d}.jpg" for k in (1, 2, 3)]
    ds = SegDataset(ade_real, size=512)
    for k, (_, ann) in enumerate(pairs):
        raw = raw_label(ann)
        assert raw.shape == SIZES[k + 1][::-1]
        assert 0 < raw.max() <= ADE20K_NUM_CLASSES and (raw == 0).any()  # real labels include "other"
        _, y = ds[k]
        y = y.numpy()
        assert y.shape == raw.shape  # test mode: the label stays at its original resolution
        assert np.array_equal(y[raw == 0], np.full((raw == 0).sum(), 255))  # 0 ("other") -> ignore
        assert np.array_equal(y[raw > 0], raw[raw > 0].astype(np.int64) - 1)  # l -> l - 1
        assert set(np.unique(y)) <= set(range(ADE20K_NUM_CLASSES)) | {255}


class Oracle(torch.nn.Module):
    """Predicts the stored label of each image in turn (one-hot logits at label size), class 0 on
    ignored pixels: exact scores must be 1.0, and 255 pixels must be left out of every count."""

    def __init__(self, labels: list[torch.Tensor]) -> None:
        super().__init__()
        self.labels, self.i = labels, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.labels[self.i].clone()
        self.i += 1
        y[y == 255] = 0
        return torch.nn.functional.one_hot(y, ADE20K_NUM_CLASSES).permute(2, 0, 1)[None].float()


def test_ignore_255_is_left_out_of_the_counts(ade_real):
    ds = SegDataset(ade_real, size=64)
    labels = [ds[i][1] for i in range(len(ds))]
    res = evaluate(Oracle(labels), ds)
    n_valid = sum(int((raw_label(a) > 0).sum()) for _, a in check_layout(ade_real, "validation"))
    assert res.n_images == 3 and sum(res.area_label) == n_valid
    assert res.pixel_acc == 1.0 and res.miou == 1.0  # an ignored pixel predicted 0 costs nothing
    present = {int(c) for lab in labels for c in torch.unique(lab) if int(c) != 255}
    assert {c for c, v in enumerate(res.per_class_iou) if np.isfinite(v)} == present


def test_eval_cli_on_real_images(ade_real, tmp_path, capsys, monkeypatch):
    d, space_name, _ = SEED_CONFIGS["tiny"]
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(d))
    out = tmp_path / "real.json"
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as ex:
        main(["segmentation", "eval", "--config", str(cfg), "--data", str(ade_real), "--space", space_name,
              "--size", "64", "--no-progress", "--out", str(out)])
    cap = capsys.readouterr()
    assert int(ex.value.code or 0) == 0, cap.err
    res = json.loads(out.read_text())
    n_valid = sum(int((raw_label(a) > 0).sum()) for _, a in check_layout(ade_real, "validation"))
    assert res["n_images"] == 3 and 0.0 <= res["pixel_acc"] <= 1.0
    assert sum(res["area_label"]) == n_valid  # every non-ignored pixel of the 3 labels, no 255 pixel
    assert f"mIoU {res['miou'] * 100:.2f}" in cap.out
