"""``evaluate --from-store`` on a store written by ``zero-shot``: the error says what is stored
(config, rows, seed, batch size, protocol) and how to select it; ``--zc-protocol / --zc-seed /
--zc-batches / --zc-batch-size / --zc-data`` then select exactly those rows, read-only.
Synthetic batches keep the zero-cost scores cheap; the store keys are what is under test."""

from __future__ import annotations

import hashlib
import json

import pytest

ZC = ["--zc-protocol", "aw_nas", "--zc-seed", "1", "--zc-batches", "1", "--zc-batch-size", "4", "--zc-data",
      "synthetic"]


@pytest.mark.data
def test_from_store_names_stored_configs_then_selects_them(bench_root, tmp_path, cli):
    db = tmp_path / "z.db"
    code, _, err = cli(*["zero-shot", "nb201", "--proxies", "synflow", "--seeds", "1", "--batches", "1",
                         "--batch-size", "4", "--data", "synthetic", "--archs", "sample:5", "--store", str(db),
                         "--no-progress"])
    assert code == 0, err
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    ev = ["evaluate", "nb201", "--estimators", "synflow", "--archs", "sample:5", "--from-store", str(db),
          "--out", str(tmp_path / "e")]
    code, out, err = cli(*ev)
    assert code == 2 and len((out + err).strip().splitlines()) == 1
    assert "seed 1, batch size 4, protocol aw_nas" in err and "--zc-seed" in err
    code, out, err = cli(*ev, *ZC)
    assert code == 0, err
    src = json.loads((tmp_path / "e" / "report.json").read_text())["sources"]["synflow"]
    assert src.startswith("store") and src.endswith("(5 of 5 stored)")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest  # read-only: not a byte changed
