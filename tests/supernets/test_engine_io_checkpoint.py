"""Training engine: the atomic writer, weights_only checkpoints, full RNG state, keep-last/best."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from penas.supernets.engine.checkpoint import (
    CheckpointError,
    CheckpointSaver,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from penas.supernets.engine.io import append_jsonl, atomic_write, atomic_write_json


class _Evil:
    """An arbitrary object: loading it needs the unpickler to run code."""


def test_atomic_write_replaces_whole_and_cleans_up_on_failure(tmp_path):
    p = tmp_path / "sub" / "a.json"
    atomic_write_json(p, {"x": 1}, indent=2, trailing_newline=True)
    assert p.read_text() == '{\n  "x": 1\n}\n'

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(p, boom)
    assert json.loads(p.read_text()) == {"x": 1}  # the old content survives
    assert sorted(f.name for f in p.parent.iterdir()) == ["a.json"]  # no temporary file left behind
    append_jsonl(tmp_path / "log.jsonl", {"a": 1})
    append_jsonl(tmp_path / "log.jsonl", {"a": float("nan")})
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"a": 1} and np.isnan(json.loads(lines[1])["a"])


def test_rng_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    random.seed(3)
    np.random.seed(3)
    torch.manual_seed(3)
    random.random(), np.random.rand(), torch.rand(1), np.random.randn()  # mid-stream, a cached gaussian
    save_checkpoint({"rng": rng_state(), "w": torch.ones(2)}, tmp_path / "ck.pt")
    expected = (random.random(), float(np.random.rand()), float(np.random.randn()), float(torch.rand(1)))
    random.seed(99), np.random.seed(99), torch.manual_seed(99)  # something else happened in between
    ck = torch.load(tmp_path / "ck.pt", weights_only=True)  # plain values and tensors only
    set_rng_state(ck["rng"])
    got = (random.random(), float(np.random.rand()), float(np.random.randn()), float(torch.rand(1)))
    assert got == expected


def test_load_checkpoint_errors_are_one_line(tmp_path):
    with pytest.raises(CheckpointError, match="no file"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupted") as e:
        load_checkpoint(tmp_path / "bad.pt")
    assert "\n" not in str(e.value)
    save_checkpoint({"format": "x/1"}, tmp_path / "ok.pt")
    assert load_checkpoint(tmp_path / "ok.pt", fmt="x/1")["format"] == "x/1"
    with pytest.raises(CheckpointError, match="not a y/1 file"):
        load_checkpoint(tmp_path / "ok.pt", fmt="y/1")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "ok.pt", required=("model",))
    torch.save({"obj": _Evil()}, tmp_path / "evil.pt")  # would need unpickling: refused by weights_only
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(tmp_path / "evil.pt")


def test_saver_keeps_last_n_and_the_best(tmp_path):
    saver = CheckpointSaver(tmp_path, keep_last=2, higher_is_better=False)
    for tag, metric in enumerate([3.0, 1.0, 2.0, 5.0]):
        saver.save(lambda t=tag: {"tag": t, "best": saver.best_metric}, tag=tag, metric=metric)
    assert [p.name for p in saver.history()] == ["ckpt-2.pt", "ckpt-3.pt"]
    assert torch.load(saver.last_path, weights_only=True)["tag"] == 3
    best = torch.load(saver.best_path, weights_only=True)
    assert best == {"tag": 1, "best": 1.0} and saver.best_metric == 1.0  # the state saw the updated best
    quiet = CheckpointSaver(tmp_path / "other", is_main=False)
    assert quiet.save({"a": 1}, metric=1.0) and not (tmp_path / "other").exists()
    with pytest.raises(ValueError, match="^keep_last:"):
        CheckpointSaver(tmp_path, keep_last=-1)
