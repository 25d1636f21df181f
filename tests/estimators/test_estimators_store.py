"""The SQLite score store: API, concurrent writers, and resuming after kill -9."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from penas.estimators.store import ScoreStore

HERE = Path(__file__).resolve().parent


def test_put_get_missing_and_no_overwrite(tmp_path):
    s = ScoreStore(tmp_path / "s.db")
    assert s.put_many("sp", "est", "h1", {"a": 1.0, "b": float("nan"), "c": float("inf")}, {"a": {"seed": 1}}) == 3
    got = s.get_many("sp", "est", "h1", ["a", "b", "c", "d"])
    assert got["a"] == 1.0 and math.isnan(got["b"]) and math.isnan(got["c"]) and "d" not in got
    assert s.missing("sp", "est", "h1", ["d", "a", "e", "d"]) == ["d", "e"]
    assert s.put_many("sp", "est", "h1", {"a": 5.0, "e": 2.0}) == 1  # a is kept, e is new
    assert s.get_many("sp", "est", "h1", ["a"])["a"] == 1.0
    assert s.count("sp", "est", "h1") == 4 and s.count(config_hash="h2") == 0
    rows = {r.arch_id: r for r in s.rows("sp", "est", "h1")}
    assert rows["b"].valid is False and rows["a"].valid and rows["a"].provenance == {"seed": 1}
    assert s.export(tmp_path / "out.jsonl", space="sp") == 4
    recs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {r["arch_id"] for r in recs} == {"a", "b", "c", "e"}
    assert s.export(tmp_path / "out.csv") == 4
    assert (tmp_path / "out.csv").read_text().splitlines()[0].startswith("space,arch_id,estimator")


WRITER = textwrap.dedent(
    """
    import sys
    from penas.estimators.store import ScoreStore
    path, who = sys.argv[1], sys.argv[2]
    s = ScoreStore(path)
    for i in range(0, 200, 10):
        s.put_many("sp", "est", "h", {f"a{j}": float(j) for j in range(i, i + 10)}, {f"a{j}": {"who": who} for j in range(i, i + 10)})
    """
)


def test_concurrent_writers_do_not_lose_or_duplicate(tmp_path):
    script = tmp_path / "w.py"
    script.write_text(WRITER)
    db = tmp_path / "c.db"
    ScoreStore(db)
    procs = [subprocess.Popen([sys.executable, str(script), str(db), str(k)]) for k in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    s = ScoreStore(db)
    assert s.count() == 200
    assert s.get_many("sp", "est", "h", [f"a{j}" for j in range(200)]) == {f"a{j}": float(j) for j in range(200)}


SWEEP = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from estimators_toyspace import SlowEstimator, ToySpace
    from penas.estimators.scoring import run_sweep
    from penas.estimators.store import ScoreStore
    est = SlowEstimator(ToySpace(40), delay=0.04, log=sys.argv[3])
    print(run_sweep(est, [f"a{i}" for i in range(40)], ScoreStore(sys.argv[2]), shard_size=1), flush=True)
    """
)


@pytest.mark.slow
def test_sweep_survives_kill_9_and_resumes_without_recomputing(tmp_path):
    script, db, log = tmp_path / "sweep.py", tmp_path / "k.db", tmp_path / "computed.log"
    script.write_text(SWEEP)
    store = ScoreStore(db)
    cmd = [sys.executable, str(script), str(HERE), str(db), str(log)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    deadline = time.time() + 60
    while store.count() < 12 and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored_at_kill = {r.arch_id for r in store.rows("toy", "slow", _hash())}
    assert 12 <= len(stored_at_kill) < 40
    first_log = log.read_text().splitlines()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"{len(stored_at_kill)} cached" in out
    resumed = [line.split()[1] for line in log.read_text().splitlines()[len(first_log):]]
    assert not set(resumed) & stored_at_kill  # nothing stored was recomputed
    assert len(resumed) == len(set(resumed)) == 40 - len(stored_at_kill)
    rows = store.rows("toy", "slow", _hash())
    assert sorted(r.arch_id for r in rows) == sorted(f"a{i}" for i in range(40))  # no loss, no duplicate
    by_id = {r.arch_id: r for r in rows}
    assert by_id["a7"].valid is False and by_id["a6"].value == 36.0


def _hash() -> str:
    sys.path.insert(0, str(HERE))
    from estimators_toyspace import SlowEstimator, ToySpace

    return SlowEstimator(ToySpace(40), delay=0.04).config_hash


def test_keys_lists_distinct_estimator_configs_per_space(tmp_path):
    s = ScoreStore(tmp_path / "keys.db")
    assert s.keys() == [] and s.keys("sp") == []
    s.put_many("sp", "zeta", "h2", {"a": 1.0, "b": 2.0})
    s.put_many("sp", "alpha", "h9", {"a": float("nan")})  # an invalid score still makes a key
    s.put_many("sp", "alpha", "h1", {"a": 3.0})
    s.put_many("other", "beta", "h1", {"x": 0.5})
    assert s.keys("sp") == [("alpha", "h1"), ("alpha", "h9"), ("zeta", "h2")]  # sorted, deduplicated
    assert s.keys("other") == [("beta", "h1")]
    assert s.keys() == [("alpha", "h1"), ("alpha", "h9"), ("beta", "h1"), ("zeta", "h2")]
    assert s.keys("nope") == []
    # every key has rows, and the keys cover every row of the space
    assert sum(s.count("sp", e, h) for e, h in s.keys("sp")) == s.count("sp") == 4
