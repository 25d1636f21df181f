"""``tools/bench/search.py``: the NAS-Bench-Macro PE-NAS vote reads penas's own score table and the
house-format result holds ``summary.optimum_hits`` (one seed, seconds; skipped without the shared data)."""

from __future__ import annotations

import json
import sys

import pytest


@pytest.fixture
def bench(bench_module):
    return bench_module("search")


@pytest.mark.data
def test_macro_vote_from_the_shipped_table(bench, bench_root, tmp_path, monkeypatch, capsys):
    out = tmp_path / "search.json"
    monkeypatch.setattr(sys, "argv", ["search.py", "--seeds", "1", "--spaces", "nasbench_macro", "--strategies",
                                      "pe-nas-a,random", "--macro-vote", "l2_norm,nwot,synflow",
                                      "--results", str(out), "--out", str(tmp_path / "runs")])
    bench.main()
    doc = json.loads(out.read_text())
    assert set(doc) >= {"command", "git", "date", "machine", "rows", "summary"}
    hits = doc["summary"]["optimum_hits"]["nasbench_macro"]
    assert set(hits) == {"pe-nas-a", "random"} and all(0 <= h <= 1 for h in hits.values())
    pe = next(r for r in doc["rows"] if r["strategy"] == "pe-nas-a")
    assert "penas:nasbench_macro_zc" in pe["source"] and "vote 2 of 3" in pe["source"]
    assert pe["archs_fully_evaluated"] == 0  # the vote is precomputed, the partial stages are table look-ups
    assert "Still tabular" in capsys.readouterr().out


@pytest.mark.data
def test_macro_vote_unknown_column_is_one_line(bench, bench_root, tmp_path):
    with pytest.raises(SystemExit, match=r"--macro-vote: score table 'nasbench_macro_zc' has no column 'bogus'"):
        bench.zc_setup("nasbench_macro", bench_root, ("l2_norm", "bogus"))
