"""``penas-app supernet train|eval`` on a small slice of real CIFAR-10 (a C=4, N=1 NB201 supernet):
the NB201 split by default, the JSON-lines log, the recorded training data, nb201-valid scoring."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from penas.app.cli import main

DATA = Path(os.environ.get("PENAS_DATA", "../shared/benchmarks"))
pytestmark = pytest.mark.skipif(not (DATA / "cifar10" / "train_images.npy").is_file(),
                                reason="real CIFAR-10 ($PENAS_DATA/cifar10) is absent")


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def test_train_spec_defaults_to_nb201_train():
    from penas.app.study.supernet_data import train_spec

    assert train_spec("cifar10", "nb201") == "cifar10@nb201-train"
    assert train_spec("auto", "nb201") == "cifar10@nb201-train"
    assert train_spec("cifar10@test", "nb201") == "cifar10@test"  # an explicit split is kept
    assert train_spec("synthetic:64", "nb201") == "synthetic:64"
    assert train_spec("cifar10", "nasbench_macro") == "cifar10"  # other spaces keep the layer's default


def test_train_log_metadata_and_eval_on_recorded_data(tmp_path, capsys):
    out = tmp_path / "sn"
    code, text, err = run_cli(["supernet", "train", "nb201", "--out", str(out), "--preset", "pe_nas", "--epochs", "2",
                               "--batch-size", "32", "--data", "cifar10@sample:96:0", "--channels", "4", "--cells",
                               "1", "--save-every", "1", "--no-progress"], capsys)
    assert code == 0, err
    assert "SYNTHETIC" not in text
    meta = json.loads((out / "train_config.json").read_text())
    assert meta["data"] == "cifar10@sample:96:0"
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and all(r["train_loss"] > 0 for r in log)
    db = tmp_path / "os.db"
    # a directory: every saved checkpoint; no --data: the recorded training data (real images)
    code, text, err = run_cli(["supernet", "eval", "nb201", "--checkpoints", str(out), "--archs", "sample:3",
                               "--store", str(db), "--batch-size", "16", "--recal-batches", "2", "--no-progress"],
                              capsys)
    assert code == 0, err
    assert "SYNTHETIC" not in text and "recalibrate" in text
    from penas.app.study.supernet_data import expand_checkpoints
    from penas.estimators.store import ScoreStore

    assert [Path(p).name for p in expand_checkpoints([str(out)])] == ["epoch0001.pt", "epoch0002.pt", "last.pt"]
    assert ScoreStore(db).count(space="nb201", estimator="one_shot") == 6  # last.pt == epoch0002.pt's weights


def test_eval_batches_are_nb201_valid_with_train_recalibration():
    from penas.app.study.supernet_data import eval_batches
    from penas.spaces import get_space

    space = get_space("nb201")
    ev, rc, source = eval_batches("cifar10@nb201-train", space, "cifar10", 16, 2, 3)
    assert len(ev) == 2 and len(rc) == 3 and "nb201-valid" in source
    assert tuple(ev[0][0].shape) == (16, 3, 32, 32)
    assert eval_batches("cifar10@sample:96", space, "cifar10", 16, 2, 3) is None  # hold-out scheme instead
