"""``penas-app supernet train topformer_tiny --data ade20k:DIR``: tiny crops, --max-steps, --resume, errors."""

from __future__ import annotations

import json

import pytest
import torch

from penas.app.cli import main


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


@pytest.fixture(scope="module")
def ade(tmp_path_factory):
    from penas.app.segmentation.data import make_tiny_ade20k

    return make_tiny_ade20k(tmp_path_factory.mktemp("ade"), n_train=4, n_val=1, size=(64, 48))


def _tiny(ade) -> list[str]:
    # 4 images, batch 2 -> 2 steps per epoch; 3 iterations with a 2-step warmup; 2 sandwich paths
    return ["--preset", "hess_topformer", "--data", f"ade20k:{ade}", "--crop-size", "32", "--batch-size", "2",
            "--iterations", "3", "--no-progress"]


def test_train_max_steps_then_resume_equals_one_run(ade, tmp_path, capsys, monkeypatch):
    from penas.supernets import trainer

    small = trainer.preset("hess_topformer", paths_per_step=2, warmup_iters=2, lr=1e-3)
    monkeypatch.setitem(trainer.PRESETS, "hess_topformer", small)  # a cheaper recipe, same code path
    full, part = tmp_path / "full", tmp_path / "part"
    code, out, err = run_cli(["supernet", "train", "topformer_tiny", "--out", str(full), *_tiny(ade)], capsys)
    assert code == 0, err
    assert "preset hess_topformer" in out and "step 3/3" in out and "ade20k-training" in out
    cfg = json.loads((full / "train_config.json").read_text())
    assert cfg["train"]["task"] == "segmentation" and cfg["train"]["iterations"] == 3
    assert cfg["command"]["crop_size"] == 32
    # interrupted after 2 steps (loaded by a worker process), resumed: the same weights as one run
    code, out, err = run_cli(["supernet", "train", "topformer_tiny", "--out", str(part), "--max-steps", "2",
                              "--workers", "1", *_tiny(ade)], capsys)
    assert code == 0 and "step 2/3" in out, err
    code, out, err = run_cli(["supernet", "train", "topformer_tiny", "--out", str(part), "--resume", *_tiny(ade)],
                             capsys)
    assert code == 0 and "resumed at step 2" in out and "step 3/3" in out, err
    a = torch.load(full / "last.pt", weights_only=True)
    b = torch.load(part / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 3 and a["epoch"] == b["epoch"] == 1
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    # the checkpoint feeds the evaluator's loader
    from penas.supernets import get_supernet
    from penas.supernets.trainer import load_supernet_weights

    load_supernet_weights(get_supernet("topformer_tiny"), full / "last.pt")


@pytest.mark.parametrize("space, expected", [("nb201", "pe_nas"), ("attentivenas", "pe_nas"),
                                             ("topformer", "hess_topformer"), ("topformer_tiny", "hess_topformer")])
def test_default_preset_comes_from_the_supernet_class(space, expected):
    from penas.app.supernet.train import default_preset
    from penas.supernets.trainer import PRESETS

    assert default_preset(space) == expected
    assert expected in PRESETS


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--data", "ade20k:{tmp}"], "--data: expected an ADE20K directory"),  # bad layout
        (["--data", "ade20k:{ade}/images"], "--data: expected an ADE20K directory"),
        (["--data", "{tmp}"], "--data: expected an ADE20K directory"),  # a bare dir, wrong layout
        (["--data", "synthetic"], "--data: preset 'hess_topformer' trains segmentation"),
        (["--data", "ade20k:{ade}", "--epochs", "2"], "--epochs"),
        (["--data", "ade20k:{ade}", "--crop-size", "0"], "--crop-size"),
        (["--data", "ade20k:{ade}", "--device", "tpu9"], "--device"),
    ],
)
def test_bad_input_is_one_line_exit_2(ade, tmp_path, capsys, extra, needle):
    argv = ["supernet", "train", "topformer_tiny", "--preset", "hess_topformer", "--out", str(tmp_path / "o"),
            "--no-progress", *(a.format(tmp=tmp_path, ade=ade) for a in extra)]
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "o" / "last.pt").exists()


def test_classification_preset_with_segmentation_data_names_the_fix(ade, tmp_path, capsys):
    code, _, err = run_cli(["supernet", "train", "topformer_tiny", "--preset", "pe_nas", "--data", f"ade20k:{ade}",
                            "--out", str(tmp_path / "o"), "--no-progress"], capsys)
    assert code == 2 and "hess_topformer" in err and err.count("\n") == 1, err


def test_issue_spelling_bare_dir_and_default_preset(ade, tmp_path, capsys, monkeypatch):
    """`penas-app supernet train topformer_tiny --data ADE20K_DIR`: no --preset (the supernet's
    default, hess_topformer) and a bare directory read as ADE20K."""
    from penas.supernets import trainer

    small = trainer.preset("hess_topformer", paths_per_step=2, warmup_iters=1, lr=1e-3)
    monkeypatch.setitem(trainer.PRESETS, "hess_topformer", small)
    code, out, err = run_cli(["supernet", "train", "topformer_tiny", "--data", str(ade), "--crop-size", "32",
                              "--batch-size", "2", "--max-steps", "1", "--out", str(tmp_path / "o"),
                              "--no-progress"], capsys)
    assert code == 0, err
    assert "preset hess_topformer" in out and "ade20k-training" in out and "step 1/" in out
