"""``penas-app search darts`` over the whole DARTS space with the NB301 surrogate as ground truth:
every strategy, the surrogate-curve partial-training stages with their charged runtime, the
runtime-matched baselines and ``--gt-source``.

Tiny sizes (CPU, seconds): 60 sampled candidates and the space's exact ``params``/``flops`` counts
as the two "proxies" of the vote, so no network is built; the zero-cost wiring for ``darts`` (the
[PE] NetworkCIFAR C=32, 8 layers) is checked on the bindings.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from penas.app.cli import main
from penas.app.configs import SearchConfig
from penas.app.search.cell import bindings_for, make_strategy, run_search
from penas.app.search.run_dir import RunDir
from penas.app.search.summary import summary_text

pytestmark = pytest.mark.data


@pytest.fixture
def nb301(bench_root):
    from penas.spaces.benchmarks import surrogate_available

    if not surrogate_available("darts", bench_root):
        pytest.skip("no NB301 surrogate (nb301/yahpo/nb301/model.onnx) under the data root")
    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime not installed (extra penas-spaces[nb301])")
    return bench_root


_STORE: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _shared_store(tmp_path_factory):
    """One score store for the module: the vote's params/FLOPs of a sampled genotype are counted on
    its built network, so the runs (same seed, overlapping candidates) share them instead of
    re-counting them in every test."""
    _STORE["path"] = str(tmp_path_factory.mktemp("darts_scores") / "scores.db")
    yield
    _STORE.clear()


def _cfg(out, strategy="pe-nas-a", **kw):
    base = dict(space="darts", strategy=strategy, candidates="sample:60", proxies=["params", "flops"],
                one_shot="none", partial="tabular", gt_source="surrogate", out=str(out), progress=False, seed=3,
                store=_STORE.get("path"))
    base.update(kw)
    return SearchConfig(**base)


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


@pytest.mark.parametrize("strategy", ["pe-nas-a", "pe-nas-b", "pe-nas-c"])
def test_pe_nas_on_the_surrogate_charges_runtime_per_stage(nb301, tmp_path, strategy):
    res = run_search(_cfg(tmp_path / strategy, strategy))
    gt, acc = res["gt"], res["accounting"]
    assert gt["source"] == "surrogate" and gt["metric"] == "valid_acc" and res["n_candidates"] == 60
    assert 80.0 < gt["value"] < 100.0 and 0.0 <= gt["rank_percentile"] <= 100.0
    assert gt["n"] == 10_000 and "sampled uniformly" in gt["reference"]  # not the 500-arch table
    assert gt["best_among_candidates"] >= gt["value"] - 1e-9
    partial = [s for s in acc["stages"] if s["name"].startswith("partial@")]
    if partial:  # more than one arch survived the vote
        assert all(s["fidelity"]["partial"] == "surrogate-curve" for s in partial)
        # the surrogate's cumulative runtime reads ~2x higher at epoch 1 than at 2, so epoch 2 may cost nothing more
        assert partial[0]["charged_runtime_s"] > 0 and all(s["charged_runtime_s"] >= 0 for s in partial)
        assert all(s["epochs"] > 0 for s in partial)
        assert acc["charged_runtime_s"] == pytest.approx(sum(s["charged_runtime_s"] for s in partial))
        assert res["tabular_stages"] and all("surrogate-curve, charged" in t and " s" in t
                                             for t in res["tabular_stages"])
        assert "training runtime charged" in summary_text(res)
    assert any("genotypes sampled uniformly" in n for n in res["notes"])
    assert any("one-shot stage skipped" in n for n in res["notes"])


def test_charged_runtime_survives_resume(nb301, tmp_path):
    class Killed(Exception):
        pass

    seen = []

    def kill_second(rec):
        seen.append(rec.name)
        if len(seen) == 2:
            raise Killed(rec.name)

    with pytest.raises(Killed):
        run_search(_cfg(tmp_path / "a", candidates="sample:150"), on_stage_done=kill_second)
    resumed = run_search(resume=str(tmp_path / "a"))
    fresh = run_search(_cfg(tmp_path / "b", candidates="sample:150"))
    assert resumed["chosen"] == fresh["chosen"]
    assert resumed["accounting"]["stages"][1]["resumed"] is True
    assert resumed["accounting"]["charged_runtime_s"] == pytest.approx(fresh["accounting"]["charged_runtime_s"])
    assert fresh["accounting"]["charged_runtime_s"] > 0


@pytest.mark.parametrize("strategy", ["random", "rea-seed"])
def test_baselines_stop_at_the_runtime_budget(nb301, tmp_path, strategy):
    from penas.spaces.benchmarks import surrogate

    res = run_search(_cfg(tmp_path / strategy, strategy, runtime_budget=20_000.0))
    info, acc = res["strategy_info"], res["accounting"]
    trace = json.loads(next((tmp_path / strategy / "stages").glob("*search.json")).read_text())["output"]["info"]
    ids = list(dict.fromkeys(a for a, _ in trace["trace"]))
    cost = surrogate("darts").query_many(ids, "runtime")
    assert cost[:-1].sum() < 20_000.0 <= cost.sum()  # stopped at the arch that reached the budget
    assert trace["runtime_spent_s"] == pytest.approx(cost.sum(), rel=1e-6)
    assert acc["charged_runtime_s"] == pytest.approx(cost.sum(), rel=1e-6)
    assert acc["gt_lookups"] == len(ids) == info["distinct_evaluated"]
    assert res["gt"]["value"] == pytest.approx(max(surrogate("darts").query_many(ids, "val_acc")), abs=1e-4)


def test_darts_zero_cost_scores_the_reference_network(nb301, tmp_path):
    cfg = _cfg(tmp_path / "z", proxies=["l2_norm", "nwot", "zen"])
    from penas.spaces import get_space

    strat = make_strategy(cfg)
    b = bindings_for(cfg, strat, RunDir(tmp_path / "z"), get_space("darts"))
    assert all(b[f"zc:{p}"].cfg["build_kwargs"] == {"C": 32, "layers": 8} for p in ("l2_norm", "nwot", "zen"))
    assert b["partial"].cfg["gt_source"] == "surrogate" and "one_shot" not in b


def test_gt_source_option(nb301, tmp_path, capsys):
    code, out, _ = run_cli(["search", "darts", "--strategy", "pe-nas-c", "--gt-source", "table", "--proxies",
                            "params,flops", "--one-shot", "none", "--candidates", "sample:40", "--store", _STORE["path"],
                            "--out", str(tmp_path / "t"), "--no-progress"],
                           capsys)
    assert code == 0
    res = json.loads((tmp_path / "t" / "result.json").read_text())
    assert res["gt"]["source"] == "table" and res["gt"]["n"] == 500 and res["n_candidates"] == 40  # the NB301 sample
    assert not any(s["fidelity"].get("partial") == "surrogate-curve" for s in res["accounting"]["stages"])
    code, out, _ = run_cli(["search", "darts", "--strategy", "random", "--gt-source", "surrogate", "--budget", "5",
                            "--candidates", "sample:30", "--out", str(tmp_path / "s"), "--no-progress"], capsys)
    assert code == 0 and "percentile" in out
    res = json.loads((tmp_path / "s" / "result.json").read_text())
    assert res["gt"]["source"] == "surrogate" and np.isfinite(res["gt"]["value"])
    for argv, msg in ((["darts", "--gt-source", "bogus"], "--gt-source: expected one of"),
                      (["nb201", "--gt-source", "surrogate"], "--gt-source: space 'nb201' has no surrogate"),
                      (["darts", "--strategy", "pe-nas-a", "--runtime-budget", "100"], "--runtime-budget: only for"),
                      (["darts", "--supernet", str(tmp_path / "absent.pt")], "--supernet: no checkpoint file")):
        code, out, err = run_cli(["search", *argv, "--out", str(tmp_path / "bad"), "--no-progress"], capsys)
        assert code == 2 and msg in err and "Traceback" not in err
        assert not (tmp_path / "bad").exists()
