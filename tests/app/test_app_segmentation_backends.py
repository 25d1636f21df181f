"""`segmentation eval --metric-backend`: every backend counts the same areas, so the scores agree exactly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from penas.app.segmentation.backends import METRIC_BACKENDS, make_meter


def _images(seed: int, n: int = 5, k: int = 7):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = 9 + i, 13 - i
        label = rng.integers(0, k, size=(h, w))
        label[rng.random((h, w)) < 0.2] = 255  # ignored pixels
        pred = np.where(rng.random((h, w)) < 0.6, np.where(label == 255, 0, label), rng.integers(0, k, (h, w)))
        out.append((pred, label))
    return out, k


def _scores(backend: str, seed: int):
    imgs, k = _images(seed)
    m = make_meter(backend, k)
    for p, t in imgs:
        m.update(p, t)
    return m.result()


def _available(name: str) -> bool:
    try:
        make_meter(name, 3)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("backend", [b for b in METRIC_BACKENDS.names() if b != "penas"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backends_count_the_same_areas(backend, seed):
    if not _available(backend):
        pytest.skip(f"{backend} is not installed")
    ref, got = _scores("penas", seed), _scores(backend, seed)
    assert got.area_intersect == ref.area_intersect
    assert got.area_union == ref.area_union
    assert got.area_label == ref.area_label
    assert got.n_images == ref.n_images == 5
    for a, b in ((got.miou, ref.miou), (got.pixel_acc, ref.pixel_acc), (got.mean_acc, ref.mean_acc)):
        assert a == b
    assert [math.isnan(v) for v in got.per_class_iou] == [math.isnan(v) for v in ref.per_class_iou]


def test_penas_backend_matches_a_hand_count():
    imgs, k = _images(3)
    ai, au, al = np.zeros(k), np.zeros(k), np.zeros(k)
    for p, t in imgs:
        keep = t != 255
        for c in range(k):
            pc, tc = (p == c) & keep, (t == c) & keep
            ai[c] += (pc & tc).sum()
            au[c] += (pc | tc).sum()
            al[c] += tc.sum()
    s = _scores("penas", 3)
    iou = [ai[c] / au[c] for c in range(k) if au[c] > 0]
    assert s.miou == pytest.approx(float(np.mean(iou)), abs=1e-12)
    assert s.pixel_acc == pytest.approx(ai.sum() / al.sum(), abs=1e-12)


def test_unknown_backend_is_one_line_exit_2(tmp_path, capsys):
    from penas.app.cli import main
    from penas.app.segmentation.data import make_tiny_ade20k
    from penas.spaces.topformer import SEED_CONFIGS

    data = make_tiny_ade20k(tmp_path / "ade", n_train=1, n_val=1, size=(32, 24))
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(SEED_CONFIGS["tiny"][0]))
    with pytest.raises(SystemExit) as e:
        main(["segmentation", "eval", "--config", str(cfg), "--space", "topformer_tiny", "--data", str(data),
              "--size", "32", "--no-progress", "--metric-backend", "bogus"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "--metric-backend" in err and "torchmetrics" in err


def test_eval_cli_same_numbers_with_torchmetrics(tmp_path, capsys):
    if not _available("torchmetrics"):
        pytest.skip("torchmetrics is not installed")
    from penas.app.cli import main
    from penas.app.segmentation.data import make_tiny_ade20k
    from penas.spaces.topformer import SEED_CONFIGS

    data = make_tiny_ade20k(tmp_path / "ade", n_train=1, n_val=2, size=(40, 32))
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(SEED_CONFIGS["tiny"][0]))
    res = {}
    for b in ("penas", "torchmetrics"):
        out = tmp_path / f"{b}.json"
        with pytest.raises(SystemExit) as e:
            main(["segmentation", "eval", "--config", str(cfg), "--space", "topformer_tiny", "--data", str(data),
                  "--size", "32", "--no-progress", "--metric-backend", b, "--out", str(out)])
        assert e.value.code in (0, None), capsys.readouterr().err
        res[b] = json.loads(out.read_text())
    for key in ("miou", "pixel_acc", "mean_acc", "area_intersect", "area_union", "area_label"):
        assert res["penas"][key] == res["torchmetrics"][key], key
