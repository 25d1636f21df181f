"""Outputs people read (issue 19): the search summary (full arch ids, tabular stages on one line,
resumed runs), the rank-scatter and kdt-vs-mkr figures, and reuse of a run directory whose run
failed before its first stage."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

from penas.app.cli import main
from penas.app.commands._render import print_summary
from penas.app.search.summary import TABULAR_LABEL, summary_text

LONG_ID = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"


def _stage(name, kept, resumed=False, fidelity=None, epochs=0):
    return {"name": name, "kept": kept, "cpu_s": 1.5, "wall_s": 2.0, "resumed": resumed,
            "fidelity": fidelity or {}, "epochs": epochs, "charged_runtime_s": None}


def _result(resumed_stages: int = 0) -> dict:
    # A hand-made result.json (the summary is a pure function of it): a vote, a one-shot stage
    # and three tabular partial-training stages.
    stages = [_stage("zc-vote", 40, fidelity={"zc:nwot": "computed"}), _stage("one-shot", 8),
              *[_stage(f"partial@{e}", k, fidelity={"partial": "tabular-final"}, epochs=k)
                for e, k in ((1, 8), (2, 4), (3, 1))]]
    for st in stages[:resumed_stages]:
        st["resumed"] = True
    return {"space": "nb201", "strategy": "pe-nas-a", "seed": 0, "n_candidates": 64, "constraints": [],
            "chosen": LONG_ID, "estimated_score": 93.3, "estimated_by": "partial@3", "gt": None,
            "gt_unavailable": "no table", "run_dir": "RUN", "notes": [],
            "accounting": {"archs_fully_evaluated": 0, "archs_trained_partially": 0, "gt_lookups": 0,
                           "table_lookups": 8, "epochs": 0, "full_training_epochs": 200, "full_training_equivalents": 0,
                           "charged_runtime_s": None, "cpu_s": 7.5, "wall_s": 10.0, "stages": stages}}


def test_summary_full_arch_id_tabular_collapsed_and_not_charged():
    text = summary_text(_result())
    assert LONG_ID in re.sub(r"\s+", "", text)  # wrapped, never cut
    assert "…" not in text and "..." not in text.replace(" .. ", "")
    tab = [ln for ln in text.splitlines() if TABULAR_LABEL in ln]
    assert len(tab) == 2  # one summary row + one stage line for the three tabular stages
    assert "partial@1 .. partial@3 (3 stages)" in text
    assert re.search(r"training epochs charged\s+0\b", text)
    assert re.search(r"archs fully evaluated\s+0\b", text)
    assert "(8 archs looked up)" in re.sub(r"\s+", " ", text)
    assert "resumed" not in text


def test_rich_summary_folds_long_ids(capsys):
    from rich.console import Console

    console = Console(width=70, record=True)
    print_summary(_result(), console)
    out = console.export_text()
    assert "…" not in out
    rows = [ln for ln in out.splitlines() if "nor_" in ln or "conv" in ln]  # the folded id's lines
    cells = "".join(ln.split("│")[2].strip() for ln in rows if ln.count("│") >= 3)
    assert cells == LONG_ID


def test_summary_after_resume_totals_and_resumed_stage():
    text = summary_text(_result(resumed_stages=1))
    assert "CPU / wall time (whole run)" in text and "7.5s / 10.0s" in text
    assert re.search(r"resumed\s+true\s+\(one-shot\)", text)
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("one-shot"))
    assert "(resumed: true)" in line
    assert "(loaded)" in next(ln for ln in text.splitlines() if ln.strip().startswith("zc-vote"))


@pytest.mark.data
def test_failed_run_before_first_stage_does_not_block_its_out(bench_root, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["search", "nb201", "--strategy", "random", "--budget", "5", "--out", str(out), "--no-progress"]
    with pytest.raises(SystemExit) as e:
        main([*base, "--candidates", "bogus"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main([*base, "--candidates", "sample:20"])
    assert e.value.code in (0, None), capsys.readouterr().err
    assert json.loads((out / "result.json").read_text())["chosen"]


@pytest.mark.data
def test_rank_scatter_and_kdt_vs_mkr_figures(bench_root, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "eval"
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "nb201", "--estimators", "params,flops", "--archs", "sample:200", "--out", str(out),
              "--plots"])
    assert e.value.code in (0, None)
    for name in ("params", "flops"):
        png = out / f"rank_scatter_{name}.png"
        assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["plot", "kdt-vs-mkr", str(out), "--search-budget", "500", "--search-runs", "3"])
    assert e.value.code in (0, None)
    cap = capsys.readouterr()
    assert "warning: --search-budget 500 >= the 200 evaluated archs" in cap.err
    assert (out / "kdt_vs_mkr.png").stat().st_size > 5000


def test_rank_scatter_annotation(tmp_path):
    pytest.importorskip("matplotlib")
    from penas.app.plots import plot_rank_scatter

    rng = np.random.default_rng(0)
    gt = rng.normal(size=50)
    score = gt + rng.normal(scale=0.5, size=50)
    score[3] = np.nan  # invalid: ranked last, still counted in N
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_rank_scatter(tmp_path / "r.png", "noisy", gt, score)
    assert (tmp_path / "r.png").stat().st_size > 5000 and path.endswith("r.png")
