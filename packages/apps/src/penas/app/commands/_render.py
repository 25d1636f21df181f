"""Rich rendering of the workflow results (the CLI layer: the workflow modules return plain
dicts; these print them as tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def print_reports(res: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    t = Table(title=f"{res['space']}: {res['n_with_gt']} archs with ground truth "
              + (f"({res['gt']['metric']}, {res['gt']['dataset']})" if res["gt"] else ""))
    for c in ("estimator", "N", "inv", "KT", "SpR", "Pearson", "wKT", "MKR",
              "best@", "P@5%", "P@10%"):
        t.add_column(c)
    for name, r in res["reports"].items():
        atk = {row["ratio"]: row for row in r["at_k"]}

        def f(v: Any, d: int = 3) -> str:
            return "n/a" if v is None else f"{v:.{d}f}"

        t.add_row(name, str(r["n"]), str(r["n_invalid"]), f(r["kendall_tau"]), f(r["spearman"]), f(r["pearson"]),
                  f(r["weighted_tau"]), f(r["mkr"], 4), str(r["mkr_rank"]),
                  f(atk.get(0.05, {}).get("precision_top")), f(atk.get(0.1, {}).get("precision_top")))
    console.print(t)
    for name, src in res["sources"].items():
        console.print(f"  {name}: {src}")
    if res["gt"] is None:
        console.print(f"no ground truth: {res['gt_unavailable']}")
    console.print(f"wrote {res['out']}/report.json and scores.csv" + (
        f" and {len(res.get('plots', []))} plot(s)" if res.get("plots") else ""))


def print_report(report: dict[str, Any], console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..study.report import tables

    for name, (title, head, rows) in tables(report).items():
        if name == "full":
            continue
        if name == "summary":  # the console gets the headline columns; report.md has them all
            keep = [i for i, h in enumerate(head) if h in ("estimator", "replicates", "kendall_tau", "spearman",
                                                          "mkr") or h.startswith("P@top")]
            head, rows = [head[i] for i in keep], [[r[i] for i in keep] for r in rows]
        t = Table(title=escape(f"{report['space']}: {title}"))
        for h in head:
            t.add_column(escape(h), justify="left" if h in ("estimator", "criterion") else "right")
        for r in rows:
            t.add_row(*(escape(c) for c in r))  # labels such as one_shot[acc] are not markup
        console.print(t)
    if report["files"].get("plot_skipped"):
        console.print(f"[yellow]no plot: {report['files']['plot_skipped']}[/yellow]", soft_wrap=True)
    g = report["grid"]
    console.print("computed: " + ", ".join(f"{k} {v}" for k, v in g["computed"].items())
                  + f"; {g['seconds'].get('total', 0.0):.1f}s; wrote " + ", ".join(
                      v for k, v in report["files"].items() if k != "plot_skipped"), soft_wrap=True)


def print_bias(res: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    from ..study.bias import _f, tables

    for name in ("criteria", "complexity", "deiso", "ops"):
        head, rows = tables(res)[name]
        if not rows:
            continue
        t = Table(title=f"{res['space']}: {name}")
        for h in head:
            t.add_column(h, justify="left" if h in ("estimator", "op", "edge") else "right")
        for r in rows:
            t.add_row(*(_f(v) for v in r))
        console.print(t)
    for k, v in res["skipped"].items():
        console.print(f"skipped {k}: {v}")
    console.print(f"wrote {res['out']}/bias.json, *.csv, bias.md")


def print_segmentation_report(rep: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    from ..search.summary import segmentation_rows

    t = Table(title="segmentation search", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    for k, v in segmentation_rows(rep):
        t.add_row(k, v)
    console.print(t)
    st = Table(title="stages")
    for c in ("stage", "candidates", "kept", "wall s"):
        st.add_column(c)
    for s in rep["stages"]:
        st.add_row(s["name"] + (" (resumed)" if s["resumed"] else ""), str(s["n_candidates"] or ""), str(s["kept"]),
                   f"{s['wall_s']:.2f}")
    console.print(st)
    for n in rep["notes"]:
        console.print(f"note: {n}")
    console.print(f"best config: {Path(rep['run_dir']) / 'best_cfg.json'}")


def print_summary(res: dict[str, Any], console: Any) -> None:
    """The search summary and its stage table (full arch ids, folded, never cut)."""
    from rich.table import Table

    from ..search.summary import stage_groups, stage_line, summary_rows

    t = Table(title="search summary", show_header=False)
    t.add_column("", style="bold", no_wrap=True)
    t.add_column("", overflow="fold")  # full arch ids: folded onto more lines, never cut with "..."
    for k, v in summary_rows(res):
        t.add_row(k, v)
    console.print(t)
    st = Table(title="stages")
    for c in ("stage", "kept", "CPU s", "wall s", "charged", "state", "fidelity"):
        st.add_column(c, overflow="fold")
    for g in stage_groups(res):
        st.add_row(*stage_line(g))
    console.print(st)
    for n in res.get("notes", []):
        console.print(f"note: {n}", soft_wrap=True)
    console.print(f"run directory: {res['run_dir']}", soft_wrap=True)
