"""The Ray executor for real: a local cluster (``ray.init(num_cpus=2)``) and a cluster started
with ``ray start --head`` and found through ``RAY_ADDRESS``. ``zero-shot``, ``evaluate`` and the
study with ``--executor ray`` store exactly the scores of the local executor; a Ray worker that dies
mid-shard has its task retried, and the store ends with every score once; Ray shuts down cleanly.

Zero-cost scores use synthetic batches (``--data synthetic``): the point is executor equality,
and synthetic data keeps each score a few milliseconds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from penas.app.cli import main  # noqa: E402
from penas.estimators.executors import RayExecutor  # noqa: E402
from penas.estimators.scoring import cached_scores  # noqa: E402
from penas.estimators.simple import ParamsEstimator  # noqa: E402
from penas.estimators.store import ScoreStore  # noqa: E402

pytestmark = pytest.mark.slow
ZS = ["--proxies", "synflow,nwot", "--seeds", "1,2", "--batches", "1", "--batch-size", "4", "--data", "synthetic",
      "--archs", "sample:6", "--chunk", "2", "--no-progress"]


def _rows(db: Path) -> dict[tuple[str, str, str], float]:
    import sqlite3

    con = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT arch_id, estimator, config_hash, value FROM scores").fetchall()
    finally:
        con.close()
    out = {(a, e, h): v for a, e, h, v in rows}
    assert len(out) == len(rows)  # the primary key already forbids duplicates; say so
    return out


def _cli(argv: list[str]) -> None:
    try:
        main(argv)
    except SystemExit as e:
        assert e.code in (0, None), f"penas-app {' '.join(argv)} exited {e.code}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> str:
    exe = Path(sys.executable).with_name("ray")
    return str(exe) if exe.exists() else (shutil.which("ray") or "ray")


# --- a cluster started with `ray start --head`, found through RAY_ADDRESS (runs first: the
# teardown's `ray stop --force` must not meet the in-process cluster of the tests below) -----------
def test_zero_shot_on_a_ray_start_cluster_via_ray_address(tmp_path, one_torch_thread):
    assert not ray.is_initialized()
    port = _free_port()
    # Token authentication off: a throw-away cluster bound to 127.0.0.1 (see the README recipe).
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    start = subprocess.run([_ray_cli(), "start", "--head", "--num-cpus=2", f"--port={port}",
                            "--node-ip-address=127.0.0.1", "--include-dashboard=false", "--disable-usage-stats"],
                           capture_output=True, text=True, env=env, timeout=120)
    try:
        assert start.returncode == 0, start.stderr[-2000:]
        local, remote = tmp_path / "local.db", tmp_path / "ray.db"
        _cli(["zero-shot", "nb201", *ZS, "--store", str(local)])
        # The CLI in its own process, as a user runs it against the cluster.
        cmd = [sys.executable, "-m", "penas.app", "zero-shot", "nb201", *ZS, "--store", str(remote),
               "--executor", "ray"]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=180,
                             env={**env, "RAY_ADDRESS": f"127.0.0.1:{port}", "OMP_NUM_THREADS": "1"})
        assert res.returncode == 0, res.stderr[-2000:]
        assert "Traceback" not in res.stderr
        a, b = _rows(local), _rows(remote)
        assert len(a) == 6 * 2 * 2 and a == b
    finally:
        subprocess.run([_ray_cli(), "stop", "--force"], capture_output=True, env=env, timeout=120)


# --- an in-process local cluster -------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_ray():
    """A local cluster (num_cpus=2) started by a RayExecutor, which the last test closes."""
    from penas.spaces import get_space

    ex = RayExecutor(num_cpus=2, include_dashboard=False)
    space = get_space("nb201")
    ids = [space.format(a) for a in space.sample_many(4, np.random.default_rng(1))]
    col = cached_scores(ParamsEstimator(space), ids, None, ex, shard_size=2).one()  # starts Ray
    np.testing.assert_array_equal(col.values, ParamsEstimator(space).score(ids))
    assert ray.is_initialized()
    yield ex
    ex.close()


def test_zero_shot_and_evaluate_ray_equal_local(local_ray, tmp_path, one_torch_thread):
    local, remote = tmp_path / "local.db", tmp_path / "ray.db"
    _cli(["zero-shot", "nb201", *ZS, "--store", str(local)])
    _cli(["zero-shot", "nb201", *ZS, "--store", str(remote), "--executor", "ray"])
    a, b = _rows(local), _rows(remote)
    assert len(a) == 24 and a == b and all(np.isfinite(v) for v in a.values())
    ev = ["evaluate", "nb201", "--estimators", "synflow,params", "--archs", "sample:6", "--zc-data", "synthetic",
          "--zc-batch-size", "4"]
    _cli([*ev, "--out", str(tmp_path / "e-local"), "--store", str(tmp_path / "e-local.db")])
    _cli([*ev, "--out", str(tmp_path / "e-ray"), "--store", str(tmp_path / "e-ray.db"), "--executor", "ray"])
    assert (tmp_path / "e-local" / "scores.csv").read_text() == (tmp_path / "e-ray" / "scores.csv").read_text()
    assert _rows(tmp_path / "e-local.db") == _rows(tmp_path / "e-ray.db")
    assert ray.is_initialized()  # the executor leaves a cluster it did not start alone


def test_study_with_ray_executor_equals_local(local_ray, tmp_path, one_torch_thread):
    cfg = ("space: nb201\narchs: sample:6\nplots: false\nsupernet: {enabled: false}\n"
           "zero_shot: {proxies: [synflow], seeds: [3], batches: [1], batch_size: 4, data: synthetic, chunk: 2}\n")
    for kind in ("local", "ray"):
        (tmp_path / f"{kind}.yaml").write_text(cfg + f"executor: {kind}\nout: {tmp_path / kind}\n")
        _cli(["study", "nb201", "--config", str(tmp_path / f"{kind}.yaml")])
    a, b = _rows(tmp_path / "local" / "scores.db"), _rows(tmp_path / "ray" / "scores.db")
    assert len(a) == 6 and a == b


class _DiesOnce(ParamsEstimator):
    """``params``, except that the first worker to score ``victim`` dies (``os._exit``), as a
    worker killed by the OOM killer or a lost node would."""

    def __init__(self, space, marker: str, victim: str) -> None:
        super().__init__(space)
        self.marker, self.victim = marker, victim

    def score_result(self, archs):
        if self.victim in [str(a) for a in archs] and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)
        return super().score_result(archs)


def test_killed_worker_task_is_retried_nothing_lost_or_duplicated(local_ray, tmp_path):
    import ray.cloudpickle

    from penas.spaces import get_space

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    space = get_space("nb201")
    ids = [space.format(a) for a in space.sample_many(10, np.random.default_rng(0))]
    marker = tmp_path / "died"
    est = _DiesOnce(space, str(marker), ids[5])
    store = ScoreStore(tmp_path / "s.db")
    col = cached_scores(est, ids, store, RayExecutor(), shard_size=2).one()
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker did die
    assert col.n_computed == 10
    want = ParamsEstimator(space).score(ids)
    got = store.get_many("nb201", est.name, est.config_hash, ids)
    assert len(got) == 10 and store.count("nb201") == 10
    np.testing.assert_array_equal([got[a] for a in ids], want)


def test_executor_that_started_ray_shuts_it_down(local_ray):
    assert ray.is_initialized()
    local_ray.close()
    assert not ray.is_initialized()
    local_ray.close()  # idempotent
