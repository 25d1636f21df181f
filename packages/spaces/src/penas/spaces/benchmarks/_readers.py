"""Reading helpers the benchmark importers share: CSV files and cells, NASLib json, unit conversion.

Errors are one-line ``ValueError`` messages naming the file and what was expected.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

PathLike = str | os.PathLike[str]


def float_cell(s: str | None) -> float:
    """CSV cell -> float; empty, ``-inf``/``inf``/``nan`` become NaN (invalid)."""
    if s is None:
        return math.nan
    s = s.strip()
    if not s:
        return math.nan
    v = float(s)
    return v if math.isfinite(v) else math.nan


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of a CSV file with a header line (empty rows dropped)."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"file: {str(path)!r} is empty; expected a CSV with a header") from None
        rows = [r for r in reader if r]
    return header, rows


def column(header: list[str], name: str, path: Path) -> int:
    """The index of column ``name`` of ``path``'s header; one-line error listing the columns."""
    try:
        return header.index(name)
    except ValueError:
        raise ValueError(f"file: {str(path)!r} has no column {name!r}; columns: {', '.join(header)}") from None


def count_from_millions(x: float) -> float:
    """A count given in millions -> count (rounded), NaN stays NaN."""
    return float(round(x * 1e6)) if math.isfinite(x) else math.nan


def load_naslib(path: Path, top: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The ``{dataset: {key: record}}`` under the top-level key ``top`` of a NASLib NB-Suite-Zero json."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or top not in data:
        raise ValueError(f"file: {str(path)!r}: expected a NASLib json with top-level key {top!r}")
    return data[top]
