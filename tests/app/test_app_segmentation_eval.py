"""penas-app segmentation eval|show: ADE20K data, exact scores of a fixed predictor, the CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from penas.app.cli import main
from penas.app.segmentation.data import MEAN, STD, SegDataset, check_layout, make_tiny_ade20k
from penas.app.segmentation.evaluate import evaluate, load_config, recalibrate_bn
from penas.spaces import get_space
from penas.spaces.topformer import SEED_CONFIGS

W, H = 40, 24


@pytest.fixture(scope="module")
def ade(tmp_path_factory) -> Path:
    return make_tiny_ade20k(tmp_path_factory.mktemp("ade"), n_train=4, n_val=3, size=(W, H), num_classes=10)


def _run(argv: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as ex:
        main(argv)
    cap = capsys.readouterr()
    return int(ex.value.code or 0), cap.out, cap.err


# --- data -------------------------------------------------------------------------------------
def test_layout_and_test_pipeline(ade):
    pairs = check_layout(ade, "validation")
    assert [(i.name, a.name) for i, a in pairs] == [(f"ADE_val_{k:08d}.jpg", f"ADE_val_{k:08d}.png") for k in (1, 2, 3)]
    raw = np.asarray(Image.open(pairs[0][1]))
    assert raw.dtype == np.uint8 and raw.max() <= 10 and len(np.unique(raw)) >= 2
    # size=H: scale (4H, H) fits the image exactly (factor 1), so the image is just normalised
    ds = SegDataset(ade, size=H)
    x, y = ds[0]
    rgb = np.asarray(Image.open(pairs[0][0]).convert("RGB")).astype(np.float32)
    want = (rgb - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    torch.testing.assert_close(x, torch.from_numpy(want).permute(2, 0, 1))
    expect = raw.astype(np.int64) - 1
    expect[raw == 0] = 255
    assert torch.equal(y, torch.from_numpy(expect))  # reduce_zero_label, original resolution
    # size 2H: keep-ratio resize by 2, the label stays at its size
    x2, y2 = SegDataset(ade, size=2 * H)[0]
    assert x2.shape == (3, 2 * H, 2 * W) and y2.shape == (H, W)
    assert len(SegDataset(ade, limit=2)) == 2


def test_train_pipeline_is_deterministic_and_stackable(ade):
    ds = SegDataset(ade, "training", "train", size=H, crop=32, seed=3)
    items = [ds[i] for i in range(len(ds))]
    assert {tuple(x.shape) for x, _ in items} == {(3, 32, 32)} and {tuple(y.shape) for _, y in items} == {(32, 32)}
    again = SegDataset(ade, "training", "train", size=H, crop=32, seed=3)[2]
    assert torch.equal(again[0], items[2][0]) and torch.equal(again[1], items[2][1])
    for _, y in items:
        vals = set(y.unique().tolist())
        assert vals <= set(range(10)) | {255}
    # crop larger than the resized image (ratio <= 2 of a 24-pixel short side at size H): padded with 255
    big = SegDataset(ade, "training", "train", size=8, crop=64, seed=0)
    x, y = big[0]
    assert x.shape == (3, 64, 64) and (y == 255).any()
    assert (x[:, :, 63] == 0).all() and (x[:, 63] == 0).all()  # padded right/bottom, 0 after normalisation
    assert (y[:, 63] == 255).all() and (y[63] == 255).all() and (y[:4, :4] != 255).any()
    ds.set_epoch(1)
    assert not torch.equal(ds[2][0], items[2][0])


def test_layout_errors(tmp_path):
    with pytest.raises(ValueError, match=r"--data: expected an ADE20K directory.*not a directory"):
        check_layout(tmp_path / "nope", "validation")
    (tmp_path / "images" / "validation").mkdir(parents=True)
    with pytest.raises(ValueError, match="no annotations/validation folder"):
        check_layout(tmp_path, "validation")
    (tmp_path / "annotations" / "validation").mkdir(parents=True)
    with pytest.raises(ValueError, match="no .jpg/.png images"):
        check_layout(tmp_path, "validation")
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "validation" / "a.jpg")
    with pytest.raises(ValueError, match=r"1 image\(s\) without annotations/validation/<stem>.png \(first: a\)"):
        check_layout(tmp_path, "validation")


# --- exact scores of a fixed predictor -------------------------------------------------------
class ColumnPredictor(torch.nn.Module):
    """One-hot logits at input resolution: class (x // 4) % 150 at column x (no parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls = (torch.arange(x.shape[3]) // 4) % 150
        logits = torch.nn.functional.one_hot(cls, 150).T.float()  # [150, W]
        return logits[None, :, None, :].expand(x.shape[0], 150, x.shape[2], x.shape[3])


def _by_hand(ade: Path, rule) -> tuple[dict[int, float], float, int]:
    """Per-class IoU, pixel accuracy and hits of ``pred = rule(x)`` over the label files (python loops)."""
    inter, union_p, lab_n = Counter(), Counter(), Counter()
    for _, ann in check_layout(ade, "validation"):
        raw = np.asarray(Image.open(ann))
        for yy in range(raw.shape[0]):
            for xx in range(raw.shape[1]):
                if raw[yy, xx] == 0:
                    continue  # "other" -> ignored
                lab, pred = int(raw[yy, xx]) - 1, rule(xx)
                lab_n[lab] += 1
                union_p[pred] += 1
                inter[lab] += lab == pred
    classes = set(lab_n) | set(union_p)
    iou = {c: inter[c] / (lab_n[c] + union_p[c] - inter[c]) for c in classes}
    return iou, sum(inter.values()) / sum(lab_n.values()), sum(inter.values())


@pytest.mark.parametrize("scale, rule", [(1, lambda x: x // 4), (2, lambda x: x // 2)])
def test_fixed_predictor_scores_exactly(ade, scale, rule):
    """Labels are 1..10 (classes 0..9 after reduce_zero_label); the predictor's column bands give
    classes 0..9 at scale 1 (no resize); at scale 2 the image is resized x2 and the logits are
    resized back bilinearly (each label pixel blends two columns of the same band)."""
    iou, pixel_acc, hits = _by_hand(ade, rule)
    s = evaluate(ColumnPredictor(), SegDataset(ade, size=scale * H))
    assert s.n_images == 3 and hits > 0  # the rule hits some pixels, so the check is not vacuous
    assert {c for c in range(150) if s.area_union[c] > 0} == set(iou)
    for c in range(150):
        if c in iou:
            assert s.per_class_iou[c] == pytest.approx(iou[c], abs=1e-12)
        else:
            assert np.isnan(s.per_class_iou[c])
    assert s.miou == pytest.approx(sum(iou.values()) / len(iou), abs=1e-12)
    assert s.pixel_acc == pytest.approx(pixel_acc, abs=1e-12)
    assert evaluate(ColumnPredictor(), SegDataset(ade, size=H), limit=1).n_images == 1


def test_recalibrate_bn_sets_dataset_statistics(ade):
    bn = torch.nn.BatchNorm2d(3)
    model = torch.nn.Sequential(bn)
    ds = SegDataset(ade, "training", "train", size=H, crop=16, seed=0)
    recalibrate_bn(model, ds, n_batches=2, batch_size=4, seed=0)
    assert bn.momentum == 0.1 and not bn.training and int(bn.num_batches_tracked) == 2
    # the cumulative average over both batches (each: per-channel batch means)
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(len(ds), generator=gen).tolist()
    order += torch.randperm(len(ds), generator=gen).tolist()
    means = [torch.stack([ds[i][0] for i in order[b * 4:(b + 1) * 4]]).mean((0, 2, 3)) for b in range(2)]
    torch.testing.assert_close(bn.running_mean, (means[0] + means[1]) / 2)


# --- configs ---------------------------------------------------------------------------------
def test_load_config_formats_and_errors(tmp_path):
    d, space_name, _ = SEED_CONFIGS["tiny"]
    space = get_space(space_name)
    p = tmp_path / "cfg.json"
    p.write_text(json.dumps({"subnet_cfg": d, "flops": 0.58}))
    assert load_config(p, space) == space.from_dict(d) == load_config(json.dumps(d), space_name)
    with pytest.raises(ValueError, match=r"--config: width\[2\]: 16 is not allowed; expected one of \[24, 32, 40\]"):
        load_config(json.dumps(SEED_CONFIGS["small"][0]), "topformer")
    with pytest.raises(ValueError, match="--config: .* is not a file"):
        load_config(tmp_path / "missing.json", space)
    with pytest.raises(ValueError, match="--space: expected a segmentation space"):
        load_config(p, "nb201")


# --- CLI -------------------------------------------------------------------------------------
def test_show_seed_configs(tmp_path, capsys, monkeypatch):
    for name, (d, space_name, gflops) in SEED_CONFIGS.items():
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(d))
        rc, out, err = _run(["segmentation", "show", str(p), "--space", space_name], capsys, monkeypatch)
        assert rc == 0, err
        assert f"{gflops:.2f} GFLOPs at 512x512" in out
        params = get_space(space_name).params(get_space(space_name).from_dict(d))
        assert f"{params / 1e6:.2f} M params" in out
    rc, _, err = _run(["segmentation", "show", str(tmp_path / "small.json")], capsys, monkeypatch)
    assert rc == 2 and err.strip() == ("error: --config: width[2]: 16 is not allowed; expected one of [24, 32, 40] "
                                       "(space 'topformer'; see --space)")


def _checkpoint(ade: Path, tmp_path: Path) -> Path:
    from penas.supernets import get_supernet
    from penas.supernets.trainer import SupernetTrainer, TrainConfig

    torch.manual_seed(0)
    net = get_supernet("topformer_tiny")
    data = SegDataset(ade, "training", "train", size=32, crop=32)
    cfg = TrainConfig(epochs=1, batch_size=2, task="segmentation", optimizer="adamw", lr=1e-3, weight_decay=0.01,
                      grad_clip=None, scheduler="none")
    tr = SupernetTrainer(net, data, cfg, ckpt_dir=tmp_path / "ck")
    return tr.save()  # a step-0 checkpoint (training is tested with the trainer)


def test_eval_cli_end_to_end(ade, tmp_path, capsys, monkeypatch):
    d, space_name, _ = SEED_CONFIGS["tiny"]
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(d))
    base = ["segmentation", "eval", "--config", str(cfg), "--data", str(ade), "--space", space_name, "--size", "32",
            "--no-progress"]
    out_json = tmp_path / "res" / "standalone.json"
    rc, out, err = _run([*base, "--limit", "2", "--out", str(out_json)], capsys, monkeypatch)
    assert rc == 0, err
    res = json.loads(out_json.read_text())
    assert res["n_images"] == 2 and not res["bn_recalibrated"] and res["space"] == space_name
    assert f"mIoU {res['miou'] * 100:.2f}" in out and f"aAcc {res['pixel_acc'] * 100:.2f}" in out
    assert res["flops"] == get_space(space_name).flops(get_space(space_name).from_dict(d))
    rows = (tmp_path / "res" / "standalone_per_class.csv").read_text().splitlines()
    assert rows[0].startswith("class,name,iou,acc") and len(rows) == 151 and rows[1].startswith("0,wall,")

    ck = _checkpoint(ade, tmp_path)
    out_ck = tmp_path / "ck.json"
    rc, out, err = _run([*base, "--checkpoint", str(ck), "--calib-batches", "2", "--calib-batch-size", "2",
                         "--out", str(out_ck)], capsys, monkeypatch)
    assert rc == 0, err
    res = json.loads(out_ck.read_text())
    assert res["bn_recalibrated"] and res["n_images"] == 3 and "BN recalibrated" in out
    assert 0.0 <= res["pixel_acc"] <= 1.0


def test_eval_cli_errors(ade, tmp_path, capsys, monkeypatch):
    d, space_name, _ = SEED_CONFIGS["tiny"]
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(d))
    rc, _, err = _run(["segmentation", "eval", "--config", str(cfg), "--data", str(tmp_path), "--space", space_name],
                      capsys, monkeypatch)
    assert rc == 2 and err.startswith("error: --data: expected an ADE20K directory with images/validation/*.jpg")
    assert "no images/validation folder" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**d, "num_heads": [6, 10, 5, 10]}))
    rc, _, err = _run(["segmentation", "eval", "--config", str(bad), "--data", str(ade), "--space", space_name],
                      capsys, monkeypatch)
    assert rc == 2 and "--config: num_heads[2]: 5 is not allowed; expected one of [4, 6, 8, 10, 12]" in err
    rc, _, err = _run(["segmentation", "eval", "--config", str(cfg), "--data", str(ade), "--space", space_name,
                       "--checkpoint", str(tmp_path / "none.pt")], capsys, monkeypatch)
    assert rc == 2 and "--checkpoint: no file at" in err
    rc, _, err = _run(["segmentation", "eval", "--config", str(cfg), "--data", str(ade), "--limit", "0",
                       "--space", space_name], capsys, monkeypatch)
    assert rc == 2 and "--limit: expected a positive number" in err
