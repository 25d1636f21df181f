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
def test_nb201_sample_searches_the_shipped_table_with_the_real_vote(bench, bench_root, tmp_path, monkeypatch):
    from penas.estimators.score_tables import PACKAGE_TABLES, load_table

    if not (PACKAGE_TABLES / "nb201_zc.csv.gz").is_file():
        pytest.skip("the NB201 table is not shipped in this checkout")
    out = tmp_path / "search.json"
    monkeypatch.setattr(sys, "argv", ["search.py", "--seeds", "1", "--spaces", "nb201_sample", "--strategies",
                                      "pe-nas-a", "--results", str(out), "--out", str(tmp_path / "runs")])
    bench.main()
    doc = json.loads(out.read_text())
    (row,) = doc["rows"]
    assert row["space"] == "nb201_sample" and "penas:nb201_zc" in row["source"] and "vote 2 of 3" in row["source"]
    assert row["chosen"][0] in set(load_table("nb201_zc").arch_ids)  # chosen among the table's 3,000
    assert doc["summary"]["candidate_best_hits"]["nb201_sample"]["pe-nas-a"] in (0, 1)


@pytest.mark.data
def test_macro_vote_unknown_column_is_one_line(bench, bench_root, tmp_path):
    with pytest.raises(SystemExit, match=r"--macro-vote: score table 'nasbench_macro_zc' has no column 'bogus'"):
        bench.zc_setup("nasbench_macro", bench_root, ("l2_norm", "bogus"))


def test_rea_runs_until_it_has_used_the_cpu_budget(bench, tmp_path, monkeypatch):
    """REA's budget grows with the CPU it still lacks; every run keeps the seeded population (so the
    earlier evaluations are the same archs, read back from the store) and gets its own run directory.
    ``search`` is replaced by a stand-in whose evaluations cost 2 CPU s each, the first ones 0 once
    stored -- the accounting only, no training."""
    seen: list[tuple[int, int, str]] = []

    def fake_search(cfg, bindings=None, resume=None):
        done = max((b for b, _, _ in seen), default=0)
        seen.append((cfg.budget, cfg.population, cfg.out))
        return {"accounting": {"stages": [{"cpu_s": 2.0 * (cfg.budget - done)}]}}

    monkeypatch.setattr(bench, "search", fake_search)
    args = bench.argparse.Namespace(real_candidates=50, partial_images=512, partial_eval_images=256)
    _, cpu, runs = bench.equal_cpu_rea(args, "nb201", str(tmp_path / "s.db"), tmp_path, cpu_budget=100.0, budget=20)
    assert [b for b, _, _ in seen] == [20, 50] and cpu == 100.0
    assert [(r["budget"], r["cpu_s"]) for r in runs] == [(20, 40.0), (50, 60.0)]
    assert {p for _, p, _ in seen} == {10}  # the population of the first run throughout
    assert [o.rsplit("/", 1)[1] for _, _, o in seen] == ["nb201-rea-seed", "nb201-rea-seed-b50"]
