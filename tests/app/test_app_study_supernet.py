"""``penas-app supernet train|eval``: a tiny NB201 supernet (C=4, N=1) on synthetic data."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from penas.app.cli import main


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


TINY = ["--preset", "pe_nas", "--epochs", "2", "--batch-size", "16", "--data", "synthetic:64", "--channels", "4",
        "--cells", "1", "--no-progress"]


def test_train_checkpoints_resume_and_eval(tmp_path, capsys):
    from penas.estimators.one_shot import OneShotEstimator
    from penas.estimators.store import ScoreStore
    from penas.spaces import get_space

    full, part = tmp_path / "full", tmp_path / "part"
    code, out, err = run_cli(["supernet", "train", "nb201", "--out", str(full), "--save-every", "1", *TINY], capsys)
    assert code == 0, err
    assert "synthetic" in out and "step 8/8" in out  # 64 images, batch 16 -> 4 steps/epoch, 2 epochs
    assert (full / "epoch0001.pt").is_file() and (full / "epoch0002.pt").is_file() and (full / "last.pt").is_file()
    # interrupted after 3 steps, then resumed: same weights as the uninterrupted run
    code, out, _ = run_cli(["supernet", "train", "nb201", "--out", str(part), "--max-steps", "3", *TINY], capsys)
    assert code == 0 and "step 3/8" in out
    code, out, _ = run_cli(["supernet", "train", "nb201", "--out", str(part), "--resume", *TINY], capsys)
    assert code == 0 and "resumed at step 3" in out and "step 8/8" in out
    a = torch.load(full / "last.pt", weights_only=True)["model"]
    b = torch.load(part / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    db = tmp_path / "os.db"
    archs = "sample:5"
    argv = ["supernet", "eval", "nb201", "--checkpoints", str(full / "epoch0001.pt"), "--checkpoints",
            str(full / "epoch0002.pt"), "--archs", archs, "--store", str(db), "--data", "synthetic:64",
            "--batch-size", "8", "--per-batch", "--out", str(tmp_path / "pb"), "--bn-mode", "train", "--no-progress"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "synthetic" in out
    store = ScoreStore(db)
    assert store.count(space="nb201", estimator="one_shot") == 10
    # the stored scores are the estimator's, recomputed here directly
    space = get_space("nb201")
    from penas.app.supernet.train import load_data

    x, y, _ = load_data("synthetic:64", space, "cifar10")
    est = OneShotEstimator(space, supernet_kwargs={"C": 4, "N": 1, "layout": "pe_nas", "dataset": "cifar10",
                                                   "dropout": 0.0},
                           checkpoint=str(full / "epoch0002.pt"), data=(x, y), batch_size=8, progress=False)
    rows = store.rows("nb201", "one_shot", est.config_hash)
    assert len(rows) == 5
    for r in rows[:2]:
        per = est.evaluate(space.parse(r.arch_id))
        assert r.value == pytest.approx(np.mean(per))
        assert r.provenance["per_batch"] == pytest.approx(per)
    pb = sorted((tmp_path / "pb").glob("per_batch_*.csv"))
    assert len(pb) == 2
    table = list(csv.reader(pb[0].open()))
    assert table[0] == ["arch_id", "batch0", "batch1"] and len(table) == 6  # 13 held-out images -> 2 batches
    # re-run: nothing recomputed
    code, out, _ = run_cli(argv, capsys)
    assert code == 0 and store.count(space="nb201", estimator="one_shot") == 10


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["supernet", "train", "nb201", "--out", "{tmp}/x", "--preset", "nope"], "preset"),
        (["supernet", "train", "nb201", "--out", "{tmp}/x", "--data", "imagenet"], "--data"),
        (["supernet", "train", "nb201", "--out", "{tmp}/x", "--save-every", "-1"], "--save-every"),
        (["supernet", "eval", "nb201", "--checkpoints", "{tmp}/none.pt", "--store", "{tmp}/s.db"], "checkpoint"),
        (["supernet", "eval", "nb201", "--checkpoints", "{tmp}/none.pt", "--store", "{tmp}/s.db",
          "--bn-mode", "weird"], "--bn-mode"),
    ],
)
def test_supernet_bad_input_one_line_exit_2(tmp_path, capsys, argv, needle):
    code, _, err = run_cli([a.format(tmp=tmp_path) for a in argv] + ["--no-progress"], capsys)
    assert code == 2
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1, err
