"""The house format of ``tools/bench/results/*.json``: ``{"command", "git", "date", "machine",
"rows", "summary"}``, written atomically (shared by the bench scripts)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def git_rev() -> str:
    """Short HEAD, ``+dirty`` when the tree has changes; ``unknown`` outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
        return out + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_result(out: str | os.PathLike[str], rows: list[dict[str, Any]], summary: dict[str, Any],
                 **machine: Any) -> Path:
    """Write the house-format JSON to ``out`` (tmp file + rename); ``machine`` adds fields."""
    doc = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "git": git_rev(),
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017 (3.10)
           "machine": {"python": platform.python_version(), "platform": platform.platform(),
                       "cpus": os.cpu_count(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), **machine},
           "rows": rows, "summary": summary}
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=float))
    tmp.replace(path)
    return path
