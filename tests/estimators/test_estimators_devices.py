"""One worker per device: device-pinned process pools, ZeroCostEstimator(device=...), the
study's ``executor: gpus``. Tested with fake ``cpu`` device lists; the CUDA/Ray paths run only
where a GPU (and ray) is present."""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from penas.estimators import executors
from penas.estimators.base import Estimator
from penas.estimators.executors import (
    EstimatorSpec,
    LocalExecutor,
    check_devices,
    gpu_devices,
    parse_device,
    worker_info,
)
from penas.estimators.scoring import run_multi_sweep, run_sweep
from penas.estimators.store import ScoreStore
from penas.estimators.zero_cost import ZeroCostEstimator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from estimators_toyspace import SlowEstimator, ToySpace  # noqa: E402

HAS_CUDA = torch.cuda.is_available()
NB201_IDS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
             "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"]


def zc(proxy: str = "snip", device: str | None = None) -> ZeroCostEstimator:
    kw = {} if device is None else {"device": device}
    return ZeroCostEstimator(ToySpace(12), proxy=proxy, data="synthetic", batch_size=4, **kw)


class RendezvousEstimator(Estimator):
    """Score = arch index. The first score in each process waits (up to 60 s) until ``n``
    processes have started scoring, so with ``n`` workers every worker must take a shard.
    Spawned workers import it as ``test_estimators_devices`` (this directory is on sys.path)."""

    name = "rendezvous"

    def __init__(self, space: Any, folder: str, n: int) -> None:
        super().__init__(space, n=n)
        self.folder = Path(folder)

    def _score_one(self, arch: int) -> float:
        mark = self.folder / str(os.getpid())
        if not mark.exists():
            mark.touch()
            deadline = time.monotonic() + 60
            while len(list(self.folder.iterdir())) < self.cfg["n"] and time.monotonic() < deadline:
                time.sleep(0.02)
        return float(arch)


def _tags(results) -> list[dict]:
    out = []
    for res in results:
        for _, _, provs in res.values() if isinstance(res, dict) else [res]:
            out += [p["extra"]["worker"] for p in provs]
    return out


# --- device names -------------------------------------------------------------------------------
@pytest.mark.parametrize("given, want", [("cpu", "cpu"), ("cuda", "cuda:0"), ("cuda:3", "cuda:3"), (2, "cuda:2")])
def test_parse_device_canonical_names(given, want):
    assert parse_device(given) == want


@pytest.mark.parametrize("bad", ["gpu0", "cuda:x", "CPU", "", True, -1, 1.0])
def test_parse_device_rejects_bad_names_in_one_line(bad):
    with pytest.raises(ValueError, match="devices: expected") as e:
        parse_device(bad)
    assert "\n" not in str(e.value)


def test_check_devices_without_cuda_and_out_of_range(monkeypatch):
    monkeypatch.setattr(executors, "cuda_device_count", lambda: 0)
    assert check_devices(["cpu", "cpu"]) == ["cpu", "cpu"]
    with pytest.raises(ValueError, match="^CUDA is not available on this machine$"):
        check_devices(["cuda:0"])
    with pytest.raises(ValueError, match="^CUDA is not available on this machine$"):
        gpu_devices()
    monkeypatch.setattr(executors, "cuda_device_count", lambda: 2)
    assert gpu_devices() == ["cuda:0", "cuda:1"]
    assert gpu_devices([1]) == ["cuda:1"]
    with pytest.raises(ValueError, match=r"CUDA device 2 is out of range: 2 visible device\(s\) \(0\.\.1\)"):
        gpu_devices([0, 2])
    with pytest.raises(ValueError, match="devices: expected at least one device"):
        check_devices([])


def test_device_executor_slots_and_arguments(monkeypatch):
    assert LocalExecutor(devices=["cpu", "cpu"]).workers == 2
    assert LocalExecutor(3, devices=["cpu", "cpu"]).slots() == [(0, "cpu"), (1, "cpu"), (2, "cpu")]
    assert LocalExecutor().workers == 1 and LocalExecutor().devices is None
    monkeypatch.setattr(executors, "cuda_device_count", lambda: 2)
    ex = LocalExecutor(devices=[1, "cuda:0"])
    assert ex.slots() == [(0, "cuda:1"), (1, "cuda:0")]
    with pytest.raises(ValueError, match="start_method: 'fork' is not CUDA-safe"):
        LocalExecutor(devices=["cuda:0"], start_method="fork")
    with pytest.raises(ValueError, match="workers"):
        LocalExecutor(0, devices=["cpu"])


# --- estimators on a device ---------------------------------------------------------------------
def test_zero_cost_device_cpu_equals_default_and_is_not_in_the_key():
    base, cpu = zc("snip"), zc("snip", device="cpu")
    ids = [f"a{i}" for i in range(5)]
    np.testing.assert_array_equal(base.score(ids), cpu.score(ids))
    assert base.config() == cpu.config() and base.config_hash == cpu.config_hash
    assert base.provenance("a1").extra == cpu.provenance("a1").extra == {"protocol": "zero-cost-nas"}
    assert cpu.for_proxy("synflow").device == torch.device("cpu")
    with pytest.raises(ValueError, match="device: expected 'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        zc(device="gpu")


def test_to_device_moves_in_place_and_records_the_device_off_cpu():
    est = zc("snip")
    h = est.config_hash
    assert est.to_device("meta") is est and est.device == torch.device("meta")
    assert est.config_hash == h  # an execution detail, not part of the key
    assert est.provenance("a1").extra == {"protocol": "zero-cost-nas", "device": "meta"}
    assert est.device_batches()[0].inputs.device.type == "meta"
    assert est.to_device("cpu").device_batches() is est.batches()


def test_estimator_spec_passes_device_or_moves_the_built_estimator():
    assert EstimatorSpec("one_shot", "nb201").takes_device()  # OneShotEstimator(device=...)
    spec = EstimatorSpec("synflow", "nb201", {"data": "synthetic", "batch_size": 2, "build_kwargs": {"C": 4, "N": 1}})
    assert not spec.takes_device()  # a **cfg factory: the built estimator is moved with to_device
    assert spec.on_device("meta").device == torch.device("meta")
    plain = executors.place_on_device(SlowEstimator(ToySpace(3)), "cuda:0")
    assert isinstance(plain, SlowEstimator)  # no device option: used as it is


def test_worker_initialiser_takes_the_next_slot(monkeypatch):
    import queue

    slots: queue.Queue = queue.Queue()
    slots.put((0, "cpu"))
    slots.put((1, "cpu"))
    monkeypatch.setattr(executors, "_WORKER_INFO", None)
    monkeypatch.setattr(executors, "_WORKER_EST", None)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # keep this process's threads
    assert worker_info() is None
    executors._init_device_worker(slots, zc("snip"))
    first = worker_info()
    executors._init_device_worker(slots, zc("snip"))
    assert (first.index, first.device, worker_info().index) == (0, "cpu", 1)
    assert isinstance(executors._WORKER_EST, ZeroCostEstimator)


# --- the pool (spawned workers) -----------------------------------------------------------------
@pytest.mark.slow
def test_device_pool_workers_report_distinct_slots(tmp_path):
    """Six one-arch shards on ["cpu", "cpu"]: the first shard of a worker waits for the other
    worker to start one (dynamic scheduling hands it the next shard), then every row reports the
    (index, device) its worker was started with, and the two workers have distinct indexes."""
    from test_estimators_devices import RendezvousEstimator as Rendezvous  # importable by the workers

    est = Rendezvous(ToySpace(6), str(tmp_path), n=2)
    ids = [f"a{i}" for i in range(6)]
    results = list(LocalExecutor(devices=["cpu", "cpu"]).imap(est, [[i] for i in ids]))
    tags = _tags(results)
    assert len(tags) == 6 and {t["device"] for t in tags} == {"cpu"}
    assert {t["index"] for t in tags} == {0, 1}
    assert len(list(tmp_path.iterdir())) == 2  # two worker processes scored
    got = {i: v for r_ids, vals, _ in results for i, v in zip(r_ids, vals, strict=True)}
    assert got == {f"a{i}": float(i) for i in range(6)}


@pytest.mark.slow
def test_device_pool_scores_equal_the_local_executor(tmp_path, one_torch_thread):
    ids = [f"a{i}" for i in range(8)]
    seq, pool = ScoreStore(tmp_path / "seq.db"), ScoreStore(tmp_path / "pool.db")
    r1 = run_multi_sweep(zc("snip"), ["snip", "synflow"], ids, seq, LocalExecutor(1), shard_size=2)
    r2 = run_multi_sweep(zc("snip"), ["snip", "synflow"], ids, pool, LocalExecutor(devices=["cpu", "cpu"]),
                         shard_size=2)
    assert {p: r.n_computed for p, r in r1.items()} == {p: r.n_computed for p, r in r2.items()} == {"snip": 8,
                                                                                                    "synflow": 8}
    for p in ("snip", "synflow"):
        h = zc(p).config_hash
        a, b = seq.get_many("toy", p, h, ids), pool.get_many("toy", p, h, ids)
        assert a == b and all(math.isfinite(v) for v in a.values())
        rows = store_rows(pool, p, h)
        assert {r["worker"]["device"] for r in rows} == {"cpu"} and {r["worker"]["index"] for r in rows} <= {0, 1}
        assert all("worker" not in r for r in store_rows(seq, p, h))


def store_rows(store: ScoreStore, proxy: str, h: str) -> list[dict]:
    return [r.provenance["extra"] for r in store.rows("toy", proxy, h)]


@pytest.mark.slow
def test_device_pool_runs_an_estimator_spec(tmp_path):
    spec = EstimatorSpec("synflow", "nb201", {"data": "synthetic", "batch_size": 2, "build_kwargs": {"C": 4, "N": 1}})
    store = ScoreStore(tmp_path / "s.db")
    rep = run_sweep(spec, NB201_IDS, store, LocalExecutor(devices=["cpu"]), shard_size=1)
    est = spec()
    got = store.get_many("nb201", "synflow", est.config_hash, NB201_IDS)
    assert rep.n_computed == 2
    np.testing.assert_array_equal([got[i] for i in NB201_IDS], est.score(NB201_IDS))


# --- penas-app study: executor: gpus ------------------------------------------------------------


# --- real GPUs (skipped without them) -----------------------------------------------------------
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_gpu_pool_scores_match_cpu(tmp_path):
    ids = [f"a{i}" for i in range(6)]
    results = list(LocalExecutor(devices=gpu_devices()).imap(zc("snip"), [ids[:3], ids[3:]]))
    assert {t["device"] for t in _tags(results)} <= set(gpu_devices())
    got = {i: v for r in results for i, v in zip(r[0], r[1], strict=True)}
    np.testing.assert_allclose([got[i] for i in ids], zc("snip").score(ids), rtol=1e-4)


@pytest.mark.skipif(not HAS_CUDA or importlib.util.find_spec("ray") is None, reason="needs ray and a CUDA device")
def test_ray_gpu_actors_match_cpu():
    from penas.estimators.executors import RayExecutor

    ids = [f"a{i}" for i in range(6)]
    results = list(RayExecutor(num_gpus=1).imap(zc("snip"), [ids[:3], ids[3:]]))
    assert {t["index"] for t in _tags(results)} == {0}
    got = {i: v for r in results for i, v in zip(r[0], r[1], strict=True)}
    np.testing.assert_allclose([got[i] for i in ids], zc("snip").score(ids), rtol=1e-4)


def test_one_shot_to_device_cpu_keeps_scores_and_key():
    """`to_device` (what a device-pinned pool worker calls) moves the supernet; on CPU nothing changes."""
    import numpy as np
    import torch

    from penas.estimators.one_shot import OneShotEstimator
    from penas.spaces import get_space
    from penas.supernets import get_supernet

    space = get_space("nb201")
    torch.manual_seed(0)
    net = get_supernet("nb201", space=space, C=4, N=1, layout="aw_nas")
    g = torch.Generator().manual_seed(1)
    data = (torch.randn(40, 3, 8, 8, generator=g), torch.randint(0, 10, (40,), generator=g))
    kw = dict(supernet=net, data=data, batch_size=4, recal_batches=2, progress=False)
    ids = [space.format(space.sample(np.random.default_rng(i))) for i in range(3)]
    a = OneShotEstimator(space, **kw)
    before = a.score_result(ids)
    key = a.config_hash
    assert a.to_device("cpu") is a and a.device.type == "cpu"
    assert np.array_equal(a.score_result(ids).scores, before.scores) and a.config_hash == key
