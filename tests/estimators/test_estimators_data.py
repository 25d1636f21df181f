"""Batches: PNG decoding (Pillow), tiling, synthetic and CIFAR python-batch loading, fingerprints."""

from __future__ import annotations

import os
import pickle
import struct
import zlib

import numpy as np
import pytest
import torch

from penas.estimators.data import (
    Batch,
    augment_tile,
    cifar10_batches,
    decode_png,
    default_batch,
    fingerprint,
    png_batch,
    synthetic_batch,
    tile,
)


def write_png(path, img: np.ndarray, filters: list[int]) -> None:
    """A tiny PNG encoder using the given per-row filter types (to exercise every filter)."""
    h, w, c = img.shape
    raw = b""
    prev = np.zeros(w * c, dtype=np.int32)
    for y in range(h):
        line = img[y].reshape(-1).astype(np.int32)
        f = filters[y % len(filters)]
        enc = np.zeros_like(line)
        for i in range(len(line)):
            a = line[i - c] if i >= c else 0
            b = prev[i]
            cc = prev[i - c] if i >= c else 0
            pred = {0: 0, 1: a, 2: b, 3: (a + b) // 2}.get(f)
            if f == 4:
                p = a + b - cc
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
            enc[i] = (line[i] - pred) & 0xFF
        raw += bytes([f]) + enc.astype(np.uint8).tobytes()
        prev = line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ctype = {1: 0, 3: 2, 4: 6}[c]
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(data)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_decoder_roundtrips_every_filter(tmp_path, channels):
    rng = np.random.default_rng(channels)
    img = rng.integers(0, 256, size=(7, 5, channels), dtype=np.uint8)
    p = tmp_path / "x.png"
    write_png(p, img, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(decode_png(p), img)


def test_png_decoder_rejects_other_files(tmp_path):
    p = tmp_path / "x.png"
    p.write_bytes(b"GIF89a....")
    with pytest.raises(ValueError, match="not a PNG"):
        decode_png(p)


def test_real_png_batch(bench_root):
    b = png_batch(bench_root / "images" / "foolbox_cifar10")
    assert b.inputs.shape == (20, 3, 32, 32) and b.inputs.dtype == torch.float32
    assert b.targets[:4].tolist() == [3, 8, 8, 0]  # first CIFAR-10 test labels
    assert abs(float(b.inputs.mean())) < 1.0
    pil = pytest.importorskip("PIL.Image")
    first = sorted((bench_root / "images" / "foolbox_cifar10").glob("cifar10_*.png"))[0]
    np.testing.assert_array_equal(decode_png(first)[..., :3], np.asarray(pil.open(first).convert("RGB")))


def test_tile_and_fingerprint():
    b = synthetic_batch((3, 4, 4), 5, seed=1)
    t = tile(b, 12)
    assert t.size == 12 and torch.equal(t.inputs[5], b.inputs[0]) and torch.equal(t.targets[11], b.targets[1])
    assert fingerprint(b.inputs, b.targets) == b.fingerprint == synthetic_batch((3, 4, 4), 5, seed=1).fingerprint
    assert b.fingerprint != synthetic_batch((3, 4, 4), 5, seed=2).fingerprint
    assert b.resized((8, 8)).inputs.shape == (5, 3, 8, 8)
    with pytest.raises(ValueError, match="n:"):
        tile(b, 0)


def test_default_batch_prefers_real_cifar10_then_pngs_then_synthetic(bench_root, tmp_path, monkeypatch):
    if (bench_root / "cifar10" / "train_images.npy").is_file():
        b = default_batch(64)
        assert b.size == 64 and b.source.startswith("cifar10-train:0:0") and not b.synthetic
    root = tmp_path / "pngs-only"  # a data root holding the 20 PNGs but no CIFAR-10
    (root / "images").mkdir(parents=True)
    os.symlink(bench_root / "images" / "foolbox_cifar10", root / "images" / "foolbox_cifar10")
    monkeypatch.setenv("PENAS_DATA", str(root))
    b = default_batch(64)
    assert b.size == 64 and b.source.startswith("png:")
    monkeypatch.setenv("PENAS_DATA", str(tmp_path / "nothing"))
    b = default_batch(8, (3, 8, 8))
    assert b.synthetic and b.source.startswith("synthetic")


def test_cifar_python_batches(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(10, 3072), dtype=np.uint8)
        with (d / name).open("wb") as f:
            pickle.dump({b"data": data, b"labels": list(rng.integers(0, 10, 10))}, f)
    bs = list(cifar10_batches(tmp_path, 16, split="train"))
    assert len(bs) == 3 and all(isinstance(b, Batch) and b.inputs.shape == (16, 3, 32, 32) for b in bs)
    seeded = next(cifar10_batches(tmp_path, 16, seed=42))
    assert seeded.fingerprint == next(cifar10_batches(tmp_path, 16, seed=42)).fingerprint
    assert seeded.fingerprint != bs[0].fingerprint
    with pytest.raises(FileNotFoundError, match="root:"):
        next(cifar10_batches(tmp_path / "nope", 16))


def test_augment_tile_gives_distinct_seeded_samples():
    b = synthetic_batch((3, 8, 8), 5, seed=1)
    a = augment_tile(b, 40, seed=0)
    assert a.size == 40 and torch.equal(a.inputs[:5], b.inputs)
    assert a.targets.tolist() == [b.targets[i % 5].item() for i in range(40)]
    assert len({x.numpy().tobytes() for x in a.inputs}) == 40  # no repeated sample
    assert a.fingerprint == augment_tile(b, 40, seed=0).fingerprint != augment_tile(b, 40, seed=1).fingerprint


def test_nwot_is_defined_on_the_default_batch_but_not_on_repeats(bench_root):
    import math

    import torch.nn as nn

    from penas.estimators.zero_cost import score_module

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 32 * 32, 10))
    assert math.isfinite(score_module(net, default_batch(32), ["nwot"])["nwot"])
    assert math.isnan(score_module(net, tile(png_batch(), 32), ["nwot"])["nwot"])  # K is singular


def test_train_holdout_batches_are_disjoint_and_sized_by_the_data(tmp_path):
    # a 100-image npy CIFAR-10 with seeded random pixels (the split arithmetic does not depend on them)
    from penas.estimators.data import train_holdout_batches

    rng = np.random.default_rng(0)
    d = tmp_path / "c"
    d.mkdir()
    for base, n in (("train", 100), ("test", 10)):
        np.save(d / f"{base}_images.npy", rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
        np.save(d / f"{base}_labels.npy", rng.integers(0, 10, n).astype(np.uint8))
    train, held = train_holdout_batches(f"cifar10:{d}", (3, 16, 16), 10, 3, 1, 8, seed=1)
    assert [b.inputs.shape for b in train + held] == [(8, 3, 16, 16)] * 4
    assert held[0].source == "cifar10-train:1:90|resize16x16"  # the last 10% of the seeded permutation
    seen = {x.numpy().tobytes() for b in train for x in b.inputs}
    assert not seen & {x.numpy().tobytes() for x in held[0].inputs}
    with pytest.raises(ValueError, match=r"need 96 \+ 8 images, but .* has 90 \+ 10"):
        train_holdout_batches(f"cifar10:{d}", (3, 32, 32), 10, 12, 1, 8)
    s_tr, s_ev = train_holdout_batches("synthetic", (3, 8, 8), 10, 2, 1, 4)
    assert all(b.synthetic for b in s_tr + s_ev)
