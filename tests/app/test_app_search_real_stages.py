"""PE-NAS stages on real data: the one-shot stage from a trained supernet checkpoint, partial
training with NB201's LESS.config protocol, and the RF-sample warning of PE-NAS-B/C. Real
CIFAR-10 tests skip when ``$PENAS_DATA/cifar10`` is absent; tiny sizes (C=4 nets, a few batches)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(os.environ.get("PENAS_DATA", "../shared/benchmarks"))
real = pytest.mark.skipif(not (DATA / "cifar10" / "train_images.npy").is_file(),
                          reason="real CIFAR-10 ($PENAS_DATA/cifar10) is absent")


@real
def test_less_protocol_reads_less_config_and_records_reductions(tmp_path):
    from penas.app.partial_options import partial_protocol
    from penas.estimators.partial_training import PartialTrainingEstimator
    from penas.spaces import get_space

    kw = partial_protocol("nb201", "cifar10", 512, 4)
    assert kw == {"protocol": "less", "train_batches": 2, "build_kwargs": {"C": 4}}
    assert partial_protocol("nb201", "synthetic", None, None) == {}
    assert partial_protocol("nb201", "cifar10", None, None, 768)["eval_batches"] == 3  # a prefix of nb201-valid
    with pytest.raises(ValueError, match="--partial-eval-images"):
        partial_protocol("nb201", "cifar10", None, None, 100)
    with pytest.raises(ValueError, match="--partial-images"):
        partial_protocol("nb201", "synthetic", 512, None)
    space = get_space("nb201")
    est = PartialTrainingEstimator(space, epochs=1, mode="train", data="cifar10", eval_batches=1,
                                   checkpoint_dir=str(tmp_path), **kw)
    c = est.cfg
    assert (c["lr"], c["t_max"], c["batch_size"], c["weight_decay"], c["nesterov"]) == (0.1, 12, 256, 5e-4, True)
    assert c["train_batches"] == 2 and c["build_kwargs"] == {"C": 4}  # the reductions are in the provenance
    train, ev = est._data_batches()
    assert len(train) == 2 and len(ev) == 1 and "nb201-train" in train[0].source and "nb201-valid" in ev[0].source
    arch = space.sample(np.random.default_rng(0))
    one = est.score_at([arch], 1)
    two = est.score_at([arch], 2)  # resumed from its checkpoint: one more epoch
    assert est.epochs_charged == 2 and 0 <= one[0] <= 100 and 0 <= two[0] <= 100
    full = PartialTrainingEstimator(space, epochs=1, mode="train", data="cifar10", protocol="less")
    assert full.cfg["train_batches"] is None and full.cfg["eval_batches"] is None  # whole splits by default


@real
def test_search_one_shot_stage_uses_the_trained_supernet(tmp_path):
    from penas.app.cli import main
    from penas.app.search.cell import load_result

    sn = tmp_path / "sn"
    with pytest.raises(SystemExit) as e:
        main(["supernet", "train", "nb201", "--out", str(sn), "--preset", "pe_nas", "--data", "cifar10",
              "--channels", "4", "--cells", "1", "--batch-size", "32", "--max-steps", "3", "--no-progress"])
    assert e.value.code == 0
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as e:
        main(["search", "nb201", "--strategy", "pe-nas-a", "--one-shot", "one_shot", "--supernet",
              str(sn / "last.pt"), "--candidates", "sample:24", "--proxies", "l2_norm,nwot", "--zc-batch-size", "8",
              "--out", str(run), "--no-progress"])
    assert e.value.code == 0
    res = load_result(str(run))
    names = [st["name"] for st in res["accounting"]["stages"]]
    assert "one-shot" in names


def test_partial_training_device_is_checked_and_recorded(tmp_path):
    """``device``: one-line error for what this machine lacks; recorded in the provenance, not the key.
    Synthetic batches: the point is the device plumbing, not the score."""
    from penas.estimators.partial_training import PartialTrainingEstimator
    from penas.spaces import get_space

    space = get_space("nb201")
    for bad in ("tpu", "cuda:99", "not a device"):
        with pytest.raises(ValueError, match="^device: "):
            PartialTrainingEstimator(space, epochs=1, mode="train", data="synthetic", device=bad)
    kw = dict(epochs=1, mode="train", data="synthetic", train_batches=1, eval_batches=1, batch_size=8,
              build_kwargs={"C": 4, "N": 1}, checkpoint_dir=str(tmp_path))
    cpu = PartialTrainingEstimator(space, device="cpu", **kw)
    default = PartialTrainingEstimator(space, **kw)
    assert cpu.config_hash == default.config_hash  # the hardware is not part of the store key
    arch_id = space.format(space.sample(np.random.default_rng(1)))
    res = cpu.score_result([arch_id])
    assert np.isfinite(res.scores).all() and res.provenance[0].extra["device"] == "cpu"


@real
def test_rea_with_partial_training_fitness_is_charged_its_epochs(tmp_path):
    """REA's fitness is scored without an ``@epoch`` key; its partial training is still charged (one
    epoch per distinct arch trained), and the same fitness read from a table is a look-up."""
    from penas.app.workflows import Binding, SearchConfig, search

    fit = {"mode": "train", "data": "cifar10", "protocol": "less", "epochs": 1, "train_batches": 1,
           "eval_batches": 1, "build_kwargs": {"C": 4}, "checkpoint_dir": str(tmp_path / "ckpt")}
    cfg = SearchConfig(space="nb201", strategy="rea-seed", seed=0, candidates="sample:20", budget=5, population=3,
                       sample_size=3, fitness="partial_training", one_shot="none", partial="none", store=str(tmp_path / "s.db"),
                       progress=False, out=str(tmp_path / "rea"))
    res = search(cfg, bindings={"fitness": Binding("fitness", "partial_training", fit)})
    acc = res["accounting"]
    assert acc["archs_trained_partially"] == acc["epochs"] >= 3  # one epoch per distinct arch
    assert acc["table_lookups"] == 0 and acc["stages"][0]["epochs"] == acc["epochs"]
