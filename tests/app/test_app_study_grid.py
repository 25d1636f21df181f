"""``penas-app study SPACE --config study.yaml``: config schema, the grid (resumable, executor-
independent) and the report, with every criterion recomputed from the raw SQLite rows."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import yaml

from penas.app.cli import main
from penas.estimators import executors

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "study_nb201_small.yaml"


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


# --- config ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "doc, message",
    [
        ({"zero_shot": {"seeds": [20, "x"]}}, "study.yaml: zero_shot.seeds: expected a list of ints, got [20, 'x']"),
        ({"zero_shot": {"seeds": 20}}, "study.yaml: zero_shot.seeds: expected a list of ints, got 20"),
        ({"bogus": 1}, "study.yaml: bogus: unknown key; expected one of: space, archs"),
        ({"one_shot": {"bn": "train"}}, "study.yaml: one_shot.bn: unknown key"),
        ({"one_shot": {"bn_mode": "eval"}}, "study.yaml: one_shot.bn_mode: expected train | recalibrate | no_track"),
        ({"one_shot": {"batch_size": True}}, "study.yaml: one_shot.batch_size: expected an int, got True"),
        ({"one_shot": {"n_batches": "3"}}, "study.yaml: one_shot.n_batches: expected an int or null, got '3'"),
        ({"executor": "process:0"}, "study.yaml: executor: expected local | process:N (N >= 1) | ray"),
        ({"supernet": {"overrides": {"epoch": 2}}}, "study.yaml: supernet.overrides: expected keys among epochs"),
        ({"supernet": 3}, "study.yaml: supernet: expected a mapping, got 3"),
        ({"criteria": {"ratios": [0.5, 1.5]}}, "study.yaml: criteria.ratios[1]: expected a float in (0, 1]"),
        ({"archs": "sample:0"}, "study.yaml: archs: expected sample:N with N >= 1"),
        ({"zero_shot": {"enabled": False}, "supernet": {"enabled": False}},
         "study.yaml: zero_shot.enabled: expected at least one of zero_shot / one_shot enabled"),
    ],
)
def test_study_config_rejects_bad_yaml_with_the_key_path(doc, message):
    from penas.app.study.config import study_config_from_dict

    with pytest.raises(ValueError) as e:
        study_config_from_dict(doc)
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_study_config_cli_errors_are_one_line(tmp_path, capsys):
    cfg = tmp_path / "study.yaml"
    cfg.write_text("space: nb201\nzero_shot: {proxies: [nwot], seeds: [1, two]}\n")
    code, _, err = run_cli(["study", "nb201", "--config", str(cfg)], capsys)
    assert code == 2 and err.strip() == "error: study.yaml: zero_shot.seeds: expected a list of ints, got [1, 'two']"
    code, _, err = run_cli(["study", "nb301", "--config", str(EXAMPLE)], capsys)
    assert code == 2 and "space: 'nb201' differs from the SPACE argument 'nb301'" in err
    code, _, err = run_cli(["study", "nb201", "--config", str(EXAMPLE), "--set", "zero_shot.batch_size=0"], capsys)
    assert code == 2 and "zero_shot.batch_size: expected a positive int, got 0" in err
    code, _, err = run_cli(["study", "nb201", "--config", str(EXAMPLE), "--set", "supernet.preset=nope", "--set",
                            f"out={tmp_path / 'o'}", "--set", f"supernet.out={tmp_path / 'sn'}", "--set",
                            f"store={tmp_path / 's.db'}"], capsys)
    assert code == 2 and err.startswith("error: study.yaml: supernet.preset: expected one of")
    code, _, err = run_cli(["study", "nb201", "--config", str(EXAMPLE), "--set", "archs"], capsys)
    assert code == 2 and err.strip() == "error: --set: expected KEY.PATH=VALUE, got 'archs'"
    code, _, err = run_cli(["study", "nb201", "--config", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "--config: no file at" in err


def test_study_without_ground_truth_stops_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PENAS_DATA", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    code, _, err = run_cli(["study", "nb201", "--config", str(EXAMPLE), "--set", f"out={out}", "--set",
                            f"store={out / 's.db'}", "--set", f"supernet.out={out / 'sn'}"], capsys)
    assert code == 2 and err.startswith("error: study.yaml: gt: no ground truth for 'nb201'")
    assert not (out / "s.db").exists() and not (out / "sn").exists()


def test_example_yaml_loads_and_overrides_apply():
    from penas.app.study.config import load_study_config

    cfg = load_study_config(EXAMPLE, {"archs": "sample:7", "zero_shot.seeds": [1]}, space="nb201")
    assert cfg.archs == "sample:7" and cfg.zero_shot.seeds == [1]
    assert cfg.zero_shot.proxies == ["nwot", "synflow"] and cfg.supernet.overrides["epochs"] == 2
    assert cfg.criteria.ratios == [0.01, 0.05, 0.1, 0.2, 0.5, 1.0]


def test_every_command_config_dumps_and_study_defaults_round_trip(capsys):
    from penas.app.command_configs import COMMAND_CONFIGS
    from penas.app.study.config import StudyConfig, study_config_from_dict

    assert {"zero-shot", "supernet-train", "supernet-eval", "analyze-bias", "study"} <= set(COMMAND_CONFIGS)
    for name, cls in COMMAND_CONFIGS.items():
        code, out, err = run_cli(["config", "dump", name], capsys)
        assert code == 0, (name, err)
        doc = yaml.safe_load(out)
        assert list(doc[name]) == [f.name for f in fields(cls)], name
    code, out, _ = run_cli(["config", "dump"], capsys)
    assert code == 0 and set(COMMAND_CONFIGS) <= set(yaml.safe_load(out))
    dumped = yaml.safe_load(run_cli(["config", "dump", "study"], capsys)[1])["study"]
    assert study_config_from_dict(dumped) == StudyConfig()


def test_configs_module_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, penas.app.command_configs as c; assert 'study' in c.COMMAND_CONFIGS; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- the README study, smaller ----------------------------------------------------------------
N_ARCHS = 12


def _overrides(tmp: Path, executor: str = "local") -> list[str]:
    sets = {"archs": f"sample:{N_ARCHS}", "out": str(tmp / "report"), "store": str(tmp / "scores.db"),
            "supernet.out": str(tmp / "supernet"), "supernet.data": "png-aug:64",
            "supernet.overrides": "{epochs: 2, batch_size: 16, seed: 0}", "one_shot.batch_size": 4,
            "one_shot.metric": "loss", "executor": executor}
    # 64 images: 4 steps per epoch; 12 held out -> 3 one-shot batches of 4, scored by (negated) loss, which
    # unlike the accuracy of 4 images does not tie every arch of a barely trained supernet
    return [a for k, v in sets.items() for a in ("--set", f"{k}={v}")]


@pytest.fixture(scope="module")
def small_study(bench_root, tmp_path_factory):
    """The README study (examples/study_nb201_small.yaml) on 16 archs and a 2x4-step supernet."""
    import os

    os.environ.setdefault("PENAS_DATA", str(bench_root))
    tmp = tmp_path_factory.mktemp("study")
    argv = ["study", "nb201", "--config", str(EXAMPLE), *_overrides(tmp)]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    rows_after_first = _all_rows(tmp / "scores.db")
    report1 = json.loads((tmp / "report" / "report.json").read_text())
    with pytest.raises(SystemExit) as e:  # second run: everything is in the store
        main(argv)
    assert e.value.code == 0
    return tmp, report1, rows_after_first


def _all_rows(db: Path) -> dict[tuple[str, str, str], tuple[float | None, str]]:
    con = sqlite3.connect(db)
    try:
        got = con.execute("SELECT estimator, config_hash, arch_id, value, provenance FROM scores "
                          "WHERE space='nb201'").fetchall()
    finally:
        con.close()
    return {(e, h, a): (v, p) for e, h, a, v, p in got}


def test_study_grid_is_complete_and_a_rerun_computes_nothing(small_study):
    tmp, first, rows1 = small_study
    second = json.loads((tmp / "report" / "report.json").read_text())
    n_keys = 2 + 2 * 3  # two checkpoints + two proxies x three seeds
    assert first["n_archs"] == second["n_archs"] == N_ARCHS
    assert first["grid"]["computed"] == {"supernet_steps": 8, "one_shot": 2 * N_ARCHS, "zero_shot": 6 * N_ARCHS}
    assert second["grid"]["computed"] == {"supernet_steps": 0, "one_shot": 0, "zero_shot": 0}
    assert len(rows1) == n_keys * N_ARCHS and _all_rows(tmp / "scores.db") == rows1
    assert len({(e, h) for e, h, _ in rows1}) == n_keys
    assert sorted(p.name for p in (tmp / "supernet").glob("epoch*.pt")) == ["epoch0001.pt", "epoch0002.pt"]
    assert "torchrun --nproc_per_node=$NGPUS -m penas.app supernet train nb201" in first["grid"]["torchrun"]
    assert first["estimators"] == second["estimators"]


def test_study_report_structure(small_study):
    tmp, _, _ = small_study
    out = tmp / "report"
    rep = json.loads((out / "report.json").read_text())
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "scores.csv", "criteria_vs_epoch.png"}
    assert list(rep["estimators"]) == ["one_shot[loss]@epoch0001", "one_shot[loss]@epoch0002", "nwot", "synflow"]
    for label in ("nwot", "synflow"):
        e = rep["estimators"][label]
        assert e["family"] == "zero_shot" and e["seeds"] == [20, 2020, 202020] and len(e["keys"]) == 3
    crit = rep["estimators"]["nwot"]["criteria"]
    for c in ("kendall_tau", "spearman", "pearson", "weighted_tau", "mkr", "one_shot_average", "P@top[0.1]",
              "P@bottom[0.5]", "BR@K[0.2]", "WR@K[1]", "KT@top[0.5]", "KT@bottom[0.5]", "MKR@K[0.5]",
              "P@top[k=5]", "BR@K[k=10]"):
        assert set(crit[c]) == {"mean", "std", "values", "n_finite"} and len(crit[c]["values"]) == 3, c
    assert "P@top[0.01]" not in crit  # K = floor(0.01 * 12) < 1 is skipped, not computed
    assert [r["epoch"] for r in rep["checkpoints"]] == [1, 2]
    assert [(r["epoch"], r["n_archs"], r["n_batches"]) for r in rep["per_batch"]] == [(1, N_ARCHS, 3), (2, N_ARCHS, 3)]
    md = (out / "report.md").read_text()
    for needle in ("## Criteria per estimator (mean ± std over seeds)", "## One-shot criteria vs checkpoint epoch",
                   "## Per-batch variance of one-shot scores", "| nwot | 3 | 12 |"):
        assert needle in md
    table = list(csv.reader((out / "scores.csv").open()))
    cols = [k["column"] for e in rep["estimators"].values() for k in e["keys"]]
    assert table[0] == ["arch_id", "gt", *cols] and len(table) == N_ARCHS + 1
    assert all(len(r) == len(table[0]) and all(r) for r in table[1:])  # every score present


def _gt(ids):
    from penas.spaces.benchmarks import open_benchmark

    b = open_benchmark("nb201")
    return np.array([float(b.query(a, "test_acc", "cifar10")) for a in ids])


def test_study_criteria_recomputed_from_the_raw_store(small_study):
    """Every criterion mean/std of report.json from the SQLite rows, the NB201 table and penas.metrics
    (Kendall/Spearman also with scipy), and the per-batch statistics from the stored provenance."""
    from scipy.stats import kendalltau, spearmanr

    from penas.metrics import criteria_report

    tmp, _, rows = small_study
    rep = json.loads((tmp / "report" / "report.json").read_text())
    ids = [r[0] for r in list(csv.reader((tmp / "report" / "scores.csv").open()))[1:]]
    gt = _gt(ids)
    sign = {"nwot": 1.0, "synflow": 1.0, "one_shot": 1.0}
    checked = 0
    for label, e in rep["estimators"].items():
        per_seed = []
        for k in e["keys"]:
            v = np.array([rows[(k["estimator"], k["config_hash"], a)][0] for a in ids], dtype=float)
            v = sign[k["estimator"]] * v
            r = criteria_report(v, gt, ratios=(0.01, 0.05, 0.1, 0.2, 0.5, 1.0), ks=(5, 10), invalid="last")
            assert np.isfinite(v).all()
            assert r.kendall_tau == pytest.approx(kendalltau(v, gt)[0], abs=1e-12)
            assert r.spearman == pytest.approx(spearmanr(v, gt)[0], abs=1e-12)
            flat = {"kendall_tau": r.kendall_tau, "spearman": r.spearman, "pearson": r.pearson, "mkr": r.mkr,
                    "weighted_tau": r.weighted_tau, "one_shot_average": r.one_shot_average}
            for a in r.at_k:
                tag = f"{a.ratio:g}" if a.ratio is not None else f"k={a.k}"
                flat |= {f"P@top[{tag}]": a.precision_top, f"P@bottom[{tag}]": a.precision_bottom,
                         f"BR@K[{tag}]": a.best_rank / len(ids), f"WR@K[{tag}]": a.worst_rank / len(ids),
                         f"KT@top[{tag}]": a.kendall_tau_top, f"MKR@K[{tag}]": a.mkr_topk}
            per_seed.append(flat)
        for c in per_seed[0]:
            vals = np.array([p[c] for p in per_seed], dtype=float)
            fin = vals[np.isfinite(vals)]
            got = e["criteria"][c]
            if fin.size == 0:
                assert got["mean"] is None
                continue
            assert got["mean"] == pytest.approx(fin.mean(), rel=1e-9, abs=1e-12), (label, c)
            assert got["std"] == pytest.approx(fin.std(), rel=1e-9, abs=1e-12), (label, c)
            checked += 1
    assert checked > 4 * 30
    for pb in rep["per_batch"]:
        key = rep["estimators"][f"one_shot[loss]@epoch{pb['epoch']:04d}"]["keys"][0]
        mat = np.array([json.loads(rows[(key["estimator"], key["config_hash"], a)][1])["per_batch"] for a in ids])
        assert mat.shape == (N_ARCHS, 3)
        assert pb["mean_batch_std"] == pytest.approx(np.mean([np.std(r) for r in mat]), abs=1e-12)
        assert np.allclose(mat.mean(axis=1), [rows[(key["estimator"], key["config_hash"], a)][0] for a in ids])
        kts = [kendalltau(mat[:, i], mat[:, j])[0] for i in range(3) for j in range(i + 1, 3)]
        want = np.nanmean(kts) if np.isfinite(kts).any() else None
        assert (pb["kt_between_batches"] is None and want is None) or pb["kt_between_batches"] == pytest.approx(want)


def test_process_executor_gives_the_same_scores(small_study, tmp_path, capsys):
    """Zero-shot and one-shot through penas.estimators.executors (2 spawned workers), on the study's
    second checkpoint, store the same rows as the in-process grid."""
    study_dir, _, rows = small_study
    ckpt = study_dir / "supernet" / "epoch0002.pt"
    argv = ["study", "nb201", "--config", str(EXAMPLE), *_overrides(tmp_path, "process:2"),
            "--set", "archs=sample:2", "--set", f"supernet.checkpoints=[{ckpt}]", "--set", "zero_shot.seeds=[20]",
            "--set", "zero_shot.chunk=1"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    got = _all_rows(tmp_path / "scores.db")
    assert len(got) == 2 * 2 + 2 and not (tmp_path / "supernet").exists()  # given checkpoints: no training
    for key, (v, prov) in got.items():
        # workers run one torch thread, the grid may run several: reductions may differ in the last digits
        assert key in rows and math.isclose(v, rows[key][0], rel_tol=1e-6), key
        if key[0] == "one_shot":
            assert json.loads(prov)["per_batch"] == pytest.approx(json.loads(rows[key][1])["per_batch"])


# --- executor: gpus (moved from tests/estimators: the study is app code) -----------------------
def test_study_executor_gpus_errors_and_wiring(monkeypatch):
    from penas.app.study.config import make_executor, study_config_from_dict

    monkeypatch.setattr(executors, "cuda_device_count", lambda: 0)
    with pytest.raises(ValueError) as e:
        make_executor("gpus")
    assert str(e.value) == "study.yaml: executor: gpus: CUDA is not available on this machine; use local or process:N"
    monkeypatch.setattr(executors, "cuda_device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"^study.yaml: executor: gpus:0,2: CUDA device 2 is out of range"):
        make_executor("gpus:0,2")
    assert make_executor("gpus").devices == ["cuda:0", "cuda:1"]
    assert make_executor("gpus:1").slots() == [(0, "cuda:1")]
    assert make_executor("process:3").devices is None and make_executor("local") is None
    assert study_config_from_dict({"executor": "gpus:0,2"}).executor == "gpus:0,2"
    for bad in ("gpus:", "gpus:a", "gpus:0,,1", "gpu", "process:2,3"):
        with pytest.raises(ValueError, match=r"^study.yaml: executor: expected local \| process:N"):
            study_config_from_dict({"executor": bad})
    with pytest.raises(ValueError, match="a CUDA index is listed twice"):
        study_config_from_dict({"executor": "gpus:1,1"})
