"""penas.metrics.segmentation: mmseg IoUMetric semantics (hand-worked, properties, torchmetrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from penas.metrics.segmentation import (
    SegmentationMeter,
    SegmentationScores,
    intersect_and_union,
    reduce_zero_label,
)

IGN = 255


def test_hand_worked_example():
    pred = np.array([[0, 1], [1, 2]])
    label = np.array([[0, 1], [2, IGN]])
    i, u, p, lab = intersect_and_union(pred, label, num_classes=4)
    # kept pixels: (p0,l0) (p1,l1) (p1,l2); class 3 appears nowhere
    assert i.tolist() == [1, 1, 0, 0]
    assert p.tolist() == [1, 2, 0, 0]
    assert lab.tolist() == [1, 1, 1, 0]
    assert u.tolist() == [1, 2, 1, 0]
    m = SegmentationMeter(4)
    m.update(pred, label)
    s = m.result()
    assert s.per_class_iou[:3] == [1.0, 0.5, 0.0] and math.isnan(s.per_class_iou[3])
    assert s.per_class_acc[:3] == [1.0, 1.0, 0.0] and math.isnan(s.per_class_acc[3])
    assert s.miou == pytest.approx(0.5)  # nanmean over the 3 present classes
    assert s.mean_acc == pytest.approx(2 / 3)
    assert s.pixel_acc == pytest.approx(2 / 3)  # 2 correct of 3 labelled pixels
    assert s.n_images == 1
    d = s.to_dict()
    assert d["per_class_iou"][3] is None and d["miou"] == pytest.approx(0.5)
    back = SegmentationScores.from_dict(d)
    assert back.miou == s.miou and math.isnan(back.per_class_iou[3])
    table = s.to_table(["a", "b", "c", "d"])
    assert "mIoU 50.00" in table and "aAcc 66.67" in table and table.splitlines()[2].split() == ["b", "50.00",
                                                                                                "100.00"]


def test_two_images_sum_areas_not_average_ious():
    # image 1: class 0 perfect (IoU 1); image 2: class 0 predicted everywhere, labelled on 1 of 4
    m = SegmentationMeter(2)
    m.update(np.zeros((1, 1), int), np.zeros((1, 1), int))
    m.update(np.zeros((2, 2), int), np.array([[0, 1], [1, 1]]))
    s = m.result()
    # class 0: I = 1 + 1, U = 1 + 4; class 1: I = 0, U = 3
    assert s.area_intersect == [2, 0] and s.area_union == [5, 3]
    assert s.per_class_iou == [pytest.approx(0.4), 0.0]
    assert s.miou == pytest.approx(0.2) and s.pixel_acc == pytest.approx(2 / 5) and s.n_images == 2


def test_reduce_zero_label():
    assert reduce_zero_label(np.array([0, 1, 2, 150, 255], np.uint8)).tolist() == [255, 0, 1, 149, 255]


def test_errors():
    m = SegmentationMeter(3)
    with pytest.raises(ValueError, match="label: values must be in"):
        m.update(np.zeros((2, 2), int), np.full((2, 2), 3))
    with pytest.raises(ValueError, match="pred: values must be in"):
        m.update(np.full((2, 2), 7), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="pred: expected the label's shape"):
        m.update(np.zeros((2, 3), int), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="integer array"):
        m.update(np.zeros((2, 2)), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="no images"):
        m.result()
    # ignored pixels are never range-checked, and an all-ignored image gives NaN scores
    m.update(np.zeros((2, 2), int), np.full((2, 2), IGN))
    s = m.result()
    assert math.isnan(s.miou) and math.isnan(s.pixel_acc) and s.n_images == 1


def _pairs(n_classes_max: int = 6, n_classes_min: int = 1):
    @st.composite
    def strat(draw):
        k = draw(st.integers(n_classes_min, n_classes_max))
        n_img = draw(st.integers(1, 4))
        imgs = []
        for _ in range(n_img):
            shape = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)))
            pred = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, k - 1)))
            lab = draw(hnp.arrays(np.int64, shape, elements=st.sampled_from([*range(k), IGN])))
            imgs.append((pred, lab))
        return k, imgs

    return strat()


@settings(max_examples=60, deadline=None)
@given(_pairs())
def test_properties(data):
    k, imgs = data
    m = SegmentationMeter(k)
    for p, lab in imgs:
        m.update(p, lab)
    s = m.result()
    iou = np.array(s.per_class_iou)
    present = np.array(s.area_union) > 0
    assert np.all(np.isnan(iou[~present])) and np.all((iou[present] >= 0) & (iou[present] <= 1))
    if present.any():
        assert 0.0 <= s.miou <= 1.0 and s.miou == pytest.approx(float(np.mean(iou[present])))
    # accumulating per image == one update over all pixels (flattened and concatenated)
    big = SegmentationMeter(k)
    big.update(np.concatenate([p.ravel() for p, _ in imgs])[None], np.concatenate([lab.ravel() for _, lab in imgs])[None])
    assert big.result().area_union == s.area_union and big.result().area_intersect == s.area_intersect
    # perfect prediction (ignored pixels predicted arbitrarily): IoU 1 for every labelled class
    perfect = SegmentationMeter(k)
    for p, lab in imgs:
        perfect.update(np.where(lab == IGN, p, lab), lab)
    ps = perfect.result()
    labelled = np.array(ps.area_label) > 0
    if labelled.any():
        assert ps.miou == 1.0 and ps.pixel_acc == 1.0 and ps.mean_acc == 1.0
    # permuting class ids permutes the per-class results and keeps the means
    perm = np.random.default_rng(k).permutation(k)
    lut = np.append(perm, np.zeros(IGN + 1 - k, np.int64))
    lut[IGN] = IGN
    pm = SegmentationMeter(k)
    for p, lab in imgs:
        pm.update(perm[p], lut[lab])
    q = pm.result()
    np.testing.assert_array_equal(np.array(q.per_class_iou)[perm], iou)
    assert q.miou == pytest.approx(s.miou, nan_ok=True) and q.pixel_acc == pytest.approx(s.pixel_acc, nan_ok=True)


@settings(max_examples=25, deadline=None)
@given(_pairs(8, n_classes_min=2))  # torchmetrics needs >= 2 classes
def test_matches_torchmetrics(data):
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.classification")
    k, imgs = data
    metric = tm.MulticlassJaccardIndex(num_classes=k, average=None, ignore_index=IGN)
    m = SegmentationMeter(k)
    for p, lab in imgs:
        metric.update(torch.from_numpy(p)[None], torch.from_numpy(lab)[None])
        m.update(p, lab)
    ref = metric.compute().numpy()
    s = m.result()
    present = np.array(s.area_union) > 0  # torchmetrics scores absent classes 0, mmseg NaN
    np.testing.assert_allclose(np.array(s.per_class_iou)[present], ref[present], rtol=1e-6)


def test_segmentation_metrics_do_not_import_torch():
    import subprocess
    import sys

    code = "import sys, penas.metrics, penas.metrics.segmentation; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
