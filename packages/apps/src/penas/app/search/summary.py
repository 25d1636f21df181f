"""The printed summaries of both searches: :func:`summary_rows` / :func:`summary_text` of a
cell-space search result (``result.json``), :func:`segmentation_rows` /
:func:`segmentation_text` of a segmentation search report (``report.json``). The CLI renders
the same rows as tables (``penas.app.commands._render``)."""

from __future__ import annotations

import json
import math
from typing import Any


def _f(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


TABULAR_LABEL = "oracle (final accuracy from the table)"


def _is_tabular(stage: dict[str, Any]) -> bool:
    fid = stage.get("fidelity") or {}
    return bool(fid) and all("tabular" in str(v) for v in fid.values())


def stage_groups(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The stages as shown: consecutive tabular stages collapse into one entry (they look the
    final accuracy up in the benchmark table: no training happens, none is charged). In a resumed
    run the first stage computed after the loaded ones is marked ``resumed``."""
    stages = res["accounting"]["stages"]
    resumed_run = any(st["resumed"] for st in stages)
    out: list[dict[str, Any]] = []
    first_new = True
    for st in stages:
        tab = _is_tabular(st)
        if tab and out and out[-1]["tabular"]:
            g = out[-1]
            g["names"].append(st["name"])
            g["kept"] = st["kept"]
            g["cpu_s"] += st["cpu_s"]
            g["wall_s"] += st["wall_s"]
            continue
        resumed = resumed_run and not st["resumed"] and first_new
        if not st["resumed"]:
            first_new = False
        out.append({"names": [st["name"]], "tabular": tab, "kept": st["kept"], "cpu_s": st["cpu_s"],
                    "wall_s": st["wall_s"], "loaded": st["resumed"], "resumed": resumed,
                    "epochs": 0 if tab else st.get("epochs", 0), "charged_runtime_s": st.get("charged_runtime_s"),
                    "fidelity": st.get("fidelity") or {}})
    return out


def _group_name(g: dict[str, Any]) -> str:
    n = g["names"]
    name = n[0] if len(n) == 1 else f"{n[0]} .. {n[-1]} ({len(n)} stages)"
    return name + (f": {TABULAR_LABEL}" if g["tabular"] else "")


def summary_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` rows of a cell search result: chosen arch, ground truth, charged cost."""
    acc = res["accounting"]
    groups = stage_groups(res)
    trained, epochs = acc["archs_trained_partially"], acc["epochs"]
    full = acc.get("full_training_epochs")
    rows = [
        ("space / strategy / seed", f"{res['space']} / {res['strategy']} / {res['seed']}"),
        ("candidates", str(res["n_candidates"]) + (f"  ({'; '.join(res['constraints'])})" if res["constraints"] else "")),
        ("chosen arch", res["chosen"]),
        ("estimated score", f"{_f(res['estimated_score'], 4)}  (by {res['estimated_by']})"),
    ]
    gt = res.get("gt")
    if gt:
        rows += [
            (f"ground truth ({gt['metric']}, {gt['dataset']})", _f(gt["value"], 3)),
            ("GT rank", f"{gt['rank']} of {gt['n']}" + (
                f"  (percentile {_f(gt['rank_percentile'], 2)} among {gt['reference']})"
                if gt.get("rank_percentile") is not None and gt.get("source") == "surrogate" else "")),
            ("regret (best - chosen)", f"{_f(gt['regret'], 3)}  (best {_f(gt['best'], 3)})"
             + ("" if gt["best_among_candidates"] == gt["best"] else
                f"; among candidates {_f(gt['regret_among_candidates'], 3)}")),
        ]
    else:
        rows.append(("ground truth", f"not available ({res.get('gt_unavailable', '')})"))
    rows += [
        ("archs fully evaluated", f"{acc['gt_lookups'] + trained}  (GT lookups {acc['gt_lookups']}, "
                                  f"partially trained {trained})"),
        ("training epochs charged", f"{epochs}" + (
            f"  (= {epochs / full:.1f} full trainings of {full} epochs)" if full else "")),
    ]
    for g in groups:
        if g["tabular"]:
            rows.append((_group_name(g).split(": ")[0], f"{TABULAR_LABEL}; kept {g['kept']}; no training charged"
                         + (f" ({acc['table_lookups']} archs looked up)" if acc.get("table_lookups") else "")))
    if acc.get("charged_runtime_s") is not None:
        rows.append(("training runtime charged", f"{acc['charged_runtime_s']:.0f} s  "
                                                 "(GT-predicted training time of the evaluations)"))
    resumed = any(g["loaded"] for g in groups)
    rows.append(("CPU / wall time" + (" (whole run)" if resumed else ""),
                 f"{acc['cpu_s']:.1f}s / {acc['wall_s']:.1f}s"
                 + ("  (loaded stages: their first session's time)" if resumed else "")))
    if resumed:
        rows.append(("resumed", "true  (" + ", ".join(_group_name(g) for g in groups if g["resumed"]) + ")"
                     if any(g["resumed"] for g in groups) else "true  (every stage loaded)"))
    return rows


def stage_line(g: dict[str, Any]) -> list[str]:
    """The cells of one stage group (:func:`stage_groups`): name, kept, CPU s, wall s, charged,
    state, fidelity."""
    rt = g.get("charged_runtime_s")
    charged = (f"{g['epochs']} ep" if g["epochs"] else "") + (f" / {rt:.0f} s" if rt is not None else "")
    state = "loaded" if g["loaded"] else ("resumed: true" if g["resumed"] else "")
    fid = "" if g["tabular"] else "; ".join(f"{k}: {v}" for k, v in g["fidelity"].items())
    return [_group_name(g), str(g["kept"]), f"{g['cpu_s']:.2f}", f"{g['wall_s']:.2f}", charged, state, fid]


def summary_text(res: dict[str, Any]) -> str:
    """The plain-text summary of a cell search result (``summary.txt``)."""
    import textwrap

    lines = ["search summary"]
    for k, v in summary_rows(res):  # long values (arch ids) wrap, never cut
        parts = textwrap.wrap(v, 78, break_long_words=True, break_on_hyphens=False) or [""]
        lines.append(f"  {k:<32} {parts[0]}")
        lines += [f"  {'':<32} {p}" for p in parts[1:]]
    lines.append("  stages:")
    for g in stage_groups(res):
        name, kept, cpu, wall, charged, state, fid = stage_line(g)
        lines.append(f"    {name:<14} kept {kept:>6}  cpu {float(cpu):8.2f}s  wall {float(wall):8.2f}s"
                     + (f"  charged {charged}" if charged else "") + (f"  ({state})" if state else "")
                     + (f"  [{fid}]" if fid else ""))
    for n in res.get("notes", []):
        lines.append(f"  note: {n}")
    return "\n".join(lines)


# --- segmentation search ------------------------------------------------------------------
def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}"


def segmentation_rows(rep: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` rows of a segmentation search report."""
    return [
        ("space / strategy / seed", f"{rep['space']} / {rep['strategy']} / {rep['seed']}"),
        ("constraint", f"FLOPs <= {rep['max_flops'] / 1e9:g} G at {rep['flops_resolution']}x{rep['flops_resolution']}"
                       f"  (max over all candidates {rep['max_flops_of_any_candidate'] / 1e9:.3f} G)"),
        ("config", json.dumps(rep["config"], separators=(", ", ": "))),
        ("FLOPs (G)", f"{rep['gflops']:.3f}"),
        ("params (M)", f"{rep['params_m']:.3f}"),
        ("selected by", rep["selected_by"]),
        ("estimated mIoU (%)", _pct(rep["estimated_miou"]) + (f"  ({rep['estimated_miou_by']})"
                                                             if rep["estimated_miou_by"] else "  (no --checkpoint)")),
        ("true mIoU (%)", f"{_pct(rep['true_miou'])}  ({rep['true_miou_note']})"),
        ("scores computed", ", ".join(f"{k}: {v}" for k, v in rep["scores_computed"].items()) or "none (all stored)"),
        ("wall time", f"{rep['wall_s']:.1f}s"),
    ]


def segmentation_text(rep: dict[str, Any]) -> str:
    """The plain-text segmentation search report (``summary.txt``)."""
    lines = ["segmentation search report"] + [f"  {k:<26} {v}" for k, v in segmentation_rows(rep)]
    lines.append("  stages:")
    for s in rep["stages"]:
        lines.append(f"    {s['name']:<16} kept {s['kept']:>5}  {s['wall_s']:8.2f}s" + ("  (resumed)" if s["resumed"]
                                                                                        else ""))
    lines += [f"  note: {n}" for n in rep["notes"]]
    return "\n".join(lines)


__all__ = ["TABULAR_LABEL", "segmentation_rows", "segmentation_text", "stage_groups", "stage_line", "summary_rows",
           "summary_text"]
