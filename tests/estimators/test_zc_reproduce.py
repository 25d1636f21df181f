"""``tools/bench/zc_reproduce.py``: the statistics, resuming through the store, the budget, bad options.

The runs score two cheap proxies on the first few archs of each sample (``--max-archs``) on
the real CIFAR-10 training set; skipped without the shared data.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats


@pytest.fixture(scope="module")
def zr(bench_module):
    return bench_module("zc_reproduce")


def test_bootstrap_statistics_match_scipy(zr):
    # synthetic scores: only the arithmetic of the vectorised bootstrap is under test
    rng = np.random.default_rng(0)
    gt = rng.normal(size=50)
    preds = [gt + rng.normal(size=50), np.round(gt + 2 * rng.normal(size=50))]  # the second has ties
    idx = np.stack([np.arange(50), rng.integers(0, 50, 50)])
    got = zr.boot_spearman(preds, gt, idx)
    for b, i in enumerate(idx):
        want = np.mean([stats.spearmanr(p[i], gt[i])[0] for p in preds])
        assert got[b] == pytest.approx(want, abs=1e-12)
    kt = zr.boot_kendall(preds, gt, idx[:1])
    assert kt[0] == pytest.approx(np.mean([stats.kendalltau(p, gt)[0] for p in preds]))
    lo, hi = zr.ci(np.arange(1001.0))
    assert (lo, hi) == (25.0, 975.0)


def _run(zr, tmp_path, *extra):
    return zr.main(["--stages", "valid,test", "--proxies", "params,synflow", "--seeds", "42,43", "--max-archs", "12",
                    "--boot", "20", "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "r.json"), *extra])


def test_run_resume_and_report(zr, real_cifar, tmp_path, capsys):
    from penas.estimators.store import ScoreStore

    s = _run(zr, tmp_path)
    assert s["complete"] and s["run_finished"] and s["n_archs_test"] == 12 and s["max_archs"] == 12
    assert set(s["spearman_valid"]) == set(s["kt_test"]) == {"params", "synflow"}
    assert s["data_source"].startswith("cifar10-train:42")
    n = ScoreStore(tmp_path / "s.db").count()
    archs = set(zr.stage_sample("valid", real_cifar, 12, 12)["ids"][:12]) | set(zr.stage_sample("test", real_cifar, 12, 12)["ids"])
    assert n == 2 * 2 * len(archs)  # proxies x seeds x distinct archs (the two samples share store rows)
    doc = json.loads((tmp_path / "r.json").read_text())
    rows = {(r["stage"], r["proxy"]): r for r in doc["rows"]}
    syn = rows[("valid", "synflow")]
    assert syn["complete"] and syn["published_abs_spearman"] == 0.737 and len(syn["spearman_per_seed"]) == 2
    assert syn["spearman_ci"][0] <= syn["spearman_ci"][1]
    assert ("test", "FreeREA synflow (precomputed)") in rows
    # params is data- and seed-free: both seeds give the same ranking
    assert rows[("valid", "params")]["spearman_per_seed"][0] == rows[("valid", "params")]["spearman_per_seed"][1]
    capsys.readouterr()
    again = _run(zr, tmp_path, "--report-only")
    assert ScoreStore(tmp_path / "s.db").count() == n  # nothing recomputed
    assert again["spearman_valid"] == s["spearman_valid"] and again["kt_test"] == s["kt_test"]
    assert "PARTIAL" not in capsys.readouterr().out


def test_budget_stops_cleanly_and_report_marks_partial(zr, real_cifar, tmp_path, capsys):
    s = _run(zr, tmp_path, "--budget-min", "0.00001")
    assert not s["run_finished"] and not s["complete"]
    assert s["coverage"]["valid"]["proxies_complete"] == 0
    out = capsys.readouterr().out
    assert "budget reached" in out and "PARTIAL" in out


@pytest.mark.parametrize("argv, msg", [
    (["--stages", "valid,bogus"], "--stages"),
    (["--seeds", "a,b"], "--seeds"),
    (["--proxies", "synflow,nope"], "--proxies"),
    (["--budget-min", "0"], "--budget-min"),
])
def test_bad_options_exit_2(zr, argv, msg, capsys):
    with pytest.raises(SystemExit) as ex:
        zr.parse_args(argv)
    assert ex.value.code == 2 and msg in capsys.readouterr().err
