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


COLUMNS = ("space", "arch_id", "estimator", "config_hash", "value", "valid", "provenance", "created")


class StoreError(ValueError):
    """The file is not a usable score store (corrupt, truncated, foreign, unwritable); one line."""


class ScoreStore:
    """SQLite store of estimator scores (see module docs). Safe to open from many processes.

    ``readonly=True`` opens an existing store with SQLite's ``mode=ro``: nothing is created or
    changed, not even the journal mode. An existing file is checked to be a score store before
    anything is written to it; a foreign, corrupt or truncated file raises :class:`StoreError`
    and is left byte-identical. A store this call created is removed again when creating it fails
    (a full disk leaves no 0-byte database behind).
    """

    def __init__(self, path: str | os.PathLike[str], timeout_s: float = 60.0, readonly: bool = False) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self.readonly = readonly
        if readonly:
            if not self.path.is_file():
                raise StoreError(f"{self.path}: no score store there (expected an existing SQLite file)")
            self.check()
            return
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"{self.path}: is a directory, not a score store file")
        if self.path.is_file() and self.path.stat().st_size > 0:
            self.check()  # read-only look first: a foreign database is never modified
        created = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(SCHEMA)
        except (OSError, StoreError) as e:
            if created:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            if isinstance(e, StoreError):
                raise
            raise StoreError(f"{self.path}: cannot create the score store ({e.strerror or e})") from None

    def check(self) -> None:
        """Raise :class:`StoreError` unless the file is an SQLite database with the scores table."""
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise StoreError(f"{self.path}: empty file, not a score store")
        try:
            con = sqlite3.connect(self._ro_uri(), uri=True, timeout=self.timeout_s)
            try:
                tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
                cols = [r[1] for r in con.execute("PRAGMA table_info(scores)")] if "scores" in tables else []
            finally:
                con.close()
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: not a readable score store ({e})") from None
        if "scores" not in tables:
            raise StoreError(f"{self.path}: an SQLite database without a penas scores table (tables: "
                             f"{', '.join(sorted(tables)) or 'none'}); give a score store or a new path")
        if set(COLUMNS) - set(cols):
            raise StoreError(f"{self.path}: its scores table is not a penas score store (columns: {', '.join(cols)})")

    def _ro_uri(self) -> str:
        """``mode=ro``; with no ``-wal`` file beside it no connection is open (SQLite removes it
        on the last close), so the file is read as immutable: no ``-wal``/``-shm`` are created
        next to a file we only look at (and a store in a read-only directory opens)."""
        uri = f"{self.path.absolute().as_uri()}?mode=ro"
        return uri if Path(f"{self.path}-wal").exists() else uri + "&immutable=1"

    def _connect(self) -> _Closing:
        if self.readonly:
            target, uri = self._ro_uri(), True
        else:
            target, uri = str(self.path), False
        try:
            con = sqlite3.connect(target, timeout=self.timeout_s, isolation_level=None, uri=uri)
            con.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            if not self.readonly:
                con.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open the score store ({e})") from None
        return _Closing(con, self.path)

    def hold_open(self) -> None:
        """Keep one connection open until :meth:`release` (or the object is dropped): each
        call's own connection then closes without SQLite's last-close WAL checkpoint + fsync
        (~10 ms), which dominates a session making many small calls (a search). Per process:
        the held connection is not pickled."""
        if not self.readonly and getattr(self, "_held", None) is None:
            self._held = sqlite3.connect(self.path, timeout=self.timeout_s)
            self._held.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()  # attach the WAL now

    def release(self) -> None:
        held, self._held = getattr(self, "_held", None), None
        if held is not None:
            held.close()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_held"}

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
        cols = list(COLUMNS)
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

    def __init__(self, con: sqlite3.Connection, path: Path | None = None) -> None:
        self.con = con
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        return self.con

    def __exit__(self, tp: Any, exc: Any, tb: Any) -> None:
        self.con.close()
        if isinstance(exc, sqlite3.Error):  # corrupt, truncated, full disk: one line naming the file
            raise StoreError(f"{self.path}: score store error ({exc})") from None

    def execute(self, *a: Any) -> Any:
        return self.con.execute(*a)
