"""``penas-app search`` end to end on NAS-Bench-Macro with cheap estimators; resume; bad input."""

from __future__ import annotations

import json

import pytest

from penas.app.cli import main
from penas.app.configs import SearchConfig
from penas.app.search.cell import run_search


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


@pytest.mark.data
def test_rea_seed_search_on_macro_reports_gt(bench_root, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(["search", "nasbench_macro", "--strategy", "rea-seed", "--budget", "200",
                               "--out", str(out), "--no-progress"], capsys)
    assert code == 0
    res = json.loads((out / "result.json").read_text())
    assert res["gt"]["value"] > 90.0
    assert res["gt"]["rank"] >= 1 and res["gt"]["regret"] >= 0
    assert res["accounting"]["gt_lookups"] == res["accounting"]["archs_fully_evaluated"] <= 200
    assert "chosen arch" in stdout and res["chosen"] in stdout
    assert (out / "config.json").is_file() and (out / "summary.txt").is_file()


def _pe_cfg(out, **kw):
    base = dict(space="nasbench_macro", strategy="pe-nas-a", candidates="sample:120", proxies=["params", "flops", "oracle"],
                one_shot="none", partial="tabular", out=str(out), progress=False, seed=1)
    base.update(kw)
    return SearchConfig(**base)


@pytest.mark.data
def test_pe_nas_resume_after_kill_skips_finished_stages(bench_root, tmp_path):
    out = tmp_path / "pe"

    class Killed(Exception):
        pass

    def kill_after_first(rec):
        raise Killed(rec.name)

    with pytest.raises(Killed):
        run_search(_pe_cfg(out), on_stage_done=kill_after_first)
    assert len(list((out / "stages").glob("*.json"))) == 1
    assert not (out / "result.json").exists()
    res = run_search(resume=str(out))
    stages = res["accounting"]["stages"]
    assert stages[0]["name"] == "zc-vote" and stages[0]["resumed"] is True
    assert all(not s["resumed"] for s in stages[1:]) and len(stages) > 1
    fresh = run_search(_pe_cfg(tmp_path / "fresh"))
    assert fresh["chosen"] == res["chosen"]
    assert any(t.startswith("partial@") and "tabular-final" in t for t in res["tabular_stages"])
    acc = res["accounting"]
    # tabular-final stages are table look-ups: no arch counts as trained, no epoch is charged
    assert acc["table_lookups"] >= 1 and acc["archs_trained_partially"] == 0
    # the vote's "oracle" proxy looks up all 120 candidates: those are the only charged evaluations
    assert acc["archs_fully_evaluated"] == acc["gt_lookups"] == 120 and acc["epochs"] == 120 * 50


@pytest.mark.data
def test_pe_nas_b_with_constraint_on_nb201_latency(bench_root, tmp_path):
    cfg = _pe_cfg(tmp_path / "b", space="nb201", strategy="pe-nas-b", candidates="sample:300",
                  max_latency=["pixel3=10"])
    res = run_search(cfg)
    assert res["constraints"] == ["latency_pixel3 <= 10"]
    from penas.spaces.benchmarks import open_benchmark

    assert open_benchmark("nb201").query(res["chosen"], "latency_pixel3", "any") <= 10
    assert res["n_candidates"] < 300


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["search", "nope"], "space: unknown space 'nope'"),
        (["search", "nb201", "--strategy", "magic"], "--strategy: unknown strategy 'magic'"),
        (["search", "nb201", "--max-latency", "pixel3"], "--max-latency: expected DEVICE=MS"),
        (["search", "nb201", "--max-latency", "pixel3=-1"], "--max-latency: expected DEVICE=MS"),
        (["search", "nb201", "--preset", "huge"], "--preset: expected one of demo"),
        (["search", "--resume", "/nonexistent/run"], "--resume:"),
    ],
)
def test_bad_input_is_one_line_error(argv, msg, capsys, tmp_path):
    code, _, err = run_cli(argv + (["--out", str(tmp_path / "x")] if "--resume" not in argv else []), capsys)
    assert code == 2
    assert err.startswith("error: ") and msg in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.data
def test_unknown_latency_device_lists_devices(bench_root, tmp_path, capsys):
    code, _, err = run_cli(["search", "nb201", "--strategy", "random", "--budget", "5", "--max-latency", "toaster=3",
                            "--out", str(tmp_path / "r"), "--no-progress"], capsys)
    assert code == 2 and "unknown device 'toaster'" in err and "pixel3" in err


def test_config_dump_prints_every_search_default(capsys):
    import yaml

    code, out, _ = run_cli(["config", "dump", "search"], capsys)
    assert code == 0
    doc = yaml.safe_load(out)
    from penas.app.configs import defaults

    assert doc["search"] == defaults(SearchConfig)
    assert doc["search_presets"]["demo"]["strategy"] == "pe-nas-a"
    code, _, err = run_cli(["config", "dump", "nothing"], capsys)
    assert code == 2 and "command: expected one of" in err
