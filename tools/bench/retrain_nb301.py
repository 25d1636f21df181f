"""Retraining evidence for the genotype PE-NAS finds on NB301: read a ``penas-app retrain darts`` run
directory (``report.json``, ``log.jsonl``) and write ``tools/bench/results/retrain_nb301.json`` in the
house format, with the genotype's parameter count at the PC-DARTS CIFAR-10 size (C=36, 20 layers) and
the commands of the shortened CPU run and of the full GPU run.

The CPU run (shortened schedule, stated in the JSON)::

    penas-app search darts --strategy pe-nas-a --candidates FILE --zc-batch-size 16 --out SEARCH
    penas-app retrain darts --from-run SEARCH --data CIFAR10_10K --out RUN --init-channels 16 --layers 8 \\
        --epochs 2 --stop-after 1          # then the same with --resume for epoch 2
    python tools/bench/retrain_nb301.py --run RUN --search SEARCH --data-note "first 10k train / 2k test"

The full PC-DARTS CIFAR-10 run (600 epochs, C=36, 20 layers, batch 96) on a GPU, in chunks that fit a
10-minute slot: ``penas-app retrain darts --from-run SEARCH --out RUN --stop-after K`` first, then the
same command with ``--resume`` until ``epochs_done`` is 600 (K epochs per chunk; measure one epoch first).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="the retrain run directory (report.json)")
    ap.add_argument("--search", required=True, help="the search run directory the genotype came from")
    ap.add_argument("--data-note", default="", help="what --data held (e.g. a subset of CIFAR-10)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "retrain_nb301.json"))
    args = ap.parse_args()
    run, search = Path(args.run), Path(args.search)
    for f in (run / "report.json", search / "result.json"):
        if not f.is_file():
            raise SystemExit(f"--run/--search: no {f}")
    rep = json.loads((run / "report.json").read_text())
    res = json.loads((search / "result.json").read_text())
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()] \
        if (run / "log.jsonl").is_file() else []
    from penas.spaces import get_space

    sp = get_space("darts")
    g = sp.parse(rep["arch"])
    full_params = sp.params(g, "cifar10")  # C=36, 20 layers: the PC-DARTS CIFAR-10 size
    rows = [e for e in log if isinstance(e, dict)]
    summary = {
        "genotype": rep["arch"],
        "from_search": {"strategy": res["strategy"], "seed": res["seed"], "gt": res.get("gt")},
        "schedule": {k: rep.get(k) for k in ("recipe", "epochs", "epochs_done")} | {"note": args.data_note},
        "params_run": rep["params"], "flops_run": rep.get("flops"),
        "params_at_C36_L20": full_params,
        "seed_genotype_params_at_C36_L20_published": 3.6e6,
        "best_acc": rep["best_acc"], "last_acc": rep["last_acc"],
        "full_run_command": "penas-app retrain darts --from-run SEARCH --out RUN --stop-after K; then the same "
                            "with --resume until 600 epochs (PC-DARTS CIFAR-10 recipe, on a GPU)",
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "from_search"}, indent=1, default=str))
    print(f"wrote {write_result(args.out, rows, summary)}")


if __name__ == "__main__":
    main()
