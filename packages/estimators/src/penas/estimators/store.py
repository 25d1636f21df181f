"""A resumable SQLite score store.

One row per ``(space, arch_id, estimator, config_hash)`` with the value (NULL when invalid),
a ``valid`` flag, the provenance JSON and the creation time. The database runs in WAL mode
with a busy timeout, and every write is one ``INSERT OR IGNORE`` transaction, so

* a sweep killed at any moment (even ``kill -9``) loses at most the rows of the transaction
  in flight; re-running it computes only :meth:`ScoreStore.missing` archs;
* several processes may write at once (SQLite serialises the writers; a stored score is
  never overwritten, so the first writer wins and nothing is duplicated).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    space TEXT NOT NULL,
    arch_id TEXT NOT NULL,
    estimator TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    value REAL,
    valid INTEGER NOT NULL,
    provenance TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (space, arch_id, estimator, config_hash)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Row:
    arch_id: str
    value: float  # NaN when invalid
    valid: bool
    provenance: dict[str, Any]
    created: float


class ScoreStore:
    """SQLite store of estimator scores (see module docs). Safe to open from many processes."""

    def __init__(self, path: str | os.PathLike[str], timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    def _connect(self) -> _Closing:
        con = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
        con.execute("PRAGMA synchronous=NORMAL")
        return _Closing(con)

    # --- reads ------------------------------------------------------------------------------
    def get_many(self, space: str, estimator: str, config_hash: str, arch_ids: Iterable[str]) -> dict[str, float]:
        """``{arch_id: value}`` for the stored ones among ``arch_ids`` (NaN = stored invalid)."""
        return {r.arch_id: r.value for r in self.rows(space, estimator, config_hash, arch_ids)}

    def rows(
        self, space: str, estimator: str, config_hash: str, arch_ids: Iterable[str] | None = None
    ) -> list[Row]:
        q = "SELECT arch_id, value, valid, provenance, created FROM scores WHERE space=? AND estimator=? AND config_hash=?"
        args: list[Any] = [space, estimator, config_hash]
        with self._connect() as con:
            if arch_ids is None:
                found = con.execute(q, args).fetchall()
            else:
                ids = list(dict.fromkeys(arch_ids))
                found = []
                for i in range(0, len(ids), 500):
                    chunk = ids[i : i + 500]
                    found += con.execute(f"{q} AND arch_id IN ({','.join('?' * len(chunk))})", args + chunk).fetchall()
        return [
            Row(a, float("nan") if v is None else float(v), bool(ok), json.loads(p), float(c))
            for a, v, ok, p, c in found
        ]

    def missing(self, space: str, estimator: str, config_hash: str, arch_ids: Sequence[str]) -> list[str]:
        """The ``arch_ids`` (in order, deduplicated) with no stored score."""
        have = self.get_many(space, estimator, config_hash, arch_ids)
        return [a for a in dict.fromkeys(arch_ids) if a not in have]

    def keys(self, space: str | None = None) -> list[tuple[str, str]]:
        """The distinct ``(estimator, config_hash)`` pairs stored (for ``space`` only when given), sorted."""
        q = "SELECT DISTINCT estimator, config_hash FROM scores"
        args: list[Any] = []
        if space is not None:
            q += " WHERE space=?"
            args.append(space)
        with self._connect() as con:
            found = con.execute(q + " ORDER BY estimator, config_hash", args).fetchall()
        return [(str(e), str(h)) for e, h in found]

    def count(self, space: str | None = None, estimator: str | None = None, config_hash: str | None = None) -> int:
        conds, args = [], []
        for col, val in (("space", space), ("estimator", estimator), ("config_hash", config_hash)):
            if val is not None:
                conds.append(f"{col}=?")
                args.append(val)
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        with self._connect() as con:
            return int(con.execute(f"SELECT COUNT(*) FROM scores{where}", args).fetchone()[0])

    # --- writes -----------------------------------------------------------------------------
    def put_many(
        self,
        space: str,
        estimator: str,
        config_hash: str,
        values: dict[str, float] | Iterable[tuple[str, float]],
        provenance: dict[str, dict[str, Any]] | None = None,
    ) -> int:
        """Insert scores not stored yet, in one transaction. Returns the number of new rows."""
        items = list(values.items()) if isinstance(values, dict) else list(values)
        now = time.time()
        recs = []
        for arch_id, v in items:
            f = float(v)
            ok = math.isfinite(f)
            prov = (provenance or {}).get(arch_id, {})
            recs.append((space, arch_id, estimator, config_hash, f if ok else None, int(ok), json.dumps(prov, default=str), now))
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                before = con.total_changes
                con.executemany("INSERT OR IGNORE INTO scores VALUES (?,?,?,?,?,?,?,?)", recs)
                added = con.total_changes - before
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return added

    # --- export -----------------------------------------------------------------------------
    def export(
        self, path: str | os.PathLike[str], space: str | None = None, estimator: str | None = None,
        config_hash: str | None = None,
    ) -> int:
        """Write matching rows to CSV (``.csv``) or JSON lines (anything else); returns the count."""
        conds, args = [], []
        for col, val in (("space", space), ("estimator", estimator), ("config_hash", config_hash)):
            if val is not None:
                conds.append(f"{col}=?")
                args.append(val)
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        cols = ["space", "arch_id", "estimator", "config_hash", "value", "valid", "provenance", "created"]
        with self._connect() as con:
            rows = con.execute(f"SELECT {','.join(cols)} FROM scores{where} ORDER BY space, estimator, arch_id", args).fetchall()
        p = Path(path)
        with p.open("w", newline="") as f:
            if p.suffix == ".csv":
                w = csv.writer(f)
                w.writerow(cols)
                w.writerows(rows)
            else:
                for r in rows:
                    d = dict(zip(cols, r, strict=True))
                    d["provenance"] = json.loads(d["provenance"])
                    f.write(json.dumps(d) + "\n")
        return len(rows)


class _Closing:
    """``with`` support that closes the connection (sqlite3's own only ends a transaction)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        return self.con

    def __exit__(self, *exc: Any) -> None:
        self.con.close()

    def execute(self, *a: Any) -> Any:
        return self.con.execute(*a)
