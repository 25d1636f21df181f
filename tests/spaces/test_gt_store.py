"""The ground-truth store: format round trip, errors, importers against the raw files, laziness,
read-only roots, concurrent conversion, downloads and the official-API adapters."""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import json
import math
import os
import stat
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from penas.spaces import benchmarks as gt
from penas.spaces.benchmarks import macro_import, naslib_import, nb201_import, official, store
from penas.spaces.benchmarks.download import ChecksumError, DownloadError, download, sha256_file

NB201_CSV = "nb201/derived/nb201_table.csv"
MACRO_JSON = "nasbench_macro/nas-bench-macro_cifar10.json"


# --- format -----------------------------------------------------------------------------------
def _toy(tmp_path: Path) -> gt.Benchmark:
    ids = ["a", "b", "c", "d"]
    cols = {
        ("cifar10", "test_acc"): np.array([90.0, 91.5, np.nan, 89.0]),
        ("cifar10", "params"): np.array([10, 20, 30, 40], dtype=np.int64),
        ("cifar10", "valid_acc_curve"): np.arange(12, dtype=np.float32).reshape(4, 3),
        ("any", "latency_cpu"): gt.Column(np.array([1.0, 2.0, 3.0, 0.5]), unit="ms"),
    }
    path = gt.write_table(tmp_path / "toy.gt", "toyspace", ids, cols, {"note": "x", "n": np.int64(3)})
    return gt.Benchmark(path)


def test_round_trip_values_dtypes_and_meta(tmp_path):
    b = _toy(tmp_path)
    assert len(b) == 4 and b.arch_ids.tolist() == ["a", "b", "c", "d"]
    assert b.datasets == ("any", "cifar10")
    assert b.metrics("cifar10") == ("params", "test_acc", "valid_acc_curve")
    assert b.query("b", "test_acc", "cifar10") == 91.5
    assert b.query("c", "params", "cifar10") == 30 and isinstance(b.query("c", "params", "cifar10"), int)
    assert math.isnan(b.query("c", "test_acc", "cifar10"))
    np.testing.assert_array_equal(b.query("b", "valid_acc_curve", "cifar10"), [3, 4, 5])
    assert b.column("valid_acc_curve", "cifar10").dtype == np.float32
    np.testing.assert_array_equal(b.table("params", "cifar10", ["d", "a", "d"]), [40, 10, 40])
    np.testing.assert_array_equal(b.table("latency_cpu", "any"), [1.0, 2.0, 3.0, 0.5])
    assert b.column_info("latency_cpu", "any").unit == "ms"
    assert b.meta == {"note": "x", "n": 3}
    assert b.best("test_acc", "cifar10") == ("b", 91.5)  # NaN ignored, higher is better
    assert b.best("latency_cpu", "any") == ("d", 0.5)  # latency: lower is better
    assert b.best("test_acc", "cifar10", mode="min") == ("d", 89.0)
    assert "a" in b and "zz" not in b
    col = b.column("test_acc", "cifar10")
    assert isinstance(col.base, np.memmap) and not col.flags.writeable  # a read-only memory map


def test_errors_are_one_line_and_list_options(tmp_path):
    b = _toy(tmp_path)
    with pytest.raises(ValueError, match=r"no metric 'test_ac' .*expected one of: params, test_acc, valid_acc_curve"):
        b.query("a", "test_ac", "cifar10")
    with pytest.raises(ValueError, match=r"'latency_cpu' exists for dataset 'any'"):
        b.table("latency_cpu", "cifar10")
    with pytest.raises(ValueError, match=r"no dataset 'cifar10-valid'; expected one of: any, cifar10"):
        b.query("a", "test_acc", "cifar10-valid")
    with pytest.raises(ValueError, match=r"'zz' is not in the 'toyspace' benchmark"):
        b.query("zz", "test_acc", "cifar10")
    with pytest.raises(ValueError, match="2-D column"):
        b.best("valid_acc_curve", "cifar10")
    with pytest.raises(TypeError):
        b.query("a", "test_acc")  # type: ignore[call-arg]  # dataset is required
    for call in (lambda: b.query("a", "nope", "cifar10"), lambda: b.query("a", "x", "y")):
        with pytest.raises(ValueError) as ei:
            call()
        assert "\n" not in str(ei.value)


def test_table_validation(tmp_path):
    with pytest.raises(ValueError, match="duplicate id 'a'"):
        gt.BenchmarkTable("s", ["a", "b", "a"])
    with pytest.raises(ValueError, match=r"expected shape \(2,\)"):
        gt.BenchmarkTable("s", ["a", "b"], {("d", "m"): np.zeros(3)})
    with pytest.raises(ValueError, match="without NUL"):
        gt.BenchmarkTable("s", ["a", "b\x00"])
    with pytest.raises(ValueError, match="numeric"):
        gt.BenchmarkTable("s", ["a"], {("d", "m"): np.array(["x"])})
    with pytest.raises(ValueError, match="format"):
        (tmp_path / "bad.gt").mkdir()
        (tmp_path / "bad.gt" / "manifest.json").write_text(json.dumps({"format": "other", "version": 9}))
        gt.Benchmark(tmp_path / "bad.gt")


def test_merge_and_replace_keeps_old_readers_working(tmp_path):
    a = gt.BenchmarkTable("s", ["x", "y"], {("d", "acc"): np.array([1.0, 2.0]),
                                            ("d", "params"): np.array([5, 6], dtype=np.int64)})
    b = gt.BenchmarkTable("s", ["z", "x"], {("d", "acc"): np.array([3.0, 4.0]), ("e", "acc"): np.array([7.0, 8.0])})
    m = gt.merge_tables(a, b)
    assert m.arch_ids == ["x", "y", "z"]
    np.testing.assert_array_equal(m.columns[("d", "acc")].values, [4.0, np.nan, 3.0])  # new wins
    np.testing.assert_array_equal(m.columns[("d", "params")].values, [5, 6, np.nan])
    np.testing.assert_array_equal(m.columns[("e", "acc")].values, [8.0, np.nan, 7.0])
    path = gt.write_table(tmp_path / "s.gt", a)
    old = gt.Benchmark(path)
    old_col = old.column("acc", "d")
    gt.write_table(path, m)
    assert old_col.tolist() == [1.0, 2.0]  # the old memory map still reads the replaced file
    assert gt.Benchmark(path).table("acc", "d").tolist()[0] == 4.0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=30), min_size=1,
                max_size=20, unique=True),
       st.integers(0, 2**31 - 1))
def test_round_trip_any_ids(tmp_path_factory, ids, seed):
    vals = np.random.default_rng(seed).normal(size=len(ids))
    path = gt.write_table(tmp_path_factory.mktemp("h") / "t.gt", "s", ids, {("d", "m"): vals})
    b = gt.Benchmark(path)
    assert b.arch_ids.tolist() == ids
    assert [b.query(i, "m", "d") for i in ids] == vals.tolist()


# --- real data ---------------------------------------------------------------------------------
def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def nb201(bench_root, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # module scope: the autouse cache fixture is not active yet
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
        return gt.Benchmark(store.convert("nb201", bench_root))


@pytest.mark.data
def test_nb201_exact_values(nb201, bench_root):
    rows = _csv_rows(bench_root / NB201_CSV)
    assert len(nb201) == 15625
    assert nb201.arch_ids.tolist() == [r["arch_str"] for r in rows]
    for ds in nb201_import.NB201_DATASETS:
        np.testing.assert_array_equal(nb201.table("test_acc", ds), [float(r[f"test_acc_{ds}"]) for r in rows])
        np.testing.assert_array_equal(nb201.table("params", ds),
                                      [round(float(r[f"params_M_{ds}"]) * 1e6) for r in rows])
    arch, acc = nb201.best("test_acc", "cifar10")
    assert round(acc, 3) == 94.373 and nb201.query(arch, "nb201_index", "any") == 6111
    assert nb201.best("test_acc", "cifar100")[0] == rows[9930]["arch_str"]
    assert nb201.best("test_acc", "ImageNet16-120")[0] == rows[857]["arch_str"]
    none_arch = rows[1651]["arch_str"]
    assert nb201.query(none_arch, "test_acc", "cifar10") == 10.0
    lat = _csv_rows(bench_root / "nb201/help_latency/nb201_latency_help.csv")
    devices = [k for k in lat[0] if k != "index"]
    assert len(devices) == 27
    assert sorted(nb201.metrics("any")) == sorted(["nb201_index"] + [f"latency_{d}" for d in devices])
    for d in devices:
        np.testing.assert_array_equal(nb201.table(f"latency_{d}", "any"), [float(r[d]) for r in lat])


@pytest.mark.data
def test_nb201_naslib_sample(nb201, bench_root):
    data = json.loads((bench_root / "nb201/naslib_sample/gt_nasbench201_subset491.json").read_text())["nasbench201"]
    assert "valid_acc" not in nb201.metrics("cifar10")  # NB201 cifar10 (train 50k) has no valid split
    for ds, recs in data.items():
        vds = gt.NASLIB_NB201_VALID_DATASET[ds]
        val = nb201.table("valid_acc", vds)
        assert np.count_nonzero(~np.isnan(val)) == len(recs) == 491
        flops = nb201.table("flops", ds)
        by_ops = {r["naslib_op_indices"]: r["arch_str"] for r in _csv_rows(bench_root / NB201_CSV)}
        for key, rec in list(recs.items())[:60]:
            arch = by_ops["".join(str(int(x)) for x in key.strip("()").split(","))]
            assert nb201.query(arch, "valid_acc", vds) == rec["val_accuracy"]
            assert flops[nb201.row(arch)] == round(rec["flops"] * 1e6)
            assert nb201.query(arch, "params", ds) == round(rec["params"] * 1e6)


@pytest.mark.data
def test_nb201_queries_accept_arch_objects_and_other_forms(nb201):
    from penas.spaces import get_space

    space = get_space("nb201")
    ids = nb201.arch_ids[:5].tolist()
    try:
        archs = [space.parse(a) for a in ids]
    except NotImplementedError:
        pytest.skip("nb201 space has no parse yet")
    assert [nb201.query(a, "test_acc", "cifar10") for a in archs] == nb201.table("test_acc", "cifar10", ids).tolist()
    np.testing.assert_array_equal(nb201.table("params", "cifar100", archs[::-1]),
                                  nb201.table("params", "cifar100", ids[::-1]))
    # an accepted alternative string form (NASLib op indices of NB201 index 0) resolves through the space
    assert nb201.query("(4, 3, 3, 0, 0, 0)", "nb201_index", "any") == 0


@pytest.mark.data
def test_nb201_index_order_is_reproduced(nb201, bench_root):
    """The official NB201 index -> arch list (gen_all + seed-88 shuffle) matches the derived table,
    which lets the store be rebuilt from the public FreeREA files alone."""
    assert nb201_import.nb201_arch_strings() == nb201.arch_ids.tolist()
    rows = _csv_rows(bench_root / NB201_CSV)
    assert all(nb201_import.nb201_naslib_op_indices(r["arch_str"]) == r["naslib_op_indices"] for r in rows)


@pytest.mark.data
def test_nb201_build_from_freerea_files_only(nb201, bench_root, tmp_path):
    for ds in nb201_import.NB201_DATASETS:
        d = tmp_path / "nb201" / "freerea" / ds
        d.mkdir(parents=True)
        for name in ("accuracies", "params"):
            (d / f"{name}.csv").symlink_to(bench_root / "nb201" / "freerea" / ds / f"{name}.csv")
    table = gt.build_table("nb201", tmp_path)
    assert table.arch_ids == nb201.arch_ids.tolist()
    for ds in nb201_import.NB201_DATASETS:
        np.testing.assert_array_equal(table.columns[(ds, "test_acc")].values, nb201.table("test_acc", ds))
        np.testing.assert_array_equal(table.columns[(ds, "params")].values, nb201.table("params", ds))


@pytest.mark.data
def test_load_score_file(nb201, bench_root):
    ids, scores = gt.load_score_file(bench_root / "nb201/freerea/cifar10/naswot.csv", "nb201", bench_root)
    rows = _csv_rows(bench_root / "nb201/freerea/cifar10/naswot.csv")
    assert len(ids) == len(rows) == 15625
    assert ids[0] == nb201.arch_ids[int(rows[0]["index"])]
    assert np.count_nonzero(np.isnan(scores)) == sum(r["naswot"] == "-inf" for r in rows) == 201
    assert scores[1] == float(rows[1]["naswot"])
    with pytest.raises(ValueError, match="space"):
        gt.load_score_file(bench_root / "nb201/freerea/cifar10/naswot.csv", "darts")


@pytest.mark.data
def test_macro_exact(bench_root):
    b = gt.open_benchmark("nasbench_macro", bench_root)
    data = json.loads((bench_root / MACRO_JSON).read_text())
    assert len(b) == len(data) == 6561
    keys = list(data)
    np.testing.assert_array_equal(b.table("params", "cifar10", keys), [data[k]["params"] for k in keys])
    np.testing.assert_array_equal(b.table("flops", "cifar10", keys), [data[k]["flops"] for k in keys])
    np.testing.assert_array_equal(b.table("test_acc_runs", "cifar10", keys), [data[k]["test_acc"] for k in keys])
    _, best = b.best("test_acc", "cifar10")
    assert round(best, 4) == 93.1267 == round(b.query("22212220", "test_acc", "cifar10"), 4)
    assert b.query("22212220", "test_acc_std", "cifar10") == data["22212220"]["std"]


@pytest.mark.data
@pytest.mark.parametrize(("space", "rel", "top"), [("darts", "nb301/gt_nasbench301_subset500.json", "nasbench301"),
                                                   ("nb101", "nb101/gt_nasbench101_subset500.json", "nasbench101")])
def test_naslib_samples(bench_root, space, rel, top):
    table = naslib_import.import_naslib_json(bench_root / rel, space, top, key_to_id=None)
    recs = json.loads((bench_root / rel).read_text())[top]["cifar10"]
    assert table.meta["id_form"] == "naslib" and len(table.arch_ids) == len(recs) == 500
    k = next(iter(recs))
    i = table.arch_ids.index(k)
    assert table.columns[("cifar10", "valid_acc")].values[i] == recs[k]["val_accuracy"]
    assert table.columns[("cifar10", "params")].values[i] == round(recs[k]["params"] * 1e6)
    b = gt.open_benchmark(space, bench_root)  # ids through the space when it parses NASLib keys
    assert b.meta["id_form"] in ("canonical", "naslib")
    assert len(b) == 500 - b.meta.get("merged_naslib_keys", 0)
    for key, rec in recs.items():  # every NASLib key resolves (directly or through the space's parse)
        assert b.query(key, "params", "cifar10") == round(rec["params"] * 1e6)
        assert b.query(key, "flops", "cifar10") == round(rec["flops"] * 1e6)
    if b.meta["id_form"] == "canonical":
        n = b.table("valid_acc_n", "cifar10") if "valid_acc_n" in b.metrics("cifar10") else np.ones(len(b))
        assert n.sum() == 500


def test_naslib_import_merges_keys_with_one_canonical_id(tmp_path):
    recs = {"k1a": {"val_accuracy": 90.0, "params": 1.5, "flops": 10.0},
            "k1b": {"val_accuracy": 92.0, "params": 1.5, "flops": 10.0},
            "k2a": {"val_accuracy": 80.0, "params": 0.5, "flops": 3.0}}
    path = tmp_path / "zc.json"
    path.write_text(json.dumps({"nasbench101": {"cifar10": recs}}))
    t = naslib_import.import_naslib_json(path, "s", "nasbench101", key_to_id=lambda k: k[:2])
    assert t.arch_ids == ["k1", "k2"] and t.meta["id_form"] == "canonical" and t.meta["merged_naslib_keys"] == 1
    np.testing.assert_array_equal(t.columns[("cifar10", "valid_acc")].values, [91.0, 80.0])
    np.testing.assert_array_equal(t.columns[("cifar10", "valid_acc_n")].values, [2, 1])
    np.testing.assert_array_equal(t.columns[("cifar10", "params")].values, [1_500_000, 500_000])
    recs["k1b"]["params"] = 1.6  # not the same network after all: keep NASLib keys
    path.write_text(json.dumps({"nasbench101": {"cifar10": recs}}))
    t = naslib_import.import_naslib_json(path, "s", "nasbench101", key_to_id=lambda k: k[:2])
    assert t.arch_ids == ["k1a", "k1b", "k2a"] and t.meta["id_form"] == "naslib" and "converter_failed" in t.meta

    def bad(k):
        raise ValueError("cannot parse")

    t = naslib_import.import_naslib_json(path, "s", "nasbench101", key_to_id=bad)
    assert t.meta["converter_failed"] == "cannot parse" and len(t.arch_ids) == 3


# --- laziness, read-only roots, concurrency ------------------------------------------------------
def _macro_root(tmp_path: Path, bench_root: Path) -> Path:
    root = tmp_path / "root"
    (root / "nasbench_macro").mkdir(parents=True)
    os.symlink(bench_root / MACRO_JSON, root / MACRO_JSON)
    return root


@pytest.mark.data
def test_stores_go_to_the_cache_never_the_data_root(tmp_path, bench_root, monkeypatch):
    """Writable or read-only, the data root is an input: the store goes to $PENAS_CACHE, keyed by
    the sha256 of the source file, so an edited source is converted again."""
    monkeypatch.setenv("PENAS_CACHE", str(tmp_path / "cache"))
    root = _macro_root(tmp_path, bench_root)
    os.chmod(root, stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert not gt.store_exists("nasbench_macro", root)
        b = gt.open_benchmark("nasbench_macro", root)
        assert (tmp_path / "cache" / "store") in b.path.parents and root not in b.path.parents
        assert sorted(p.name for p in root.iterdir()) == ["nasbench_macro"]
        assert gt.open_benchmark("nasbench_macro", root) is b  # cached per process
    finally:
        os.chmod(root, stat.S_IRWXU)
    root2 = _macro_root(tmp_path / "w", bench_root)  # writable: still nothing written into it
    b2 = gt.open_benchmark("nasbench_macro", root2)
    assert sorted(p.name for p in root2.iterdir()) == ["nasbench_macro"]
    digest = sha256_file(bench_root / MACRO_JSON)
    key = hashlib.sha256(f"{MACRO_JSON}\0{digest}\n".encode()).hexdigest()[:12]
    assert b2.path.name == f"nasbench_macro-{key}.gt"
    assert b2.path.parent != b.path.parent  # one store directory per data root
    # an edited source is a new key -> a new store with the new values
    (root2 / MACRO_JSON).unlink()
    data = json.loads((bench_root / MACRO_JSON).read_text())
    data["00000000"]["mean_acc"] = 1.5
    (root2 / MACRO_JSON).write_text(json.dumps(data))
    b3 = gt.open_benchmark("nasbench_macro", root2)
    assert b3.path != b2.path and b3.query("00000000", "test_acc", "cifar10") == 1.5


def test_missing_data_is_a_one_line_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no benchmark data under .*penas-app data download nb201"):
        gt.open_benchmark("nb201", tmp_path)
    with pytest.raises(ValueError, match="no known raw source; known: darts, nasbench_macro, nb101, nb201"):
        gt.open_benchmark("nonesuch", tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing (no store dir, no lock file) was created


def _convert_in_child(barrier, root: str, out: str) -> None:
    barrier.wait(timeout=30)
    b = gt.open_benchmark("nasbench_macro", root)
    Path(out).write_text(f"{len(b)} {b.path}")


@pytest.mark.data
def test_two_processes_convert_concurrently(tmp_path, bench_root, monkeypatch):
    """Two processes opening the same missing store at the same moment: one converts, both get it."""
    import multiprocessing as mp

    root = _macro_root(tmp_path, bench_root)
    log = tmp_path / "builds.log"
    real = macro_import.build_macro

    def counting_build(r):
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(r)

    monkeypatch.setattr(macro_import, "build_macro", counting_build)
    ctx = mp.get_context("fork")  # children inherit the imported modules and the patched builder
    barrier = ctx.Barrier(2)
    outs = [tmp_path / f"out{i}" for i in range(2)]
    procs = [ctx.Process(target=_convert_in_child, args=(barrier, str(root), str(o))) for o in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    res = [o.read_text().split() for o in outs]
    assert res[0] == res[1] and res[0][0] == "6561"
    assert len(log.read_text().splitlines()) == 1  # converted once; the other process waited on the lock
    store_dir = Path(res[0][1]).parent
    name = Path(res[0][1]).name
    assert sorted(p.name for p in store_dir.iterdir()) == [name, f"{name}.lock"]
    assert name.startswith("nasbench_macro-") and sorted(p.name for p in root.iterdir()) == ["nasbench_macro"]
    assert len(gt.Benchmark(res[0][1])) == 6561


# --- importers on small synthetic files ----------------------------------------------------------
def test_import_nds_and_config_ids(tmp_path):
    recs = [
        {"net": {"depth": 2, "w": 16}, "min_test_top1": 10.0, "test_ep_top1": [50.0, 20.0, 10.0], "params": 1000,
         "flops": 5000},
        {"net": {"w": 16, "depth": 2}, "min_test_top1": 12.0, "test_ep_top1": [55.0, 25.0, 12.0], "params": 1000,
         "flops": 5000},
        {"net": {"depth": 3, "w": 8}, "min_test_top1": 20.0, "test_ep_top1": [60.0, 30.0, 20.0], "params": 700,
         "flops": 3000},
    ]
    path = tmp_path / "ResNet.json"
    path.write_text(json.dumps(recs))
    t = gt.import_nds(path, "nds_resnet")
    assert t.arch_ids == ['{"depth":2,"w":16}', '{"depth":3,"w":8}']
    np.testing.assert_allclose(t.columns[("cifar10", "test_acc")].values, [89.0, 80.0])
    np.testing.assert_array_equal(t.columns[("cifar10", "test_acc_curve")].values[1], [40.0, 70.0, 80.0])
    assert t.meta["duplicates"] == 1
    t2 = gt.import_nds(path, "nds_resnet", config_to_id=lambda net: f"d{net['depth']}w{net['w']}", dataset="in")
    assert t2.arch_ids == ["d2w16", "d3w8"] and ("in", "params") in t2.columns
    assert gt.detect_kind(path, "nds_resnet") == "nds"
    path.write_text(json.dumps([{"net": {}}]))
    with pytest.raises(ValueError, match="record 0 lacks"):
        gt.import_nds(path, "x")


def test_import_own_csv_and_json(tmp_path):
    wide = tmp_path / "w.csv"
    wide.write_text("arch_id,cifar10:test_acc,any:latency_cpu\na,90.5,1.5\nb,,2\n")
    t = gt.import_csv(wide, "s")
    assert t.arch_ids == ["a", "b"] and math.isnan(t.columns[("cifar10", "test_acc")].values[1])
    long = tmp_path / "l.csv"
    long.write_text("arch_id,dataset,metric,value\na,c10,acc,1\nb,c10,acc,2\na,c100,acc,-inf\n")
    t = gt.import_csv(long, "s")
    np.testing.assert_array_equal(t.columns[("c100", "acc")].values, [np.nan, np.nan])
    bad = tmp_path / "b.csv"
    bad.write_text("arch_id,test_acc\na,1\n")
    with pytest.raises(ValueError, match="'<dataset>:<metric>'"):
        gt.import_csv(bad, "s")
    js = tmp_path / "t.json"
    js.write_text(json.dumps({"arch_ids": ["a", "b"], "columns": {"c10:acc": [1.0, None]}}))
    assert gt.detect_kind(js, "s") == "json"
    assert math.isnan(gt.import_json(js, "s").columns[("c10", "acc")].values[1])


class _FakeNB201API:
    """Mimics the return shapes of nats_bench/nas_201_api (get_more_info / get_cost_info)."""

    archs = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
             "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"]

    def __len__(self):
        return len(self.archs)

    def arch(self, i):
        return self.archs[i]

    def get_more_info(self, i, dataset, iepoch=None, hp="12", is_random=True):
        assert hp == "200" and is_random is False
        return {"train-loss": 0.1, "train-accuracy": 99.0, "train-all-time": 1000.0 + i,
                "valid-accuracy": 80.0 + i, "test-accuracy": 85.0 + i}

    def get_cost_info(self, i, dataset):
        return {"flops": 15.64737 * (i + 1), "params": 0.129306 * (i + 1), "latency": 0.0123}


def test_official_nb201_conversion_on_fake_api():
    t = official.table_from_nb201_api(_FakeNB201API(), datasets=("cifar10", "cifar10-valid"))
    assert t.arch_ids == _FakeNB201API.archs
    assert ("cifar10", "valid_acc") not in t.columns  # cifar10 (train+valid) has no validation split
    np.testing.assert_array_equal(t.columns[("cifar10-valid", "valid_acc")].values, [80.0, 81.0])
    np.testing.assert_array_equal(t.columns[("cifar10", "test_acc")].values, [85.0, 86.0])
    np.testing.assert_array_equal(t.columns[("cifar10", "params")].values, [129306, 258612])
    np.testing.assert_array_equal(t.columns[("cifar10", "flops")].values, [15647370, 31294740])
    np.testing.assert_allclose(t.columns[("cifar10", "latency_nb201")].values, [12.3, 12.3])
    with pytest.raises(ValueError, match="unknown NB201 dataset 'cifar10-val'"):
        official.table_from_nb201_api(_FakeNB201API(), datasets=("cifar10-val",))


def test_official_adapters_need_their_extras(tmp_path, monkeypatch):
    for mod in ("nats_bench", "nas_201_api", "nasbench301"):
        monkeypatch.setitem(sys.modules, mod, None)  # make the import fail even if installed
    f = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    f.write_bytes(b"")
    with pytest.raises(ImportError, match=r"pip install 'penas-spaces\[nb201\]'"):
        official.import_nb201_official(f)
    with pytest.raises(ImportError, match=r"pip install 'penas-spaces\[nb301-official\]'"):
        official.load_nb301_model(tmp_path)

    class Model:
        def predict(self, config, representation, with_noise):
            assert representation == "genotype" and with_noise is False
            return 90.0 + len(config)

    t = official.table_from_nb301_model(Model(), ["ab", "abc"], to_genotype=lambda a: a)
    np.testing.assert_array_equal(t.columns[("cifar10", "valid_acc_surrogate")].values, [92.0, 93.0])


# --- downloads ------------------------------------------------------------------------------------
class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files and honours ``Range: bytes=N-`` (206)."""

    def log_message(self, *a):  # quiet
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().do_GET()
        start = int(rng.split("=")[1].rstrip("-"))
        data = path.read_bytes()[start:]
        self.send_response(206)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _PlainHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture(params=[_RangeHandler, _PlainHandler], ids=["range", "no-range"])
def http_dir(request, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(request.param, directory=str(served))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield served, f"http://127.0.0.1:{srv.server_address[1]}", request.param is _RangeHandler
    srv.shutdown()
    srv.server_close()


def test_download_resume_and_checksum(http_dir, tmp_path):
    served, base, ranged = http_dir
    payload = bytes(range(256)) * 1000
    (served / "f.bin").write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "out" / "f.bin"
    part = dest.with_name("f.bin.part")
    part.parent.mkdir()
    part.write_bytes(payload[:1000] if ranged else b"garbage-prefix")  # an interrupted earlier download
    seen: list[tuple[int, int | None]] = []
    download(f"{base}/f.bin", dest, sha, progress=lambda d, t: seen.append((d, t)))
    assert dest.read_bytes() == payload and not part.exists()
    assert seen[0][0] == (1000 if ranged else 0) and seen[-1] == (len(payload), len(payload))
    assert sha256_file(dest) == sha
    download(f"{base}/f.bin", dest, sha)  # already there: no-op
    with pytest.raises(ChecksumError, match="expected 0000"):
        download(f"{base}/f.bin", tmp_path / "g.bin", "0" * 64)
    assert not (tmp_path / "g.bin.part").exists() and not (tmp_path / "g.bin").exists()
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{base}/missing.bin", tmp_path / "m.bin")


def test_download_offline_error_is_one_line(tmp_path):
    with pytest.raises(DownloadError) as ei:
        download("http://127.0.0.1:9/x.json", tmp_path / "x.json", timeout=5)
    msg = str(ei.value)
    assert "cannot reach http://127.0.0.1:9/x.json" in msg and "\n" not in msg
    assert not (tmp_path / "x.json").exists()


def test_sources_record_urls_and_hashes(bench_root):
    """The recorded sha256/size of every byte-copied file matches the shared copy."""
    checked = 0
    for name in gt.list_sources():
        for f in gt.get_source(name).files:
            if f.url is not None:
                assert f.url.startswith("https://raw.githubusercontent.com/")
            p = f.path(bench_root)
            if f.sha256 and p.is_file():
                assert (p.stat().st_size, sha256_file(p)) == (f.size, f.sha256), f.relpath
                checked += 1
    assert checked >= 19
