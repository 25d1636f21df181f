"""``penas-app search segmentation``: FLOPs-constrained TopFormer search at tiny scale on CPU
(tiny ADE20K-format data, a 2-step supernet checkpoint, 32 px), resume, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from penas.app.cli import main
from penas.app.search.constraints import FlopsSampler
from penas.app.search.segmentation import run_segmentation_search
from penas.app.segmentation.search_config import SegSearchConfig, parse_flops
from penas.app.strategies import family_names
from penas.app.strategies.alternating import BACKBONE, TRANSFORMER
from penas.spaces import get_space
from penas.spaces.topformer import SEED_CONFIGS

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def seg_env(tmp_path_factory):
    """Tiny ADE20K-format data and a supernet checkpoint written by the trainer (2 steps)."""
    from penas.app.segmentation.data import SegDataset, make_tiny_ade20k
    from penas.supernets import get_supernet
    from penas.supernets.trainer import SupernetTrainer, TrainConfig

    root = tmp_path_factory.mktemp("segsearch")
    data = make_tiny_ade20k(root / "ade", n_train=4, n_val=2, size=(48, 40))
    torch.manual_seed(0)
    sn = get_supernet("topformer_tiny")  # as `penas-app supernet train topformer_tiny` builds it
    ds = SegDataset(data, "training", "train", size=32, crop=32)
    cfg = TrainConfig(epochs=1, batch_size=2, iterations=2, scheduler="none", task="segmentation", lr=0.01)
    SupernetTrainer(sn, ds, cfg, ckpt_dir=root / "ck").run()
    return {"data": str(data), "ckpt": str(root / "ck" / "last.pt")}


@pytest.fixture(scope="module")
def fresh(seg_env, tmp_path_factory):
    """One uninterrupted run per strategy (shared by the loop and resume tests)."""
    done: dict[str, tuple] = {}

    def get(strategy: str):
        if strategy not in done:
            out = tmp_path_factory.mktemp(f"fresh-{strategy}")
            done[strategy] = (out, run_segmentation_search(_cfg(seg_env, out, strategy=strategy)))
        return done[strategy]

    return get


def _cfg(env, out, **kw) -> SegSearchConfig:
    base = dict(data=env["data"], checkpoint=env["ckpt"], rounds=1, per_round=2, budget=4, population=3,
                proxies=["nwot", "l2_norm"],
                sample_size=2, zc_resolution=32, zc_batch_size=2, size=32, calib_batches=1, calib_batch_size=2,
                eval_images=1, out=str(out), progress=False)
    base.update(kw)
    return SegSearchConfig(**base)


def _stage_ids(run_dir) -> list[str]:
    ids = set()
    for p in (run_dir / "stages").glob("*.json"):
        o = json.loads(p.read_text())["output"]
        ids |= set(o["kept"])
        for m in o["scores"].values():
            ids |= set(m)
    return sorted(ids)


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


# --- --max-flops parsing ------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [("0.6G", 6e8), ("600M", 6e8), ("6e8", 6e8), ("600000000", 6e8),
                                        ("1.79g", 1.79e9), ("0.6GFLOPs", 6e8), (6e8, 6e8)])
def test_parse_flops_accepts_units(text, value):
    assert parse_flops(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["0.6X", "-1G", "0", "G", "", "six", "nan", "1e999"])
def test_parse_flops_rejects_with_one_line(text):
    with pytest.raises(ValueError, match="^--max-flops: ") as e:
        parse_flops(text)
    assert "\n" not in str(e.value)


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=1e-3, max_value=1e3, allow_nan=False), st.sampled_from([("M", 1e6), ("G", 1e9)]))
def test_parse_flops_units_scale(x, unit):
    assert parse_flops(f"{x!r}{unit[0]}") == pytest.approx(x * unit[1], rel=1e-12)


# --- FLOPs-feasible alternation sampling -------------------------------------------------------
@pytest.mark.parametrize("fields,fixed", [(TRANSFORMER, BACKBONE), (BACKBONE, TRANSFORMER)])
def test_resample_fixes_the_other_part_and_respects_a_tight_limit(fields, fixed):
    sp = get_space("topformer_tiny")
    lo = sp.flops(sp.min_config())
    sampler = FlopsSampler(sp, lo * 1.15)
    rng = np.random.default_rng(3)
    base = sampler.random(rng)
    assert sampler.flops(base) <= lo * 1.15
    b = sp.to_dict(sp.parse(base))
    for _ in range(20):
        a = sampler.resample(rng, base, fields)
        assert sp.flops(sp.parse(a)) <= lo * 1.15
        d = sp.to_dict(sp.parse(a))
        assert all(d[f] == b[f] for f in fixed)


def test_infeasible_constraint_names_the_minimum():
    sp = get_space("topformer_tiny")
    lo = sp.flops(sp.min_config())
    with pytest.raises(ValueError, match=r"^--max-flops: .* below the minimum 0\.36\dG"):
        FlopsSampler(sp, lo - 1).check()
    FlopsSampler(sp, lo).check()  # the smallest config itself fits


def test_seed_tiny_config_is_in_the_default_space_and_meets_0_6g():
    sp = get_space(SegSearchConfig().space)
    cfg = sp.from_dict(SEED_CONFIGS["tiny"][0])
    assert sp.flops(cfg) <= parse_flops("0.6G")


def test_seg_proxies_are_finite_on_dense_outputs():
    from penas.app.segmentation.search_scoring import SEG_PROXIES
    from penas.estimators.zero_cost import score_module

    sp = get_space("topformer_tiny")
    torch.manual_seed(0)
    model = sp.build(sp.min_config())
    x = torch.randn(2, 3, 32, 32)
    y = torch.randint(0, 150, (2, 32, 32))
    y[:, :4] = 255
    s = score_module(model, (x, y), list(SEG_PROXIES), seed=0)
    assert all(math.isfinite(v) for v in s.values()), s


# --- the full loop ------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", family_names("segmentation"))
def test_full_search_loop_per_strategy(fresh, strategy):
    out, rep = fresh(strategy)
    sp = get_space("topformer_tiny")
    ids = _stage_ids(out)
    assert len(ids) >= 3 and rep["n_configs_scored"] == len(ids)
    assert max(sp.flops(sp.parse(a)) for a in ids) <= 6e8
    assert rep["max_flops_of_any_candidate"] <= 6e8 and rep["gflops"] <= 0.6
    best = json.loads((out / "best_cfg.json").read_text())
    assert list(best) == list(SEED_CONFIGS["tiny"][0])
    assert sp.format(sp.from_dict(best)) == rep["chosen"]
    assert rep["params"] == sp.params(sp.parse(rep["chosen"]))
    assert 0.0 <= rep["estimated_miou"] <= 1.0 and rep["selected_by"] == "supernet mIoU"
    assert rep["true_miou"] is None and "not measured" in rep["true_miou_note"]
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["chosen"] == rep["chosen"] and (out / "summary.txt").is_file()


def test_pe_nas_a_alternates_around_the_incumbent(seg_env, tmp_path):
    out = tmp_path / "alt"
    run_segmentation_search(_cfg(seg_env, out, rounds=2, per_round=3, checkpoint=None))
    sp = get_space("topformer_tiny")
    stages = [json.loads(p.read_text()) for p in sorted((out / "stages").glob("*.json"))]
    assert [s["name"] for s in stages] == ["start", "r1-transformer", "r1-backbone", "r2-transformer", "r2-backbone"]
    prev = stages[0]["output"]["kept"][0]
    for s in stages[1:]:
        o = s["output"]
        assert o["info"]["incumbent_in"] == prev
        fixed = BACKBONE if s["name"].endswith("transformer") else TRANSFORMER
        inc = sp.to_dict(sp.parse(prev))
        cands = list(o["scores"]["zc:nwot"])
        assert prev in cands and len(cands) == 4
        assert all(sp.to_dict(sp.parse(a))[f] == inc[f] for a in cands for f in fixed)
        prev = o["kept"][0]


def test_finetune_gives_a_true_miou(seg_env, tmp_path):
    rep = run_segmentation_search(_cfg(seg_env, tmp_path / "ft", per_round=1, finetune_iters=1, finetune_topk=2))
    assert rep["true_miou"] is not None and 0.0 <= rep["true_miou"] <= 1.0
    assert "fine-tuning" in rep["true_miou_note"] and rep["selected_by"].startswith("fine-tuned mIoU")


def test_random_without_checkpoint_uses_the_zero_cost_vote(seg_env, tmp_path):
    rep = run_segmentation_search(_cfg(seg_env, tmp_path / "zc", strategy="random", checkpoint=None))
    assert rep["estimated_miou"] is None and rep["true_miou"] is None
    assert rep["selected_by"].startswith("zero-cost vote") and "no --checkpoint" in rep["true_miou_note"]


# --- resume -------------------------------------------------------------------------------------
def test_resume_after_kill_equals_uninterrupted(seg_env, fresh, tmp_path):
    class Killed(Exception):
        pass

    def kill_after_two(rec):
        if rec.index == 1:
            raise Killed(rec.name)

    out = tmp_path / "killed"
    with pytest.raises(Killed):
        run_segmentation_search(_cfg(seg_env, out), on_stage_done=kill_after_two)
    assert len(list((out / "stages").glob("*.json"))) == 2
    assert not (out / "report.json").exists()
    resumed = run_segmentation_search(resume=str(out))
    fresh_dir, full = fresh("pe-nas-a")
    assert resumed["chosen"] == full["chosen"]
    assert resumed["estimated_miou"] == pytest.approx(full["estimated_miou"])
    assert [s["resumed"] for s in resumed["stages"]] == [True, True, False]
    stages = sorted((out / "stages").glob("*.json"))
    for a, b in zip(stages, sorted((fresh_dir / "stages").glob("*.json")), strict=True):
        assert json.loads(a.read_text())["output"] == json.loads(b.read_text())["output"]
    # the resumed run recomputed only the last stage's new configs
    assert sum(resumed["scores_computed"].values()) < sum(full["scores_computed"].values())


def test_kill_inside_a_stage_keeps_the_scores_already_stored(seg_env, tmp_path, monkeypatch):
    from penas.app.segmentation.search_scoring import ZeroCostScorer

    real, calls = ZeroCostScorer.score_one, []

    def dies_on_the_third(self, arch_id):
        calls.append(arch_id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, arch_id)

    out = tmp_path / "mid"
    cfg = _cfg(seg_env, out, checkpoint=None, per_round=2)
    monkeypatch.setattr(ZeroCostScorer, "score_one", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        run_segmentation_search(cfg)
    monkeypatch.setattr(ZeroCostScorer, "score_one", real)
    assert len(list((out / "stages").glob("*.json"))) == 1  # only "start" finished
    resumed = run_segmentation_search(resume=str(out))
    uninterrupted = run_segmentation_search(_cfg(seg_env, tmp_path / "ref", checkpoint=None, per_round=2))
    assert resumed["chosen"] == uninterrupted["chosen"]
    # the two configs scored before the kill were not scored again
    assert resumed["scores_computed"]["zero-cost"] == uninterrupted["scores_computed"]["zero-cost"] - 2


# --- CLI ----------------------------------------------------------------------------------------
def test_cli_search_segmentation_and_resume(seg_env, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["search", "segmentation", "--data", seg_env["data"], "--max-flops", "600M", "--rounds", "1",
            "--per-round", "1", "--proxies", "nwot,l2_norm", "--zc-resolution", "32", "--zc-batch-size", "2",
            "--size", "32", "--out", str(out), "--no-progress"]
    code, stdout, _ = run_cli(args, capsys)
    assert code in (0, None)
    rep = json.loads((out / "report.json").read_text())
    assert rep["space"] == "topformer_tiny" and rep["search_config"]["max_flops"] == 6e8
    assert "segmentation search" in stdout and "FLOPs (G)" in stdout
    code, stdout, _ = run_cli(["search", "--resume", str(out), "--no-progress"], capsys)
    assert code in (0, None)
    assert json.loads((out / "report.json").read_text())["chosen"] == rep["chosen"]
    assert all(s["resumed"] for s in json.loads((out / "report.json").read_text())["stages"])


@pytest.mark.parametrize("extra,expect", [
    (["--max-flops", "0.6X"], "--max-flops: expected a positive FLOPs count"),
    (["--max-flops", "0.3G"], "--max-flops: 0.3G is below the minimum"),
    (["--strategy", "pe-nas-b"], "--strategy: segmentation search supports"),
    (["--seg-space", "nb201"], "--seg-space: expected one of"),
    (["--checkpoint", "/nonexistent.pt"], "--checkpoint: no file"),
    (["--device", "tpu9"], "--device: expected cpu, cuda or cuda:N"),
    (["--finetune-iters", "3"], "--finetune-iters: fine-tuning starts from supernet weights"),
    (["--rounds", "0"], "--rounds: expected a positive integer"),
    (["--proxies", "nwot,bogus"], "--proxies: unknown"),
    (["--proxies", "nwot,zen", "--min-votes", "3"], "--min-votes: expected 1..2"),
])
def test_cli_bad_input_is_one_line_exit_2(seg_env, tmp_path, capsys, extra, expect):
    code, _, err = run_cli(["search", "segmentation", "--data", seg_env["data"], "--out", str(tmp_path / "x"),
                            *extra], capsys)
    assert code == 2 and err.startswith(f"error: {expect}") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_cli_bad_data_layout_is_one_line_exit_2(seg_env, tmp_path, capsys):
    import shutil

    bad = tmp_path / "ade"
    shutil.copytree(seg_env["data"], bad)
    shutil.rmtree(bad / "annotations" / "validation")
    code, _, err = run_cli(["search", "segmentation", "--data", str(bad), "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and err.startswith("error: --data: expected an ADE20K directory") and err.count("\n") == 1
    assert "annotations/validation" in err


def test_cli_segmentation_options_rejected_for_other_spaces(capsys):
    code, _, err = run_cli(["search", "nb201", "--data", "x"], capsys)
    assert code == 2 and err.startswith("error: --data: only for segmentation search")


def test_cli_defaults_match_the_config():
    from penas.app.commands.search import _S

    d = SegSearchConfig()
    assert all(getattr(d, k) == v for k, v in _S.items())
